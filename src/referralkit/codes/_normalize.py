"""Forgiving parsing of typed codes into their strict canonical form."""

from __future__ import annotations

from referralkit.codes._format import DEFAULT_FORMAT, CodeFormat
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
            shown to the person who typed the code. It is the only exception raised.
    """
    return parse_code(text, _DEFAULT_TABLES if fmt is None else fmt._tables)  # noqa: SLF001


def is_valid_code(text: str, fmt: CodeFormat | None = None) -> bool:
    """Whether :func:`normalize_code` accepts ``text``; never raises."""
    try:
        normalize_code(text, fmt)
    except InvalidCode:
        return False
    return True
