"""The report as one HTML page: headline figures, charts, and the text report's tables.

Charts are drawn by plotly (``pip install 'referralkit[report]'``). By default plotly.js
is inlined once, so the page opens offline and can be mailed as a single file (about
4.9 MB); ``plotly_js=URL`` loads it from a URL the host serves instead (a page of tens
of kilobytes). Every figure carries the label of its `DEFINITIONS` entry, the same on
cards, charts and tables, and the text report's.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from referralkit.errors import ConfigError, InvalidInput
from referralkit.metrics._definitions import DEFINITIONS
from referralkit.metrics._format import format_figure
from referralkit.metrics._groups import GROUP_FIGURES
from referralkit.metrics._programme_render import partner_table, programme_tables
from referralkit.metrics._programmes import ProgrammeComparison
from referralkit.metrics._render import (
    COHORTS_TITLE,
    FRAUD,
    FRAUD_REASONS_NOTE,
    FUNNEL,
    GROUPS_TITLE,
    INVITATIONS_TITLE,
    MOMENTS_TITLE,
    MONEY,
    base_note,
    breakdown_table,
    breakdown_title,
    cohort_table,
    invitation_figures,
    label,
    moment_table,
    period,
)
from referralkit.metrics._report import MetricsReport

__all__ = ["CHART_COLOURS", "REPORT_MARKER", "is_report_file", "render_html", "write_html"]

#: The series colours, in order: referrals, conversions, repeat customers, the rate line.
CHART_COLOURS = ("#00897b", "#f4511e", "#3949ab", "#6d4c41")
_FUNNEL_COLOURS = ("#90a4ae", CHART_COLOURS[0], CHART_COLOURS[1], CHART_COLOURS[2])
_REASON_COLOUR = "#8e24aa"
#: Written in the head of every page, so a later run knows the file is a report it may
#: replace (and anything else is not).
REPORT_MARKER = '<meta name="generator" content="referralkit metrics report">'
_MARKER_WITHIN = 2048  # bytes: the marker sits in the page's head
_TICKS = 8  # at most about this many ticks on a count axis

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
{marker}
<title>{title}</title>
{script}<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #212121; background: #fff; }}
h1 {{ font-size: 1.5rem; margin-bottom: 0.2rem; }}
h2 {{ font-size: 1.1rem; margin: 1.5rem 0 0.4rem; }}
.period {{ color: #616161; margin-top: 0; }}
.figures {{ display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 1rem 0 1.5rem; }}
.figure {{ border: 1px solid #e0e0e0; border-radius: 6px; padding: 0.6rem 0.9rem;
  min-width: 9rem; }}
.figure .label, .figure .unit {{ font-size: 0.8rem; color: #616161; }}
.figure .value {{ font-size: 1.3rem; font-weight: 600; }}
.charts {{ display: grid; grid-template-columns: 1fr; gap: 1rem; max-width: 1100px; }}
.charts section {{ min-width: 0; }}
.note {{ color: #616161; }}
table {{ border-collapse: collapse; margin-bottom: 0.5rem; }}
th, td {{ padding: 0.2rem 0.7rem; border-bottom: 1px solid #eeeeee; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
td.note {{ text-align: left; }}
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
<section id="fraud-reasons">{reasons}</section>
</div>
<div class="tables">{tables}</div>
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


def _card(name: str, value: object, unit: str) -> str:
    return (
        f'<div class="figure" data-figure="{name}" data-unit="{DEFINITIONS[name].unit}">'
        f'<div class="label">{html.escape(label(name))}</div>'
        f'<div class="value">{html.escape(format_figure(name, value))}</div>'
        f'<div class="unit">{html.escape(unit)}</div></div>'
    )


def _figures(report: MetricsReport) -> str:
    base = base_note(report)
    cards = [
        _card("participation_rate", report.participation_rate, f"rate, {base}"),
        _card("conversion_rate", report.conversion_rate, "rate, of referrals"),
        _card("k_factor", report.k_factor, f"ratio, {base}"),
        _card("viral_cycle_time", report.viral_cycle_time, "median"),
        _card("repeat_purchase_rate", report.repeat_purchase_rate, "rate, of converted"),
        _card("fraud_rate", report.fraud_rate, "rate, of attributions"),
    ]
    for s in report.currencies:
        cards += [
            _card("referred_revenue", s.referred_revenue, s.currency),
            _card("rewards_cost", s.rewards_cost, s.currency),
            _card("cac", s.cac, s.currency),
            _card("roi", s.roi, f"ratio of {s.currency} amounts"),
        ]
    return "".join(cards)


def _layout(go: Any, title: str, **extra: Any) -> Any:
    return go.Layout(
        title={"text": title},
        height=380,
        margin={"l": 140, "r": 70, "t": 60, "b": 60},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        font={"family": "system-ui, sans-serif"},
        **extra,
    )


def _whole_step(top: int) -> int:
    """The tick step of a count axis up to ``top``: 1, 2, 5, 10, 20, ... (never a half)."""
    magnitude = 1
    while True:
        for step in (magnitude, 2 * magnitude, 5 * magnitude):
            if top <= step * _TICKS:
                return step
        magnitude *= 10


def _count_axis(title: str, values: Sequence[int]) -> dict[str, Any]:
    """An axis of whole counts: titled, ticks on whole numbers only."""
    return {
        "title": {"text": title},
        "tick0": 0,
        "dtick": _whole_step(max(values, default=0)),
        "tickformat": ",d",
        "rangemode": "tozero",
    }


def _category_axis(title: str) -> dict[str, Any]:
    return {"type": "category", "title": {"text": title}}


def _funnel(go: Any, report: MetricsReport) -> Any:
    names = ("clicks", "referrals", "converted", "repeat_customers")
    values = [getattr(report, n) for n in names]
    rates = ("", "click_to_signup_rate", "conversion_rate", "repeat_purchase_rate")
    text = [r and f"{label(r)} {format_figure(r, getattr(report, r))}" for r in rates]
    trace = go.Funnel(
        y=[label(n) for n in names],
        x=values,
        text=text,
        texttemplate="%{x:,d}  %{text}",
        textposition="outside",
        marker={"color": list(_FUNNEL_COLOURS)},
    )
    layout = _layout(
        go,
        "Funnel",
        yaxis=_category_axis("stage"),
        xaxis={"visible": False},  # the bars are centred: the stage's count is on it
    )
    return go.Figure(data=[trace], layout=layout)


def _cohorts(go: Any, report: MetricsReport) -> Any:
    rates = [
        None if c.conversion_rate is None else float(c.conversion_rate) for c in report.cohorts
    ]
    weeks = [c.week.isoformat() for c in report.cohorts]
    series = ("referrals", "converted", "repeat_customers")
    data = [
        go.Bar(
            name=label(name),
            x=weeks,
            y=[getattr(c, name) for c in report.cohorts],
            marker={"color": colour},
        )
        for name, colour in zip(series, CHART_COLOURS, strict=False)
    ]
    data.append(
        go.Scatter(
            name=label("conversion_rate"),
            x=weeks,
            y=rates,
            yaxis="y2",
            mode="lines+markers",
            line={"color": CHART_COLOURS[3]},
        )
    )
    layout = _layout(
        go,
        COHORTS_TITLE,
        barmode="group",
        xaxis=_category_axis("week of"),
        yaxis=_count_axis("referees", [c.referrals for c in report.cohorts]),
        yaxis2={
            "title": {"text": label("conversion_rate")},
            "overlaying": "y",
            "side": "right",
            "tickformat": ".0%",
            "tick0": 0,
            "dtick": 0.2,
            "range": [0, 1.05],
        },
        legend={"orientation": "h", "y": -0.25},
    )
    return go.Figure(data=data, layout=layout)


def _leaderboard(go: Any, report: MetricsReport) -> Any | None:
    rows = report.breakdowns.get("referrer")
    if not rows:
        return None
    names = ["(none)" if r.key is None else r.key for r in rows][::-1]
    data = [
        go.Bar(
            name=label(name),
            y=names,
            x=[getattr(r, name) for r in rows][::-1],
            orientation="h",
            marker={"color": colour},
        )
        for name, colour in (("referrals", CHART_COLOURS[0]), ("converted", CHART_COLOURS[1]))
    ]
    layout = _layout(
        go,
        "Leaderboard (top referrers)",
        barmode="group",
        xaxis=_count_axis("referees", [r.referrals for r in rows]),
        yaxis=_category_axis("referrer"),
        legend={"orientation": "h", "y": -0.25},
    )
    return go.Figure(data=data, layout=layout)


def _reasons(go: Any, report: MetricsReport) -> Any | None:
    if not report.fraud_reasons:
        return None
    reasons = sorted(report.fraud_reasons.items(), key=lambda item: (item[1], item[0]))
    trace = go.Bar(
        name=label("fraud_reasons"),
        y=[reason for reason, _ in reasons],
        x=[n for _, n in reasons],
        orientation="h",
        marker={"color": _REASON_COLOUR},
    )
    layout = _layout(
        go,
        f"{label('fraud_reasons').capitalize()} ({report.rejected} rejected)",
        xaxis=_count_axis("rejected attributions citing it", [n for _, n in reasons]),
        yaxis=_category_axis("reason"),
        showlegend=False,
    )
    return go.Figure(data=[trace], layout=layout)


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], note: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    caption = f'<p class="note">{html.escape(note)}</p>' if note else ""
    return (
        f"<h2>{html.escape(title)}</h2>{caption}"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _figure_rows(source: object, names: Sequence[str]) -> list[list[str]]:
    return [[label(n), format_figure(n, getattr(source, n))] for n in names]


def _tables(report: MetricsReport) -> str:
    parts = [
        _table("Funnel", ["figure", "value"], _figure_rows(report, FUNNEL)),
        _table("Fraud and review", ["figure", "value"], _figure_rows(report, FRAUD)),
    ]
    if report.fraud_reasons:
        reasons = [[reason, str(n)] for reason, n in report.fraud_reasons.items()]
        header = ["reason", "rejected attributions citing it"]
        parts.append(
            _table(label("fraud_reasons").capitalize(), header, reasons, FRAUD_REASONS_NOTE)
        )
    parts += [
        _table(f"Money ({s.currency})", ["figure", "value"], _figure_rows(s, MONEY))
        for s in report.currencies
    ]
    if report.reward_points:
        parts.append(_table("Points", ["figure", "value"], _figure_rows(report, ["reward_points"])))
    if report.groups_started is not None:
        groups = _figure_rows(report, GROUP_FIGURES)
        parts.append(_table(GROUPS_TITLE, ["figure", "value"], groups))
    invited = invitation_figures(report)
    if invited:
        parts.append(_table(INVITATIONS_TITLE, ["figure", "value"], _figure_rows(report, invited)))
    if report.moments:
        header, body = moment_table(report.moments)
        parts.append(_table(MOMENTS_TITLE, header, body))
    for name, rows in report.breakdowns.items():
        header, body = breakdown_table(name, rows)
        parts.append(_table(breakdown_title(name), header, body))
    if report.cohorts:
        header, body = cohort_table(report.cohorts)
        parts.append(_table(COHORTS_TITLE, header, body))
    if report.programmes is not None:
        parts += _programme_tables(report.programmes)
    return "".join(parts)


def _programme_tables(comparison: ProgrammeComparison) -> list[str]:
    """The comparison: programmes, bands, regions, then per partner and per post."""
    parts = [
        _table(title, header, body, PROGRAMMES_NOTE)
        for title, header, body in programme_tables(comparison)
        if body
    ]
    for title, rows, posts in (
        ("Per partner", comparison.partners, False),
        ("Per post", comparison.posts, True),
    ):
        if rows:
            parts.append(_table(title, *partner_table(rows, posts=posts)))
    return parts


#: Under each programme table: how the programmes are made comparable.
PROGRAMMES_NOTE = (
    "each order belongs to one source (a partner's code at checkout, else the buyer's"
    " referral); each new customer to the source of their first order in the window"
)


def _check_script_url(url: object) -> str:
    """A plotly.js URL for a ``<script src>``: http(s), a file, or a path on the host's site."""
    if not isinstance(url, str) or not url.strip() or any(c.isspace() for c in url):
        raise InvalidInput("plotly_js must be a URL without spaces", value=url, field="plotly_js")
    parts = urlsplit(url)
    if parts.scheme not in {"", "http", "https", "file"} or not url.isprintable():
        raise InvalidInput(
            "plotly_js must be an http(s) or file URL, or a path on your site",
            value=url,
            field="plotly_js",
        )
    return url


def render_html(
    report: MetricsReport,
    *,
    title: str = "Referral program report",
    plotly_js: str | None = None,
) -> str:
    """The report as an HTML page.

    Self-contained by default (plotly.js inlined, no network needed); with
    ``plotly_js`` (the URL of a plotly.js bundle the host serves), a small page that
    loads it from there.
    """
    script = "" if plotly_js is None else _check_script_url(plotly_js)
    go = _plotly()
    config = {"displaylogo": False, "displayModeBar": False, "responsive": True}
    size = {"default_width": "100%", "default_height": "380px"}
    inline = [not script]

    def chart(figure: Any | None, div_id: str, missing: str) -> str:
        if figure is None:
            return f'<p class="note">{html.escape(missing)}</p>'
        text: str = figure.to_html(
            full_html=False, include_plotlyjs=inline[0], div_id=div_id, config=config, **size
        )
        inline[0] = False  # plotly.js goes into the page once
        return text

    return _PAGE.format(
        marker=REPORT_MARKER,
        title=html.escape(title),
        script=f'<script src="{html.escape(script)}" charset="utf-8"></script>\n' if script else "",
        period=html.escape(period(report).capitalize()),
        figures=_figures(report),
        funnel=chart(_funnel(go, report), "funnel-chart", ""),
        cohorts=chart(_cohorts(go, report), "cohort-chart", ""),
        leaderboard=chart(
            _leaderboard(go, report),
            "leaderboard-chart",
            'No referrer breakdown: ask for one with by="referrer".',
        ),
        reasons=chart(_reasons(go, report), "fraud-reasons-chart", "No rejected attributions."),
        tables=_tables(report),
    )


def write_html(
    report: MetricsReport,
    path: str | Path,
    *,
    title: str | None = None,
    plotly_js: str | None = None,
) -> Path:
    """Write `render_html` to ``path``; returns the path."""
    target = Path(path)
    page = render_html(report, title=title or "Referral program report", plotly_js=plotly_js)
    target.write_text(page, encoding="utf-8")
    return target


def is_report_file(path: str | Path) -> bool:
    """True when ``path`` is a page `render_html` wrote (it carries `REPORT_MARKER`)."""
    try:
        with Path(path).open("rb") as file:
            head = file.read(_MARKER_WITHIN)
    except OSError:
        return False
    return REPORT_MARKER.encode() in head
