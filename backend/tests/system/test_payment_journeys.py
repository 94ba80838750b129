"""The subscription journey through the real adapters over HTTP: WeChat Pay (Native) and
Alipay (precreate, and 周期扣款 auto-renewal) against their simulators. Notifications leave the
simulators' outboxes exactly as signed (and, for WeChat Pay, encrypted) and are posted to our
webhook route; the jobs then query the simulators for the authoritative state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from sharestack.config import Settings
from sharestack.main import create_app
from tests.integration.billing import InlineJobs, execute, inline_jobs, key, make_plan, scalar
from tests.integration.helpers import Account, published, signup
from tests.support.alipay_simulator import AlipaySimulator
from tests.support.payment_keys import KeyPair
from tests.support.payment_simulators import SimulatorBase, serve
from tests.support.wechatpay_simulator import PUB_KEY_ID, WechatPaySimulator

pytestmark = pytest.mark.system

MCHID, APPID, SERIAL = (
    "1900000109",
    "wxd678efh567hg6787",
    "3775B6A45ACD588826D15E583A95F5DD2AA85D5E",
)
APIV3_KEY = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
ALIPAY_APP_ID, SELLER_ID = "2021000000000001", "2088102146225135"


@pytest.fixture(scope="module")
def merchant_key() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture(scope="module")
def wechat_sim(merchant_key: KeyPair) -> Iterator[WechatPaySimulator]:
    sim = WechatPaySimulator(
        mchid=MCHID, appid=APPID, merchant_serial=SERIAL,
        merchant_public_key=merchant_key.public, apiv3_key=APIV3_KEY.encode(),
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
async def billing_app(
    migrated: Settings,
    clean_tables: None,
    tmp_path: Path,
    merchant_key: KeyPair,
    wechat_sim: WechatPaySimulator,
    alipay_sim: AlipaySimulator,
) -> AsyncIterator[FastAPI]:
    files = {
        "merchant.pem": merchant_key.private_pem,
        "wechat_pub.pem": wechat_sim.key.public_pem,
        "alipay_pub.pem": alipay_sim.key.public_pem,
    }
    for name, pem in files.items():
        (tmp_path / name).write_bytes(pem)
    settings = migrated.model_copy(
        update={
            "wechatpay_mchid": MCHID,
            "wechatpay_appid": APPID,
            "wechatpay_serial_no": SERIAL,
            "wechatpay_private_key_path": tmp_path / "merchant.pem",
            "wechatpay_apiv3_key": APIV3_KEY,
            "wechatpay_public_key_id": PUB_KEY_ID,
            "wechatpay_public_key_path": tmp_path / "wechat_pub.pem",
            "wechatpay_base_url": wechat_sim.base_url,
            "alipay_app_id": ALIPAY_APP_ID,
            "alipay_private_key_path": tmp_path / "merchant.pem",
            "alipay_public_key_path": tmp_path / "alipay_pub.pem",
            "alipay_seller_id": SELLER_ID,
            "alipay_gateway": f"{alipay_sim.base_url}/gateway.do",
            "provider_timeout_seconds": 2.0,
        }
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def _deliver(client: httpx.AsyncClient, sim: SimulatorBase) -> list[bool]:
    """Post the simulator's queued notifications to our webhook, as the provider would."""
    with sim.lock:
        batch, sim.outbox = sim.outbox, []
    acked = []
    for delivery in batch:
        path = urlsplit(delivery.url).path
        r = await client.post(path, content=delivery.body, headers=delivery.headers)
        acked.append(sim.is_ack(r.status_code, r.content))
    return acked


async def _journey(
    client: httpx.AsyncClient, app: FastAPI, jobs: InlineJobs, provider: str, sim: Any
) -> tuple[Account, dict[str, Any]]:
    creator = await signup(client, "creator")
    reader = await signup(client, "reader")
    item = await published(client, creator, visibility="subscribers", body="会员正文")
    plan = await make_plan(client, creator, price_amount=1990)
    url = f"/api/v1/contents/{item['id']}"
    assert (await client.get(url, headers=reader.headers)).json()["body"] is None

    r = await client.post(
        "/api/v1/checkouts",
        json={"plan_id": plan["id"], "provider": provider},
        headers=reader.headers | key(),
    )
    assert r.status_code == 201, r.text
    done = r.json()
    assert done["action"]["kind"] == "qr_code"
    assert done["action"]["code_url"]
    sim.knobs.duplicate_notifications = 2  # providers re-deliver
    sim.pay(done["payment"]["out_trade_no"])
    assert await _deliver(client, sim) == [True, True]
    sim.knobs.duplicate_notifications = 1
    await jobs.settle()

    payment = await client.get(f"/api/v1/payments/{done['payment']['id']}", headers=reader.headers)
    assert payment.json()["status"] == "succeeded"
    assert (await client.get(url, headers=reader.headers)).json()["body"] == "会员正文"
    assert (await client.get(url)).json()["body"] is None
    assert await scalar(app, "SELECT COUNT(*) FROM subscription_events") == 1
    return reader, done


async def test_wechatpay_native_journey_and_refund(
    billing_app: FastAPI, wechat_sim: WechatPaySimulator
) -> None:
    transport = httpx.ASGITransport(app=billing_app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        inline_jobs(billing_app) as jobs,
    ):
        reader, done = await _journey(client, billing_app, jobs, "wechatpay", wechat_sim)
        no_renew = await client.post(
            "/api/v1/checkouts",
            json={"plan_id": done["payment"]["id"], "provider": "wechatpay", "auto_renew": True},
            headers=reader.headers | key(),
        )
        assert no_renew.json()["error"]["code"] == "auto_renew_unsupported"


async def test_alipay_precreate_journey_and_recurring_charge(
    billing_app: FastAPI, alipay_sim: AlipaySimulator
) -> None:
    transport = httpx.ASGITransport(app=billing_app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        inline_jobs(billing_app) as jobs,
    ):
        reader, _done = await _journey(client, billing_app, jobs, "alipay", alipay_sim)

        # Auto-renewal: a checkout with an agreement, signed at Alipay, then a renewal charge.
        creator = await signup(client, "creator2")
        plan = await make_plan(client, creator, price_amount=990)
        r = await client.post(
            "/api/v1/checkouts",
            json={"plan_id": plan["id"], "provider": "alipay", "auto_renew": True},
            headers=reader.headers | key(),
        )
        assert r.status_code == 201, r.text
        renewing = r.json()
        assert renewing["agreement"]["sign_url"]
        alipay_sim.pay(renewing["payment"]["out_trade_no"])
        async with httpx.AsyncClient() as browser:  # the reader opens the signing page
            assert (await browser.get(renewing["agreement"]["sign_url"])).status_code == 200
        external = f"ag{int(renewing['payment']['out_trade_no'][2:]):012d}"
        alipay_sim.confirm_agreement(external)
        assert all(await _deliver(client, alipay_sim))
        await jobs.settle()
        mine = (await client.get("/api/v1/me/subscriptions", headers=reader.headers)).json()
        sub = next(s for s in mine if s["id"] == renewing["subscription_id"])
        assert (sub["status"], sub["auto_renew"]) == ("active", True)
        await execute(
            billing_app,
            "UPDATE subscriptions SET renew_at = UTC_TIMESTAMP(6) WHERE id = :id",
            id=sub["id"],
        )
        await jobs.run("charge_due_renewals")
        await _deliver(client, alipay_sim)  # the charge's own notification: a duplicate
        await jobs.settle()
        pays = (await client.get("/api/v1/me/payments", headers=reader.headers)).json()["items"]
        renewal = pays[0]
        assert (renewal["kind"], renewal["status"], renewal["amount"]) == (
            "renewal",
            "succeeded",
            990,
        )
        assert renewal["out_trade_no"] == f"rn{sub['id']}p2a1"

        # A partial refund of the renewal, by its creator, through Alipay.
        refund = await client.post(
            f"/api/v1/payments/{renewal['id']}/refunds",
            json={"amount": 300},
            headers=creator.headers | key(),
        )
        assert refund.status_code == 201, refund.text
        assert refund.json()["status"] == "succeeded"
        assert all(await _deliver(client, alipay_sim))  # its trade_status_sync: a duplicate
        await jobs.settle()
        refunded = await scalar(
            billing_app, "SELECT refunded_amount FROM payments WHERE id = :id", id=renewal["id"]
        )
        assert refunded == 300
