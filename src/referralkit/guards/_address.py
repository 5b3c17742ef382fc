"""Postal addresses as fraud checks compare them: case, punctuation, abbreviations ignored.

Accents and whitespace do not count either: ``12, Baker Street, Apt. 4`` and
``12 baker st apt 4`` are one address, and so are ``12B`` and ``12-b``. Word order is
kept: an address written in another order is another address to this normaliser.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

from referralkit.errors import ConfigError, InvalidIdentity

__all__ = ["ADDRESS_ABBREVIATIONS", "check_abbreviations", "normalize_address"]

_MAX_TEXT = 500
# Words are runs of digits or of letters: "12B", "12-B" and "12 b" are all "12 b".
_WORD = re.compile(r"\d+|[^\W\d_]+")

#: Words and their one written form. Every value maps to itself, so normalising twice
#: changes nothing.
ADDRESS_ABBREVIATIONS: Mapping[str, str] = MappingProxyType(
    {
        word: short
        for short, words in {
            "st": ("street", "st", "str", "saint", "strasse"),
            "ave": ("avenue", "av", "ave", "avn"),
            "rd": ("road", "rd"),
            "blvd": ("boulevard", "blvd", "bd"),
            "dr": ("drive", "dr", "drv"),
            "ln": ("lane", "ln"),
            "ct": ("court", "ct", "crt"),
            "pl": ("place", "pl"),
            "sq": ("square", "sq"),
            "ter": ("terrace", "ter", "terr"),
            "hwy": ("highway", "hwy"),
            "pkwy": ("parkway", "pkwy", "pky"),
            "cres": ("crescent", "cres"),
            "cl": ("close", "cl"),
            "apt": ("apartment", "apt", "flat", "unit"),
            "ste": ("suite", "ste"),
            "fl": ("floor", "fl"),
            "bldg": ("building", "bldg"),
            "n": ("north", "n"),
            "s": ("south", "s"),
            "e": ("east", "e"),
            "w": ("west", "w"),
            "ne": ("northeast", "ne"),
            "nw": ("northwest", "nw"),
            "se": ("southeast", "se"),
            "sw": ("southwest", "sw"),
            "no": ("number", "no", "nr", "num"),
        }.items()
        for word in words
    }
)


def _plain(text: str) -> str:
    """Lower-case ASCII where possible: accents dropped, compatibility forms folded."""
    for _ in range(4):
        decomposed = unicodedata.normalize("NFKD", text.casefold())
        stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        again = unicodedata.normalize("NFKC", stripped)
        if again == text:
            break
        text = again
    return text


def check_abbreviations(abbreviations: object) -> Mapping[str, str]:
    """``abbreviations`` if normalising with them twice changes nothing, else `ConfigError`.

    Every word and written form is one word as normalised addresses write it (lower
    case, no punctuation), and every written form maps to itself.
    """
    path = "abbreviations"
    if not isinstance(abbreviations, Mapping):
        raise ConfigError(
            "abbreviations must map words to their written form", value=abbreviations, path=path
        )
    for word, short in abbreviations.items():
        for text in (word, short):
            if not isinstance(text, str) or not _WORD.fullmatch(text) or _plain(text) != text:
                raise ConfigError(
                    f"abbreviations: {text!r} is not one word as a normalised address writes"
                    " it (lower case, letters and digits only)",
                    value=text,
                    path=path,
                )
        if abbreviations.get(short, short) != short:
            raise ConfigError(
                f"abbreviations: {word!r} is written {short!r}, which is itself written"
                f" {abbreviations[short]!r}: every written form must map to itself",
                value=short,
                path=path,
            )
    return abbreviations


def normalize_address(
    address: str, abbreviations: Mapping[str, str] = ADDRESS_ABBREVIATIONS
) -> str:
    """One written form of a postal address: words only, lower case, abbreviations unified.

    Raises `InvalidIdentity` for text with no letters or digits at all.
    """
    raw: object = address
    if not isinstance(raw, str):
        raise InvalidIdentity(
            f"an address is a string, not {type(raw).__name__}", value=raw, field="address"
        )
    if len(address) > _MAX_TEXT:
        raise InvalidIdentity(
            "too long for a postal address", value=address[:_MAX_TEXT], field="address"
        )
    words = _WORD.findall(_plain(address))
    if not words:
        raise InvalidIdentity(
            f"{address!r} has no letters or digits", value=address, field="address"
        )
    return " ".join(abbreviations.get(w, w) for w in words)
