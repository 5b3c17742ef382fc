"""The partner scorecard: current and candidate partners ranked by expected cost per acquisition.

The formula, in one currency (every input is shown beside the score):

- ``fit = niche_fit * region_fit``: 1 when a partner's niches share a tag with the shop's
  (or either gives none), else `NICHE_MISS`; 1 when the partner's region is one of the
  shop's (or either gives none), else `REGION_MISS`.
- ``customers_per_post = audience * engagement_rate * customers_per_engagement * fit``:
  the new customers a post is expected to bring. ``customers_per_engagement`` is the
  shop's own (new customers of partners' posts / their engagements, in the window) when
  its posts have engaged anyone, else `DEFAULT_CUSTOMERS_PER_ENGAGEMENT`.
- ``prior_cpa = fee_per_post / customers_per_post + commission_per_customer``:
  ``commission_per_customer`` is ``commission_rate * average_order_value`` for a candidate,
  a current partner's commission per new customer so far.
- With history (a current partner: ``cost`` spent and ``customers`` acquired in the
  window), the expected CPA shrinks from the prior toward the partner's own:
  ``expected_cpa = (cost + PRIOR_WEIGHT * prior_cpa) / (customers + PRIOR_WEIGHT)``, the
  prior counting as `PRIOR_WEIGHT` acquisitions: with no history it is the prior, and as
  acquisitions accumulate it tends to ``cost / customers``. ``history_weight`` says how far.
- Partners rank by ``expected_cpa``, lowest first; one without any (no audience, no
  engagement and no history) ranks last.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

import attrs
from pydantic import BaseModel, ConfigDict, Field

from referralkit.errors import CurrencyMismatch, InvalidInput
from referralkit.metrics._programmes import PartnerRow, ProgrammeComparison
from referralkit.money import Money

__all__ = [
    "DEFAULT_CUSTOMERS_PER_ENGAGEMENT",
    "NICHE_MISS",
    "PRIOR_WEIGHT",
    "REGION_MISS",
    "Candidate",
    "Scorecard",
    "ScorecardRow",
    "score_partners",
]

#: How many acquisitions the prior counts for against a partner's own history.
PRIOR_WEIGHT = 10
#: The fit of a partner whose niches share no tag with the shop's.
NICHE_MISS = Decimal("0.5")
#: The fit of a partner whose region is none of the shop's.
REGION_MISS = Decimal("0.6")
#: New customers per engagement when the shop has no engaged posts of its own yet.
DEFAULT_CUSTOMERS_PER_ENGAGEMENT = Decimal("0.01")
_FROZEN = ConfigDict(frozen=True, extra="forbid")
_PLACES = Decimal("0.000001")


@attrs.frozen(slots=True)
class Candidate:
    """A partner the shop is considering: what they say of their audience and their price."""

    id: str
    audience: int
    engagement_rate: Decimal
    fee_per_post: Money
    niches: tuple[str, ...] = ()
    region: str | None = None
    commission_rate: Decimal = Decimal(0)
    kind: str = "influencer"


class ScorecardRow(BaseModel):
    """One partner's score and every input it came from."""

    model_config = _FROZEN

    rank: int = Field(description="1 is the lowest expected cost per acquisition.")
    partner_id: str
    current: bool = Field(description="A registered partner (with history) or a candidate.")
    kind: str
    audience: int
    engagement_rate: Decimal | None
    niche_fit: Decimal
    region_fit: Decimal
    customers_per_engagement: Decimal
    customers_per_post: Decimal
    fee_per_post: Decimal
    commission_per_customer: Decimal
    prior_cpa: Decimal | None
    cost: Decimal = Field(description="What the partner cost in the window (0: a candidate).")
    customers: int = Field(description="New customers they brought in the window.")
    history_weight: Decimal = Field(description="customers / (customers + PRIOR_WEIGHT).")
    expected_cpa: Decimal | None = Field(description="The score: lower is better.")


class Scorecard(BaseModel):
    """Current and candidate partners ranked by expected cost per acquisition."""

    model_config = _FROZEN

    currency: str
    average_order_value: Decimal | None
    customers_per_engagement: Decimal
    rows: list[ScorecardRow]

    def row(self, partner_id: str) -> ScorecardRow | None:
        """One partner's row."""
        return next((r for r in self.rows if r.partner_id == partner_id), None)


def _fit(mine: Iterable[str], theirs: Iterable[str], miss: Decimal) -> Decimal:
    mine, theirs = set(mine), set(theirs)
    return Decimal(1) if not mine or not theirs or mine & theirs else miss


def _q(value: Decimal) -> Decimal:
    return value.quantize(_PLACES)


@attrs.frozen(slots=True)
class _Inputs:
    partner_id: str
    current: bool
    kind: str
    audience: int
    engagement_rate: Decimal | None
    niches: tuple[str, ...]
    region: str | None
    fee_per_post: Decimal
    commission_per_customer: Decimal
    cost: Decimal = Decimal(0)
    customers: int = 0


def _row(
    x: _Inputs, niches: Sequence[str], regions: Sequence[str], per_engagement: Decimal
) -> ScorecardRow:
    niche_fit = _fit(niches, x.niches, NICHE_MISS)
    region_fit = _fit(regions, () if x.region is None else (x.region,), REGION_MISS)
    rate = x.engagement_rate or Decimal(0)
    per_post = Decimal(x.audience) * rate * per_engagement * niche_fit * region_fit
    prior: Decimal | None
    if per_post > 0:
        prior = x.fee_per_post / per_post + x.commission_per_customer
    elif x.fee_per_post == 0 and x.commission_per_customer > 0:
        prior = x.commission_per_customer  # paid per result only: each customer costs that
    else:
        prior = None
    n = x.customers
    if prior is not None:
        expected: Decimal | None = (x.cost + PRIOR_WEIGHT * prior) / (n + PRIOR_WEIGHT)
    else:
        expected = x.cost / n if n else None
    return ScorecardRow(
        rank=0,
        partner_id=x.partner_id,
        current=x.current,
        kind=x.kind,
        audience=x.audience,
        engagement_rate=x.engagement_rate,
        niche_fit=niche_fit,
        region_fit=region_fit,
        customers_per_engagement=per_engagement,
        customers_per_post=_q(per_post),
        fee_per_post=x.fee_per_post,
        commission_per_customer=_q(x.commission_per_customer),
        prior_cpa=None if prior is None else _q(prior),
        cost=x.cost,
        customers=n,
        history_weight=_q(Decimal(n) / (n + PRIOR_WEIGHT)),
        expected_cpa=None if expected is None else _q(expected),
    )


def _current(row: PartnerRow, posts: int, currency: str) -> _Inputs:
    fees = row.fees.get(currency, Decimal(0))
    commission = row.commission.get(currency, Decimal(0))
    return _Inputs(
        partner_id=row.partner_id,
        current=True,
        kind=row.kind,
        audience=row.audience,
        engagement_rate=row.engagement_rate,
        niches=row.niches,
        region=row.region,
        fee_per_post=fees / posts if posts else Decimal(0),
        commission_per_customer=commission / row.new_customers if row.new_customers else Decimal(0),
        cost=row.total_cost.get(currency, Decimal(0)),
        customers=row.new_customers,
    )


def _check(candidate: object, currency: str) -> Candidate:
    if not isinstance(candidate, Candidate):
        raise InvalidInput("candidates are Candidate objects", value=candidate, field="candidates")
    if candidate.fee_per_post.currency != currency:
        raise CurrencyMismatch(
            f"the candidate {candidate.id!r}'s fee is in {candidate.fee_per_post.currency},"
            f" the scorecard in {currency}",
            value=candidate.fee_per_post.currency,
        )
    if candidate.audience < 0 or not 0 <= candidate.engagement_rate <= 1:
        raise InvalidInput(
            "a candidate's audience is >= 0 and engagement rate 0 to 1",
            value=candidate,
            field="candidates",
        )
    return candidate


def score_partners(
    comparison: ProgrammeComparison,
    candidates: Sequence[Candidate] = (),
    *,
    currency: str = "USD",
    niches: Sequence[str] = (),
    regions: Sequence[str] = (),
) -> Scorecard:
    """Rank the comparison's partners and ``candidates`` (see the module for the formula)."""
    checked = [_check(c, currency) for c in candidates]
    niches = [n.strip().lower() for n in niches]
    posts = comparison.posts
    engaged = sum(p.engagements for p in posts)
    acquired = sum(p.new_customers for p in posts)
    per_engagement = (
        _q(Decimal(acquired) / engaged)
        if engaged and acquired
        else DEFAULT_CUSTOMERS_PER_ENGAGEMENT
    )
    revenue = sum(
        (r.net_revenue.get(currency, Decimal(0)) for r in comparison.programmes), Decimal(0)
    )
    orders = sum(r.source_orders for r in comparison.programmes)
    aov = Money(revenue / orders, currency).round().amount if orders else None
    post_counts: dict[str, int] = {}
    for p in posts:
        post_counts[p.partner_id] = post_counts.get(p.partner_id, 0) + 1
    inputs = [_current(r, post_counts.get(r.partner_id, 0), currency) for r in comparison.partners]
    inputs += [
        _Inputs(
            partner_id=c.id,
            current=False,
            kind=c.kind,
            audience=c.audience,
            engagement_rate=c.engagement_rate,
            niches=tuple(n.lower() for n in c.niches),
            region=c.region,
            fee_per_post=c.fee_per_post.amount,
            commission_per_customer=c.commission_rate * (aov or Decimal(0)),
        )
        for c in checked
    ]
    rows = [_row(x, niches, regions, per_engagement) for x in inputs]
    rows.sort(key=lambda r: (r.expected_cpa is None, r.expected_cpa or Decimal(0), r.partner_id))
    return Scorecard(
        currency=currency,
        average_order_value=aov,
        customers_per_engagement=per_engagement,
        rows=[r.model_copy(update={"rank": n}) for n, r in enumerate(rows, start=1)],
    )
