"""Errors of phone and WeChat log-in and of linked identities (``sharestack.errors`` shape)."""

from sharestack.errors import AppError, Conflict, NotFound


class InvalidCode(AppError):
    status_code = 400
    code = "invalid_code"
    # One answer for wrong, expired and already used: nothing to learn from which.
    message = "The code is wrong or has expired; request a new one."

    def __init__(self) -> None:
        super().__init__(fields={"code": "wrong or expired"})


class CodeLocked(AppError):
    status_code = 429
    code = "too_many_attempts"
    message = "Too many wrong codes for this number; request a new code."


class InvalidState(AppError):
    status_code = 400
    code = "invalid_state"
    message = "The WeChat log-in does not match this browser's; start it again."

    def __init__(self) -> None:
        super().__init__(fields={"state": "missing, expired or not this browser's"})


class WechatRejected(AppError):
    status_code = 400
    code = "wechat_code_rejected"
    message = "WeChat did not accept the log-in code; start the log-in again."

    def __init__(self) -> None:
        super().__init__(fields={"code": "rejected by WeChat"})


class WechatUnavailable(AppError):
    status_code = 502
    code = "wechat_unavailable"
    message = "WeChat could not be reached or refused this server; try again shortly."


class NotEnabled(NotFound):
    code = "not_enabled"
    message = "This log-in method is not enabled on this server."


class IdentityTaken(Conflict):
    code = "identity_taken"
    message = "This identity belongs to another account."


class AlreadyLinked(Conflict):
    code = "already_linked"
    message = "Your account already has an identity of this kind; unlink it first."


class LastIdentity(Conflict):
    code = "last_identity"
    message = "This is your account's only way to sign in: link another one first."


class IdentityNotFound(NotFound):
    code = "identity_not_found"
    message = "Identity not found."


class AccountDisabled(AppError):
    status_code = 403
    code = "account_disabled"
    message = "This account is disabled."
