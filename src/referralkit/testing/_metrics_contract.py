"""The metrics capability's contract: a store's figures equal the memory store's.

Each case drives the same seeded program on the store under test and on a fresh
`MemoryStore` reference, then compares the two reports figure by figure.
`ProgrammeMetricsContract` does the same for the programme comparison
(``metrics(by="programme")``) of a store that also keeps partner programmes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta, timezone

import pytest

from referralkit.metrics import BREAKDOWNS
from referralkit.program import PARTNERS, ReferralProgram
from referralkit.protocols import CLICKS, MeasurableStore, Store
from referralkit.storage._memory import MemoryStore
from referralkit.testing._clock import FrozenClock
from referralkit.testing._metrics_program import (
    GENERATED_START,
    corners_program,
    generated_program,
)
from referralkit.testing._programmes_program import PROGRAMMES_START, programmes_program
from referralkit.testing._store_base import CORE, CapabilityContract, Needs

__all__ = ["MetricsContract", "ProgrammeMetricsContract"]

_EVERY_EVENT = 1_000_000


def _against_the_reference(
    build: Callable[[Store, int], ReferralProgram], store: Store, seed: int = 0
) -> tuple[ReferralProgram, ReferralProgram]:
    """The program generated from ``seed`` on the store under test, and on a `MemoryStore`.

    The reference is a fresh memory store driven by the same generated program, never the
    store under test. Their outboxes must match event for event (ids aside) before the two
    reports are compared.
    """
    mine = build(store, seed)
    reference = build(MemoryStore(), seed)
    assert mine.store is store, "the generated program must run on the store under test"
    assert reference.store is not store
    assert _facts(mine) == _facts(reference), (
        "the same generated program left other events in the outbox than on the reference"
    )
    return mine, reference


def _facts(program: ReferralProgram) -> list[tuple[str, object, object]]:
    # Without ids: a database sequence may skip the ids of rolled-back inserts.
    return [(e.type, e.payload, e.occurred_at) for e in program.pending_events(_EVERY_EVENT)]


class MetricsContract(CapabilityContract):
    """Metrics (`MeasurableStore`): every figure equals the `MemoryStore`'s on the same facts."""

    needs = Needs(store=(MeasurableStore,), repositories=(*CORE, CLICKS))

    @pytest.mark.parametrize("seed", [1, 2, 3])
    def test_metrics_are_identical_to_the_reference_on_a_generated_program(
        self, store: Store, seed: int
    ) -> None:
        """Every figure, breakdown and cohort equals the memory store's on the same facts."""
        mine, reference = _against_the_reference(generated_program, store, seed)
        whole = reference.metrics(by=("campaign", "channel", "referrer"))
        # The generated program reaches every corner of the report.
        assert whole.referrals
        assert whole.converted
        assert whole.repeat_customers
        assert whole.rejected
        assert whole.clicks
        assert whole.fraud_reasons
        assert [s.currency for s in whole.currencies] == ["EUR", "USD"]
        assert any(s.refunded for s in whole.currencies)
        assert whole.review_backlog or any("review" in r for r in whole.fraud_reasons)
        assert len(whole.cohorts) > 3
        windows = [
            {},
            {"by": ("campaign", "channel", "referrer"), "active_customers": 100},
            {"since": GENERATED_START + timedelta(days=10)},
            {"until": GENERATED_START + timedelta(days=20), "by": "referrer", "top": 3},
            {
                "since": GENERATED_START + timedelta(days=5),
                "until": GENERATED_START + timedelta(days=25, hours=7),
                "by": ("channel", "campaign"),
            },
        ]
        for kwargs in windows:
            assert mine.metrics(**kwargs) == reference.metrics(**kwargs), kwargs  # type: ignore[arg-type]

    @pytest.mark.parametrize("seed", [1, 2])
    def test_metrics_are_identical_to_the_reference_in_the_corners(
        self, store: Store, seed: int
    ) -> None:
        """Points, perks, JPY, backdated orders, same-instant events, windows on event edges."""
        mine, reference = _against_the_reference(corners_program, store, seed)
        whole = reference.metrics(by="referrer")
        assert whole.reward_points
        assert len(whole.currencies) == 3
        assert any(n < whole.rejected for n in whole.fraud_reasons.values())
        # Window edges on the very instants something happened, in several time zones.
        instants = sorted({e.occurred_at for e in reference.pending_events(100_000)})
        rng = random.Random(seed)
        windows: list[dict[str, object]] = [{}]
        for hours in (0, 5, -7):
            since, until = sorted(rng.sample(instants, 2))
            zone = timezone(timedelta(hours=hours))
            since, until = since.astimezone(zone), until.astimezone(zone)
            windows += [
                {"since": since, "until": until, "by": BREAKDOWNS, "top": rng.choice([1, 3])},
                {"until": until, "by": "referrer"},
                {"since": since, "by": "channel"},
            ]
        for kwargs in windows:
            assert mine.metrics(**kwargs) == reference.metrics(**kwargs), kwargs  # type: ignore[arg-type]

    def test_pruning_every_acknowledged_event_changes_no_figure(self, store: Store) -> None:
        """Events are notifications: the metrics' facts live elsewhere and survive pruning."""
        program = generated_program(store, 3)
        windows: list[dict[str, object]] = [
            {},
            {"by": ("campaign", "channel", "referrer"), "active_customers": 100},
            {"since": GENERATED_START + timedelta(days=10), "by": "referrer"},
        ]
        before = [program.metrics(**kwargs) for kwargs in windows]  # type: ignore[arg-type]
        events = program.pending_events(_EVERY_EVENT)
        assert before[0].clicks
        assert program.ack(e.id for e in events) == len(events)
        clock = program.clock
        assert isinstance(clock, FrozenClock)
        clock.advance(seconds=1)  # every event is older than now
        assert program.prune_events(older_than=timedelta(0)) == len(events)
        assert program.pending_events(_EVERY_EVENT) == []
        after = [program.metrics(**kwargs) for kwargs in windows]  # type: ignore[arg-type]
        assert after == before


class ProgrammeMetricsContract(CapabilityContract):
    """The programme comparison of a `MeasurableStore` with partner programmes (`PARTNERS`).

    Customer referrals, affiliates and influencers side by side, by band and region,
    per partner and per post: every figure equals the `MemoryStore`'s on the same facts.
    """

    needs = Needs(store=(MeasurableStore,), repositories=(*CORE, CLICKS, PARTNERS))

    def test_the_programme_comparison_is_identical_to_the_reference(self, store: Store) -> None:
        """A fixed shop with partners, posts, engagement, clicks and refunds, in five windows."""
        mine, reference = _against_the_reference(lambda s, _: programmes_program(s), store)
        whole = reference.metrics(by="programme").programmes
        assert whole is not None
        # The fixed shop reaches every part of the comparison.
        assert [r.programme for r in whole.programmes] == [
            "customer_referrals",
            "affiliate",
            "influencer",
        ]
        assert all(r.new_customers and r.source_clicks for r in whole.programmes)
        assert {r.band for r in whole.by_band} == {"nano", "macro"}
        assert {r.region for r in whole.by_region} == {"be", None}
        assert all(p.fees and p.impressions for p in whole.posts)
        assert any(p.signups for p in whole.partners)
        assert all(r.acquired_repeat_customers for r in whole.programmes)
        revenue = sum(r.net_revenue["USD"] for r in whole.programmes)
        refunds = reference.metrics().currencies[0].refunded
        assert revenue
        assert refunds
        windows: list[dict[str, object]] = [
            {},
            {"since": PROGRAMMES_START + timedelta(days=10)},
            {"until": PROGRAMMES_START + timedelta(days=20, hours=5)},
            {
                "since": PROGRAMMES_START + timedelta(days=6, hours=3),
                "until": PROGRAMMES_START + timedelta(days=30),
            },
            {"since": PROGRAMMES_START + timedelta(days=60)},
        ]
        for kwargs in windows:
            theirs = mine.metrics(by="programme", **kwargs)  # type: ignore[arg-type]
            ours = reference.metrics(by="programme", **kwargs)  # type: ignore[arg-type]
            assert theirs.programmes == ours.programmes, kwargs
