from sharestack.db.base import Base, TimestampMixin, utcnow
from sharestack.db.engine import Database
from sharestack.db.session import ReadSession, ReadSessionDep, WriteSession, WriteSessionDep

__all__ = [
    "Base",
    "Database",
    "ReadSession",
    "ReadSessionDep",
    "TimestampMixin",
    "WriteSession",
    "WriteSessionDep",
    "utcnow",
]
