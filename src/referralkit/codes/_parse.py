"""Typed text to a canonical code, against one format's compiled tables."""

from __future__ import annotations

import unicodedata

from referralkit.codes._tables import MARKER, Tables
from referralkit.errors import InvalidCode

__all__ = ["canonical_or_none", "parse_code"]


def parse_code(text: str, tables: Tables) -> str:
    """``normalize_code`` for the format compiled into ``tables``: the canonical code.

    Raises:
        InvalidCode: the only exception raised; see `normalize_code` for its reasons.
    """
    if not isinstance(text, str):
        raise _not_text(text)
    if len(text) > tables.max_input:
        raise InvalidCode(
            f"This is too long to be a code: a code has {tables.total} characters.",
            value=text,
            reason="too_long",
        )
    canonical = text.translate(tables.normalize)
    if not canonical.isascii() or MARKER in canonical:
        canonical = _unicode_fallback(text, tables)
    if len(canonical) != tables.total or (
        tables.prefix and not canonical.startswith(tables.prefix)
    ):
        raise _shape_error(text, canonical, tables)
    fold128 = tables.fold128
    if fold128:
        state = 0
        for byte in canonical.encode():
            state = fold128[state + byte]
        if state:
            raise InvalidCode(
                "This code has a typo: please check it and try again.",
                value=text,
                reason="bad_check",
            )
    return canonical


def canonical_or_none(text: object, tables: Tables) -> str | None:
    """Cheap canonical spelling of ``text`` without checks (used to compare with exclusions)."""
    if not isinstance(text, str) or len(text) > tables.max_input:
        return None
    return text.translate(tables.normalize)


def _not_text(value: object) -> InvalidCode:
    if value is None:
        return InvalidCode("Please enter a code.", value=value, reason="empty")
    return InvalidCode(
        f"A code must be text, not {type(value).__name__}.", value=value, reason="bad_character"
    )


def _unicode_fallback(text: str, tables: Tables) -> str:
    """Fold compatibility characters (full-width letters, ...) to ASCII, or refuse."""
    canonical = unicodedata.normalize("NFKC", text).translate(tables.normalize)
    if canonical.isascii() and MARKER not in canonical:
        return canonical
    bad = _first_bad_character(text, tables)
    raise InvalidCode(
        f"{bad} cannot be part of a code; codes use {tables.described}.",
        value=text,
        reason="bad_character",
    )


def _first_bad_character(text: str, tables: Tables) -> str:
    for ch in text:
        mapped = unicodedata.normalize("NFKC", ch).translate(tables.normalize)
        if not mapped.isascii() or MARKER in mapped:
            if ch.isprintable() and ch.isascii():
                return repr(ch)
            return f"{ch!a} ({unicodedata.name(ch, 'unnamed character').lower()})"
    return "This character"  # pragma: no cover - only reached if NFKC of the whole differs


def _shape_error(text: str, canonical: str, tables: Tables) -> InvalidCode:
    if not canonical:
        return InvalidCode("Please enter a code.", value=text, reason="empty")
    prefix = tables.prefix
    if prefix and not canonical.startswith(prefix):
        return InvalidCode(
            f"This is not one of our codes: codes start with {prefix}.",
            value=text,
            reason="bad_prefix",
        )
    got = len(canonical) - len(prefix)
    want = tables.total - len(prefix)
    after = " after the prefix" if prefix else ""
    return InvalidCode(
        f"A code has {want} characters{after} (dashes and spaces do not count); "
        f"this one has {got}.",
        value=text,
        reason="wrong_length",
    )
