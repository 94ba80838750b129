"""Read replicas: the GTID adapter for MySQL 8.0 and MariaDB, and the lag breaker.

The breaker samples every replica about once a second. A replica that lags beyond the threshold,
whose replication threads are not both running, or that does not answer, is *open* (gets no reads)
until a later sample finds it healthy again. A read that fails on a replica opens its breaker at
once, without waiting for the next sample.

MySQL 8.0 and MariaDB 10.11 differ in names only; :func:`current_gtid`, :func:`wait_for_gtid` and
:func:`replica_status` branch on ``dialect.is_mariadb`` and nothing else needs to know.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sharestack.background import cancel_and_wait
from sharestack.ops import gtid

logger = logging.getLogger(__name__)

# Errors after which a read is retried elsewhere: the server went away or refused the connection.
# Anything else (a syntax error, a constraint) would fail the same way on every server.
FAILOVER_ERRORS: tuple[type[Exception], ...] = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    ConnectionError,
    TimeoutError,
)


# --- GTID adapter -------------------------------------------------------------------------------


def _is_mariadb(conn: AsyncConnection) -> bool:
    # Set by SQLAlchemy's MySQL dialect once it has seen the server version.
    return bool(getattr(conn.dialect, "is_mariadb", False))


async def current_gtid(conn: AsyncConnection) -> str:
    """The primary's executed GTID position (MariaDB) / set (MySQL).

    Read right after the caller's COMMIT, it contains the caller's transaction; it may contain
    others' too, which only makes a replica wait for writes it would have applied anyway.
    """
    value = (await conn.exec_driver_sql(gtid.position_sql(_is_mariadb(conn)))).scalar()
    return gtid.clean_position(value)


async def wait_for_gtid(conn: AsyncConnection, position: str, wait_seconds: float) -> bool:
    """Block until this replica has applied ``position`` or ``wait_seconds`` pass; True if
    applied."""
    if not position:
        return True
    sql = sa.text(gtid.wait_sql(_is_mariadb(conn)))
    result = (await conn.execute(sql, {"gtid": position, "timeout": wait_seconds})).scalar()
    return result is not None and int(result) == 0


async def replica_status(conn: AsyncConnection) -> Mapping[str, Any] | None:
    row = (
        (await conn.exec_driver_sql(gtid.replica_status_sql(_is_mariadb(conn)))).mappings().first()
    )
    return dict(row) if row is not None else None


def evaluate(
    status: Mapping[str, Any] | None, max_lag: float
) -> tuple[bool, str | None, float | None]:
    """(healthy, reason when not, lag in seconds) from one SHOW SLAVE/REPLICA STATUS row."""
    if status is None:
        return False, "replication is not configured on this server", None
    io = status.get("Slave_IO_Running", status.get("Replica_IO_Running"))
    sql = status.get("Slave_SQL_Running", status.get("Replica_SQL_Running"))
    raw_lag = status.get("Seconds_Behind_Master", status.get("Seconds_Behind_Source"))
    lag = float(raw_lag) if raw_lag is not None else None
    if sql != "Yes":
        return False, f"SQL thread not running ({sql})", lag
    if io != "Yes":
        return False, f"IO thread not running ({io})", lag
    if lag is None:
        return False, "lag unknown", None
    if lag > max_lag:
        return False, f"lag {lag:.0f} s > {max_lag:.0f} s", lag
    return True, None, lag


# --- breaker state ------------------------------------------------------------------------------


@dataclass
class ReplicaState:
    """One replica's engine and breaker; ``healthy`` False means the breaker is open."""

    name: str
    engine: AsyncEngine
    healthy: bool = False
    reason: str | None = "not checked yet"
    lag_seconds: float | None = None
    checked_at: float = 0.0
    trips: int = 0

    def mark(self, healthy: bool, reason: str | None, lag: float | None = None) -> None:
        was = self.healthy
        self.healthy, self.reason, self.lag_seconds = healthy, reason, lag
        self.checked_at = time.time()
        if was and not healthy:
            self.trips += 1
            logger.warning("replica breaker opened", extra={"replica": self.name, "reason": reason})
        elif healthy and not was:
            logger.info("replica breaker closed", extra={"replica": self.name})

    def snapshot(self) -> dict[str, Any]:
        """Plain values for /readyz and for the metrics exporter."""
        return {
            "name": self.name,
            "healthy": self.healthy,
            "reason": self.reason,
            "lag_seconds": self.lag_seconds,
            "checked_at": self.checked_at,
            "trips": self.trips,
        }


class ReplicaMonitor:
    """Background sampling of every replica (one asyncio task per Database)."""

    def __init__(
        self, replicas: list[ReplicaState], interval: float, max_lag: float, timeout: float
    ) -> None:
        self.replicas, self.interval, self.max_lag, self.timeout = (
            replicas,
            interval,
            max_lag,
            timeout,
        )
        self._task: asyncio.Task[None] | None = None

    async def sample(self, replica: ReplicaState) -> None:
        try:
            async with asyncio.timeout(self.timeout), replica.engine.connect() as conn:
                status = await replica_status(conn)
        except Exception as exc:  # any failure to answer opens the breaker
            replica.mark(False, f"unreachable: {type(exc).__name__}: {exc}"[:200])
            return
        replica.mark(*evaluate(status, self.max_lag))

    async def sample_all(self) -> None:
        await asyncio.gather(*(self.sample(r) for r in self.replicas))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.sample_all()

    async def start(self) -> None:
        if not self.replicas or self._task is not None:
            return
        # One round before serving, so that healthy replicas take reads from the first request.
        await self.sample_all()
        self._task = asyncio.create_task(self._run(), name="replica-monitor")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
