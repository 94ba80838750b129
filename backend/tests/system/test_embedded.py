"""The embedded default, started exactly as a new user starts it: ``make run`` on a machine with
no database or Redis configured (SQLite under DATA_DIR, in-process Redis)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.support.processes import ManagedProcess, free_port, wait_until

pytestmark = pytest.mark.system

REPO = Path(__file__).resolve().parents[3]
TEXT = "《静夜思》床前明月光，疑是地上霜。举头望明月，低头思故乡。🌕🏮 Ünïcödé ‘quotes’ \u200d👩‍💻"


def test_make_run_serves_the_whole_journey(tmp_path: Path) -> None:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "ENVIRONMENT", "SECRET_KEY"))
    }
    env |= {"PORT": str(port), "DATA_DIR": str(tmp_path / "var"), "LOG_LEVEL": "WARNING"}
    proc = ManagedProcess(
        "make-run", ["make", "-C", str(REPO), "run"], tmp_path / "run.log", env=env
    )
    proc.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200, 60, "/healthz", proc)
        assert (tmp_path / "var" / "sharestack.db").exists()
        with httpx.Client(base_url=f"{base}/api/v1") as http:
            creds = {"email": "reader@example.com", "password": "一个足够长的密码"}
            assert http.post("/auth/register", json=creds).status_code == 201
            r = http.post("/auth/login", json=creds)
            assert r.status_code == 200
            auth = {"Authorization": f"Bearer {r.json()['token']}"}
            http.cookies.clear()
            r = http.post(
                "/contents", json={"title": "月夜 🌙", "body": TEXT, "tags": ["诗"]}, headers=auth
            )
            assert r.status_code == 201, r.text
            item = r.json()
            assert http.post(f"/contents/{item['id']}/publish", headers=auth).status_code == 200
            r = http.get(f"/contents/slug/{item['slug']}")
            assert r.status_code == 200
            assert r.json()["body"] == TEXT
            assert r.json()["body"].encode() == TEXT.encode()
            assert r.json()["title"] == "月夜 🌙"
            assert http.get("/tags/诗/contents").json()["items"][0]["id"] == item["id"]
            _subscribe_and_read(http, auth)
            _upload_and_serve(http, base, auth)
            assert http.post("/auth/logout", headers=auth).status_code == 204
            assert http.get("/me", headers=auth).status_code == 401
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200, ready.text
    finally:
        proc.stop(group=True)


def _subscribe_and_read(http: httpx.Client, creator: dict[str, str]) -> None:
    """Billing embedded: a plan, a sandbox checkout, the notification delivered by a job inside
    the API process, the paywall opening for the paying reader."""
    item = http.post(
        "/contents",
        json={"title": "会员", "body": TEXT, "visibility": "subscribers"},
        headers=creator,
    ).json()
    assert http.post(f"/contents/{item['id']}/publish", headers=creator).status_code == 200
    plan = http.post(
        "/plans", json={"name": "月付", "price_amount": 990, "interval": "month"}, headers=creator
    ).json()
    creds = {"email": "payer@example.com", "password": "一个足够长的密码"}
    assert http.post("/auth/register", json=creds).status_code == 201
    reader = {"Authorization": f"Bearer {http.post('/auth/login', json=creds).json()['token']}"}
    http.cookies.clear()
    r = http.post(
        "/checkouts",
        json={"plan_id": plan["id"], "provider": "sandbox"},
        headers=reader | {"Idempotency-Key": "embedded-1"},
    )
    assert r.status_code == 201, r.text
    payment = r.json()["payment"]
    r = http.post(
        f"/sandbox/payments/{payment['id']}/pay", json={"outcome": "succeed"}, headers=reader
    )
    assert r.status_code == 202, r.text
    wait_until(
        lambda: http.get(f"/contents/{item['id']}", headers=reader).json()["body"] == TEXT,
        20,
        "the paywall to open",
    )
    assert http.get(f"/contents/{item['id']}").json()["body"] is None


def _upload_and_serve(http: httpx.Client, base: str, auth: dict[str, str]) -> None:
    """Media on the local storage without nginx: the API stores, serves public files under
    /media/ and subscribers-only files itself, and the in-process job runner makes variants."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), (20, 160, 90)).save(out, "JPEG")
    r = http.post("/media", files={"file": ("p.jpg", out.getvalue(), "image/jpeg")}, headers=auth)
    assert r.status_code == 201, r.text
    media = r.json()
    served = httpx.get(base + media["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert len(served.content) == media["bytes"]
    wait_until(lambda: http.get(f"/media/{media['id']}").json()["state"] == "ready", 30, "variants")
    assert [v["width"] for v in http.get(f"/media/{media['id']}").json()["variants"]] == [320]
    r = http.post(
        "/media",
        files={"file": ("p.png", out.getvalue(), "image/png")},
        headers=auth,
    )
    assert r.status_code == 422  # a JPEG sent as PNG
