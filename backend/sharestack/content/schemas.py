from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sharestack.text import MultiLine, SingleLine

Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SingleLine
]
# What the public sees of a subscribers-only item: only ever written by its author.
Excerpt = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), MultiLine]
# 200,000 characters is a long book chapter; MAX_BODY_BYTES bounds the request as a whole.
Body = Annotated[str, StringConstraints(max_length=200_000)]
TagName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32), SingleLine
]
Visibility = Literal["public", "subscribers"]


class ContentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    body: Body
    excerpt: Excerpt | None = None
    tags: list[TagName] = Field(default_factory=list, max_length=10)
    visibility: Visibility = "public"


class ContentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    body: Body | None = None
    excerpt: Excerpt | None = None
    tags: list[TagName] | None = Field(default=None, max_length=10)
    visibility: Visibility | None = None


class ContentTeaser(BaseModel):
    """What anyone may see of a published item, subscribers-only or not."""

    id: int
    slug: str
    title: str
    excerpt: str
    author_id: int
    visibility: Visibility
    tags: list[str]
    published_at: datetime | None


class ContentRead(ContentTeaser):
    status: Literal["draft", "published"]
    version: int
    # None when withheld: subscribers-only and the reader is neither the author nor a subscriber.
    body: str | None
    body_withheld: bool
    created_at: datetime
    updated_at: datetime


class ContentVersionSummary(BaseModel):
    """One saved version in the history list (bodies are fetched one at a time)."""

    version: int
    title: str
    excerpt: str
    visibility: Visibility
    editor_id: int
    created_at: datetime


class ContentVersionRead(ContentVersionSummary):
    body: str


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
