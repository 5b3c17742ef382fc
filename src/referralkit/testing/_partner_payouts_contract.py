"""`PartnerPayoutsContract`: what a store's partner payouts (`PartnerPayoutRepository`) guarantee.

Payout thresholds and holds (a partner's and a group's) and a host's verification are
stored and read back; the partners due a payout are added up per currency in the store,
past their threshold, and paged; a payout batch and each of its lines are stored once,
an outcome is set once on a pending line; and everything rolls back with its unit of
work.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol, cast

import attrs
import pytest

from referralkit.model import (
    PartnerGroup,
    Referral,
    ReferralStatus,
    RewardKind,
    RewardState,
)
from referralkit.money import Money
from referralkit.payouts import LineStatus, PartnerDue, PartnerPayout
from referralkit.program import (
    PARTNER_PAYOUTS,
    PARTNERS,
    PartnerPayoutRepository,
    PartnerRepository,
)
from referralkit.protocols import Store, UnitOfWork
from referralkit.testing._partners_contract import T0, _code, _partner
from referralkit.testing._store_base import CapabilityContract, Needs
from referralkit.testing._store_contract import _reward as reward_row

__all__ = ["PartnerPayoutsContract"]


class _Undo(Exception):
    pass


class _Both(PartnerRepository, PartnerPayoutRepository, Protocol):
    """A store's ``uow.partners`` with both capabilities."""


def _repo(uow: UnitOfWork, store: Store) -> _Both:
    PARTNERS.repository(uow, store=store)
    return cast("_Both", PARTNER_PAYOUTS.repository(uow, store=store))


def _pay_then_fail(store: Store) -> None:
    """Write a threshold, a verification, a batch and a line, then raise inside it."""
    with store.transaction() as uow:
        repo = _repo(uow, store)
        repo.set_payout_terms("anna", Money("1.00", "USD"), 1)
        repo.set_verification("anna", ok=True, reference="kyc")
        repo.add_batch("b1", None, T0)
        repo.add_payout_line(
            PartnerPayout("b1", "b1/a", "anna", None, Money("1", "USD"), (), LineStatus.PENDING)
        )
        raise _Undo


class PartnerPayoutsContract(CapabilityContract):
    """Partner payouts (``uow.partners`` as `PartnerPayoutRepository` too)."""

    needs = Needs(repositories=(PARTNERS, PARTNER_PAYOUTS))

    def test_payout_terms_and_verification_are_stored_and_read_back(self, store: Store) -> None:
        """A partner's and a group's threshold and hold; a verification says if it changed."""
        with store.transaction() as uow:
            repo = _repo(uow, store)
            repo.add_group(PartnerGroup("micro", "v1", T0, 86_400, Money("50.00", "USD")))
            repo.add(_partner(payout_threshold=Money("20.00", "EUR"), hold_seconds=3_600))
            repo.add(_partner("ben", account_referral="acct-ben", group="micro"))
            repo.set_payout_terms("ben", Money("5.00", "USD"), 60)
            repo.set_group_payout_terms("micro", None, None)
            assert repo.set_verification("anna", ok=True, reference="kyc-1")
            assert not repo.set_verification("anna", ok=True, reference="kyc-1")
            assert repo.set_verification("anna", ok=True, reference=None)
            assert repo.set_verification("anna", ok=False, reference=None)
            assert not repo.set_verification("nobody", ok=True, reference=None)
        with store.transaction() as uow:
            repo = _repo(uow, store)
            anna, ben = repo.get("anna"), repo.get("ben")
            assert anna is not None
            assert ben is not None
            assert (anna.payout_threshold, anna.hold_seconds) == (Money("20.00", "EUR"), 3_600)
            assert (anna.verified, anna.verification_ref) == (False, None)
            assert (ben.payout_threshold, ben.hold_seconds, ben.verified) == (
                Money("5.00", "USD"),
                60,
                None,
            )
            assert repo.get_group("micro") == PartnerGroup("micro", "v1", T0)

    def test_due_partners_are_added_up_per_currency_past_their_threshold(
        self, store: Store
    ) -> None:
        """Available less netted less owed; a threshold binds its currency; paged by key."""
        with store.transaction() as uow:
            repo = _repo(uow, store)
            repo.add_group(PartnerGroup("micro", "v1", T0, None, Money("30.00", "USD")))
            _account(uow, repo, "anna", group="micro")
            _account(uow, repo, "ben", threshold=Money("5.00", "USD"), group="micro")
            _account(uow, repo, "cat")
            _reward(uow, "anna", "a1", "20.00", RewardState.AVAILABLE)
            _reward(uow, "anna", "a2", "15.00", RewardState.AVAILABLE, netted="2.00")
            _reward(uow, "anna", "a3", "9.00", RewardState.HELD)
            _reward(uow, "anna", "a4", "4.00", RewardState.AVAILABLE, currency="EUR")
            _reward(uow, "ben", "b1", "8.00", RewardState.AVAILABLE)
            _reward(uow, "ben", "b2", "6.00", RewardState.PAID, clawback="4.00", recovered="1.00")
            _reward(uow, "cat", "c1", "3.00", RewardState.PAID, clawback="3.00")
            _reward(uow, "cat", "c2", "2.00", RewardState.AVAILABLE)
        with store.transaction() as uow:
            repo = _repo(uow, store)
            found = repo.due(currency=None, after=None, limit=10)
            assert found == [
                PartnerDue("anna", Money("4.00", "EUR")),
                PartnerDue("anna", Money("33.00", "USD"), Money("30.00", "USD")),
                PartnerDue("ben", Money("5.00", "USD"), Money("5.00", "USD")),
            ]
            assert repo.due(currency="USD", after=None, limit=1) == [found[1]]
            assert repo.due(currency=None, after=found[1].key, limit=10) == [found[2]]
            assert repo.due(currency=None, after=("anna", "AAA"), limit=1) == [found[0]]
            assert repo.available_rewards("anna", "USD") == ["a1", "a2"]
            assert repo.available_rewards("anna", "GBP") == []
            assert repo.available_rewards("nobody", "USD") == []

    def test_a_batch_and_its_lines_are_stored_once_and_an_outcome_set_once(
        self, store: Store
    ) -> None:
        """The first batch under an id stands; only a pending line takes an outcome."""
        line = PartnerPayout(
            "b1", "b1/anna/USD", "anna", "acct_1", Money("12.50", "USD"), ("r1", "r2"), PENDING
        )
        skipped = PartnerPayout(
            "b1", "b1/ben/USD", "ben", None, Money("3.00", "USD"), ("r3",), SKIPPED, None, "no"
        )
        with store.transaction() as uow:
            repo = _repo(uow, store)
            repo.add(_partner())
            repo.add(_partner("ben", account_referral="acct-ben"))
            assert repo.batch("b1") is None
            assert repo.add_batch("b1", "USD", T0) == (("USD", T0), True)
            assert repo.add_batch("b1", None, T0 + timedelta(days=1)) == (("USD", T0), False)
            repo.add_payout_line(line)
            repo.add_payout_line(line)
            repo.add_payout_line(skipped)
            assert repo.set_line_outcome(line.line_id, SENT, "tr_1", None)
            assert not repo.set_line_outcome(line.line_id, FAILED, None, "late")
            assert not repo.set_line_outcome(skipped.line_id, SENT, "tr_2", None)
        with store.transaction() as uow:
            repo = _repo(uow, store)
            assert repo.batch("b1") == ("USD", T0)
            assert repo.batch_lines("b1") == [
                attrs.evolve(line, status=SENT, reference="tr_1"),
                skipped,
            ]
            assert repo.batch_lines("b2") == []

    def test_payout_writes_roll_back_with_their_unit_of_work(self, store: Store) -> None:
        """A unit of work that raises leaves no batch, line, threshold or verification."""
        with store.transaction() as uow:
            _repo(uow, store).add(_partner())
        with pytest.raises(_Undo):
            _pay_then_fail(store)
        with store.transaction() as uow:
            repo = _repo(uow, store)
            assert repo.get("anna") == _partner()
            assert repo.batch("b1") is None
            assert repo.batch_lines("b1") == []


PENDING, SENT, FAILED, SKIPPED = (
    LineStatus.PENDING,
    LineStatus.SENT,
    LineStatus.FAILED,
    LineStatus.SKIPPED,
)


def _account(
    uow: UnitOfWork,
    repo: _Both,
    pid: str,
    *,
    threshold: Money | None = None,
    group: str | None = None,
) -> None:
    """A partner with the account code and referral their rewards hang off."""
    account = f"acct-{pid}"
    _code(uow, account.upper(), pid)
    uow.referrals.add(
        Referral(
            account,
            account.upper(),
            pid,
            pid,
            ReferralStatus.REJECTED,
            ("partner.account",),
            T0,
            f"partner:{pid}",
            "v1",
        )
    )
    repo.add(
        _partner(pid, account_referral=account, terms_version="v1", group=group)
        if threshold is None
        else _partner(pid, account_referral=account, payout_threshold=threshold, group=group)
    )


def _reward(
    uow: UnitOfWork,
    pid: str,
    rid: str,
    amount: str,
    state: RewardState,
    *,
    currency: str = "USD",
    netted: str | None = None,
    clawback: str | None = None,
    recovered: str | None = None,
) -> None:
    """A cash reward of the partner's: a fee, ``netted`` / ``clawback`` / ``recovered`` set."""
    money = Money(amount, currency)
    base = reward_row(
        rid,
        key=f"partner:{pid}:{rid}",
        customer=pid,
        referral=f"acct-{pid}",
        order=None,
        state=state,
        hold_until=None,
    )
    uow.rewards.add(
        attrs.evolve(
            base,
            kind=RewardKind.CASH,
            amount=money,
            granted=money,
            netted=None if netted is None else Money(netted, currency),
            clawback=None if clawback is None else Money(clawback, currency),
            recovered=None if recovered is None else Money(recovered, currency),
        )
    )
