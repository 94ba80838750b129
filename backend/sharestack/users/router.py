from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from sharestack.auth.dependencies import CurrentUser
from sharestack.db.session import WriteSessionDep
from sharestack.users import cached, service
from sharestack.users.schemas import MeRead, ProfileRead, ProfileUpdate

router = APIRouter(tags=["users"])

UserIdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/me")
async def read_me(user: CurrentUser, session: WriteSessionDep) -> MeRead:
    return await MeRead.load(session, user)


@router.patch("/me")
async def update_me(body: ProfileUpdate, user: CurrentUser, session: WriteSessionDep) -> MeRead:
    await service.update_profile(session, user.id, body)
    return await MeRead.load(session, user)


@router.get("/users/{user_id}", response_model=ProfileRead)
async def read_profile(user_id: UserIdPath, request: Request) -> Response:
    return await cached.public_profile(request, user_id)
