"""Media through the real edge: Debian's nginx on the project's templates in front of an API
process whose local storage is nginx's media root.

Shown here: a public image is served by nginx itself from ``/media/`` with ``immutable``
caching; a subscribers-only image is 200 for its author and for a subscriber (the API checks the
entitlement, nginx streams the file from the internal ``/_protected_media/`` location) and 403
or 404 for everyone else, anonymous or signed in, by the API route and by every direct path;
nginx's body limit for the upload route matches the API's, and the JSON routes keep theirs.
"""

from __future__ import annotations

import io
import os
import secrets
import signal
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from PIL import Image

from sharestack.config import Settings
from tests.support import images, servers
from tests.support.nginx import EdgeLayout, prepare, start_nginx, stop_nginx
from tests.support.processes import ManagedProcess, api_argv, free_port, sharestack_argv, wait_until

pytestmark = pytest.mark.system

BACKEND = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"


@dataclass
class MediaEdge:
    layout: EdgeLayout
    database: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.layout.http_port}"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=20)


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaEdge]:
    root = tmp_path_factory.mktemp("media-edge")
    database = f"ss_media_{uuid.uuid4().hex[:10]}"
    prefix = f"ss_media_{uuid.uuid4().hex[:8]}:"
    try:
        servers.require_mariadb()
        servers.require_redis()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    servers.create_database(database)
    port = free_port()
    layout = prepare(root / "nginx", [f"127.0.0.1:{port}"], "plain")
    env = dict(os.environ)
    env.update(
        ENVIRONMENT="test",
        SECRET_KEY=secrets.token_urlsafe(48),
        DATABASE_URL=f"{servers.database_url(database)}?charset=utf8mb4",
        DATABASE_REPLICA_URLS="",
        REDIS_URL=servers.REDIS_URL,
        REDIS_KEY_PREFIX=prefix,
        FORWARDED_ALLOW_IPS="127.0.0.1",
        LOG_LEVEL="WARNING",
        MEDIA_ROOT=str(layout.media_root),
        MEDIA_ACCEL_REDIRECT="true",
        RATE_LIMIT_AUTH="1000/minute",
    )
    api: ManagedProcess | None = None
    nginx: ManagedProcess | None = None
    try:
        subprocess.run(
            sharestack_argv("migrate"), cwd=BACKEND, env=env, check=True, capture_output=True
        )
        api = ManagedProcess(
            "api", api_argv(port, migrate=False), root / "api.log", env=env, cwd=BACKEND
        ).start()
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200,
            60,
            "the API to serve",
            api,
        )
        nginx = start_nginx(layout)
        yield MediaEdge(layout, database)
    finally:
        if nginx is not None:
            stop_nginx(nginx)
        if api is not None:
            api.stop(signal.SIGTERM)
        servers.drop_database(database)
        servers.delete_redis_prefix(prefix)


def account(client: httpx.Client, name: str) -> tuple[int, dict[str, str]]:
    email = f"{name}-{secrets.token_hex(4)}@example.com"
    r = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    client.cookies.clear()
    return r.json()["user_id"], {"Authorization": f"Bearer {r.json()['token']}"}


People = dict[str, tuple[int, dict[str, str]]]


@pytest.fixture(scope="module")
def people(edge: MediaEdge) -> People:
    """Three accounts for the module: nginx's credential limit (10/min, burst 5) is real here."""
    with edge.client() as client:
        return {name: account(client, name) for name in ("creator", "reader", "stranger")}


def subscribe(edge: MediaEdge, plan_id: int, reader: int, creator: int) -> None:
    """An active subscription as the payment confirmation would leave it (the billing flow
    itself is tested in tests/integration/subscriptions)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with servers.admin_connection(edge.database) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO subscriptions (subscriber_id, plan_id, creator_id, status,"
            " current_period_start, current_period_end, cancel_at_period_end, auto_renew,"
            " period_number, renewal_attempt, created_at, updated_at)"
            " VALUES (%s, %s, %s, 'active', %s, %s, 0, 0, 1, 0, %s, %s)",
            (reader, plan_id, creator, now, now + timedelta(days=30), now, now),
        )
        conn.commit()


def test_public_and_subscribers_media_through_nginx(edge: MediaEdge, people: People) -> None:
    creator, creator_auth = people["creator"]
    reader, reader_auth = people["reader"]
    _, stranger_auth = people["stranger"]
    with edge.client() as client:
        r = client.post(
            "/api/v1/media",
            files={"file": ("cover.png", images.encoded("PNG"), "image/png")},
            headers=creator_auth,
        )
        assert r.status_code == 201, r.text
        public = r.json()
        r = client.post(
            "/api/v1/media",
            files={"file": ("paid.jpg", images.photo(), "image/jpeg")},
            data={"access": "subscribers"},
            headers=creator_auth,
        )
        assert r.status_code == 201, r.text
        paid = r.json()
        r = client.post(
            "/api/v1/contents",
            json={"title": "付费 Paid", "body": "paid", "visibility": "subscribers"},
            headers=creator_auth,
        )
        item = r.json()
        assert client.post(
            f"/api/v1/contents/{item['id']}/publish", headers=creator_auth
        ).is_success
        r = client.put(
            f"/api/v1/contents/{item['id']}/media",
            json={"cover_media_id": public["id"], "media_ids": [paid["id"]]},
            headers=creator_auth,
        )
        assert r.status_code == 200, r.text
        plan = client.post(
            "/api/v1/plans",
            json={"name": "会员", "price_amount": 1200, "interval": "month"},
            headers=creator_auth,
        )
        assert plan.status_code == 201, plan.text
        subscribe(edge, plan.json()["id"], reader, creator)

        # Public: nginx serves the file itself, cached for a year, immutable.
        r = client.get(public["url"])
        assert r.status_code == 200
        assert r.headers.get_list("cache-control") == ["public, max-age=31536000, immutable"]
        assert r.headers["content-type"] == "image/png"
        assert r.headers["x-content-type-options"] == "nosniff"
        with Image.open(io.BytesIO(r.content)) as image:
            assert image.size == (48, 36)

        # Subscribers-only: the author and the subscriber get the bytes through nginx.
        protected = next(edge.layout.media_root.joinpath("protected").rglob("*.jpg"))
        for auth in (creator_auth, reader_auth):
            r = client.get(paid["url"], headers=auth)
            assert r.status_code == 200, r.text
            assert r.content == protected.read_bytes()
            assert r.headers["content-type"] == "image/jpeg"
            assert "no-store" in r.headers["cache-control"]
            assert "x-accel-redirect" not in r.headers
        # Everyone else: 403 from the API, and no direct path reaches the file.
        for auth in (stranger_auth, {}):
            r = client.get(paid["url"], headers=auth)
            assert r.status_code == 403, r.text
            assert r.json()["error"]["code"] == "subscribers_only"
        relative = protected.relative_to(edge.layout.media_root / "protected").as_posix()
        for path in (
            f"/_protected_media/{relative}",
            f"/media/{relative}",
            f"/media/../protected/{relative}",
            f"/media/%2e%2e/protected/{relative}",
        ):
            for auth in (stranger_auth, reader_auth, {}):
                r = client.get(path, headers=auth)
                assert r.status_code in (400, 403, 404), (path, r.status_code)
                assert r.content != protected.read_bytes()
        # A client cannot ask nginx for an internal redirect itself.
        r = client.get(public["url"], headers={"X-Accel-Redirect": f"/_protected_media/{relative}"})
        assert r.content != protected.read_bytes()


def test_upload_body_limits_at_the_edge(edge: MediaEdge, people: People) -> None:
    limit = Settings(_env_file=None).media_upload_body_bytes
    _, auth = people["stranger"]
    with edge.client() as client:
        big = b"\xff\xd8" + b"\x00" * (limit + 10)
        r = client.post("/api/v1/media", files={"file": ("x.jpg", big, "image/jpeg")}, headers=auth)
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "payload_too_large"
        # Above the JSON limit (10m in the test layout) but within the upload limit: nginx lets
        # it through and the API decides (here: not an image).
        body = b"\x00" * (9 * 1024 * 1024)
        r = client.post("/api/v1/media", files={"file": ("x.bin", body, "image/png")}, headers=auth)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["fields"] == {"file": "not_an_image"}
        r = client.post(
            "/api/v1/contents",
            content=b'{"title": "t", "body": "' + b"x" * (11 * 1024 * 1024) + b'"}',
            headers=auth | {"Content-Type": "application/json"},
        )
        assert r.status_code == 413
