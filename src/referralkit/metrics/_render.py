"""The report as a plain-text table, for terminals and logs (``referralkit metrics``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from decimal import Decimal

from referralkit.metrics._report import BreakdownRow, CohortRow, CurrencySection, MetricsReport
from referralkit.metrics._simulate import Forecast, Interval

__all__ = ["format_duration", "format_forecast", "format_rate", "format_report"]

_DASH = "-"
_LABEL = 26
_VALUE = 14


def format_rate(value: Decimal | None) -> str:
    """A rate as a percentage with one decimal (``37.5 %``), or ``-``."""
    return _DASH if value is None else f"{value * 100:.1f} %"


def format_duration(value: timedelta | None) -> str:
    """A duration as days and hours (``6d 04h``), or ``-``."""
    if value is None:
        return _DASH
    hours = int(value.total_seconds() // 3600)
    return f"{hours // 24}d {hours % 24:02d}h"


def _number(value: Decimal | None, places: int) -> str:
    return _DASH if value is None else f"{value:.{places}f}"


def _format_amount(value: Decimal | None) -> str:
    return _DASH if value is None else f"{value:,}"


def _line(label: str, value: object, note: str = "") -> str:
    text = f"  {label:<{_LABEL}}{value!s:>{_VALUE}}"
    return f"{text}   {note}" if note else text


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    body = [list(r) for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]

    def fmt(cells: Sequence[str]) -> str:
        first = f"{cells[0]:<{widths[0]}}"
        rest = (f"{c:>{w}}" for c, w in zip(cells[1:], widths[1:], strict=True))
        return "  " + "  ".join([first, *rest])

    return [fmt(header), "  " + "  ".join("-" * w for w in widths), *map(fmt, body)]


def _funnel(r: MetricsReport) -> list[str]:
    base = "active customers" if r.active_customers is not None else "enrolled"
    return [
        "Funnel",
        _line("enrolled", r.enrolled),
        _line("participants", r.participants, f"{format_rate(r.participation_rate)} of {base}"),
        _line("clicks", r.clicks),
        _line("referrals", r.referrals, f"{format_rate(r.click_to_signup_rate)} of clicks"),
        _line("converted", r.converted, f"{format_rate(r.conversion_rate)} of referrals"),
        _line(
            "repeat customers",
            r.repeat_customers,
            f"{format_rate(r.repeat_purchase_rate)} of converted",
        ),
        _line("invites per participant", _number(r.invites_per_participant, 2)),
        _line("k-factor", _number(r.k_factor, 3), "new paying customers per customer"),
        _line("viral cycle time", format_duration(r.viral_cycle_time)),
    ]


def _fraud(r: MetricsReport) -> list[str]:
    lines = [
        "Fraud and review",
        _line("attributions", r.attributions),
        _line("rejected", r.rejected, f"fraud rate {format_rate(r.fraud_rate)}"),
        _line("review backlog", r.review_backlog),
    ]
    lines += [_line(f"  {reason}", n) for reason, n in r.fraud_reasons.items()]
    return lines


def _section(s: CurrencySection) -> list[str]:
    return [
        f"Money ({s.currency})",
        _line("orders", s.orders),
        _line("referred revenue", _format_amount(s.referred_revenue), "net of refunds"),
        _line("refunded", _format_amount(s.refunded)),
        _line("rewards cost", _format_amount(s.rewards_cost), "rewards not reversed"),
        _line("CAC", _format_amount(s.cac), "rewards cost per converted referee"),
        _line("ROI", format_rate(s.roi)),
        _line("average order value", _format_amount(s.average_order_value)),
        _line("LTV", _format_amount(s.ltv), "revenue per converted referee"),
    ]


def _amounts(values: dict[str, Decimal]) -> str:
    return " + ".join(f"{v:,} {c}" for c, v in sorted(values.items())) or _DASH


def _breakdown(name: str, rows: list[BreakdownRow]) -> list[str]:
    header = [name, "clicks", "referrals", "converted", "conv.", "revenue", "rewards cost"]
    body = [
        [
            "(none)" if row.key is None else row.key,
            str(row.clicks),
            str(row.referrals),
            str(row.converted),
            format_rate(row.conversion_rate),
            _amounts(row.referred_revenue),
            _amounts(row.rewards_cost),
        ]
        for row in rows
    ]
    title = "Leaderboard (by referrer)" if name == "referrer" else f"By {name}"
    return [title, *_table(header, body)] if body else [title, "  (no referrals)"]


def _cohorts(rows: list[CohortRow]) -> list[str]:
    header = ["week of", "referrals", "converted", "conv.", "repeat"]
    body = [
        [
            row.week.isoformat(),
            str(row.referrals),
            str(row.converted),
            format_rate(row.conversion_rate),
            str(row.repeat_customers),
        ]
        for row in rows
    ]
    return ["Weekly cohorts (by attribution week)", *_table(header, body)] if body else []


def format_report(report: MetricsReport) -> str:
    """The report as aligned text: funnel, fraud, money per currency, breakdowns, cohorts."""
    since = _DASH if report.since is None else report.since.isoformat()
    until = _DASH if report.until is None else report.until.isoformat()
    period = "all time" if report.since is None and report.until is None else f"{since} .. {until}"
    blocks = [[f"referralkit metrics ({period})"], _funnel(report), _fraud(report)]
    blocks += [_section(s) for s in report.currencies]
    if report.reward_points:
        blocks.append(["Points", _line("reward points", report.reward_points)])
    blocks += [_breakdown(name, rows) for name, rows in report.breakdowns.items()]
    cohorts = _cohorts(report.cohorts)
    if cohorts:
        blocks.append(cohorts)
    return "\n\n".join("\n".join(b) for b in blocks) + "\n"


def _band(value: Interval | None, places: int = 1) -> str:
    if value is None:
        return _DASH
    return f"{value.mean:,.{places}f} [{value.low:,.{places}f}-{value.high:,.{places}f}]"


def format_forecast(forecast: Forecast) -> str:
    """A forecast as a table: per week the mean and 5-95 % band of each quantity."""
    cur = forecast.currency
    header = [
        "week",
        "new customers",
        "closed form",
        f"reward spend ({cur})",
        f"CAC ({cur})",
        "spend to date",
    ]
    if forecast.budget is not None:
        header.append("budget used")
    body = []
    for w in forecast.weeks:
        row = [
            str(w.week),
            _band(w.new_customers),
            f"{w.expected_new_customers:,.1f}",
            _band(w.reward_spend, 2),
            _band(w.cac, 2),
            _band(w.spend_to_date, 2),
        ]
        if forecast.budget is not None:
            used = w.budget_used
            row.append(_DASH if used is None else f"{used.mean * 100:.1f} %")
        body.append(row)
    title = (
        f"Forecast for {forecast.policy}: {forecast.customers:,} customers, K-factor"
        f" {forecast.k_factor:.3f}, {forecast.runs} runs (seed {forecast.seed})"
    )
    totals = [
        _line("new customers", _band(forecast.total_new_customers)),
        _line(f"reward spend ({cur})", _band(forecast.total_reward_spend, 2)),
        _line(f"CAC ({cur})", _band(forecast.cac, 2)),
    ]
    if forecast.budget is not None:
        totals.append(_line(f"budget ({cur})", f"{forecast.budget:,}"))
    return "\n".join([title, *_table(header, body), "", "Totals (mean [5 %-95 %])", *totals]) + "\n"
