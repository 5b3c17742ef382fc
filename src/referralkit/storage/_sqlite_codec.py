"""How the SQLite store writes values as columns, and reads them back exactly.

Times are fixed-width ISO-8601 UTC text (lexical order is time order, so SQL compares
them as text); money is an integer count of the currency's minor units beside its
currency code. Event payloads are JSON; the common shapes are stored as arrays of their
values, without the keys (`encode_payload`). The store and its metrics source both use
these; neither imports the other.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from referralkit.errors import StorageError
from referralkit.money import CURRENCY_EXPONENTS, Money
from referralkit.storage._errors import require_aware

__all__ = [
    "PAYLOAD_SHAPES",
    "decode_optional_time",
    "decode_payload",
    "decode_time",
    "encode_optional_time",
    "encode_payload",
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


#: The keys of the payloads the program writes most (an enrolment, an attribution, an
#: order, a qualification, a reward's every move), in the order it writes them. A payload
#: with exactly one of these key sequences is stored as ``[shape, value, ...]``; ``amount``
#: (a money's JSON form) as ``[amount, currency]``. Append only: a stored shape number
#: names the same keys forever, so a file written by any version reads back the same.
PAYLOAD_SHAPES: tuple[tuple[str, ...], ...] = (
    ("customer_id", "code", "campaign"),
    ("referral_id", "referrer", "referee", "code", "reasons", "channel"),
    ("order_id", "referee", "amount", "referral_id", "order_number"),
    ("referral_id", "referrer", "order_id"),
    (
        "reward_id",
        "customer_id",
        "beneficiary",
        "kind",
        "amount",
        "points",
        "perk",
        "coupon_code",
        "state",
        "order_id",
        "referral_id",
        "policy",
    ),
    # Appended, never reordered: a stored row names its shape by its place here.
    ("order_id", "referee", "amount", "referral_id", "referrer", "order_number"),
    (
        "reward_id",
        "customer_id",
        "beneficiary",
        "kind",
        "amount",
        "points",
        "perk",
        "coupon_code",
        "state",
        "order_id",
        "referral_id",
        "policy",
        "hold_until",
        "expires_at",
    ),
    # Invitations: a redeemed invitation, and the referral it created.
    ("code", "holder", "campaign", "uses", "expires_at", "customer", "referral_id"),
    ("referral_id", "referrer", "referee", "code", "reasons", "channel", "invitation"),
    # The waitlist: a join.
    ("member", "code", "seq", "referred_by"),
)
_SHAPE_OF = {keys: number for number, keys in enumerate(PAYLOAD_SHAPES)}
_MONEY = "amount"
_MONEY_KEYS = ("amount", "currency")
#: Where each shape holds a money (its place in the stored array), or 0 for none.
_MONEY_AT = tuple(keys.index(_MONEY) + 1 if _MONEY in keys else 0 for keys in PAYLOAD_SHAPES)
_json = json.JSONEncoder(separators=(",", ":"), default=str).encode


def encode_payload(payload: Mapping[str, Any]) -> str:
    """An event payload as stored: JSON, an array of values for a known shape.

    Whatever the form, `decode_payload` gives back what ``json.loads`` of the payload's
    plain JSON would: the same keys, in the same order, with the same values.
    """
    shape = _SHAPE_OF.get(tuple(payload))
    if shape is None:
        return _json(payload)
    values: list[Any] = [shape, *payload.values()]
    at = _MONEY_AT[shape]
    if at and values[at] is not None:
        money = values[at]
        if not isinstance(money, Mapping) or tuple(money) != _MONEY_KEYS:
            return _json(payload)  # not a money's JSON form: keep the keys
        values[at] = [money["amount"], money["currency"]]
    return _json(values)


def decode_payload(text: str) -> dict[str, Any]:
    """The payload `encode_payload` stored (or a plain JSON object, as older files hold)."""
    data = json.loads(text)
    if isinstance(data, dict):
        return data
    keys = PAYLOAD_SHAPES[data[0]]
    payload = dict(zip(keys, data[1:], strict=True))
    money = payload.get(_MONEY)
    if isinstance(money, list):
        payload[_MONEY] = dict(zip(_MONEY_KEYS, money, strict=True))
    return payload
