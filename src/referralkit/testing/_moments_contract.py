"""The contracts of trigger moments (``uow.moments``) and deliveries (``uow.deliveries``)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from referralkit.errors import StorageError
from referralkit.model import ReferralStatus
from referralkit.moments import DELIVERIES, MOMENTS, DecisionRecord, MomentRecord, MomentStats
from referralkit.money import Money
from referralkit.protocols import Store
from referralkit.testing._store_base import CapabilityContract, Needs
from referralkit.testing._store_contract import (
    _NAIVE,
    _ROUND_TRIPS,
    T0,
    _Boom,
    _code,
    _conversion,
    _referral,
    _then_fail,
)

__all__ = ["DeliveriesContract", "MomentsContract"]

_DAY = timedelta(days=1)


def _decision(
    did: str,
    customer: str = "ann",
    moment: str = "review",
    *,
    at: datetime = T0,
    invite: bool = True,
) -> DecisionRecord:
    reason = "moment.invite" if invite else "moment.cooldown"
    return DecisionRecord(did, customer, moment, invite, reason, at, at + 7 * _DAY)


def _reference_stats(
    decisions: list[DecisionRecord],
    friends: list[tuple[str, int, bool, bool]],
    run: str,
    base: datetime,
) -> list[MomentStats]:
    """The stats rule, spelled out: each friend to the latest invitation in its window."""
    rows: dict[str, list[int]] = {}
    for d in decisions:
        row = rows.setdefault(d.moment, [0, 0, 0, 0, 0, 0])
        row[0] += 1
        if not d.invite:
            continue
        row[1] += 1
        later = [
            o.decided_at
            for o in decisions
            if o.customer_id == d.customer_id
            and o.invite
            and (o.decided_at, o.id) > (d.decided_at, d.id)
        ]
        end = min([d.follow_until, *later])
        mine = [
            ordered
            for who, h, rejected, ordered in friends
            if f"{run}-{who}" == d.customer_id
            and not rejected
            and d.decided_at <= base + timedelta(hours=h) < end
        ]
        row[3] += bool(mine)
        row[4] += len(mine)
        row[5] += sum(mine)
    return [MomentStats(name, *row) for name, row in sorted(rows.items())]


class MomentsContract(CapabilityContract):
    """Trigger moments (``uow.moments``): moments once per key, decisions, shares, stats."""

    needs = Needs(repositories=(MOMENTS,))

    def test_a_moment_is_stored_once_per_customer_and_key(self, store: Store) -> None:
        """The first report under a key stands; the same key for another customer is new."""
        first = MomentRecord("ann", "review", "rv-1", T0, score=5, order_id="o-1")
        with store.transaction() as uow:
            repo = MOMENTS.repository(uow, store=store)
            assert repo.add(first) == (first, True)
            again = repo.add(MomentRecord("ann", "nps", "rv-1", T0 + _DAY, score=1))
            other = MomentRecord("bob", "review", "rv-1", T0, score=2)
            assert repo.add(other) == (other, True)
        assert again == (first, False)

    def test_the_latest_score_is_the_latest_scored_moment(self, store: Store) -> None:
        """By time, then the order stored; moments without a score are skipped."""
        with store.transaction() as uow:
            repo = MOMENTS.repository(uow, store=store)
            assert repo.latest_score("ann") is None
            repo.add(MomentRecord("ann", "review", "a", T0 + _DAY, score=2))
            repo.add(MomentRecord("ann", "nps", "b", T0, score=9))
            repo.add(MomentRecord("ann", "order_delivered", "c", T0 + 2 * _DAY))
            assert repo.latest_score("ann") == MomentRecord("ann", "review", "a", T0 + _DAY, 2)
            repo.add(MomentRecord("ann", "nps", "d", T0 + _DAY, score=10))
            latest = repo.latest_score("ann")
        assert latest is not None
        assert (latest.key, latest.score) == ("d", 10)

    def test_the_last_order_decides_whether_it_was_refunded(self, store: Store) -> None:
        """None without orders; the latest order by time, refunded when any of it was."""
        with store.transaction() as uow:
            repo = MOMENTS.repository(uow, store=store)
            assert repo.last_order_refunded("bob") is None
            uow.conversions.add(_conversion("o-1", "bob"))
            uow.conversions.set_refunded("o-1", Money("10", "USD"))
            assert repo.last_order_refunded("bob") is True
            uow.conversions.add(attrs.evolve(_conversion("o-2", "bob"), occurred_at=T0 + _DAY))
            assert repo.last_order_refunded("bob") is False
            assert repo.last_order_refunded("ann") is None

    def test_decisions_and_invitations_are_read_back(self, store: Store) -> None:
        """A decision by id; invitation times of one customer from a time on, in order."""
        with store.transaction() as uow:
            repo = MOMENTS.repository(uow, store=store)
            repo.add_decision(_decision("d-2", at=T0 + 2 * _DAY))
            repo.add_decision(_decision("d-1", at=T0))
            repo.add_decision(_decision("d-3", at=T0 + 3 * _DAY, invite=False))
            repo.add_decision(_decision("d-4", "bob", at=T0 + 3 * _DAY))
            assert repo.decision("d-1") == _decision("d-1", at=T0)
            assert repo.decision("nope") is None
            assert repo.invited_since("ann", T0) == [T0, T0 + 2 * _DAY]
            assert repo.invited_since("ann", T0 + _DAY) == [T0 + 2 * _DAY]
            assert repo.invited_since("cy", T0) == []

    def test_a_keyed_decision_is_stored_once_per_customer(self, store: Store) -> None:
        """The first decision under a key stands, whole; keyless ones are all kept."""
        first = attrs.evolve(
            _decision("d-1", invite=False),
            key="view-1",
            next_allowed_at=T0 + _DAY,
            exploration=0.25,
        )
        with store.transaction() as uow:
            repo = MOMENTS.repository(uow, store=store)
            assert repo.add_decision(first) == (first, True)
            again = repo.add_decision(attrs.evolve(_decision("d-2"), key="view-1"))
            theirs = attrs.evolve(_decision("d-3", "bob"), key="view-1")
            assert repo.add_decision(theirs) == (theirs, True)
            assert repo.add_decision(_decision("d-4"))[1] is True
            assert repo.add_decision(_decision("d-5"))[1] is True
            assert repo.decision("d-2") is None
        assert again == (first, False)

    def test_an_invitation_is_shared_once(self, store: Store) -> None:
        """The first share of a decision counts; later ones say they were not new."""
        with store.transaction() as uow:
            repo = MOMENTS.repository(uow, store=store)
            repo.add_decision(_decision("d-1"))
            assert repo.add_share("d-1", "whatsapp", T0) is True
            assert repo.add_share("d-1", "email", T0 + _DAY) is False

    def test_stats_credit_each_friend_to_the_latest_invitation_in_its_window(
        self, store: Store
    ) -> None:
        """A friend counts for the last invitation at or before them, until its window ends."""
        hour = timedelta(hours=1)
        with store.transaction() as uow:
            uow.codes.add(_code())
            uow.referrals.add(_referral("r-1", "bob", at=T0 + hour))
            uow.referrals.add(_referral("r-2", "cy", at=T0 + 2 * _DAY))  # B's, at its start
            uow.referrals.add(_referral("r-3", "dee", at=T0 + 20 * _DAY))  # after both windows
            uow.referrals.add(_referral("r-4", "eve", at=T0 + hour, status=ReferralStatus.REJECTED))
            uow.conversions.add(_conversion("o-1", "bob", referral="r-1"))
            repo = MOMENTS.repository(uow, store=store)
            repo.add_decision(_decision("a", moment="review", at=T0))
            repo.add_decision(_decision("b", moment="order_delivered", at=T0 + 2 * _DAY))
            repo.add_decision(_decision("c", moment="review", at=T0 + 3 * _DAY, invite=False))
            repo.add_decision(_decision("d", "zed", moment="nps", at=T0))
            repo.add_share("a", None, T0)
            everything = repo.stats(None, None)
            later = repo.stats(T0 + _DAY, None)
            early = repo.stats(None, T0 + _DAY)
        assert everything == [
            MomentStats("nps", 1, 1, 0, 0, 0, 0),
            MomentStats("order_delivered", 1, 1, 0, 1, 1, 0),
            MomentStats("review", 2, 1, 1, 1, 1, 1),
        ]
        assert later == [
            MomentStats("order_delivered", 1, 1, 0, 1, 1, 0),
            MomentStats("review", 1, 0, 0, 0, 0, 0),
        ]
        assert early == [
            MomentStats("nps", 1, 1, 0, 0, 0, 0),
            MomentStats("review", 1, 1, 1, 1, 1, 1),
        ]

    @_ROUND_TRIPS
    @given(
        asked=st.lists(
            st.tuples(
                st.sampled_from(["ann", "bob"]),
                st.sampled_from(["review", "nps"]),
                st.integers(min_value=0, max_value=40),
                st.booleans(),
            ),
            max_size=8,
        ),
        friends=st.lists(
            st.tuples(
                st.sampled_from(["ann", "bob"]),
                st.integers(min_value=0, max_value=60),
                st.booleans(),
                st.booleans(),
            ),
            max_size=8,
        ),
    )
    def test_stats_match_the_rule_on_any_history(
        self,
        store: Store,
        asked: list[tuple[str, str, int, bool]],
        friends: list[tuple[str, int, bool, bool]],
    ) -> None:
        """Generated invitations and friends (hours): the store's stats are the rule's."""
        hour = timedelta(hours=1)
        # The store is shared by the examples: each run has its own names and moments.
        run = uuid.uuid4().hex[:8]
        base = T0
        decisions = [
            _decision(
                f"{run}-d{i}", f"{run}-{who}", f"{run}-{moment}", at=base + h * hour, invite=yes
            )
            for i, (who, moment, h, yes) in enumerate(asked)
        ]
        with store.transaction() as uow:
            for who in ("ann", "bob"):
                uow.codes.add(_code(f"{run}{who}".upper(), owner=f"{run}-{who}"))
            for i, (who, h, rejected, ordered) in enumerate(friends):
                status = ReferralStatus.REJECTED if rejected else ReferralStatus.PENDING
                rid = f"{run}-r{i}"
                uow.referrals.add(
                    _referral(
                        rid,
                        f"{run}-f{i}",
                        referrer=f"{run}-{who}",
                        code=f"{run}{who}".upper(),
                        status=status,
                        at=base + h * hour,
                    )
                )
                if ordered:
                    uow.conversions.add(_conversion(f"{run}-o{i}", f"{run}-f{i}", referral=rid))
            repo = MOMENTS.repository(uow, store=store)
            for d in decisions:
                repo.add_decision(d)
            found = [s for s in repo.stats(base, base + 41 * hour) if s.moment.startswith(run)]
        assert found == _reference_stats(decisions, friends, run, base)

    def test_a_unit_of_work_that_raises_leaves_no_moment(self, store: Store) -> None:
        """Moments, decisions and shares roll back with their unit of work; naive times fail."""

        def write(uow: object) -> None:
            repo = MOMENTS.repository(uow, store=store)
            repo.add(MomentRecord("ann", "review", "k", T0, score=5))
            repo.add_decision(_decision("d-1"))
            repo.add_share("d-1", None, T0)

        with pytest.raises(_Boom):
            _then_fail(store, write)
        with store.transaction() as uow:
            repo = MOMENTS.repository(uow, store=store)
            assert repo.latest_score("ann") is None
            assert repo.decision("d-1") is None
            assert repo.stats(None, None) == []
        with pytest.raises(StorageError), store.transaction() as uow:
            MOMENTS.repository(uow, store=store).add(MomentRecord("ann", "review", "n", _NAIVE))

    @_ROUND_TRIPS
    @given(
        moment=st.text(min_size=1, max_size=30),
        seconds=st.integers(min_value=0, max_value=10**9),
        micro=st.integers(min_value=0, max_value=999_999),
        score=st.none() | st.integers(min_value=-(2**31), max_value=2**31),
        order_id=st.none() | st.text(min_size=1, max_size=30),
    )
    def test_a_moment_round_trips_exactly(  # noqa: PLR0917 - hypothesis passes drawn values by position
        self,
        store: Store,
        moment: str,
        seconds: int,
        micro: int,
        score: int | None,
        order_id: str | None,
    ) -> None:
        """What is stored is what the latest score and a repeated add give back."""
        when = datetime(2001, 1, 1, tzinfo=timezone.utc) + timedelta(
            seconds=seconds, microseconds=micro
        )
        record = MomentRecord(uuid.uuid4().hex, moment, "k", when, score, order_id)
        with store.transaction() as uow:
            repo = MOMENTS.repository(uow, store=store)
            repo.add(record)
            again, new = repo.add(record)
            latest = repo.latest_score(record.customer_id)
        assert (again, new) == (record, False)
        assert latest == (record if score is not None else None)


class DeliveriesContract(CapabilityContract):
    """Order deliveries (``uow.deliveries``): the first report of an order stands."""

    needs = Needs(repositories=(DELIVERIES,))

    def test_the_first_delivery_of_an_order_stands(self, store: Store) -> None:
        """A second report keeps the first time; other orders are their own; rolled back too."""
        with store.transaction() as uow:
            repo = DELIVERIES.repository(uow, store=store)
            assert repo.get("o-1") is None
            assert repo.add("o-1", T0, T0) == (T0, True)
            assert repo.add("o-1", T0 + _DAY, T0 + _DAY) == (T0, False)
            assert repo.add("o-2", T0 + _DAY, T0) == (T0 + _DAY, True)
            assert repo.get("o-1") == T0
        with pytest.raises(_Boom):
            _then_fail(
                store, lambda uow: DELIVERIES.repository(uow, store=store).add("o-3", T0, T0)
            )
        with store.transaction() as uow:
            assert DELIVERIES.repository(uow, store=store).get("o-3") is None
        with pytest.raises(StorageError), store.transaction() as uow:
            DELIVERIES.repository(uow, store=store).add("o-4", _NAIVE, T0)
