"""The S3-compatible adapter (AWS S3, Aliyun OSS, Tencent COS, MinIO, ...), through aiobotocore,
for deployments with several API hosts and no shared disk.

One client per process, opened with the process's resources. A ``PutObject`` is atomic on the
service side (an object appears whole or not at all), so a failed upload leaves nothing.
Protected objects are read through signed, expiring ``GetObject`` URLs; public ones from the
bucket's (or its CDN's) public base URL, which the caller knows.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from sharestack.storage.port import StoredObjectMissing, check_key

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

_MISSING = {"404", "NoSuchKey", "NotFound"}


@dataclass(frozen=True)
class S3Options:
    bucket: str
    endpoint_url: str | None
    region: str
    access_key_id: str | None
    secret_access_key: str | None
    # "virtual" (bucket.host, what OSS and COS require) or "path" (host/bucket, MinIO's default).
    addressing_style: str = "virtual"
    prefix: str = ""
    timeout_seconds: float = 10.0


class S3Storage:
    name = "s3"

    def __init__(self, options: S3Options) -> None:
        self.options = options
        self._stack = contextlib.AsyncExitStack()
        self._client: S3Client | None = None

    async def open(self) -> S3Storage:
        o = self.options
        config = AioConfig(
            signature_version="s3v4",
            s3={"addressing_style": o.addressing_style},
            connect_timeout=o.timeout_seconds,
            read_timeout=o.timeout_seconds,
            retries={"max_attempts": 3, "mode": "standard"},
        )
        self._client = await self._stack.enter_async_context(
            get_session().create_client(
                "s3",
                endpoint_url=o.endpoint_url,
                region_name=o.region,
                aws_access_key_id=o.access_key_id,
                aws_secret_access_key=o.secret_access_key,
                config=config,
            )
        )
        return self

    @property
    def client(self) -> S3Client:
        if self._client is None:
            raise RuntimeError("S3Storage.open() was not awaited")
        return self._client

    def _key(self, key: str) -> str:
        return self.options.prefix + check_key(key)

    def local_path(self, key: str) -> Path | None:
        return None

    async def put(self, key: str, data: bytes, content_type: str, cache_control: str) -> None:
        await self.client.put_object(
            Bucket=self.options.bucket,
            Key=self._key(key),
            Body=data,
            ContentType=content_type,
            CacheControl=cache_control,
        )

    async def get(self, key: str) -> bytes:
        try:
            response = await self.client.get_object(Bucket=self.options.bucket, Key=self._key(key))
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise StoredObjectMissing(key) from exc
            raise
        async with response["Body"] as stream:
            data: bytes = await stream.read()
        return data

    async def exists(self, key: str) -> bool:
        try:
            await self.client.head_object(Bucket=self.options.bucket, Key=self._key(key))
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return False
            raise
        return True

    async def delete(self, key: str) -> None:
        await self.client.delete_object(Bucket=self.options.bucket, Key=self._key(key))

    async def signed_url(self, key: str, expires_seconds: int) -> str | None:
        params: dict[str, Any] = {"Bucket": self.options.bucket, "Key": self._key(key)}
        url: str = await self.client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_seconds
        )
        return url

    async def check(self) -> None:
        await self.client.head_bucket(Bucket=self.options.bucket)

    async def aclose(self) -> None:
        await self._stack.aclose()
        self._client = None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
