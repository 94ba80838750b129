"""Local stand-ins for WeChat Pay v3 and the Alipay gateway, served over real HTTP.

Each simulator is a small Starlette app with its own generated RSA keys, run by uvicorn on a
free loopback port in a background thread (``serve``). They are honest: every request is
verified the way the provider verifies it (our signature, our merchant ids, the fields each API
requires) and refused with the provider's own error shape; every answer is signed, and
notifications are built, signed (and for WeChat Pay encrypted) as the providers document.

Knobs (``Knobs``) make the next calls misbehave: hang past the client's timeout, answer after a
delay, answer with an error, sign an answer with the wrong key, and deliver each notification
more than once. Notifications are not pushed from the server thread: settling an order puts
them in ``outbox``, and ``deliver`` posts them from the test's event loop and records whether
our webhook acknowledged them the way the provider expects.

- ``WechatPaySimulator`` (tests/support/wechatpay_simulator.py)
- ``AlipaySimulator`` (tests/support/alipay_simulator.py)
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from tests.support.processes import free_port, wait_until


@dataclass
class Knobs:
    hang_next: int = 0  # calls that stall for hang_seconds (past the client's timeout)
    hang_seconds: float = 2.0
    delay_seconds: float = 0.0  # every call answers this much later
    errors: deque[Any] = field(default_factory=deque)  # provider-shaped errors, one per call
    bad_signature_next: int = 0  # answers signed with a key the client does not hold
    duplicate_notifications: int = 1  # copies of each notification delivered

    async def before_call(self) -> Any | None:
        """Apply the timing knobs; return the error to answer with, if one is queued."""
        if self.hang_next > 0:
            self.hang_next -= 1
            await asyncio.sleep(self.hang_seconds)
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        return self.errors.popleft() if self.errors else None

    def take_bad_signature(self) -> bool:
        if self.bad_signature_next > 0:
            self.bad_signature_next -= 1
            return True
        return False


@dataclass
class Delivery:
    url: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None
    answer: bytes = b""
    acked: bool = False


class SimulatorBase:
    """State shared by both simulators: the knobs, a lock (handlers run in the server thread,
    tests settle orders from theirs) and the notifications waiting to be delivered."""

    def __init__(self) -> None:
        self.knobs = Knobs()
        self.lock = threading.Lock()
        self.outbox: list[Delivery] = []
        self.delivered: list[Delivery] = []
        self.requests = 0
        self.base_url = ""

    def queue_notification(self, url: str, headers: dict[str, str], body: bytes) -> None:
        for _ in range(self.knobs.duplicate_notifications):
            self.outbox.append(Delivery(url, dict(headers), body))

    def is_ack(self, status: int, body: bytes) -> bool:
        raise NotImplementedError

    async def deliver(self) -> list[Delivery]:
        """POST every queued notification to its notify_url, as the provider would."""
        with self.lock:
            batch, self.outbox = self.outbox, []
        async with httpx.AsyncClient(timeout=5) as client:
            for delivery in batch:
                response = await client.post(
                    delivery.url, content=delivery.body, headers=delivery.headers
                )
                delivery.status, delivery.answer = response.status_code, response.content
                delivery.acked = self.is_ack(response.status_code, response.content)
        self.delivered.extend(batch)
        return batch


@contextlib.contextmanager
def serve(app: Callable[..., Any], port: int | None = None) -> Iterator[str]:
    """Run an ASGI app on 127.0.0.1 in a background thread; yield its base URL."""
    port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"simulator-{port}", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, 10, f"the simulator on port {port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
