"""An Alipay open platform gateway simulator (public-key mode, RSA2): precreate, wap/page pay
and agreement signing pages (GET with signed parameters), query, close, refund, refund query,
recurring charges, and the form-encoded notifications; single transfers to Alipay accounts and
their query (``payees`` lists the accounts that exist, with their real names), and the trade
bill download (``bills[day] = zip bytes``). See tests/support/payment_simulators.py.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sharestack.payments.providers import _rsa
from sharestack.payments.providers import alipay_sign as sign
from sharestack.payments.providers._common import CHINA_TZ, china_timestamp
from sharestack.payments.providers.money import InvalidAmount, fen_to_yuan, yuan_to_fen
from tests.support import payment_messages as msg
from tests.support.payment_keys import KeyPair
from tests.support.payment_simulators import SimulatorBase

BAD_SIGNATURE = {
    "code": "40002",
    "msg": "Invalid Arguments",
    "sub_code": "isv.invalid-signature",
    "sub_msg": "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配",
}


PAGE_METHODS = ("alipay.trade.wap.pay", "alipay.trade.page.pay", "alipay.user.agreement.page.sign")


@dataclass
class Trade:
    out_trade_no: str
    total: int  # fen
    notify_url: str
    status: str = "WAIT_BUYER_PAY"
    scanned: bool = False  # precreate trades exist at Alipay only once the buyer scans
    trade_no: str = field(default_factory=lambda: "2026120122001" + secrets.token_hex(7))
    refunds: dict[str, int] = field(default_factory=dict)
    paid_at: str = ""


def _business_error(sub_code: str, sub_msg: str) -> dict[str, str]:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}


class AlipaySimulator(SimulatorBase):
    def __init__(self, *, app_id: str, seller_id: str, app_public_key: rsa.RSAPublicKey) -> None:
        super().__init__()
        self.app_id, self.seller_id, self.app_public_key = app_id, seller_id, app_public_key
        self.key = KeyPair.generate()  # Alipay's own key
        self.stranger = KeyPair.generate()
        self.trades: dict[str, Trade] = {}
        self.agreements: dict[str, dict[str, str]] = {}  # external_agreement_no -> record
        self.payees: dict[str, str] = {}  # identity -> real name
        self.transfers: dict[str, dict[str, Any]] = {}  # out_biz_no -> transfer
        self.transfer_requests = 0
        self.bills: dict[str, bytes] = {}  # bill_date -> zip
        self.app = Starlette(
            routes=[
                Route("/gateway.do", self.gateway, methods=["GET", "POST"]),
                Route("/bills/{day:str}.zip", self.download_bill, methods=["GET"]),
            ]
        )

    # -- the provider's side of the handshake -------------------------------------------------
    def answer(self, method: str, data: dict[str, Any], signed: bool = True) -> Response:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        key = self.stranger.private if self.knobs.take_bad_signature() else self.key.private
        body = '{"' + sign.response_key(method) + '":' + text
        if signed:
            body += ',"sign":"' + _rsa.sign(key, text) + '"'
        return Response(body + "}", media_type="application/json;charset=utf-8")

    def verify(self, params: dict[str, str]) -> bool:
        common_ok = (
            params.get("app_id") == self.app_id
            and params.get("sign_type") == "RSA2"
            and params.get("charset") == "utf-8"
            and params.get("version") == "1.0"
            and params.get("format", "JSON") == "JSON"
        )
        try:
            sent = datetime.strptime(params.get("timestamp", ""), "%Y-%m-%d %H:%M:%S")
            fresh = abs(sent.replace(tzinfo=CHINA_TZ).timestamp() - time.time()) < 600
        except ValueError:
            fresh = False
        message = sign.signing_string(params)
        return (
            common_ok
            and fresh
            and _rsa.verify(self.app_public_key, message, params.get("sign", ""))
        )

    async def gateway(self, request: Request) -> Response:
        self.requests += 1
        raw = request.url.query if request.method == "GET" else (await request.body()).decode()
        params = dict(parse_qsl(raw, keep_blank_values=True))
        method = params.get("method", "")
        queued = await self.knobs.before_call()
        if queued is not None:
            return self.answer(method, queued)
        if not self.verify(params):
            if method in PAGE_METHODS:  # the cashier shows an error page instead
                return Response(json.dumps(BAD_SIGNATURE, ensure_ascii=False), 400)
            # Alipay cannot sign an answer to a request it could not authenticate.
            return self.answer(method, BAD_SIGNATURE, signed=False)
        try:
            biz = json.loads(params.get("biz_content", "{}"))
        except ValueError:
            return self.answer(method, {"code": "40002", "msg": "Invalid Arguments"})
        handler = {
            "alipay.trade.precreate": self.precreate,
            "alipay.trade.wap.pay": self.page_pay,
            "alipay.trade.page.pay": self.page_pay,
            "alipay.user.agreement.page.sign": self.agreement_page,
            "alipay.trade.query": self.query,
            "alipay.trade.close": self.close,
            "alipay.trade.refund": self.refund,
            "alipay.trade.fastpay.refund.query": self.refund_query,
            "alipay.trade.pay": self.charge,
            "alipay.fund.trans.uni.transfer": self.transfer,
            "alipay.fund.trans.common.query": self.query_transfer,
            "alipay.data.dataservice.bill.downloadurl.query": self.bill_url,
        }.get(method)
        if handler is None:
            return self.answer(method, {"code": "40002", "sub_code": "isv.invalid-method"})
        with self.lock:
            result = handler(params, biz)
        if method in PAGE_METHODS:
            ok = result.get("code") == "10000"
            return Response("<html>收银台</html>" if ok else json.dumps(result), 200 if ok else 400)
        return self.answer(method, result)

    # -- methods (called with the lock held) -----------------------------------------------
    def _new_trade(
        self, params: dict[str, str], biz: dict[str, Any], scanned: bool
    ) -> dict[str, Any]:
        otn = biz.get("out_trade_no")
        try:
            total = yuan_to_fen(biz.get("total_amount", ""))
        except InvalidAmount:
            return {
                "code": "40002",
                "msg": "Invalid Arguments",
                "sub_code": "isv.invalid-parameter",
            }
        if not otn or not biz.get("subject"):
            return {
                "code": "40001",
                "msg": "Missing Required Arguments",
                "sub_code": "isv.missing-parameter",
            }
        existing = self.trades.get(otn)
        if existing is not None and existing.total != total:
            return _business_error("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
        if existing is not None and existing.status != "WAIT_BUYER_PAY":
            return _business_error("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
        trade = existing or Trade(otn, total, params.get("notify_url", ""))
        trade.scanned = trade.scanned or scanned
        self.trades[otn] = trade
        return {"code": "10000", "msg": "Success", "out_trade_no": otn}

    def precreate(self, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        result = self._new_trade(params, biz, scanned=False)
        if result["code"] == "10000":
            result["qr_code"] = "https://qr.alipay.com/bax0" + secrets.token_hex(10)
        return result

    def page_pay(self, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        if biz.get("product_code") not in ("QUICK_WAP_WAY", "FAST_INSTANT_TRADE_PAY"):
            return {"code": "40002", "sub_code": "isv.invalid-parameter", "sub_msg": "product_code"}
        return self._new_trade(params, biz, scanned=True)

    def agreement_page(self, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        rule = biz.get("period_rule_params") or {}
        if (
            biz.get("personal_product_code") != "CYCLE_PAY_AUTH_P"
            or not biz.get("external_agreement_no")
            or not {"period_type", "period", "execute_time", "single_amount"} <= set(rule)
        ):
            return {"code": "40002", "sub_code": "isv.invalid-parameter"}
        self.agreements[biz["external_agreement_no"]] = {
            "status": "TEMP",
            "notify_url": params.get("notify_url", ""),
            "agreement_no": "2026120" + secrets.token_hex(7),
            "single_amount": rule["single_amount"],
        }
        return {"code": "10000"}

    def query(self, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        trade = self.trades.get(biz.get("out_trade_no", ""))
        if trade is None or not trade.scanned:
            return _business_error("ACQ.TRADE_NOT_EXIST", "交易不存在")
        result = {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.status,
            "total_amount": fen_to_yuan(trade.total),
        }
        if trade.paid_at:
            result["send_pay_date"] = trade.paid_at
        return result

    def close(self, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        trade = self.trades.get(biz.get("out_trade_no", ""))
        if trade is None or not trade.scanned:
            return _business_error("ACQ.TRADE_NOT_EXIST", "交易不存在")
        if trade.status != "WAIT_BUYER_PAY":
            return _business_error("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        trade.status = "TRADE_CLOSED"
        return {"code": "10000", "msg": "Success", "trade_no": trade.trade_no}

    def refund(self, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        trade = self.trades.get(biz.get("out_trade_no", ""))
        if trade is None or not trade.scanned:
            return _business_error("ACQ.TRADE_NOT_EXIST", "交易不存在")
        request_no = biz.get("out_request_no") or trade.out_trade_no
        fund_change = "N"
        if request_no not in trade.refunds:
            if trade.status != "TRADE_SUCCESS":
                return _business_error("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
            try:
                amount = yuan_to_fen(biz.get("refund_amount", ""))
            except InvalidAmount:
                return {"code": "40002", "sub_code": "isv.invalid-parameter"}
            if not 0 < amount <= trade.total - sum(trade.refunds.values()):
                return _business_error("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
            trade.refunds[request_no] = amount
            fund_change = "Y"
            if sum(trade.refunds.values()) == trade.total:
                trade.status = "TRADE_CLOSED"
            self._notify_trade(trade, {"out_biz_no": request_no})
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "fund_change": fund_change,
            "refund_fee": fen_to_yuan(sum(trade.refunds.values())),  # cumulative, as Alipay does
            "gmt_refund_pay": china_timestamp(time.time()),
        }

    def refund_query(self, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        trade = self.trades.get(biz.get("out_trade_no", ""))
        request_no = biz.get("out_request_no", "")
        if trade is None or request_no not in trade.refunds:
            return {"code": "10000", "msg": "Success", "out_request_no": request_no}
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "out_request_no": request_no,
            "total_amount": fen_to_yuan(trade.total),
            "refund_amount": fen_to_yuan(trade.refunds[request_no]),
            "refund_status": "REFUND_SUCCESS",
        }

    def charge(self, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        agreement_no = (biz.get("agreement_params") or {}).get("agreement_no")
        if biz.get("product_code") != "GENERAL_WITHHOLDING" or not agreement_no:
            return {"code": "40002", "sub_code": "isv.invalid-parameter", "sub_msg": "product_code"}
        signed = [a for a in self.agreements.values() if a["agreement_no"] == agreement_no]
        if not signed or signed[0]["status"] != "NORMAL":
            return _business_error("ACQ.AGREEMENT_NOT_EXIST", "协议不存在")
        result = self._new_trade(params, biz, scanned=True)
        if result["code"] != "10000":
            return result
        trade = self.trades[biz["out_trade_no"]]
        if trade.total > yuan_to_fen(signed[0]["single_amount"]):
            del self.trades[trade.out_trade_no]
            return _business_error("ACQ.EXCEED_SINGLE_AMOUNT", "超过单笔限额")
        self._settle(trade)
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "total_amount": fen_to_yuan(trade.total),
            "gmt_payment": trade.paid_at,
        }

    def transfer(self, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        self.transfer_requests += 1
        if biz.get("product_code") != "TRANS_ACCOUNT_NO_PWD" or biz.get("biz_scene") != (
            "DIRECT_TRANSFER"
        ):
            return {"code": "40002", "sub_code": "isv.invalid-parameter", "sub_msg": "product_code"}
        no, payee = biz.get("out_biz_no", ""), biz.get("payee_info") or {}
        try:
            amount = yuan_to_fen(biz.get("trans_amount", ""))
        except InvalidAmount:
            return {"code": "40002", "sub_code": "isv.invalid-parameter", "sub_msg": "amount"}
        if no in self.transfers:
            if self.transfers[no]["biz"] != biz:
                return _business_error("INVALID_PARAMETER", "外部订单号重复，参数不一致")
            return self._transfer_answer(self.transfers[no])
        identity, kind = payee.get("identity", ""), payee.get("identity_type")
        if kind not in ("ALIPAY_USER_ID", "ALIPAY_LOGON_ID"):
            return _business_error("INVALID_PARAMETER", "identity_type")
        if kind == "ALIPAY_LOGON_ID" and not payee.get("name"):
            return _business_error("PAYEE_USERINFO_STATUS_ERROR", "登录号转账需提供收款方姓名")
        if identity not in self.payees:
            return _business_error("PAYEE_NOT_EXIST", "收款账号不存在")
        if payee.get("name") and payee["name"] != self.payees[identity]:
            return _business_error("PAYEE_USER_INFO_ERROR", "收款方姓名与账户不一致")
        record = {
            "biz": biz,
            "amount": amount,
            "order_id": "20261201110070000006" + secrets.token_hex(6),
            "pay_fund_order_id": "20261201110070001506" + secrets.token_hex(6),
            "status": "SUCCESS",
            "trans_date": china_timestamp(time.time()),
        }
        self.transfers[no] = record
        return self._transfer_answer(record)

    def _transfer_answer(self, record: dict[str, Any]) -> dict[str, Any]:
        return {
            "code": "10000",
            "msg": "Success",
            "out_biz_no": record["biz"]["out_biz_no"],
            "order_id": record["order_id"],
            "pay_fund_order_id": record["pay_fund_order_id"],
            "status": record["status"],
            "trans_date": record["trans_date"],
        }

    def query_transfer(self, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        record = self.transfers.get(biz.get("out_biz_no", ""))
        if record is None:
            return _business_error("ORDER_NOT_EXIST", "转账订单不存在")
        return {
            **self._transfer_answer(record),
            "trans_amount": fen_to_yuan(record["amount"]),
            "pay_date": record["trans_date"],
        }

    def bill_url(self, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        day = biz.get("bill_date", "")
        if biz.get("bill_type") != "trade" or day not in self.bills:
            return _business_error("isp.bill_not_exist", "账单不存在")
        return {
            "code": "10000",
            "msg": "Success",
            "bill_download_url": f"{self.base_url}/bills/{day}.zip",
        }

    async def download_bill(self, request: Request) -> Response:
        data = self.bills.get(request.path_params["day"])
        if data is None:
            return Response(b"", 404)
        return Response(data, media_type="application/oct-stream")

    # -- what the buyer and Alipay do later (called from the test) ------------------------
    def pay(self, out_trade_no: str, trade_status: str = "TRADE_SUCCESS") -> None:
        with self.lock:
            trade = self.trades[out_trade_no]
            trade.scanned = True
            self._settle(trade, trade_status)

    def finish(self, out_trade_no: str) -> None:
        """The refund window closes: TRADE_FINISHED, after TRADE_SUCCESS."""
        with self.lock:
            trade = self.trades[out_trade_no]
            trade.status = "TRADE_FINISHED"
            self._notify_trade(trade)

    def confirm_agreement(self, external_agreement_no: str) -> str:
        with self.lock:
            record = self.agreements[external_agreement_no]
            record["status"] = "NORMAL"
            params = msg.alipay_agreement_params(
                app_id=self.app_id,
                agreement_no=record["agreement_no"],
                external_agreement_no=external_agreement_no,
                notify_type="dut_user_sign",
                now=time.time(),
            )
            self.queue_notification(
                record["notify_url"], *msg.alipay_form(self.key.private, params)
            )
            return record["agreement_no"]

    def _settle(self, trade: Trade, trade_status: str = "TRADE_SUCCESS") -> None:
        trade.status = trade_status
        trade.paid_at = china_timestamp(time.time())
        self._notify_trade(trade)

    def _notify_trade(self, trade: Trade, extra: dict[str, str] | None = None) -> None:
        if not trade.notify_url:
            return
        fields = dict(extra or {})
        if trade.refunds:
            fields["refund_fee"] = fen_to_yuan(sum(trade.refunds.values()))
            fields["gmt_refund"] = china_timestamp(time.time()) + ".000"
        params = msg.alipay_trade_params(
            app_id=self.app_id,
            seller_id=self.seller_id,
            out_trade_no=trade.out_trade_no,
            total_amount=fen_to_yuan(trade.total),
            trade_status=trade.status,
            now=time.time(),
            trade_no=trade.trade_no,
            extra=fields,
        )
        self.queue_notification(trade.notify_url, *msg.alipay_form(self.key.private, params))

    def is_ack(self, status: int, body: bytes) -> bool:
        return status == 200 and body == b"success"
