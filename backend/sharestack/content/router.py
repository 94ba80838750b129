from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from sharestack.callers.dependencies import CurrentCaller, OptionalCaller
from sharestack.content import cached, service
from sharestack.content.schemas import (
    ContentCreate,
    ContentRead,
    ContentTeaser,
    ContentUpdate,
    ContentVersionRead,
    Page,
)
from sharestack.dependencies import CachedReadsDep, ReadSessionDep, WriteSessionDep
from sharestack.openapi import INVALID_CURSOR, errors
from sharestack.pagination import MAX_CURSOR_LENGTH
from sharestack.responses import JSONBytes

router = APIRouter(tags=["content"])

Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Slug = Annotated[str, Path(min_length=1, max_length=120)]
TagSlug = Annotated[str, Path(min_length=1, max_length=64)]
Cursor = Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)]
Limit = Annotated[int, Query(ge=1, le=50)]


@router.post("/contents", status_code=status.HTTP_201_CREATED)
async def create_content(
    body: ContentCreate, caller: CurrentCaller, session: WriteSessionDep
) -> ContentRead:
    content = await service.create(session, caller.user_id, body)
    return await service.present(session, content, caller.user_id)


# The hot reads below answer from the cache (sharestack.content.cached): on a hit they return the
# cached JSON bytes and never open a database session (the read session is lazy).


@router.get("/contents/slug/{slug}", response_model=ContentRead, responses=errors(404))
async def read_content_by_slug(
    slug: Slug, caller: OptionalCaller, reads: CachedReadsDep, session: ReadSessionDep
) -> JSONBytes:
    viewer = caller.user_id if caller else None
    return JSONBytes(await cached.read_by_slug(reads, session, slug, viewer))


@router.get("/contents/{content_id}", response_model=ContentRead, responses=errors(404))
async def read_content(
    content_id: Id, caller: OptionalCaller, reads: CachedReadsDep, session: ReadSessionDep
) -> JSONBytes:
    viewer = caller.user_id if caller else None
    return JSONBytes(await cached.read_by_id(reads, session, content_id, viewer))


@router.patch("/contents/{content_id}", responses=errors(403, 404, 412))
async def update_content(
    content_id: Id, body: ContentUpdate, caller: CurrentCaller, session: WriteSessionDep
) -> ContentRead:
    content = await service.get_for_author(session, content_id, caller.user_id)
    content = await service.update(session, content, caller.user_id, body)
    return await service.present(session, content, caller.user_id)


@router.post("/contents/{content_id}/publish", responses=errors(403, 404, 412))
async def publish_content(
    content_id: Id, caller: CurrentCaller, session: WriteSessionDep
) -> ContentRead:
    content = await service.get_for_author(session, content_id, caller.user_id)
    return await service.present(session, await service.publish(session, content), caller.user_id)


@router.post("/contents/{content_id}/unpublish", responses=errors(403, 404, 412))
async def unpublish_content(
    content_id: Id, caller: CurrentCaller, session: WriteSessionDep
) -> ContentRead:
    content = await service.get_for_author(session, content_id, caller.user_id)
    return await service.present(session, await service.unpublish(session, content), caller.user_id)


@router.delete(
    "/contents/{content_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(403, 404, 412),
)
async def delete_content(
    content_id: Id, caller: CurrentCaller, session: WriteSessionDep
) -> Response:
    content = await service.get_for_author(session, content_id, caller.user_id)
    await service.delete(session, content)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/contents/{content_id}/versions", responses=errors(403, 404))
async def content_versions(
    content_id: Id, caller: CurrentCaller, session: WriteSessionDep
) -> list[ContentVersionRead]:
    return await service.versions(session, content_id, caller.user_id)


@router.get("/me/contents", responses=errors(422, descriptions={422: INVALID_CURSOR}))
async def my_contents(
    caller: CurrentCaller, session: WriteSessionDep, cursor: Cursor = None, limit: Limit = 20
) -> Page[ContentRead]:
    return await service.author_items(session, caller.user_id, cursor, limit)


@router.get(
    "/creators/{user_id}/contents",
    response_model=Page[ContentTeaser],
    responses=errors(422, descriptions={422: INVALID_CURSOR}),
)
async def creator_feed(
    user_id: Id, reads: CachedReadsDep, cursor: Cursor = None, limit: Limit = 20
) -> JSONBytes:
    return JSONBytes(await cached.creator_feed_page(reads, user_id, cursor, limit))


@router.get(
    "/tags/{slug}/contents",
    response_model=Page[ContentTeaser],
    responses=errors(404, 422, descriptions={422: INVALID_CURSOR}),
)
async def tag_feed(
    slug: TagSlug, reads: CachedReadsDep, cursor: Cursor = None, limit: Limit = 20
) -> JSONBytes:
    return JSONBytes(await cached.tag_feed_page(reads, slug, cursor, limit))
