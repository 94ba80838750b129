"""Two API processes (no nginx in front) on one database and one cache Redis, with an L1 TTL far
longer than the test: an anonymous reader of process B sees a write made through process A
promptly, which only the pub/sub invalidation (sharestack.cache.local_sync) can explain."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sharestack.config import Settings
from tests.support.processes import ManagedProcess, api_argv, free_port, wait_until
from tests.support.redis_servers import BACKEND_DIR

pytestmark = pytest.mark.system

L1_TTL = 60


def _api(name: str, settings: Settings, tmp: Path, *, migrate: bool) -> tuple[ManagedProcess, str]:
    port = free_port()
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "CACHE_", "DB"))},
        "ENVIRONMENT": "test",
        "SECRET_KEY": settings.secret_key,
        "DATABASE_URL": str(settings.database_url),
        "REDIS_URL": str(settings.redis_url),
        "REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "DATA_DIR": str(tmp),
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_ENABLED": "false",
        "CACHE_L1_TTL_SECONDS": str(L1_TTL),
    }
    proc = ManagedProcess(
        name, api_argv(port, migrate=migrate), tmp / f"{name}.log", env=environ, cwd=BACKEND_DIR
    ).start()
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture
def two_apis(migrated: Settings, tmp_path: Path) -> Iterator[tuple[str, str]]:
    started: list[ManagedProcess] = []
    try:
        prefix = f"{migrated.redis_key_prefix}l1sys{secrets.token_hex(3)}:"
        shared = migrated.model_copy(update={"redis_key_prefix": prefix})
        bases = []
        for name in ("api-a", "api-b"):
            proc, base = _api(name, shared, tmp_path, migrate=False)
            started.append(proc)
            bases.append(base)
        for proc, base in zip(started, bases, strict=True):
            wait_until(lambda b=base: httpx.get(f"{b}/readyz").is_success, 60, "api ready", proc)
        yield bases[0], bases[1]
    finally:
        for proc in started:
            proc.stop()


def test_a_write_through_one_process_is_seen_through_the_other(
    two_apis: tuple[str, str],
) -> None:
    a, b = two_apis
    with httpx.Client(base_url=a, timeout=10) as writer, httpx.Client(base_url=b) as reader:
        email, password = f"l1-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(12)
        body = {"email": email, "password": password, "display_name": "作者"}
        assert writer.post("/api/v1/auth/register", json=body).status_code == 201
        login = writer.post("/api/v1/auth/login", json={"email": email, "password": password})
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        writer.cookies.clear()
        item = writer.post(
            "/api/v1/contents",
            json={"title": "旧 old", "body": "正文", "tags": []},
            headers=headers,
        ).json()
        assert writer.post(f"/api/v1/contents/{item['id']}/publish", headers=headers).is_success
        url = f"/api/v1/contents/{item['id']}"
        for _ in range(2):  # the second read is served from b's L1
            assert reader.get(url).json()["title"] == "旧 old"

        patched = writer.patch(url, json={"title": "新 new"}, headers=headers)
        assert patched.status_code == 200, patched.text
        began = time.monotonic()
        took = wait_until(lambda: reader.get(url).json()["title"] == "新 new", 5, "b sees it")
        print(f"\nprocess b served the new title {took * 1000:.0f} ms after a's write returned")
        assert time.monotonic() - began < 1.0  # not the L1's TTL (60 s)
