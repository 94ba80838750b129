"""GET /metrics exposes what deploy/prometheus/alerts.yml needs."""

from __future__ import annotations

import httpx
import pytest

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
