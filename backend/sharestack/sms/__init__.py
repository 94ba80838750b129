"""Sending text messages (verification codes): one port, ``SmsSender``, and its adapters:
``console`` (development and tests), ``aliyun`` (Alibaba Cloud SMS, dysmsapi) and ``tencent``
(Tencent Cloud SMS). Knows no domain: the caller decides what a code is for."""

from sharestack.sms.base import SmsError, SmsSender, SmsTemporaryError

__all__ = ["SmsError", "SmsSender", "SmsTemporaryError"]
