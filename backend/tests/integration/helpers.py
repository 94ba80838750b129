from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

PASSWORD = "correct horse battery"


@dataclass
class Account:
    user_id: int
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def signup(client: httpx.AsyncClient, name: str = "user") -> Account:
    email = f"{name}-{secrets.token_hex(4)}@example.com"
    r = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "display_name": name}
    )
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    # Tests act as API clients with explicit bearer headers; an anonymous request must not
    # carry the last log-in's cookie.
    client.cookies.clear()
    return Account(user_id=r.json()["user_id"], email=email, token=r.json()["token"])


async def draft(client: httpx.AsyncClient, who: Account, **fields: Any) -> dict[str, Any]:
    body = {"title": "标题 Title", "body": "正文 body 🚀", "tags": ["科技"]} | fields
    r = await client.post("/api/v1/contents", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def published(client: httpx.AsyncClient, who: Account, **fields: Any) -> dict[str, Any]:
    item = await draft(client, who, **fields)
    r = await client.post(f"/api/v1/contents/{item['id']}/publish", headers=who.headers)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data
