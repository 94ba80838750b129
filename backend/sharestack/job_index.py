"""Imports every module that registers jobs, so that the API (which enqueues them and, embedded,
runs them) and the worker (which runs them) know the same set: the way ``sharestack.models``
imports every model. A new domain with jobs adds one line here."""

from sharestack.auth import jobs as auth_jobs
from sharestack.auth import sms_jobs
from sharestack.content import jobs as content_jobs
from sharestack.idempotency import jobs as idempotency_jobs
from sharestack.jobs import housekeeping
from sharestack.ledger import jobs as ledger_jobs
from sharestack.media import jobs as media_jobs
from sharestack.payments import jobs as payments_jobs
from sharestack.payouts import jobs as payouts_jobs
from sharestack.subscriptions import jobs as subscriptions_jobs

__all__ = [
    "auth_jobs",
    "content_jobs",
    "housekeeping",
    "idempotency_jobs",
    "ledger_jobs",
    "media_jobs",
    "payments_jobs",
    "payouts_jobs",
    "sms_jobs",
    "subscriptions_jobs",
]
