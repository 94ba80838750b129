"""Mounts every domain's router under /api/v1, one line each."""

from fastapi import APIRouter, Depends

from sharestack.accounts.router import router as accounts_router
from sharestack.auth.identity_router import me_router as identities_router
from sharestack.auth.identity_router import router as phone_wechat_router
from sharestack.auth.password_router import router as passwords_router
from sharestack.auth.router import router as auth_router
from sharestack.callers.limits import api_rate_limit
from sharestack.callers.router import router as sessions_router
from sharestack.content.router import router as content_router
from sharestack.media.router import router as media_router
from sharestack.openapi import errors
from sharestack.payments.router import router as payments_router
from sharestack.payments.router import webhook_router
from sharestack.payouts.router import router as payouts_router
from sharestack.subscriptions.router import router as subscriptions_router
from sharestack.users.router import router as users_router

# Every route here is rate limited (429) and resolves the caller in Redis (503 when it is down).
limited = APIRouter(dependencies=[Depends(api_rate_limit)], responses=errors(429, 503))
limited.include_router(auth_router)
limited.include_router(phone_wechat_router)
limited.include_router(identities_router)
limited.include_router(passwords_router)
limited.include_router(users_router)
limited.include_router(sessions_router)
limited.include_router(accounts_router)
limited.include_router(content_router)
limited.include_router(media_router)
limited.include_router(subscriptions_router)
limited.include_router(payments_router)
limited.include_router(payouts_router)

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(limited)
# Provider notifications: outside the per-IP limit (providers retry from a few addresses).
api_router.include_router(webhook_router)
