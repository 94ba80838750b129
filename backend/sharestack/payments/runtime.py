"""Builds this process's payment providers once, for the composition roots (``main`` for the
API, ``worker`` for the worker): both need them, the worker for query jobs and renewals.
Infrastructure (``resources``) holds them typed by the port but never builds them."""

from __future__ import annotations

from sharestack.payments.providers import PaymentProvider, providers_from_settings
from sharestack.payments.sandbox_store import RedisSandboxStore
from sharestack.resources import Resources


def build_providers(resources: Resources) -> dict[str, PaymentProvider]:
    store = RedisSandboxStore(resources.redis.queue, resources.redis.key("sandbox"))
    return providers_from_settings(resources.settings, sandbox_store=store)
