"""The sandbox provider's state in Redis (the queue role, which is durable), so that the API,
which creates and settles sandbox orders, and the worker, which queries them while processing
notifications and charges agreements during renewals, see the same orders. Embedded, the role
is the in-process store and this works the same."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, TypeVar

import orjson
from redis.asyncio import Redis

from sharestack.payments.providers.base import Order, OrderState, RefundState

T = TypeVar("T")
KEEP_SECONDS = 7 * 86_400


def _dump(value: Any) -> bytes:
    data = dataclasses.asdict(value)
    return orjson.dumps(
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}
    )


def _load(kind: type[T], raw: bytes | str) -> T:
    data = orjson.loads(raw)
    for name, value in data.items():
        if name.endswith("_at") and isinstance(value, str):
            data[name] = datetime.fromisoformat(value)
    return kind(**data)


class RedisSandboxStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    async def get_order(self, out_trade_no: str) -> OrderState | None:
        raw = await self._redis.hget(self._key("order", out_trade_no), "state")
        return _load(OrderState, raw) if raw is not None else None

    async def get_placed(self, out_trade_no: str) -> Order | None:
        raw = await self._redis.hget(self._key("order", out_trade_no), "order")
        return _load(Order, raw) if raw is not None else None

    async def put_order(self, state: OrderState, order: Order) -> None:
        key = self._key("order", state.out_trade_no)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"state": _dump(state), "order": _dump(order)})
            pipe.expire(key, KEEP_SECONDS)
            await pipe.execute()

    async def get_refund(self, out_refund_no: str) -> tuple[str, RefundState] | None:
        found = await self._redis.hmget(self._key("refund", out_refund_no), ["trade", "state"])
        if found[0] is None or found[1] is None:
            return None
        trade = found[0].decode() if isinstance(found[0], bytes) else str(found[0])
        return trade, _load(RefundState, found[1])

    async def put_refund(self, out_trade_no: str, state: RefundState) -> None:
        key = self._key("refund", state.out_refund_no)
        by_trade = self._key("refunds", out_trade_no)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"trade": out_trade_no, "state": _dump(state)})
            pipe.expire(key, KEEP_SECONDS)
            pipe.sadd(by_trade, state.out_refund_no)
            pipe.expire(by_trade, KEEP_SECONDS)
            await pipe.execute()

    async def refunded_total(self, out_trade_no: str) -> int:
        total = 0
        for member in await self._redis.smembers(self._key("refunds", out_trade_no)):
            number = member.decode() if isinstance(member, bytes) else str(member)
            found = await self.get_refund(number)
            if found is not None and found[1].status == "succeeded":
                total += found[1].amount or 0
        return total

    async def get_agreement(self, agreement_no: str) -> bool | None:
        raw = await self._redis.get(self._key("agreement", agreement_no))
        return None if raw is None else raw in (b"1", "1")

    async def put_agreement(self, agreement_no: str, signed: bool) -> None:
        await self._redis.set(
            self._key("agreement", agreement_no), b"1" if signed else b"0", ex=KEEP_SECONDS
        )
