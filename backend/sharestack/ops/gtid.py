"""The SQL that differs between MySQL 8.0 and MariaDB 10.11 for GTIDs and replication, in one
place: the request path (``db/replicas``, ``db/routing``) and the backup tool (``ops/backup``) both
use it. MySQL 8.0 and MariaDB differ in names only, so each function takes ``is_mariadb`` and
nothing else needs to know. It lives in ``ops`` because the backup image ships that package alone.
"""

from __future__ import annotations


def position_sql(is_mariadb: bool) -> str:
    """Every transaction this server has, as a GTID position (MariaDB) or set (MySQL).

    On MariaDB ``gtid_binlog_pos``: replicas run with log_slave_updates, so it holds the primary's
    GTIDs they applied too."""
    return "SELECT @@GLOBAL.gtid_binlog_pos" if is_mariadb else "SELECT @@GLOBAL.gtid_executed"


def wait_sql(is_mariadb: bool) -> str:
    """Block until the server has applied ``:gtid`` or ``:timeout`` seconds pass; answers 0 when
    applied (MariaDB ``MASTER_GTID_WAIT`` answers -1 on timeout, MySQL 1)."""
    if is_mariadb:
        return "SELECT MASTER_GTID_WAIT(:gtid, :timeout)"
    return "SELECT WAIT_FOR_EXECUTED_GTID_SET(:gtid, :timeout)"


def replica_status_sql(is_mariadb: bool) -> str:
    return "SHOW SLAVE STATUS" if is_mariadb else "SHOW REPLICA STATUS"


def clean_position(value: object) -> str:
    """MySQL prints long GTID sets over several lines."""
    return str(value or "").replace("\n", "")
