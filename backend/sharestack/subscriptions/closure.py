"""What an account deletion does to subscriptions: nothing renews for or to a deleted account.

The rows stay (payments and the ledger point at them). The user's own subscriptions are canceled
at period end (the access they paid for runs out as it would have); their plans are archived so
no one subscribes to an erased creator, and their subscribers' subscriptions are canceled at
period end too, since the content they paid for is gone.
"""

from __future__ import annotations

import contextlib

from sharestack.db.session import WriteSession
from sharestack.subscriptions import lifecycle, repository
from sharestack.subscriptions.exceptions import SubscriptionStateConflict

BATCH = 200


async def close_account(session: WriteSession, user_id: int) -> None:
    for subscription in await repository.for_subscriber(session, user_id):
        if subscription.status in ("active", "past_due"):
            with contextlib.suppress(SubscriptionStateConflict):
                await lifecycle.cancel(session, subscription.id, user_id)
    for plan in await repository.plans_for_creator(session, user_id, False):
        await repository.archive_plan(session, plan.id)
    before: int | None = None
    while True:
        page = await repository.subscribers(session, user_id, before, BATCH)
        for subscription in page:
            if subscription.status in ("active", "past_due"):
                with contextlib.suppress(SubscriptionStateConflict):
                    await lifecycle.cancel(session, subscription.id, subscription.subscriber_id)
        if len(page) < BATCH:
            return
        before = page[-1].id
