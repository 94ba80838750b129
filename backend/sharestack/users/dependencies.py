"""The signed-in user, loaded from the primary (authentication never reads a replica)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from sharestack.callers.dependencies import CurrentCaller
from sharestack.dependencies import WriteSessionDep
from sharestack.errors import Unauthorized
from sharestack.users import service
from sharestack.users.models import User


async def current_user(caller: CurrentCaller, session: WriteSessionDep) -> User:
    user = await service.get(session, caller.user_id)
    if user is None or user.status != "active":
        raise Unauthorized()
    return user


CurrentUser = Annotated[User, Depends(current_user)]
