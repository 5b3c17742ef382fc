"""Metrics: is the referral programme worth it? Attribution, the report, and forecasts.

- `MetricsReport`: every figure of `DEFINITIONS` over a window, one money section per
  currency, breakdowns by campaign, channel or referrer, weekly cohorts. Computed from a
  store's `MetricsSource` (``store.metrics_source()``): in SQL on SQL stores, in one
  streaming pass on the memory store, with the same result on both.
- Attribution: clicks are facts in their own table, not events (`record_click`);
  `resolve_attribution` picks the code a visitor is attributed to (typed code first,
  then first or last touch in a window).
- `format_report` prints the report as a table; `render_html` / `write_html` make a
  self-contained page with charts (``pip install 'referralkit[report]'``).
- `ProgrammeComparison` (``by="programme"``): customer referrals, affiliates and
  influencers side by side, by audience band and region, per partner and per post;
  `Scorecard` ranks current and candidate partners by expected cost per acquisition.
- `simulate`: a seeded Monte Carlo forecast of new customers, reward spend and CAC per
  week under a real reward policy, to compare two policies before launching.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from referralkit.metrics._attribution import (
    ATTRIBUTION_MODELS,
    CLICK_EVENT,
    DEFAULT_WINDOW,
    Attribution,
    AttributionModel,
    metrics_source,
    record_click,
    resolve_attribution,
    visitor_clicks,
    winning_click,
)
from referralkit.metrics._definitions import DEFINITIONS, Definition, definitions_markdown
from referralkit.metrics._source import (
    Breakdown,
    Click,
    ClickRow,
    Dimension,
    FunnelRow,
    MetricsSource,
    MetricsView,
    MoneyRow,
    RewardRow,
    Window,
)

if TYPE_CHECKING:
    from referralkit.metrics._html import CHART_COLOURS, render_html, write_html
    from referralkit.metrics._programmes import PartnerRow, ProgrammeComparison, ProgrammeRow
    from referralkit.metrics._render import format_forecast, format_report
    from referralkit.metrics._report import (
        BREAKDOWNS,
        BreakdownRow,
        CohortRow,
        CurrencySection,
        MetricsReport,
        MomentRow,
        build_report,
    )
    from referralkit.metrics._scorecard import Candidate, Scorecard, ScorecardRow
    from referralkit.metrics._simulate import Forecast, Interval, WeekForecast, simulate

# The report and the forecast are pydantic models, the page is drawn by plotly: their
# modules load on first use, so ``import referralkit`` stays cheap.
_LAZY = {
    "BREAKDOWNS": "_report",
    "BreakdownRow": "_report",
    "CHART_COLOURS": "_html",
    "Candidate": "_scorecard",
    "PartnerRow": "_programmes",
    "ProgrammeComparison": "_programmes",
    "ProgrammeRow": "_programmes",
    "Scorecard": "_scorecard",
    "ScorecardRow": "_scorecard",
    "CohortRow": "_report",
    "CurrencySection": "_report",
    "Forecast": "_simulate",
    "Interval": "_simulate",
    "MetricsReport": "_report",
    "MomentRow": "_report",
    "WeekForecast": "_simulate",
    "build_report": "_report",
    "format_forecast": "_render",
    "format_report": "_render",
    "render_html": "_html",
    "simulate": "_simulate",
    "write_html": "_html",
}


def _load(name: str) -> object:
    """Load a lazy name's module on first use, then keep the name here."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value: object = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


if not TYPE_CHECKING:  # type checkers see the imports above; a typo stays an error
    __getattr__ = _load


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "ATTRIBUTION_MODELS",
    "BREAKDOWNS",
    "CHART_COLOURS",
    "CLICK_EVENT",
    "DEFAULT_WINDOW",
    "DEFINITIONS",
    "Attribution",
    "AttributionModel",
    "Breakdown",
    "BreakdownRow",
    "Candidate",
    "Click",
    "ClickRow",
    "CohortRow",
    "CurrencySection",
    "Definition",
    "Dimension",
    "Forecast",
    "FunnelRow",
    "Interval",
    "MetricsReport",
    "MetricsSource",
    "MetricsView",
    "MomentRow",
    "MoneyRow",
    "PartnerRow",
    "ProgrammeComparison",
    "ProgrammeRow",
    "RewardRow",
    "Scorecard",
    "ScorecardRow",
    "WeekForecast",
    "Window",
    "build_report",
    "definitions_markdown",
    "format_forecast",
    "format_report",
    "metrics_source",
    "record_click",
    "render_html",
    "resolve_attribution",
    "simulate",
    "visitor_clicks",
    "winning_click",
    "write_html",
]
