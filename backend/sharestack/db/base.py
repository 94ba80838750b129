"""Declarative base, naming convention and the column types every table shares.

On MySQL/MariaDB every table is InnoDB with utf8mb4 and ONE collation, ``utf8mb4_unicode_ci``: it
exists on both MySQL 8.0 and MariaDB 10.11 (MySQL 8's default ``utf8mb4_0900_ai_ci`` does not exist
on MariaDB, and mixed collations break foreign keys and joins). A unit test checks that every
table carries :data:`TABLE_OPTIONS`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.compiler import DDLCompiler

CHARSET = "utf8mb4"
COLLATION = "utf8mb4_unicode_ci"

TABLE_OPTIONS: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": CHARSET,
    "mysql_collate": COLLATION,
}

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


@compiles(sa.PrimaryKeyConstraint, "mysql", "mariadb")
def _unnamed_primary_key(
    constraint: sa.PrimaryKeyConstraint, compiler: DDLCompiler, **kw: Any
) -> str:
    """``PRIMARY KEY (id)`` without ``CONSTRAINT pk_x`` on MySQL/MariaDB.

    A MySQL primary key is always named ``PRIMARY``: the server drops the name and warns
    (``Name 'pk_users' ignored for PRIMARY key``, once per table on every fresh migration).
    The metadata and the migrations keep the names (the convention test, SQLite, and
    ``alembic check``, which does not compare primary key names); only the DDL sent to MySQL
    leaves them out. Alembic's own ``alembic_version_pkc`` goes the same way."""
    ddl = compiler.visit_primary_key_constraint(constraint, **kw)
    return ddl[ddl.index("PRIMARY KEY") :] if "PRIMARY KEY" in ddl else ddl


# BIGINT AUTO_INCREMENT on MySQL (InnoDB clusters rows on the primary key, so ids must grow);
# SQLite only auto-increments an INTEGER PRIMARY KEY, which is 64-bit there anyway.
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BigInt = sa.BigInteger()
# Identifiers compared byte for byte (slugs, tag slugs, emails), the one exception to the single
# collation: what counts as "the same" is decided in Python (``sharestack.text``) and stored in
# that canonical form, so MySQL, MariaDB and SQLite agree instead of each collation folding case,
# accents, widths or trailing spaces its own way. A unit test lists these columns.
BINARY_COLLATION = "utf8mb4_bin"


def ExactString(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, collation=BINARY_COLLATION), "mysql", "mariadb"
    )


# Long bodies: MEDIUMTEXT (16 MiB) on MySQL, where TEXT stops at 64 KiB.
LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Stores naive UTC (DATETIME(6) on MySQL, which has no zone), returns aware UTC."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; ShareStack stores aware UTC datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


def utcnow() -> datetime:
    return datetime.now(UTC)


def closed_set(*values: str, name: str, length: int = 16) -> sa.Enum:
    """A closed set of values stored as VARCHAR plus a named CHECK constraint, the same on MySQL,
    MariaDB and SQLite (native ENUMs make adding a value an ALTER of the column type)."""
    return sa.Enum(
        *values,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )
