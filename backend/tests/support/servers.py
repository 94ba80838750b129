"""The shared servers that the integration tier talks to, and how to reach them.

On our machines MariaDB listens on 127.0.0.1:3306 (root, empty password) and Redis on 6379.
Override with TEST_MYSQL_URL / TEST_REDIS_URL. An unreachable server fails the run with the command
that starts it: never a silent skip.
"""

from __future__ import annotations

import os

import pymysql
import redis as redis_sync
import sqlalchemy as sa

MYSQL_URL = sa.make_url(os.environ.get("TEST_MYSQL_URL", "mysql+asyncmy://root@127.0.0.1:3306/"))
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")

START_MARIADB = (
    "start MariaDB with: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd "
    "(install it with: apt-get update && apt-get install -y mariadb-server)"
)
START_REDIS = (
    "start Redis with: redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' "
    "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log "
    "(install it with: apt-get update && apt-get install -y redis-server)"
)


def admin_connection(database: str | None = None) -> pymysql.connections.Connection:  # type: ignore[type-arg]
    return pymysql.connect(
        host=MYSQL_URL.host or "127.0.0.1",
        port=MYSQL_URL.port or 3306,
        user=MYSQL_URL.username or "root",
        password=MYSQL_URL.password or "",
        database=database,
        charset="utf8mb4",
        autocommit=True,
        connect_timeout=3,
    )


def require_mariadb() -> None:
    try:
        admin_connection().close()
    except pymysql.MySQLError as exc:
        raise RuntimeError(
            f"MariaDB is not reachable at {MYSQL_URL.host}:{MYSQL_URL.port or 3306} ({exc}); "
            + START_MARIADB
        ) from exc


def require_redis() -> None:
    try:
        redis_sync.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis_sync.RedisError as exc:
        raise RuntimeError(f"Redis is not reachable at {REDIS_URL} ({exc}); {START_REDIS}") from exc


def database_url(name: str) -> str:
    return MYSQL_URL.set(database=name).render_as_string(hide_password=False)


def create_database(name: str) -> None:
    with admin_connection() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")


def drop_database(name: str) -> None:
    with admin_connection() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


def delete_redis_prefix(prefix: str) -> None:
    # Every key starts with the prefix, the queue's included (sharestack/jobs/queue.py); SAQ's
    # short-lived abort markers are the exception.
    patterns = [f"{prefix}*", f"saq:abort:*{prefix}*"]
    for db in range(4):
        client = redis_sync.Redis.from_url(f"{REDIS_URL}/{db}")
        keys = [k for p in patterns for k in client.scan_iter(match=p, count=1000)]
        if keys:
            client.delete(*keys)
        client.close()
