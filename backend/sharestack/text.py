"""Rules for the short texts people type and others read: titles, names, bios, tags, excerpts.

Control characters (NUL, escape, ...) and the Unicode bidirectional overrides and isolates
(U+202A-U+202E, U+2066-U+2069) are refused: they break terminals and logs, and a bidi override
can make a title read as something else than what it is ("Trojan Source"). Multi-line fields
(bios, excerpts) keep line breaks and tabs. Refusing is a 422 naming the field, like any other
validation error.

The canonical forms of identifiers live here too, so that storage, lookups and cache keys use the
same one on every database: :func:`canonical_slug` and :func:`canonical_email`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any

import idna
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKS = frozenset("\n\r\t")


def _refuse(value: str, allowed: frozenset[str]) -> str:
    for char in value:
        if char in allowed:
            continue
        code = f"U+{ord(char):04X}"
        if char in _BIDI_CONTROLS:
            raise ValueError(f"must not contain bidirectional control characters ({code})")
        if unicodedata.category(char) == "Cc":
            raise ValueError(f"must not contain control characters ({code})")
    return value


def single_line(value: str) -> str:
    return _refuse(value, frozenset())


def multi_line(value: str) -> str:
    return _refuse(value, _LINE_BREAKS)


_CONTROL = "\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069"
# What the validators enforce, said in the OpenAPI document too (JSON Schema ``pattern``): a
# single-line text has no control character and, stripped, is not empty; a multi-line one may
# hold line breaks and tabs.
SINGLE_LINE_PATTERN = f"^[^{_CONTROL}]*[^\\s{_CONTROL}][^{_CONTROL}]*$"
MULTI_LINE_PATTERN = (
    "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f"
    "\\u202a-\\u202e\\u2066-\\u2069]*$"
)


@dataclass(frozen=True)
class _TextRule:
    """Annotated metadata: validates after the field's own constraints, and states the rule as
    the field's JSON Schema ``pattern``."""

    allowed: frozenset[str]
    pattern: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        allowed = self.allowed
        return core_schema.no_info_after_validator_function(
            lambda value: _refuse(value, allowed), handler(source)
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler.resolve_ref_schema(handler(schema))
        json_schema["pattern"] = self.pattern
        return json_schema


SingleLine = _TextRule(frozenset(), SINGLE_LINE_PATTERN)
MultiLine = _TextRule(_LINE_BREAKS, MULTI_LINE_PATTERN)
SingleLineText = Annotated[str, SingleLine]
MultiLineText = Annotated[str, MultiLine]


def canonical_slug(value: str) -> str:
    """The one spelling of a slug or tag slug: Unicode NFKC, case folded, trimmed. Columns that
    hold slugs compare bytes (``utf8mb4_bin``), so ``Café``, ``café `` and ``ＣＡＦÉ`` are one
    slug and ``cafe`` is another, on SQLite as on MySQL and MariaDB."""
    return unicodedata.normalize("NFKC", value).strip().casefold()


def canonical_email(address: str) -> str:
    """What counts as the same address, decided here and not by a collation: the local part
    NFKC-normalised and case folded (``ｃase@`` is ``case@``; ``cáse@`` is not), the domain NFKC,
    case folded and IDNA-encoded (``exämple.com`` is stored as ``xn--exmple-cua.com``). The
    column compares bytes (``utf8mb4_bin``), so every database agrees."""
    local, _, domain = unicodedata.normalize("NFKC", address.strip()).rpartition("@")
    domain = domain.casefold().rstrip(".")
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        ascii_domain = domain
    return f"{local.casefold()}@{ascii_domain}"
