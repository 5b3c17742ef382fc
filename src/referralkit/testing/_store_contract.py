"""The behavioural contract every `Store` must meet, as pytest base classes by capability.

One contract class per capability of the core (codes, referrals, conversions, the ledger,
the outbox, identities, transactions), each usable on its own; `StoreContract` inherits
them all, and the click tracking, metadata and metrics contracts besides.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from referralkit.errors import StorageError, UnknownOrder, UnknownReferral
from referralkit.metrics._source import Click
from referralkit.model import (
    Beneficiary,
    CodeKind,
    Conversion,
    Referral,
    ReferralCode,
    ReferralStatus,
    Reward,
    RewardKind,
    RewardState,
)
from referralkit.money import Money
from referralkit.protocols import CLICKS, META, LedgerEntry, Store, UnitOfWork
from referralkit.storage._errors import CodeTaken
from referralkit.testing._metrics_contract import MetricsContract
from referralkit.testing._store_base import (
    CODES,
    CONVERSIONS,
    CORE,
    EVENTS,
    IDENTITIES,
    REFERRALS,
    REWARDS,
    CapabilityContract,
    Needs,
)

__all__ = [
    "ClicksContract",
    "CodesContract",
    "ConversionsContract",
    "IdentitiesContract",
    "LedgerContract",
    "MetaContract",
    "OutboxContract",
    "ReferralsContract",
    "StoreContract",
    "TransactionsContract",
]

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
#: The settings of the round-trip properties on the store under test.
_ROUND_TRIPS = settings(
    max_examples=25,
    # One method, many adapters: each subclass is its own executor by design.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors],
)


class _Boom(Exception):
    """Raised inside a unit of work to prove it is rolled back."""


def _code(
    code: str = "AAAA0000",
    owner: str = "ann",
    campaign: str = "default",
    kind: CodeKind = CodeKind.GENERATED,
) -> ReferralCode:
    return ReferralCode(code=code, owner=owner, campaign=campaign, kind=kind, created_at=T0)


def _referral(
    rid: str,
    referee: str,
    *,
    referrer: str = "ann",
    code: str = "AAAA0000",
    status: ReferralStatus = ReferralStatus.PENDING,
    at: datetime = T0,
) -> Referral:
    return Referral(
        id=rid,
        code=code,
        referrer=referrer,
        referee=referee,
        status=status,
        reasons=(),
        attributed_at=at,
        campaign="default",
        policy_version="v1",
        channel="email",
    )


def _conversion(
    order: str, referee: str, amount: str = "80", referral: str | None = None
) -> Conversion:
    return Conversion(
        order_id=order,
        referee=referee,
        amount=Money(amount, "USD"),
        occurred_at=T0,
        first_order=True,
        referral_id=referral,
    )


def _reward(
    rid: str,
    *,
    key: str = "o-1:fixed",
    customer: str = "ann",
    referral: str = "r-1",
    amount: str = "10",
    order: str | None = "o-1",
    state: RewardState = RewardState.HELD,
    hold_until: datetime | None = T0,
) -> Reward:
    money = Money(amount, "USD")
    return Reward(
        id=rid,
        key=key,
        referral_id=referral,
        beneficiary=Beneficiary.REFERRER,
        customer_id=customer,
        kind=RewardKind.CREDIT,
        amount=money,
        granted=money,
        points=0,
        state=state,
        order_id=order,
        policy="fixed(10.00 USD)",
        explanation="a fixed credit",
        created_at=T0,
        hold_until=hold_until,
    )


def _seed(store: Store) -> None:
    """A code, a referral made with it, and an order under that referral."""
    with store.transaction() as uow:
        uow.codes.add(_code())
        uow.referrals.add(_referral("r-1", "bob"))
        uow.conversions.add(_conversion("o-1", "bob", referral="r-1"))


_NAIVE = datetime(2026, 1, 1)  # noqa: DTZ001 - naive on purpose: no store may accept it

# Each write with a naive time, and how to look for what it would have stored.
_NAIVE_WRITES: dict[str, tuple[Callable[[UnitOfWork], object], Callable[[UnitOfWork], object]]] = {
    "code": (
        lambda uow: uow.codes.add(attrs.evolve(_code("NNNN0000", "nat"), created_at=_NAIVE)),
        lambda uow: uow.codes.get("NNNN0000"),
    ),
    "referral": (
        lambda uow: uow.referrals.add(_referral("r-naive", "nat", at=_NAIVE)),
        lambda uow: uow.referrals.get("r-naive"),
    ),
    "conversion": (
        lambda uow: uow.conversions.add(
            attrs.evolve(_conversion("naive", "bob"), occurred_at=_NAIVE)
        ),
        lambda uow: uow.conversions.get("naive"),
    ),
    "reward": (
        lambda uow: uow.rewards.add(_reward("w-naive", key="naive", hold_until=_NAIVE)),
        lambda uow: uow.rewards.get("w-naive"),
    ),
    "ledger entry": (
        lambda uow: uow.rewards.append(
            [LedgerEntry("w-1", "ann", "held", "USD", Money("1", "USD"), 0, _NAIVE, "grant")]
        ),
        lambda uow: uow.rewards.balances("ann"),
    ),
    "event": (
        lambda uow: uow.events.add("naive", {}, _NAIVE),
        lambda uow: uow.events.pending(10),
    ),
    "event claim": (
        lambda uow: (uow.events.add("ok", {}, T0), uow.events.claim(10, _NAIVE, _NAIVE)),
        lambda uow: uow.events.pending(10),
    ),
}


class CodesContract(CapabilityContract):
    """Referral codes: stored, found by text and owner, unique by text and by (owner, campaign)."""

    needs = Needs(repositories=(CODES,))

    def test_code_is_stored_and_read_back(self, store: Store) -> None:
        """A code added is found by its text and by its owner."""
        with store.transaction() as uow:
            uow.codes.add(_code())
        with store.transaction() as uow:
            assert uow.codes.get("AAAA0000") == _code()
            assert uow.codes.for_owner("ann") == [_code()]
            assert uow.codes.get("ZZZZ0000") is None

    def test_second_code_for_same_owner_and_campaign_returns_the_first(self, store: Store) -> None:
        """Enrolment is idempotent: (owner, campaign) keeps its first code."""
        with store.transaction() as uow:
            first = uow.codes.add(_code("AAAA0000"))
            again = uow.codes.add(_code("BBBB0000"))
        assert again == first
        with store.transaction() as uow:
            assert uow.codes.get("BBBB0000") is None

    def test_same_owner_other_campaign_gets_another_code(self, store: Store) -> None:
        """Codes are per campaign."""
        with store.transaction() as uow:
            uow.codes.add(_code("AAAA0000"))
            uow.codes.add(_code("BBBB0000", campaign="spring"))
            assert [c.code for c in uow.codes.for_owner("ann")] == ["AAAA0000", "BBBB0000"]

    def test_code_text_owned_by_someone_else_raises_code_taken(self, store: Store) -> None:
        """The database, not a prior read, enforces unique code text."""
        with store.transaction() as uow:
            uow.codes.add(_code("AAAA0000", owner="ann"))
        with pytest.raises(CodeTaken), store.transaction() as uow:
            uow.codes.add(_code("AAAA0000", owner="bob"))

    def test_a_code_is_found_by_its_key(self, store: Store) -> None:
        """``find`` takes the key: upper case, no spaces or dashes; ``get`` the exact text."""
        vanity = _code("ANNA-10", kind=CodeKind.VANITY)
        with store.transaction() as uow:
            uow.codes.add(vanity)
            uow.codes.add(_code("BBBB0000", owner="bob"))
        with store.transaction() as uow:
            assert uow.codes.find("ANNA10") == vanity
            assert uow.codes.find("BBBB0000") == _code("BBBB0000", owner="bob")
            assert uow.codes.get("ANNA-10") == vanity
            assert uow.codes.get("ANNA10") is None
            assert uow.codes.find("ANNA-10") is None
            assert uow.codes.find("ZZZZ") is None

    def test_codes_differing_only_in_case_spaces_or_dashes_are_one_code(self, store: Store) -> None:
        """A second code with the key of an issued one is taken; its owner keeps theirs."""
        with store.transaction() as uow:
            uow.codes.add(_code("ANNA-10", kind=CodeKind.VANITY))
        for text in ("ANNA10", "AN-NA10", "ANNA 10"):
            with pytest.raises(CodeTaken), store.transaction() as uow:
                uow.codes.add(_code(text, owner="bob", kind=CodeKind.VANITY))
        with store.transaction() as uow:
            assert uow.codes.for_owner("bob") == []
            again = uow.codes.add(_code("ANNA10", kind=CodeKind.VANITY))
        assert again.code == "ANNA-10"  # the owner's one code in the campaign


class ReferralsContract(CapabilityContract):
    """Attributions: one non-rejected referral per referee, status, queries, reassignment."""

    needs = Needs(repositories=(CODES, REFERRALS, CONVERSIONS))

    def test_one_active_referral_per_referee(self, store: Store) -> None:
        """A second non-rejected referral for the referee is not stored; the first is returned."""
        with store.transaction() as uow:
            uow.codes.add(_code())
            uow.codes.add(_code("CCCC0000", owner="cat"))
            first = uow.referrals.add(_referral("r-1", "bob"))
            second = uow.referrals.add(_referral("r-2", "bob", referrer="cat", code="CCCC0000"))
        assert second == first
        with store.transaction() as uow:
            assert uow.referrals.get("r-2") is None
            assert uow.referrals.active_for_referee("bob") == first

    def test_rejected_referrals_are_always_recorded(self, store: Store) -> None:
        """Rejected attributions are stored for reporting and never block the referee."""
        with store.transaction() as uow:
            uow.codes.add(_code())
            uow.referrals.add(_referral("r-0", "bob", status=ReferralStatus.REJECTED))
            uow.referrals.add(_referral("r-00", "bob", status=ReferralStatus.REJECTED))
            active = uow.referrals.add(_referral("r-1", "bob"))
        with store.transaction() as uow:
            assert uow.referrals.get("r-0") is not None
            assert uow.referrals.get("r-00") is not None
            assert uow.referrals.active_for_referee("bob") == active
            counts = uow.referrals.counts_for_referrer("ann")
        assert counts[ReferralStatus.REJECTED] == 2
        assert counts[ReferralStatus.PENDING] == 1

    def test_status_change_is_stored_and_rejection_frees_the_referee(self, store: Store) -> None:
        """set_status persists; a rejected referral no longer holds the referee."""
        _seed(store)
        with store.transaction() as uow:
            updated = uow.referrals.set_status("r-1", ReferralStatus.REJECTED, ("manual",))
        assert updated.status is ReferralStatus.REJECTED
        assert updated.reasons == ("manual",)
        with store.transaction() as uow:
            assert uow.referrals.active_for_referee("bob") is None
            assert uow.referrals.get("r-1") == updated

    def test_unknown_referral_status_change_raises(self, store: Store) -> None:
        """Changing a referral that does not exist is an error, not a silent no-op."""
        with pytest.raises(UnknownReferral), store.transaction() as uow:
            uow.referrals.set_status("nope", ReferralStatus.QUALIFIED, ())

    def test_referral_queries(self, store: Store) -> None:
        """Counts by code, times since, review queue order, up- and downline."""
        with store.transaction() as uow:
            uow.codes.add(_code())
            uow.codes.add(_code("BBBB0000", owner="bob"))
            uow.referrals.add(_referral("r-1", "bob", at=T0))
            uow.referrals.add(
                _referral("r-2", "cat", at=T0 + timedelta(hours=2), status=ReferralStatus.REVIEW)
            )
            uow.referrals.add(
                _referral("r-3", "dan", referrer="bob", code="BBBB0000", at=T0 + timedelta(hours=1))
            )
            uow.referrals.add(
                _referral("r-4", "eve", at=T0 + timedelta(hours=3), status=ReferralStatus.REJECTED)
            )
        with store.transaction() as uow:
            assert uow.referrals.count_for_code("AAAA0000") == 2
            assert uow.referrals.referrer_times("ann", T0 + timedelta(hours=1)) == [
                T0 + timedelta(hours=2)
            ]
            assert [r.id for r in uow.referrals.in_review(10)] == ["r-2"]
            assert uow.referrals.referrer_of("dan") == "bob"
            assert uow.referrals.referrer_of("eve") is None
            assert uow.referrals.referees_of("ann") == ["bob", "cat"]
            assert uow.referrals.referees_of("ann", last=1) == ["cat"]
            assert uow.referrals.referees_of("ann", last=5) == ["bob", "cat"]

    def test_the_review_queue_pages_by_time_and_filters(self, store: Store) -> None:
        """Pages by (attribution time, id) after a cursor; by reason; by referrer."""
        hour = timedelta(hours=1)
        review = ReferralStatus.REVIEW
        with store.transaction() as uow:
            uow.codes.add(_code())
            uow.codes.add(_code("BBBB0000", owner="bob"))
            for i, (referrer, code) in enumerate([("ann", "AAAA0000"), ("bob", "BBBB0000")] * 3):
                reasons = ("velocity.network",) if i % 2 else ("shared_signals.device",)
                uow.referrals.add(
                    attrs.evolve(
                        _referral(f"q{i}", f"f{i}", referrer=referrer, code=code, status=review),
                        attributed_at=T0 + (5 - i) * hour,
                        reasons=reasons,
                    )
                )
            uow.referrals.add(_referral("p1", "pete", at=T0 + hour))  # pending: never listed
            uow.referrals.add(attrs.evolve(_referral("t1", "tie", status=review), id="q9"))

        def page(**kwargs: object) -> list[str]:
            with store.transaction() as uow:
                found = uow.referrals.review_page(
                    **{  # type: ignore[arg-type]
                        "limit": 10,
                        "after": None,
                        "reason": None,
                        "referrer": None,
                        **kwargs,
                    }
                )
            return [r.id for r in found]

        every = ["q5", "q9", "q4", "q3", "q2", "q1", "q0"]  # q5 and q9 tie on time: by id
        assert page() == every
        assert page(limit=2) == every[:2]
        assert page(after="q5", limit=1) == ["q9"]
        assert page(after="q4", limit=2) == ["q3", "q2"]
        assert page(after="p1") == every[2:]  # a cursor keeps its place whatever its status
        assert page(after="nobody") == []
        assert page(reason="velocity.network") == ["q5", "q3", "q1"]
        assert page(referrer="ann") == ["q9", "q4", "q2", "q0"]
        assert page(referrer="ann", reason="velocity.network") == []
        assert page(reason="velocity") == []  # a whole reason code, not a part of one
        with store.transaction() as uow:
            assert [r.id for r in uow.referrals.in_review(10)] == every

    def test_friends_are_one_per_referee_standing_first_in_time_order(self, store: Store) -> None:
        """The standing referral, else the latest rejected; other referrers' left out; paged."""
        hour = timedelta(hours=1)
        rejected = ReferralStatus.REJECTED
        with store.transaction() as uow:
            uow.codes.add(_code())
            uow.codes.add(_code("BBBB0000", owner="bob"))
            add = uow.referrals.add
            add(_referral("a1", "amy", status=rejected, at=T0))
            add(_referral("a2", "amy", at=T0 + 3 * hour))  # amy's standing referral
            add(_referral("b1", "ben", status=rejected, at=T0 + hour))
            add(_referral("b2", "ben", status=rejected, at=T0 + 2 * hour))  # ben's latest
            add(_referral("c1", "cat", referrer="bob", code="BBBB0000", at=T0))
            add(_referral("c2", "cat", status=rejected, at=T0 + 4 * hour))  # lost to bob's
            add(_referral("d1", "dan", status=rejected, at=T0 + 5 * hour))
            add(_referral("d2", "dan", status=rejected, at=T0 + 5 * hour))  # a tie: the later
            add(_referral("e1", "eve", at=T0 + 6 * hour, status=ReferralStatus.REVIEW))

        def ids(after: str | None = None, limit: int = 10, referrer: str = "ann") -> list[str]:
            with store.transaction() as uow:
                return [r.id for r in uow.referrals.friends(referrer, after=after, limit=limit)]

        assert ids() == ["b2", "a2", "c2", "d2", "e1"]
        assert ids(limit=2) == ["b2", "a2"]
        assert ids(after="a2", limit=2) == ["c2", "d2"]
        assert ids(after="d2") == ["e1"]
        assert ids(after="e1") == []
        assert ids(after="nobody") == []
        assert ids(referrer="bob") == ["c1"]
        assert ids(referrer="nobody") == []
        with store.transaction() as uow:
            latest = uow.referrals.rejected_for_referee("dan")
            assert latest is not None
            assert latest.id == "d2"
            assert uow.referrals.rejected_for_referee("amy") == uow.referrals.get("a1")
            assert uow.referrals.rejected_for_referee("eve") is None

    def test_ordered_count_is_of_accepted_referrals_with_an_order(self, store: Store) -> None:
        """Pending or qualified referrals with an order, refunded or not; no other."""
        with store.transaction() as uow:
            uow.codes.add(_code())
            uow.referrals.add(_referral("r-1", "bob"))
            uow.referrals.add(_referral("r-2", "cat", status=ReferralStatus.QUALIFIED))
            uow.referrals.add(_referral("r-3", "dan", status=ReferralStatus.REVIEW))
            uow.referrals.add(_referral("r-4", "eve"))
            uow.referrals.add(_referral("r-5", "fay", status=ReferralStatus.REJECTED))
            for order, referee, referral in [
                ("o-1", "bob", "r-1"),
                ("o-2", "bob", "r-1"),
                ("o-3", "cat", "r-2"),
                ("o-4", "dan", "r-3"),
                ("o-5", "fay", "r-5"),
            ]:
                uow.conversions.add(_conversion(order, referee, referral=referral))
            uow.conversions.set_refunded("o-1", Money("80", "USD"))
        with store.transaction() as uow:
            assert uow.referrals.ordered_count("ann") == 2
            assert uow.referrals.ordered_count("nobody") == 0

    def test_reassign_moves_the_credit_and_keeps_the_rest(self, store: Store) -> None:
        """Reassign changes code, referrer, campaign and reasons; id, status, time, orders stay."""
        _seed(store)
        other = _code("CCCC0000", owner="cat", campaign="spring")
        with store.transaction() as uow:
            uow.codes.add(other)
            moved = uow.referrals.reassign("r-1", other, ("reassign.operator",))
        assert (moved.id, moved.code, moved.referrer, moved.campaign, moved.reasons) == (
            "r-1",
            "CCCC0000",
            "cat",
            "spring",
            ("reassign.operator",),
        )
        assert (moved.referee, moved.status, moved.attributed_at) == (
            "bob",
            ReferralStatus.PENDING,
            T0,
        )
        with store.transaction() as uow:
            assert uow.referrals.get("r-1") == moved
            assert uow.referrals.referees_of("cat") == ["bob"]
            assert uow.referrals.referees_of("ann") == []
            assert [c.order_id for c in uow.conversions.for_referral("r-1")] == ["o-1"]
        assert moved.policy_version == "v1"  # terms stay unless given
        with store.transaction() as uow:
            again = uow.referrals.reassign("r-1", other, ("reassign.operator",), "v2")
        assert again.policy_version == "v2"
        with store.transaction() as uow:
            assert uow.referrals.get("r-1") == again
        with pytest.raises(UnknownReferral), store.transaction() as uow:
            uow.referrals.reassign("nope", other, ())


class ConversionsContract(CapabilityContract):
    """Orders: idempotent on order id, refunds recorded, money and times exact."""

    needs = Needs(repositories=(CODES, REFERRALS, CONVERSIONS))

    def test_conversion_is_idempotent_on_order_id(self, store: Store) -> None:
        """The same order id twice stores one conversion and says the second was not new."""
        with store.transaction() as uow:
            first, created = uow.conversions.add(_conversion("o-1", "bob"))
            again, created_again = uow.conversions.add(_conversion("o-1", "bob", amount="99"))
        assert created
        assert not created_again
        assert again == first
        with store.transaction() as uow:
            assert uow.conversions.count_for_referee("bob") == 1

    def test_refunded_total_is_stored(self, store: Store) -> None:
        """set_refunded records the refunded total; net follows."""
        _seed(store)
        with store.transaction() as uow:
            uow.conversions.set_refunded("o-1", Money("30", "USD"))
        with store.transaction() as uow:
            stored = uow.conversions.get("o-1")
            assert stored is not None
            assert stored.net == Money("50", "USD")
            assert [c.order_id for c in uow.conversions.for_referral("r-1")] == ["o-1"]

    def test_orders_of_several_referrals_come_in_one_list_oldest_first(self, store: Store) -> None:
        """``for_referrals``: every order of those referrals, by time; others left out."""
        with store.transaction() as uow:
            uow.codes.add(_code())
            for rid, referee in [("r-1", "bob"), ("r-2", "cat"), ("r-3", "dan")]:
                uow.referrals.add(_referral(rid, referee))
            for order, referee, referral, minutes in [
                ("o-1", "bob", "r-1", 30),
                ("o-2", "cat", "r-2", 10),
                ("o-3", "dan", "r-3", 0),
                ("o-4", "bob", "r-1", 20),
            ]:
                conversion = _conversion(order, referee, referral=referral)
                uow.conversions.add(
                    attrs.evolve(conversion, occurred_at=T0 + timedelta(minutes=minutes))
                )
        with store.transaction() as uow:
            found = uow.conversions.for_referrals(["r-1", "r-2", "r-1"])
            assert uow.conversions.for_referrals([]) == []
        assert [c.order_id for c in found] == ["o-2", "o-4", "o-1"]

    def test_refund_of_unknown_order_raises(self, store: Store) -> None:
        """An unknown order id is an UnknownOrder error."""
        with pytest.raises(UnknownOrder), store.transaction() as uow:
            uow.conversions.set_refunded("nope", Money("1", "USD"))

    @_ROUND_TRIPS
    @given(
        cents=st.integers(min_value=0, max_value=10**12),
        currency=st.sampled_from(["USD", "JPY", "KWD", "EUR"]),
        seconds=st.integers(min_value=0, max_value=10**9),
        micro=st.integers(min_value=0, max_value=999_999),
        order=st.text(min_size=1, max_size=40),
    )
    def test_conversion_round_trips_exactly(  # noqa: PLR0917 - hypothesis passes drawn values by position
        self, store: Store, cents: int, currency: str, seconds: int, micro: int, order: str
    ) -> None:
        """Money and times come back exactly as stored, whatever the currency."""
        when = datetime(2001, 1, 1, tzinfo=timezone.utc) + timedelta(
            seconds=seconds, microseconds=micro
        )
        conversion = Conversion(
            order_id=f"rt-{uuid.uuid4().hex}-{order}",
            referee="bob",
            amount=Money.from_minor(cents, currency),
            occurred_at=when,
            first_order=False,
        )
        with store.transaction() as uow:
            stored, _ = uow.conversions.add(conversion)
        with store.transaction() as uow:
            assert uow.conversions.get(conversion.order_id) == stored == conversion


class LedgerContract(CapabilityContract):
    """Rewards and ledger entries: idempotent on (customer, key), due holds, balances, spend."""

    needs = Needs(repositories=(CODES, REFERRALS, CONVERSIONS, REWARDS))

    def test_reward_is_idempotent_on_customer_and_key(self, store: Store) -> None:
        """A retried grant with the same key is not stored twice."""
        _seed(store)
        with store.transaction() as uow:
            first, created = uow.rewards.add(_reward("w-1"))
            again, created_again = uow.rewards.add(_reward("w-2"))
        assert created
        assert not created_again
        assert again == first
        with store.transaction() as uow:
            assert uow.rewards.get("w-2") is None
            assert uow.rewards.for_order("o-1") == [first]
            assert uow.rewards.for_customer("ann") == [first]
            assert uow.rewards.for_referral("r-1") == [first]

    def test_rewards_of_several_referrals_come_in_one_list_in_grant_order(
        self, store: Store
    ) -> None:
        """``for_referrals``: every reward under those referrals, as granted."""
        _seed(store)
        with store.transaction() as uow:
            uow.referrals.add(_referral("r-2", "cat"))
            uow.referrals.add(_referral("r-3", "dan"))
            uow.rewards.add(_reward("w-1", key="k1", referral="r-2", order=None))
            uow.rewards.add(_reward("w-2", key="k2", referral="r-1"))
            uow.rewards.add(_reward("w-3", key="k3", referral="r-3", order=None))
            uow.rewards.add(_reward("w-4", key="k4", referral="r-2", customer="cat", order=None))
        with store.transaction() as uow:
            found = uow.rewards.for_referrals(["r-2", "r-1"])
            assert uow.rewards.for_referrals([]) == []
        assert [r.id for r in found] == ["w-1", "w-2", "w-4"]

    def test_reward_update_and_due(self, store: Store) -> None:
        """Held rewards are due once their hold ends; updates persist."""
        _seed(store)
        with store.transaction() as uow:
            uow.rewards.add(_reward("w-1", hold_until=T0 + timedelta(days=14)))
            uow.rewards.add(_reward("w-2", key="o-1:other", hold_until=T0 + timedelta(days=1)))
        with store.transaction() as uow:
            assert uow.rewards.due(T0, 10) == []
            assert [r.id for r in uow.rewards.due(T0 + timedelta(days=14), 10)] == ["w-2", "w-1"]
            assert [r.id for r in uow.rewards.due(T0 + timedelta(days=14), 1)] == ["w-2"]
            w1 = uow.rewards.get("w-1")
            assert w1 is not None
            paid = attrs.evolve(w1, state=RewardState.AVAILABLE)
            uow.rewards.update(paid)
        with store.transaction() as uow:
            assert uow.rewards.get("w-1") == paid
            assert [r.id for r in uow.rewards.due(T0 + timedelta(days=30), 10)] == ["w-2"]

    @_ROUND_TRIPS
    @given(
        holds=st.lists(
            st.tuples(
                st.text(st.characters(categories=("L", "N", "P", "S")), min_size=1, max_size=6),
                st.integers(min_value=0, max_value=3),
                st.integers(min_value=-14, max_value=14),
            ),
            min_size=1,
            max_size=8,
            unique_by=lambda hold: hold[0],
        ),
        limit=st.integers(min_value=1, max_value=9),
    )
    def test_due_rewards_come_by_hold_end_then_by_id(
        self, store: Store, holds: list[tuple[str, int, int]], limit: int
    ) -> None:
        """Rewards due together are listed by hold end, then id: the same on every store."""
        with store.transaction() as uow:
            if uow.referrals.get("r-1") is None:
                uow.codes.add(_code())
                uow.referrals.add(_referral("r-1", "bob"))
        run = uuid.uuid4().hex  # the store outlives one example: keep this one's rewards apart
        ends = {}
        with store.transaction() as uow:
            for rid, day, offset in holds:
                # The same instant in any offset is the same hold end.
                end = (T0 + timedelta(days=day)).astimezone(timezone(timedelta(hours=offset)))
                ends[f"{run}-{rid}"] = T0 + timedelta(days=day)
                uow.rewards.add(
                    _reward(f"{run}-{rid}", key=f"{run}-{rid}", order=None, hold_until=end)
                )
        expected = sorted(ends, key=lambda rid: (ends[rid], rid))
        now = T0 + timedelta(days=3)
        with store.transaction() as uow:
            due = [r.id for r in uow.rewards.due(now, 10_000) if r.id.startswith(run)]
            first = uow.rewards.due(now, limit)
            for reward in first:  # out of the way of the next example
                uow.rewards.update(attrs.evolve(reward, state=RewardState.AVAILABLE))
        assert due == expected
        assert all(r.id.startswith(run) for r in first)
        assert [r.id for r in first] == expected[:limit]
        with store.transaction() as uow:
            for reward in uow.rewards.due(now, 10_000):
                uow.rewards.update(attrs.evolve(reward, state=RewardState.AVAILABLE))

    def test_balances_are_sums_of_ledger_entries(self, store: Store) -> None:
        """Balances per bucket and currency equal the sum of the entries appended."""
        _seed(store)
        ten, three = Money("10", "USD"), Money("3", "USD")
        with store.transaction() as uow:
            uow.rewards.add(_reward("w-1"))
            uow.rewards.append(
                [
                    LedgerEntry("w-1", "ann", "held", "USD", ten, 0, T0, "grant"),
                    LedgerEntry("w-1", "ann", "held", "USD", -three, 0, T0, "refund"),
                    LedgerEntry("w-1", "ann", "held", None, None, 25, T0, "grant"),
                ]
            )
        with store.transaction() as uow:
            rows = uow.rewards.balances("ann")
            assert uow.rewards.balances("nobody") == []
        assert ("held", "USD", Money("7", "USD"), 0) in rows
        assert ("held", None, None, 25) in rows

    def test_spend_excludes_reversed_rewards(self, store: Store) -> None:
        """Program spend counts rewards that still stand."""
        _seed(store)
        with store.transaction() as uow:
            uow.rewards.add(_reward("w-1", amount="10"))
            uow.rewards.add(_reward("w-2", key="k2", amount="4", state=RewardState.REVERSED))
            uow.rewards.add(_reward("w-3", key="k3", amount="1.50", customer="bob"))
        with store.transaction() as uow:
            money, points = uow.rewards.spend()
        assert dict(money) == {"USD": Money("11.50", "USD")}
        assert points == 0


class OutboxContract(CapabilityContract):
    """The event outbox: events in order, pending until acknowledged, claimed under leases."""

    needs = Needs(repositories=(EVENTS,))

    def test_events_are_pending_until_acked(self, store: Store) -> None:
        """The outbox returns events in order until they are acknowledged, once."""
        with store.transaction() as uow:
            a = uow.events.add("code.enrolled", {"customer_id": "ann"}, T0)
            b = uow.events.add(
                "reward.granted", {"amount": {"amount": "10", "currency": "USD"}}, T0
            )
        assert a.id < b.id
        with store.transaction() as uow:
            pending = uow.events.pending(10)
            assert [e.type for e in pending] == ["code.enrolled", "reward.granted"]
            assert pending[1].payload == {"amount": {"amount": "10", "currency": "USD"}}
            assert uow.events.ack([a.id]) == 1
            assert uow.events.ack([a.id, 10_000]) == 0
        with store.transaction() as uow:
            assert [e.id for e in uow.events.pending(10)] == [b.id]

    def test_a_claim_hands_each_event_out_once_while_its_lease_holds(self, store: Store) -> None:
        """Claims take the oldest claimable events; a leased event comes back only at its end."""
        ids = _add_events(store, 5)
        lease = T0 + timedelta(minutes=5)
        with store.transaction() as uow:
            first = uow.events.claim(3, T0, lease, "w1")
        assert [(e.id, e.attempts) for e in first] == [(i, 1) for i in ids[:3]]
        with store.transaction() as uow:
            second = uow.events.claim(10, T0 + timedelta(minutes=1), lease, "w2")
            assert uow.events.claim(10, T0 + timedelta(minutes=2), lease, "w3") == []
            assert uow.events.pending(10, T0 + timedelta(minutes=2)) == []
            assert [e.id for e in uow.events.pending(10)] == ids  # without a time: every one
        assert [e.id for e in second] == ids[3:]
        with store.transaction() as uow:
            assert uow.events.ack([ids[0]]) == 1
            again = uow.events.claim(10, lease, lease + timedelta(minutes=5))
        assert [(e.id, e.attempts) for e in again] == [(i, 2) for i in ids[1:]]
        assert [e.type for e in again] == [f"e{i}" for i in range(1, 5)]

    def test_a_released_event_is_claimable_again_from_its_retry_time(self, store: Store) -> None:
        """Release ends the lease; the event waits for its retry time, unless acknowledged."""
        ids = _add_events(store, 3)
        retry = T0 + timedelta(minutes=10)
        with store.transaction() as uow:
            uow.events.claim(10, T0, T0 + timedelta(hours=1))
            assert uow.events.release([ids[0], ids[0], ids[1], 10_000], retry) == 2
            assert uow.events.ack([ids[1]]) == 1
            assert uow.events.release([ids[1]], T0) == 0  # acknowledged: nothing to hand back
        with store.transaction() as uow:
            assert uow.events.claim(10, retry - timedelta(seconds=1), retry) == []
            assert [e.id for e in uow.events.pending(10, retry)] == [ids[0]]
            (back,) = uow.events.claim(10, retry, retry + timedelta(minutes=5))
        assert (back.id, back.attempts) == (ids[0], 2)

    def test_a_dead_letter_is_never_claimed_until_released(self, store: Store) -> None:
        """Given up: not pending, not claimable; listed; released, it is pending again."""
        ids = _add_events(store, 3)
        later = T0 + timedelta(days=30)
        with store.transaction() as uow:
            uow.events.claim(10, T0, T0 + timedelta(minutes=5))
            assert uow.events.dead_letter([ids[0], ids[2], 10_000], T0) == 2
            assert uow.events.dead_letter([ids[0]], T0) == 0  # given up already
        with store.transaction() as uow:
            assert [e.id for e in uow.events.pending(10)] == [ids[1]]
            assert [e.id for e in uow.events.claim(10, later, later)] == [ids[1]]
            dead = uow.events.dead_letters(10)
            assert [(e.id, e.attempts) for e in dead] == [(ids[0], 1), (ids[2], 1)]
            assert [e.id for e in uow.events.dead_letters(1)] == [ids[0]]
            assert uow.events.release([ids[0]], later) == 1
            assert uow.events.ack([ids[2]]) == 1
        with store.transaction() as uow:
            assert uow.events.dead_letters(10) == []
            assert [e.id for e in uow.events.claim(10, later, later)] == [ids[0], ids[1]]

    def test_prune_deletes_only_acknowledged_events_from_before_a_time(self, store: Store) -> None:
        """Old acknowledged events go, in batches; pending, leased and dead ones stay; ids grow."""
        ids = _add_events(store, 6)
        with store.transaction() as uow:
            uow.events.ack(ids[:4])
            uow.events.claim(1, T0, T0 + timedelta(minutes=5))  # ids[4]: leased
            uow.events.dead_letter([ids[5]], T0)
            newer = uow.events.add("newer", {}, T0 + timedelta(days=2))
            uow.events.ack([newer.id])
        cutoff = T0 + timedelta(days=1)
        with store.transaction() as uow:
            assert uow.events.prune(cutoff, 3) == 3
            assert uow.events.prune(cutoff, 3) == 1
            assert uow.events.prune(cutoff, 3) == 0
        with store.transaction() as uow:
            assert [e.id for e in uow.events.pending(10)] == [ids[4]]
            assert [e.id for e in uow.events.dead_letters(10)] == [ids[5]]
            assert uow.events.ack(ids[:4]) == 0  # gone, not pending again
            assert uow.events.prune(T0 + timedelta(days=3), 10) == 1  # the newer one
            latest = uow.events.add("latest", {}, T0)
        assert latest.id > newer.id  # a pruned id is never reused

    def test_a_rolled_back_claim_leaves_the_events_unclaimed(self, store: Store) -> None:
        """A claim is part of its unit of work: undone with it, attempts included."""
        ids = _add_events(store, 2)
        with pytest.raises(_Boom):
            _then_fail(
                store,
                lambda uow: uow.events.claim(10, T0, T0 + timedelta(hours=1)),
                lambda uow: uow.events.dead_letter([ids[1]], T0),
            )
        with store.transaction() as uow:
            claimed = uow.events.claim(10, T0, T0 + timedelta(hours=1))
        assert [(e.id, e.attempts) for e in claimed] == [(ids[0], 1), (ids[1], 1)]

    def test_concurrent_claims_never_share_an_event(self, store: Store) -> None:
        """Eight threads claiming at once get disjoint batches that cover every event."""
        ids = _add_events(store, 240)
        taken: list[list[int]] = [[] for _ in range(8)]
        errors: list[BaseException] = []

        def work(worker: int) -> None:
            try:
                for _ in range(len(ids)):  # bounded: a store that ignores leases never runs dry
                    with store.transaction() as uow:
                        batch = uow.events.claim(7, T0, T0 + timedelta(hours=1), f"w{worker}")
                    if not batch:
                        return
                    taken[worker].extend(e.id for e in batch)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        every = [i for batch in taken for i in batch]
        assert sorted(every) == ids  # each event once, none twice


def _then_fail(store: Store, *writes: Callable[[UnitOfWork], object]) -> None:
    """Run ``writes`` in one unit of work, then raise inside it."""
    with store.transaction() as uow:
        for write in writes:
            write(uow)
        raise _Boom


def _add_events(store: Store, n: int) -> list[int]:
    """``n`` events ``e0``, ``e1``, ... at `T0`; their ids."""
    with store.transaction() as uow:
        return [uow.events.add(f"e{i}", {"n": i}, T0).id for i in range(n)]


class ClicksContract(CapabilityContract):
    """Click tracking (``uow.clicks``): clicks stored with growing ids, found by visitor keys."""

    needs = Needs(repositories=(CLICKS,))

    def test_clicks_are_found_by_any_of_a_visitors_keys_inside_a_window(self, store: Store) -> None:
        """Both ends of the window count; oldest first, then by id; other visitors left out."""
        hour = timedelta(hours=1)
        with store.transaction() as uow:
            clicks = CLICKS.repository(uow, store=store)
            a = clicks.add(_click("AAAA0000", "k1", T0, channel="sms", campaign="spring"))
            b = clicks.add(_click("BBBB0000", "k2", T0 + hour))
            c = clicks.add(_click("CCCC0000", "k1", T0 + hour))
            clicks.add(_click("DDDD0000", "other", T0 + hour))
            clicks.add(_click("EEEE0000", "k1", T0 + 3 * hour))
        assert a.id < b.id < c.id
        assert (a.code, a.visitor, a.occurred_at, a.channel, a.campaign) == (
            "AAAA0000",
            "k1",
            T0,
            "sms",
            "spring",
        )
        with store.transaction() as uow:
            clicks = CLICKS.repository(uow, store=store)
            found = clicks.for_visitor(["k1", "k2", "k1"], T0, T0 + 2 * hour)
            assert clicks.for_visitor(["k1"], T0 + hour, T0 + hour) == [c]
            assert clicks.for_visitor(["nobody"], T0, T0 + 9 * hour) == []
            assert clicks.for_visitor([], T0, T0 + 9 * hour) == []
        assert found == [a, b, c]

    def test_a_unit_of_work_that_raises_leaves_no_click(self, store: Store) -> None:
        """Clicks are rolled back with their unit of work; a naive time is a StorageError."""
        with pytest.raises(_Boom):
            _then_fail(
                store, lambda uow: CLICKS.repository(uow, store=store).add(_click("A", "k1", T0))
            )
        with pytest.raises(StorageError), store.transaction() as uow:
            CLICKS.repository(uow, store=store).add(_click("AAAA0000", "k1", _NAIVE))
        with store.transaction() as uow:
            far = timedelta(days=10_000)
            assert CLICKS.repository(uow, store=store).for_visitor(["k1"], T0 - far, T0 + far) == []

    @_ROUND_TRIPS
    @given(
        code=st.text(min_size=1, max_size=20),
        visitor=st.text(min_size=1, max_size=64),
        seconds=st.integers(min_value=0, max_value=10**9),
        micro=st.integers(min_value=0, max_value=999_999),
        channel=st.none() | st.text(min_size=1, max_size=20),
    )
    def test_a_click_round_trips_exactly(  # noqa: PLR0917 - hypothesis passes drawn values by position
        self, store: Store, code: str, visitor: str, seconds: int, micro: int, channel: str | None
    ) -> None:
        """What is stored is what comes back, to the microsecond."""
        when = datetime(2001, 1, 1, tzinfo=timezone.utc) + timedelta(
            seconds=seconds, microseconds=micro
        )
        key = f"{uuid.uuid4().hex}-{visitor}"
        with store.transaction() as uow:
            stored = CLICKS.repository(uow, store=store).add(
                _click(code, key, when, channel=channel)
            )
        with store.transaction() as uow:
            assert CLICKS.repository(uow, store=store).for_visitor([key], when, when) == [stored]


class MetaContract(CapabilityContract):
    """Store metadata (``uow.meta``): small named values, the first one recorded wins."""

    needs = Needs(repositories=(META,))

    def test_the_first_value_recorded_under_a_name_stays_until_replaced(self, store: Store) -> None:
        """``add`` keeps the first value; ``put`` replaces it; a rolled back write leaves none."""
        with store.transaction() as uow:
            meta = META.repository(uow, store=store)
            assert meta.get("secret_check") is None
            assert meta.add("secret_check", "v1:aaa", T0) == "v1:aaa"
            assert meta.add("secret_check", "v1:bbb", T0) == "v1:aaa"
        with store.transaction() as uow:
            meta = META.repository(uow, store=store)
            assert meta.get("secret_check") == "v1:aaa"
            meta.put("secret_check", "v1:ccc", T0 + timedelta(days=1))
            meta.put("other", "x", T0)
        with pytest.raises(_Boom):
            _then_fail(
                store,
                lambda uow: META.repository(uow, store=store).put("secret_check", "v1:ddd", T0),
                lambda uow: META.repository(uow, store=store).add("third", "y", T0),
            )
        with store.transaction() as uow:
            meta = META.repository(uow, store=store)
            assert (meta.get("secret_check"), meta.get("other"), meta.get("third")) == (
                "v1:ccc",
                "x",
                None,
            )


def _click(
    code: str,
    visitor: str,
    at: datetime,
    *,
    channel: str | None = None,
    campaign: str | None = None,
) -> Click:
    return Click(code=code, visitor=visitor, occurred_at=at, channel=channel, campaign=campaign)


class IdentitiesContract(CapabilityContract):
    """Hashed identity signals: a set per customer, searchable both ways and by time."""

    needs = Needs(repositories=(CODES, REFERRALS, IDENTITIES))

    def test_identity_signals_are_stored_once_and_searchable(self, store: Store) -> None:
        """Signals are a set per customer; lookups go both ways."""
        email, ip = ("email", "e1"), ("ip", "i1")
        with store.transaction() as uow:
            uow.identities.add("ann", [email, ip])
            uow.identities.add("ann", [email])
            uow.identities.add("bob", [ip])
        with store.transaction() as uow:
            assert uow.identities.signals("ann") == frozenset({email, ip})
            assert sorted(uow.identities.customers_with(ip, 10)) == ["ann", "bob"]
            assert uow.identities.signal_counts(["ann", "bob"]) == {email: 1, ip: 2}
            assert uow.identities.signal_counts(["ann", "bob"], only=[ip]) == {ip: 2}
            assert uow.identities.signal_counts(["bob"], only=[email, ("ip", "x")]) == {}
            assert uow.identities.signals("nobody") == frozenset()

    def test_referees_sharing_a_signal_are_listed_newest_first_from_a_time(
        self, store: Store
    ) -> None:
        """Velocity per network: recent referees carrying a signal, rejected ones left out."""
        net, other = ("network", "n1"), ("network", "n2")
        with store.transaction() as uow:
            uow.codes.add(_code())
            for i in range(6):
                uow.identities.add(f"f{i}", [net])
                status = ReferralStatus.REJECTED if i == 4 else ReferralStatus.PENDING
                at = T0 + timedelta(hours=i)
                uow.referrals.add(_referral(f"r{i}", f"f{i}", status=status, at=at))
            uow.identities.add("lurker", [net])  # carries the signal, never referred
            uow.identities.add("f0", [other])
        with store.transaction() as uow:
            since = T0 + timedelta(hours=1)
            assert uow.identities.referees_since(net, since, 10) == [
                ("f5", T0 + timedelta(hours=5)),
                ("f3", T0 + timedelta(hours=3)),
                ("f2", T0 + timedelta(hours=2)),
                ("f1", T0 + timedelta(hours=1)),
            ]
            assert [r for r, _ in uow.identities.referees_since(net, T0, 2)] == ["f5", "f3"]
            assert uow.identities.referees_since(other, since, 10) == []
            assert uow.identities.referees_since(("network", "none"), T0, 10) == []


class TransactionsContract(CapabilityContract):
    """Units of work: all or nothing, serialised across threads, backend errors wrapped."""

    needs = Needs(repositories=CORE, unit_of_work=True)

    def test_a_unit_of_work_that_raises_leaves_nothing_behind(self, store: Store) -> None:
        """Every repository's writes are rolled back together when the block raises."""
        _seed(store)
        with pytest.raises(_Boom):
            _write_everywhere_then_fail(store)
        with store.transaction() as uow:
            assert uow.codes.get("DDDD0000") is None
            assert uow.referrals.get("r-9") is None
            assert uow.referrals.active_for_referee("zed") is None
            r1 = uow.referrals.get("r-1")
            assert r1 is not None
            assert r1.status is ReferralStatus.PENDING
            assert uow.conversions.get("o-9") is None
            o1 = uow.conversions.get("o-1")
            assert o1 is not None
            assert o1.refunded is None
            assert uow.rewards.get("w-9") is None
            assert uow.rewards.balances("ann") == []
            assert uow.events.pending(10) == []
            assert uow.identities.signals("dan") == frozenset()

    def test_concurrent_units_of_work_never_double_insert(self, store: Store) -> None:
        """Eight threads racing to record the same orders store each exactly once."""
        errors: list[BaseException] = []
        created: list[str] = []
        lock = threading.Lock()

        def work() -> None:
            try:
                for i in range(50):
                    with store.transaction() as uow:
                        _, new = uow.conversions.add(_conversion(f"o-{i}", "bob"))
                    if new:
                        with lock:
                            created.append(f"o-{i}")
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert sorted(created) == sorted(f"o-{i}" for i in range(50))
        with store.transaction() as uow:
            assert uow.conversions.count_for_referee("bob") == 50

    @pytest.mark.parametrize("write", sorted(_NAIVE_WRITES))
    def test_backend_errors_are_storage_errors(self, store: Store, write: str) -> None:
        """A write the backend cannot store faithfully (a naive time) is a StorageError.

        The error is required, and the unit of work it ends leaves nothing behind.
        """
        _seed(store)
        attempt, look_up = _NAIVE_WRITES[write]
        with pytest.raises(StorageError), store.transaction() as uow:
            attempt(uow)
        with store.transaction() as uow:
            assert not look_up(uow), f"the refused {write} was stored"


class StoreContract(
    CodesContract,
    ReferralsContract,
    ConversionsContract,
    LedgerContract,
    OutboxContract,
    IdentitiesContract,
    TransactionsContract,
    ClicksContract,
    MetaContract,
    MetricsContract,
):
    """Every behaviour a `Store` must have. Subclass and override the ``store`` fixture.

    The union of the capability contracts; each of them also runs on its own.
    """

    needs = Needs(
        store=MetricsContract.needs.store, repositories=(*CORE, CLICKS, META), unit_of_work=True
    )


def _write_everywhere_then_fail(store: Store) -> None:
    with store.transaction() as uow:
        uow.codes.add(_code("DDDD0000", owner="dan"))
        uow.referrals.add(_referral("r-9", "zed"))
        uow.referrals.set_status("r-1", ReferralStatus.QUALIFIED, ("x",))
        uow.conversions.add(_conversion("o-9", "zed"))
        uow.conversions.set_refunded("o-1", Money("5", "USD"))
        uow.rewards.add(_reward("w-9", key="k9"))
        uow.rewards.append(
            [LedgerEntry("w-9", "ann", "held", "USD", Money("1", "USD"), 0, T0, "g")]
        )
        uow.events.add("x", {}, T0)
        uow.identities.add("dan", [("email", "d")])
        raise _Boom
