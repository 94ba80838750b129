"""Handing a media file to a reader.

- Public files are addressable by anyone: nginx serves ``/media/<key>`` from the volume (or the
  bucket serves its public URL) with ``immutable`` caching, keys being content hashes. The API
  route redirects there, or streams the file itself when no nginx is in front (embedded runs).
- Subscribers files are never addressable from outside. Their owner and the owner's
  subscribers (the same entitlement check as the paywall of subscribers-only articles) get the
  file through the API: with local storage as ``X-Accel-Redirect: /_protected_media/<key>``, an
  internal nginx location, or streamed by the API without nginx; with object storage as a
  redirect to a signed URL that expires after MEDIA_SIGNED_URL_SECONDS.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse, RedirectResponse, Response

from sharestack.cache.reads import CachedReads
from sharestack.config import Settings
from sharestack.db.session import ReadSession
from sharestack.media import repository, service
from sharestack.media.exceptions import MediaForbidden, MediaNotFound
from sharestack.media.models import Media, MediaFile
from sharestack.storage import Storage
from sharestack.subscriptions import service as subscriptions_service

PROTECTED_LOCATION = "/_protected_media/"


async def may_read(reads: CachedReads, media: Media, viewer_id: int | None) -> bool:
    if media.access == "public" or viewer_id == media.owner_id:
        return True
    if viewer_id is None:
        return False
    return await subscriptions_service.has_access_cached(reads, viewer_id, media.owner_id)


async def readable(
    session: ReadSession, reads: CachedReads, media_id: int, viewer_id: int | None
) -> Media:
    media = await service.get(session, media_id)
    if not await may_read(reads, media, viewer_id):
        raise MediaForbidden()
    return media


async def file_response(
    session: ReadSession,
    reads: CachedReads,
    storage: Storage,
    settings: Settings,
    media_id: int,
    variant: str,
    viewer_id: int | None,
) -> Response:
    media = await readable(session, reads, media_id, viewer_id)
    files = (await repository.files(session, [media.id]))[media.id]
    chosen = next((f for f in files if f.variant == variant), None)
    if chosen is None:
        raise MediaNotFound("That variant does not exist (yet).")
    if media.access == "public":
        return await _public(storage, settings, media, chosen)
    return await _protected(storage, settings, chosen)


async def _public(storage: Storage, settings: Settings, media: Media, file: MediaFile) -> Response:
    path = storage.local_path(file.key)
    if path is not None and not settings.media_accel_redirect:
        return _stream(path, file, service.PUBLIC_CACHE)
    return RedirectResponse(service.file_url(settings, media, file), status_code=302)


async def _protected(storage: Storage, settings: Settings, file: MediaFile) -> Response:
    headers = {"Cache-Control": service.PRIVATE_CACHE}
    path = storage.local_path(file.key)
    if path is None:
        url = await storage.signed_url(file.key, settings.media_signed_url_seconds)
        if url is None:
            raise MediaNotFound()
        return RedirectResponse(url, status_code=302, headers=headers)
    if settings.media_accel_redirect:
        target = PROTECTED_LOCATION + file.key.removeprefix("protected/")
        headers |= {"X-Accel-Redirect": target, "Content-Type": file.content_type}
        return Response(status_code=200, headers=headers)
    return _stream(path, file, service.PRIVATE_CACHE)


def _stream(path: Path, file: MediaFile, cache: str) -> Response:
    if not path.is_file():
        raise MediaNotFound()
    return FileResponse(path, media_type=file.content_type, headers={"Cache-Control": cache})
