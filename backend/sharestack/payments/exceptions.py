from sharestack.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    message = "Payment not found."


class ProviderNotOffered(InvalidInput):
    code = "provider_not_offered"
    message = "This payment provider is not offered here."


class AutoRenewUnsupported(InvalidInput):
    code = "auto_renew_unsupported"
    message = (
        "Automatic renewal is not available with this provider (WeChat Pay's 委托代扣 is an API "
        "v2 product): check out a fixed term instead."
    )


class CheckoutRejected(AppError):
    status_code = 502
    code = "provider_rejected"
    message = "The payment provider refused the order."


class NotPaymentCreator(Forbidden):
    code = "not_payment_creator"
    message = "Only the creator who was paid can refund this payment."


class PaymentNotRefundable(Conflict):
    code = "payment_not_refundable"
    message = "Only a succeeded payment can be refunded."


class RefundExceedsPayment(Conflict):
    code = "refund_exceeds_payment"
    message = "The refund is more than what is left of the payment."


class RefundRejected(AppError):
    status_code = 502
    code = "provider_rejected"
    message = "The payment provider refused the refund."


class SandboxUnavailable(NotFound):
    code = "not_found"
    message = "Not found."
