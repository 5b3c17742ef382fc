"""Group-buy figures: the facts a store aggregates (`GroupFacts`) and the report's section.

Every figure is defined once in `DEFINITIONS` (``groups_started`` ... ``group_k_factor``);
`group_section` computes them from one `GroupFacts`, the same on every store.
"""

from __future__ import annotations

import statistics
from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs
from pydantic import BaseModel, ConfigDict, Field

from referralkit.metrics._definitions import DEFINITIONS

__all__ = ["GroupFacts", "GroupSection", "group_section"]

_RATE_PLACES = Decimal("0.000001")


@attrs.frozen(slots=True)
class GroupFacts:
    """Aggregates over every group a store holds, for the metrics report.

    ``members`` counts places taken (initiators included); ``new_customers`` the places
    whose joining brought the customer in; ``fill_seconds`` is, for each completed
    group, the seconds from its start to its completion (the median needs the values).
    """

    started: int = 0
    completed: int = 0
    expired: int = 0
    cancelled: int = 0
    members: int = 0
    new_customers: int = 0
    initiators: int = 0
    fill_seconds: tuple[float, ...] = ()


def _doc(name: str) -> Any:
    d = DEFINITIONS[name]
    return Field(description=f"{d.formula}. {d.meaning}")


def _rate(numerator: int, denominator: int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(_RATE_PLACES)


class GroupSection(BaseModel):
    """The group-buy figures of a report (None on a report of a store without groups)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    groups_started: int = _doc("groups_started")
    groups_completed: int = _doc("groups_completed")
    groups_expired: int = _doc("groups_expired")
    group_fill_rate: Decimal | None = _doc("group_fill_rate")
    median_time_to_fill: timedelta | None = _doc("median_time_to_fill")
    members_per_group: Decimal | None = _doc("members_per_group")
    new_customers_per_group: Decimal | None = _doc("new_customers_per_group")
    group_k_factor: Decimal | None = _doc("group_k_factor")


def group_section(facts: GroupFacts) -> GroupSection:
    """The report's group-buy figures from a store's `GroupFacts`."""
    median = (
        timedelta(seconds=statistics.median(facts.fill_seconds)) if facts.fill_seconds else None
    )
    return GroupSection(
        groups_started=facts.started,
        groups_completed=facts.completed,
        groups_expired=facts.expired,
        group_fill_rate=_rate(facts.completed, facts.completed + facts.expired),
        median_time_to_fill=median,
        members_per_group=_rate(facts.members, facts.started),
        new_customers_per_group=_rate(facts.new_customers, facts.started),
        group_k_factor=_rate(facts.new_customers, facts.initiators),
    )
