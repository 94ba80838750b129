"""What a new password must be: 8 to 128 characters, and not one of the 30,000 most common
passwords. The list is the one zxcvbn ships (``frequency_lists.FREQUENCY_LISTS["passwords"]``,
drawn from leaked-password corpora and maintained with zxcvbn), compared case-insensitively, so
"Password1" is refused like "password1"; the account's own email (or its local part) is refused
too. Pure functions: no I/O."""

from __future__ import annotations

from functools import lru_cache

from zxcvbn.frequency_lists import FREQUENCY_LISTS

from sharestack.errors import InvalidInput

MIN_LENGTH = 8
# argon2 hashes any length, but an unbounded password is a CPU lever.
MAX_LENGTH = 128


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def problem(password: str, *, email: str | None = None) -> str | None:
    """Why ``password`` is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"at most {MAX_LENGTH} characters"
    folded = password.strip().lower()
    if folded in _common():
        return "too common: it is on the list of the most used passwords"
    if email and folded in {email.lower(), email.lower().partition("@")[0]}:
        return "must not be your email address"
    return None


def check(password: str, *, field: str, email: str | None = None) -> None:
    reason = problem(password, email=email)
    if reason is not None:
        raise InvalidInput("The password is not acceptable.", fields={field: reason})
