"""How a figure of `DEFINITIONS` is printed, in the text report and on the HTML page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from referralkit.metrics._definitions import DEFINITIONS

__all__ = ["DASH", "amounts", "format_duration", "format_figure", "format_rate"]

#: What stands for a figure that has no value.
DASH = "-"


def format_rate(value: Decimal | None) -> str:
    """A rate as a percentage with one decimal (``37.5 %``), or ``-``."""
    return DASH if value is None else f"{value * 100:.1f} %"


def format_duration(value: timedelta | None) -> str:
    """A duration as days and hours (``6d 04h``), or ``-``."""
    if value is None:
        return DASH
    hours = int(value.total_seconds() // 3600)
    return f"{hours // 24}d {hours % 24:02d}h"


def _number(value: Decimal | None, places: int) -> str:
    return DASH if value is None else f"{value:.{places}f}"


def _format_amount(value: Decimal | None) -> str:
    return DASH if value is None else f"{value:,}"


#: Decimal places of the ratios printed as numbers (ROI prints as a percentage).
_RATIO_PLACES = {
    "k_factor": 3,
    "invites_per_participant": 2,
    "members_per_group": 2,
    "new_customers_per_group": 2,
    "group_k_factor": 3,
    "referrals_per_invite": 2,
    "orders_per_mille": 3,
}


def format_figure(name: str, value: object) -> str:
    """A figure of `DEFINITIONS` as printed everywhere: by its unit, ``-`` for None."""
    unit = DEFINITIONS[name].unit
    if value is None:
        return DASH
    if unit == "rate" or (unit == "ratio" and name not in _RATIO_PLACES):
        return format_rate(Decimal(str(value)))
    if unit == "ratio":
        return _number(Decimal(str(value)), _RATIO_PLACES[name])
    if unit == "money":
        return _format_amount(Decimal(str(value)))
    if isinstance(value, timedelta):
        return format_duration(value)
    return str(value)


def amounts(values: dict[str, Decimal]) -> str:
    """Amounts in several currencies, as ``12.00 USD + 3.00 EUR``."""
    return " + ".join(f"{v:,} {c}" for c, v in sorted(values.items())) or DASH
