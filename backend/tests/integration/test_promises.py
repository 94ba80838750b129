"""The promises a new user and an attacker check first, on MariaDB and on the embedded default
(SQLite + the in-process store): the paywall, races, forged cursors, one spelling per slug and
tag, one identity rule for emails, and text that cannot carry control characters."""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest

from sharestack.config import Settings
from sharestack.db.migrate import migrate
from sharestack.main import create_app
from tests.integration.helpers import PASSWORD, Account, draft, published, signup

pytestmark = pytest.mark.integration


@pytest.fixture
async def embedded_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The API embedded (SQLite + the in-process store) in a scratch directory."""
    settings = Settings(
        _env_file=None,
        environment="test",
        secret_key=secrets.token_urlsafe(48),
        data_dir=tmp_path,
        log_level="WARNING",
        rate_limit_enabled=False,
    )
    await migrate(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.fixture(params=["mariadb", "embedded"])
def api(request: pytest.FixtureRequest) -> httpx.AsyncClient:
    """The same test against MariaDB + Redis (the suite's app) and the embedded default."""
    name = "client" if request.param == "mariadb" else "embedded_client"
    client: httpx.AsyncClient = request.getfixturevalue(name)
    return client


# -- the paywall --------------------------------------------------------------------------------


async def test_no_public_text_comes_from_a_paid_body(api: httpx.AsyncClient) -> None:
    author = await signup(api, "writer")
    secret = "只给订阅者看的正文 paid words"
    item = await published(api, author, body=secret, visibility="subscribers", tags=["付费"])
    public = [
        await api.get(f"/api/v1/contents/{item['id']}"),
        await api.get(f"/api/v1/contents/slug/{item['slug']}"),
        await api.get(f"/api/v1/creators/{author.user_id}/contents"),
        await api.get("/api/v1/tags/付费/contents"),
        # A second time, from the cache.
        await api.get(f"/api/v1/contents/{item['id']}"),
        await api.get(f"/api/v1/creators/{author.user_id}/contents"),
    ]
    for response in public:
        assert response.status_code == 200
        assert "paid words" not in response.text
    assert public[0].json()["excerpt"] == ""
    assert public[0].json()["body_withheld"] is True
    # What the author chose to show stays public.
    r = await api.patch(
        f"/api/v1/contents/{item['id']}", json={"excerpt": "作者的摘要"}, headers=author.headers
    )
    assert r.status_code == 200
    assert (await api.get(f"/api/v1/contents/{item['id']}")).json()["excerpt"] == "作者的摘要"


async def test_going_subscribers_only_drops_the_derived_excerpt_and_keeps_a_written_one(
    api: httpx.AsyncClient,
) -> None:
    author = await signup(api, "writer")
    derived = await published(api, author, body="public at first, paid later")
    assert derived["excerpt"] == "public at first, paid later"
    r = await api.patch(
        f"/api/v1/contents/{derived['id']}",
        json={"visibility": "subscribers"},
        headers=author.headers,
    )
    assert r.json()["excerpt"] == ""
    written = await published(api, author, body="one", excerpt="hand written")
    r = await api.patch(
        f"/api/v1/contents/{written['id']}",
        json={"body": "two", "visibility": "subscribers"},
        headers=author.headers,
    )
    assert r.json()["excerpt"] == "hand written"


# -- races: serialised or refused, never a 500 --------------------------------------------------


async def test_twenty_concurrent_edits_of_one_item_each_get_their_own_version(
    api: httpx.AsyncClient,
) -> None:
    author = await signup(api, "writer")
    item = await published(api, author)
    responses = await asyncio.gather(
        *(
            api.patch(
                f"/api/v1/contents/{item['id']}",
                json={"body": f"edit {n}", "tags": [f"t{n % 3}", "common"]},
                headers=author.headers,
            )
            for n in range(20)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] * 20
    assert sorted(r.json()["version"] for r in responses) == list(range(2, 22))
    history = await api.get(
        f"/api/v1/contents/{item['id']}/versions", params={"limit": 50}, headers=author.headers
    )
    assert [v["version"] for v in history.json()["items"]] == list(range(21, 0, -1))


async def test_an_edit_racing_a_delete_is_a_404_never_a_500(api: httpx.AsyncClient) -> None:
    author = await signup(api, "writer")
    item = await published(api, author)
    path = f"/api/v1/contents/{item['id']}"
    edits = [api.patch(path, json={"title": f"t{n}"}, headers=author.headers) for n in range(8)]
    responses = await asyncio.gather(
        *edits[:4], api.delete(path, headers=author.headers), *edits[4:]
    )
    assert {r.status_code for r in responses} <= {200, 204, 404}
    assert responses[4].status_code == 204
    assert (await api.get(path)).status_code == 404


async def test_if_match_refuses_an_edit_based_on_a_stale_version(api: httpx.AsyncClient) -> None:
    author = await signup(api, "writer")
    item = await published(api, author)
    path = f"/api/v1/contents/{item['id']}"
    read = await api.get(path)
    assert read.headers["etag"] == '"1"'
    first = await api.patch(
        path, json={"title": "first"}, headers={**author.headers, "If-Match": read.headers["etag"]}
    )
    assert first.status_code == 200
    assert first.headers["etag"] == '"2"'
    second = await api.patch(
        path, json={"title": "second"}, headers={**author.headers, "If-Match": read.headers["etag"]}
    )
    assert second.status_code == 412
    assert second.json()["error"]["code"] == "precondition_failed"
    assert (await api.get(path, headers=author.headers)).json()["title"] == "first"
    stale_delete = await api.delete(path, headers={**author.headers, "If-Match": '"1"'})
    assert stale_delete.status_code == 412
    assert (
        await api.delete(path, headers={**author.headers, "If-Match": '"2"'})
    ).status_code == 204


# -- cursors are opaque and unforgeable --------------------------------------------------------


def _crafted(stamp: object, item_id: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([stamp, item_id])).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        _crafted("2026-11-28T00:00:00+00:00", True),
        _crafted("9999-12-31T23:59:59-14:00", 1),
        _crafted("2026-11-28T00:00:00+00:00", 1),  # well formed, but not ours
        "not-a-cursor",
    ],
)
async def test_a_cursor_we_did_not_make_is_a_422(api: httpx.AsyncClient, cursor: str) -> None:
    author = await signup(api, "writer")
    item = await published(api, author, tags=["标签"])
    paths = [
        (f"/api/v1/creators/{author.user_id}/contents", {}),
        ("/api/v1/tags/标签/contents", {}),
        ("/api/v1/me/contents", author.headers),
        (f"/api/v1/contents/{item['id']}/versions", author.headers),
    ]
    for path, headers in paths:
        r = await api.get(path, params={"cursor": cursor}, headers=headers)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["error"]["code"] == "invalid_cursor"
        assert "cursor" in r.json()["error"]["fields"]


async def test_pages_follow_their_own_cursors(api: httpx.AsyncClient) -> None:
    author = await signup(api, "writer")
    for n in range(5):
        await published(api, author, title=f"item {n}")
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.get(f"/api/v1/creators/{author.user_id}/contents", params=params)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5


# -- one spelling per slug and tag ---------------------------------------------------------------


async def test_a_deleted_item_is_gone_under_every_spelling_of_its_slug(
    api: httpx.AsyncClient,
) -> None:
    author = await signup(api, "writer")
    item = await published(api, author, title="Hello World")
    spellings = [item["slug"], item["slug"].upper(), f"{item['slug']} ", f" {item['slug'].title()}"]
    for slug in spellings:  # every spelling answers (and fills the cache)...
        assert (await api.get(f"/api/v1/contents/slug/{slug}")).json()["id"] == item["id"]
    assert (
        await api.delete(f"/api/v1/contents/{item['id']}", headers=author.headers)
    ).status_code == 204
    for slug in spellings:  # ...and none survives the delete
        assert (await api.get(f"/api/v1/contents/slug/{slug}")).status_code == 404


async def test_a_tag_has_one_spelling_on_every_database(api: httpx.AsyncClient) -> None:
    author = await signup(api, "writer")
    await published(api, author, tags=["Café"])
    for spelling in ["café", "CAFÉ", "Café", "ｃａｆé"]:
        r = await api.get(f"/api/v1/tags/{spelling}/contents")
        assert r.status_code == 200, spelling
        assert len(r.json()["items"]) == 1
    r = await api.get("/api/v1/tags/cafe/contents")  # another word, on MariaDB too
    assert r.status_code == 404


# -- one identity rule for emails ------------------------------------------------------------


async def _register(api: httpx.AsyncClient, email: str) -> httpx.Response:
    return await api.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})


async def test_what_counts_as_the_same_address_is_the_same_everywhere(
    api: httpx.AsyncClient,
) -> None:
    tag = secrets.token_hex(3)
    assert (await _register(api, f"case{tag}@example.com")).status_code == 201
    # A full-width spelling is the same address: no second account, and it logs in.
    full_width = await _register(api, f"ｃase{tag}@example.com")
    assert full_width.status_code == 409
    login = await api.post(
        "/api/v1/auth/login", json={"email": f"ｃASE{tag}@EXAMPLE.com", "password": PASSWORD}
    )
    assert login.status_code == 200
    # An accented letter is another address, on MariaDB too.
    assert (await _register(api, f"cáse{tag}@example.com")).status_code == 201
    # An internationalised domain is stored in its ASCII (IDNA) form.
    idn = await _register(api, f"x{tag}@exämple.com")
    assert idn.status_code == 201
    assert idn.json()["email"] == f"x{tag}@xn--exmple-cua.com"
    assert (await _register(api, f"x{tag}@xn--exmple-cua.com")).status_code == 409


# -- text that cannot carry control characters --------------------------------------------------


@pytest.mark.parametrize("bad", ["a\x00b", "evil\u202etxt.exe", "tab\u2066isolate", "bell\x07"])
async def test_titles_names_and_tags_refuse_control_characters(
    api: httpx.AsyncClient, bad: str
) -> None:
    author: Account = await signup(api, "writer")
    r = await api.post("/api/v1/contents", json={"title": bad, "body": "x"}, headers=author.headers)
    assert r.status_code == 422
    assert "title" in r.json()["error"]["fields"]
    r = await api.post(
        "/api/v1/contents", json={"title": "ok", "body": "x", "tags": [bad]}, headers=author.headers
    )
    assert r.status_code == 422
    assert "tags.0" in r.json()["error"]["fields"]
    r = await api.patch("/api/v1/me", json={"display_name": bad}, headers=author.headers)
    assert r.status_code == 422
    assert "display_name" in r.json()["error"]["fields"]
    r = await api.patch("/api/v1/me", json={"bio": bad}, headers=author.headers)
    assert r.status_code == 422
    assert "bio" in r.json()["error"]["fields"]
    # Line breaks are text in a bio.
    r = await api.patch("/api/v1/me", json={"bio": "第一行\n第二行"}, headers=author.headers)
    assert r.status_code == 200
    item = await draft(api, author)
    assert item["title"] == "标题 Title"
