"""The edge, for real: Debian's nginx running the project's own templates in front of two API
processes (on the shared MariaDB and Redis, in a database and key prefix of their own).

What is shown, one test each: requests are spread over both instances; HTTP redirects to HTTPS
with a working certificate (made by the project's bootstrap script) while the ACME path and
nginx's health stay on HTTP; static and media files carry their caching headers and gzip; the
access log is JSON and shares its request id with the API's own log line; a burst above the edge
limit gets 429 with the JSON error body; killing an instance in the middle of a stream of GETs
fails no request. The last test kills an instance, so it runs last.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import servers
from tests.support.nginx import EdgeLayout, prepare, start_nginx, stop_nginx
from tests.support.processes import ManagedProcess, api_argv, free_port, sharestack_argv, wait_until

pytestmark = pytest.mark.system

BACKEND = Path(__file__).resolve().parents[2]


@dataclass
class Instance:
    port: int
    proc: ManagedProcess

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for raw in self.proc.log_path.read_text().splitlines():
            if raw.startswith("{"):
                lines.append(json.loads(raw))
        return lines


@dataclass
class Edge:
    layout: EdgeLayout
    nginx: ManagedProcess
    instances: list[Instance]
    # A GET that goes through routing, a read session and the database: a creator's feed.
    db_get: str

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.layout.https_port}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.layout.http_port}"

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(
            base_url=self.https, verify=ssl_context(self.layout.cert_file), timeout=10, **kwargs
        )

    def access_log(self) -> list[dict[str, Any]]:
        # Every line must be valid JSON: json.loads raises on the first one that is not.
        return [json.loads(line) for line in self.layout.access_log.read_text().splitlines()]

    def access_entry(self, request_id: str) -> dict[str, Any]:
        # nginx writes the line in its log phase, just after the response has gone out.
        def entries() -> list[dict[str, Any]]:
            return [e for e in self.access_log() if e["request_id"] == request_id]

        wait_until(lambda: len(entries()) >= 1, 5, f"the access log line for {request_id}")
        found = entries()
        assert len(found) == 1, f"{len(found)} access log lines for {request_id}"
        return found[0]


def ssl_context(cafile: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cafile))


def _api_env(database: str, prefix: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ENVIRONMENT="test",
        SECRET_KEY=secrets.token_urlsafe(48),
        DATABASE_URL=f"{servers.database_url(database)}?charset=utf8mb4",
        DATABASE_REPLICA_URLS="",
        REDIS_URL=servers.REDIS_URL,
        REDIS_KEY_PREFIX=prefix,
        FORWARDED_ALLOW_IPS="127.0.0.1",
        LOG_LEVEL="INFO",
        # As in the image: each JSON log line reaches the file when it is written.
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    root = tmp_path_factory.mktemp("edge")
    database = f"ss_edge_{uuid.uuid4().hex[:10]}"
    prefix = f"ss_edge_{uuid.uuid4().hex[:8]}:"
    try:
        servers.require_mariadb()
        servers.require_redis()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    servers.create_database(database)
    env = _api_env(database, prefix)
    instances: list[Instance] = []
    nginx: ManagedProcess | None = None
    try:
        subprocess.run(
            sharestack_argv("migrate"),
            cwd=BACKEND,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        for n in (1, 2):
            port = free_port()
            proc = ManagedProcess(
                f"api-{n}",
                api_argv(port, migrate=False),
                root / f"api-{n}.log",
                env=env,
                cwd=BACKEND,
            ).start()
            instances.append(Instance(port, proc))
        # Both instances answer before nginx starts: refused connects would count as failures.
        for inst in instances:
            wait_until(
                lambda inst=inst: httpx.get(f"http://{inst.addr}/healthz").status_code == 200,
                60,
                f"{inst.proc.name} to serve",
                inst.proc,
            )
        creator = httpx.post(
            f"http://{instances[0].addr}/api/v1/auth/register",
            json={"email": f"{prefix[:-1]}@example.com", "password": secrets.token_urlsafe(16)},
        )
        assert creator.status_code == 201, creator.text
        db_get = f"/api/v1/creators/{creator.json()['id']}/contents"
        layout = prepare(root / "nginx", [i.addr for i in instances], "tls")
        (layout.static_root / "app.3f9c2a.css").write_text(
            "body { color: #222; }\n" + ".card { margin: 0 auto; padding: 1rem; }\n" * 200
        )
        (layout.media_root / "public" / "avatar.txt").write_text("avatar\n")
        (layout.media_root / "protected" / "paid.txt").write_text("paid\n")
        (layout.acme_root / ".well-known" / "acme-challenge" / "token123").write_text("proof\n")
        nginx = start_nginx(layout)
        yield Edge(layout, nginx, instances, db_get)
    finally:
        if nginx is not None:
            stop_nginx(nginx)
        for inst in instances:
            inst.proc.stop(signal.SIGTERM)
        servers.drop_database(database)
        servers.delete_redis_prefix(prefix)


def test_requests_are_spread_over_both_instances(edge: Edge) -> None:
    ids = [f"spread-{uuid.uuid4().hex}" for _ in range(20)]
    with edge.client() as client:
        for rid in ids:
            response = client.get("/healthz", headers={"X-Request-ID": rid})
            assert response.status_code == 200
            # The id comes back once: nginx hides the API's copy and sets its own.
            assert response.headers.get_list("x-request-id") == [rid]
    served_by = Counter(edge.access_entry(rid)["upstream_addr"] for rid in ids)
    print(f"\nround robin over 20 requests: {dict(served_by)}")
    assert set(served_by) == {i.addr for i in edge.instances}
    assert min(served_by.values()) >= 5


def test_http_redirects_to_https_except_acme_and_health(edge: Edge) -> None:
    with httpx.Client(base_url=edge.http, timeout=5) as plain:
        redirect = plain.get("/api/v1/tags/x/contents?page=2")
        assert redirect.status_code == 301
        assert redirect.headers["location"] == (
            f"https://127.0.0.1:{edge.layout.https_port}/api/v1/tags/x/contents?page=2"
        )
        assert "strict-transport-security" not in redirect.headers
        challenge = plain.get("/.well-known/acme-challenge/token123")
        assert challenge.status_code == 200
        assert challenge.text == "proof\n"
        health = plain.get("/nginx-health")
        assert health.json() == {"status": "ok"}

    with edge.client() as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    headers = response.headers
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "server" not in headers or headers["server"] == "nginx"  # no version, no uvicorn


def test_tls_1_3_and_1_2_with_forward_secret_ciphers(edge: Edge) -> None:
    def handshake(ctx: ssl.SSLContext) -> tuple[str | None, str]:
        with (
            socket.create_connection(("127.0.0.1", edge.layout.https_port)) as raw,
            ctx.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            cipher = tls.cipher()
            assert cipher is not None
            return tls.version(), cipher[0]

    assert handshake(ssl_context(edge.layout.cert_file))[0] == "TLSv1.3"
    tls12 = ssl_context(edge.layout.cert_file)
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    version, cipher = handshake(tls12)
    assert version == "TLSv1.2"
    assert cipher.startswith("ECDHE-")
    assert "GCM" in cipher or "CHACHA20" in cipher


def test_static_and_media_caching_headers_and_gzip(edge: Edge) -> None:
    with edge.client() as client:
        css = client.get("/static/app.3f9c2a.css", headers={"Accept-Encoding": "gzip"})
        assert css.status_code == 200
        assert css.headers.get_list("cache-control") == ["public, max-age=31536000, immutable"]
        assert css.headers["content-encoding"] == "gzip"
        assert css.headers["vary"] == "Accept-Encoding"
        assert css.headers["content-type"].startswith("text/css")
        assert "expires" not in css.headers
        raw_size = (edge.layout.static_root / "app.3f9c2a.css").stat().st_size
        wire = css.num_bytes_downloaded
        print(f"\nstatic css: {raw_size} B on disk, {wire} B gzipped on the wire")
        assert wire < raw_size / 4
        assert css.headers.get("x-request-id")

        media = client.get("/media/avatar.txt")
        assert media.status_code == 200
        assert media.headers.get_list("cache-control") == ["public, max-age=31536000, immutable"]

        missing = client.get("/static/nope.js")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        # Paid media is reachable only through the API's X-Accel-Redirect, never directly.
        assert client.get("/_protected_media/paid.txt").status_code == 404
        assert client.get("/media/../protected/paid.txt").status_code in (400, 404)


def test_access_log_is_json_and_shares_the_request_id_with_the_api(edge: Edge) -> None:
    given = f"trace-{uuid.uuid4().hex}"
    with edge.client() as client:
        # A client-supplied X-Forwarded-For is not evidence: nginx replaces it with the peer.
        mine = client.get(
            edge.db_get, headers={"X-Request-ID": given, "X-Forwarded-For": "203.0.113.9"}
        )
        generated = client.get(edge.db_get)
    assert mine.status_code == 200
    assert mine.headers["x-request-id"] == given
    nginx_id = generated.headers["x-request-id"]
    assert len(nginx_id) == 32  # nginx's $request_id: the client sent none

    for rid in (given, nginx_id):
        entry = edge.access_entry(rid)
        assert entry["status"] == 200
        assert entry["method"] == "GET"
        assert entry["scheme"] == "https"
        assert entry["upstream_status"] == "200"
        assert float(entry["upstream_response_time"]) >= 0
        assert isinstance(entry["request_time"], float | int)
        instance = next(i for i in edge.instances if i.addr == entry["upstream_addr"])

        # The API writes its line after the response has gone out: give it a moment.
        def api_lines(instance: Instance = instance, rid: str = rid) -> list[dict[str, Any]]:
            return [
                line
                for line in instance.log_lines()
                if line.get("event") == "request" and line.get("request_id") == rid
            ]

        wait_until(lambda: len(api_lines()) == 1, 5, f"the API's log line for {rid}")
        (api_line,) = api_lines()
        assert api_line["path"] == edge.db_get
        assert api_line["status"] == 200
        assert api_line["client"] == "127.0.0.1"
    print(f"\nnginx access line: {json.dumps(edge.access_entry(given))}")


def test_a_burst_above_the_edge_limit_gets_429_with_the_json_error(edge: Edge) -> None:
    # /api/v1/auth/ allows 10 requests/min per IP with a burst of 5: 6 pass at once, then 429.
    def attempt(_: int) -> httpx.Response:
        with edge.client() as client:
            return client.post("/api/v1/auth/login", json={})

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(attempt, range(30)))
    codes = Counter(r.status_code for r in responses)
    print(f"\nburst of 30 login attempts: {dict(codes)}")
    limited = [r for r in responses if r.status_code == 429]
    assert len(responses) - len(limited) <= 7  # 1 + burst 5, plus one refill if the run is slow
    assert len(limited) >= 23
    for r in limited:
        assert r.headers["content-type"] == "application/json"
        assert r.json() == {
            "error": {
                "code": "rate_limited",
                "message": "Too many requests. Slow down and retry shortly.",
            }
        }
        assert r.headers["retry-after"] == "1"
        assert r.headers.get("x-request-id")
    # Rejections are logged at warn, so they do not drown real errors.
    error_log = edge.layout.error_log.read_text()
    assert "limiting requests" in error_log
    assert "[error]" not in "".join(
        line for line in error_log.splitlines() if "limiting requests" in line
    )


def test_killing_an_instance_during_a_stream_of_gets_fails_no_request(edge: Edge) -> None:
    # Stays under the general edge limit (50 r/s per IP): about 30 r/s for 150 requests.
    victim = edge.instances[1]
    ids = [f"stream-{i:03d}-{uuid.uuid4().hex[:8]}" for i in range(150)]
    failures: list[str] = []
    latencies: list[float] = []
    killed_at: list[int] = []

    def kill_later() -> None:
        while len(latencies) < 50:
            time.sleep(0.005)
        victim.proc.kill9()
        killed_at.append(len(latencies))

    killer = threading.Thread(target=kill_later)
    killer.start()
    with edge.client() as client:
        for rid in ids:
            started = time.perf_counter()
            try:
                response = client.get(edge.db_get, headers={"X-Request-ID": rid})
                if response.status_code != 200:
                    failures.append(f"{rid}: {response.status_code} {response.text[:200]}")
            except httpx.HTTPError as exc:
                failures.append(f"{rid}: {exc!r}")
            latencies.append(time.perf_counter() - started)
            time.sleep(0.03)
    killer.join()

    assert not victim.proc.alive()
    entries = [edge.access_entry(rid) for rid in ids]
    retried = [e for e in entries if "," in e["upstream_addr"]]
    after_kill = entries[killed_at[0] + len(retried) + 1 :]
    print(
        f"\nstream: {len(ids)} GETs, instance killed after request {killed_at[0]}, "
        f"failed {len(failures)}, retried on the other instance {len(retried)} "
        f"({[e['upstream_addr'] for e in retried]}), "
        f"max latency {max(latencies) * 1000:.1f} ms, "
        f"p50 {sorted(latencies)[len(latencies) // 2] * 1000:.1f} ms"
    )
    assert failures == []
    assert all(e["status"] == 200 for e in entries)
    # Once nginx has seen the failure, the survivor serves everything.
    survivor = edge.instances[0].addr
    assert all(e["upstream_addr"] == survivor for e in after_kill[5:])
