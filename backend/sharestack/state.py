"""The API process's state: built once in the lifespan (``main.py``), read by handlers only
through the dependencies in ``sharestack.dependencies``."""

from __future__ import annotations

from dataclasses import dataclass, field

from sharestack.config import Settings
from sharestack.jobs.runtime import ApiJobs
from sharestack.ratelimit.limiter import RateLimiter, RateLimits
from sharestack.readiness import ReadinessCheck, default_checks
from sharestack.resources import ProvidersFactory, Resources


@dataclass(eq=False)
class AppState(Resources):
    rate_limits: RateLimits = field(kw_only=True)
    # None when RATE_LIMIT_ENABLED is false.
    ratelimiter: RateLimiter | None = field(kw_only=True)
    jobs: ApiJobs = field(kw_only=True)
    readiness: list[ReadinessCheck] = field(kw_only=True)

    @classmethod
    async def start(
        cls, settings: Settings, *, payments: ProvidersFactory | None = None
    ) -> AppState:
        base = await Resources.open(settings, payments=payments)
        redis = base.redis
        state = cls(
            settings=settings,
            db=base.db,
            redis=redis,
            cache=base.cache,
            cursors=base.cursors,
            payments=base.payments,
            sms=base.sms,
            wechat=base.wechat,
            mailer=base.mailer,
            storage=base.storage,
            rate_limits=RateLimits.from_settings(settings),
            ratelimiter=(
                RateLimiter(redis.ratelimit, redis.key("rl"))
                if settings.rate_limit_enabled
                else None
            ),
            jobs=ApiJobs(base),
            readiness=default_checks(base),
        )
        state.jobs.start()
        return state

    async def stop(self) -> None:
        await self.jobs.stop()
        await self.close()
