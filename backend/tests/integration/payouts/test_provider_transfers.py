"""Payouts through the real WeChat Pay and Alipay adapters, over HTTP against their simulators
(tests/support), with the ledger on MariaDB: a payee who confirms, one who never does (cancelled
after the configured time, payout reversed), a timeout followed by a query (no second transfer),
a refused payee, and both providers' statements fetched and reconciled."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from sharestack.db.base import utcnow
from sharestack.db.engine import Database
from sharestack.payments import webhooks
from sharestack.payments.providers import references
from sharestack.payments.providers.alipay import AlipayConfig, AlipayProvider
from sharestack.payments.providers.transfers import TransferProvider
from sharestack.payments.providers.wechatpay import WechatPayConfig, WechatPayProvider
from sharestack.payments.providers.wechatpay_crypto import WechatPayVerifier
from sharestack.payouts import reconciliation, sending
from sharestack.payouts import repository as payouts_repository
from sharestack.payouts.rules import PayoutPolicy
from tests.integration.helpers import Account, signup
from tests.integration.ledger.conftest import in_tx
from tests.integration.payouts.conftest import (
    balance,
    fund,
    no_violations,
    payout_account,
    sealer,
)
from tests.support.alipay_simulator import AlipaySimulator
from tests.support.payment_keys import KeyPair
from tests.support.payment_simulators import serve
from tests.support.statement_files import Row, alipay_bill_zip, wechat_trade_bill
from tests.support.wechatpay_simulator import PUB_KEY_ID, WechatPaySimulator

pytestmark = pytest.mark.integration

MCHID, APPID, SERIAL = "1900000109", "wxd678efh567hg6787", "3775B6A45ACD588826D15E583A95F5DD2AA8"
APIV3_KEY = b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
ALIPAY_APP_ID, SELLER_ID = "2021000000000001", "2088102146225135"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
TIMEOUT = 0.5  # the simulators' hang knob sleeps 2 s
POLICY = PayoutPolicy(confirm_timeout=timedelta(minutes=30))


@pytest.fixture(scope="module")
def merchant_key() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture(scope="module")
def wechat_sim(merchant_key: KeyPair) -> Iterator[WechatPaySimulator]:
    sim = WechatPaySimulator(
        mchid=MCHID, appid=APPID, merchant_serial=SERIAL,
        merchant_public_key=merchant_key.public, apiv3_key=APIV3_KEY,
    )  # fmt: skip
    with serve(sim.app) as url:
        sim.base_url = url
        yield sim


@pytest.fixture(scope="module")
def alipay_sim(merchant_key: KeyPair) -> Iterator[AlipaySimulator]:
    sim = AlipaySimulator(
        app_id=ALIPAY_APP_ID, seller_id=SELLER_ID, app_public_key=merchant_key.public
    )
    with serve(sim.app) as url:
        sim.base_url = url
        yield sim


@pytest.fixture
async def providers(
    wechat_sim: WechatPaySimulator, alipay_sim: AlipaySimulator, merchant_key: KeyPair
) -> AsyncIterator[dict[str, Any]]:
    verifier = WechatPayVerifier(public_key_id=PUB_KEY_ID, public_key=wechat_sim.key.public)
    wechat = WechatPayProvider(
        WechatPayConfig(
            mchid=MCHID,
            appid=APPID,
            serial_no=SERIAL,
            private_key=merchant_key.private,
            apiv3_key=APIV3_KEY,
            verifier=verifier,
            base_url=wechat_sim.base_url,
            timeout=TIMEOUT,
        )
    )
    alipay = AlipayProvider(
        AlipayConfig(
            app_id=ALIPAY_APP_ID,
            private_key=merchant_key.private,
            alipay_public_key=alipay_sim.key.public,
            seller_id=SELLER_ID,
            gateway=f"{alipay_sim.base_url}/gateway.do",
            timeout=TIMEOUT,
        )
    )
    yield {"wechatpay": wechat, "alipay": alipay}
    await wechat.aclose()
    await alipay.aclose()


async def _payout(
    client: httpx.AsyncClient, db: Database, account: dict[str, Any], amount: int, gross: int
) -> tuple[Account, int]:
    creator = await signup(client, "creator")
    account_id = await payout_account(client, creator, **account)
    await fund(db, creator.user_id, gross)
    r = await client.post(
        "/api/v1/payouts",
        json={"payout_account_id": account_id, "amount": amount},
        headers={**creator.headers, "Idempotency-Key": "provider"},
    )
    assert r.status_code == 201, r.text
    payout_id: int = r.json()["id"]
    return creator, payout_id


async def _status(db: Database, payout_id: int) -> tuple[str, str]:
    async with db.write_engine.connect() as conn:
        row = await conn.execute(
            sa.text("SELECT status, provider_status FROM payouts WHERE id = :id"), {"id": payout_id}
        )
        status, provider_status = row.one()
        return status, provider_status


async def _run(
    db: Database, providers: dict[str, TransferProvider], minutes: float = 0
) -> sending.SendReport:
    return await sending.send_due(
        db, providers, POLICY, sealer(db), now=utcnow() + timedelta(minutes=minutes)
    )


WECHAT = {"provider": "wechatpay", "identity_type": "openid", "identity": OPENID}


async def test_wechat_payee_confirms_a_large_payout_with_the_encrypted_name(
    client: httpx.AsyncClient,
    db: Database,
    providers: dict[str, Any],
    wechat_sim: WechatPaySimulator,
) -> None:
    # 2,000 yuan and more needs the real name; it travels RSA-OAEP encrypted.
    creator, payout_id = await _payout(client, db, WECHAT, 200_000, 250_000)
    assert (await _run(db, providers)).waiting == 1
    no = references.transfer_no(payout_id)
    assert wechat_sim.bills[no]["user_name"] == "张三丰"
    r = await client.get(f"/api/v1/payouts/{payout_id}", headers=creator.headers)
    assert r.json()["awaiting_confirmation"] is True
    assert r.json()["package_info"] == wechat_sim.bills[no]["package_info"]

    wechat_sim.confirm_transfer(no)
    assert (await _run(db, providers, minutes=1)).paid == 1
    assert await _status(db, payout_id) == ("paid", "SUCCESS")
    assert await balance(client, creator) == {"pending": 0, "available": 25_000, "in_transit": 0}
    await no_violations(db)


async def test_wechat_notifies_the_confirmed_transfer_and_the_payout_is_looked_at_at_once(
    client: httpx.AsyncClient,
    db: Database,
    providers: dict[str, Any],
    wechat_sim: WechatPaySimulator,
) -> None:
    """The transfer carries our notify_url; WeChat Pay's signed MCHTRANSFER.BILL.FINISHED makes
    the payout due now, and the next send settles it from a query. A forged notification, or
    one for a number that is not ours, is refused and changes nothing."""
    policy = PayoutPolicy(confirm_timeout=timedelta(minutes=30), public_base_url="https://ss.test")
    creator, payout_id = await _payout(client, db, WECHAT, 5_000, 10_000)
    assert (await sending.send_due(db, providers, policy, sealer(db))).waiting == 1
    no = references.transfer_no(payout_id)
    assert (
        wechat_sim.bills[no]["request"]["notify_url"] == "https://ss.test/api/v1/webhooks/wechatpay"
    )

    wechat_sim.confirm_transfer(no)
    [delivery] = wechat_sim.outbox
    wechat = {"wechatpay": providers["wechatpay"]}

    async def receive(headers: dict[str, str], body: bytes) -> bool:
        ack = await in_tx(db, lambda s: webhooks.receive(s, wechat, "wechatpay", headers, body))
        return wechat_sim.is_ack(ack.status, ack.body)

    forged = delivery.body.replace(b'"id"', b'"id2"', 1)
    assert not await receive(delivery.headers, forged)
    assert await receive(delivery.headers, delivery.body)
    async with db.write_engine.connect() as conn:
        queued = (
            (
                await conn.execute(
                    sa.text("SELECT kwargs FROM job_outbox WHERE function = 'check_payout'")
                )
            )
            .scalars()
            .all()
        )
    assert [json.loads(k) for k in queued] == [{"payout_id": payout_id}]

    # What check_payout does: due now (past the sender's lease), then one send, which queries.
    later = utcnow() + timedelta(minutes=3)
    assert await in_tx(db, lambda s: payouts_repository.make_due(s, payout_id, later))
    report = await sending.send_due(db, providers, policy, sealer(db), now=later)
    assert report.paid == 1
    assert await _status(db, payout_id) == ("paid", "SUCCESS")
    # Settled: a repeated notification makes nothing due.
    assert not await in_tx(db, lambda s: payouts_repository.make_due(s, payout_id, later))
    assert await balance(client, creator) == {"pending": 0, "available": 4_000, "in_transit": 0}
    await no_violations(db)


async def test_wechat_payee_who_never_confirms_is_cancelled_and_reversed(
    client: httpx.AsyncClient,
    db: Database,
    providers: dict[str, Any],
    wechat_sim: WechatPaySimulator,
) -> None:
    creator, payout_id = await _payout(client, db, WECHAT, 5_000, 10_000)
    before = wechat_sim.transfer_requests
    assert (await _run(db, providers)).waiting == 1
    assert (await _run(db, providers, minutes=10)).waiting == 1  # before the deadline
    assert await _status(db, payout_id) == ("in_transit", "WAIT_USER_CONFIRM")
    # Past the 30 minutes: cancelled (CANCELING), then found CANCELLED and reversed.
    assert (await _run(db, providers, minutes=31)).waiting == 1
    assert await _status(db, payout_id) == ("in_transit", "CANCELING")
    assert (await _run(db, providers, minutes=40)).reversed == 1
    assert await _status(db, payout_id) == ("cancelled", "CANCELLED")
    assert wechat_sim.transfer_requests - before == 1
    assert await balance(client, creator) == {"pending": 0, "available": 9_000, "in_transit": 0}
    await no_violations(db)


async def test_wechat_timeout_is_followed_by_a_query_not_a_second_transfer(
    client: httpx.AsyncClient,
    db: Database,
    providers: dict[str, Any],
    wechat_sim: WechatPaySimulator,
) -> None:
    _, payout_id = await _payout(client, db, WECHAT, 5_000, 10_000)
    no = references.transfer_no(payout_id)
    before = wechat_sim.transfer_requests
    wechat_sim.knobs.hang_next = 1
    assert (await _run(db, providers)).unclear == 1
    assert await _status(db, payout_id) == ("pending", "")
    for _ in range(50):  # the simulator finishes the request after our client gave up
        if no in wechat_sim.bills:
            break
        await asyncio.sleep(0.1)
    assert (await _run(db, providers, minutes=1)).waiting == 1
    assert await _status(db, payout_id) == ("in_transit", "WAIT_USER_CONFIRM")
    wechat_sim.confirm_transfer(no)
    assert (await _run(db, providers, minutes=5)).paid == 1
    assert wechat_sim.transfer_requests - before == 1  # one transfer-bills call in all
    await no_violations(db)


ALIPAY = {
    "provider": "alipay",
    "identity_type": "alipay_logon_id",
    "identity": "creator@example.com",
}


async def test_alipay_transfer_settles_at_once(
    client: httpx.AsyncClient, db: Database, providers: dict[str, Any], alipay_sim: AlipaySimulator
) -> None:
    alipay_sim.payees["creator@example.com"] = "张三丰"
    creator, payout_id = await _payout(client, db, ALIPAY, 5_000, 10_000)
    assert (await _run(db, providers)).paid == 1
    assert await _status(db, payout_id) == ("paid", "SUCCESS")
    record = alipay_sim.transfers[references.transfer_no(payout_id)]
    assert record["biz"]["trans_amount"] == "50.00"
    assert record["biz"]["payee_info"]["name"] == "张三丰"
    assert await balance(client, creator) == {"pending": 0, "available": 4_000, "in_transit": 0}
    await no_violations(db)


async def test_alipay_timeout_is_followed_by_a_query_not_a_second_transfer(
    client: httpx.AsyncClient, db: Database, providers: dict[str, Any], alipay_sim: AlipaySimulator
) -> None:
    alipay_sim.payees["creator@example.com"] = "张三丰"
    _, payout_id = await _payout(client, db, ALIPAY, 5_000, 10_000)
    no = references.transfer_no(payout_id)
    before = alipay_sim.transfer_requests
    alipay_sim.knobs.hang_next = 1
    assert (await _run(db, providers)).unclear == 1
    for _ in range(50):
        if no in alipay_sim.transfers:
            break
        await asyncio.sleep(0.1)
    assert (await _run(db, providers, minutes=1)).paid == 1
    assert alipay_sim.transfer_requests - before == 1
    await no_violations(db)


async def test_alipay_refuses_a_wrong_name_and_the_payout_is_reversed(
    client: httpx.AsyncClient, db: Database, providers: dict[str, Any], alipay_sim: AlipaySimulator
) -> None:
    alipay_sim.payees["creator@example.com"] = "李四"
    creator, payout_id = await _payout(client, db, ALIPAY, 5_000, 10_000)
    assert (await _run(db, providers)).reversed == 1
    assert await _status(db, payout_id) == ("failed", "REFUSED")
    r = await client.get(f"/api/v1/payouts/{payout_id}", headers=creator.headers)
    assert r.json()["failure_reason"].startswith("PAYEE_USER_INFO_ERROR")
    assert await balance(client, creator) == {"pending": 0, "available": 9_000, "in_transit": 0}
    await no_violations(db)


async def test_both_statements_are_fetched_and_reconciled(
    db: Database,
    providers: dict[str, Any],
    wechat_sim: WechatPaySimulator,
    alipay_sim: AlipaySimulator,
) -> None:
    day = date(2026, 12, 1)
    ids = {name: [await fund(db, 900 + i, 1_000 + i, name) for i in range(3)] for name in providers}
    rows = {
        name: [Row(references.checkout_trade_no(p), 1_000 + i) for i, p in enumerate(found)]
        for name, found in ids.items()
    }
    rows["wechatpay"][1] = Row(rows["wechatpay"][1].out_trade_no, 999)  # amount differs
    wechat_sim.trade_bills[day.isoformat()] = wechat_trade_bill(rows["wechatpay"])
    alipay_sim.bills[day.isoformat()] = alipay_bill_zip(rows["alipay"][:2])  # one missing
    for name, provider in providers.items():
        lines = await provider.statement(day)
        assert len(lines) == len(rows[name]) - (name == "alipay")
        # The payments were recorded today, not on the statement's day: look them up by number.
        found = await in_tx(db, lambda s, n=name, ls=lines: reconciliation.reconcile(s, n, day, ls))
        kinds = [(m.kind, m.reference) for m in found.mismatches]
        if name == "wechatpay":
            assert kinds == [("amount_mismatch", references.checkout_trade_no(ids[name][1]))]
        else:
            assert kinds == []
    assert await providers["wechatpay"].statement(date(2026, 11, 30)) == []
