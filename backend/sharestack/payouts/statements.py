"""A creator's monthly statement as CSV (``GET /me/statements/{yyyy-mm}.csv``).

Columns: ``date`` (Beijing time, ``YYYY-MM-DD HH:MM:SS``), ``kind``, ``reference`` (``payment:42``,
``payout:7``), ``amount`` and ``balance`` in yuan with two decimals (through ``Decimal``-free
integer arithmetic on fen, never floats). The first row is the opening balance, the last the
closing one; the balance is what the platform owes the creator (pending + available + in
transit), so moves between those (a hold released, a payout requested) are not listed: a payout
appears when its money left (``payout``), a reversed payout not at all.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, time

from sharestack.db.session import ReadSession
from sharestack.ledger import reports
from sharestack.payments.providers._common import CHINA_TZ
from sharestack.payouts.exceptions import InvalidMonth

_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
KIND_NAMES = {
    "payment_captured": "payment",
    "platform_fee": "platform_fee",
    "refund": "refund",
    "fee_refunded": "fee_refunded",
    "payout_settled": "payout",
    "reversal": "correction",
}
HEADER = ("date", "kind", "reference", "amount", "balance")


def parse_month(text: str) -> tuple[datetime, datetime]:
    """``2026-12`` → the month's start and end (Beijing time) in UTC."""
    found = _MONTH.fullmatch(text)
    if found is None:
        raise InvalidMonth(fields={"month": "YYYY-MM"})
    year, month = int(found.group(1)), int(found.group(2))
    if not 2000 <= year <= 2999:
        raise InvalidMonth(fields={"month": "a year from 2000 to 2999"})
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return (
        datetime.combine(first, time(0), tzinfo=CHINA_TZ).astimezone(UTC),
        datetime.combine(following, time(0), tzinfo=CHINA_TZ).astimezone(UTC),
    )


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def render(statement: reports.CreatorStatement, start: datetime) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    local = start.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")
    writer.writerow((local, "opening_balance", "", "", yuan(statement.opening)))
    balance = statement.opening
    last = local
    for row in statement.rows:
        balance += row.amount
        last = row.created_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")
        writer.writerow(
            (
                last,
                KIND_NAMES.get(row.kind, row.kind),
                f"{row.reference_type}:{row.reference_id}",
                yuan(row.amount),
                yuan(balance),
            )
        )
    writer.writerow((last, "closing_balance", "", "", yuan(balance)))
    return out.getvalue()


async def monthly_csv(session: ReadSession, creator_id: int, month: str, currency: str) -> str:
    start, end = parse_month(month)
    statement = await reports.creator_statement(session, creator_id, currency, start, end)
    return render(statement, start)
