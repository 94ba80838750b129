from sharestack.errors import AppError, InvalidInput, NotFound


class PayoutAccountNotFound(NotFound):
    code = "payout_account_not_found"
    message = "No such payout account."


class PayoutNotFound(NotFound):
    code = "payout_not_found"
    message = "No such payout."


class RealNameRequired(InvalidInput):
    code = "real_name_required"
    message = "This provider requires the account holder's real name for this payout."


class ProviderNotOffered(InvalidInput):
    code = "payout_provider_not_offered"
    message = "Payouts through this provider are not offered here."


class DailyLimitReached(AppError):
    status_code = 429
    code = "payout_daily_limit"
    message = "The daily payout limit is reached; try again tomorrow."


class InvalidMonth(InvalidInput):
    code = "invalid_month"
    message = "The month is YYYY-MM."
