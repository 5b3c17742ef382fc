"""Partner payouts on every partner store: holds, thresholds, verification, provider batches."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import referralkit as rk
from _payout_stores import payout_store  # noqa: F401 - the `store` fixture: stores with payouts
from referralkit.model import RewardState
from referralkit.payouts import LineStatus, PartnerDue, PayoutBatch, PayoutOutcome
from referralkit.policies import PercentOfOrder
from referralkit.program import PartnerRepository
from referralkit.storage import MemoryStore
from referralkit.testing import FrozenClock

SECRET = b"partner payouts secret, 32 bytes++"
DAY = timedelta(days=1)
TEN = PercentOfOrder(Decimal("0.10"), kind="cash")


def usd(amount: str) -> rk.Money:
    return rk.Money(amount, "USD")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def program(store: rk.Store, clock: FrozenClock) -> rk.ReferralProgram:
    return rk.ReferralProgram(
        store=store, secret=SECRET, policy=TEN, hold=DAY, clock=clock, guards=[]
    )


class Recording:
    """A provider that answers each line by a rule, and remembers every line it was sent."""

    def __init__(self, fail: Iterable[str] = (), *, answer: bool = True) -> None:
        self.fail = set(fail)
        self.answer = answer
        self.sent: list[str] = []

    def send(self, batch: PayoutBatch) -> list[PayoutOutcome]:
        self.sent += [line.line_id for line in batch.lines]
        if not self.answer:
            return []
        return [
            PayoutOutcome.failed(line.line_id, "account_closed")
            if line.partner_id in self.fail
            else PayoutOutcome.sent(line.line_id, f"tr_{line.partner_id}")
            for line in batch.lines
        ]


def sell(program: rk.ReferralProgram, code: str, order: str, amount: str) -> rk.Reward:
    [commission] = program.convert(
        referee=f"buyer-{order}", order_id=order, amount=usd(amount), code=code
    )
    return commission


def released(program: rk.ReferralProgram, clock: FrozenClock, *sales: tuple[str, str, str]) -> None:
    """Sell with each (code, order, amount), then let the commissions' holds end."""
    for code, order, amount in sales:
        sell(program, code, order, amount)
    clock.advance(days=2)
    program.release_due()


def setup_two(program: rk.ReferralProgram, **group: Any) -> None:
    program.partners.group("micro", terms=TEN, **group)
    program.partners.add("anna", name="Anna", group="micro", payout_ref="acct_anna")
    program.partners.add("ben", name="Ben", group="micro", payout_ref="acct_ben")
    program.partners.code("anna", vanity="ANNA10")
    program.partners.code("ben", vanity="BEN10")


def events(program: rk.ReferralProgram, prefix: str) -> list[rk.Event]:
    return [e for e in program.pending_events(limit=1000) if e.type.startswith(prefix)]


# -- holds ---------------------------------------------------------------------------------


def test_a_partners_hold_is_their_own_else_their_groups_else_the_programs(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    setup_two(program, hold=timedelta(days=30))
    program.partners.add("cat", name="Cat", terms=TEN, hold=timedelta(days=3))
    program.partners.add("dan", name="Dan", terms=TEN)
    program.partners.code("cat", vanity="CAT10")
    program.partners.code("dan", vanity="DAN10")
    holds = {
        code: sell(program, code, f"o-{code}", "100").hold_until
        for code in ("ANNA10", "CAT10", "DAN10")
    }
    assert holds == {
        "ANNA10": clock() + timedelta(days=30),
        "CAT10": clock() + timedelta(days=3),
        "DAN10": clock() + DAY,
    }
    fee = program.partners.post("cat", "ig-1", cost=usd("50"))
    [reward] = [r for r in program.rewards("cat") if r.id == fee.reward_id]
    assert reward.hold_until == clock() + timedelta(days=3)


def test_a_hold_is_decided_when_the_reward_is_granted(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    setup_two(program)
    first = sell(program, "ANNA10", "o1", "100")
    moved = program.partners.set_payout_terms("anna", hold=timedelta(days=10))
    assert moved.hold == timedelta(days=10)
    second = sell(program, "ANNA10", "o2", "100")
    assert first.hold_until == clock() + DAY
    assert second.hold_until == clock() + timedelta(days=10)
    assert program.partners.get("anna").hold == timedelta(days=10)
    assert [e.type for e in events(program, "partner.payout_terms")] == ["partner.payout_terms"]
    program.partners.set_payout_terms("anna", hold=timedelta(days=10))  # no change, no event
    assert len(events(program, "partner.payout_terms")) == 1


def test_a_groups_hold_and_threshold_change_once_and_the_old_call_keeps_working(
    program: rk.ReferralProgram,
) -> None:
    group = program.partners.group("micro", terms=TEN)
    assert (group.hold, group.payout_threshold) == (None, None)
    group = program.partners.group("micro", terms=TEN, payout_threshold=usd("25"))
    assert group.payout_threshold == usd("25.00")
    again = program.partners.group("micro", terms=TEN)  # left out: kept
    assert again == group
    assert len(events(program, "partner.group_payout_terms")) == 1


# -- who is due -----------------------------------------------------------------------------


def test_a_partner_is_due_once_their_payable_reaches_their_threshold(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    setup_two(program, payout_threshold=usd("20"))
    program.partners.set_payout_terms("ben", payout_threshold=usd("5"))
    sell(program, "ANNA10", "o1", "150")
    sell(program, "BEN10", "o2", "60")
    assert program.partners.payable() == []  # held yet
    clock.advance(days=2)
    program.release_due()
    assert program.partners.payable() == [PartnerDue("ben", usd("6.00"), usd("5.00"))]
    released(program, clock, ("ANNA10", "o3", "60"))
    due = program.partners.payable()
    assert due == [
        PartnerDue("anna", usd("21.00"), usd("20.00")),
        PartnerDue("ben", usd("6.00"), usd("5.00")),
    ]
    assert program.partners.payable(limit=1, after=due[0].key) == [due[1]]
    line = program.partners.statement("anna").line("USD")
    assert line is not None
    assert line.payable == due[0].amount.amount


def test_clawbacks_owed_are_netted_before_a_payout(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    setup_two(program)
    released(program, clock, ("ANNA10", "o1", "100"))
    program.partners.pay(Recording(), payout_id="b1")
    program.refund(order_id="o1")  # paid: $10 owed back
    sell(program, "ANNA10", "o2", "300")
    clock.advance(days=2)
    program.release_due()  # $30 released, netted: $20 left
    sell(program, "ANNA10", "o3", "50")
    program.refund(order_id="o3", amount=usd("10"))
    clock.advance(days=2)
    program.release_due()
    [due] = program.partners.payable()
    assert due.amount == usd("24.00")
    run = program.partners.pay(Recording(), payout_id="b2")
    [line] = run.lines
    assert (line.amount, line.status) == (usd("24.00"), LineStatus.SENT)
    statement = program.partners.statement("anna").line("USD")
    assert statement is not None
    assert (statement.available, statement.owed, statement.payable) == (
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )


# -- paying through a provider --------------------------------------------------------------


def test_pay_sends_the_due_partners_and_records_the_providers_references(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    setup_two(program, payout_threshold=usd("10"))
    anna_reward = sell(program, "ANNA10", "o1", "120")
    sell(program, "BEN10", "o2", "50")  # $5: below the group's $10
    clock.advance(days=2)
    program.release_due()
    provider = Recording()
    run = program.partners.pay(provider, payout_id="po-2026-11")
    [line] = run.lines
    assert (line.partner_id, line.payout_ref, line.amount) == ("anna", "acct_anna", usd("12.00"))
    assert (line.status, line.reference, line.reward_ids) == (
        LineStatus.SENT,
        "tr_anna",
        (anna_reward.id,),
    )
    [paid] = [r for r in program.rewards("anna") if r.id == anna_reward.id]
    assert (paid.state, paid.payout_id) == (RewardState.PAID, line.line_id)
    assert [e.type for e in events(program, "partner.payout")] == [
        "partner.payout_batch",
        "partner.payout_sent",
    ]
    # A retry sends nothing and returns the same run.
    assert program.partners.pay(provider, payout_id="po-2026-11") == run
    assert provider.sent == [line.line_id]
    assert program.partners.payable() == []


def test_a_failed_line_returns_its_rewards_to_available_in_the_ledger(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    setup_two(program)
    released(program, clock, ("ANNA10", "o1", "100"), ("BEN10", "o2", "100"))
    run = program.partners.pay(Recording(fail={"ben"}), payout_id="b1")
    by = {line.partner_id: line for line in run.lines}
    assert (by["ben"].status, by["ben"].reason) == (LineStatus.FAILED, "account_closed")
    assert by["anna"].status is LineStatus.SENT
    [ben_reward] = program.rewards("ben")
    assert (ben_reward.state, ben_reward.payout_id) == (RewardState.AVAILABLE, None)
    status = program.status("ben")
    assert (status.available, status.paid) == ({"USD": usd("10.00")}, {})
    assert [e.payload["reward_id"] for e in events(program, "reward.payout_failed")] == [
        ben_reward.id
    ]
    assert len(events(program, "partner.payout_failed")) == 1
    # The next batch pays Ben again, under a new line.
    again = program.partners.pay(Recording(), payout_id="b2")
    assert [(line.partner_id, line.status) for line in again.lines] == [("ben", LineStatus.SENT)]


def test_a_batch_the_provider_did_not_answer_is_sent_again_under_the_same_line_ids(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    setup_two(program)
    released(program, clock, ("ANNA10", "o1", "100"))

    class Down:
        def send(self, batch: PayoutBatch) -> list[PayoutOutcome]:
            raise ConnectionError("provider down")

    with pytest.raises(ConnectionError):
        program.partners.pay(Down(), payout_id="b1")
    [reward] = program.rewards("anna")
    assert reward.state is RewardState.PAID  # in a pending line: not payable elsewhere
    quiet = Recording(answer=False)
    pending = program.partners.pay(quiet, payout_id="b1")
    assert [line.status for line in pending.lines] == [LineStatus.PENDING]
    provider = Recording()
    run = program.partners.pay(provider, payout_id="b1")
    assert provider.sent == quiet.sent == [run.lines[0].line_id]
    assert run.lines[0].status is LineStatus.SENT
    assert program.partners.pay(provider, payout_id="b1") == run
    assert provider.sent == [run.lines[0].line_id]


def test_the_csv_provider_writes_every_line_and_reports_it_sent(
    program: rk.ReferralProgram, clock: FrozenClock, tmp_path: Path
) -> None:
    setup_two(program)
    released(program, clock, ("ANNA10", "o1", "100"), ("BEN10", "o2", "55"))
    path = tmp_path / "payouts.csv"
    run = program.partners.pay(rk.CsvPayoutProvider(path), payout_id="b1")
    released(program, clock, ("ANNA10", "o3", "30"))
    program.partners.pay(rk.CsvPayoutProvider(path), payout_id="b2")
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert [(r["batch_id"], r["partner_id"], r["amount"]) for r in rows] == [
        ("b1", "anna", "10.00"),
        ("b1", "ben", "5.50"),
        ("b2", "anna", "3.00"),
    ]
    assert rows[0]["payout_ref"] == "acct_anna"
    assert [line.reference for line in run.lines] == [f"csv:{line.line_id}" for line in run.lines]
    stream = io.StringIO()
    rk.CsvPayoutProvider(stream).send(PayoutBatch("b3", clock(), ()))
    assert stream.getvalue().startswith("batch_id,line_id,partner_id")


# -- verification ---------------------------------------------------------------------------


def test_an_unverified_partner_is_skipped_and_keeps_their_rewards_available(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    setup_two(program)
    released(program, clock, ("ANNA10", "o1", "100"), ("BEN10", "o2", "100"))
    verified = program.partners.verify("anna", ok=True, reference="kyc-123")
    assert (verified.verified, verified.verification_ref) == (True, "kyc-123")
    run = program.partners.pay(Recording(), payout_id="b1", require_verification=True)
    by = {line.partner_id: line for line in run.lines}
    assert by["anna"].status is LineStatus.SENT
    assert (by["ben"].status, by["ben"].reason) == (LineStatus.SKIPPED, "unverified")
    [ben_reward] = program.rewards("ben")
    assert ben_reward.state is RewardState.AVAILABLE
    assert program.partners.payable() == [PartnerDue("ben", usd("10.00"))]
    assert len(events(program, "partner.payout_skipped")) == 1


def test_a_host_check_is_consulted_and_only_its_answer_is_stored(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    setup_two(program)
    released(program, clock, ("ANNA10", "o1", "100"), ("BEN10", "o2", "100"))
    asked: list[str] = []

    def check(partner: rk.Partner) -> rk.Verification:
        asked.append(partner.id)
        return rk.Verification(ok=partner.id == "anna", reference=f"case-{partner.id}")

    run = program.partners.pay(Recording(), payout_id="b1", check=check)
    assert asked == ["anna", "ben"]
    assert [(line.partner_id, line.status) for line in run.lines] == [
        ("anna", LineStatus.SENT),
        ("ben", LineStatus.SKIPPED),
    ]
    ben = program.partners.get("ben")
    assert (ben.verified, ben.verification_ref) == (False, "case-ben")
    program.partners.pay(Recording(), payout_id="b1", check=check)  # a retry asks nobody
    assert asked == ["anna", "ben"]

    def sloppy(partner: rk.Partner) -> bool:
        return True

    with pytest.raises(rk.ConfigError) as caught:
        program.partners.pay(Recording(), payout_id="b2", check=sloppy)  # type: ignore[arg-type]
    assert caught.value.path == "check"


def test_a_banned_partner_is_not_paid(program: rk.ReferralProgram, clock: FrozenClock) -> None:
    setup_two(program)
    released(program, clock, ("ANNA10", "o1", "100"))
    program.partners.set_state("anna", "banned")
    # Banning sends what they have not been paid to review: nothing of theirs is due.
    assert program.partners.pay(Recording(), payout_id="b1").lines == ()
    for review in program.partners.review_queue(partner="anna"):
        program.partners.approve(review.id)
    # Approved, it is owed, but a banned partner is still not paid: skipped, and said why.
    [line] = program.partners.pay(Recording(), payout_id="b2").lines
    assert (line.status, line.reason) == (LineStatus.SKIPPED, "banned")


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda p: p.partners.add("x", name="X", payout_threshold=usd("-1")), "payout_threshold"),
        (lambda p: p.partners.add("x", name="X", payout_threshold=10), "payout_threshold"),
        (lambda p: p.partners.add("x", name="X", hold=timedelta(days=-1)), "hold"),
        (lambda p: p.partners.add("x", name="X", hold=3), "hold"),
        (lambda p: p.partners.group("g", terms=TEN, hold=DAY / 7), "hold"),
        (lambda p: p.partners.set_payout_terms("anna", payout_threshold=1.5), "payout_threshold"),
        (lambda p: p.partners.verify("anna", ok="yes"), "ok"),
        (lambda p: p.partners.verify("anna", ok=True, reference=""), "reference"),
        (lambda p: p.partners.payable(limit=0), "limit"),
        (lambda p: p.partners.payable(after="anna"), "after"),
        (lambda p: p.partners.pay(object(), payout_id="b"), "provider"),
        (lambda p: p.partners.pay(Recording(), payout_id=""), "payout_id"),
        (lambda p: p.partners.pay(Recording(), payout_id="2026/11"), "payout_id"),
        (lambda p: p.partners.pay(Recording(), payout_id="b", limit=5_000), "limit"),
        (lambda p: p.partners.pay(Recording(), payout_id="b", check=3), "check"),
        (
            lambda p: p.partners.pay(Recording(), payout_id="b", require_verification=1),
            "require_verification",
        ),
    ],
)
def test_bad_payout_input_is_refused_naming_the_field_and_writes_nothing(
    program: rk.ReferralProgram, clock: FrozenClock, call: Any, field: str
) -> None:
    setup_two(program)
    released(program, clock, ("ANNA10", "o1", "100"))
    before = len(program.pending_events(limit=1000))
    with pytest.raises(rk.InvalidInput) as caught:
        call(program)
    assert caught.value.field == field
    assert len(program.pending_events(limit=1000)) == before
    assert program.partners.payable() == [PartnerDue("anna", usd("10.00"))]


def test_a_batch_id_retried_for_another_currency_is_a_conflict(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    setup_two(program)
    program.partners.pay(Recording(), payout_id="b1", currency="USD")
    with pytest.raises(rk.IdempotencyConflict) as caught:
        program.partners.pay(Recording(), payout_id="b1", currency="EUR")
    assert caught.value.field == "currency"


def test_a_provider_answer_for_no_line_of_the_batch_is_refused(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    setup_two(program)
    released(program, clock, ("ANNA10", "o1", "100"))

    class Confused:
        def send(self, batch: PayoutBatch) -> list[PayoutOutcome]:
            return [PayoutOutcome.sent("someone-else", "tr_1")]

    with pytest.raises(rk.ConfigError) as caught:
        program.partners.pay(Confused(), payout_id="b1")
    assert caught.value.path == "provider"
    run = program.partners.pay(Recording(), payout_id="b1")  # the line is still pending
    assert run.lines[0].status is LineStatus.SENT


def test_a_threshold_given_again_on_add_must_match(program: rk.ReferralProgram) -> None:
    program.partners.add("anna", name="Anna", terms=TEN, payout_threshold=usd("20"))
    assert program.partners.add("anna", name="Anna", terms=TEN).payout_threshold == usd("20.00")
    with pytest.raises(rk.IdempotencyConflict) as caught:
        program.partners.add("anna", name="Anna", terms=TEN, payout_threshold=usd("30"))
    assert caught.value.field == "payout_threshold"


# -- the statement's balances ----------------------------------------------------------------


def test_the_statement_keeps_every_cent_through_refunds_netting_and_payment(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    """A cut before payment stays reversed once paid; a netted part counts as paid."""
    setup_two(program)
    sell(program, "ANNA10", "o1", "100")
    program.refund(order_id="o1", amount=usd("40"))  # $10 -> $6 while held
    clock.advance(days=2)
    program.release_due()
    program.partners.pay(Recording(), payout_id="b1")
    program.refund(order_id="o1")  # paid: $6 owed back
    sell(program, "ANNA10", "o2", "200")  # $20, $6 of it netted on release
    clock.advance(days=2)
    program.release_due()
    line = program.partners.statement("anna").line("USD")
    assert line is not None
    assert (line.commission, line.reversed, line.paid, line.available) == (
        Decimal("30.00"),
        Decimal("4.00"),
        Decimal("12.00"),
        Decimal("14.00"),
    )
    assert line.commission == line.held + line.available + line.paid + line.reversed
    assert program.status("anna").available == {"USD": usd("14.00")}
    assert line.payable == Decimal("14.00")


def test_a_refund_while_a_line_is_pending_then_a_failure_leaves_nothing_owed(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    """The clawback of money never sent is recovered from the reward it was made on."""
    setup_two(program)
    released(program, clock, ("ANNA10", "o1", "100"), ("ANNA10", "o2", "100"))
    program.partners.pay(Recording(answer=False), payout_id="b1")
    program.refund(order_id="o1")  # paid in the ledger, so a $10 clawback is recorded
    program.refund(order_id="o2", amount=usd("50"))  # and $5 of the other
    [line] = program.partners.pay(Recording(fail={"anna"}), payout_id="b1").lines
    assert line.status is LineStatus.FAILED
    statement = program.partners.statement("anna").line("USD")
    assert statement is not None
    assert (statement.owed, statement.available, statement.payable) == (
        Decimal("0.00"),
        Decimal("5.00"),
        Decimal("5.00"),
    )
    assert statement.commission == (
        statement.held + statement.available + statement.paid + statement.reversed
    )
    assert program.status("anna").available == {"USD": usd("5.00")}
    assert program.partners.payable() == [PartnerDue("anna", usd("5.00"))]


def test_pay_pages_through_the_due_partners_with_after(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    setup_two(program)
    released(program, clock, ("ANNA10", "o1", "100"), ("BEN10", "o2", "100"))
    first = program.partners.pay(Recording(), payout_id="b1", limit=1)
    assert [line.partner_id for line in first.lines] == ["anna"]
    second = program.partners.pay(Recording(), payout_id="b2", after=first.lines[-1].key)
    assert [line.partner_id for line in second.lines] == ["ben"]
    assert program.partners.pay(Recording(), payout_id="b3").lines == ()


# -- a store whose partners cannot be paid -----------------------------------------------------


class _PartnersOnly:
    """``uow.partners`` with `PartnerRepository`'s members and none of the payout ones."""

    _MEMBERS = frozenset(n for n in dir(PartnerRepository) if not n.startswith("_"))

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name not in self._MEMBERS:
            raise AttributeError(name)
        return getattr(self._inner, name)


class _NoPayouts(MemoryStore):
    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with super().transaction() as uow:
            uow.partners = _PartnersOnly(uow.partners)  # type: ignore[assignment]
            yield uow


def test_a_store_without_partner_payouts_runs_partners_and_names_what_it_lacks(
    clock: FrozenClock,
) -> None:
    program = rk.ReferralProgram(store=_NoPayouts(), secret=SECRET, policy=TEN, clock=clock)
    setup_two(program)  # partner programmes run
    released(program, clock, ("ANNA10", "o1", "100"))
    for call in (
        lambda: program.partners.pay(Recording(), payout_id="b1"),
        program.partners.payable,
        lambda: program.partners.verify("anna", ok=True),
        lambda: program.partners.set_payout_terms("anna", hold=DAY),
        lambda: program.partners.add("cat", name="Cat", terms=TEN, payout_threshold=usd("5")),
        lambda: program.partners.group("micro", terms=TEN, hold=DAY),
    ):
        with pytest.raises(rk.ConfigError, match="partner payouts"):
            call()
    assert program.partners.get("anna").payout_threshold is None
    with pytest.raises(rk.UnknownPartner):
        program.partners.get("cat")
