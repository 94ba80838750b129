"""Prometheus metrics: the registry, the request-latency middleware and the /metrics endpoint."""
