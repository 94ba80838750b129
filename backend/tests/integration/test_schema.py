"""The schema on the real server: one charset and collation everywhere, and the read paths use
the indexes meant for them."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from sharestack.content import repository as content_repo
from sharestack.content.models import Content, ContentTag, Tag
from sharestack.db.session import WriteSession
from sharestack.dependencies import app_state
from sharestack.payments import repository as payments_repo
from sharestack.payments.models import Payment
from sharestack.subscriptions import repository as subs_repo
from sharestack.subscriptions.models import Subscription, SubscriptionPlan
from sharestack.users.models import User

pytestmark = pytest.mark.integration

EXPECTED = ("utf8mb4", "utf8mb4_unicode_ci")
# The documented exception (sharestack.db.base.ExactString): identifiers in their canonical form,
# compared byte for byte.
EXACT = {
    ("contents", "slug"),
    ("tags", "slug"),
    ("users", "email"),
    ("user_auth", "identifier"),
    # Case-sensitive by nature: openids and Alipay ids, client-generated Idempotency-Keys.
    ("payout_accounts", "identity"),
    ("idempotency_records", "key"),
    # Media: storage keys, variant names and the dedupe key are compared byte for byte.
    ("media", "dedupe_key"),
    ("media_files", "variant"),
    ("media_files", "key"),
    ("media_blobs", "key"),
}


async def test_one_charset_and_collation_everywhere(app: FastAPI, mysql_database: str) -> None:
    async with app_state(app).db.write_engine.connect() as conn:
        q = lambda sql: conn.execute(sa.text(sql), {"db": mysql_database})  # noqa: E731
        schema = (
            await q(
                "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME "
                "FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = :db"
            )
        ).one()
        assert tuple(schema) == EXPECTED
        tables = (
            await q(
                "SELECT TABLE_NAME, TABLE_COLLATION, ENGINE FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = :db"
            )
        ).all()
        assert len(tables) >= 12  # 11 tables + alembic_version
        wrong_tables = [
            t for t in tables if (EXPECTED[1], "InnoDB") != (t.TABLE_COLLATION, t.ENGINE)
        ]
        assert wrong_tables == []
        columns = (
            await q(
                "SELECT TABLE_NAME, COLUMN_NAME, CHARACTER_SET_NAME, COLLATION_NAME "
                "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = :db "
                "AND CHARACTER_SET_NAME IS NOT NULL"
            )
        ).all()
        assert len(columns) > 20
        wrong_columns = [
            c
            for c in columns
            if (("utf8mb4", "utf8mb4_bin") if (c.TABLE_NAME, c.COLUMN_NAME) in EXACT else EXPECTED)
            != (c.CHARACTER_SET_NAME, c.COLLATION_NAME)
        ]
        assert wrong_columns == []
        assert {(c.TABLE_NAME, c.COLUMN_NAME) for c in columns} >= EXACT
        conn_vars = (
            await conn.execute(
                sa.text(
                    "SELECT @@character_set_connection, @@collation_connection, "
                    "@@character_set_client, @@character_set_results"
                )
            )
        ).one()
        assert tuple(conn_vars) == (*EXPECTED, "utf8mb4", "utf8mb4")


async def _seed(session: WriteSession) -> dict[str, Any]:
    """Enough rows that the optimizer prefers indexes to scans: 20 authors, 3,000 items,
    40 tags, subscriptions and payments."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    await session.execute(
        sa.insert(User),
        [
            {
                "email": f"explain{i}@example.com",
                "status": "active",
                "created_at": now,
                "updated_at": now,
            }
            for i in range(40)
        ],
    )
    user_ids = list((await session.execute(sa.select(User.id))).scalars())
    authors = user_ids[:20]
    await session.execute(
        sa.insert(Tag),
        [{"slug": f"tag{i}", "name": f"标签{i}", "created_at": now} for i in range(40)],
    )
    tag_ids = list((await session.execute(sa.select(Tag.id))).scalars())
    rows = []
    for i in range(3000):
        published = rng.random() < 0.8
        rows.append(
            {
                "author_id": rng.choice(authors),
                "slug": f"explain-{i}",
                "title": f"标题{i}",
                "excerpt": "",
                "body": "正文" * 20,
                "visibility": "public",
                "status": "published" if published else "draft",
                "version": 1,
                "published_at": now - timedelta(minutes=i) if published else None,
                "created_at": now,
                "updated_at": now,
            }
        )
    await session.execute(sa.insert(Content), rows)
    contents = (await session.execute(sa.select(Content.id, Content.published_at))).all()
    await session.execute(
        sa.insert(ContentTag),
        [
            {"content_id": cid, "tag_id": tid, "published_at": published_at}
            for cid, published_at in contents
            for tid in rng.sample(tag_ids, 2)
        ],
    )
    await session.execute(
        sa.insert(SubscriptionPlan),
        [
            {
                "creator_id": a,
                "name": "plan",
                "description": "",
                "price_amount": 1000,
                "currency": "CNY",
                "interval": "month",
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            }
            for a in authors
        ],
    )
    plans = list(
        (await session.execute(sa.select(SubscriptionPlan.id, SubscriptionPlan.creator_id))).all()
    )
    await session.execute(
        sa.insert(Subscription),
        [
            {
                "subscriber_id": u,
                "plan_id": p.id,
                "creator_id": p.creator_id,
                "status": rng.choice(["active", "canceled", "expired", "past_due"]),
                "current_period_start": now,
                "current_period_end": now + timedelta(days=rng.randint(-40, 40)),
                "cancel_at_period_end": False,
                "created_at": now,
                "updated_at": now,
            }
            for u in user_ids
            for p in rng.sample(plans, 8)
        ],
    )
    await session.execute(
        sa.insert(Payment),
        [
            {
                "user_id": rng.choice(user_ids),
                "amount": 1000,
                "currency": "CNY",
                "status": "succeeded",
                "provider": "test",
                "idempotency_key": f"key-{i}",
                "out_trade_no": f"ck{i:012d}",
                "created_at": now - timedelta(hours=i),
                "updated_at": now,
            }
            for i in range(2000)
        ],
    )
    for table in ("users", "contents", "content_tags", "tags", "subscriptions", "payments"):
        await session.execute(sa.text(f"ANALYZE TABLE {table}"))
    return {"author": authors[0], "tag": tag_ids[0], "user": user_ids[25]}


async def _explain(
    session: WriteSession, run: Callable[[], Awaitable[Any]]
) -> list[dict[str, Any]]:
    """EXPLAIN every statement that ``run`` sends: the repository's own SQL, not a copy."""
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    engine = session.bind.sync_engine  # type: ignore[union-attr]
    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        await run()
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    plans = []
    conn = await session.connection()
    for statement, parameters in captured:
        result = await conn.exec_driver_sql("EXPLAIN " + statement, parameters)
        plans.append([dict(r._mapping) for r in result.all()])
    assert plans, "no SELECT was captured"
    return [row for plan in plans for row in plan]


def _uses(plan: list[dict[str, Any]], table: str, index: str) -> dict[str, Any]:
    rows = [r for r in plan if r["table"] == table]
    assert rows, plan
    row = rows[0]
    assert row["key"] == index, row
    assert row["type"] != "ALL", row
    assert "filesort" not in (row["Extra"] or ""), row
    return row


@pytest.mark.usefixtures("clean_tables")
async def test_read_paths_use_their_indexes(app: FastAPI) -> None:
    async with app_state(app).db.write_sessionmaker() as session:
        ids = await _seed(session)
        await session.commit()
        slug_plan = await _explain(
            session, lambda: content_repo.get_tagged_by_slug(session, "explain-10")
        )
        assert _uses(slug_plan, "contents", "uq_contents_slug")["type"] == "const"
        # The tag names come in the same statement, by primary keys (no scan, no filesort).
        _uses(slug_plan, "content_tags", "PRIMARY")
        _uses(slug_plan, "tags", "PRIMARY")

        feed = await _explain(
            session, lambda: content_repo.creator_feed(session, ids["author"], None, 21)
        )
        _uses(feed, "contents", "ix_contents_feed")
        from sharestack.pagination import Position

        cursor = Position(datetime.now(UTC) - timedelta(minutes=500), 10**9)
        deep = await _explain(
            session, lambda: content_repo.creator_feed(session, ids["author"], cursor, 21)
        )
        _uses(deep, "contents", "ix_contents_feed")

        tag = await _explain(
            session, lambda: content_repo.tag_feed(session, ids["tag"], cursor, 21)
        )
        _uses(tag, "content_tags", "ix_content_tags_feed")
        _uses(tag, "contents", "PRIMARY")

        subs = await _explain(
            session, lambda: subs_repo.active_for_subscriber(session, ids["user"])
        )
        _uses(subs, "subscriptions", "ix_subscriptions_reader_active")

        pays = await _explain(session, lambda: payments_repo.list_for_user(session, ids["user"]))
        _uses(pays, "payments", "ix_payments_user_id_created_at")
        key = await _explain(
            session, lambda: payments_repo.get_by_idempotency_key(session, "key-5")
        )
        assert _uses(key, "payments", "uq_payments_idempotency_key")["type"] == "const"

        # Billing's hot reads: the entitlement fill, the renewal scan, a payer's payments.
        entitled = await _explain(
            session, lambda: subs_repo.access_until_by_creator(session, ids["user"])
        )
        _uses(entitled, "subscriptions", "ix_subscriptions_reader_active")
        due = await _explain(
            session, lambda: subs_repo.lock_due_renewals(session, datetime.now(UTC), 50)
        )
        _uses(due, "subscriptions", "ix_subscriptions_renew_at")
        trade = await _explain(
            session, lambda: payments_repo.get_by_out_trade_no(session, "ck000000000005")
        )
        assert _uses(trade, "payments", "uq_payments_out_trade_no")["type"] == "const"
