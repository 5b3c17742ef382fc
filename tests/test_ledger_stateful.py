"""Random sequences of program calls never break the ledger's invariants, on any store."""

from __future__ import annotations

import contextlib
import tempfile
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
)

import referralkit as rk
from referralkit.model import Beneficiary, ReferralStatus, RewardState
from referralkit.policies import DoubleSided, Fixed
from referralkit.storage import MemoryStore, SQLiteStore
from referralkit.testing import FrozenClock

SECRET = b"stateful-test-secret-0123456789abcdef"
CUSTOMERS = [f"c{i}" for i in range(6)]


class LedgerMachine(RuleBasedStateMachine):
    """Drives the program like a shop would, including retries and refunds."""

    orders = Bundle("orders")

    def make_store(self) -> rk.Store:
        return MemoryStore()

    @initialize()
    def setup(self) -> None:
        self.clock = FrozenClock()
        self.store = self.make_store()
        self.program = rk.ReferralProgram(
            store=self.store,
            secret=SECRET,
            policy=DoubleSided(
                referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD"))
            ),
            guards=[],
            hold=timedelta(days=14),
            clock=self.clock,
        )
        self.codes: dict[str, str] = {}
        self.order_rewards: dict[str, list[str]] = {}
        self.order_owner: dict[str, str] = {}
        self.order_amount: dict[str, rk.Money] = {}
        self.reversed: set[str] = set()
        self.counter = 0

    def teardown(self) -> None:
        self.store.close()

    @rule(customer=st.sampled_from(CUSTOMERS))
    def enroll(self, customer: str) -> None:
        code = self.program.enroll(customer)
        assert self.codes.setdefault(customer, code.code) == code.code

    @precondition(lambda self: bool(self.codes))
    @rule(data=st.data(), referee=st.sampled_from(CUSTOMERS))
    def attribute(self, data: st.DataObject, referee: str) -> None:
        referrer = data.draw(st.sampled_from(sorted(self.codes)))
        ref = self.program.attribute(code=self.codes[referrer], referee=referee)
        assert ref.referrer == referrer
        if referrer == referee:
            assert ref.status is ReferralStatus.REJECTED

    @rule(target=orders, referee=st.sampled_from(CUSTOMERS), cents=st.integers(100, 50_000))
    def convert(self, referee: str, cents: int) -> str:
        self.counter += 1
        order_id = f"o-{self.counter}"
        rewards = self.program.convert(
            referee=referee, order_id=order_id, amount=rk.Money.from_minor(cents, "USD")
        )
        self.order_rewards[order_id] = [r.id for r in rewards]
        self.order_owner[order_id] = referee
        self.order_amount[order_id] = rk.Money.from_minor(cents, "USD")
        return order_id

    @rule(order=orders)
    def duplicate_convert(self, order: str) -> None:
        again = self.program.convert(
            referee=self.order_owner[order], order_id=order, amount=self.order_amount[order]
        )
        assert sorted(r.id for r in again) == sorted(self.order_rewards[order])

    @rule(order=orders, cents=st.integers(1, 50_000))
    def conflicting_convert(self, order: str, cents: int) -> None:
        other = rk.Money.from_minor(cents, "USD")
        if other == self.order_amount[order]:
            return
        before = self._all_rewards()
        with pytest.raises(rk.IdempotencyConflict) as caught:
            self.program.convert(referee=self.order_owner[order], order_id=order, amount=other)
        assert caught.value.field == "amount"
        assert self._all_rewards() == before

    @rule(order=consumes(orders))
    def full_refund(self, order: str) -> None:
        changed = self.program.refund(order_id=order)
        for reward in changed:
            if reward.state is RewardState.REVERSED:
                self.reversed.add(reward.id)
        assert self.program.refund(order_id=order) == []

    @rule(order=orders, part=st.integers(1, 99))
    def partial_refund(self, order: str, part: int) -> None:
        status_before = self._all_rewards()
        try:
            self.program.refund(order_id=order, amount=rk.Money(f"0.{part:02d}", "USD"))
        except rk.InvalidInput:
            assert self._all_rewards() == status_before

    @rule(days=st.integers(1, 20))
    def release(self, days: int) -> None:
        self.clock.advance(days=days)
        for reward in self.program.release_due():
            assert reward.id not in self.reversed
            assert reward.hold_until is not None
            assert reward.hold_until <= self.clock.now

    @rule(data=st.data())
    def mark_paid(self, data: st.DataObject) -> None:
        rewards = self._all_rewards()
        if not rewards:
            return
        reward = data.draw(st.sampled_from(sorted(rewards.values(), key=lambda r: r.id)))
        if reward.state in (RewardState.AVAILABLE, RewardState.PAID):
            assert self.program.mark_paid(reward.id).state is RewardState.PAID
        else:
            with pytest.raises(rk.InvalidState):
                self.program.mark_paid(reward.id)

    def _all_rewards(self) -> dict[str, rk.Reward]:
        found: dict[str, rk.Reward] = {}
        for customer in CUSTOMERS:
            for reward in self.program.rewards(customer):
                found[reward.id] = reward
        return found

    @invariant()
    def no_order_pays_twice(self) -> None:
        per_order: dict[str, list[rk.Reward]] = defaultdict(list)
        for reward in self._all_rewards().values():
            assert reward.order_id is not None
            per_order[reward.order_id].append(reward)
        for order, rewards in per_order.items():
            sides = [r.beneficiary for r in rewards]
            assert len(sides) == len(set(sides)) <= 2, order
            assert sorted(r.id for r in rewards) == sorted(self.order_rewards[order])

    @invariant()
    def a_referral_pays_only_its_own_sides(self) -> None:
        for reward in self._all_rewards().values():
            referral = self.program.referral(reward.referral_id)
            expected = (
                referral.referrer
                if reward.beneficiary is Beneficiary.REFERRER
                else referral.referee
            )
            assert reward.customer_id == expected
            # A referral whose every order was refunded in full stops counting (pending).
            assert referral.status in (ReferralStatus.QUALIFIED, ReferralStatus.PENDING)
            if referral.status is ReferralStatus.PENDING:
                assert reward.state is RewardState.REVERSED or reward.clawback is not None

    @invariant()
    def balances_equal_the_ledger(self) -> None:
        """Each bucket is what the rewards say: held, available and paid less what was
        netted against a debt; clawbacks less what was recovered."""
        zero = rk.Money.zero("USD")
        rewards = self._all_rewards().values()
        for customer in CUSTOMERS:
            expect: dict[str, rk.Money] = defaultdict(lambda: zero)
            for r in rewards:
                if r.customer_id != customer or r.amount is None:
                    continue
                if r.state is not RewardState.REVERSED:
                    expect[r.state.value] += r.amount - (r.netted or zero)
                expect["clawback"] += (r.clawback or zero) - (r.recovered or zero)
            status = self.program.status(customer)
            got = {
                "held": status.held.get("USD"),
                "available": status.available.get("USD"),
                "paid": status.paid.get("USD"),
                "clawback": status.clawbacks.get("USD"),
            }
            for bucket, value in got.items():
                assert (value or zero) == expect[bucket], (customer, bucket)

    @rule(data=st.data())
    def refund_a_paid_order(self, data: st.DataObject) -> None:
        """A refund after payout: the clawback later netted or settled."""
        paid = [r for r in self._all_rewards().values() if r.state is RewardState.PAID]
        if not paid:
            return
        reward = data.draw(st.sampled_from(sorted(paid, key=lambda r: r.id)))
        assert reward.order_id is not None
        self.program.refund(order_id=reward.order_id)
        assert self.program.status(reward.customer_id).clawbacks or reward.clawback is not None

    @rule(data=st.data(), payout=st.integers(0, 3))
    def pay_a_batch(self, data: st.DataObject, payout: int) -> None:
        available = self.program.payable(limit=50)
        if not available:
            return
        batch = data.draw(
            st.lists(st.sampled_from(available), min_size=1, unique_by=lambda r: r.id)
        )
        payout_id = f"po-{self.counter}-{payout}"
        ids = [r.id for r in batch]
        paid = self.program.payout(ids, payout_id=payout_id)
        assert {r.state for r in paid} == {RewardState.PAID}
        assert self.program.payout(ids, payout_id=payout_id) == paid  # a retry pays nothing

    @rule(customer=st.sampled_from(CUSTOMERS), cents=st.integers(1, 3000), ref=st.integers(0, 5))
    def settle(self, customer: str, cents: int, ref: int) -> None:
        owed = self.program.status(customer).clawbacks.get("USD")
        amount = rk.Money.from_minor(cents, "USD")
        reference = f"bank-{customer}-{ref}"
        if owed is None or amount > owed:
            with pytest.raises(rk.ReferralError):
                self.program.settle_clawback(customer, amount, reference=reference)
            return
        with contextlib.suppress(rk.IdempotencyConflict):  # the reference was used before
            self.program.settle_clawback(customer, amount, reference=reference)

    @invariant()
    def reversed_rewards_stay_reversed_and_held_are_not_spendable(self) -> None:
        for reward in self._all_rewards().values():
            if reward.id in self.reversed:
                assert reward.state is RewardState.REVERSED
            if reward.state is RewardState.HELD:
                assert reward.hold_until is not None
                assert reward.hold_until > self.clock.now


class SQLiteLedgerMachine(LedgerMachine):
    def make_store(self) -> rk.Store:
        self.tmp = tempfile.TemporaryDirectory()
        return SQLiteStore(Path(self.tmp.name) / "ledger.db")

    def teardown(self) -> None:
        super().teardown()
        self.tmp.cleanup()


TestLedgerMemory = LedgerMachine.TestCase
TestLedgerMemory.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestLedgerSQLite = SQLiteLedgerMachine.TestCase
TestLedgerSQLite.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
