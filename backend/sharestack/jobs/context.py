"""What a job function receives: the process's shared resources."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sharestack.cache.aside import CacheAside
    from sharestack.cache.redis import RedisRoles
    from sharestack.config import Settings
    from sharestack.db.engine import Database


@dataclass
class JobContext:
    settings: Settings
    db: Database
    redis: RedisRoles
    cache: CacheAside
