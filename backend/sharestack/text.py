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
from typing import Annotated

import idna
from pydantic import AfterValidator

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


SingleLine = AfterValidator(single_line)
MultiLine = AfterValidator(multi_line)
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
