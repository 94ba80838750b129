from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from sharestack.dependencies import CachedReadsDep, WriteSessionDep
from sharestack.openapi import errors
from sharestack.responses import JSONBytes
from sharestack.users import service
from sharestack.users.dependencies import CurrentUser
from sharestack.users.schemas import MeRead, ProfileRead, ProfileUpdate

router = APIRouter(tags=["users"])

UserIdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/me")
async def read_me(user: CurrentUser, session: WriteSessionDep) -> MeRead:
    return await service.me(session, user)


@router.patch("/me", responses=errors(404))
async def update_me(body: ProfileUpdate, user: CurrentUser, session: WriteSessionDep) -> MeRead:
    await service.update_profile(session, user.id, body)
    return await service.me(session, user)


@router.get("/users/{user_id}", response_model=ProfileRead, responses=errors(404))
async def read_profile(user_id: UserIdPath, reads: CachedReadsDep) -> JSONBytes:
    return JSONBytes(await service.public_profile_json(reads, user_id))
