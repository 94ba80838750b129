from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response, status
from pydantic_core import to_json

from sharestack.callers.dependencies import CurrentCaller, OptionalCaller
from sharestack.content import cached, service
from sharestack.content.cached import Served
from sharestack.content.rules import etag
from sharestack.content.schemas import (
    ContentCreate,
    ContentRead,
    ContentTeaser,
    ContentUpdate,
    ContentVersionRead,
    ContentVersionSummary,
    Page,
)
from sharestack.dependencies import CachedReadsDep, CursorsDep, ReadSessionDep, WriteSessionDep
from sharestack.openapi import INVALID_CURSOR, errors
from sharestack.responses import JSONBytes

router = APIRouter(tags=["content"])

Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Slug = Annotated[str, Path(min_length=1, max_length=120)]
TagSlug = Annotated[str, Path(min_length=1, max_length=64)]
# Any cursor string is accepted here; one that does not verify is a 422 invalid_cursor.
Cursor = Annotated[str | None, Query()]
Limit = Annotated[int, Query(ge=1, le=50)]
VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1)]
# The ETag of the version the change is based on (optimistic concurrency: 412 when stale).
IfMatch = Annotated[str | None, Header(max_length=200)]


@router.post("/contents", status_code=status.HTTP_201_CREATED)
async def create_content(
    body: ContentCreate, caller: CurrentCaller, session: WriteSessionDep, response: Response
) -> ContentRead:
    return _tagged(response, await service.create(session, caller.user_id, body))


# The hot reads below answer from the cache (sharestack.content.cached): on a hit they return the
# cached JSON bytes and never open a database session (the read session is lazy).


@router.get("/contents/slug/{slug}", response_model=ContentRead, responses=errors(404))
async def read_content_by_slug(
    slug: Slug, caller: OptionalCaller, reads: CachedReadsDep, session: ReadSessionDep
) -> JSONBytes:
    viewer = caller.user_id if caller else None
    return _served(await cached.read_by_slug(reads, session, slug, viewer))


@router.get("/contents/{content_id}", response_model=ContentRead, responses=errors(404))
async def read_content(
    content_id: Id, caller: OptionalCaller, reads: CachedReadsDep, session: ReadSessionDep
) -> JSONBytes:
    viewer = caller.user_id if caller else None
    return _served(await cached.read_by_id(reads, session, content_id, viewer))


@router.patch("/contents/{content_id}", responses=errors(403, 404, 412))
async def update_content(
    content_id: Id,
    body: ContentUpdate,
    caller: CurrentCaller,
    session: WriteSessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> ContentRead:
    item = await service.get_for_author(session, content_id, caller.user_id, if_match=if_match)
    return _tagged(response, await service.update(session, item, caller.user_id, body))


@router.post("/contents/{content_id}/publish", responses=errors(403, 404, 412))
async def publish_content(
    content_id: Id,
    caller: CurrentCaller,
    session: WriteSessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> ContentRead:
    item = await service.get_for_author(session, content_id, caller.user_id, if_match=if_match)
    return _tagged(response, await service.publish(session, item))


@router.post("/contents/{content_id}/unpublish", responses=errors(403, 404, 412))
async def unpublish_content(
    content_id: Id,
    caller: CurrentCaller,
    session: WriteSessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> ContentRead:
    item = await service.get_for_author(session, content_id, caller.user_id, if_match=if_match)
    return _tagged(response, await service.unpublish(session, item))


@router.delete(
    "/contents/{content_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(403, 404, 412),
)
async def delete_content(
    content_id: Id, caller: CurrentCaller, session: WriteSessionDep, if_match: IfMatch = None
) -> Response:
    item = await service.get_for_author(session, content_id, caller.user_id, if_match=if_match)
    await service.delete(session, item)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/contents/{content_id}/versions",
    responses=errors(403, 404, 422, descriptions={422: INVALID_CURSOR}),
)
async def content_versions(
    content_id: Id,
    caller: CurrentCaller,
    session: WriteSessionDep,
    cursors: CursorsDep,
    cursor: Cursor = None,
    limit: Limit = 20,
) -> Page[ContentVersionSummary]:
    return await service.versions(session, cursors, content_id, caller.user_id, cursor, limit)


@router.get("/contents/{content_id}/versions/{version}", responses=errors(403, 404))
async def content_version(
    content_id: Id, version: VersionNumber, caller: CurrentCaller, session: WriteSessionDep
) -> ContentVersionRead:
    return await service.version(session, content_id, caller.user_id, version)


@router.get(
    "/me/contents",
    response_model=Page[ContentRead],
    responses=errors(422, descriptions={422: INVALID_CURSOR}),
)
async def my_contents(
    caller: CurrentCaller,
    session: WriteSessionDep,
    cursors: CursorsDep,
    cursor: Cursor = None,
    limit: Limit = 20,
) -> JSONBytes:
    page = await service.author_items(session, cursors, caller.user_id, cursor, limit)
    # Serialised once, by pydantic-core (the page is built from validated models): not
    # validated again and turned into a dict for the response class to encode.
    return JSONBytes(to_json(page))


@router.get(
    "/creators/{user_id}/contents",
    response_model=Page[ContentTeaser],
    responses=errors(422, descriptions={422: INVALID_CURSOR}),
)
async def creator_feed(
    user_id: Id,
    reads: CachedReadsDep,
    cursors: CursorsDep,
    cursor: Cursor = None,
    limit: Limit = 20,
) -> JSONBytes:
    return JSONBytes(await cached.creator_feed_page(reads, cursors, user_id, cursor, limit))


@router.get(
    "/tags/{slug}/contents",
    response_model=Page[ContentTeaser],
    responses=errors(404, 422, descriptions={422: INVALID_CURSOR}),
)
async def tag_feed(
    slug: TagSlug,
    reads: CachedReadsDep,
    cursors: CursorsDep,
    cursor: Cursor = None,
    limit: Limit = 20,
) -> JSONBytes:
    return JSONBytes(await cached.tag_feed_page(reads, cursors, slug, cursor, limit))


def _tagged(response: Response, item: ContentRead) -> ContentRead:
    response.headers["ETag"] = etag(item.version, withheld=item.body_withheld)
    return item


def _served(served: Served) -> JSONBytes:
    return JSONBytes(served.body, headers={"ETag": served.etag})
