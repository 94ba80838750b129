"""No-I/O checks of the Redis tier's small rules."""

from __future__ import annotations

import pytest

from sharestack.cache import keys
from sharestack.cache.clients import SentinelConfig, retries_for_budget
from sharestack.config import Settings


def test_sentinel_setting_parses_hosts_and_default_port() -> None:
    config = SentinelConfig.parse(" s1:26380, s2 ,", "sharestack", "pw")
    assert config is not None
    assert config.addresses == (("s1", 26380), ("s2", 26379))
    assert SentinelConfig.parse("", "sharestack", None) is None
    assert SentinelConfig.parse(None, "sharestack", None) is None


def test_retry_budget_covers_a_sentinel_switch() -> None:
    # The drill measures about 2.3 s with down-after 1000 ms; production uses 5000 ms.
    assert retries_for_budget(0) == 0
    assert retries_for_budget(8.0) == 24
    assert retries_for_budget(2.0) < retries_for_budget(8.0) < retries_for_budget(15.0)


def test_value_and_generation_share_a_cluster_slot() -> None:
    V = "v1"
    key = keys.creator_feed("ss:cache:", 7, "c=&l=20", V)
    tag = "{feed:creator:7}"
    assert tag in key.value
    assert tag in key.generation
    assert tag in key.lock
    # One rebuild lock per generation, in the same slot; the position part is not in its name.
    lock = key.rebuild_lock(b"0123abcd@0-1-42")
    assert lock == key.lock.encode() + b":0123abcd"
    assert key.rebuild_lock(b"4567") != lock
    assert key.generation == keys.generation_key("ss:cache:", keys.scope_creator_feed(7))
    # Every page of one feed shares one generation: one SET invalidates them all.
    assert keys.creator_feed("ss:cache:", 7, "c=x&l=5", V).generation == key.generation


def test_every_family_has_a_ttl_and_a_shorter_negative_ttl() -> None:
    for family in keys.Family:
        fresh, negative = keys.TTLS[family]
        assert 0 < negative < fresh


def test_bad_rate_limit_settings_fail_at_start_up() -> None:
    with pytest.raises(ValueError, match="rate limit"):
        Settings(_env_file=None, rate_limit_auth="ten per minute")


def test_a_redis_url_naming_a_db_is_that_db_for_every_role() -> None:
    """The README's rule: no DB in REDIS_URL gives DB 0-3 by role; a DB in it is used for all
    four roles (a granted DB number is never exceeded), and role URLs still win."""
    from sharestack.cache.redis import ROLE_DB, role_url

    plain = Settings(_env_file=None, redis_url="redis://:pw@redis:6379")
    assert {r: role_url(plain, r) for r in ROLE_DB} == {
        "sessions": "redis://:pw@redis:6379/0",
        "cache": "redis://:pw@redis:6379/1",
        "queue": "redis://:pw@redis:6379/2",
        "ratelimit": "redis://:pw@redis:6379/3",
    }
    named = Settings(_env_file=None, redis_url="redis://redis:6379/12")
    assert {role_url(named, r) for r in ROLE_DB} == {"redis://redis:6379/12"}
    own = Settings(_env_file=None, redis_url="redis://redis/12", redis_cache_url="redis://c/0")
    assert role_url(own, "cache") == "redis://c/0"
    assert role_url(own, "sessions") == "redis://redis/12"


def test_roles_sharing_a_db_never_share_a_key() -> None:
    from sharestack.cache.redis import RedisRoles
    from sharestack.jobs.queue import queue_name

    roles = RedisRoles.from_settings(Settings(_env_file=None, redis_key_prefix="ss:"))
    # As resources.py and state.py build them: sessions, cache, rate limits; and the queue.
    prefixes = [
        roles.key("sess", ""),
        roles.key("cache", ""),
        roles.key("rl", ""),
        queue_name("ss:"),
    ]
    assert all(p.startswith("ss:") for p in prefixes)
    for a in prefixes:
        for b in prefixes:
            assert a == b or not b.startswith(a), (a, b)
