"""`GroupsContract`: what a store's group-buys (`GroupRepository`, ``uow.groups``) guarantee.

Places are taken by the store, once: never more members than the size, one place per
member, one close of an open group, and everything rolled back with its unit of work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from referralkit.metrics._groups import GroupFacts
from referralkit.model import Group, GroupState, Membership
from referralkit.program import GROUPS, GroupRepository
from referralkit.protocols import Store
from referralkit.storage._errors import CodeTaken
from referralkit.testing._store_base import CapabilityContract, Needs

__all__ = ["GroupsContract"]

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
_DAY = timedelta(days=1)


def _group(gid: str = "g-1", code: str = "GRP00001", size: int = 3, **more: object) -> Group:
    values: dict[str, object] = {
        "id": gid,
        "code": code,
        "initiator": "ann",
        "campaign": "default",
        "size": size,
        "state": GroupState.OPEN,
        "created_at": T0,
        "deadline": T0 + _DAY,
        "policy_version": "v1",
        **more,
    }
    return Group(**values)  # type: ignore[arg-type]


class _Undo(Exception):
    pass


def _join(store: Store, gid: str, member: str, at: datetime = T0) -> Group | None:
    """Add ``member`` and take a place in one unit of work, undone if none is taken.

    As the program does: a member whose place was not taken is rolled back with it.
    """
    try:
        with store.transaction() as uow:
            return _take(GROUPS.repository(uow, store=store), gid, member, at)
    except _Undo:
        return None


def _take(groups: GroupRepository, gid: str, member: str, at: datetime) -> Group | None:
    if not groups.add_member(Membership(gid, member, at, new_customer=True)):
        return None
    taken = groups.take_place(gid, member, at)
    if taken is None:
        raise _Undo
    return taken


def _then_fail(store: Store, *writes: Callable[[GroupRepository], object]) -> None:
    """Run ``writes`` in one unit of work, then raise inside it."""
    with store.transaction() as uow:
        for write in writes:
            write(GROUPS.repository(uow, store=store))
        raise _Undo


class GroupsContract(CapabilityContract):
    """Group-buys (``uow.groups``): places taken once, closes once, all rolled back together."""

    needs = Needs(repositories=(GROUPS,))

    def test_a_group_is_stored_once_with_its_initiator_as_first_member(self, store: Store) -> None:
        """By id and by code; a retry returns the stored group; another group's code is taken."""
        with store.transaction() as uow:
            groups = GROUPS.repository(uow, store=store)
            stored, created = groups.add(_group())
            again, twice = groups.add(_group())
            with pytest.raises(CodeTaken):
                groups.add(_group("g-2"))
        assert created
        assert not twice
        assert stored == again
        assert stored.members == ("ann",)
        assert stored.state is GroupState.OPEN
        with store.transaction() as uow:
            groups = GROUPS.repository(uow, store=store)
            assert groups.get("g-1") == stored
            assert groups.by_code("GRP00001") == stored
            assert groups.get("g-2") is None
            assert [m.member for m in groups.memberships("g-1")] == ["ann"]

    def test_the_last_place_completes_the_group_and_no_place_is_left_after(
        self, store: Store
    ) -> None:
        """Members in join order; a member holds one place; a full group takes nobody."""
        with store.transaction() as uow:
            GROUPS.repository(uow, store=store).add(_group())
        first = _join(store, "g-1", "bob")
        assert first is not None
        assert first.state is GroupState.OPEN
        assert _join(store, "g-1", "bob") is None
        last = _join(store, "g-1", "cy", T0 + timedelta(hours=1))
        assert last is not None
        assert last.members == ("ann", "bob", "cy")
        assert last.state is GroupState.COMPLETED
        assert last.closed_at == T0 + timedelta(hours=1)
        assert _join(store, "g-1", "dan") is None
        with store.transaction() as uow:
            assert not GROUPS.repository(uow, store=store).close("g-1", GroupState.CANCELLED, T0)

    def test_no_place_is_taken_at_or_after_the_deadline(self, store: Store) -> None:
        """The deadline is exclusive; an expired close needs the deadline passed."""
        with store.transaction() as uow:
            groups = GROUPS.repository(uow, store=store)
            groups.add(_group())
        assert _join(store, "g-1", "bob", T0 + _DAY) is None
        with store.transaction() as uow:
            groups = GROUPS.repository(uow, store=store)
            assert not groups.close("g-1", GroupState.EXPIRED, T0 + _DAY - timedelta(seconds=1))
            assert groups.due(T0, 10) == []
            assert [g.id for g in groups.due(T0 + _DAY, 10)] == ["g-1"]
            assert groups.close("g-1", GroupState.EXPIRED, T0 + _DAY)
            assert not groups.close("g-1", GroupState.EXPIRED, T0 + _DAY)
            ended = groups.get("g-1")
        assert ended is not None
        assert ended.state is GroupState.EXPIRED
        assert ended.closed_at == T0 + _DAY

    def test_a_unit_of_work_that_raises_leaves_no_group_nor_place(self, store: Store) -> None:
        """Groups, places and closes are rolled back with their unit of work."""
        with pytest.raises(_Undo):
            _then_fail(store, lambda groups: groups.add(_group()))
        with store.transaction() as uow:
            groups = GROUPS.repository(uow, store=store)
            assert groups.get("g-1") is None
            groups.add(_group())
        with pytest.raises(_Undo):
            _then_fail(
                store,
                lambda groups: groups.add_member(Membership("g-1", "bob", T0)),
                lambda groups: groups.take_place("g-1", "bob", T0),
                lambda groups: groups.close("g-1", GroupState.CANCELLED, T0),
            )
        with store.transaction() as uow:
            kept = GROUPS.repository(uow, store=store).get("g-1")
        assert kept is not None
        assert kept.members == ("ann",)
        assert kept.state is GroupState.OPEN

    def test_orders_attach_once_and_open_groups_are_listed_per_member(self, store: Store) -> None:
        """An order belongs to one place; a place keeps its first order."""
        with store.transaction() as uow:
            groups = GROUPS.repository(uow, store=store)
            groups.add(_group())
            groups.add(_group("g-2", "GRP00002", size=2))
        _join(store, "g-1", "bob")
        _join(store, "g-2", "bob")
        with store.transaction() as uow:
            groups = GROUPS.repository(uow, store=store)
            placed = groups.attach_order("g-1", "bob", "o-1")
            again = groups.attach_order("g-1", "bob", "o-2")
            elsewhere = groups.attach_order("g-2", "bob", "o-1")
            assert groups.attach_order("g-1", "nobody", "o-3") is None
            assert groups.by_order("o-1") == placed
            assert groups.by_order("o-2") is None
            assert [g.id for g in groups.open_for("bob")] == ["g-1"]
            assert [g.id for g in groups.open_for("ann")] == ["g-1"]
        assert placed is not None
        assert placed.order_id == "o-1"
        assert again == placed
        assert elsewhere is not None
        assert elsewhere.order_id is None

    def test_racing_joiners_never_overfill_a_group(self, store: Store) -> None:
        """Twelve threads for four places: exactly four members, one completion."""
        with store.transaction() as uow:
            GROUPS.repository(uow, store=store).add(_group(size=5))
        results: list[Group | None] = []
        lock = threading.Lock()

        def join(member: str) -> None:
            got = _join(store, "g-1", member)
            with lock:
                results.append(got)

        threads = [threading.Thread(target=join, args=(f"m{i}",)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        taken = [g for g in results if g is not None]
        with store.transaction() as uow:
            final = GROUPS.repository(uow, store=store).get("g-1")
        assert final is not None
        assert final.filled == 5
        assert len(taken) == 4
        assert sum(g.state is GroupState.COMPLETED for g in taken) == 1
        assert final.state is GroupState.COMPLETED

    def test_facts_count_groups_members_and_fill_times(self, store: Store) -> None:
        """Counts by state, places, new customers, initiators, and each fill's seconds."""
        with store.transaction() as uow:
            groups = GROUPS.repository(uow, store=store)
            groups.add(_group(size=2))
            groups.add(_group("g-2", "GRP00002"))
            groups.add(_group("g-3", "GRP00003", initiator="bob"))
        _join(store, "g-1", "cy", T0 + timedelta(minutes=30))
        with store.transaction() as uow:
            groups = GROUPS.repository(uow, store=store)
            groups.close("g-2", GroupState.EXPIRED, T0 + _DAY)
            groups.close("g-3", GroupState.CANCELLED, T0)
            facts = groups.facts(None, None)
            windowed = groups.facts(T0, T0 + timedelta(seconds=1))
            before = groups.facts(None, T0)
        assert (facts.started, facts.completed, facts.expired, facts.cancelled) == (3, 1, 1, 1)
        assert (facts.members, facts.new_customers, facts.initiators) == (4, 1, 2)
        assert facts.fill_seconds == (1800.0,)
        assert windowed == facts
        assert before == GroupFacts()
