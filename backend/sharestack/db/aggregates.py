"""A JSON array aggregate that compiles on every database we run on, so that an item and its
child rows (a content item's tag names) come back in one statement instead of one per item.

MySQL 8 and MariaDB 10.5+ call it ``JSON_ARRAYAGG``, SQLite ``json_group_array``. Neither MySQL's
nor SQLite's accepts ORDER BY inside, so the order of the elements is unspecified: callers sort.
``GROUP_CONCAT`` would also work everywhere, but MySQL truncates it at ``group_concat_max_len``
(1,024 bytes by default) without an error; the JSON aggregates have no such limit.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import GenericFunction


class json_array_agg(GenericFunction[Any]):
    """``json_array_agg(column)``: the column's values over the group as a JSON array (NULL when
    the group is empty)."""

    type = sa.Text()
    inherit_cache = True


@compiles(json_array_agg)
def _default(element: json_array_agg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"JSON_ARRAYAGG({compiler.process(element.clauses, **kw)})"


@compiles(json_array_agg, "sqlite")
def _sqlite(element: json_array_agg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_array({compiler.process(element.clauses, **kw)})"


def strings(value: str | bytes | None) -> list[str]:
    """The decoded aggregate of a string column, sorted (the aggregate's order is unspecified);
    ``[]`` for NULL (no rows)."""
    if value is None:
        return []
    return sorted(str(item) for item in orjson.loads(value) if item is not None)
