"""Pieces every adapter shares: the HTTP client, the clock, and what happens to a refused
notification."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone

import httpx

from sharestack.metrics.registry import PAYMENT_NOTIFICATIONS_REJECTED
from sharestack.payments.providers.base import NotificationRejected, ProviderUnavailable

logger = logging.getLogger("sharestack.payments.providers")

Clock = Callable[[], float]

# China has had no daylight saving time since 1991, so a fixed offset is exact and needs no
# tz database on the host.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

_REFUND_NO = re.compile(r"[0-9A-Za-z_-]{1,64}")


def system_clock() -> float:
    return time.time()


def make_client(
    timeout: float, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout), transport=transport, follow_redirects=False
    )


@contextmanager
def unavailable_on_transport_errors(provider: str) -> Iterator[None]:
    """A timeout or a connection error leaves the outcome unknown: ProviderUnavailable."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise ProviderUnavailable(f"{provider}: timed out ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise ProviderUnavailable(f"{provider}: {type(exc).__name__}: {exc}") from exc


@contextmanager
def counting_rejections(provider: str) -> Iterator[None]:
    """Count every refused notification; log all but WeChat Pay's signature probes, which are
    routine traffic and would otherwise drown real warnings."""
    try:
        yield
    except NotificationRejected as exc:
        PAYMENT_NOTIFICATIONS_REJECTED.labels(provider, exc.reason).inc()
        if exc.reason != "signature_probe":
            logger.warning("%s notification refused: %s", provider, exc)
        raise


def check_refund_no(out_refund_no: str) -> None:
    if _REFUND_NO.fullmatch(out_refund_no) is None:
        raise ValueError("out_refund_no must be 1-64 of [0-9A-Za-z_-]")


def parse_rfc3339(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        return None


def parse_china_time(text: object) -> datetime | None:
    """Alipay's ``YYYY-MM-DD HH:MM:SS`` in Beijing time, as UTC."""
    if not isinstance(text, str) or not text:
        return None
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f"):  # gmt_refund has millis
        try:
            naive = datetime.strptime(text, pattern)
            break
        except ValueError:
            continue
    else:
        return None
    return naive.replace(tzinfo=CHINA_TZ).astimezone(UTC)


def china_timestamp(now: float) -> str:
    return datetime.fromtimestamp(now, CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")
