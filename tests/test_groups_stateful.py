"""The group-buy state machine against a model, on the memory store.

Start, join (new, repeated, referred elsewhere), cancel (by anyone), let time pass and
expire, in any order. After every step the program agrees with the model: each group's
state and members, a group never over its size, and rewards exactly where groups
completed (one per member, once) and nowhere else, with one event per ending.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import referralkit as rk
from referralkit.model import GroupState
from referralkit.policies import Fixed
from referralkit.storage import MemoryStore
from referralkit.testing import FrozenClock

pytestmark = pytest.mark.slow

INITIATORS = ("ann", "ivy")
MEMBERS = tuple(f"m{i}" for i in range(8))


@attrs.define
class _Model:
    initiator: str
    size: int
    deadline: object
    members: list[str]
    state: GroupState = GroupState.OPEN


class GroupMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FrozenClock()
        self.program = rk.ReferralProgram(
            store=MemoryStore(),
            secret=b"group machine secret, 32 bytes long",
            policy=Fixed(rk.Money("5", "USD")),
            guards=[],
            link_base="https://shop.example/r",
            clock=self.clock,
        )
        self.groups: dict[str, _Model] = {}
        self.referrer_of: dict[str, str] = {}

    @rule(
        initiator=st.sampled_from(INITIATORS),
        size=st.integers(2, 4),
        hours=st.integers(1, 48),
    )
    def start(self, initiator: str, size: int, hours: int) -> None:
        deadline = self.clock() + timedelta(hours=hours)
        group = self.program.groups.start(
            initiator, size=size, deadline=deadline, reward=Fixed(rk.Money("10", "USD"))
        )
        self.groups[group.code] = _Model(initiator, size, deadline, [initiator])

    @precondition(lambda self: self.groups)
    @rule(data=st.data(), member=st.sampled_from(MEMBERS))
    def join(self, data: st.DataObject, member: str) -> None:
        code = data.draw(st.sampled_from(sorted(self.groups)))
        model = self.groups[code]
        now = self.clock()
        if member in model.members:
            assert self.program.groups.join(code, member).member == member
            return
        closed = model.state.value if model.state is not GroupState.OPEN else None
        if closed is None and now >= model.deadline:  # type: ignore[operator]
            closed = "expired"
        if closed is not None:
            with pytest.raises(rk.GroupClosed) as error:
                self.program.groups.join(code, member)
            assert error.value.reason == closed
            return
        place = self.program.groups.join(code, member)
        referrer = self.referrer_of.get(member, model.initiator)
        if referrer != model.initiator:
            assert place.reasons == ("group.already_referred",)
            return
        assert place.accepted
        self.referrer_of[member] = model.initiator
        model.members.append(member)
        if len(model.members) == model.size:
            model.state = GroupState.COMPLETED

    @precondition(lambda self: self.groups)
    @rule(data=st.data(), by_initiator=st.booleans())
    def cancel(self, data: st.DataObject, by_initiator: bool) -> None:
        code = data.draw(st.sampled_from(sorted(self.groups)))
        model = self.groups[code]
        by = model.initiator if by_initiator else "someone-else"
        if not by_initiator:
            with pytest.raises(rk.InvalidState):
                self.program.groups.cancel(code, by=by)
        elif model.state is not GroupState.OPEN:
            with pytest.raises(rk.GroupClosed):
                self.program.groups.cancel(code, by=by)
        else:
            assert self.program.groups.cancel(code, by=by).state is GroupState.CANCELLED
            model.state = GroupState.CANCELLED

    @rule(hours=st.integers(1, 30))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    @rule()
    def expire_due(self) -> None:
        now = self.clock()
        due = {
            c
            for c, m in self.groups.items()
            if m.state is GroupState.OPEN and m.deadline <= now  # type: ignore[operator]
        }
        assert {g.code for g in self.program.groups.expire_due()} == due
        for code in due:
            self.groups[code].state = GroupState.EXPIRED

    @invariant()
    def groups_match_the_model(self) -> None:
        for code, model in self.groups.items():
            group = self.program.groups.get(code)
            assert group.state is model.state
            assert list(group.members) == model.members
            assert group.filled <= group.size

    @invariant()
    def rewards_are_where_groups_completed_once_each(self) -> None:
        rewards: Counter[tuple[str, str]] = Counter()
        for customer in (*INITIATORS, *MEMBERS):
            for reward in self.program.rewards(customer):
                if reward.key.startswith("group:"):
                    rewards[reward.key.split(":")[1], customer] += 1
        expected: Counter[tuple[str, str]] = Counter()
        ids = {code: self.program.groups.get(code).id for code in self.groups}
        for code, model in self.groups.items():
            if model.state is GroupState.COMPLETED:
                expected.update((ids[code], m) for m in model.members)
        assert rewards == expected
        ends = Counter(
            e.type
            for e in self.program.pending_events(100_000)
            if e.type in {"group.completed", "group.expired", "group.cancelled"}
        )
        states = Counter(m.state for m in self.groups.values())
        assert ends["group.completed"] == states[GroupState.COMPLETED]
        assert ends["group.expired"] == states[GroupState.EXPIRED]
        assert ends["group.cancelled"] == states[GroupState.CANCELLED]


TestGroupMachine = GroupMachine.TestCase
TestGroupMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
