"""A WeChat Pay API v3 simulator (直连商户): Native/H5/JSAPI orders, query, close, refunds and
their notifications; merchant transfers (商家转账, user-confirmation mode: every bill waits for
the payee until ``confirm_transfer``, or is cancelled); and trade bills (``bills[day] = csv``).
See tests/support/payment_simulators.py for the knobs."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sharestack.payments.providers import _rsa
from sharestack.payments.providers import wechatpay_crypto as crypto
from sharestack.payments.providers.wechatpay_transfers import REAL_NAME_FROM, decrypt_sensitive
from tests.support import payment_messages as msg
from tests.support.payment_keys import KeyPair
from tests.support.payment_simulators import SimulatorBase

PUB_KEY_ID = "PUB_KEY_ID_0119000001092026120100000000000042"
PLATFORM_SERIAL = 0x5157F09EFDC096DE15EBE81A47057A7232F1B8E1


@dataclass
class Trade:
    body: dict[str, Any]
    trade_type: str
    trade_state: str = "NOTPAY"
    transaction_id: str = ""
    refunds: list[str] = field(default_factory=list)


class WechatPaySimulator(SimulatorBase):
    def __init__(
        self,
        *,
        mchid: str,
        appid: str,
        merchant_serial: str,
        merchant_public_key: KeyPair | Any,
        apiv3_key: bytes,
        mode: str = "public_key",  # or "certificate"
    ) -> None:
        super().__init__()
        self.mchid, self.appid, self.apiv3_key = mchid, appid, apiv3_key
        self.merchant_serial = merchant_serial
        self.merchant_public_key = merchant_public_key
        self.key = KeyPair.generate()  # WeChat Pay's own signing key
        self.stranger = KeyPair.generate()
        self.serial = PUB_KEY_ID if mode == "public_key" else f"{PLATFORM_SERIAL:X}"
        self.trades: dict[str, Trade] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.bills: dict[str, dict[str, Any]] = {}  # out_bill_no -> bill (with the payee name)
        self.transfer_requests = 0  # POST transfer-bills calls that reached the handler
        self.trade_bills: dict[str, str] = {}  # bill_date -> CSV text
        self.app = Starlette(
            routes=[
                Route("/v3/pay/transactions/{kind:str}", self.create, methods=["POST"]),
                Route("/v3/pay/transactions/out-trade-no/{otn:str}", self.query, methods=["GET"]),
                Route(
                    "/v3/pay/transactions/out-trade-no/{otn:str}/close",
                    self.close,
                    methods=["POST"],
                ),
                Route("/v3/refund/domestic/refunds", self.refund, methods=["POST"]),
                Route("/v3/refund/domestic/refunds/{orn:str}", self.query_refund, methods=["GET"]),
                Route("/v3/fund-app/mch-transfer/transfer-bills", self.transfer, methods=["POST"]),
                Route(
                    "/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{no:str}",
                    self.query_transfer,
                    methods=["GET"],
                ),
                Route(
                    "/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{no:str}/cancel",
                    self.cancel_transfer,
                    methods=["POST"],
                ),
                Route("/v3/bill/tradebill", self.trade_bill, methods=["GET"]),
                Route("/v3/billdownload/file", self.download_bill, methods=["GET"]),
            ]
        )

    # -- the provider's side of the handshake -------------------------------------------------
    def answer(self, status: int, data: dict[str, Any] | None = None) -> Response:
        body = b"" if data is None else json.dumps(data, ensure_ascii=False).encode()
        key = self.stranger.private if self.knobs.take_bad_signature() else self.key.private
        headers = crypto.sign_response(key, self.serial, body, str(int(time.time())))
        headers["Request-ID"] = secrets.token_hex(16)
        if data is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        return Response(body, status_code=status, headers=headers)

    def error(self, status: int, code: str, message: str) -> Response:
        return self.answer(status, {"code": code, "message": message})

    async def authenticate(self, request: Request) -> tuple[dict[str, Any] | None, Response | None]:
        """Verify our request as WeChat Pay does; return the JSON body or the refusal."""
        self.requests += 1
        raw = await request.body()
        queued = await self.knobs.before_call()
        if queued is not None:
            status, code, message = queued
            return None, self.error(status, code, message)
        path = request.scope["raw_path"].decode()
        if request.scope.get("query_string"):
            path += "?" + request.scope["query_string"].decode()
        try:
            auth = crypto.parse_authorization(request.headers.get("authorization", ""))
            timestamp = auth["timestamp"]
            message = crypto.request_message(
                request.method, path, timestamp, auth["nonce_str"], raw.decode()
            )
            fresh = abs(time.time() - int(timestamp)) <= 300
            mine = auth["mchid"] == self.mchid and auth["serial_no"] == self.merchant_serial
            valid = _rsa.verify(self.merchant_public_key, message, auth["signature"])
        except (ValueError, KeyError):
            fresh = mine = valid = False
        if not (fresh and mine and valid):
            # Unsigned, as WeChat Pay answers a request it could not authenticate.
            body = {"code": "SIGN_ERROR", "message": "签名错误，请检查后再试"}
            return None, Response(json.dumps(body, ensure_ascii=False), 401)
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            return None, self.error(400, "PARAM_ERROR", "请求体不是合法的JSON")
        return data, None

    # -- API ------------------------------------------------------------------------------
    async def create(self, request: Request) -> Response:
        data, refusal = await self.authenticate(request)
        if refusal is not None:
            return refusal
        assert data is not None
        kind = request.path_params["kind"]
        if kind not in ("native", "h5", "jsapi"):
            return self.error(404, "NOT_FOUND", "接口不存在")
        amount = data.get("amount") or {}
        required = ["appid", "mchid", "description", "out_trade_no", "notify_url"]
        if any(not isinstance(data.get(k), str) or not data[k] for k in required):
            return self.error(400, "PARAM_ERROR", "缺少必填参数")
        if type(amount.get("total")) is not int or amount["total"] <= 0:
            return self.error(400, "PARAM_ERROR", "amount.total 不合法")
        if data["mchid"] != self.mchid or data["appid"] != self.appid:
            return self.error(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        if kind == "h5" and not (data.get("scene_info") or {}).get("payer_client_ip"):
            return self.error(400, "PARAM_ERROR", "缺少 scene_info.payer_client_ip")
        if kind == "jsapi" and not (data.get("payer") or {}).get("openid"):
            return self.error(400, "PARAM_ERROR", "缺少 payer.openid")
        otn = data["out_trade_no"]
        with self.lock:
            existing = self.trades.get(otn)
            if existing is not None and existing.body != data:
                return self.error(400, "INVALID_REQUEST", "201 商户订单号重复")
            if existing is not None and existing.trade_state == "SUCCESS":
                return self.error(400, "ORDERPAID", "该订单已支付")
            self.trades.setdefault(otn, Trade(data, kind.upper()))
        token = secrets.token_hex(8)
        if kind == "native":
            return self.answer(200, {"code_url": f"weixin://wxpay/bizpayurl?pr={token}"})
        if kind == "h5":
            url = f"https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx{token}"
            return self.answer(200, {"h5_url": url})
        return self.answer(200, {"prepay_id": f"wx{token}"})

    async def query(self, request: Request) -> Response:
        _, refusal = await self.authenticate(request)
        if refusal is not None:
            return refusal
        if request.query_params.get("mchid") != self.mchid:
            return self.error(400, "PARAM_ERROR", "mchid 不正确")
        with self.lock:
            trade = self.trades.get(request.path_params["otn"])
            if trade is None:
                return self.error(404, "ORDER_NOT_EXIST", "订单不存在")
            return self.answer(200, self._transaction(trade))

    async def close(self, request: Request) -> Response:
        data, refusal = await self.authenticate(request)
        if refusal is not None:
            return refusal
        assert data is not None
        if data.get("mchid") != self.mchid:
            return self.error(400, "PARAM_ERROR", "mchid 不正确")
        with self.lock:
            trade = self.trades.get(request.path_params["otn"])
            if trade is None:
                return self.error(404, "ORDER_NOT_EXIST", "订单不存在")
            if trade.trade_state in ("SUCCESS", "REFUND"):
                return self.error(400, "ORDERPAID", "订单已支付")
            trade.trade_state = "CLOSED"
        return self.answer(204)

    async def refund(self, request: Request) -> Response:
        data, refusal = await self.authenticate(request)
        if refusal is not None:
            return refusal
        assert data is not None
        amount = data.get("amount") or {}
        orn, otn = data.get("out_refund_no"), data.get("out_trade_no")
        if not orn or not otn or amount.get("currency") != "CNY":
            return self.error(400, "PARAM_ERROR", "缺少必填参数")
        with self.lock:
            if orn in self.refunds:
                return self.answer(200, self.refunds[orn])
            trade = self.trades.get(otn)
            if trade is None:
                return self.error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
            if trade.trade_state not in ("SUCCESS", "REFUND"):
                return self.error(400, "INVALID_REQUEST", "订单未支付")
            total = trade.body["amount"]["total"]
            if amount.get("total") != total:
                return self.error(400, "PARAM_ERROR", "订单金额与原订单不符")
            refunded = sum(self.refunds[r]["amount"]["refund"] for r in trade.refunds)
            if (
                type(amount.get("refund")) is not int
                or not 0 < amount["refund"] <= total - refunded
            ):
                return self.error(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
            record = {
                "refund_id": "5030" + secrets.token_hex(12),
                "out_refund_no": orn,
                "transaction_id": trade.transaction_id,
                "out_trade_no": otn,
                "channel": "ORIGINAL",
                "user_received_account": "支付用户零钱",
                "create_time": "2026-12-01T10:34:56+08:00",
                "status": "PROCESSING",
                "amount": {"total": total, "refund": amount["refund"], "currency": "CNY"},
                "notify_url": data.get("notify_url"),
            }
            self.refunds[orn] = record
            trade.refunds.append(orn)
            trade.trade_state = "REFUND"
        return self.answer(200, _public(record))

    async def query_refund(self, request: Request) -> Response:
        _, refusal = await self.authenticate(request)
        if refusal is not None:
            return refusal
        with self.lock:
            record = self.refunds.get(request.path_params["orn"])
        if record is None:
            return self.error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return self.answer(200, _public(record))

    # -- merchant transfers --------------------------------------------------------------------
    async def transfer(self, request: Request) -> Response:
        data, refusal = await self.authenticate(request)
        if refusal is not None:
            return refusal
        assert data is not None
        self.transfer_requests += 1
        required = ["appid", "out_bill_no", "transfer_scene_id", "openid", "transfer_remark"]
        if any(not isinstance(data.get(k), str) or not data[k] for k in required):
            return self.error(400, "PARAM_ERROR", "缺少必填参数")
        amount = data.get("transfer_amount")
        if type(amount) is not int or amount < 10:
            return self.error(400, "PARAM_ERROR", "转账金额不合法")
        if data["appid"] != self.appid:
            return self.error(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        if len(data.get("transfer_scene_report_infos") or []) < 2:
            return self.error(400, "PARAM_ERROR", "转账场景报备信息不完整")
        name = None
        if data.get("user_name"):
            if request.headers.get("wechatpay-serial") != self.serial:
                return self.error(400, "PARAM_ERROR", "Wechatpay-Serial 不正确")
            try:
                name = decrypt_sensitive(self.key.private, data["user_name"])
            except ValueError:
                return self.error(400, "PARAM_ERROR", "user_name 解密失败")
        elif amount >= REAL_NAME_FROM:
            return self.error(400, "PARAM_ERROR", "转账金额>=2000元时，user_name必填")
        no = data["out_bill_no"]
        with self.lock:
            bill = self.bills.get(no)
            if bill is not None:
                if bill["request"] != {k: v for k, v in data.items() if k != "user_name"}:
                    return self.error(400, "INVALID_REQUEST", "商户单号重复")
                return self.answer(200, self._bill_answer(bill))
            bill = {
                "request": {k: v for k, v in data.items() if k != "user_name"},
                "user_name": name,
                "transfer_bill_no": "1330" + secrets.token_hex(14),
                "state": "WAIT_USER_CONFIRM",
                "package_info": "ABBQO+oYAAABAAAAAAA" + secrets.token_urlsafe(48),
                "create_time": "2026-12-01T10:00:00+08:00",
                "update_time": "2026-12-01T10:00:00+08:00",
            }
            self.bills[no] = bill
            return self.answer(200, self._bill_answer(bill))

    async def query_transfer(self, request: Request) -> Response:
        _, refusal = await self.authenticate(request)
        if refusal is not None:
            return refusal
        with self.lock:
            bill = self.bills.get(request.path_params["no"])
            if bill is None:
                return self.error(404, "NOT_FOUND", "记录不存在")
            if bill["state"] == "CANCELING":  # WeChat Pay finishes a cancel asynchronously
                bill["state"] = "CANCELLED"
            return self.answer(200, self._bill_record(request.path_params["no"], bill))

    async def cancel_transfer(self, request: Request) -> Response:
        _, refusal = await self.authenticate(request)
        if refusal is not None:
            return refusal
        with self.lock:
            no = request.path_params["no"]
            bill = self.bills.get(no)
            if bill is None:
                return self.error(404, "NOT_FOUND", "记录不存在")
            if bill["state"] in ("SUCCESS", "FAIL", "CANCELLED"):
                return self.error(400, "INVALID_REQUEST", "当前单据状态不支持撤销")
            bill["state"] = "CANCELING"
            bill["package_info"] = None
            return self.answer(
                200,
                {
                    "out_bill_no": no,
                    "transfer_bill_no": bill["transfer_bill_no"],
                    "state": "CANCELING",
                    "update_time": "2026-12-01T11:00:00+08:00",
                },
            )

    def confirm_transfer(self, out_bill_no: str, *, notify: bool = True) -> None:
        """The payee confirms in WeChat; WeChat Pay then notifies the bill's final state to the
        transfer's ``notify_url`` (if it had one)."""
        with self.lock:
            bill = self.bills[out_bill_no]
            bill["state"] = "SUCCESS"
            bill["package_info"] = None
            bill["update_time"] = "2026-12-01T10:05:00+08:00"
            url = bill["request"].get("notify_url")
            if notify and url:
                resource = self._bill_record(out_bill_no, bill)
                self._notify(url, resource, "MCHTRANSFER.BILL.FINISHED")

    def _bill_answer(self, bill: dict[str, Any]) -> dict[str, Any]:
        answer = {
            "out_bill_no": bill["request"]["out_bill_no"],
            "transfer_bill_no": bill["transfer_bill_no"],
            "create_time": bill["create_time"],
            "state": bill["state"],
        }
        if bill["state"] == "WAIT_USER_CONFIRM":
            answer["package_info"] = bill["package_info"]
        return answer

    def _bill_record(self, no: str, bill: dict[str, Any]) -> dict[str, Any]:
        record = {
            "mch_id": self.mchid,
            "out_bill_no": no,
            "transfer_bill_no": bill["transfer_bill_no"],
            "appid": self.appid,
            "state": bill["state"],
            "transfer_amount": bill["request"]["transfer_amount"],
            "transfer_remark": bill["request"]["transfer_remark"],
            "openid": bill["request"]["openid"],
            "create_time": bill["create_time"],
            "update_time": bill["update_time"],
        }
        if bill["state"] == "WAIT_USER_CONFIRM":
            record["package_info"] = bill["package_info"]
        return record

    # -- trade bills -------------------------------------------------------------------------
    async def trade_bill(self, request: Request) -> Response:
        _, refusal = await self.authenticate(request)
        if refusal is not None:
            return refusal
        day = request.query_params.get("bill_date", "")
        text = self.trade_bills.get(day)
        if text is None:
            return self.error(400, "NO_STATEMENT_EXIST", "账单文件不存在")
        digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()
        url = f"{self.base_url}/v3/billdownload/file?token={day}"
        return self.answer(200, {"hash_type": "SHA1", "hash_value": digest, "download_url": url})

    async def download_bill(self, request: Request) -> Response:
        _, refusal = await self.authenticate(request)
        if refusal is not None:
            return refusal
        text = self.trade_bills.get(request.query_params.get("token", ""))
        if text is None:
            return self.error(404, "NOT_FOUND", "账单不存在")
        return Response(text.encode(), media_type="application/octet-stream")  # not signed

    # -- what the buyer and WeChat Pay do later (called from the test) --------------------
    def pay(self, out_trade_no: str) -> None:
        with self.lock:
            trade = self.trades[out_trade_no]
            trade.trade_state = "SUCCESS"
            trade.transaction_id = "4200" + secrets.token_hex(12)
            resource = self._transaction(trade)
            self._notify(trade.body["notify_url"], resource, "TRANSACTION.SUCCESS")

    def complete_refund(self, out_refund_no: str) -> None:
        with self.lock:
            record = self.refunds[out_refund_no]
            record["status"] = "SUCCESS"
            record["success_time"] = "2026-12-01T11:00:00+08:00"
            if record.get("notify_url"):
                resource = {**_public(record), "mchid": self.mchid, "refund_status": "SUCCESS"}
                del resource["status"]
                self._notify(record["notify_url"], resource, "REFUND.SUCCESS")

    def _notify(self, url: str, resource: dict[str, Any], event_type: str) -> None:
        headers, body = msg.wechat_notification(
            apiv3_key=self.apiv3_key,
            key=self.key.private,
            serial=self.serial,
            resource=resource,
            timestamp=int(time.time()),
            event_type=event_type,
        )
        self.queue_notification(url, headers, body)

    def is_ack(self, status: int, body: bytes) -> bool:
        return status in (200, 204)

    def _transaction(self, trade: Trade) -> dict[str, Any]:
        data = msg.wechat_transaction(
            mchid=self.mchid,
            appid=self.appid,
            out_trade_no=trade.body["out_trade_no"],
            total=trade.body["amount"]["total"],
            trade_state=trade.trade_state,
            transaction_id=trade.transaction_id or None,
        )
        data["trade_type"] = trade.trade_type
        if trade.trade_state in ("NOTPAY", "CLOSED"):
            for absent in ("transaction_id", "success_time", "payer", "bank_type"):
                data.pop(absent)
        return data


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "notify_url"}
