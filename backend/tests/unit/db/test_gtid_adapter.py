"""The GTID adapter speaks MariaDB and MySQL 8.0; only MariaDB runs on our machines, so both
dialects are checked here against a recording stand-in connection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from sharestack.db.replicas import current_gtid, replica_status, wait_for_gtid


@dataclass
class _Result:
    value: Any

    def scalar(self) -> Any:
        return self.value

    def mappings(self) -> _Result:
        return self

    def first(self) -> Any:
        return self.value


@dataclass
class _Dialect:
    is_mariadb: bool


@dataclass
class FakeConnection:
    is_mariadb: bool
    answer: Any
    sent: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def dialect(self) -> _Dialect:
        return _Dialect(self.is_mariadb)

    async def exec_driver_sql(self, sql: str) -> _Result:
        self.sent.append((sql, None))
        return _Result(self.answer)

    async def execute(self, statement: Any, params: Any = None) -> _Result:
        self.sent.append((str(statement), params))
        return _Result(self.answer)


@pytest.mark.parametrize(
    ("is_mariadb", "sql"),
    [(True, "SELECT @@GLOBAL.gtid_binlog_pos"), (False, "SELECT @@GLOBAL.gtid_executed")],
)
async def test_current_gtid(is_mariadb: bool, sql: str) -> None:
    conn = FakeConnection(is_mariadb, "uuid:1-5,\nuuid2:1-3")
    assert await current_gtid(conn) == "uuid:1-5,uuid2:1-3"  # type: ignore[arg-type]
    assert conn.sent == [(sql, None)]


@pytest.mark.parametrize(
    ("is_mariadb", "answer", "applied", "function"),
    [
        (True, 0, True, "MASTER_GTID_WAIT"),
        (True, -1, False, "MASTER_GTID_WAIT"),
        (False, 0, True, "WAIT_FOR_EXECUTED_GTID_SET"),
        (False, 1, False, "WAIT_FOR_EXECUTED_GTID_SET"),
        (False, None, False, "WAIT_FOR_EXECUTED_GTID_SET"),
    ],
)
async def test_wait_for_gtid(is_mariadb: bool, answer: Any, applied: bool, function: str) -> None:
    conn = FakeConnection(is_mariadb, answer)
    assert await wait_for_gtid(conn, "0-1-5", 0.2) is applied  # type: ignore[arg-type]
    ((sql, params),) = conn.sent
    assert function in sql
    assert params == {"gtid": "0-1-5", "timeout": 0.2}


async def test_an_empty_position_needs_no_wait() -> None:
    conn = FakeConnection(True, -1)
    assert await wait_for_gtid(conn, "", 0.2) is True  # type: ignore[arg-type]
    assert conn.sent == []


@pytest.mark.parametrize(
    ("is_mariadb", "sql"), [(True, "SHOW SLAVE STATUS"), (False, "SHOW REPLICA STATUS")]
)
async def test_replica_status(is_mariadb: bool, sql: str) -> None:
    conn = FakeConnection(is_mariadb, {"Replica_SQL_Running": "Yes"})
    assert await replica_status(conn) == {"Replica_SQL_Running": "Yes"}  # type: ignore[arg-type]
    assert conn.sent == [(sql, None)]
