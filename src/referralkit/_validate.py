"""Checks on what callers pass in: one rule, one error, wherever the value arrives.

Every public entry point checks its arguments with these, so a rule (what an id may
hold, what a limit is, which datetimes and amounts are accepted) is written once and
fails the same way everywhere: an `InvalidInput` naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from referralkit.errors import InvalidInput
from referralkit.money import Money

__all__ = [
    "MAX_ID",
    "event_ids",
    "opt_aware",
    "opt_name",
    "positive_int",
    "require_aware",
    "require_duration",
    "require_id",
    "require_money",
]

#: The longest customer, order, referral, visitor or campaign id accepted.
MAX_ID = 200
#: The largest int a store can hold (a signed 64-bit integer): bigger ids and limits are junk.
_MAX_INT = 2**63 - 1


def require_id(field: str, value: object) -> str:
    """``value`` if it is a non-empty, printable string of at most `MAX_ID` characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} must be a non-empty string", value=value, field=field)
    if len(value) > MAX_ID:
        raise InvalidInput(
            f"{field} is longer than {MAX_ID} characters", value=value[:MAX_ID], field=field
        )
    if not value.isprintable():
        raise InvalidInput(
            f"{field} contains control or unprintable characters", value=value, field=field
        )
    return value


def opt_name(field: str, value: object) -> str | None:
    """`require_id` for an optional name: None stays None."""
    return None if value is None else require_id(field, value)


def positive_int(field: str, value: object) -> int:
    """``value`` if it is an int of at least 1 (a limit, a count of uses)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_INT:
        raise InvalidInput(f"{field} must be a positive int", value=value, field=field)
    return value


def event_ids(values: object) -> list[int]:
    """A list of event ids (`referralkit.Event.id`), from any iterable of ints."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InvalidInput("event_ids must be a list of event ids", value=values, field="event_ids")
    ids = list(values)
    for value in ids:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput("event ids are ints (Event.id)", value=value, field="event_ids")
        if abs(value) > _MAX_INT:
            raise InvalidInput("no event has an id this large", value=value, field="event_ids")
    return ids


def require_duration(
    field: str, value: object, *, zero: bool = False, at_most: timedelta | None = None
) -> timedelta:
    """``value`` if it is a positive `timedelta` (or zero, with ``zero``), up to ``at_most``."""
    if not isinstance(value, timedelta) or value < timedelta(0) or (not zero and not value):
        kind = "non-negative" if zero else "positive"
        raise InvalidInput(
            f"{field} must be a {kind} timedelta, e.g. timedelta(minutes=5)",
            value=value,
            field=field,
        )
    if at_most is not None and value > at_most:
        raise InvalidInput(f"{field} must be at most {at_most}", value=value, field=field)
    return value


def require_aware(field: str, value: object) -> datetime:
    """``value`` if it is a timezone-aware datetime."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(f"{field} must be a timezone-aware datetime", value=value, field=field)
    return value


def opt_aware(field: str, value: object) -> datetime | None:
    """`require_aware` for an optional time: None stays None."""
    return None if value is None else require_aware(field, value)


def require_money(field: str, value: object) -> Money:
    """``value`` if it is `Money` holding a whole number of its currency's minor units."""
    if not isinstance(value, Money):
        raise InvalidInput(
            f"{field} must be Money, e.g. Money('80', 'USD')", value=value, field=field
        )
    if not value.is_whole_minor():
        raise InvalidInput(
            f"{field} {value!r} has more decimals than {value.currency} allows",
            value=value,
            field=field,
        )
    return value


def require_channels(value: object, known: Sequence[str]) -> list[str]:
    """A list of share channels, each one of ``known`` (a string alone is not a list)."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise InvalidInput(
            "channels must be a list of channel names", value=value, field="channels"
        )
    channels = list(value)
    for channel in channels:
        if not isinstance(channel, str) or channel not in known:
            raise InvalidInput(
                f"no share target for {channel!r}; channels are {list(known)}",
                value=channel,
                field="channels",
            )
    return channels
