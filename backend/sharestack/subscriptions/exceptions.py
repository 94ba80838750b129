from sharestack.errors import Conflict, Forbidden, InvalidInput, NotFound


class PlanNotFound(NotFound):
    code = "plan_not_found"
    message = "Plan not found."


class NotPlanCreator(Forbidden):
    code = "not_plan_creator"
    message = "Only the plan's creator can change it."


class PlanArchived(Conflict):
    code = "plan_archived"
    message = "This plan is archived: it takes no new subscribers and no changes."


class OwnPlan(InvalidInput):
    code = "own_plan"
    message = "A creator cannot subscribe to their own plan."


class SubscriptionNotFound(NotFound):
    code = "subscription_not_found"
    message = "Subscription not found."


class SubscriptionStateConflict(Conflict):
    code = "subscription_state_conflict"
    message = "The subscription's state does not allow this."
