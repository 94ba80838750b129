"""Mounts every domain's router under /api/v1, one line each."""

from fastapi import APIRouter, Depends

from sharestack.auth.router import router as auth_router
from sharestack.callers.limits import api_rate_limit
from sharestack.content.router import router as content_router
from sharestack.openapi import errors
from sharestack.users.router import router as users_router

# Every route here is rate limited (429) and resolves the caller in Redis (503 when it is down).
api_router = APIRouter(
    prefix="/api/v1", dependencies=[Depends(api_rate_limit)], responses=errors(429, 503)
)
api_router.include_router(auth_router)
api_router.include_router(users_router)
api_router.include_router(content_router)
