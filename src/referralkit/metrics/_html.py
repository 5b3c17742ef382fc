"""The report as one self-contained HTML page: headline figures, funnel, cohorts, leaderboard.

Charts are drawn by plotly (``pip install 'referralkit[report]'``), with plotly.js
inlined once so the page opens offline and can be mailed as a single file.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from referralkit.errors import ConfigError
from referralkit.metrics._render import format_duration, format_rate
from referralkit.metrics._report import MetricsReport

__all__ = ["CHART_COLOURS", "render_html", "write_html"]

#: The series colours, in order: referrals, conversions, repeat customers, the rate line.
CHART_COLOURS = ("#00897b", "#f4511e", "#3949ab", "#6d4c41")
_FUNNEL_COLOURS = ("#90a4ae", CHART_COLOURS[0], CHART_COLOURS[1], CHART_COLOURS[2])

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #212121; background: #fff; }}
h1 {{ font-size: 1.5rem; margin-bottom: 0.2rem; }}
.period {{ color: #616161; margin-top: 0; }}
.figures {{ display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 1rem 0 1.5rem; }}
.figure {{ border: 1px solid #e0e0e0; border-radius: 6px; padding: 0.6rem 0.9rem;
  min-width: 9rem; }}
.figure .label {{ font-size: 0.8rem; color: #616161; }}
.figure .value {{ font-size: 1.3rem; font-weight: 600; }}
.charts {{ display: grid; grid-template-columns: 1fr; gap: 1rem; max-width: 1100px; }}
.charts section {{ min-width: 0; }}
.note {{ color: #616161; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="period">{period}</p>
<div class="figures">{figures}</div>
<div class="charts">
<section id="funnel">{funnel}</section>
<section id="cohorts">{cohorts}</section>
<section id="leaderboard">{leaderboard}</section>
</div>
</body>
</html>
"""


def _plotly() -> Any:
    try:
        import plotly.graph_objects as go  # noqa: PLC0415 - optional dependency
    except ImportError:
        raise ConfigError(
            "the HTML report draws its charts with plotly: pip install 'referralkit[report]'",
            value="plotly",
            path="html",
        ) from None
    return go


def _figure(label: str, value: str) -> str:
    return (
        f'<div class="figure"><div class="label">{html.escape(label)}</div>'
        f'<div class="value">{html.escape(value)}</div></div>'
    )


def _figures(report: MetricsReport) -> str:
    cells = [
        ("participation", format_rate(report.participation_rate)),
        ("conversion", format_rate(report.conversion_rate)),
        ("k-factor", "-" if report.k_factor is None else f"{report.k_factor:.3f}"),
        ("viral cycle time", format_duration(report.viral_cycle_time)),
        ("repeat purchase", format_rate(report.repeat_purchase_rate)),
        ("fraud rate", format_rate(report.fraud_rate)),
    ]
    for s in report.currencies:
        cells += [
            (f"referred revenue ({s.currency})", f"{s.referred_revenue:,}"),
            (f"rewards cost ({s.currency})", f"{s.rewards_cost:,}"),
            (f"CAC ({s.currency})", "-" if s.cac is None else f"{s.cac:,}"),
            (f"ROI ({s.currency})", format_rate(s.roi)),
        ]
    return "".join(_figure(label, value) for label, value in cells)


def _layout(go: Any, title: str, **extra: Any) -> Any:
    return go.Layout(
        title={"text": title},
        height=380,
        margin={"l": 60, "r": 30, "t": 60, "b": 50},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        font={"family": "system-ui, sans-serif"},
        **extra,
    )


def _funnel(go: Any, report: MetricsReport) -> Any:
    stages = ["clicks", "referrals", "converted", "repeat customers"]
    values = [report.clicks, report.referrals, report.converted, report.repeat_customers]
    trace = go.Funnel(
        y=stages,
        x=values,
        textinfo="value+percent initial",
        textposition="outside",
        marker={"color": list(_FUNNEL_COLOURS)},
    )
    return go.Figure(data=[trace], layout=_layout(go, "Funnel"))


def _cohorts(go: Any, report: MetricsReport) -> Any:
    weeks = [c.week.isoformat() for c in report.cohorts]
    rates = [
        None if c.conversion_rate is None else float(c.conversion_rate) for c in report.cohorts
    ]
    data = [
        go.Bar(
            name="referrals",
            x=weeks,
            y=[c.referrals for c in report.cohorts],
            marker={"color": CHART_COLOURS[0]},
        ),
        go.Bar(
            name="converted",
            x=weeks,
            y=[c.converted for c in report.cohorts],
            marker={"color": CHART_COLOURS[1]},
        ),
        go.Bar(
            name="repeat customers",
            x=weeks,
            y=[c.repeat_customers for c in report.cohorts],
            marker={"color": CHART_COLOURS[2]},
        ),
        go.Scatter(
            name="conversion rate",
            x=weeks,
            y=rates,
            yaxis="y2",
            mode="lines+markers",
            line={"color": CHART_COLOURS[3]},
        ),
    ]
    layout = _layout(
        go,
        "Weekly cohorts (by attribution week)",
        barmode="group",
        xaxis={"type": "category", "title": {"text": "week of"}},
        yaxis={"title": {"text": "referees"}},
        yaxis2={"overlaying": "y", "side": "right", "tickformat": ".0%", "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.2},
    )
    return go.Figure(data=data, layout=layout)


def _leaderboard(go: Any, report: MetricsReport) -> Any | None:
    rows = report.breakdowns.get("referrer")
    if not rows:
        return None
    names = ["(none)" if r.key is None else r.key for r in rows][::-1]
    data = [
        go.Bar(
            name="referrals",
            y=names,
            x=[r.referrals for r in rows][::-1],
            orientation="h",
            marker={"color": CHART_COLOURS[0]},
        ),
        go.Bar(
            name="converted",
            y=names,
            x=[r.converted for r in rows][::-1],
            orientation="h",
            marker={"color": CHART_COLOURS[1]},
        ),
    ]
    layout = _layout(
        go,
        "Leaderboard (top referrers)",
        barmode="group",
        yaxis={"type": "category"},
        legend={"orientation": "h", "y": -0.2},
    )
    return go.Figure(data=data, layout=layout)


def render_html(report: MetricsReport, *, title: str = "Referral program report") -> str:
    """The report as a self-contained HTML page (plotly.js inlined, no network needed)."""
    go = _plotly()
    config = {"displaylogo": False, "displayModeBar": False, "responsive": True}
    size = {"default_width": "100%", "default_height": "380px"}
    funnel = _funnel(go, report).to_html(
        full_html=False, include_plotlyjs=True, div_id="funnel-chart", config=config, **size
    )
    cohorts = _cohorts(go, report).to_html(
        full_html=False, include_plotlyjs=False, div_id="cohort-chart", config=config, **size
    )
    board = _leaderboard(go, report)
    leaderboard = (
        '<p class="note">No referrer breakdown: ask for one with by="referrer".</p>'
        if board is None
        else board.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id="leaderboard-chart",
            config=config,
            **size,
        )
    )
    since = "-" if report.since is None else report.since.isoformat()
    until = "-" if report.until is None else report.until.isoformat()
    period = "All time" if report.since is None and report.until is None else f"{since} .. {until}"
    return _PAGE.format(
        title=html.escape(title),
        period=html.escape(period),
        figures=_figures(report),
        funnel=funnel,
        cohorts=cohorts,
        leaderboard=leaderboard,
    )


def write_html(report: MetricsReport, path: str | Path, *, title: str | None = None) -> Path:
    """Write `render_html` to ``path``; returns the path."""
    target = Path(path)
    target.write_text(
        render_html(report, title=title or "Referral program report"), encoding="utf-8"
    )
    return target
