"""GET /metrics exposes what deploy/prometheus/alerts.yml needs."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.helpers import published, signup

pytestmark = pytest.mark.integration


async def test_metrics_cover_redis_roles_cache_latency_and_pools(client: httpx.AsyncClient) -> None:
    author = await signup(client, "metrics")
    item = await published(client, author)
    for _ in range(3):
        assert (await client.get(f"/api/v1/contents/{item['id']}")).status_code == 200
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    for role in ("sessions", "cache", "queue", "ratelimit"):
        assert f'sharestack_redis_up{{role="{role}"}} 1.0' in text
        assert f'sharestack_redis_used_memory_bytes{{role="{role}"}}' in text
        assert f'sharestack_redis_maxmemory_bytes{{role="{role}"}}' in text
        assert f'sharestack_redis_evicted_keys_total{{role="{role}"}}' in text
        assert f'sharestack_redis_connected_clients{{role="{role}"}}' in text
        assert f'sharestack_redis_connected_replicas{{role="{role}"}}' in text
    assert 'sharestack_cache_hits_total{family="content"}' in text
    assert 'sharestack_cache_misses_total{family="content"}' in text
    assert "sharestack_http_request_duration_seconds_bucket{" in text
    assert 'handler="read_content"' in text
    assert 'sharestack_db_pool_checked_out{engine="primary"}' in text
    assert 'sharestack_db_pool_capacity{engine="primary"} 15.0' in text
    assert 'sharestack_queue_jobs_queued{queue="default"}' in text
    assert "sharestack_outbox_pending " in text


async def test_the_event_loop_lag_histogram_is_fed_by_the_running_app(
    client: httpx.AsyncClient,
) -> None:
    """The lifespan starts the watcher: a loop held for 0.2 s shows up in /metrics."""

    def figures(text: str) -> tuple[float, float]:
        samples = {
            s.name: s.value
            for family in text_string_to_metric_families(text)
            if family.name == "sharestack_event_loop_lag_seconds"
            for s in family.samples
            if not s.labels
        }
        return samples["sharestack_event_loop_lag_seconds_count"], samples[
            "sharestack_event_loop_lag_seconds_sum"
        ]

    before_count, before_sum = figures((await client.get("/metrics")).text)
    time.sleep(0.2)  # noqa: ASYNC251 - holding the loop is the point
    await asyncio.sleep(0.15)
    after_count, after_sum = figures((await client.get("/metrics")).text)
    assert after_count > before_count
    assert after_sum - before_sum >= 0.1
