"""How the SQLite store writes values as columns, and reads them back exactly.

Times are fixed-width ISO-8601 UTC text (lexical order is time order, so SQL compares
them as text); money is an integer count of the currency's minor units beside its
currency code. The store and its metrics source both use these; neither imports the other.
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from decimal import Decimal

from referralkit.errors import StorageError
from referralkit.money import CURRENCY_EXPONENTS, Money
from referralkit.storage._errors import require_aware

__all__ = [
    "decode_optional_time",
    "decode_time",
    "encode_optional_time",
    "encode_time",
    "money_from_minor",
    "money_from_minor_or_none",
    "to_minor_units",
]


@functools.lru_cache(maxsize=256)
def encode_time(value: datetime) -> str:
    """Fixed-width UTC text; a naive time is a `StorageError`."""
    # Cached: one unit of work stamps many rows with the same time.
    require_aware(value)
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


@functools.lru_cache(maxsize=1024)
def decode_time(value: str) -> datetime:
    """The aware datetime `encode_time` wrote."""
    return datetime.fromisoformat(value)


def encode_optional_time(value: datetime | None) -> str | None:
    """`encode_time`, passing None through."""
    return None if value is None else encode_time(value)


def decode_optional_time(value: str | None) -> datetime | None:
    """`decode_time`, passing None through."""
    return None if value is None else decode_time(value)


def to_minor_units(money: Money) -> int:
    """The amount as an integer count of minor units (a `StorageError` if it has more decimals)."""
    scaled = money.amount.scaleb(CURRENCY_EXPONENTS[money.currency])
    if scaled != scaled.to_integral_value():
        raise StorageError(f"{money!r} has more decimals than {money.currency} allows")
    return int(scaled)


@functools.lru_cache(maxsize=4096)
def money_from_minor(units: int, currency: str) -> Money:
    """The `Money` of ``units`` minor units of ``currency``."""
    # Cached: rows repeat the same few amounts, and Money is immutable.
    return Money(Decimal(units).scaleb(-CURRENCY_EXPONENTS[currency]), currency)


def money_from_minor_or_none(units: int | None, currency: str | None) -> Money | None:
    """`money_from_minor`, or None when the column (or its currency) is NULL."""
    if units is None or currency is None:
        return None
    return money_from_minor(units, currency)
