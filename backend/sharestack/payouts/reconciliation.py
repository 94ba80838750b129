"""Daily reconciliation: every line of a provider's statement against the ledger, by order (or
refund) number and amount.

``match`` is the rule, pure: a statement line whose number is ours (``references.is_ours``) must
have a ledger item of the same kind, number and amount (the ledger records each payment's
``out_trade_no`` and each refund's ``out_refund_no`` when it posts them), whenever it was
recorded; a ledger item recorded during the statement's day (Beijing time) must be on the
statement. Differences are
``missing_in_ledger``, ``missing_in_statement`` or ``amount_mismatch``. Lines with numbers that
are not ours (other systems on the same merchant account) are counted and skipped.

``reconcile`` stores the outcome: one ``reconciliation_runs`` row per provider and day (a re-run
replaces that day's open mismatches) and one ``reconciliation_mismatches`` row per difference.
An item recorded just before midnight that the provider put on its next day shows as
``missing_in_statement`` on our day; the next day's run finds it and resolves that row. The
opposite case (provider's day before ours) is matched on the provider's day and shows as
``missing_in_statement`` on ours: an operator resolves it (``resolved_at``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from sharestack.db.base import utcnow
from sharestack.db.session import ReadSession, WriteSession
from sharestack.ledger import reports
from sharestack.ledger.reports import LedgerItem
from sharestack.payments.providers import references
from sharestack.payments.providers._common import CHINA_TZ
from sharestack.payments.providers.transfers import StatementLine
from sharestack.payouts.models import ReconciliationMismatch, ReconciliationRun

Key = tuple[str, str]


@dataclass(frozen=True)
class Mismatch:
    kind: str  # missing_in_ledger | missing_in_statement | amount_mismatch
    item_kind: str  # payment | refund
    reference: str
    statement_amount: int | None
    ledger_amount: int | None
    currency: str = "CNY"


@dataclass(frozen=True)
class Matched:
    mismatches: list[Mismatch]
    lines: int  # our lines on the statement
    foreign_lines: int
    # Items on the statement that the ledger recorded outside the statement's day.
    matched_elsewhere: list[str]


def line_key(line: StatementLine) -> Key | None:
    """(kind, number) of a statement line, or None when the number is not one of ours."""
    if line.kind == "refund":
        number = (line.out_refund_no or "").strip()
        return ("refund", number) if references.is_ours("refund", number) else None
    number = line.out_trade_no.strip()
    return ("payment", number) if references.is_ours("payment", number) else None


def match(
    lines: Sequence[StatementLine],
    in_window: Iterable[LedgerItem],
    by_reference: Iterable[LedgerItem],
    window: tuple[datetime, datetime],
) -> Matched:
    statement: dict[Key, int] = {}
    foreign = 0
    for line in lines:
        key = line_key(line)
        if key is None:
            foreign += 1
            continue
        statement[key] = statement.get(key, 0) + line.amount
    ledger: dict[Key, LedgerItem] = {item.key: item for item in by_reference}
    window_keys: set[Key] = set()
    for recorded in in_window:
        ledger.setdefault(recorded.key, recorded)
        window_keys.add(recorded.key)
    found: list[Mismatch] = []
    elsewhere: list[str] = []
    for key, amount in sorted(statement.items()):
        item = ledger.get(key)
        if item is None:
            found.append(Mismatch("missing_in_ledger", key[0], key[1], amount, None))
        elif item.amount != amount:
            found.append(Mismatch("amount_mismatch", key[0], key[1], amount, item.amount))
        elif not window[0] <= item.created_at < window[1]:
            elsewhere.append(key[1])
    for key in sorted(window_keys - statement.keys()):
        item = ledger[key]
        found.append(
            Mismatch("missing_in_statement", key[0], key[1], None, item.amount, item.currency)
        )
    return Matched(found, len(statement), foreign, elsewhere)


def day_window(day: date) -> tuple[datetime, datetime]:
    """A Beijing calendar day (the providers' statement day) in UTC."""
    start = datetime.combine(day, time(0), tzinfo=CHINA_TZ).astimezone(UTC)
    return start, start + timedelta(days=1)


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    provider: str
    day: date
    lines: int
    ledger_items: int
    mismatches: list[Mismatch]


async def reconcile(
    session: WriteSession, provider: str, day: date, lines: Sequence[StatementLine]
) -> RunSummary:
    window = day_window(day)
    in_window = await reports.provider_items(session, provider, *window)
    keys = [k for k in map(line_key, lines) if k is not None]
    by_reference = await reports.items_by_reference(
        session,
        provider,
        [number for kind, number in keys if kind == "payment"],
        [number for kind, number in keys if kind == "refund"],
    )
    matched = match(lines, in_window, by_reference, window)
    now = utcnow()
    run = (
        await session.execute(
            sa.select(ReconciliationRun)
            .where(ReconciliationRun.provider == provider, ReconciliationRun.statement_date == day)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if run is None:
        run = ReconciliationRun(provider=provider, statement_date=day, created_at=now)
        session.add(run)
        await session.flush()
    run.statement_lines, run.ledger_items = matched.lines, len(in_window)
    run.mismatches, run.updated_at = len(matched.mismatches), now
    await session.execute(
        sa.delete(ReconciliationMismatch)
        .where(
            ReconciliationMismatch.run_id == run.id, ReconciliationMismatch.resolved_at.is_(None)
        )
        .execution_options(synchronize_session=False)
    )
    resolved = {
        (kind, reference)
        for kind, reference in await session.execute(
            sa.select(ReconciliationMismatch.kind, ReconciliationMismatch.reference).where(
                ReconciliationMismatch.run_id == run.id
            )
        )
    }
    session.add_all(
        ReconciliationMismatch(
            run_id=run.id,
            provider=provider,
            kind=m.kind,
            item_kind=m.item_kind,
            reference=m.reference,
            currency=m.currency,
            statement_amount=m.statement_amount,
            ledger_amount=m.ledger_amount,
            created_at=now,
        )
        for m in matched.mismatches
        if (m.kind, m.reference) not in resolved
    )
    for start in range(0, len(matched.matched_elsewhere), 1000):
        await session.execute(
            sa.update(ReconciliationMismatch)
            .where(
                ReconciliationMismatch.provider == provider,
                ReconciliationMismatch.kind == "missing_in_statement",
                ReconciliationMismatch.resolved_at.is_(None),
                ReconciliationMismatch.reference.in_(
                    matched.matched_elsewhere[start : start + 1000]
                ),
            )
            .values(resolved_at=now)
            .execution_options(synchronize_session=False)
        )
    await session.flush()
    return RunSummary(run.id, provider, day, matched.lines, len(in_window), matched.mismatches)


async def open_mismatches(session: ReadSession) -> dict[str, int]:
    """Unresolved mismatches per provider (the ``sharestack_reconciliation_mismatches`` gauge)."""
    query = (
        sa.select(ReconciliationMismatch.provider, sa.func.count())
        .where(ReconciliationMismatch.resolved_at.is_(None))
        .group_by(ReconciliationMismatch.provider)
    )
    return {provider: int(n) for provider, n in (await session.execute(query)).all()}
