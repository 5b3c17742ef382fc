"""Group-buys on every store: start, join, complete once, expire, cancel, refund, status."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import referralkit as rk
from referralkit.codes import is_valid_code
from referralkit.guards import SelfReferral
from referralkit.model import Beneficiary, GroupState, RewardState
from referralkit.policies import Fixed, PercentOfOrder
from referralkit.storage import MemoryStore, SQLiteStore
from referralkit.testing import FrozenClock

SECRET = b"group-buy secret, 32 bytes or more!"
BASE = "https://shop.example/r"
DAY = timedelta(days=1)


def usd(amount: str) -> rk.Money:
    return rk.Money(amount, "USD")


CREDIT = Fixed(usd("10"), kind="credit")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


def make(store: rk.Store, clock: FrozenClock, **kwargs: Any) -> rk.ReferralProgram:
    options: dict[str, Any] = {
        "secret": SECRET,
        "policy": Fixed(usd("5")),
        "guards": [SelfReferral()],
        "link_base": BASE,
        "hold": DAY,
        "clock": clock,
    }
    options.update(kwargs)
    return rk.ReferralProgram(store=store, **options)


@pytest.fixture
def program(store: rk.Store, clock: FrozenClock) -> rk.ReferralProgram:
    return make(store, clock)


def start(program: rk.ReferralProgram, clock: FrozenClock, **kwargs: Any) -> rk.Group:
    options: dict[str, Any] = {"size": 3, "deadline": clock() + DAY, "reward": CREDIT}
    options.update(kwargs)
    return program.groups.start("ann", **options)


def group_rewards(program: rk.ReferralProgram, customer: str) -> list[rk.Reward]:
    return [r for r in program.rewards(customer) if r.key.startswith("group:")]


def email(name: str) -> rk.Identity:
    return rk.Identity(email=f"{name}@example.com")


def test_a_group_gets_a_checked_code_a_signed_link_and_share_targets(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    group = start(program, clock)
    assert is_valid_code(group.code)
    assert group.state is GroupState.OPEN
    assert group.members == ("ann",)
    assert group.places_left == 2
    link = program.groups.link(group.code, channel="whatsapp")
    payload = rk.parse_link(link, now=clock())
    assert payload.code == group.code
    other = rk.generate_code()
    with pytest.raises(rk.LinkTampered):  # signed with the program's key: no other code fits
        program.groups.join(link.replace(group.code, other), "bob")
    assert payload.expires_at == group.deadline
    shares = program.groups.share(group.code, "Join my group", channels=["email", "sms"])
    assert set(shares) == {"email", "sms"}
    # typed loosely (lower case, dashes) it is the same group
    loose = "-".join(group.code.lower()[i : i + 4] for i in range(0, len(group.code), 4))
    assert program.groups.get(loose) == group
    assert program.groups.get(link) == group


def test_the_last_place_rewards_every_member_once_with_one_event(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    group = start(program, clock)
    first = program.groups.join(group.code, "bob", identity=email("bob"))
    assert first.accepted
    assert first.new_customer
    assert group_rewards(program, "ann") == []
    clock.advance(timedelta(hours=2))
    link = program.groups.link(group.code)
    program.groups.join(link, "cy", identity=email("cy"))
    done = program.groups.get(group.code)
    assert done.state is GroupState.COMPLETED
    assert done.members == ("ann", "bob", "cy")
    for member, side in (("ann", Beneficiary.REFERRER), ("bob", Beneficiary.REFEREE)):
        (reward,) = group_rewards(program, member)
        assert reward.amount == usd("10")
        assert reward.beneficiary is side
        assert reward.state is RewardState.HELD
    assert len(group_rewards(program, "cy")) == 1
    events = [e for e in program.pending_events(500) if e.type == "group.completed"]
    assert len(events) == 1
    assert events[0].payload["members"] == ["ann", "bob", "cy"]
    assert events[0].payload["filled_in_seconds"] == 7200
    # the friends are the initiator's referrals, brought by the group
    assert program.referral_of("bob").referrer == "ann"  # type: ignore[union-attr]
    assert program.referral_of("bob").channel == "group"  # type: ignore[union-attr]


def test_closed_groups_refuse_joiners_with_the_reason(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    full = start(program, clock, size=2)
    program.groups.join(full.code, "bob")
    with pytest.raises(rk.GroupClosed) as completed:
        program.groups.join(full.code, "cy")
    assert (completed.value.reason, completed.value.value) == ("completed", full.code)

    late = start(program, clock)
    clock.advance(DAY)
    with pytest.raises(rk.GroupClosed) as expired:
        program.groups.join(late.code, "dan")
    assert expired.value.reason == "expired"

    cancelled = start(program, clock)
    program.groups.cancel(cancelled.code, by="ann")
    with pytest.raises(rk.GroupClosed) as gone:
        program.groups.join(cancelled.code, "eve")
    assert gone.value.reason == "cancelled"
    with pytest.raises(rk.UnknownGroup):
        program.groups.join(rk.generate_code(), "eve")


def test_a_retried_join_returns_the_same_place_and_takes_no_second_one(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    group = start(program, clock)
    once = program.groups.join(group.code, "bob")
    again = program.groups.join(group.code, "bob")
    assert once == again
    assert program.groups.get(group.code).filled == 2
    assert program.groups.join(group.code, "ann").member == "ann"  # the initiator holds a place
    assert program.groups.get(group.code).filled == 2


def test_members_sharing_a_signal_with_anyone_in_the_group_are_refused(
    store: rk.Store, clock: FrozenClock
) -> None:
    program = make(store, clock, guards=[])  # the group's own rule, not a guard
    group = program.groups.start(
        "ann",
        size=4,
        deadline=clock() + DAY,
        reward=CREDIT,
        identity=rk.Identity(email="ann@gmail.com"),
    )
    program.groups.join(group.code, "bob", identity=rk.Identity(device_id="dev-1"))
    alias = program.groups.join(group.code, "ann2", identity=rk.Identity(email="a.nn+x@gmail.com"))
    same_device = program.groups.join(group.code, "cy", identity=rk.Identity(device_id="dev-1"))
    assert (alias.accepted, alias.reasons) == (False, ("self_referral.email",))
    assert (same_device.accepted, same_device.reasons) == (False, ("self_referral.device",))
    assert program.groups.get(group.code).members == ("ann", "bob")
    refused = [e for e in program.pending_events(500) if e.type == "group.join_refused"]
    assert [e.payload["member"] for e in refused] == ["ann2", "cy"]


def test_existing_customers_join_only_groups_that_allow_them(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    program.convert(referee="old", order_id="o-old", amount=usd("20"))
    new_only = start(program, clock)
    refused = program.groups.join(new_only.code, "old")
    flagged = program.groups.join(new_only.code, "also-old", existing_customer=True)
    assert (refused.accepted, refused.reasons) == (False, ("group.existing_customer",))
    assert flagged.reasons == ("group.existing_customer",)
    open_group = start(program, clock, new_customers_only=False)
    joined = program.groups.join(open_group.code, "old")
    assert joined.accepted
    assert not joined.new_customer
    assert program.referral_of("old").referrer == "ann"  # type: ignore[union-attr]


def test_a_customer_referred_by_someone_else_is_refused(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    zed = program.enroll("zed")
    program.attribute(code=zed.code, referee="bob")
    group = start(program, clock)
    refused = program.groups.join(group.code, "bob")
    assert refused.reasons == ("group.already_referred",)
    assert program.groups.get(group.code).filled == 1


def test_expire_due_ends_unfilled_groups_once_and_grants_nothing(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    group = start(program, clock)
    program.groups.join(group.code, "bob")
    assert program.groups.expire_due() == []
    clock.advance(DAY)
    (expired,) = program.groups.expire_due()
    assert expired.code == group.code
    assert expired.state is GroupState.EXPIRED
    assert program.groups.expire_due() == []
    assert group_rewards(program, "ann") == []
    assert group_rewards(program, "bob") == []
    types = [e.type for e in program.pending_events(500)]
    assert types.count("group.expired") == 1
    assert "group.completed" not in types


def test_only_the_initiator_cancels_an_open_group(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    group = start(program, clock)
    with pytest.raises(rk.InvalidState):
        program.groups.cancel(group.code, by="bob")
    assert program.groups.cancel(group.code, by="ann").state is GroupState.CANCELLED
    with pytest.raises(rk.GroupClosed):
        program.groups.cancel(group.code, by="ann")


def test_the_reward_is_evaluated_on_each_members_attached_order(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    group = start(program, clock, reward=PercentOfOrder("0.10"))
    program.convert(referee="ann", order_id="o-ann", amount=usd("50"))
    program.groups.attach_order(group.code, "ann", "o-ann")
    program.groups.join(group.code, "bob")
    program.convert(referee="bob", order_id="o-bob", amount=usd("80"))
    program.groups.attach_order(group.code, "bob", "o-bob")
    assert program.groups.attach_order(group.code, "bob", "o-bob").order_id == "o-bob"
    with pytest.raises(rk.IdempotencyConflict):
        program.groups.attach_order(group.code, "bob", "o-other")
    program.convert(referee="cy", order_id="o-cy", amount=usd("30"))
    program.groups.join(group.code, "cy", order_id="o-cy", existing_customer=False)
    # cy ordered before joining: an existing customer, refused by the default rule
    assert program.groups.get(group.code).state is GroupState.OPEN
    program.groups.join(group.code, "dan", order_id="o-dan")
    amounts = {m: [r.amount for r in group_rewards(program, m)] for m in ("ann", "bob", "dan")}
    assert amounts == {"ann": [usd("5")], "bob": [usd("8")], "dan": []}


def test_a_refund_after_completion_takes_back_that_members_reward_only(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    group = start(program, clock)
    program.groups.join(group.code, "bob", order_id="o-bob")
    program.groups.join(group.code, "cy", order_id="o-cy")
    (changed,) = program.groups.refund("o-bob")
    assert changed.state is RewardState.REVERSED
    assert program.groups.refund("o-bob") == []
    assert group_rewards(program, "cy")[0].state is RewardState.HELD
    assert group_rewards(program, "ann")[0].state is RewardState.HELD
    # once paid, a refund claws it back
    clock.advance(DAY)
    program.release_due()
    (paid,) = program.payout([group_rewards(program, "cy")[0].id], payout_id="po-1")
    (clawed,) = program.groups.refund("o-cy")
    assert clawed.id == paid.id
    assert clawed.clawback == usd("10")
    assert program.status("cy").clawbacks == {"USD": usd("10")}
    assert program.groups.refund("o-none") == []


def test_status_shows_open_groups_with_their_fill_level(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    group = start(program, clock, size=4)
    program.groups.join(group.code, "bob")
    (shown,) = program.status("ann").groups
    assert (shown.code, shown.filled, shown.places_left) == (group.code, 2, 2)
    assert [g.code for g in program.status("bob").groups] == [group.code]
    program.groups.cancel(group.code, by="ann")
    assert program.status("ann").groups == ()


def test_start_is_idempotent_on_its_group_id(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    first = start(program, clock, group_id="grp-1")
    assert start(program, clock, group_id="grp-1") == first
    with pytest.raises(rk.IdempotencyConflict):
        start(program, clock, group_id="grp-1", size=5)
    with pytest.raises(rk.InvalidInput):
        start(program, clock, size=1)
    with pytest.raises(rk.InvalidInput):
        start(program, clock, deadline=clock())


def test_another_worker_completes_a_group_on_its_stored_terms(
    tmp_path: Path, clock: FrozenClock
) -> None:
    path = tmp_path / "groups.db"
    starter = make(SQLiteStore(path), clock)
    group = starter.groups.start("ann", size=2, deadline=clock() + DAY, reward=Fixed(usd("7")))
    worker = make(SQLiteStore(path), clock)
    worker.groups.join(group.code, "bob")
    assert [r.amount for r in group_rewards(worker, "bob")] == [usd("7")]


class NoGroupsStore(MemoryStore):
    """A memory store whose units of work have no ``groups``."""

    def transaction(self) -> Any:
        return _without_groups(super().transaction())


def test_a_store_without_groups_names_what_it_lacks(clock: FrozenClock) -> None:
    program = make(NoGroupsStore(), clock)
    with pytest.raises(rk.ConfigError, match="groups"):
        start(program, clock)
    assert program.status("ann").groups == ()


class _Plain:
    def __init__(self, uow: Any) -> None:
        self._uow = uow

    def __getattr__(self, name: str) -> Any:
        if name == "groups":
            raise AttributeError(name)
        return getattr(self._uow, name)


def _without_groups(cm: Any) -> Any:
    from contextlib import contextmanager

    @contextmanager
    def wrapped() -> Any:
        with cm as uow:
            yield _Plain(uow)

    return wrapped()
