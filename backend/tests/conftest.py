"""Shared fixtures for every tier.

The integration tier runs against the real MariaDB and Redis: each run (and each xdist worker)
creates its own database and migrates it once; each test starts from empty tables; Redis keys
carry a per-run prefix and are deleted at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from sharestack.config import Settings
from sharestack.dependencies import app_state
from sharestack.main import create_app
from sharestack.models import metadata
from tests.support import servers


@pytest.fixture(scope="session")
def run_id(worker_id: str) -> str:
    return f"{os.getpid()}_{worker_id}"


@pytest.fixture(scope="session")
def mysql_database(run_id: str) -> Iterator[str]:
    """A fresh, migrated database for this run (and worker)."""
    try:
        servers.require_mariadb()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    name = f"ss_test_{run_id}"
    servers.create_database(name)
    yield name
    servers.drop_database(name)


@pytest.fixture(scope="session")
def redis_prefix(run_id: str) -> Iterator[str]:
    try:
        servers.require_redis()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    prefix = f"sstest:{run_id}:{secrets.token_hex(3)}:"
    yield prefix
    servers.delete_redis_prefix(prefix)


@pytest.fixture(scope="session")
def settings(
    mysql_database: str, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return Settings(
        _env_file=None,
        environment="test",
        secret_key=secrets.token_urlsafe(48),
        database_url=servers.database_url(mysql_database),
        redis_url=servers.REDIS_URL,
        redis_key_prefix=redis_prefix,
        log_level="WARNING",
        # The sandbox payment provider exists in ENVIRONMENT=test only with its signing key.
        sandbox_payments_secret=secrets.token_urlsafe(32),
        # The limiter runs on every request, but the suite signs up many accounts from one
        # address; the limits themselves are tested in tests/integration/ratelimit.
        rate_limit_anonymous="100000/minute",
        rate_limit_authenticated="100000/minute",
        rate_limit_auth="100000/minute",
        # Uploaded media go to this run's own directory (the local storage adapter).
        media_root=tmp_path_factory.mktemp("media"),
        # Likewise the password bulkhead: the suite's bursts of sign-ups must not be shed on a
        # busy machine; shedding is tested in tests/integration/test_login_bulkhead.py.
        password_hash_queue=200,
        password_hash_max_wait=30.0,
        # The suite reads Redis's cache state directly (expiring keys by hand, counting loads);
        # the L1 in front of it is tested on its own (tests/integration/cache/test_local_cache.py).
        cache_l1_ttl_seconds=0,
    )


@pytest.fixture(scope="session")
async def migrated(settings: Settings) -> Settings:
    from sharestack.db.migrate import migrate

    await migrate(settings)
    return settings


@pytest.fixture(scope="session")
async def app(migrated: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(migrated)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def clean_tables(app: FastAPI) -> AsyncIterator[None]:
    yield
    async with app_state(app).db.write_engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(sa.delete(table))


@pytest.fixture
async def client(app: FastAPI, clean_tables: None) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
