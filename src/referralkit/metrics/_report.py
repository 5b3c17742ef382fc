"""`MetricsReport` and the one function that computes it from a `MetricsView`'s rows.

Counts are ints; money is `Decimal` in the section's currency (quotients rounded
half-up to the currency's minor unit, like receipts); rates are `Decimal` rounded
half-even to six decimal places (exact enough for a ratio, and equal on every store
because every store hands back the same integer counts). A figure whose denominator
is zero is None, never a division error and never a made-up zero.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from referralkit.errors import InvalidInput
from referralkit.metrics._definitions import DEFINITIONS
from referralkit.metrics._groups import GroupFacts
from referralkit.metrics._invitations import InvitationFacts
from referralkit.metrics._programme_facts import programme_view
from referralkit.metrics._programmes import ProgrammeComparison, compare_programmes
from referralkit.metrics._source import (
    DIMENSIONS,
    Breakdown,
    Dimension,
    FunnelRow,
    MetricsView,
    MoneyRow,
    RewardRow,
    Window,
)
from referralkit.metrics._waitlist import WaitlistFacts
from referralkit.moments import MomentStats
from referralkit.money import CURRENCY_EXPONENTS, Money

__all__ = [
    "BREAKDOWNS",
    "BreakdownRow",
    "CohortRow",
    "CurrencySection",
    "MetricsReport",
    "MomentRow",
    "build_report",
    "rate",
]

#: The breakdowns a report can carry (``by=``).
BREAKDOWNS: tuple[Breakdown, ...] = ("campaign", "channel", "referrer")
#: ``by=`` this adds the comparison of programmes (`MetricsReport.programmes`).
PROGRAMME: Breakdown = "programme"
_RATE_PLACES = Decimal("0.000001")
_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _doc(name: str, *default: None) -> Any:
    d = DEFINITIONS[name]
    return Field(*default, description=f"{d.formula}. {d.meaning}")


def rate(numerator: int | Decimal, denominator: int | Decimal) -> Decimal | None:
    """``numerator / denominator`` to six decimal places, or None when the denominator is 0."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(
        _RATE_PLACES, rounding=ROUND_HALF_EVEN
    )


def _amount_from_minor(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-CURRENCY_EXPONENTS[currency])


def _per(amount: Decimal, count: int, currency: str) -> Decimal | None:
    if not count:
        return None
    return Money(amount / count, currency).round().amount


class CurrencySection(BaseModel):
    """The money figures in one currency (a programme selling in several has several)."""

    model_config = _FROZEN

    currency: str
    orders: int = _doc("orders")
    referred_revenue: Decimal = _doc("referred_revenue")
    refunded: Decimal = _doc("refunded")
    rewards_cost: Decimal = _doc("rewards_cost")
    cac: Decimal | None = _doc("cac")
    roi: Decimal | None = _doc("roi")
    average_order_value: Decimal | None = _doc("average_order_value")
    ltv: Decimal | None = _doc("ltv")


class BreakdownRow(BaseModel):
    """One campaign, channel or referrer (a leaderboard line)."""

    model_config = _FROZEN

    key: str | None = Field(description="The campaign, channel or referrer; None: none given.")
    clicks: int = _doc("clicks")
    attributions: int = _doc("attributions")
    rejected: int = _doc("rejected")
    referrals: int = _doc("referrals")
    converted: int = _doc("converted")
    conversion_rate: Decimal | None = _doc("conversion_rate")
    repeat_customers: int = _doc("repeat_customers")
    referred_revenue: dict[str, Decimal] = Field(description="referred_revenue per currency.")
    rewards_cost: dict[str, Decimal] = Field(description="rewards_cost per currency.")


class CohortRow(BaseModel):
    """Referees attributed in one ISO week (starting Monday, UTC) and how they converted."""

    model_config = _FROZEN

    week: date = Field(description="The Monday the cohort's week starts on (UTC).")
    referrals: int = _doc("referrals")
    converted: int = _doc("converted")
    conversion_rate: Decimal | None = _doc("conversion_rate")
    repeat_customers: int = _doc("repeat_customers")


class MomentRow(BaseModel):
    """One moment type the host reported (`referralkit.ReferralProgram.moments`)."""

    model_config = _FROZEN

    moment: str = Field(description="The moment type, as the host names it.")
    moment_decisions: int = _doc("moment_decisions")
    moment_invitations: int = _doc("moment_invitations")
    moment_invite_rate: Decimal | None = _doc("moment_invite_rate")
    moment_shares: int = _doc("moment_shares")
    moment_share_rate: Decimal | None = _doc("moment_share_rate")
    moment_friends: int = _doc("moment_friends")
    referrals_per_invite: Decimal | None = _doc("referrals_per_invite")
    moment_orders: int = _doc("moment_orders")
    moment_conversion_rate: Decimal | None = _doc("moment_conversion_rate")


def moment_row(stats: MomentStats) -> MomentRow:
    """A report row from one moment type's stored counts."""
    return MomentRow(
        moment=stats.moment,
        moment_decisions=stats.decided,
        moment_invitations=stats.invited,
        moment_invite_rate=rate(stats.invited, stats.decided),
        moment_shares=stats.shared,
        moment_share_rate=rate(stats.shared, stats.invited),
        moment_friends=stats.friends,
        referrals_per_invite=rate(stats.friends, stats.invited),
        moment_orders=stats.ordered,
        moment_conversion_rate=rate(stats.ordered, stats.friends),
    )


class MetricsReport(BaseModel):
    """The programme's figures over a window, as defined in `DEFINITIONS`.

    The report follows the referrals attributed in ``[since, until)``: their orders and
    rewards count up to ``until``, valued as they stand now (refunds and reversals
    included). Enrolment is counted at ``until``.
    """

    model_config = _FROZEN

    since: datetime | None
    until: datetime | None
    active_customers: int | None = Field(
        description="The customer base rates are measured against, when the host gave it."
    )
    enrolled: int = _doc("enrolled")
    participants: int = _doc("participants")
    participation_rate: Decimal | None = _doc("participation_rate")
    clicks: int = _doc("clicks")
    referrals: int = _doc("referrals")
    converted: int = _doc("converted")
    conversion_rate: Decimal | None = _doc("conversion_rate")
    click_to_signup_rate: Decimal | None = _doc("click_to_signup_rate")
    invites_per_participant: Decimal | None = _doc("invites_per_participant")
    k_factor: Decimal | None = _doc("k_factor")
    viral_cycle_time: timedelta | None = _doc("viral_cycle_time")
    first_order_rate: Decimal | None = _doc("first_order_rate")
    repeat_customers: int = _doc("repeat_customers")
    repeat_purchase_rate: Decimal | None = _doc("repeat_purchase_rate")
    attributions: int = _doc("attributions")
    rejected: int = _doc("rejected")
    fraud_rate: Decimal | None = _doc("fraud_rate")
    fraud_reasons: dict[str, int] = _doc("fraud_reasons")
    review_backlog: int = _doc("review_backlog")
    reward_points: int = _doc("reward_points")
    currencies: list[CurrencySection] = Field(
        description="The money figures, one section per currency used, by currency code."
    )
    breakdowns: dict[str, list[BreakdownRow]] = Field(
        description="Per campaign, channel or referrer (as asked with by=), best first."
    )
    cohorts: list[CohortRow] = Field(description="Weekly cohorts of referees, oldest first.")
    # Group-buys started in the window; None when none was (or the store has none), so
    # a programme without group-buys reports the same on every store.
    groups_started: int | None = _doc("groups_started", None)
    groups_completed: int | None = _doc("groups_completed", None)
    groups_expired: int | None = _doc("groups_expired", None)
    group_fill_rate: Decimal | None = _doc("group_fill_rate", None)
    median_time_to_fill: timedelta | None = _doc("median_time_to_fill", None)
    members_per_group: Decimal | None = _doc("members_per_group", None)
    new_customers_per_group: Decimal | None = _doc("new_customers_per_group", None)
    group_k_factor: Decimal | None = _doc("group_k_factor", None)
    # Invitations issued in the window, and the waitlist as it stands; None without them.
    invitations_issued: int | None = _doc("invitations_issued", None)
    invitation_uses: int | None = _doc("invitation_uses", None)
    invitations_redeemed: int | None = _doc("invitations_redeemed", None)
    invitation_conversion_rate: Decimal | None = _doc("invitation_conversion_rate", None)
    waitlist_joined: int | None = _doc("waitlist_joined", None)
    waitlist_size: int | None = _doc("waitlist_size", None)
    waitlist_admitted: int | None = _doc("waitlist_admitted", None)
    waitlist_referred_joins: int | None = _doc("waitlist_referred_joins", None)
    waitlist_places_gained: int | None = _doc("waitlist_places_gained", None)
    moments: list[MomentRow] = Field(
        default_factory=list,
        description="Per moment type with decisions in the window (by name); empty without.",
    )
    programmes: ProgrammeComparison | None = Field(
        None,
        description="Customer referrals, affiliates and influencers side by side (by="
        "'programme'); None when not asked for, or the store cannot compare them.",
    )

    def section(self, currency: str) -> CurrencySection | None:
        """The money figures in ``currency``, if the programme used it."""
        for s in self.currencies:
            if s.currency == currency:
                return s
        return None


def _sections(
    money: Iterable[MoneyRow], rewards: Iterable[RewardRow], converted: int
) -> tuple[list[CurrencySection], int]:
    orders: dict[str, MoneyRow] = {m.currency: m for m in money}
    cost: dict[str, int] = {}
    points = 0
    for r in rewards:
        points += r.points
        if r.currency is not None:
            cost[r.currency] = cost.get(r.currency, 0) + r.amount_minor
    sections = []
    for currency in sorted(set(orders) | set(cost)):
        row = orders.get(currency)
        n = 0 if row is None else row.orders
        gross = _amount_from_minor(0 if row is None else row.amount_minor, currency)
        refunded = _amount_from_minor(0 if row is None else row.refunded_minor, currency)
        revenue = gross - refunded
        spent = _amount_from_minor(cost.get(currency, 0), currency)
        sections.append(
            CurrencySection(
                currency=currency,
                orders=n,
                referred_revenue=revenue,
                refunded=refunded,
                rewards_cost=spent,
                cac=_per(spent, converted, currency),
                roi=rate(revenue - spent, spent),
                average_order_value=_per(gross, n, currency),
                ltv=_per(revenue, converted, currency),
            )
        )
    return sections, points


def _by_key(
    rows: Iterable[MoneyRow | RewardRow], net: bool
) -> dict[str | None, dict[str, Decimal]]:
    out: dict[str | None, dict[str, Decimal]] = {}
    for row in rows:
        if row.currency is None:
            continue
        minor = row.amount_minor
        if net and isinstance(row, MoneyRow):
            minor -= row.refunded_minor
        per = out.setdefault(row.key, {})
        per[row.currency] = per.get(row.currency, Decimal(0)) + _amount_from_minor(
            minor, row.currency
        )
    return out


def _breakdown(view: MetricsView, window: Window, dim: Dimension, top: int) -> list[BreakdownRow]:
    funnel = view.funnel(window, dim, top)
    keys = [f.key for f in funnel]
    if not keys:
        return []
    revenue = _by_key(view.money(window, dim, keys), net=True)
    cost = _by_key(view.rewards(window, dim, keys), net=False)
    clicks = {c.key: c.clicks for c in view.clicks(window, dim, keys)}
    return [
        BreakdownRow(
            key=f.key,
            clicks=clicks.get(f.key, 0),
            attributions=f.attributions,
            rejected=f.rejected,
            referrals=f.referrals,
            converted=f.converted,
            conversion_rate=rate(f.converted, f.referrals),
            repeat_customers=f.repeated,
            referred_revenue=revenue.get(f.key, {}),
            rewards_cost=cost.get(f.key, {}),
        )
        for f in funnel
    ]


def _cohorts(rows: Sequence[FunnelRow]) -> list[CohortRow]:
    # Weeks with attributions but no referral (all rejected) have no referees to follow.
    return [
        CohortRow(
            week=date.fromisoformat(f.key),
            referrals=f.referrals,
            converted=f.converted,
            conversion_rate=rate(f.converted, f.referrals),
            repeat_customers=f.repeated,
        )
        for f in rows
        if f.key is not None and f.referrals
    ]


def _group_figures(facts: GroupFacts) -> dict[str, object]:
    """The group-buy figures (`referralkit.metrics._groups.GROUP_FIGURES`) from their facts."""
    fills = facts.fill_seconds
    return {
        "groups_started": facts.started,
        "groups_completed": facts.completed,
        "groups_expired": facts.expired,
        "group_fill_rate": rate(facts.completed, facts.completed + facts.expired),
        "median_time_to_fill": timedelta(seconds=statistics.median(fills)) if fills else None,
        "members_per_group": rate(facts.members, facts.started),
        "new_customers_per_group": rate(facts.new_customers, facts.started),
        "group_k_factor": rate(facts.new_customers, facts.initiators),
    }


#: The report's invitation and waitlist figures, in report order (each in `DEFINITIONS`).
INVITATION_FIGURES = (
    "invitations_issued",
    "invitation_uses",
    "invitations_redeemed",
    "invitation_conversion_rate",
)
WAITLIST_FIGURES = (
    "waitlist_joined",
    "waitlist_size",
    "waitlist_admitted",
    "waitlist_referred_joins",
    "waitlist_places_gained",
)


def _invitation_figures(facts: InvitationFacts) -> dict[str, object]:
    return {
        "invitations_issued": facts.issued,
        "invitation_uses": facts.uses,
        "invitations_redeemed": facts.redeemed,
        "invitation_conversion_rate": rate(facts.redeemed, facts.uses),
    }


def _waitlist_figures(facts: WaitlistFacts) -> dict[str, object]:
    return {
        "waitlist_joined": facts.joined,
        "waitlist_size": facts.waiting,
        "waitlist_admitted": facts.admitted,
        "waitlist_referred_joins": facts.referred_joins,
        "waitlist_places_gained": facts.places_gained,
    }


def _check_time(name: str, value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(f"{name} must be a timezone-aware datetime", value=value, field=name)
    try:
        value.astimezone(timezone.utc)  # stores compare times in UTC
    except OverflowError:
        raise InvalidInput(
            f"{name} is out of range in UTC (years 1 to 9999)", value=value, field=name
        ) from None
    return value


def check_window(since: object, until: object) -> Window:
    """Validate the report window: aware datetimes, ``since`` before ``until``."""
    start, end = _check_time("since", since), _check_time("until", until)
    if start is not None and end is not None and start >= end:
        raise InvalidInput("since must be before until", value=(since, until), field="since")
    return Window(start, end)


def check_by(by: object) -> tuple[Dimension, ...]:
    """Validate ``by=``: None, one of `BREAKDOWNS` (or `PROGRAMME`), or a sequence of them.

    The dimensions to break the report down by (`PROGRAMME` is no dimension: see
    `wants_programmes`).
    """
    if by is None:
        return ()
    items = [by] if isinstance(by, str) else by
    choices = (*BREAKDOWNS, PROGRAMME)
    if not isinstance(items, Sequence):
        raise InvalidInput(f"by must be one of {choices} or a list of them", value=by, field="by")
    out: list[Dimension] = []
    for item in items:
        if item == PROGRAMME:
            continue
        if item not in BREAKDOWNS:
            raise InvalidInput(
                f"cannot break the report down by {item!r}; choose from {', '.join(choices)}",
                value=item,
                field="by",
            )
        dim = DIMENSIONS[DIMENSIONS.index(item)]
        if dim not in out:
            out.append(dim)
    return tuple(out)


def wants_programmes(by: object) -> bool:
    """Whether ``by=`` (already checked) asks for the comparison of programmes."""
    return by == PROGRAMME or (not isinstance(by, str) and PROGRAMME in (by or ()))  # type: ignore[operator]  # a checked sequence


def _programmes(view: MetricsView, window: Window) -> ProgrammeComparison | None:
    source = programme_view(view)
    return None if source is None else compare_programmes(source.programme_facts(window))


def _check_count(name: str, value: object, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(f"{name} must be an int >= {minimum}", value=value, field=name)
    return value


def build_report(
    view: MetricsView,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    active_customers: int | None = None,
    by: Breakdown | Sequence[Breakdown] | None = None,
    top: int = 10,
    groups: GroupFacts | None = None,
    moments: Sequence[MomentStats] = (),
    invitations: InvitationFacts | None = None,
    waitlist: WaitlistFacts | None = None,
) -> MetricsReport:
    """Compute the report from a view's aggregate rows (see `DEFINITIONS`).

    ``active_customers`` replaces ``enrolled`` as the base of ``participation_rate``
    and ``k_factor``; ``by`` adds breakdowns (``"campaign"``, ``"channel"``,
    ``"referrer"``), each cut to its ``top`` rows, and ``"programme"`` the comparison of
    programmes (`MetricsReport.programmes`); ``groups`` the group-buy facts of
    the window, when the store has group-buys (the group figures stay None when no
    group was started in the window); ``moments`` the moment types' counts of the window;
    ``invitations`` the facts of the invitations issued in the window and ``waitlist``
    the waitlist's as it stands (their figures stay None without any).
    """
    window = check_window(since, until)
    base_override = _check_count("active_customers", active_customers, 0)
    dims = check_by(by)
    limit = _check_count("top", top, 1) or 10
    enrolled, participants = view.enrolment(window)
    (total,) = view.funnel(window)
    sections, points = _sections(view.money(window), view.rewards(window), total.converted)
    clicks = sum(c.clicks for c in view.clicks(window))
    base = enrolled if base_override is None else base_override
    if base_override is not None and base_override < participants:
        raise InvalidInput(
            f"active_customers ({base_override}) is fewer than the {participants} customers"
            " who took part: give your whole active customer base",
            value=base_override,
            field="active_customers",
        )
    return MetricsReport(
        since=window.since,
        until=window.until,
        active_customers=base_override,
        enrolled=enrolled,
        participants=participants,
        participation_rate=rate(participants, base),
        clicks=clicks,
        referrals=total.referrals,
        converted=total.converted,
        conversion_rate=rate(total.converted, total.referrals),
        click_to_signup_rate=rate(min(total.referrals, clicks), clicks),
        invites_per_participant=rate(total.referrals, participants),
        k_factor=rate(total.converted, base),
        viral_cycle_time=view.cycle_time(window),
        first_order_rate=rate(total.converted, total.referrals),
        repeat_customers=total.repeated,
        repeat_purchase_rate=rate(total.repeated, total.converted),
        attributions=total.attributions,
        rejected=total.rejected,
        fraud_rate=rate(total.rejected, total.attributions),
        fraud_reasons=dict(view.fraud_reasons(window)),
        review_backlog=total.review,
        reward_points=points,
        currencies=sections,
        breakdowns={dim: _breakdown(view, window, dim, limit) for dim in dims},
        cohorts=_cohorts(view.funnel(window, "week")),
        **({} if groups is None or not groups.started else _group_figures(groups)),
        moments=[moment_row(m) for m in sorted(moments, key=lambda m: m.moment)],
        **(
            {}
            if invitations is None or not invitations.issued
            else _invitation_figures(invitations)
        ),
        **({} if waitlist is None or not waitlist.joined else _waitlist_figures(waitlist)),
        programmes=_programmes(view, window) if wants_programmes(by) else None,
    )
