from __future__ import annotations

from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

Interval = Literal["month", "year"]
# Up to 100 million yuan in fen: far beyond any plan, far below BIGINT.
Amount = Field(ge=1, le=10_000_000_000)
Currency = Field(pattern=r"^[A-Z]{3}$")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class PlanCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)
    price_amount: int = Amount
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    interval: Interval


class PlanUpdate(BaseModel):
    """Name and description change in place; a price, currency or interval change makes a new
    plan version (the answer is the new plan) and archives this one."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    price_amount: int | None = Field(default=None, ge=1, le=10_000_000_000)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    interval: Interval | None = None


class PlanRead(BaseModel):
    id: int
    creator_id: int
    name: str
    description: str
    price_amount: int
    currency: str
    interval: Interval
    status: Literal["active", "archived"]
    previous_id: int | None
    created_at: datetime
    updated_at: datetime


class SubscriptionRead(BaseModel):
    id: int
    plan_id: int
    creator_id: int
    subscriber_id: int
    status: str
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    auto_renew: bool
    grace_ends_at: datetime | None
    # Whether it opens the creator's subscribers-only bodies right now.
    has_access: bool
    created_at: datetime
