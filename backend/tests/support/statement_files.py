"""Statement files as the providers publish them, for the parser tests, the simulators and the
reconciliation tests: a WeChat Pay trade bill (CSV, backtick-prefixed fields, summary block)
and an Alipay bill (zip of GBK CSV files with ``#`` comment lines and tab-padded fields)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass

from sharestack.payments.providers.money import fen_to_yuan

WECHAT_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,"
    "充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,"
    "费率备注"
)
ALIPAY_HEADER = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,"
    "终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,"
    "商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,"
    "退款批次号/请求号,服务费（元）,分润（元）,备注"
)


@dataclass(frozen=True)
class Row:
    out_trade_no: str
    amount: int  # fen, positive
    refund_no: str | None = None  # a refund row when set
    at: str = "2026-12-01 10:00:00"


def _fee(fen: int) -> str:
    return fen_to_yuan(fen * 6 // 1000)


def wechat_trade_bill(rows: Iterable[Row]) -> str:
    lines = [WECHAT_HEADER]
    total = refunds = count = 0
    for i, row in enumerate(rows):
        count += 1
        refund = row.refund_no is not None
        amount = fen_to_yuan(row.amount)
        fields = [
            row.at, "wxd678efh567hg6787", "1900000109", "0", "",
            f"4200{i:024d}", row.out_trade_no, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "NATIVE",
            "REFUND" if refund else "SUCCESS", "OTHERS", "CNY",
            "0.00" if refund else amount, "0.00",
            f"5030{i:024d}" if refund else "0", row.refund_no or "0",
            amount if refund else "0.00", "0.00", "ORIGINAL" if refund else "",
            "SUCCESS" if refund else "", "会员订阅", "", _fee(row.amount), "0.60%",
            "0.00" if refund else amount, amount if refund else "0.00", "",
        ]  # fmt: skip
        lines.append(",".join("`" + f for f in fields))
        if refund:
            refunds += row.amount
        else:
            total += row.amount
    lines.append(
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
    )
    lines.append(
        ",".join(
            "`" + f
            for f in (
                str(count),
                fen_to_yuan(total),
                fen_to_yuan(refunds),
                "0.00",
                "0.00",
                fen_to_yuan(total),
                fen_to_yuan(refunds),
            )
        )
    )
    return "\r\n".join(lines) + "\r\n"


def alipay_detail_csv(rows: Iterable[Row]) -> str:
    lines = [
        "#支付宝业务明细查询",
        "#账号：[20881021462251350156]",
        "#起始日期：[2026年12月01日 00:00:00]   终止日期：[2026年12月02日 00:00:00]",
        "#-----------------------------------------业务明细列表----------------------------------------",
        ALIPAY_HEADER,
    ]
    trades = refunds = 0
    for i, row in enumerate(rows):
        refund = row.refund_no is not None
        amount = ("-" if refund else "") + fen_to_yuan(row.amount)
        fields = [
            f"20261201220014{i:014d}", row.out_trade_no, "退款" if refund else "交易", "会员订阅",
            row.at, row.at, "", "", "", "", "buyer***@example.com", amount, amount,
            "0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00", "0.00", row.refund_no or "",
            "-" + _fee(row.amount), "0.00", "",
        ]  # fmt: skip
        lines.append(",".join(f + "\t" for f in fields))
        refunds, trades = refunds + refund, trades + (not refund)
    lines += [
        "#-----------------------------------------业务明细列表结束------------------------------------",
        f"#交易合计：{trades}笔，退款合计：{refunds}笔",
        "#导出时间：[2026年12月02日 09:00:00]",
    ]
    return "\r\n".join(lines) + "\r\n"


class _GbkName(zipfile.ZipInfo):
    """Stores the name's GBK bytes without the UTF-8 flag, as Alipay's (Windows) zips do."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode("gbk"), self.flag_bits


def alipay_bill_zip(rows: Iterable[Row], day: str = "20261201") -> bytes:
    """As Alipay ships it: GBK files whose names are GBK too (no UTF-8 flag)."""
    buffer = io.BytesIO()
    detail = alipay_detail_csv(rows).encode("gbk")
    summary = "#支付宝业务汇总查询\r\n".encode("gbk")
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in (
            (f"20881021462251350156_{day}_业务明细.csv", detail),
            (f"20881021462251350156_{day}_业务明细(汇总).csv", summary),
        ):
            info = _GbkName(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, data)
    return buffer.getvalue()
