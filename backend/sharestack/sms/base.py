"""The SMS port. An adapter sends one verification code to one E.164 number through a template
approved at the provider (the provider, not ShareStack, holds the wording and the signature).

Errors are split the way a job needs them: :class:`SmsTemporaryError` (network, throttling, a
provider 5xx) is worth retrying; :class:`SmsError` (a number or template the provider refuses,
bad credentials) is not, and retrying would only spend the day's quota."""

from __future__ import annotations

from typing import Protocol


class SmsError(Exception):
    """The provider refused the message for good (``code`` is the provider's error code)."""

    def __init__(self, provider: str, code: str, message: str) -> None:
        self.provider = provider
        self.code = code
        super().__init__(f"{provider}: {code}: {message}"[:300])


class SmsTemporaryError(SmsError):
    """Worth retrying later: a timeout, a 5xx, the provider's own rate limit."""


class SmsSender(Protocol):
    name: str

    async def send_code(self, phone: str, code: str) -> None:
        """Send ``code`` to ``phone`` (E.164, ``+8613800138000``)."""
        ...

    async def aclose(self) -> None: ...
