"""Group-buy figures: the facts a store aggregates (`GroupFacts`) and the report's figures.

Every figure is defined once in `DEFINITIONS` (``groups_started`` ... ``group_k_factor``);
`group_figures` computes them from one `GroupFacts`, the same on every store. They cover
the groups started in the report's window; a store without group-buys leaves them None.
"""

from __future__ import annotations

import statistics
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import attrs

__all__ = ["GROUP_FIGURES", "GroupFacts", "group_figures"]

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


#: The report's group-buy figures, in report order (each defined in `DEFINITIONS`).
GROUP_FIGURES = (
    "groups_started",
    "groups_completed",
    "groups_expired",
    "group_fill_rate",
    "median_time_to_fill",
    "members_per_group",
    "new_customers_per_group",
    "group_k_factor",
)


def _rate(numerator: int, denominator: int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(
        _RATE_PLACES, rounding=ROUND_HALF_EVEN
    )


def group_figures(facts: GroupFacts) -> dict[str, object]:
    """The report's group-buy figures, by name, from a store's `GroupFacts`."""
    median = (
        timedelta(seconds=statistics.median(facts.fill_seconds)) if facts.fill_seconds else None
    )
    return {
        "groups_started": facts.started,
        "groups_completed": facts.completed,
        "groups_expired": facts.expired,
        "group_fill_rate": _rate(facts.completed, facts.completed + facts.expired),
        "median_time_to_fill": median,
        "members_per_group": _rate(facts.members, facts.started),
        "new_customers_per_group": _rate(facts.new_customers, facts.started),
        "group_k_factor": _rate(facts.new_customers, facts.initiators),
    }
