"""The providers' daily statements, parsed into :class:`StatementLine` (pure functions, no I/O).

WeChat Pay trade bill (``GET /v3/bill/tradebill`` → ``download_url``; UTF-8 CSV): a header row,
then one row per event with every field prefixed by a backtick (so that spreadsheet programs
keep long numbers as text), then a summary header (``总交易单数,...``) and one summary row.
``交易状态`` ``SUCCESS`` is a payment (``订单金额``, the order total we asked for); ``REFUND`` is a
refund (``申请退款金额``, the amount we asked to refund, with ``商户退款单号``). Other states
(``REVOKED``, micropay only) are not ours and are skipped.

Alipay bill (``alipay.data.dataservice.bill.downloadurl.query`` → ``bill_download_url``): a zip
of GBK CSV files; the detail file is ``..._业务明细.csv`` (the ``(汇总)`` one is a summary).
Comment lines start with ``#``; fields are padded with tabs. ``业务类型`` ``交易`` is a payment,
``退款`` a refund (``退款批次号/请求号`` is our ``out_refund_no``); the amount is the absolute value
of ``订单金额（元）`` (negative on refund rows).

Amounts are yuan with at most two decimals, parsed with :class:`decimal.Decimal`: a value that is
not an exact fen amount raises :class:`StatementError` instead of being rounded into one.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from sharestack.payments.providers._common import CHINA_TZ
from sharestack.payments.providers.transfers import StatementKind, StatementLine


class StatementError(ValueError):
    """A statement that cannot be read as documented (the whole statement is refused)."""


def parse_yuan(text: str) -> int:
    """``"12.34"`` → 1234, ``"-0.07"`` → -7; anything inexact or not a number is refused."""
    cleaned = text.strip().lstrip("`").replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise StatementError(f"not an amount: {text!r}") from None
    if not value.is_finite():
        raise StatementError(f"not an amount: {text!r}")
    fen = value * 100
    if fen != fen.to_integral_value():
        raise StatementError(f"more than two decimals: {text!r}")
    return int(fen)


def _china_time(text: str) -> datetime | None:
    try:
        naive = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return naive.replace(tzinfo=CHINA_TZ).astimezone(UTC)


# -- WeChat Pay ---------------------------------------------------------------------------------

_WECHAT_SUMMARY = "总交易单数"


def parse_wechat_trade_bill(text: str, provider: str = "wechatpay") -> list[StatementLine]:
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        return []
    header = [h.strip() for h in rows[0]]
    index = {name: i for i, name in enumerate(header)}
    for required in ("交易时间", "微信订单号", "商户订单号", "交易状态"):
        if required not in index:
            raise StatementError(f"WeChat Pay bill without a {required} column")
    total_column = "订单金额" if "订单金额" in index else "应结订单金额"
    refund_column = "申请退款金额" if "申请退款金额" in index else "退款金额"
    lines = []
    for row in rows[1:]:
        if not row or not "".join(row).strip():
            continue
        if row[0].strip() == _WECHAT_SUMMARY:
            break  # the summary block closes the detail rows
        if len(row) < len(header):
            raise StatementError(f"short WeChat Pay bill row: {row[:3]}")
        field = [cell.strip().lstrip("`").strip() for cell in row]

        def get(name: str, field: list[str] = field) -> str:
            return field[index[name]] if name in index else ""

        state = get("交易状态")
        if state not in ("SUCCESS", "REFUND"):
            continue
        refund = state == "REFUND"
        lines.append(
            StatementLine(
                provider=provider,
                kind="refund" if refund else "payment",
                out_trade_no=get("商户订单号"),
                amount=abs(parse_yuan(get(refund_column if refund else total_column))),
                out_refund_no=(get("商户退款单号") or None) if refund else None,
                provider_ref=get("微信订单号") or None,
                occurred_at=_china_time(get("交易时间")),
            )
        )
    return lines


# -- Alipay -------------------------------------------------------------------------------------


def _member_name(info: zipfile.ZipInfo) -> str:
    if info.flag_bits & 0x800:  # the name is UTF-8 already
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def alipay_detail_csv(archive: bytes) -> str:
    """The detail CSV of an Alipay bill zip, decoded from GBK."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
            members = [
                info
                for info in bundle.infolist()
                if "业务明细" in _member_name(info) and "汇总" not in _member_name(info)
            ]
            if len(members) != 1:
                raise StatementError(f"expected one detail file in the bill, found {len(members)}")
            raw = bundle.read(members[0])
    except zipfile.BadZipFile as exc:
        raise StatementError(f"not a zip archive: {exc}") from None
    try:
        return raw.decode("gb18030")  # a superset of GBK: never fails on a valid GBK file
    except UnicodeDecodeError as exc:
        raise StatementError(f"the detail file is not GBK: {exc}") from None


def _header_name(cell: str) -> str:
    return cell.strip().replace("（元）", "").replace("(元)", "")


def parse_alipay_detail(text: str, provider: str = "alipay") -> list[StatementLine]:
    data = [line for line in text.lstrip("\ufeff").splitlines() if not line.startswith("#")]
    rows = [row for row in csv.reader(data) if row and "".join(row).strip()]
    if not rows:
        return []
    index = {_header_name(h): i for i, h in enumerate(rows[0])}
    for required in ("支付宝交易号", "商户订单号", "业务类型", "订单金额"):
        if required not in index:
            raise StatementError(f"Alipay bill without a {required} column")
    lines = []
    for row in rows[1:]:
        field = [cell.strip() for cell in row]
        if len(field) < len(index):
            raise StatementError(f"short Alipay bill row: {field[:3]}")

        def get(name: str, field: list[str] = field) -> str:
            return field[index[name]] if name in index else ""

        business = get("业务类型")
        if business not in ("交易", "退款"):
            continue
        kind: StatementKind = "refund" if business == "退款" else "payment"
        lines.append(
            StatementLine(
                provider=provider,
                kind=kind,
                out_trade_no=get("商户订单号"),
                amount=abs(parse_yuan(get("订单金额"))),
                out_refund_no=(get("退款批次号/请求号") or None) if kind == "refund" else None,
                provider_ref=get("支付宝交易号") or None,
                occurred_at=_china_time(get("完成时间") or get("创建时间")),
            )
        )
    return lines


def parse_alipay_bill(archive: bytes, provider: str = "alipay") -> list[StatementLine]:
    return parse_alipay_detail(alipay_detail_csv(archive), provider)
