"""Forgiving parsing of typed codes into their strict canonical form."""

from __future__ import annotations

from referralkit.codes._format import DEFAULT_FORMAT, CodeFormat, resolve_format
from referralkit.codes._parse import parse_code
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
            shown to the person who typed the code. It is the only exception ``text``
            can cause.
        ConfigError: ``fmt`` is not a `CodeFormat` (a programming error, not a typo).
    """
    tables = _DEFAULT_TABLES if fmt is None else resolve_format(fmt)._tables  # noqa: SLF001
    return parse_code(text, tables)


def is_valid_code(text: str, fmt: CodeFormat | None = None) -> bool:
    """Whether :func:`normalize_code` accepts ``text``; never raises for any ``text``.

    Raises:
        ConfigError: ``fmt`` is not a `CodeFormat`.
    """
    try:
        normalize_code(text, fmt)
    except InvalidCode:
        return False
    return True
