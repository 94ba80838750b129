"""Sandbox transfers (development and tests): deterministic, in memory, same contract as the real
adapters. The payee identity picks the outcome, so a developer can walk every path by hand:

- ``fail...``: the transfer fails (as a wrong account would)
- ``confirm...``: it waits for the payee (``awaiting_payee``) until ``confirm(transfer_no)`` is
  called or it is cancelled, like WeChat Pay's user-confirmation mode
- anything else: it succeeds at once, like an Alipay transfer
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from sharestack.payments.providers.base import ProviderRejected
from sharestack.payments.providers.transfers import (
    TransferNotFound,
    TransferRequest,
    TransferState,
)

NAME = "sandbox"


class SandboxTransfers:
    name = NAME

    def __init__(self) -> None:
        self._transfers: dict[str, tuple[TransferRequest, TransferState]] = {}

    async def transfer(self, request: TransferRequest) -> TransferState:
        found = self._transfers.get(request.transfer_no)
        if found is not None:
            if found[0] != request:
                raise ProviderRejected("INVALID_REQUEST", "same transfer_no, different transfer")
            return found[1]
        ref = "SBT" + hashlib.sha256(request.transfer_no.encode()).hexdigest()[:20]
        if request.identity.startswith("fail"):
            state = TransferState(request.transfer_no, "failed", "FAIL", ref, request.amount)
        elif request.identity.startswith("confirm"):
            state = TransferState(
                request.transfer_no,
                "awaiting_payee",
                "WAIT_USER_CONFIRM",
                ref,
                request.amount,
                package_info=f"sandbox-confirm:{request.transfer_no}",
            )
        else:
            state = TransferState(request.transfer_no, "succeeded", "SUCCESS", ref, request.amount)
        self._transfers[request.transfer_no] = (request, state)
        return state

    async def query_transfer(self, transfer_no: str) -> TransferState:
        found = self._transfers.get(transfer_no)
        if found is None:
            raise TransferNotFound("NOT_FOUND", transfer_no)
        return found[1]

    async def cancel_transfer(self, transfer_no: str) -> TransferState:
        request, state = self._transfers.get(transfer_no) or (None, None)
        if request is None or state is None:
            raise TransferNotFound("NOT_FOUND", transfer_no)
        if state.status != "awaiting_payee":
            raise ProviderRejected("INVALID_REQUEST", "only an unconfirmed transfer is cancelled")
        state = replace(state, status="cancelled", provider_status="CANCELLED", package_info=None)
        self._transfers[transfer_no] = (request, state)
        return state

    def confirm(self, transfer_no: str) -> None:
        request, state = self._transfers[transfer_no]
        self._transfers[transfer_no] = (
            request,
            replace(state, status="succeeded", provider_status="SUCCESS", package_info=None),
        )

    async def aclose(self) -> None:
        return None
