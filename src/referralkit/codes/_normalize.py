"""Forgiving parsing of typed codes into their strict canonical form."""

from __future__ import annotations

import unicodedata

from referralkit.codes._format import DEFAULT_FORMAT, MARKER, CodeFormat, _Tables
from referralkit.errors import InvalidCode

__all__ = ["is_valid_code", "normalize_code"]

_DEFAULT_TABLES = DEFAULT_FORMAT._tables  # noqa: SLF001 - the format's compiled tables


def normalize_code(text: str, fmt: CodeFormat | None = None) -> str:
    """The canonical form of a typed code: upper case, no dashes or spaces.

    Input is forgiving: any case, spaces, tabs, dashes and underscores anywhere,
    ``O`` for ``0`` and ``I``/``L`` for ``1`` (when the alphabet lacks the letter,
    as Crockford's does), full-width characters, and the prefix in any case with or
    without a dash after it. The result is strict: the prefix, then exactly
    ``fmt.length`` alphabet characters whose check character matches.

    Text longer than ``4 * (prefix + length) + 16`` characters is refused before any
    work is done, so the cost of a call is bounded whatever it is given.

    Raises:
        InvalidCode: with ``.reason`` ``empty``, ``too_long``, ``bad_character``,
            ``bad_prefix``, ``wrong_length`` or ``bad_check``; the message can be
            shown to the person who typed the code. It is the only exception raised.
    """
    tables = _DEFAULT_TABLES if fmt is None else fmt._tables  # noqa: SLF001
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


def is_valid_code(text: str, fmt: CodeFormat | None = None) -> bool:
    """Whether :func:`normalize_code` accepts ``text``; never raises."""
    try:
        normalize_code(text, fmt)
    except InvalidCode:
        return False
    return True


def canonical_or_none(text: object, tables: _Tables) -> str | None:
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


def _unicode_fallback(text: str, tables: _Tables) -> str:
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


def _first_bad_character(text: str, tables: _Tables) -> str:
    for ch in text:
        mapped = unicodedata.normalize("NFKC", ch).translate(tables.normalize)
        if not mapped.isascii() or MARKER in mapped:
            if ch.isprintable() and ch.isascii():
                return repr(ch)
            return f"{ch!a} ({unicodedata.name(ch, 'unnamed character').lower()})"
    return "This character"  # pragma: no cover - only reached if NFKC of the whole differs


def _shape_error(text: str, canonical: str, tables: _Tables) -> InvalidCode:
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
