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
