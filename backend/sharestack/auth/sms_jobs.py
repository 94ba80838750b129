"""The SMS job (registered through ``sharestack.job_index``). The code arrives sealed
(``phone_codes.seal``): only this job, holding SECRET_KEY, opens it."""

from __future__ import annotations

import logging

from sharestack.auth.phone_codes import unseal
from sharestack.jobs.registry import job
from sharestack.resources import Resources
from sharestack.sms import SmsError, SmsTemporaryError

logger = logging.getLogger(__name__)


@job(retries=3, retry_delay=2.0, timeout=30)
async def send_sms_code(ctx: Resources, *, phone: str, sealed: str) -> None:
    """Send one verification code. Retried only for temporary failures; a code outlives a few
    retries (5 minutes), and a late duplicate is harmless: it is the same code."""
    code = unseal(ctx.settings.secret_key, phone, sealed)
    if code is None or ctx.sms is None:
        logger.error("SMS code job dropped: unreadable code or no SMS provider")
        return
    try:
        await ctx.sms.send_code(phone, code)
    except SmsTemporaryError:
        raise
    except SmsError as exc:
        # The provider refused for good (a number it will not serve, a template or key problem):
        # retrying spends quota and cannot succeed. Logged without the code.
        logger.error("SMS refused by %s: %s", exc.provider, exc.code)
