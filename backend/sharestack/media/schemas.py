from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Access = Literal["public", "subscribers"]
# No upper bound in the document: JSON Schema would carry 2**63 - 1 as a float that rounds up;
# an id beyond BIGINT is simply one the caller does not own (service.set_content_media).
MediaId = Annotated[int, Field(ge=1)]


class MediaFileRead(BaseModel):
    variant: str  # "original" or "w<width>"
    url: str
    content_type: str
    width: int
    height: int
    bytes: int


class MediaRead(BaseModel):
    id: int
    owner_id: int
    access: Access
    # Public items: the file's public URL (served immutable by nginx or the bucket). Subscribers
    # items: the API route that checks access and hands the file over.
    url: str
    content_type: str
    width: int
    height: int
    bytes: int
    # "processing" until the variants job has run; then "ready" and the variants are listed.
    state: Literal["processing", "ready"]
    variants: list[MediaFileRead]
    created_at: datetime


class ContentMediaUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cover_media_id: MediaId | None = None
    media_ids: list[MediaId] = Field(default_factory=list, max_length=50)


class ContentMediaRead(BaseModel):
    content_id: int
    cover: MediaRead | None
    media: list[MediaRead]


class MediaUsage(BaseModel):
    item_count: int
    total_bytes: int
    quota_count: int
    quota_bytes: int
