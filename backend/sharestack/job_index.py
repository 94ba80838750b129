"""Imports every module that registers jobs, so that the API (which enqueues them and, embedded,
runs them) and the worker (which runs them) know the same set: the way ``sharestack.models``
imports every model. A new domain with jobs adds one line here."""

from sharestack.content import jobs as content_jobs
from sharestack.jobs import housekeeping
from sharestack.ledger import jobs as ledger_jobs
from sharestack.media import jobs as media_jobs
from sharestack.payments import jobs as payments_jobs
from sharestack.payouts import jobs as payouts_jobs
from sharestack.subscriptions import jobs as subscriptions_jobs

__all__ = [
    "content_jobs",
    "housekeeping",
    "ledger_jobs",
    "media_jobs",
    "payments_jobs",
    "payouts_jobs",
    "subscriptions_jobs",
]
