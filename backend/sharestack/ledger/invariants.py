"""What must always hold, checked against the tables themselves (not trusting the posting code).

Each check is one statement, so under READ COMMITTED it sees one consistent snapshot even while
payments are being posted. They scan whole tables: run them from the periodic job (on a replica
when there is one), not in requests. Each check reports at most ``LIMIT`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from sharestack.db.session import ReadSession
from sharestack.ledger.rules import MAY_BE_NEGATIVE

LIMIT = 100


@dataclass(frozen=True)
class Violation:
    check: str
    detail: str


_CHECKS: dict[str, str] = {
    # Each transfer has its two entries: -amount on the debit, +amount on the credit account.
    "transfer_entries": """
        SELECT t.id AS transfer_id FROM ledger_transfers t
        LEFT JOIN ledger_entries d ON d.transfer_id = t.id AND d.account_id = t.debit_account_id
        LEFT JOIN ledger_entries c ON c.transfer_id = t.id AND c.account_id = t.credit_account_id
        WHERE d.id IS NULL OR c.id IS NULL OR d.amount <> -t.amount OR c.amount <> t.amount
           OR d.currency <> t.currency OR c.currency <> t.currency""",
    "stray_entries": """
        SELECT e.id AS entry_id FROM ledger_entries e
        JOIN ledger_transfers t ON t.id = e.transfer_id
        JOIN ledger_accounts a ON a.id = e.account_id
        WHERE e.account_id NOT IN (t.debit_account_id, t.credit_account_id)
           OR e.currency <> a.currency""",
    # Every journal sums to zero in each currency.
    "journal_sums": """
        SELECT t.journal_id, e.currency, SUM(e.amount) AS total FROM ledger_entries e
        JOIN ledger_transfers t ON t.id = e.transfer_id
        GROUP BY t.journal_id, e.currency HAVING SUM(e.amount) <> 0""",
    # The cached balance is the sum of the account's entries; versions run 1..n.
    "account_caches": """
        SELECT a.id AS account_id, a.balance, a.version, COALESCE(SUM(e.amount), 0) AS total,
               COUNT(e.id) AS entries, COALESCE(MIN(e.account_version), 1) AS first_version,
               COALESCE(MAX(e.account_version), 0) AS last_version
        FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id
        GROUP BY a.id, a.balance, a.version
        HAVING a.balance <> COALESCE(SUM(e.amount), 0) OR a.version <> COUNT(e.id)
            OR COALESCE(MIN(e.account_version), 1) <> 1
            OR COALESCE(MAX(e.account_version), 0) <> a.version""",
    # ... and the last entry's running balance.
    "last_balance": """
        SELECT a.id AS account_id, a.balance, e.balance_after FROM ledger_accounts a
        LEFT JOIN ledger_entries e ON e.account_id = a.id AND e.account_version = a.version
        WHERE a.version > 0 AND (e.id IS NULL OR e.balance_after <> a.balance)""",
    # Each running balance is the previous one plus the entry.
    "running_balances": """
        SELECT e.id AS entry_id FROM ledger_entries e
        LEFT JOIN ledger_entries p
          ON p.account_id = e.account_id AND p.account_version = e.account_version - 1
        WHERE e.balance_after <> COALESCE(p.balance_after, 0) + e.amount
           OR (e.account_version > 1 AND p.id IS NULL) OR p.id > e.id""",
    "negative_balances": """
        SELECT id AS account_id, kind, balance FROM ledger_accounts
        WHERE balance < 0 AND kind NOT IN :kinds""",
    # All accounts of a currency add up to zero (money is only ever moved).
    "currency_totals": """
        SELECT currency, SUM(balance) AS total FROM ledger_accounts
        GROUP BY currency HAVING SUM(balance) <> 0""",
    # A reversal swaps an existing transfer's accounts, same amount (no foreign key, see models).
    "reversals": """
        SELECT r.id AS transfer_id FROM ledger_transfers r
        LEFT JOIN ledger_transfers o ON o.id = r.reverses_transfer_id
        WHERE r.reverses_transfer_id IS NOT NULL
          AND (o.id IS NULL OR o.debit_account_id <> r.credit_account_id
               OR o.credit_account_id <> r.debit_account_id OR o.amount <> r.amount)""",
}


async def check_invariants(session: ReadSession) -> list[Violation]:
    """Every violation found, by check; an empty list means the ledger is consistent."""
    violations = []
    for name, sql in _CHECKS.items():
        query = sa.text(f"{sql} LIMIT {LIMIT}")
        if ":kinds" in sql:
            query = query.bindparams(sa.bindparam("kinds", sorted(MAY_BE_NEGATIVE), expanding=True))
        for row in await session.execute(query):
            violations.append(
                Violation(name, ", ".join(f"{k}={v}" for k, v in row._mapping.items()))
            )
    return violations
