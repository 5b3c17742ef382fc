"""Group-buy figures: the facts a store aggregates (`GroupFacts`) and the report's figures.

Every figure is defined once in `DEFINITIONS` (``groups_started`` ... ``group_k_factor``);
`referralkit.metrics.build_report` computes them from one `GroupFacts`, the same on every
store. They cover the groups started in the report's window, and stay None when none
was (or the store has no group-buys).
"""

from __future__ import annotations

import attrs

__all__ = ["GROUP_FIGURES", "GroupFacts"]


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
