from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SessionRead(BaseModel):
    """One of the caller's own sessions. ``id`` names it for ``DELETE /me/sessions/{id}`` only:
    it is neither the token nor its digest and cannot be used to sign in."""

    id: str
    created_at: datetime
    last_seen_at: datetime = Field(description="to the minute (updated at most once a minute)")
    expires_at: datetime = Field(description="the absolute end; it may end sooner when idle")
    ip: str | None
    user_agent: str | None
    current: bool


class SessionList(BaseModel):
    items: list[SessionRead]


class LogoutAllResult(BaseModel):
    ended: int = Field(description="how many sessions were ended, the caller's own included")
