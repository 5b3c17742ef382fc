"""The partner scorecard ranks partners by expected cost per acquisition, inputs shown.

Generated populations where the better partner is known: a twin who is better on one
input (engagement, audience, fee, niche or region fit, their own history) ranks above.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import referralkit as rk
from referralkit.errors import CurrencyMismatch, InvalidInput
from referralkit.metrics import Candidate, Scorecard
from referralkit.metrics._programme_facts import (
    PartnerProfile,
    ProgrammeFacts,
    SourceCounts,
    SourceMoney,
)
from referralkit.metrics._programmes import compare_programmes
from referralkit.metrics._scorecard import PRIOR_WEIGHT, score_partners
from referralkit.policies import PercentOfOrder
from referralkit.storage import MemoryStore
from referralkit.testing import FrozenClock

SHOP_NICHES = ("vegan", "baking")
SHOP_REGIONS = ("springfield",)
EMPTY = compare_programmes(ProgrammeFacts())

candidates = st.builds(
    Candidate,
    id=st.uuids().map(str),
    audience=st.integers(1_000, 500_000),
    engagement_rate=st.integers(1, 200).map(lambda n: Decimal(n) / 1000),
    fee_per_post=st.integers(0, 200_000).map(lambda c: rk.Money.from_minor(c, "USD")),
    niches=st.lists(st.sampled_from(["vegan", "baking", "gaming", "travel"]), max_size=2).map(
        tuple
    ),
    region=st.sampled_from([None, "springfield", "shelbyville"]),
    commission_rate=st.sampled_from([Decimal(0), Decimal("0.05"), Decimal("0.1")]),
)


def _better(candidate: Candidate, how: str) -> Candidate:
    """A twin of ``candidate`` that is better on one input only (or None if it cannot be)."""
    if how == "engagement":
        return attrs.evolve(candidate, engagement_rate=candidate.engagement_rate * 2)
    if how == "audience":
        return attrs.evolve(candidate, audience=candidate.audience * 3)
    if how == "fee":
        return attrs.evolve(candidate, fee_per_post=candidate.fee_per_post * Decimal("0.5"))
    if how == "niche":
        return attrs.evolve(candidate, niches=("vegan",))
    return attrs.evolve(candidate, region="springfield")


def _worse(candidate: Candidate, how: str) -> Candidate:
    """The twin's counterpart: for fit, one outside the shop's niches or region."""
    if how == "niche":
        return attrs.evolve(candidate, niches=("gaming",))
    if how == "region":
        return attrs.evolve(candidate, region="shelbyville")
    return candidate


def _rank(card: Scorecard, partner_id: str) -> int:
    row = card.row(partner_id)
    assert row is not None
    return row.rank


@settings(max_examples=200, deadline=None)
@given(
    population=st.lists(candidates, max_size=8, unique_by=lambda c: c.id),
    twin=candidates,
    how=st.sampled_from(["engagement", "audience", "fee", "niche", "region"]),
)
def test_the_known_better_candidate_ranks_above_its_twin(
    population: list[Candidate], twin: Candidate, how: str
) -> None:
    """Better on one input, equal on the rest: never ranked below, whoever else is there."""
    worse = attrs.evolve(_worse(twin, how), id="worse")
    better = attrs.evolve(_better(worse, how), id="better")
    if how == "fee" and worse.fee_per_post.is_zero():
        better = attrs.evolve(better, fee_per_post=worse.fee_per_post)
        worse = attrs.evolve(worse, fee_per_post=rk.Money("50", "USD"))
    card = score_partners(
        EMPTY, [*population, worse, better], niches=SHOP_NICHES, regions=SHOP_REGIONS
    )
    b, w = card.row("better"), card.row("worse")
    assert b is not None
    assert w is not None
    assert b.expected_cpa is not None
    assert w.expected_cpa is not None
    assert b.expected_cpa <= w.expected_cpa
    assert _rank(card, "better") < _rank(card, "worse")  # ties go by id: "better" first
    assert [r.rank for r in card.rows] == list(range(1, len(card.rows) + 1))


def _with_history(cost_cents: int, customers: int, audience: int = 20_000) -> ProgrammeFacts:
    profile = PartnerProfile("mia", "Mia", "influencer", audience, "springfield", ("vegan",))
    return ProgrammeFacts(
        partners=(profile,),
        counts=(SourceCounts("mia", None, customers=customers, orders=customers),),
        money=(SourceMoney("mia", None, "USD", commission=cost_cents),),
    )


@given(
    prior_fee=st.integers(1_000, 100_000),
    observed=st.integers(100, 20_000),
    customers=st.integers(0, 500),
)
def test_the_expected_cpa_shrinks_from_the_prior_toward_the_partners_own(
    prior_fee: int, observed: int, customers: int
) -> None:
    """(cost + w * prior) / (customers + w): the prior alone at first, their own CPA later."""
    facts = _with_history(observed * customers, customers)
    card = score_partners(compare_programmes(facts), niches=SHOP_NICHES, regions=SHOP_REGIONS)
    (row,) = card.rows
    own = Decimal(observed) / 100
    if row.prior_cpa is None:
        assert row.expected_cpa == (own if customers else None)
        return
    expected = (own * customers + PRIOR_WEIGHT * row.prior_cpa) / (customers + PRIOR_WEIGHT)
    assert row.expected_cpa is not None
    assert abs(row.expected_cpa - expected) < Decimal("0.0001")
    assert row.history_weight == (Decimal(customers) / (customers + PRIOR_WEIGHT)).quantize(
        Decimal("0.000001")
    )
    # Between the two, and nearer their own the more customers they brought.
    low, high = sorted((own, row.prior_cpa))
    assert low - Decimal("0.0001") <= row.expected_cpa <= high + Decimal("0.0001")


def test_a_partner_with_cheap_history_outranks_a_twin_with_dear_history() -> None:
    """Through a program: same audience and fee, one brought customers cheaply."""
    clock = FrozenClock()
    program = rk.ReferralProgram(
        store=MemoryStore(),
        secret=b"scorecard test secret, 32 bytes long",
        policy=PercentOfOrder(Decimal("0.1"), kind="cash"),
        clock=clock,
    )
    terms = PercentOfOrder(Decimal("0.1"), kind="cash")
    for pid, sales in (("cheap", 12), ("dear", 1)):
        program.partners.add(pid, name=pid, kind="influencer", audience=20_000, terms=terms)
        program.partners.post(pid, f"{pid}-1", cost=rk.Money("200", "USD"))
        program.partners.code(pid, vanity=f"{pid.upper()}-1", post=f"{pid}-1")
        clock.advance(timedelta(minutes=1))
        program.partners.engagement(f"{pid}-1", as_of=clock(), impressions=20_000, engagements=600)
        for n in range(sales):
            program.convert(
                referee=f"{pid}-buyer-{n}",
                order_id=f"{pid}-o{n}",
                amount=rk.Money("50", "USD"),
                code=f"{pid.upper()}-1",
            )
    card = program.partners.scorecard(
        [Candidate("new", 20_000, Decimal("0.03"), rk.Money("200", "USD"))],
        niches=SHOP_NICHES,
    )
    assert [r.partner_id for r in card.rows][:1] == ["cheap"]
    assert _rank(card, "cheap") < _rank(card, "dear")
    cheap = card.row("cheap")
    assert cheap is not None
    assert cheap.current
    assert cheap.customers == 12
    assert cheap.fee_per_post == Decimal("200.00")
    assert cheap.engagement_rate == Decimal("0.03")


def test_bad_candidates_are_refused_naming_the_field() -> None:
    with pytest.raises(CurrencyMismatch):
        score_partners(EMPTY, [Candidate("x", 1_000, Decimal("0.01"), rk.Money("5", "EUR"))])
    with pytest.raises(InvalidInput) as bad:
        score_partners(EMPTY, [Candidate("x", 1_000, Decimal(2), rk.Money("5", "USD"))])
    assert bad.value.field == "candidates"
    with pytest.raises(InvalidInput):
        score_partners(EMPTY, ["not a candidate"])  # type: ignore[list-item]
