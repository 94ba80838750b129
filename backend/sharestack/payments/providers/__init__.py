"""Payment provider adapters behind one port (``base.PaymentProvider``): WeChat Pay API v3,
Alipay, and a sandbox for development and tests. ``providers_from_settings`` builds the ones
this process is configured for."""

from sharestack.payments.providers.base import (
    Ack,
    AgreementRequest,
    CheckoutAction,
    Notification,
    NotificationRejected,
    Order,
    OrderNotFound,
    OrderState,
    PaymentProvider,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    RefundNotFound,
    RefundState,
    UnsupportedOperation,
    UntrustedResponse,
)
from sharestack.payments.providers.factory import (
    providers_from_settings,
    transfer_providers_from_settings,
)
from sharestack.payments.providers.transfers import (
    StatementLine,
    StatementProvider,
    TransferNotFound,
    TransferProvider,
    TransferRequest,
    TransferState,
)

__all__ = [
    "Ack",
    "AgreementRequest",
    "CheckoutAction",
    "Notification",
    "NotificationRejected",
    "Order",
    "OrderNotFound",
    "OrderState",
    "PaymentProvider",
    "ProviderError",
    "ProviderRejected",
    "ProviderUnavailable",
    "RefundNotFound",
    "RefundState",
    "StatementLine",
    "StatementProvider",
    "TransferNotFound",
    "TransferProvider",
    "TransferRequest",
    "TransferState",
    "UnsupportedOperation",
    "UntrustedResponse",
    "providers_from_settings",
    "transfer_providers_from_settings",
]
