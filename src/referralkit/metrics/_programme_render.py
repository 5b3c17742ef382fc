"""The programme comparison as tables: the text report's and the HTML page's cells."""

from __future__ import annotations

from collections.abc import Sequence

from referralkit.metrics._definitions import DEFINITIONS
from referralkit.metrics._format import DASH, amounts, format_figure
from referralkit.metrics._programmes import PartnerRow, ProgrammeComparison, ProgrammeRow

__all__ = [
    "PARTNER_COLUMNS",
    "PROGRAMMES_TITLE",
    "PROGRAMME_COLUMNS",
    "partner_table",
    "programme_tables",
]

#: The heading of the comparison, in the text report and on the HTML page.
PROGRAMMES_TITLE = "Programmes: customer referrals, affiliates, influencers"
#: The figures of a programme row, in column order (each defined in `DEFINITIONS`).
PROGRAMME_COLUMNS = (
    "partners",
    "new_customers",
    "cpa",
    "source_conversion_rate",
    "source_roi",
    "acquired_repeat_rate",
    "revenue_90d_per_customer",
    "net_revenue",
    "total_cost",
)
#: The figures of a partner's or a post's row, in column order.
PARTNER_COLUMNS = (
    "source_clicks",
    "signups",
    "source_orders",
    "new_customers",
    "net_revenue",
    "commission",
    "fees",
    "total_cost",
    "cpa",
    "source_roi",
    "engagement_rate",
    "cpm",
    "orders_per_mille",
    "acquired_repeat_rate",
)


def _cell(name: str, value: object) -> str:
    if isinstance(value, dict) and DEFINITIONS[name].unit == "money":
        return amounts(value)
    if isinstance(value, dict):  # a ratio per currency (ROI)
        if len(value) == 1:
            return format_figure(name, next(iter(value.values())))
        return ", ".join(f"{format_figure(name, v)} {c}" for c, v in sorted(value.items())) or DASH
    return format_figure(name, value)


def _label(name: str) -> str:
    return DEFINITIONS[name].label


def _programme_body(rows: Sequence[ProgrammeRow], key: str) -> tuple[list[str], list[list[str]]]:
    header = [key, *(_label(c) for c in PROGRAMME_COLUMNS)]
    body = []
    for row in rows:
        name = row.programme.replace("_", " ")
        if key == "band":
            name = f"{name}, {row.band}"
        elif key == "region":
            name = f"{name}, {row.region or '(none)'}"
        body.append([name, *(_cell(c, getattr(row, c)) for c in PROGRAMME_COLUMNS)])
    return header, body


def programme_tables(
    comparison: ProgrammeComparison,
) -> list[tuple[str, list[str], list[list[str]]]]:
    """The comparison's tables, each as (title, header, cells): programmes, bands, regions."""
    return [
        (PROGRAMMES_TITLE, *_programme_body(comparison.programmes, "programme")),
        ("Partner programmes by audience band", *_programme_body(comparison.by_band, "band")),
        ("Partner programmes by region", *_programme_body(comparison.by_region, "region")),
    ]


def partner_table(rows: Sequence[PartnerRow], *, posts: bool) -> tuple[list[str], list[list[str]]]:
    """The per-partner (or per-post) figures' header and cells."""
    header = ["post" if posts else "partner", *(_label(c) for c in PARTNER_COLUMNS)]
    body = [
        [
            f"{row.partner_id}/{row.post_id}"
            if posts
            else f"{row.partner_id} ({row.kind}, {row.band})",
            *(_cell(c, getattr(row, c)) for c in PARTNER_COLUMNS),
        ]
        for row in rows
    ]
    return header, body
