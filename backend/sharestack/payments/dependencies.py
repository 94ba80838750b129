"""The payment providers this process offers (built once, ``payments.runtime``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from sharestack.dependencies import StateDep
from sharestack.payments.providers import PaymentProvider


async def _providers(state: StateDep) -> dict[str, PaymentProvider]:
    return state.payments


ProvidersDep = Annotated[dict[str, PaymentProvider], Depends(_providers)]
