"""Which programme works better: customer referrals, affiliates and influencers side by side.

`ProgrammeComparison` is computed from a store's `ProgrammeFacts` (one row per source,
summed by the store) by `compare_programmes`, the same on every store. It holds one
row per programme (customer referrals, then each partner kind), the partners' rows
again by audience band (`audience_band`) and by region, and the figures per partner
and per post. Every figure is defined once in `DEFINITIONS` (scope ``source``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from referralkit.metrics._definitions import DEFINITIONS
from referralkit.metrics._programme_facts import (
    PartnerProfile,
    ProgrammeFacts,
    SourceCounts,
    SourceMoney,
)
from referralkit.money import CURRENCY_EXPONENTS, Money

__all__ = [
    "BANDS",
    "REFERRALS",
    "PartnerRow",
    "ProgrammeComparison",
    "ProgrammeRow",
    "audience_band",
    "compare_programmes",
]

#: The programme of customer referrals (a partner's row names the partner's kind).
REFERRALS = "customer_referrals"
#: Audience bands, smallest first: nano below 10,000 followers, micro 10,000 to 100,000,
#: macro above (`audience_band`).
BANDS = ("nano", "micro", "macro")
_FROZEN = ConfigDict(frozen=True, extra="forbid")
_RATE = Decimal("0.000001")
_MILLE = 1000


def audience_band(audience: int) -> str:
    """``nano`` (< 10k), ``micro`` (10k to 100k) or ``macro`` (above 100k)."""
    if audience < 10_000:  # noqa: PLR2004 - the band's edge, documented above
        return "nano"
    return "micro" if audience <= 100_000 else "macro"  # noqa: PLR2004 - the band's edge


def _doc(name: str) -> Any:
    d = DEFINITIONS[name]
    return Field(description=f"{d.formula}. {d.meaning}")


def _ratio(numerator: int | Decimal, denominator: int | Decimal) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(_RATE)


def _amount(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-CURRENCY_EXPONENTS[currency])


def _money_per(amounts: Mapping[str, Decimal], count: int, scale: int = 1) -> dict[str, Decimal]:
    """Each currency's amount * scale / count, rounded to the currency; {} when count is 0."""
    if not count:
        return {}
    return {c: Money(a * scale / count, c).round().amount for c, a in amounts.items()}


class _Sums:
    """A row's sums while it is built: counts, and money per currency in minor units."""

    def __init__(self) -> None:
        self.partners: set[str] = set()
        self.counts: dict[str, int] = defaultdict(int)
        self.money: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add_counts(self, row: SourceCounts) -> None:
        for name in (
            "clicks",
            "signups",
            "orders",
            "customers",
            "repeat_customers",
            "impressions",
            "engagements",
        ):
            self.counts[name] += getattr(row, name)

    def add_money(self, row: SourceMoney) -> None:
        per = self.money[row.currency]
        for name in ("revenue", "revenue_90d", "commission", "fees"):
            per[name] += getattr(row, name)

    def figures(self) -> dict[str, Any]:
        n = self.counts
        money = {c: {k: _amount(v, c) for k, v in m.items()} for c, m in sorted(self.money.items())}

        def each(name: str) -> dict[str, Decimal]:
            return {c: m[name] for c, m in money.items()}

        cost = {c: m["commission"] + m["fees"] for c, m in money.items()}
        revenue = each("revenue")
        return {
            "source_clicks": n["clicks"],
            "signups": n["signups"],
            "source_orders": n["orders"],
            "new_customers": n["customers"],
            "acquired_repeat_customers": n["repeat_customers"],
            "acquired_repeat_rate": _ratio(n["repeat_customers"], n["customers"]),
            "source_conversion_rate": _ratio(n["customers"], n["clicks"]),
            "net_revenue": revenue,
            "commission": each("commission"),
            "fees": each("fees"),
            "total_cost": cost,
            "cpa": _money_per(cost, n["customers"]),
            "source_roi": {
                c: r for c in money if (r := _ratio(revenue[c] - cost[c], cost[c])) is not None
            },
            "revenue_90d_per_customer": _money_per(each("revenue_90d"), n["customers"]),
            "impressions": n["impressions"],
            "engagements": n["engagements"],
            "engagement_rate": _ratio(n["engagements"], n["impressions"]),
            "cpm": _money_per(cost, n["impressions"], _MILLE),
            "orders_per_mille": _ratio(n["orders"] * _MILLE, n["impressions"]),
        }


class _Figures(BaseModel):
    """The figures every row of the comparison carries."""

    model_config = _FROZEN

    source_clicks: int = _doc("source_clicks")
    signups: int = _doc("signups")
    source_orders: int = _doc("source_orders")
    new_customers: int = _doc("new_customers")
    acquired_repeat_customers: int = _doc("acquired_repeat_customers")
    acquired_repeat_rate: Decimal | None = _doc("acquired_repeat_rate")
    source_conversion_rate: Decimal | None = _doc("source_conversion_rate")
    net_revenue: dict[str, Decimal] = _doc("net_revenue")
    commission: dict[str, Decimal] = _doc("commission")
    fees: dict[str, Decimal] = _doc("fees")
    total_cost: dict[str, Decimal] = _doc("total_cost")
    cpa: dict[str, Decimal] = _doc("cpa")
    source_roi: dict[str, Decimal] = _doc("source_roi")
    revenue_90d_per_customer: dict[str, Decimal] = _doc("revenue_90d_per_customer")
    impressions: int = _doc("impressions")
    engagements: int = _doc("engagements")
    engagement_rate: Decimal | None = _doc("engagement_rate")
    cpm: dict[str, Decimal] = _doc("cpm")
    orders_per_mille: Decimal | None = _doc("orders_per_mille")


class ProgrammeRow(_Figures):
    """A programme (customer referrals or a partner kind), or one band or region of it."""

    programme: str = Field(description="customer_referrals, or the partners' kind.")
    band: str | None = Field(None, description="nano, micro or macro; None: every band.")
    region: str | None = Field(None, description="The partners' region; None: every region.")
    partners: int = _doc("partners")


class PartnerRow(_Figures):
    """One partner's figures (``post_id`` None), or one of their posts'."""

    partner_id: str
    post_id: str | None = Field(None, description="The post; None: the partner as a whole.")
    name: str
    kind: str
    band: str
    region: str | None
    channel: str | None = Field(None, description="The post's channel, for a post's row.")
    audience: int = Field(0, description="The partner's audience size (followers).")
    niches: tuple[str, ...] = Field((), description="The partner's niche tags.")


class ProgrammeComparison(BaseModel):
    """Customer referrals, affiliates and influencers over the report's window, side by side."""

    model_config = _FROZEN

    programmes: list[ProgrammeRow] = Field(
        description="One row per programme: customer referrals first, then partner kinds."
    )
    by_band: list[ProgrammeRow] = Field(
        description="Partner programmes per audience band (nano < 10k, micro to 100k, macro)."
    )
    by_region: list[ProgrammeRow] = Field(
        description="Partner programmes per region (None: partners without one)."
    )
    partners: list[PartnerRow] = Field(description="Per partner, by id.")
    posts: list[PartnerRow] = Field(description="Per post, by partner then post id.")

    def programme(self, name: str) -> ProgrammeRow | None:
        """The row of one programme (``customer_referrals``, ``affiliate``, ...)."""
        return next((r for r in self.programmes if r.programme == name), None)

    def partner(self, partner_id: str) -> PartnerRow | None:
        """One partner's row."""
        return next((r for r in self.partners if r.partner_id == partner_id), None)


def _band_order(band: str | None) -> int:
    return -1 if band is None else BANDS.index(band)


def compare_programmes(facts: ProgrammeFacts) -> ProgrammeComparison:
    """The comparison the store's sums make (see `referralkit.metrics._programme_facts`)."""
    profiles = {p.id: p for p in facts.partners}
    referrals = _Sums()
    per_partner: dict[str, _Sums] = defaultdict(_Sums)
    per_post: dict[str, _Sums] = defaultdict(_Sums)
    for c in facts.counts:
        if c.partner is None:
            referrals.add_counts(c)
            continue
        per_partner[c.partner].add_counts(c)
        if c.post is not None:
            per_post[c.post].add_counts(c)
    for m in facts.money:
        if m.partner is None:
            referrals.add_money(m)
            continue
        per_partner[m.partner].add_money(m)
        if m.post is not None:
            per_post[m.post].add_money(m)

    groups: dict[tuple[str, str | None, str | None, int], _Sums] = defaultdict(_Sums)
    for pid, profile in profiles.items():
        sums = per_partner.get(pid, _Sums())
        band = audience_band(profile.audience)
        for key in (
            (profile.kind, None, None, 0),
            (profile.kind, band, None, 1),
            (profile.kind, None, profile.region, 2),
        ):
            _merge(groups[key], sums, pid)

    def rows(level: int) -> list[ProgrammeRow]:
        chosen = sorted(
            (k for k in groups if k[3] == level),
            key=lambda k: (k[0], _band_order(k[1]), k[2] is not None, k[2] or ""),
        )
        return [
            ProgrammeRow(
                programme=k[0],
                band=k[1],
                region=k[2],
                partners=len(groups[k].partners),
                **groups[k].figures(),
            )
            for k in chosen
        ]

    top = [ProgrammeRow(programme=REFERRALS, partners=0, **referrals.figures()), *rows(0)]
    return ProgrammeComparison(
        programmes=top,
        by_band=rows(1),
        by_region=rows(2),
        partners=[
            _partner_row(p, None, None, per_partner.get(p.id, _Sums()))
            for p in sorted(profiles.values(), key=lambda p: p.id)
        ],
        posts=[
            _partner_row(
                profiles[post.partner], post.id, post.channel, per_post.get(post.id, _Sums())
            )
            for post in sorted(facts.posts, key=lambda x: (x.partner, x.id))
            if post.partner in profiles
        ],
    )


def _merge(into: _Sums, sums: _Sums, partner_id: str) -> None:
    into.partners.add(partner_id)
    for name, n in sums.counts.items():
        into.counts[name] += n
    for currency, per in sums.money.items():
        for name, n in per.items():
            into.money[currency][name] += n


def _partner_row(
    profile: PartnerProfile, post: str | None, channel: str | None, sums: _Sums
) -> PartnerRow:
    return PartnerRow(
        partner_id=profile.id,
        post_id=post,
        name=profile.name,
        kind=profile.kind,
        band=audience_band(profile.audience),
        region=profile.region,
        channel=channel,
        audience=profile.audience,
        niches=profile.niches,
        **sums.figures(),
    )


def rows_of(comparison: ProgrammeComparison) -> Iterable[ProgrammeRow]:
    """Every programme row: the programmes, then by band, then by region."""
    yield from comparison.programmes
    yield from comparison.by_band
    yield from comparison.by_region
