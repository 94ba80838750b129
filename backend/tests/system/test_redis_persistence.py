"""Durable Redis survives kill -9: sessions written before the crash are there after a restart on
the same files (redis.conf: AOF everysec + RDB)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.redis_servers import durable_redis

pytestmark = pytest.mark.system


def test_sessions_survive_kill_9_and_restart(tmp_path: Path) -> None:
    with durable_redis(tmp_path) as node:
        with node.client(db=0) as c:
            pipe = c.pipeline(transaction=False)
            for i in range(2000):
                pipe.set(f"test:sess:{i}", f"user-{i}".encode(), ex=3600)
            pipe.execute()
            # An acknowledged write reaches the AOF with write() before the reply, so a process
            # kill loses nothing; only a host crash could lose the last second.
            c.set("test:sess:last", b"user-last", ex=3600)
        node.kill9()
        t0 = time.monotonic()
        node.start()
        reload_s = time.monotonic() - t0
        with node.client(db=0) as c:
            assert c.dbsize() == 2001
            assert c.get("test:sess:1999") == b"user-1999"
            assert c.get("test:sess:last") == b"user-last"
            assert 0 < c.ttl("test:sess:0") <= 3600
        print(f"restart on the same AOF until PING: {reload_s:.3f}s")
