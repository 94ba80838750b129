"""The auth domain's jobs: the emails with single-use links (registered through
``sharestack.job_index``). Each issues its token and sends it: the token is never stored in
clear, not even in the outbox or the queue. A retry (SMTP down) issues a fresh token, which
retires the one whose mail may not have gone out."""

from __future__ import annotations

from datetime import timedelta

from sharestack.auth import tokens
from sharestack.auth.recovery import RESET, VERIFY
from sharestack.db.after_commit import write_transaction
from sharestack.email import EmailMessage
from sharestack.jobs.registry import job
from sharestack.resources import Resources
from sharestack.users import service as users_service


def _link(ctx: Resources, page: str, token: str) -> str:
    # The token rides in the fragment: browsers do not send it to servers (no access logs, no
    # Referer); the page posts it to the API.
    return f"{ctx.settings.public_base_url.rstrip('/')}/{page}#token={token}"


async def _issue(ctx: Resources, user_id: int, purpose: str, ttl: int) -> tuple[str, str] | None:
    async with write_transaction(ctx.db) as session:
        user = await users_service.get(session, user_id)
        if user is None or user.status != "active" or user.email is None:
            # Deleted or disabled since, or no address (phone or WeChat only): nothing to send.
            return None
        if purpose == VERIFY and user.email_verified_at is not None:
            return None
        token = await tokens.issue(
            session, ctx.settings.secret_key, user_id, purpose, timedelta(seconds=ttl)
        )
        return user.email, token


@job(retries=5, retry_delay=5.0, timeout=60)
async def send_password_reset(ctx: Resources, *, user_id: int) -> None:
    ttl = ctx.settings.password_reset_ttl_seconds
    issued = await _issue(ctx, user_id, RESET, ttl)
    if issued is None:
        return
    email, token = issued
    minutes = ttl // 60
    await ctx.mailer.send(
        EmailMessage(
            to=email,
            subject="Reset your ShareStack password / 重置密码",
            text=(
                "Someone (we hope you) asked to reset the password of your ShareStack account.\n"
                f"Open this link within {minutes} minutes to choose a new one:\n\n"
                f"{_link(ctx, 'reset-password', token)}\n\n"
                "If it was not you, ignore this email: your password stays as it is.\n\n"
                f"有人请求重置您的 ShareStack 密码。请在 {minutes} 分钟内打开上面的链接设置新密码；"
                "如非本人操作，请忽略此邮件。\n"
            ),
        )
    )


@job(retries=5, retry_delay=5.0, timeout=60)
async def send_email_verification(ctx: Resources, *, user_id: int) -> None:
    issued = await _issue(ctx, user_id, VERIFY, ctx.settings.email_verify_ttl_seconds)
    if issued is None:
        return
    email, token = issued
    await ctx.mailer.send(
        EmailMessage(
            to=email,
            subject="Confirm your email address / 验证邮箱",
            text=(
                "Confirm that this address belongs to your ShareStack account:\n\n"
                f"{_link(ctx, 'verify-email', token)}\n\n"
                "请打开上面的链接验证您的邮箱地址。\n"
            ),
        )
    )
