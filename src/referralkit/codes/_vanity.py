"""Vanity codes: codes chosen by hand (an influencer's ``ANNA10``), validated, not generated."""

from __future__ import annotations

import string
from collections.abc import Iterable

from referralkit.errors import ConfigError, InvalidCode

__all__ = ["DEFAULT_VANITY_BLOCKLIST", "code_key", "validate_vanity", "vanity_key"]

#: Words a vanity code may not contain: reserved words that could pass for the shop
#: itself or break a naive host, and a short list of slurs and obscenities. Matched
#: as substrings after look-alike folding, so ``AD-M1N`` and ``T3ST`` are refused too.
DEFAULT_VANITY_BLOCKLIST: frozenset[str] = frozenset(
    {
        # reserved
        "ADMIN",
        "DEBUG",
        "HELPDESK",
        "MODERATOR",
        "NONE",
        "NULL",
        "OFFICIAL",
        "PASSWORD",
        "REFERRAL",
        "STAFF",
        "SUPPORT",
        "SYSTEM",
        "TEST",
        "UNDEFINED",
        # offensive
        "BITCH",
        "CUNT",
        "FAGGOT",
        "FUCK",
        "HITLER",
        "NAZI",
        "NIGGA",
        "NIGGER",
        "PORN",
        "PUSSY",
        "RAPIST",
        "RETARD",
        "SHIT",
        "SLUT",
        "WANKER",
        "WHORE",
    }
)

_ALLOWED = frozenset(string.ascii_uppercase + string.digits + "-")
#: Digits read as letters when looking for blocked words; 1 is tried as both I and L.
_FOLD_I = str.maketrans("01345", "OIEAS", "-")
_FOLD_L = str.maketrans("01345", "OLEAS", "-")
_MAX_LENGTH = 64


def _fold(word: str) -> set[str]:
    return {word.translate(_FOLD_I), word.translate(_FOLD_L)}


_DEFAULT_FOLDED = frozenset(f for word in DEFAULT_VANITY_BLOCKLIST for f in _fold(word))


def _folded_blocklist(blocklist: Iterable[str] | None, *, use_defaults: object) -> frozenset[str]:
    if not isinstance(use_defaults, bool):
        raise ConfigError(
            f"use_default_blocklist must be True or False, not {use_defaults!r}",
            value=use_defaults,
            path="use_default_blocklist",
        )
    if blocklist is None:
        return _DEFAULT_FOLDED if use_defaults else frozenset()
    if isinstance(blocklist, str | bytes) or not isinstance(blocklist, Iterable):
        raise ConfigError(
            f"blocklist must be an iterable of words, not {type(blocklist).__name__}",
            value=blocklist,
            path="blocklist",
        )
    folded = set(_DEFAULT_FOLDED) if use_defaults else set()
    words: Iterable[object] = blocklist
    for word in words:
        if not isinstance(word, str) or not word.strip("- "):
            raise ConfigError(
                f"blocklist words must be non-empty str, not {word!r}", value=word, path="blocklist"
            )
        folded |= _fold(word.strip().upper().replace(" ", ""))
    return frozenset(folded)


def _check_bounds(min_length: object, max_length: object) -> None:
    for name, value in (("min_length", min_length), ("max_length", max_length)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_LENGTH:
            raise ConfigError(
                f"{name} must be an int from 1 to {_MAX_LENGTH}, not {value!r}",
                value=value,
                path=name,
            )
    if min_length > max_length:  # type: ignore[operator]
        raise ConfigError(
            f"min_length {min_length} is above max_length {max_length}",
            value=min_length,
            path="min_length",
        )


def validate_vanity(
    text: str,
    *,
    min_length: int = 4,
    max_length: int = 20,
    blocklist: Iterable[str] | None = None,
    use_default_blocklist: bool = True,
) -> str:
    """The canonical form of a hand-chosen code: trimmed and upper-cased (``ANNA10``).

    A vanity code is made of the letters ``A``-``Z`` and digits ``0``-``9``, with
    single dashes allowed *between* characters (``SPRING-SALE``); the dashes are kept,
    as the code is shown as issued. A program finds a code by its `code_key`, which
    ignores case, spaces and dashes, so to a program ``SPRING-SALE`` and ``SPRINGSALE``
    are one code (only one of them can be issued). Its length, dashes included, is
    between ``min_length`` and ``max_length``. It may not contain a word
    of the blocklist, compared case-insensitively after folding the look-alike digits
    ``0→O 1→I/L 3→E 4→A 5→S`` and ignoring dashes. ``blocklist`` adds words to
    :data:`DEFAULT_VANITY_BLOCKLIST` (``use_default_blocklist=False`` replaces it).

    Vanity codes carry no check character; a host tells them from generated codes by
    the kind it stored them with, and only a generated code passes
    :func:`normalize_code` reliably.

    Raises:
        InvalidCode: ``.reason`` is ``empty``, ``bad_character``, ``wrong_length`` or
            ``blocked``.
        ConfigError: the bounds or the blocklist are invalid.
    """
    _check_bounds(min_length, max_length)
    words = _folded_blocklist(blocklist, use_defaults=use_default_blocklist)
    code = _shape(text, min_length, max_length)
    for variant in _fold(code):
        for word in words:
            if word in variant:
                raise InvalidCode(
                    "This code is not available: it contains a reserved or offensive word.",
                    value=text,
                    reason="blocked",
                )
    return code


def _shape(text: object, min_length: int, max_length: int) -> str:
    """Trimmed, upper-cased ``text`` if its characters and length are right."""
    if text is None:
        raise InvalidCode("Please enter a code.", value=text, reason="empty")
    if not isinstance(text, str):
        raise InvalidCode(
            f"A code must be text, not {type(text).__name__}.", value=text, reason="bad_character"
        )
    if len(text) > 4 * max_length + 16:
        raise InvalidCode(
            f"A code has at most {max_length} characters.", value=text, reason="wrong_length"
        )
    code = text.strip().upper() if text.isascii() else text.strip()
    if not code:
        raise InvalidCode("Please enter a code.", value=text, reason="empty")
    bad = next((ch for ch in code if ch not in _ALLOWED), None)
    if bad is not None:
        shown = "A space" if bad == " " else f"{bad!a}"
        raise InvalidCode(
            f"{shown} cannot be part of a code: use letters A-Z, digits and dashes.",
            value=text,
            reason="bad_character",
        )
    if code.startswith("-") or code.endswith("-") or "--" in code:
        raise InvalidCode(
            "A dash may only sit between two characters, one at a time.",
            value=text,
            reason="bad_character",
        )
    if not min_length <= len(code) <= max_length:
        raise InvalidCode(
            f"A code has {min_length} to {max_length} characters; this one has {len(code)}.",
            value=text,
            reason="wrong_length",
        )
    return code


#: What typed text may hold between the characters of a code: spaces, dashes, underscores.
_SEPARATORS = frozenset(" \t-_")
#: The longest key of a vanity code `validate_vanity` accepts by default.
VANITY_MAX_KEY = 20


def code_key(code: str) -> str:
    """The key a program finds a code by: upper case, without spaces, dashes or underscores.

    ``ANNA-10``, ``anna 10`` and ``Anna10`` share the key ``ANNA10``; a generated code's
    canonical form is its own key. Stores keep codes unique by key, so two codes that
    differ only in case, spaces or dashes are never both issued.

    Raises:
        InvalidCode: ``code`` is not text.
    """
    raw: object = code
    if not isinstance(raw, str):
        raise InvalidCode(
            f"A code must be text, not {type(raw).__name__}.", value=raw, reason="bad_character"
        )
    return "".join(ch for ch in code.upper() if ch not in _SEPARATORS)


def vanity_key(text: str) -> str:
    """The `code_key` of typed text read as a vanity code, if a vanity code can have it.

    Forgiving like `normalize_code`: any case, spaces, dashes and underscores anywhere.
    No length up to `VANITY_MAX_KEY` is refused (a short key is only an unknown code).

    Raises:
        InvalidCode: with ``.reason`` ``empty``, ``bad_character`` or ``wrong_length``
            (more than `VANITY_MAX_KEY` letters and digits); the message can be shown to
            the person who typed it and never speaks of generated codes.
    """
    max_length = VANITY_MAX_KEY
    raw: object = text
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise InvalidCode("Please enter a code.", value=raw, reason="empty")
    if not isinstance(raw, str):
        raise InvalidCode(
            f"A code must be text, not {type(raw).__name__}.", value=raw, reason="bad_character"
        )
    if len(text) > 4 * max_length + 16:
        raise InvalidCode(
            f"A code has at most {max_length} letters and digits.",
            value=text[:64],
            reason="wrong_length",
        )
    key = "".join(ch for ch in text.strip() if ch not in _SEPARATORS)
    upper = key.upper() if key.isascii() else key
    bad = next((ch for ch in upper if ch not in _ALLOWED), None)
    if bad is not None:
        raise InvalidCode(
            f"{bad!a} cannot be part of a code: use letters A-Z and digits.",
            value=text,
            reason="bad_character",
        )
    if len(upper) > max_length:
        raise InvalidCode(
            f"A code has at most {max_length} letters and digits; this one has {len(upper)}.",
            value=text,
            reason="wrong_length",
        )
    return upper
