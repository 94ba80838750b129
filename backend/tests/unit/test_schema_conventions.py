"""Conventions a test enforces better than a paragraph: every table on InnoDB with the one
collation, every constraint named, money as integers with a currency."""

from __future__ import annotations

import sqlalchemy as sa

from sharestack.db.base import TABLE_OPTIONS
from sharestack.models import metadata


def test_every_table_has_the_mysql_options() -> None:
    for table in metadata.sorted_tables:
        for key, value in TABLE_OPTIONS.items():
            assert table.kwargs.get(key) == value, (table.name, key)


def test_every_index_and_constraint_is_named_explicitly() -> None:
    for table in metadata.sorted_tables:
        for index in table.indexes:
            assert index.name, table.name
            assert str(index.name).startswith("ix_"), (table.name, index.name)
            assert len(str(index.name)) <= 64
        for constraint in table.constraints:
            name = constraint.name
            assert name is not None, (table.name, constraint)


def test_primary_keys_are_bigint() -> None:
    for table in metadata.sorted_tables:
        for column in table.primary_key.columns:
            assert isinstance(column.type, sa.BigInteger), (table.name, column.name)


def test_money_is_integer_minor_units_with_currency() -> None:
    for table in metadata.sorted_tables:
        amounts = [c for c in table.columns if c.name == "amount" or c.name.endswith("_amount")]
        for column in amounts:
            assert isinstance(column.type, sa.BigInteger), (table.name, column.name)
            assert "currency" in table.columns, table.name


def test_timestamps_end_in_at() -> None:
    for table in metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, (sa.types.TypeDecorator, sa.DateTime)):
                assert column.name.endswith(("_at", "_start", "_end")), (table.name, column.name)
