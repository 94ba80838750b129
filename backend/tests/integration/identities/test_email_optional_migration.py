"""0026 on the embedded database (SQLite): making users.email optional rebuilds the users table,
which must not cascade-delete what references a user (profiles, credentials)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sharestack.config import Settings
from sharestack.db.migrate import migrate

pytestmark = pytest.mark.integration

BEFORE = "0025_payouts_recon_mismatches"


def _counts(path: Path) -> tuple[int, int, int, list[object], str]:
    db = sqlite3.connect(path)
    try:
        users, profiles, credentials = (
            db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("users", "user_profiles", "user_auth")
        )
        broken = db.execute("PRAGMA foreign_key_check").fetchall()
        version = db.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        db.close()
    return users, profiles, credentials, broken, version


async def test_upgrade_and_downgrade_keep_every_row(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    path = tmp_path / "sharestack.db"
    await migrate(settings, BEFORE)
    db = sqlite3.connect(path)
    now = "2026-12-01 00:00:00"
    db.execute(
        "INSERT INTO users (id, email, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        (1, "a@example.com", "active", now, now),
    )
    db.execute(
        "INSERT INTO user_profiles (user_id, display_name, bio, created_at, updated_at)"
        " VALUES (1, 'a', '', ?, ?)",
        (now, now),
    )
    db.execute(
        "INSERT INTO user_auth (user_id, provider, identifier, created_at, updated_at)"
        " VALUES (1, 'password', 'a@example.com', ?, ?)",
        (now, now),
    )
    db.commit()
    db.close()

    await migrate(settings)
    users, profiles, credentials, broken, version = _counts(path)
    assert (users, profiles, credentials, broken) == (1, 1, 1, [])
    assert version != BEFORE
    db = sqlite3.connect(path)
    db.execute(
        "INSERT INTO users (id, email, status, created_at, updated_at) VALUES (2, NULL, ?, ?, ?)",
        ("active", now, now),
    )
    db.commit()
    db.execute("DELETE FROM users WHERE id = 2")
    db.commit()
    db.close()

    await migrate(settings, BEFORE, downgrade=True)
    assert _counts(path) == (1, 1, 1, [], BEFORE)
