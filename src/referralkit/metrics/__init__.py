"""Metrics: is the referral programme worth it? Attribution, the report, and forecasts.

- `MetricsReport`: every figure of `DEFINITIONS` over a window, one money section per
  currency, breakdowns by campaign, channel or referrer, weekly cohorts. Computed from a
  store's `MetricsSource` (``store.metrics_source()``): in SQL on SQL stores, in one
  streaming pass on the memory store, with the same result on both.
- Attribution: clicks are events (`record_click`); `resolve_attribution` picks the code
  a visitor is attributed to (typed code first, then first or last touch in a window).
- `format_report` prints the report as a table; `render_html` / `write_html` make a
  self-contained page with charts (``pip install 'referralkit[report]'``).
- `simulate`: a seeded Monte Carlo forecast of new customers, reward spend and CAC per
  week under a real reward policy, to compare two policies before launching.
"""

from __future__ import annotations

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
from referralkit.metrics._html import CHART_COLOURS, render_html, write_html
from referralkit.metrics._render import format_forecast, format_report
from referralkit.metrics._report import (
    BREAKDOWNS,
    BreakdownRow,
    CohortRow,
    CurrencySection,
    MetricsReport,
    build_report,
)
from referralkit.metrics._simulate import Forecast, Interval, WeekForecast, simulate
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
    "MoneyRow",
    "RewardRow",
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
