"""Bulk seed of a realistic data set, straight into the primary with batched multi-row INSERTs.

One HTTP call per row would take hours on our machines (argon2 alone costs tens of ms per
account); the seed writes the application's own tables through SQLAlchemy Core instead, so column
names and types stay those of ``sharestack.models``. Every account shares one argon2 hash of
:data:`BENCH_PASSWORD` (hashed once, with the application's own hasher), so the login scenario
verifies real hashes.

Ids are assigned here (1..N on an empty database) and are deterministic, so the load scripts can
address contents without a lookup: content ``i`` has the slug ``p-%08x`` (the shape the API gives a
title without Latin letters), and users ``1..creators`` are the creators.
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sharestack.auth.security import hash_password
from sharestack.content.rules import excerpt_for, tag_slug
from sharestack.models import (
    Content,
    ContentTag,
    ContentVersion,
    Subscription,
    SubscriptionPlan,
    Tag,
    User,
    UserAuth,
    UserProfile,
)
from tqdm import tqdm

from bench import textgen

BENCH_PASSWORD = "bench-password-not-secret"  # noqa: S105 - a throwaway data set's password
BATCH = 1000


@dataclass(frozen=True)
class SeedSize:
    users: int
    creators: int
    contents: int
    tags: int
    subscriptions: int
    body_chars: tuple[int, int] = (300, 700)

    @classmethod
    def full(cls) -> SeedSize:
        return cls(users=10_000, creators=1_000, contents=100_000, tags=120, subscriptions=20_000)

    @classmethod
    def small(cls) -> SeedSize:
        # Enough contents that the cold scenario's keys stay cold through a smoke run.
        return cls(users=2_000, creators=100, contents=20_000, tags=30, subscriptions=2_000)


def content_slug(content_id: int) -> str:
    return f"p-{content_id:08x}"


def user_email(user_id: int) -> str:
    return f"user{user_id}@bench.example.com"


def _batches(rows: Iterator[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Seeder:
    def __init__(self, url: str, size: SeedSize, seed: int = 20261128) -> None:
        # The synchronous driver: a bulk load gains nothing from asyncio.
        self.engine = sa.create_engine(url.replace("+asyncmy", "+pymysql"), pool_pre_ping=True)
        self.size = size
        self.rng = random.Random(seed)  # noqa: S311 - reproducible data, not secrets
        self.now = datetime.now(UTC).replace(microsecond=0)
        # On a terminal the bar redraws in place; in a CI log every redraw is a new chunk of text,
        # so there it reports every 10 s.
        self.bar = tqdm(
            total=self._total_rows(),
            unit="rows",
            desc="seeding",
            smoothing=0.1,
            mininterval=0.1 if sys.stderr.isatty() else 10.0,
        )

    def _total_rows(self) -> int:
        s = self.size
        # users + profiles + credentials, contents + versions, content tags (~2 each), plans, subs
        return 3 * s.users + 4 * s.contents + s.tags + s.creators + s.subscriptions

    def _insert(self, table: sa.Table, rows: Iterator[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            for batch in _batches(rows):
                conn.execute(table.insert(), batch)
                self.bar.update(len(batch))

    def run(self) -> dict[str, int]:
        try:
            password_hash = asyncio.run(hash_password(BENCH_PASSWORD))
            self._users(password_hash)
            tag_ids = self._tags()
            self._contents(tag_ids)
            self._subscriptions()
        finally:
            self.bar.close()
            self.engine.dispose()
        s = self.size
        return {
            "users": s.users,
            "creators": s.creators,
            "contents": s.contents,
            "tags": s.tags,
            "subscriptions": s.subscriptions,
        }

    # -- tables ------------------------------------------------------------------------------
    def _users(self, password_hash: str) -> None:
        n, rng, now = self.size.users, self.rng, self.now

        def stamp() -> dict[str, Any]:
            return {"created_at": now, "updated_at": now}

        self._insert(
            User.__table__,  # type: ignore[arg-type]
            ({"id": i, "email": user_email(i), "status": "active", **stamp()} for i in _ids(n)),
        )
        self._insert(
            UserProfile.__table__,  # type: ignore[arg-type]
            (
                {"user_id": i, "display_name": textgen.person(rng), "bio": "", **stamp()}
                for i in _ids(n)
            ),
        )
        self._insert(
            UserAuth.__table__,  # type: ignore[arg-type]
            (
                {
                    "user_id": i,
                    "provider": "password",
                    "identifier": user_email(i),
                    "secret_hash": password_hash,
                    **stamp(),
                }
                for i in _ids(n)
            ),
        )

    def _tags(self) -> list[int]:
        names = textgen.tag_names(self.size.tags)
        self._insert(
            Tag.__table__,  # type: ignore[arg-type]
            (
                {"id": i, "slug": tag_slug(name), "name": name, "created_at": self.now}
                for i, name in enumerate(names, start=1)
            ),
        )
        return list(range(1, len(names) + 1))

    def _contents(self, tag_ids: Sequence[int]) -> None:
        s, rng = self.size, self.rng
        start = self.now - timedelta(days=365)
        step = timedelta(days=365) / max(s.contents, 1)
        # Tag popularity is skewed too: a few tags carry most items.
        tag_weights = [1.0 / (rank**0.8) for rank in range(1, len(tag_ids) + 1)]
        versions: list[dict[str, Any]] = []
        links: list[dict[str, Any]] = []
        with self.engine.begin() as conn:
            batch: list[dict[str, Any]] = []
            for i in _ids(s.contents):
                published = start + step * i
                text = textgen.body(rng, rng.randint(*s.body_chars))
                visibility = "subscribers" if rng.random() < 0.1 else "public"
                row = {
                    "id": i,
                    "author_id": rng.randint(1, s.creators),
                    "slug": content_slug(i),
                    "title": textgen.title(rng),
                    "excerpt": excerpt_for(visibility, text, None),
                    "body": text,
                    "visibility": visibility,
                    "status": "published",
                    "version": 1,
                    "published_at": published,
                    "created_at": published - timedelta(minutes=30),
                    "updated_at": published,
                }
                batch.append(row)
                versions.append(_version_of(row))
                for tag in set(rng.choices(tag_ids, tag_weights, k=rng.randint(1, 3))):
                    links.append({"content_id": i, "tag_id": tag, "published_at": published})
                if len(batch) >= BATCH // 2:
                    self._flush(conn, batch, versions, links)
            self._flush(conn, batch, versions, links)

    def _flush(
        self,
        conn: sa.Connection,
        contents: list[dict[str, Any]],
        versions: list[dict[str, Any]],
        links: list[dict[str, Any]],
    ) -> None:
        for table, rows in (
            (Content.__table__, contents),
            (ContentVersion.__table__, versions),
            (ContentTag.__table__, links),
        ):
            if rows:
                conn.execute(table.insert(), rows)  # type: ignore[attr-defined]
                self.bar.update(len(rows))
                rows.clear()

    def _subscriptions(self) -> None:
        s, rng, now = self.size, self.rng, self.now
        self._insert(
            SubscriptionPlan.__table__,  # type: ignore[arg-type]
            (
                {
                    "id": c,
                    "creator_id": c,
                    "name": "月度会员",
                    "description": "",
                    "price_amount": 1800,
                    "currency": "CNY",
                    "interval": "month",
                    "is_active": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for c in _ids(s.creators)
            ),
        )
        pairs: set[tuple[int, int]] = set()
        while len(pairs) < s.subscriptions:
            pairs.add((rng.randint(s.creators + 1, s.users), rng.randint(1, s.creators)))
        self._insert(
            Subscription.__table__,  # type: ignore[arg-type]
            (
                {
                    "subscriber_id": reader,
                    "plan_id": creator,
                    "creator_id": creator,
                    "status": "active",
                    "current_period_start": now - timedelta(days=3),
                    "current_period_end": now + timedelta(days=27),
                    "cancel_at_period_end": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for reader, creator in sorted(pairs)
            ),
        )


def _ids(n: int) -> range:
    return range(1, n + 1)


def _version_of(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "content_id": row["id"],
        "version": 1,
        "editor_id": row["author_id"],
        "title": row["title"],
        "excerpt": row["excerpt"],
        "body": row["body"],
        "visibility": row["visibility"],
        "created_at": row["created_at"],
    }


def seed(url: str, size: SeedSize, log: Callable[[str], None] = print) -> dict[str, int]:
    counts = Seeder(url, size).run()
    log("seeded: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return counts
