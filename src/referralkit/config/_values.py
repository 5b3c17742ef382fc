"""How values are written in configuration: money, limits, durations, rates, names, URLs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    Field,
    PlainSerializer,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from referralkit.errors import ReferralError
from referralkit.money import Amounts, Money
from referralkit.policies._settings import amounts_form, duration_text

_MONEY_TEXT = re.compile(
    r"\s*(?P<amount>[+-]?[0-9][0-9_]*(?:\.[0-9]+)?)\s*(?P<currency>[A-Za-z]{3})\s*"
)
_MONEY_HINT = "money such as '10.50 USD', or an object with 'amount' and 'currency'"


def _parse_money(value: object) -> Money:
    if isinstance(value, Money):
        return value
    try:
        if isinstance(value, str):
            match = _MONEY_TEXT.fullmatch(value)
            if match is not None:
                return Money(match["amount"], match["currency"].upper())
        elif isinstance(value, Mapping) and set(value) == {"amount", "currency"}:
            return Money(value["amount"], value["currency"])
    except ReferralError as exc:
        raise PydanticCustomError(
            "money", "expected {hint}: {error}", {"hint": _MONEY_HINT, "error": exc.message}
        ) from None
    raise PydanticCustomError("money", "expected {hint}", {"hint": _MONEY_HINT})


def _money_text(value: Money) -> str:
    return f"{value.amount:f} {value.currency}"


_MONEY_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "string",
            "pattern": r"^\s*[+-]?[0-9][0-9_]*(\.[0-9]+)?\s*[A-Za-z]{3}\s*$",
            "examples": ["10 USD", "2.50 EUR"],
        },
        {
            "type": "object",
            "properties": {
                "amount": {"type": ["string", "integer"], "examples": ["10.50"]},
                "currency": {"type": "string", "examples": ["USD"]},
            },
            "required": ["amount", "currency"],
            "additionalProperties": False,
        },
    ],
    "description": "Money: '10.50 USD' or {amount, currency}; never a float.",
}

#: Money in configuration: ``"10.50 USD"`` or ``{"amount": "10.50", "currency": "USD"}``.
MoneyField = Annotated[
    Money,
    PlainValidator(_parse_money),
    PlainSerializer(_money_text, return_type=str, when_used="json"),
    WithJsonSchema(_MONEY_SCHEMA),
]


_CURRENCY_KEY = re.compile(r"[A-Za-z]{3}")
_AMOUNTS_HINT = "money such as '10 USD', or one amount per currency: {'USD': '10', 'EUR': '9'}"


def _parse_amounts(value: object) -> Money | Amounts:
    if isinstance(value, Money | Amounts):
        return value
    if (
        isinstance(value, Mapping)
        and value
        and set(value) != {"amount", "currency"}
        and all(isinstance(k, str) and _CURRENCY_KEY.fullmatch(k) for k in value)
    ):
        if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value.values()):
            raise PydanticCustomError(
                "amounts", "expected {hint}: amounts are strings", {"hint": _AMOUNTS_HINT}
            )
        try:
            return Amounts({k.upper(): v for k, v in value.items()})
        except ReferralError as exc:
            raise PydanticCustomError(
                "amounts", "expected {hint}: {error}", {"hint": _AMOUNTS_HINT, "error": exc.message}
            ) from None
    return _parse_money(value)


def _amounts_json(value: Money | Amounts) -> str | dict[str, str]:
    return amounts_form(value) if isinstance(value, Amounts) else _money_text(value)


#: A fixed reward's amount: money, or one per currency (`referralkit.money.Amounts`).
AmountsField = Annotated[
    Money | Amounts,
    PlainValidator(_parse_amounts),
    PlainSerializer(_amounts_json, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                *_MONEY_SCHEMA["anyOf"],
                {
                    "type": "object",
                    "propertyNames": {"pattern": "^[A-Za-z]{3}$"},
                    "additionalProperties": {"type": ["string", "integer"]},
                    "minProperties": 1,
                    "examples": [{"USD": "10", "EUR": "9", "JPY": "1500"}],
                },
            ],
            "description": "Money ('10 USD'), or one amount per currency; never a float.",
        }
    ),
]


def _limit(value: object) -> Money | int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, Money | str | Mapping):
        return _parse_money(value)
    raise PydanticCustomError(
        "limit", "expected {hint}, or an integer of points", {"hint": _MONEY_HINT}
    )


def _limit_json(value: Money | int) -> str | int:
    return value if isinstance(value, int) else _money_text(value)


#: A cap or budget: money (``"100 USD"``) or an integer of points.
LimitField = Annotated[
    Money | int,
    PlainValidator(_limit),
    PlainSerializer(_limit_json, when_used="json"),
    WithJsonSchema({"anyOf": [_MONEY_SCHEMA, {"type": "integer", "minimum": 0}]}),
]

_DURATION_TEXT = re.compile(
    r"\s*(?:(?P<w>\d+)w)?\s*(?:(?P<d>\d+)d)?\s*(?:(?P<h>\d+)h)?\s*(?:(?P<m>\d+)m)?\s*(?:(?P<s>\d+)s)?\s*"
)
_DURATION_UNITS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
_DURATION_HINT = "a duration such as '14d', '12h', '1d12h', '90m' or ISO 8601 'P14D'"
_TIMEDELTA = TypeAdapter(timedelta)


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, str):
        match = _DURATION_TEXT.fullmatch(value)
        if match is not None and any(match.groupdict().values()):
            seconds = sum(int(n) * _DURATION_UNITS[u] for u, n in match.groupdict().items() if n)
            try:
                result = timedelta(seconds=seconds)
            except OverflowError:
                raise PydanticCustomError("duration", "this duration is too long") from None
        else:
            try:
                result = _TIMEDELTA.validate_python(value.strip())
            except ValidationError:
                raise PydanticCustomError(
                    "duration", "expected {hint}", {"hint": _DURATION_HINT}
                ) from None
    else:
        raise PydanticCustomError(
            "duration", "expected {hint}, as a string", {"hint": _DURATION_HINT}
        )
    if result < timedelta(0):
        raise PydanticCustomError("duration", "a duration cannot be negative")
    return result


#: A duration: ``"14d"``, ``"12h"``, ``"1d12h"``, ``"90m"``, ``"30s"``, ``"2w"`` or ISO 8601.
DurationField = Annotated[
    timedelta,
    PlainValidator(_duration),
    PlainSerializer(duration_text, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "examples": ["14d", "12h", "1d12h", "P14D"],
            "description": _DURATION_HINT,
        }
    ),
]


_HOLD_KEY = re.compile(
    r"default|referrer|referee|credit|cash|coupon|points|perk"
    r"|(referrer|referee)\.(credit|cash|coupon|points|perk)"
)
_HOLD_HINT = (
    "a duration, or durations by 'default', beneficiary ('referrer', 'referee'), reward"
    " kind ('coupon', 'cash', ...) or both ('referee.coupon')"
)


def _hold(value: object) -> timedelta | dict[str, timedelta]:
    if not isinstance(value, Mapping):
        return _duration(value)
    holds: dict[str, timedelta] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not _HOLD_KEY.fullmatch(key):
            raise PydanticCustomError(
                "hold",
                "{key} is not a hold key: expected {hint}",
                {"key": repr(key), "hint": _HOLD_HINT},
            )
        try:
            holds[key] = _duration(item)
        except PydanticCustomError as exc:
            raise PydanticCustomError(
                "hold", "{key}: {error}", {"key": key, "error": exc.message()}
            ) from None
    return holds


def _hold_json(value: timedelta | Mapping[str, timedelta]) -> str | dict[str, str]:
    if isinstance(value, timedelta):
        return duration_text(value)
    return {key: duration_text(item) for key, item in value.items()}


#: A hold: one duration, or durations by beneficiary and reward kind.
HoldField = Annotated[
    timedelta | dict[str, timedelta],
    PlainValidator(_hold),
    PlainSerializer(_hold_json, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "examples": ["14d"], "description": _DURATION_HINT},
                {
                    "type": "object",
                    "propertyNames": {"pattern": f"^({_HOLD_KEY.pattern})$"},
                    "additionalProperties": {"type": "string", "examples": ["14d", "0s"]},
                    "examples": [{"referee": "0s", "referrer": "14d"}],
                },
            ],
            "description": _HOLD_HINT,
        }
    ),
]


def _decimal(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool | float):
        raise PydanticCustomError(
            "decimal",
            "expected a decimal as a string such as '0.05' or '5%': floats cannot hold it exactly",
        )
    try:
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, str):
            text = value.strip()
            number = Decimal(text[:-1].strip()) / 100 if text.endswith("%") else Decimal(text)
            if number.is_finite():
                return number
    except InvalidOperation:
        pass
    raise PydanticCustomError("decimal", "expected a decimal as a string such as '0.05' or '5%'")


#: An exact decimal (a rate): ``"0.05"``, ``"5%"`` or an integer; never a float.
DecimalField = Annotated[
    Decimal,
    PlainValidator(_decimal),
    PlainSerializer(lambda d: f"{d:f}", return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {
                    "type": "string",
                    "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*%?\s*$",
                    "examples": ["0.05", "5%"],
                },
                {"type": "integer"},
            ]
        }
    ),
]

#: An identifier: campaign and channel names.
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]

_URL_HINT = "an http(s) URL such as 'https://shop.example/r'"


def _link_base(value: object) -> str:
    if isinstance(value, str):
        parts = urlsplit(value)
        if parts.scheme in {"http", "https"} and parts.netloc:
            return value
    raise PydanticCustomError("url", "expected {hint}", {"hint": _URL_HINT})


#: The base URL of referral links.
LinkBase = Annotated[
    str,
    PlainValidator(_link_base),
    WithJsonSchema({"type": "string", "format": "uri", "examples": ["https://shop.example/r"]}),
]
