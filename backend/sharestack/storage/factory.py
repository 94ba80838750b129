"""Builds the configured storage adapter (``MEDIA_STORAGE``)."""

from __future__ import annotations

from sharestack.config import Settings
from sharestack.storage.local import LocalStorage
from sharestack.storage.port import Storage
from sharestack.storage.s3 import S3Options, S3Storage


async def open_storage(settings: Settings) -> Storage:
    if settings.media_storage == "s3":
        if not settings.s3_bucket:
            raise ValueError("MEDIA_STORAGE=s3 needs S3_BUCKET (and usually S3_ENDPOINT_URL)")
        options = S3Options(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            addressing_style=settings.s3_addressing_style,
            prefix=settings.s3_prefix,
        )
        return await S3Storage(options).open()
    return LocalStorage(settings.resolved_media_root)
