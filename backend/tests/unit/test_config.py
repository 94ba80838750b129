from __future__ import annotations

import pytest
from pydantic import ValidationError

from sharestack.cache.redis import role_url
from sharestack.config import Settings


def test_embedded_defaults() -> None:
    s = Settings(_env_file=None)
    assert s.embedded_database
    assert s.primary_database_url.startswith("sqlite+aiosqlite:///")
    assert s.primary_database_url.endswith("var/sharestack.db")
    assert role_url(s, "cache") is None


@pytest.mark.parametrize("secret", ["dev-secret-change-me", "change-me", "", "short"])
def test_placeholder_secrets_refused_outside_development(secret: str) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None, environment="production", secret_key=secret)
    Settings(_env_file=None, environment="development", secret_key=secret)


def test_placeholder_password_in_urls_refused() -> None:
    with pytest.raises(ValidationError, match="placeholder password"):
        Settings(
            _env_file=None,
            environment="production",
            secret_key="x" * 48,
            database_url="mysql+asyncmy://app:changeme@db/sharestack",
        )


def test_replica_urls_and_redis_roles_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_REPLICA_URLS", "mysql+asyncmy://r1/db, mysql+asyncmy://r2/db")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379")
    monkeypatch.setenv("REDIS_CACHE_URL", "redis://other:6380/0")
    s = Settings(_env_file=None)
    assert s.database_replica_urls == ["mysql+asyncmy://r1/db", "mysql+asyncmy://r2/db"]
    assert role_url(s, "sessions") == "redis://cache:6379/0"
    assert role_url(s, "queue") == "redis://cache:6379/2"
    assert role_url(s, "ratelimit") == "redis://cache:6379/3"
    assert role_url(s, "cache") == "redis://other:6380/0"


def test_env_example_documents_every_setting() -> None:
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))
    assert {name.upper() for name in Settings.model_fields} - documented == set()
