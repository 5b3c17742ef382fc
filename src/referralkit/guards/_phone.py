"""Phone numbers to E.164 (``+14155550100``) with the standard library alone.

International input (``+44 20 7946 0000``, ``0044 ...``) needs no table. National
input (``020 7946 0000``) is read with a default region from `PHONE_REGIONS`: its
country calling code, the trunk prefix dialled before national numbers, and its
international prefix. A host adds regions with `PhoneRegion`.

This normaliser alone decides what is hashed, with or without the ``phone`` extra:
installing `phonenumbers` later never changes a stored hash. With the extra,
``strict=True`` also refuses numbers that `phonenumbers` says cannot exist; the
test suite checks that, for every region in the table, this normaliser and
`phonenumbers` give the same E.164 form of valid numbers.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from referralkit.errors import ConfigError, InvalidIdentity

__all__ = ["PHONE_REGIONS", "PhoneRegion", "normalize_phone"]

_MIN_DIGITS = 7  # the shortest E.164 numbers in use (small island states)
_MAX_DIGITS = 15  # E.164's maximum
_MAX_TEXT = 64
_SEPARATORS = frozenset(" -.()/\u00a0")
# An extension ends the text: a mark (not the tail of a word) and digits only, so that
# letters such as ``555 XRAY`` are refused rather than cut off.
_EXTENSION = re.compile(
    r"(?:;ext=|(?<![a-z])(?:extension|ext\.?|x|#))\s*[.:]?\s*\d*$", re.IGNORECASE
)


@attrs.frozen(slots=True)
class PhoneRegion:
    """How numbers are dialled in one region: calling code, trunk and international prefix.

    ``trunk`` is dropped from the start of national numbers (``0`` in the UK, ``1`` in
    North America, empty where the leading digit is part of the number, as in Italy).
    """

    calling_code: str
    trunk: str = "0"
    international: tuple[str, ...] = ("00",)


def _region(calling_code: str, trunk: str = "0", *international: str) -> PhoneRegion:
    return PhoneRegion(calling_code, trunk, international or ("00",))


#: Default regions by ISO 3166 code. Each entry is checked against `phonenumbers` in the
#: test suite (``pip install referralkit[phone]`` adds validation, not new meaning).
PHONE_REGIONS: Mapping[str, PhoneRegion] = MappingProxyType(
    {
        "US": _region("1", "1", "011"),
        "CA": _region("1", "1", "011"),
        "GB": _region("44"),
        "IE": _region("353"),
        "DE": _region("49"),
        "AT": _region("43"),
        "CH": _region("41"),
        "FR": _region("33"),
        "BE": _region("32"),
        "NL": _region("31"),
        "LU": _region("352", ""),
        "ES": _region("34", ""),
        "PT": _region("351", ""),
        "IT": _region("39", ""),
        "DK": _region("45", ""),
        "NO": _region("47", ""),
        "SE": _region("46"),
        "FI": _region("358", "0", "00", "990", "994", "999"),
        "PL": _region("48", ""),
        "CZ": _region("420", ""),
        "GR": _region("30", ""),
        "TR": _region("90"),
        "IL": _region("972"),
        "ZA": _region("27"),
        "IN": _region("91"),
        "JP": _region("81", "0", "010"),
        "KR": _region("82", "0", "001", "002"),
        "CN": _region("86"),
        "HK": _region("852", "", "001"),
        "SG": _region("65", "", "000", "001"),
        "AU": _region("61", "0", "0011"),
        "NZ": _region("64"),
    }
)


def _invalid(phone: str, why: str) -> InvalidIdentity:
    return InvalidIdentity(f"{phone!r} is not a phone number: {why}", value=phone, field="phone")


def _without_extension(text: str) -> str:
    found = _EXTENSION.search(text)
    if found is not None and found.start() > 0:
        return text[: found.start()]
    return text


def _digits(phone: str, text: str) -> str:
    digits = []
    for ch in text:
        if "0" <= ch <= "9":
            digits.append(ch)
        elif ch not in _SEPARATORS:
            raise _invalid(phone, f"unexpected character {ch!r}")
    return "".join(digits)


def _lookup(regions: Mapping[str, PhoneRegion], region: str) -> PhoneRegion:
    found = regions.get(region.upper()) if isinstance(region, str) else None
    if found is None:
        raise ConfigError(
            f"no phone region {region!r}; known: {', '.join(sorted(regions))}."
            " Add one with PhoneRegion, or pass numbers in international form (+...)",
            value=region,
            path="phone_region",
        )
    return found


def _international(home: PhoneRegion, digits: str) -> str:
    """Digits as dialled in ``home``, as country calling code plus national number."""
    prefix = next((p for p in home.international if digits.startswith(p)), None)
    if prefix is not None:
        return digits[len(prefix) :]
    if home.trunk and digits.startswith(home.trunk):
        digits = digits[len(home.trunk) :]
    return home.calling_code + digits


def _zero_is_part_of_numbers(regions: Mapping[str, PhoneRegion], digits: str) -> bool:
    """True when the country ``digits`` call has no trunk prefix, as in Italy.

    A written ``(0)`` (``+44 (0)20 ...``) is the trunk prefix, dialled only at home;
    where national numbers keep their 0 from abroad (``+39 011 ...``) it is part of
    the number.
    """
    return any(
        not region.trunk and digits.startswith(region.calling_code) for region in regions.values()
    )


def _phonenumbers() -> Any:
    try:
        return importlib.import_module("phonenumbers")
    except ImportError:
        raise ConfigError(
            "strict phone validation needs the phonenumbers package:"
            " pip install 'referralkit[phone]'",
            value="phonenumbers",
            path="phone_strict",
        ) from None


def normalize_phone(
    phone: str,
    region: str = "US",
    *,
    regions: Mapping[str, PhoneRegion] = PHONE_REGIONS,
    strict: bool = False,
) -> str:
    """A phone number in E.164 form; national numbers are read as dialled in ``region``.

    Spaces, dashes, dots, brackets and extensions (``x12``, ``ext. 12``: a mark and
    digits) are ignored; so is a written trunk ``(0)`` (``+44 (0)20 ...``), except where
    the 0 is part of national numbers (``+39 (0)11 ...`` is ``+39011...``). Letters are
    refused. Raises `InvalidIdentity` for text that cannot be a number (or, with ``strict``,
    a number `phonenumbers` says does not exist) and `ConfigError` for an unknown region.
    """
    raw: object = phone
    if not isinstance(raw, str):
        raise InvalidIdentity(
            f"a phone number is a string, not {type(raw).__name__}", value=raw, field="phone"
        )
    text = unicodedata.normalize("NFKC", phone).strip()
    if len(text) > _MAX_TEXT:
        raise _invalid(phone[:_MAX_TEXT], "too long")
    text = _without_extension(text).strip()
    if text.startswith("+"):
        body = text[1:]
        digits = _digits(phone, body.replace("(0)", ""))
        if "(0)" in body and _zero_is_part_of_numbers(regions, digits):
            digits = _digits(phone, body.replace("(0)", "0"))
    else:
        digits = _international(_lookup(regions, region), _digits(phone, text))
    if digits.startswith("0"):
        raise _invalid(phone, "no country calling code starts with 0")
    if not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS:
        raise _invalid(phone, f"E.164 numbers have {_MIN_DIGITS} to {_MAX_DIGITS} digits")
    e164 = f"+{digits}"
    if strict:
        lib = _phonenumbers()
        try:
            parsed = lib.parse(e164, None)
        except lib.NumberParseException as exc:
            raise _invalid(phone, str(exc)) from None
        if not lib.is_valid_number(parsed):
            raise _invalid(phone, "no such number is in use")
    return e164
