"""`PartnersContract`: what a store's partner programmes (`PartnerRepository`) guarantee.

Every write is stored once under its natural key (a partner's id, a code, a post's id,
a post and an as-of time, an order id), a state change says whether it changed
anything, and everything is rolled back with its unit of work.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import attrs
import pytest

from referralkit.model import (
    CodeKind,
    Conversion,
    Partner,
    PartnerCode,
    PartnerEngagement,
    PartnerGroup,
    PartnerOrder,
    PartnerPost,
    PartnerState,
    Referral,
    ReferralCode,
    ReferralStatus,
    RewardKind,
    RewardState,
)
from referralkit.money import Money
from referralkit.payouts import LineStatus, PartnerDue, PartnerPayout
from referralkit.program import PARTNERS, PartnerRepository
from referralkit.protocols import Store, UnitOfWork
from referralkit.testing._store_base import CapabilityContract, Needs
from referralkit.testing._store_contract import _reward as reward_row

__all__ = ["PartnersContract"]

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)


def _partner(pid: str = "anna", **more: object) -> Partner:
    values: dict[str, object] = {
        "id": pid,
        "name": "Anna",
        "kind": "influencer",
        "state": PartnerState.APPROVED,
        "created_at": T0,
        "account_referral": f"acct-{pid}",
        "audience": 12_000,
        "niches": ("baking", "vegan"),
        "region": "de-BE",
        "payout_ref": "acct_1",
        "terms_version": "v1",
        **more,
    }
    return Partner(**values)  # type: ignore[arg-type]


def _code(uow: UnitOfWork, text: str, owner: str = "anna") -> None:
    uow.codes.add(ReferralCode(text, owner, f"partner:{owner}:{text}", CodeKind.VANITY, T0))


class _Undo(Exception):
    pass


def _write_then_fail(store: Store) -> None:
    """Write one of everything in one unit of work, then raise inside it."""
    with store.transaction() as uow:
        repo = PARTNERS.repository(uow, store=store)
        repo.add(_partner())
        repo.add_group(PartnerGroup("micro", "v1", T0))
        _code(uow, "ANNA10")
        repo.add_code(PartnerCode("ANNA10", "anna"))
        repo.add_post(PartnerPost("ig-1", "anna", None, T0))
        repo.add_engagement(PartnerEngagement("ig-1", T0, T0, impressions=1))
        raise _Undo


def _pay_then_fail(store: Store) -> None:
    """Write a threshold, a verification, a batch and a line, then raise inside it."""
    with store.transaction() as uow:
        repo = PARTNERS.repository(uow, store=store)
        repo.set_payout_terms("anna", Money("1.00", "USD"), 1)
        repo.set_verification("anna", ok=True, reference="kyc")
        repo.add_batch("b1", None, T0)
        repo.add_payout_line(
            PartnerPayout("b1", "b1/a", "anna", None, Money("1", "USD"), (), LineStatus.PENDING)
        )
        raise _Undo


class PartnersContract(CapabilityContract):
    """Partner programmes (``uow.partners``): stored once per key, rolled back together."""

    needs = Needs(repositories=(PARTNERS,))

    def test_a_partner_is_stored_once_and_reads_back_whole(self, store: Store) -> None:
        """A retry returns the stored partner, whatever the retry carries."""
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
            stored, created = repo.add(_partner())
            again, twice = repo.add(_partner(name="Other"))
        assert created
        assert not twice
        assert again == stored == _partner()
        with store.transaction() as uow:
            assert PARTNERS.repository(uow, store=store).get("anna") == _partner()
            assert PARTNERS.repository(uow, store=store).get("ben") is None

    def test_a_state_change_says_whether_it_changed(self, store: Store) -> None:
        """Setting the state a partner is in is no change; an unknown partner changes nothing."""
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
            repo.add(_partner())
            assert repo.set_state("anna", PartnerState.BANNED)
            assert not repo.set_state("anna", PartnerState.BANNED)
            assert not repo.set_state("ben", PartnerState.BANNED)
        with store.transaction() as uow:
            found = PARTNERS.repository(uow, store=store).get("anna")
            assert found is not None
            assert found.state is PartnerState.BANNED

    def test_groups_and_terms(self, store: Store) -> None:
        """A group is stored once; its terms and a partner's are replaced in place."""
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
            _, created = repo.add_group(PartnerGroup("micro", "v1", T0))
            _, twice = repo.add_group(PartnerGroup("micro", "v2", T0))
            repo.set_group_terms("micro", "v3")
            repo.add(_partner())
            repo.set_terms("anna", None, "micro")
        assert created
        assert not twice
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
            assert repo.get_group("micro") == PartnerGroup("micro", "v3", T0)
            assert repo.get_group("macro") is None
            found = repo.get("anna")
            assert found is not None
            assert (found.terms_version, found.group) == (None, "micro")

    def test_a_code_maps_to_one_partner_in_the_order_made(self, store: Store) -> None:
        """The first mapping of a code stands."""
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
            repo.add(_partner())
            repo.add(_partner("ben"))
            _code(uow, "ANNA10")
            _code(uow, "ANNA-IG-1")
            first = repo.add_code(PartnerCode("ANNA10", "anna"))
            assert repo.add_code(PartnerCode("ANNA10", "ben")) == first
            repo.add_code(PartnerCode("ANNA-IG-1", "anna", "ig-1"))
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
            assert repo.code("ANNA10") == PartnerCode("ANNA10", "anna")
            assert repo.code("NOPE") is None
            assert [c.code for c in repo.codes("anna")] == ["ANNA10", "ANNA-IG-1"]
            assert repo.codes("ben") == []

    def test_posts_and_engagement_once_per_key_latest_first(self, store: Store) -> None:
        """A post once per id; a report once per (post, as-of); the latest as-of is read."""
        cost = Money("150.00", "USD")
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
            repo.add(_partner())
            post, created = repo.add_post(PartnerPost("ig-1", "anna", "instagram", T0, cost))
            _, twice = repo.add_post(PartnerPost("ig-1", "anna", "tiktok", T0))
            repo.set_post_reward("ig-1", "rw-1")
            late = T0 + timedelta(days=1)
            repo.add_engagement(PartnerEngagement("ig-1", late, late, impressions=900))
            _, again = repo.add_engagement(PartnerEngagement("ig-1", late, late, impressions=5))
            repo.add_engagement(PartnerEngagement("ig-1", T0, late, impressions=100))
        assert created
        assert not twice
        assert not again
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
            stored = repo.get_post("ig-1")
            assert stored is not None
            assert (stored.channel, stored.cost, stored.reward_id) == ("instagram", cost, "rw-1")
            latest = repo.engagement("ig-1")
            assert latest is not None
            assert (latest.as_of, latest.impressions) == (late, 900)
            assert repo.engagement("ig-2") is None
        assert post.cost == cost

    def test_an_order_is_attributed_once(self, store: Store) -> None:
        """The first attribution of an order id stands."""
        order = PartnerOrder("o-1", "anna", "ANNA10", "cust-9", "v1", T0, None)
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
            repo.add(_partner())
            sale = Conversion("o-1", "cust-9", Money("60", "USD"), T0, first_order=True)
            uow.conversions.add(sale)
            _, created = repo.attribute(order)
            again, twice = repo.attribute(PartnerOrder("o-1", "ben", "B", "c", "v2", T0))
        assert created
        assert not twice
        assert again == order
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
            assert repo.order("o-1") == order
            assert repo.order("o-2") is None

    def test_everything_rolls_back_with_its_unit_of_work(self, store: Store) -> None:
        """A unit of work that raises leaves no partner, group, code, post or report."""
        with pytest.raises(_Undo):
            _write_then_fail(store)
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
            assert repo.get("anna") is None
            assert repo.get_group("micro") is None
            assert repo.code("ANNA10") is None
            assert repo.get_post("ig-1") is None
            assert repo.engagement("ig-1") is None

    # -- payouts: thresholds, holds, verification, due partners, batches -----------------

    def test_payout_terms_and_verification_are_stored_and_read_back(self, store: Store) -> None:
        """A partner's and a group's threshold and hold; a verification says if it changed."""
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
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
            repo = PARTNERS.repository(uow, store=store)
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
            repo = PARTNERS.repository(uow, store=store)
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
            repo = PARTNERS.repository(uow, store=store)
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
            repo = PARTNERS.repository(uow, store=store)
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
            repo = PARTNERS.repository(uow, store=store)
            assert repo.batch("b1") == ("USD", T0)
            assert repo.batch_lines("b1") == [
                attrs.evolve(line, status=SENT, reference="tr_1"),
                skipped,
            ]
            assert repo.batch_lines("b2") == []

    def test_payout_writes_roll_back_with_their_unit_of_work(self, store: Store) -> None:
        """A unit of work that raises leaves no batch, line, threshold or verification."""
        with store.transaction() as uow:
            PARTNERS.repository(uow, store=store).add(_partner())
        with pytest.raises(_Undo):
            _pay_then_fail(store)
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
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
    repo: PartnerRepository,
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
