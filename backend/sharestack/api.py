"""Mounts every domain's router under /api/v1, one line each."""

from fastapi import APIRouter, Depends

from sharestack.auth.router import router as auth_router
from sharestack.callers.limits import api_rate_limit
from sharestack.content.router import router as content_router
from sharestack.payouts.router import router as payouts_router
from sharestack.users.router import router as users_router

api_router = APIRouter(prefix="/api/v1", dependencies=[Depends(api_rate_limit)])
api_router.include_router(auth_router)
api_router.include_router(users_router)
api_router.include_router(content_router)
api_router.include_router(payouts_router)
