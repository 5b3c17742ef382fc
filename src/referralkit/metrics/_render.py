"""The report as a plain-text table, for terminals and logs (``referralkit metrics``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from referralkit.metrics._definitions import DEFINITIONS
from referralkit.metrics._format import DASH, amounts, format_figure
from referralkit.metrics._groups import GROUP_FIGURES
from referralkit.metrics._programme_render import partner_table, programme_tables
from referralkit.metrics._programmes import ProgrammeComparison
from referralkit.metrics._report import (
    INVITATION_FIGURES,
    WAITLIST_FIGURES,
    BreakdownRow,
    CohortRow,
    CurrencySection,
    MetricsReport,
    MomentRow,
)
from referralkit.metrics._simulate import Forecast, Interval

__all__ = ["format_forecast", "format_report"]

_LABEL = 26
_VALUE = 14


#: The title of the group-buy figures, in the text report and on the HTML page.
GROUPS_TITLE = "Group-buys"
#: The title of the invitation and waitlist figures.
INVITATIONS_TITLE = "Invitations and waitlist"


def invitation_figures(report: MetricsReport) -> list[str]:
    """The invitation and waitlist figures the report carries (None ones left out)."""
    return [n for n in (*INVITATION_FIGURES, *WAITLIST_FIGURES) if getattr(report, n) is not None]


def label(name: str) -> str:
    """The figure's label, as `DEFINITIONS` gives it."""
    return DEFINITIONS[name].label


#: What the text report says beside a figure, where its base needs saying.
_NOTES = {
    "conversion_rate": "of referrals",
    "click_to_signup_rate": "at most: typed codes count as sign-ups, not clicks",
    "repeat_purchase_rate": "of converted",
    "k_factor": "new paying customers per customer",
    "review_backlog": "attributions waiting for a reviewer",
    "referred_revenue": "net of refunds",
    "rewards_cost": "rewards not reversed",
    "cac": "rewards cost per converted referee",
    "roi": "(referred revenue - rewards cost) / rewards cost",
    "ltv": "referred revenue per converted referee",
}
#: One rejection can cite several reasons: said wherever the reasons are listed.
FRAUD_REASONS_NOTE = (
    "one rejected attribution can cite several reasons, so these can add up to more"
    " than the rejected"
)
FUNNEL = (
    "enrolled",
    "participants",
    "participation_rate",
    "clicks",
    "referrals",
    "click_to_signup_rate",
    "converted",
    "conversion_rate",
    "repeat_customers",
    "repeat_purchase_rate",
    "invites_per_participant",
    "k_factor",
    "viral_cycle_time",
)
FRAUD = ("attributions", "rejected", "fraud_rate", "review_backlog")
MONEY = (
    "orders",
    "referred_revenue",
    "refunded",
    "rewards_cost",
    "cac",
    "roi",
    "average_order_value",
    "ltv",
)


def base_note(report: MetricsReport) -> str:
    """What participation and the k-factor are measured against."""
    return "of active customers" if report.active_customers is not None else "of enrolled"


def _line(label: str, value: object, note: str = "") -> str:
    text = f"  {label:<{_LABEL}}{value!s:>{_VALUE}}"
    return f"{text}   {note}" if note else text


def _figure_line(name: str, value: object, note: str | None = None) -> str:
    note = _NOTES.get(name, "") if note is None else note
    return _line(label(name), format_figure(name, value), note)


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    body = [list(r) for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]

    def fmt(cells: Sequence[str]) -> str:
        first = f"{cells[0]:<{widths[0]}}"
        rest = (f"{c:>{w}}" for c, w in zip(cells[1:], widths[1:], strict=True))
        return "  " + "  ".join([first, *rest])

    return [fmt(header), "  " + "  ".join("-" * w for w in widths), *map(fmt, body)]


def _funnel(r: MetricsReport) -> list[str]:
    base = base_note(r)
    notes = {"participation_rate": base, "k_factor": f"{_NOTES['k_factor']} ({base})"}
    return ["Funnel", *(_figure_line(n, getattr(r, n), notes.get(n)) for n in FUNNEL)]


def _fraud(r: MetricsReport) -> list[str]:
    lines = ["Fraud and review", *(_figure_line(n, getattr(r, n)) for n in FRAUD)]
    if r.fraud_reasons:
        lines.append(_line(label("fraud_reasons"), "", FRAUD_REASONS_NOTE))
        lines += [_line(f"  {reason}", n) for reason, n in r.fraud_reasons.items()]
    return lines


def _section(s: CurrencySection) -> list[str]:
    return [f"Money ({s.currency})", *(_figure_line(n, getattr(s, n)) for n in MONEY)]


BREAKDOWN_COLUMNS = (
    "clicks",
    "referrals",
    "converted",
    "conversion_rate",
    "referred_revenue",
    "rewards_cost",
)


def breakdown_table(name: str, rows: list[BreakdownRow]) -> tuple[list[str], list[list[str]]]:
    """A breakdown's header and cells, as the text report and the HTML page show them."""
    header = [name, *(label(c) for c in BREAKDOWN_COLUMNS)]
    body = [
        [
            "(none)" if row.key is None else row.key,
            *(
                amounts(getattr(row, c))
                if isinstance(getattr(row, c), dict)
                else format_figure(c, getattr(row, c))
                for c in BREAKDOWN_COLUMNS
            ),
        ]
        for row in rows
    ]
    return header, body


def breakdown_title(name: str) -> str:
    """The heading of a breakdown."""
    return "Leaderboard (by referrer)" if name == "referrer" else f"By {name}"


def _breakdown(name: str, rows: list[BreakdownRow]) -> list[str]:
    header, body = breakdown_table(name, rows)
    title = breakdown_title(name)
    return [title, *_table(header, body)] if body else [title, "  (no referrals)"]


COHORT_COLUMNS = ("referrals", "converted", "conversion_rate", "repeat_customers")


def cohort_table(rows: list[CohortRow]) -> tuple[list[str], list[list[str]]]:
    """The cohorts' header and cells."""
    header = ["week of", *(label(c) for c in COHORT_COLUMNS)]
    body = [
        [row.week.isoformat(), *(format_figure(c, getattr(row, c)) for c in COHORT_COLUMNS)]
        for row in rows
    ]
    return header, body


COHORTS_TITLE = "Weekly cohorts (by attribution week)"

#: The per-moment figures, in column order (each defined in `DEFINITIONS`).
MOMENT_COLUMNS = (
    "moment_decisions",
    "moment_invitations",
    "moment_invite_rate",
    "moment_shares",
    "moment_share_rate",
    "moment_friends",
    "referrals_per_invite",
    "moment_orders",
    "moment_conversion_rate",
)
MOMENTS_TITLE = "Moments (when the invitation was asked for)"


def moment_table(rows: list[MomentRow]) -> tuple[list[str], list[list[str]]]:
    """The moment types' header and cells, as the text report and the HTML page show them."""
    header = ["moment", *(label(c) for c in MOMENT_COLUMNS)]
    body = [
        [row.moment, *(format_figure(c, getattr(row, c)) for c in MOMENT_COLUMNS)] for row in rows
    ]
    return header, body


def _cohorts(rows: list[CohortRow]) -> list[str]:
    header, body = cohort_table(rows)
    return [COHORTS_TITLE, *_table(header, body)] if body else []


def period(report: MetricsReport) -> str:
    """The report's window, as ``all time`` or ``since .. until``."""
    since = DASH if report.since is None else report.since.isoformat()
    until = DASH if report.until is None else report.until.isoformat()
    return "all time" if report.since is None and report.until is None else f"{since} .. {until}"


def format_report(report: MetricsReport) -> str:
    """The report as aligned text: funnel, fraud, money per currency, breakdowns, cohorts."""
    blocks = [[f"referralkit metrics ({period(report)})"], _funnel(report), _fraud(report)]
    blocks += [_section(s) for s in report.currencies]
    if report.reward_points:
        blocks.append(["Points", _figure_line("reward_points", report.reward_points)])
    if report.groups_started is not None:
        blocks.append([GROUPS_TITLE, *(_figure_line(n, getattr(report, n)) for n in GROUP_FIGURES)])
    invited = invitation_figures(report)
    if invited:
        blocks.append([INVITATIONS_TITLE, *(_figure_line(n, getattr(report, n)) for n in invited)])
    if report.moments:
        blocks.append([MOMENTS_TITLE, *_table(*moment_table(report.moments))])
    blocks += [_breakdown(name, rows) for name, rows in report.breakdowns.items()]
    cohorts = _cohorts(report.cohorts)
    if cohorts:
        blocks.append(cohorts)
    if report.programmes is not None:
        blocks += _programmes(report.programmes)
    return "\n\n".join("\n".join(b) for b in blocks) + "\n"


def _programmes(comparison: ProgrammeComparison) -> list[list[str]]:
    """The comparison's blocks: programmes, bands, regions, then partners and posts."""
    blocks = [
        [title, *_table(header, body)]
        for title, header, body in programme_tables(comparison)
        if body
    ]
    for title, rows, posts in (
        ("Per partner", comparison.partners, False),
        ("Per post", comparison.posts, True),
    ):
        if rows:
            blocks.append([title, *_table(*partner_table(rows, posts=posts))])
    return blocks


def _band(value: Interval | None, places: int = 1) -> str:
    if value is None:
        return DASH
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
            row.append(DASH if used is None else f"{used.mean * 100:.1f} %")
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
