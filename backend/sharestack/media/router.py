from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile, status
from starlette.responses import Response as StarletteResponse

from sharestack.callers.dependencies import CurrentCaller, OptionalCaller
from sharestack.content import service as content_service
from sharestack.dependencies import (
    CachedReadsDep,
    ReadSessionDep,
    SettingsDep,
    StateDep,
    WriteSessionDep,
)
from sharestack.media import service, serving
from sharestack.media.schemas import ContentMediaRead, ContentMediaUpdate, MediaRead
from sharestack.openapi import errors

router = APIRouter(tags=["media"])

# The routes that take a file: their body limit is MEDIA_MAX_UPLOAD_BYTES plus the multipart
# envelope (sharestack.middleware.BodyLimitMiddleware; nginx's media location matches it).
UPLOAD_ROUTES = (("POST", "/api/v1/media"), ("PUT", "/api/v1/me/avatar"))

Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Variant = Annotated[str, Query(pattern=r"^(original|w[1-9][0-9]{1,3})$")]
UploadErrors = errors(
    403,
    413,
    415,
    422,
    descriptions={
        403: "`media_quota_exceeded`: the owner's MEDIA_QUOTA_COUNT or MEDIA_QUOTA_BYTES.",
        413: "`payload_too_large` / `image_too_large`: above MEDIA_MAX_UPLOAD_BYTES.",
        415: "`unsupported_media_type`: SVG, HTML, or an image format other than JPEG, PNG, "
        "WebP and GIF.",
        422: "`invalid_image`: empty, truncated, corrupt, data after the image's end, too many "
        "pixels, or a Content-Type that is not the decoded one (`fields.file` says which).",
    },
)
ImageFile = Annotated[
    UploadFile, File(description="JPEG, PNG, WebP or GIF (first frame); decoded, re-encoded")
]


async def _read(file: UploadFile, limit: int) -> bytes:
    try:
        return await file.read(limit + 1)  # one byte more than allowed tells "too large"
    finally:
        await file.close()


# 201 also when the caller uploaded the same file (same bytes once re-encoded) with the same
# access before: the answer is that item, stored and counted once.
@router.post(
    "/media",
    status_code=status.HTTP_201_CREATED,
    responses=UploadErrors,
)
async def upload_media(
    file: ImageFile,
    caller: CurrentCaller,
    state: StateDep,
    session: WriteSessionDep,
    access: Annotated[Literal["public", "subscribers"], Form()] = "public",
) -> MediaRead:
    settings = state.settings
    data = await _read(file, settings.media_max_upload_bytes)
    encoded = await service.decode(settings, data, file.content_type)
    done = await service.upload(session, state.storage, settings, caller.user_id, access, encoded)
    return done.media


@router.get("/media/{media_id}", responses=errors(403, 404))
async def read_media(
    media_id: Id,
    caller: OptionalCaller,
    settings: SettingsDep,
    reads: CachedReadsDep,
    session: ReadSessionDep,
) -> MediaRead:
    viewer = caller.user_id if caller else None
    media = await serving.readable(session, reads, media_id, viewer)
    return await service.present(session, settings, media)


@router.get(
    "/media/{media_id}/file",
    response_class=StarletteResponse,
    responses={
        **errors(403, 404),
        200: {"description": "The file (or, behind nginx, an X-Accel-Redirect to it)."},
        302: {"description": "A public URL, or a signed, expiring URL of object storage."},
    },
)
async def media_file(
    media_id: Id,
    caller: OptionalCaller,
    state: StateDep,
    reads: CachedReadsDep,
    session: ReadSessionDep,
    variant: Variant = "original",
) -> StarletteResponse:
    viewer = caller.user_id if caller else None
    return await serving.file_response(
        session, reads, state.storage, state.settings, media_id, variant, viewer
    )


@router.delete(
    "/media/{media_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(403, 404)
)
async def delete_media(media_id: Id, caller: CurrentCaller, session: WriteSessionDep) -> Response:
    await service.delete(session, media_id, caller.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/me/avatar", responses=UploadErrors)
async def put_avatar(
    file: ImageFile, caller: CurrentCaller, state: StateDep, session: WriteSessionDep
) -> MediaRead:
    """Uploads a public image and makes it the caller's avatar."""
    settings = state.settings
    data = await _read(file, settings.media_max_upload_bytes)
    encoded = await service.decode(settings, data, file.content_type)
    done = await service.upload(session, state.storage, settings, caller.user_id, "public", encoded)
    await service.set_avatar(session, caller.user_id, done.media.id)
    return done.media


@router.put(
    "/contents/{content_id}/media",
    responses=errors(
        403,
        404,
        descriptions={
            404: "`content_not_found`, or `invalid_media_reference`: a media id "
            "that is not among the author's media."
        },
    ),
)
async def set_content_media(
    content_id: Id,
    body: ContentMediaUpdate,
    caller: CurrentCaller,
    settings: SettingsDep,
    session: WriteSessionDep,
) -> ContentMediaRead:
    """The item's cover and the media its body embeds (the author's own media only)."""
    content, _tags = await content_service.get_for_author(session, content_id, caller.user_id)
    await service.set_content_media(session, settings, content.id, caller.user_id, body)
    return await service.content_media(session, settings, content.id)


@router.get("/contents/{content_id}/media", responses=errors(404))
async def read_content_media(
    content_id: Id,
    caller: OptionalCaller,
    settings: SettingsDep,
    reads: CachedReadsDep,
    session: ReadSessionDep,
) -> ContentMediaRead:
    """What the reader may see: the cover always; the embedded media only with the body."""
    viewer = caller.user_id if caller else None
    item = await content_service.read_by_id(session, content_id, viewer, reads)
    found = await service.content_media(session, settings, item.id)
    if item.body_withheld:
        found.media = []
    return found
