"""The API keeps the promises of its OpenAPI document, under generated input (schemathesis).

One real API process (``python -m sharestack serve``) on a free loopback port, on a fresh MariaDB
database and a Redis key prefix of its own. Every operation of the document is called with
generated valid and invalid input, anonymously and signed in (a bearer token), with every
schemathesis check: no 5xx, no status the operation does not document, no body, content type
or header that breaks its schema, invalid input rejected, valid input accepted, credentials not
ignored. Seeded data (two users, a draft and published items) lets generated path parameters hit
ids and slugs that exist.

Bounded: the generation is deterministic (the same cases every run: CI fails only on a change of
behaviour) and capped per operation by FUZZ_MAX_EXAMPLES (default 25). ``make fuzz`` runs this
module alone and prints the operation and case counts.
"""

from __future__ import annotations

import json
import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from sharestack.config import Settings
from sharestack.main import create_app
from tests.support import servers
from tests.support.processes import ManagedProcess, api_argv, free_port, wait_until

pytestmark = pytest.mark.fuzz

BACKEND = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "25"))
# Register, log-in and log-out hash or verify a password (argon2id, ~0.3 s of CPU by design):
# fewer generated cases there keep the run within about two minutes on our two cores.
AUTH_MAX_EXAMPLES = max(1, MAX_EXAMPLES // 5)

# The document under test, built in-process (no I/O); test_served_document_is_the_same checks
# that the process serves the same one.
DOCUMENT = create_app(Settings(_env_file=None, log_level="WARNING")).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.config.generation.update(deterministic=True)

# Emails: JSON Schema's "email" format is RFC 5321 syntax, but the API (email-validator) also
# refuses special-use domains (.test, .invalid, localhost, ...) that no mail reaches. Generated
# addresses use a deliverable domain; the rule belongs to the email identity work (see README).
schemathesis.openapi.format(
    "email", st.emails(domains=st.sampled_from(["example.com", "例子.中国", "mail.example.org"]))
)


@dataclass
class Seed:
    """What exists in the fuzzed database: generated path parameters sometimes take these."""

    token: str = ""
    email: str = ""
    values: dict[str, list[Any]] = field(default_factory=dict)
    cursors: list[str] = field(default_factory=list)


SEED = Seed()
CASES: dict[str, int] = {"anonymous": 0, "signed in": 0}


@schema.hook
def before_generate_path_parameters(
    ctx: schemathesis.HookContext, strategy: st.SearchStrategy[dict[str, Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    def known(params: dict[str, Any] | None) -> st.SearchStrategy[dict[str, Any] | None]:
        if not isinstance(params, dict):
            return st.just(params)
        choices = {
            name: st.sampled_from(SEED.values[name]) if SEED.values.get(name) else st.just(value)
            for name, value in params.items()
        }
        return st.fixed_dictionaries(choices)

    return st.one_of(strategy, strategy.flatmap(known))


@schema.hook("before_generate_query")
def real_cursors(
    ctx: schemathesis.HookContext, strategy: st.SearchStrategy[dict[str, Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    """Pages after the first: sometimes a cursor the API returned."""

    def with_cursor(query: dict[str, Any] | None) -> st.SearchStrategy[dict[str, Any] | None]:
        if not isinstance(query, dict) or "cursor" not in query or not SEED.cursors:
            return st.just(query)
        return st.sampled_from(SEED.cursors).map(lambda cursor: query | {"cursor": cursor})

    return st.one_of(strategy, strategy.flatmap(with_cursor))


def _env(database: str, prefix: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ENVIRONMENT="test",
        SECRET_KEY=secrets.token_urlsafe(48),
        DATABASE_URL=servers.database_url(database),
        DATABASE_REPLICA_URLS="",
        REDIS_URL=servers.REDIS_URL,
        REDIS_KEY_PREFIX=prefix,
        LOG_LEVEL="WARNING",
        # The fuzzer is one client sending thousands of requests: the limits are tested elsewhere.
        RATE_LIMIT_ANONYMOUS="1000000/minute",
        RATE_LIMIT_AUTHENTICATED="1000000/minute",
        RATE_LIMIT_AUTH="1000000/minute",
        SMS_LIMITS_PER_NUMBER="1000000/minute",
        SMS_LIMITS_PER_IP="1000000/minute",
        PYTHONUNBUFFERED="1",
    )
    return env


def _account(http: httpx.Client, name: str) -> tuple[str, str, int]:
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    r = http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    http.cookies.clear()
    return email, r.json()["token"], r.json()["user_id"]


def _seed(http: httpx.Client) -> None:
    email, token, me = _account(http, "fuzz")
    _, other_token, other = _account(http, "other")
    contents: list[int] = []
    slugs: list[str] = []
    for who, title, publish in [
        (token, "Mine, published", True),
        (token, "Mine, a draft", False),
        (token, "Mine, published 2", True),
        (other_token, "Someone else's", True),
    ]:
        headers = {"Authorization": f"Bearer {who}"}
        r = http.post(
            "/api/v1/contents",
            json={"title": title, "body": "正文 body", "tags": ["fuzz"]},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        contents.append(r.json()["id"])
        slugs.append(r.json()["slug"])
        if publish:
            r = http.post(f"/api/v1/contents/{contents[-1]}/publish", headers=headers)
            assert r.status_code == 200, r.text
    SEED.token, SEED.email = token, email
    SEED.values = {"content_id": contents, "user_id": [me, other], "slug": [*slugs, "fuzz"]}
    mine = {"Authorization": f"Bearer {token}"}
    for path in (
        f"/api/v1/creators/{me}/contents",
        "/api/v1/me/contents",
        "/api/v1/tags/fuzz/contents",
    ):
        r = http.get(path, params={"limit": 1}, headers=mine)
        assert r.status_code == 200, r.text
        assert r.json()["next_cursor"], r.text
        SEED.cursors.append(r.json()["next_cursor"])


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        servers.require_mariadb()
        servers.require_redis()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    database = f"ss_fuzz_{uuid.uuid4().hex[:10]}"
    prefix = f"ss_fuzz_{uuid.uuid4().hex[:8]}:"
    servers.create_database(database)
    env = _env(database, prefix)
    port = free_port()
    log = tmp_path_factory.mktemp("fuzz") / "api.log"
    proc = ManagedProcess("api", api_argv(port), log, env=env, cwd=BACKEND)
    try:
        proc.start()  # migrates, then serves
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(f"{url}/readyz").status_code == 200, 120, "the API", proc)
        with httpx.Client(base_url=url) as http:
            _seed(http)
        yield url
    finally:
        proc.stop()
        servers.drop_database(database)
        servers.delete_redis_prefix(prefix)


def _fresh_token(base: str) -> str:
    """For log-out: signed-in cases must not revoke the token the other cases use."""
    r = httpx.post(f"{base}/api/v1/auth/login", json={"email": SEED.email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    token: str = r.json()["token"]
    return token


def _throwaway_token(base: str) -> str:
    """For routes that end every session of their caller or change or delete the account
    (log out everywhere, password change, DELETE /me): a new account per case, so the seeded
    user and its token stay as the other cases need them."""
    email = f"throwaway-{uuid.uuid4().hex[:10]}@example.com"
    r = httpx.post(f"{base}/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    token: str = r.json()["token"]
    return token


# Their caller must not be the seeded user (see _throwaway_token).
DESTRUCTIVE = {
    ("POST", "/api/v1/auth/logout-all"),
    ("POST", "/api/v1/me/password"),
    ("DELETE", "/api/v1/me"),
}
# Schema-valid input these rightly refuse with a documented 400 or 422: a token must be one the
# API emailed, and a new password must not be one of the most common ones (a list, not a pattern
# the document could state). Every other check runs there.
SECRET_CHECKED = (
    "/api/v1/auth/register",
    "/api/v1/auth/password/reset",
    "/api/v1/auth/email/verify",
    "/api/v1/me/password",
)


def _blank(value: Any) -> bool:
    return isinstance(value, str) and value != "" and not value.strip()


def _excluded(case: schemathesis.Case) -> list[schemathesis.CheckFunction]:
    """Cases where "schema-valid input is accepted" cannot hold; every other check still runs.

    - A cursor is opaque: a string the API did not return is rightly refused (422, documented),
      however schema-valid it looks.
    - ``If-Match`` names a version: any other one is rightly a 412 (documented).
    - Phone and WeChat log-in and linking: a schema-valid number may be no real mobile number
      (422), a schema-valid code or state not the one the API sent (400).
    - A payout request is refused (422, documented) below the deployment's minimum
      (``LEDGER_MIN_PAYOUT_AMOUNT``, a setting) and without a real name the account's provider
      requires for the amount (the account's state): neither can be a static schema rule.
    - Uploads: the file part of ``POST /api/v1/media`` and ``PUT /api/v1/me/avatar`` is
      "binary" in the document, and whether bytes are an image is only known by decoding them:
      a schema-valid body of random bytes is rightly a 422/415 (documented).
    """
    # Finding F3: a schema-valid body of many escaped characters can exceed MAX_BODY_BYTES, and
    # is then (rightly) a 413 before it is parsed. Checked first: whatever else the case holds
    # (an If-Match header, a cursor), such a body never reaches the route.
    if isinstance(case.body, dict) and len(json.dumps(case.body)) > 1_048_576 // 2:
        return [positive_data_acceptance, negative_data_rejection]
    if case.path in SECRET_CHECKED:
        return [positive_data_acceptance]
    cursor = (case.query or {}).get("cursor")
    if cursor is not None and cursor not in SEED.cursors:
        return [positive_data_acceptance]
    if any(name.lower() == "if-match" for name in (case.headers or {})):
        return [positive_data_acceptance]
    # A checkout names a provider, and which providers are offered is the deployment's choice
    # (here: the sandbox only); "not offered" is a documented 422.
    if case.path == "/api/v1/checkouts":
        return [positive_data_acceptance]
    if case.path in ("/api/v1/media", "/api/v1/me/avatar"):
        return [positive_data_acceptance]
    if case.path == "/api/v1/payouts" and case.method.upper() == "POST":
        return [positive_data_acceptance]
    # Phone and WeChat: whether a number is a real mobile one (phonenumbers' metadata, 422), and
    # whether a code or a state is the one sent or issued (400), cannot be said in a schema.
    if (
        case.path.startswith(
            ("/api/v1/auth/phone/", "/api/v1/auth/wechat/", "/api/v1/me/identities/")
        )
        and case.method.upper() == "POST"
    ):
        return [positive_data_acceptance]
    return []


def _fuzz(*, max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )


def _call(case: schemathesis.Case, base_url: str, *, signed_in: bool) -> None:
    CASES["signed in" if signed_in else "anonymous"] += 1
    headers = None
    if signed_in:
        if (case.method.upper(), case.path) in DESTRUCTIVE:
            token = _throwaway_token(base_url)
        elif case.path.endswith("/logout"):
            token = _fresh_token(base_url)
        else:
            token = SEED.token
        headers = {"Authorization": f"Bearer {token}"}
    case.call_and_validate(base_url=base_url, headers=headers, excluded_checks=_excluded(case))


AUTH = "^/api/v1/auth/"
passwords = schema.include(path_regex=AUTH)
others = schema.exclude(path_regex=AUTH)


@others.parametrize()
@_fuzz(max_examples=MAX_EXAMPLES)
def test_anonymous(case: schemathesis.Case, base_url: str) -> None:
    _call(case, base_url, signed_in=False)


@others.parametrize()
@_fuzz(max_examples=MAX_EXAMPLES)
def test_signed_in(case: schemathesis.Case, base_url: str) -> None:
    _call(case, base_url, signed_in=True)


@passwords.parametrize()
@_fuzz(max_examples=AUTH_MAX_EXAMPLES)
def test_auth_anonymous(case: schemathesis.Case, base_url: str) -> None:
    _call(case, base_url, signed_in=False)


@passwords.parametrize()
@_fuzz(max_examples=AUTH_MAX_EXAMPLES)
def test_auth_signed_in(case: schemathesis.Case, base_url: str) -> None:
    _call(case, base_url, signed_in=True)


def test_served_document_is_the_same(base_url: str) -> None:
    assert httpx.get(f"{base_url}/openapi.json").json() == DOCUMENT


def test_counts() -> None:
    """Printed by ``make fuzz`` (-s): how much was fuzzed."""
    operations = sum(1 for _ in schema.get_all_operations())
    print(f"\nfuzz: {operations} operations, cases: {CASES} (max {MAX_EXAMPLES} per operation)")
