"""`PartnersContract`: what a store's partner programmes (`PartnerRepository`) guarantee.

Every write is stored once under its natural key (a partner's id, a code, a post's id,
a post and an as-of time, an order id), a state change says whether it changed
anything, and everything is rolled back with its unit of work.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from referralkit.model import (
    Beneficiary,
    CodeKind,
    Conversion,
    Partner,
    PartnerCode,
    PartnerEngagement,
    PartnerGroup,
    PartnerOrder,
    PartnerPost,
    PartnerState,
    PartnerSubmission,
    Referral,
    ReferralCode,
    ReferralStatus,
    Reward,
    RewardKind,
    RewardState,
    SubmissionState,
)
from referralkit.money import Money
from referralkit.program import PARTNERS
from referralkit.protocols import Store, UnitOfWork
from referralkit.testing._store_base import CapabilityContract, Needs

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


def _reward(
    rid: str, amount: Money | None, points: int, at: datetime, state: RewardState
) -> Reward:
    return Reward(
        id=rid,
        key=f"o-{rid}:fixed",
        referral_id="ref-1",
        beneficiary=Beneficiary.REFERRER,
        customer_id=f"cust-{rid}",
        kind=RewardKind.CREDIT if amount is not None else RewardKind.POINTS,
        amount=amount,
        granted=amount,
        points=points,
        granted_points=points,
        state=state,
        order_id=None,
        policy="fixed",
        explanation="a test reward",
        created_at=at,
        hold_until=None,
    )


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
        repo.add_submission(
            PartnerSubmission(
                "sub-1", "anna", "https://x.example", Money("1", "USD"), SubmissionState.PENDING, T0
            )
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
            assert repo.first_attributed("anna", "cust-9") == T0
            assert repo.first_attributed("anna", "cust-8") is None
            assert repo.first_attributed("ben", "cust-9") is None

    def test_revenue_adds_up_the_period_before_an_order_net_of_refunds(self, store: Store) -> None:
        """Orders placed in [since, until), recorded up to the named one (left out), by currency."""
        hour = timedelta(hours=1)
        sales = [
            ("o-1", Money("100", "USD"), T0, "anna"),
            ("o-2", Money("40", "EUR"), T0 + hour, "anna"),
            ("o-3", Money("50", "USD"), T0 + 2 * hour, "ben"),
            ("o-4", Money("30", "USD"), T0 - 48 * hour, "anna"),
            ("o-5", Money("20", "USD"), T0 + 3 * hour, "anna"),
            ("o-6", Money("70", "USD"), T0 + 4 * hour, "anna"),
        ]
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
            repo.add(_partner())
            repo.add(_partner("ben", account_referral="acct-ben"))
            for n, (order_id, amount, at, pid) in enumerate(sales):
                uow.conversions.add(
                    Conversion(order_id, f"c{n}", amount, at, first_order=True, recorded_at=at)
                )
                repo.attribute(PartnerOrder(order_id, pid, "ANNA10", f"c{n}", "v1", at))
            uow.conversions.set_refunded("o-1", Money("25", "USD"))
        since, until = T0 - hour, T0 + 24 * hour
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
            assert repo.revenue("anna", since, until, before="o-5") == [
                Money("40", "EUR"),
                Money("75", "USD"),
            ]
            assert repo.revenue("anna", since, until, before="o-6") == [
                Money("40", "EUR"),
                Money("95", "USD"),
            ]
            assert repo.revenue("anna", since, until, before="o-1") == []
            assert repo.revenue("ben", since, until, before="o-6") == [Money("50", "USD")]
            assert repo.revenue("cat", since, until, before="o-6") == []

    def test_a_submission_is_stored_once_and_decided_once(self, store: Store) -> None:
        """A retry returns the stored submission; only a pending one can be decided."""
        fee = Money("25", "USD")
        wanted = PartnerSubmission(
            "sub-1", "anna", "https://ig.example/p/1", fee, SubmissionState.PENDING, T0
        )
        later = T0 + timedelta(hours=2)
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
            repo.add(_partner())
            stored, created = repo.add_submission(wanted)
            again, twice = repo.add_submission(
                PartnerSubmission("sub-1", "anna", "https://x.example", fee, wanted.state, later)
            )
            repo.add_submission(
                PartnerSubmission("sub-2", "anna", "https://x.example", fee, wanted.state, T0)
            )
        assert (stored, created) == (wanted, True)
        assert (again, twice) == (wanted, False)
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
            approved = SubmissionState.APPROVED
            assert repo.decide_submission("sub-1", approved, later, reward_id="rw-1")
            assert not repo.decide_submission("sub-1", SubmissionState.REJECTED, later)
            assert repo.decide_submission("sub-2", SubmissionState.REJECTED, later, reason="off")
            assert not repo.decide_submission("sub-3", approved, later)
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
            assert repo.submission("sub-1") == PartnerSubmission(
                "sub-1",
                "anna",
                "https://ig.example/p/1",
                fee,
                approved,
                T0,
                decided_at=later,
                reward_id="rw-1",
            )
            rejected = repo.submission("sub-2")
            assert rejected is not None
            assert (rejected.state, rejected.reason) == (SubmissionState.REJECTED, "off")
            assert repo.submission("sub-3") is None

    def test_period_spend_adds_up_rewards_granted_in_the_period_not_reversed(
        self, store: Store
    ) -> None:
        """Both sides, current values, by currency; reversed and out-of-period rewards left out."""
        hour = timedelta(hours=1)
        rewards = [
            ("r1", Money("10", "USD"), 0, T0, RewardState.HELD),
            ("r2", Money("4", "EUR"), 0, T0 + hour, RewardState.AVAILABLE),
            ("r3", None, 50, T0 + hour, RewardState.HELD),
            ("r4", Money("7", "USD"), 0, T0 + hour, RewardState.REVERSED),
            ("r5", Money("9", "USD"), 0, T0 - 48 * hour, RewardState.PAID),
            ("r6", Money("3", "USD"), 0, T0 + 2 * hour, RewardState.PAID),
        ]
        with store.transaction() as uow:
            _code(uow, "ANNA10")
            uow.referrals.add(
                Referral(
                    "ref-1", "ANNA10", "anna", "bob", ReferralStatus.QUALIFIED, (), T0, "c", "v1"
                )
            )
            for rid, amount, points, at, state in rewards:
                uow.rewards.add(_reward(rid, amount, points, at, state))
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
            assert repo.period_spend(T0 - hour, T0 + 24 * hour) == (
                [Money("4", "EUR"), Money("13", "USD")],
                50,
            )
            assert repo.period_spend(T0 + 5 * hour, T0 + 6 * hour) == ([], 0)

    def test_order_attributes_are_stored_once_per_order(self, store: Store) -> None:
        """The first attributes stored for an order stand, and read back whole."""
        wanted = {"category": ("shoes", "socks"), "channel": ("app",)}
        with store.transaction() as uow:
            uow.conversions.add(Conversion("o-1", "c", Money("9", "USD"), T0, first_order=True))
            repo = PARTNERS.repository(uow, store=store)
            assert repo.add_order_attributes("o-1", wanted) == wanted
            assert repo.add_order_attributes("o-1", {"category": ("bags",)}) == wanted
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
            assert repo.order_attributes("o-1") == wanted
            assert repo.order_attributes("o-2") is None

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
            assert repo.submission("sub-1") is None
