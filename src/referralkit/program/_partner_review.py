"""Partner reviews: a partner's rewards held for a person when a fraud signal fires.

At checkout, `Screen` runs the partner rules (`referralkit.guards.OwnCode`,
`referralkit.guards.LeakedCode`) on what it reads in the order's unit of work; a banned
partner's unpaid rewards go to review with `hold_unpaid`. A reward in review is held
without a release date: `release_due`, a delivery and `payable` all pass it by, until
an operator approves it (it earns as it would have: held out its hold counted from when
it was earned, or available) or rejects it (reversed). The buyer's order is never
refused: only the partner's reward waits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import attrs

from referralkit._validate import opt_name, positive_int, require_id
from referralkit.errors import InvalidState, UnknownPartner
from referralkit.guards import REASON_CODES, LeakedCode, OwnCode
from referralkit.guards._partner import BANNED, LEAKED_CODE
from referralkit.model import (
    Bucket,
    Identity,
    Partner,
    PartnerOrder,
    PartnerReview,
    Reward,
    RewardState,
)
from referralkit.moments import DELIVERIES
from referralkit.program._clawbacks import net_against_debts
from referralkit.program._clicks import VISITOR
from referralkit.program._core import ProgramCore
from referralkit.program._holds import UntilDelivered, release_at
from referralkit.program._ledger import Move, bucket_of, entries, plus, reward_payload, transition
from referralkit.program._partner_review_store import PARTNER_REVIEWS, PartnerReviewRepository
from referralkit.program._partner_store import PARTNERS
from referralkit.protocols import CLICKS, UnitOfWork

__all__ = [
    "PartnerRules",
    "Screen",
    "decide_order",
    "decide_review",
    "explain",
    "hold_for_review",
    "hold_unpaid",
    "review_queue",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
APPROVED = "approved"
REJECTED = "rejected"


@attrs.frozen(slots=True)
class PartnerRules:
    """The partner rules a program runs at checkout (None: that rule is off)."""

    own_code: OwnCode | None = attrs.field(factory=OwnCode)
    leaked_code: LeakedCode | None = attrs.field(factory=LeakedCode)


def _repo(core: ProgramCore, uow: UnitOfWork) -> PartnerReviewRepository:
    return PARTNER_REVIEWS.repository(uow, store=core.store)


class Screen:
    """The partner rules for one checkout: the buyer's identity and visitor id, if given."""

    def __init__(
        self, core: ProgramCore, rules: PartnerRules, identity: Identity | None, visitor: str | None
    ) -> None:
        self._core = core
        self._rules = rules
        self._identity = identity
        self._visitor = None if visitor is None else require_id("visitor", visitor)
        # Hashed now: a bad identity is refused before anything is written.
        self._signals = core.match_signals(identity, core.signals(identity))

    def __call__(
        self,
        uow: UnitOfWork,
        partner: Partner,
        order: PartnerOrder,
        rewards: list[Reward],
        now: datetime,
    ) -> list[Reward]:
        """The order's rewards, the partner's held for review when a rule fires.

        A store without `PARTNER_REVIEWS` runs no partner rules.
        """
        if PARTNER_REVIEWS.missing(uow):
            return rewards
        reasons = self.reasons(uow, partner, order, now)
        if not reasons:
            return rewards
        uow.events.add(
            "partner.order_review",
            {"partner_id": partner.id, "order_id": order.order_id, "reasons": list(reasons)},
            now,
        )
        return hold_for_review(self._core, uow, partner, rewards, reasons=reasons, now=now)

    def reasons(
        self, uow: UnitOfWork, partner: Partner, order: PartnerOrder, now: datetime
    ) -> tuple[str, ...]:
        """The reasons the partner rules give for this order (none: it earns as usual)."""
        repo = _repo(self._core, uow)
        found: list[str] = []
        own = self._rules.own_code
        if own is not None:
            if self._identity is None:
                buyer = uow.identities.signals(order.customer_id)
            else:
                buyer = self._signals
            if own.check(order.customer_id, partner.id, buyer, repo.signals(partner.id)):
                found.append(own.name)
        leak = self._rules.leaked_code
        if leak is not None and not CLICKS.missing(uow):
            clicked = self._clicked(uow, partner, order.customer_id, now)
            repo.check_order(order.order_id, partner.id, now, clicked=clicked)
            # A check stamped after ``now`` is a concurrent checkout's that committed first
            # (its clock was read later): it belongs to the burst, so the window runs on.
            if not clicked and leak.check(
                clicked, repo.unclicked(partner.id, now - leak.window, now + leak.window)
            ):
                found.append(LEAKED_CODE)
        return tuple(found)

    def _clicked(self, uow: UnitOfWork, partner: Partner, buyer: str, now: datetime) -> bool:
        """Whether the buyer (their visitor id, else customer id) clicked the partner's links."""
        visitor = self._visitor or buyer
        hashed = self._core.hasher.match_pairs([(VISITOR, visitor)])
        keys = [*sorted(digest for _, digest in hashed), visitor]
        partners = PARTNERS.repository(uow, store=self._core.store)
        codes = {c.code for c in partners.codes(partner.id)}
        clicks = CLICKS.repository(uow, store=self._core.store).for_visitor(keys, _EPOCH, now)
        return any(click.code in codes for click in clicks)


def hold_for_review(
    core: ProgramCore,
    uow: UnitOfWork,
    partner: Partner,
    rewards: Sequence[Reward],
    *,
    reasons: Sequence[str],
    now: datetime,
) -> list[Reward]:
    """Open a review on each of the partner's unpaid ``rewards``; the rewards as they are now.

    A reward in review is held without a release date (``reward.review``); one that was
    available leaves the available bucket for the held one. A reward with an open review
    already keeps it.
    """
    if PARTNER_REVIEWS.missing(uow):  # the store keeps no reviews: nothing to hold them in
        return list(rewards)
    repo = _repo(core, uow)
    out: list[Reward] = []
    for reward in rewards:
        unpaid = reward.state in (RewardState.HELD, RewardState.AVAILABLE)
        if reward.customer_id != partner.id or not unpaid:
            out.append(reward)
            continue
        review = PartnerReview(
            id=core.new_id(),
            reward_id=reward.id,
            partner_id=partner.id,
            order_id=reward.order_id,
            reasons=tuple(reasons),
            opened_at=now,
        )
        if not repo.add_review(review):
            out.append(reward)
            continue
        if reward.state is RewardState.AVAILABLE:
            held = transition(
                uow,
                reward,
                RewardState.HELD,
                reason="review",
                event="reward.review",
                now=now,
                hold_until=None,
            )
        else:
            held = attrs.evolve(reward, hold_until=None)
            uow.rewards.update(held)
            uow.events.add("reward.review", reward_payload(held), now)
        out.append(held)
    return out


def hold_unpaid(core: ProgramCore, uow: UnitOfWork, partner: Partner, now: datetime) -> None:
    """A banned partner: every reward of theirs not paid yet goes to review (`BANNED`)."""
    rewards = [
        r for r in uow.rewards.for_customer(partner.id) if r.referral_id == partner.account_referral
    ]
    hold_for_review(core, uow, partner, rewards, reasons=(BANNED,), now=now)


def review_queue(
    core: ProgramCore,
    limit: int,
    *,
    after: str | None,
    partner: str | None,
    reason: str | None,
) -> list[PartnerReview]:
    """`referralkit.program.Partners.review_queue`."""
    limit = positive_int("limit", limit)
    after = opt_name("after", after)
    partner = opt_name("partner", partner)
    reason = opt_name("reason", reason)
    with core.transaction() as uow:
        return _repo(core, uow).open_reviews(limit, after=after, partner_id=partner, reason=reason)


def explain(review: PartnerReview) -> list[str]:
    """A review's reasons in words."""
    return [REASON_CODES.get(code, code) for code in review.reasons]


def decide_review(
    core: ProgramCore, review_id: str, *, approve: bool, note: str | None = None
) -> Reward | None:
    """Approve or reject one open review; the reward as it is after (None: no reward)."""
    review_id = require_id("review_id", review_id)
    now = core.now()
    with core.transaction() as uow:
        repo = _repo(core, uow)
        review = repo.get_review(review_id)
        if review is None:
            raise UnknownPartner(f"no partner review {review_id!r}", value=review_id)
        return _decide(core, uow, repo, review, approve=approve, note=note, now=now)


def decide_order(
    core: ProgramCore, order_id: str, *, approve: bool, note: str | None = None
) -> list[Reward]:
    """Approve or reject every open review of an order's rewards; the rewards after."""
    order_id = require_id("order_id", order_id)
    now = core.now()
    with core.transaction() as uow:
        repo = _repo(core, uow)
        reviews = repo.open_reviews(1000, order_id=order_id)
        if not reviews:
            raise InvalidState(
                f"order {order_id!r} has no partner reward in review", value=order_id
            )
        out = []
        for review in reviews:
            reward = _decide(core, uow, repo, review, approve=approve, note=note, now=now)
            if reward is not None:
                out.append(reward)
        return out


def _decide(
    core: ProgramCore,
    uow: UnitOfWork,
    repo: PartnerReviewRepository,
    review: PartnerReview,
    *,
    approve: bool,
    note: str | None,
    now: datetime,
) -> Reward | None:
    decision = APPROVED if approve else REJECTED
    if not repo.decide(review.id, decision, note, now):
        raise InvalidState(f"the review {review.id!r} is decided already", value=review.id)
    reward = uow.rewards.get(review.reward_id)
    if reward is not None and reward.state is RewardState.HELD:
        reward = _approve(core, uow, reward, now) if approve else _reverse(uow, reward, now)
    payload = {
        "partner_id": review.partner_id,
        "review_id": review.id,
        "reward_id": review.reward_id,
        "order_id": review.order_id,
        "reasons": list(review.reasons),
        "note": note,
    }
    if approve:
        uow.events.add("partner.review_approved", payload, now)
    else:
        uow.events.add("partner.review_rejected", payload, now)
    return reward


def _approve(core: ProgramCore, uow: UnitOfWork, reward: Reward, now: datetime) -> Reward:
    """Let an approved reward earn as it would have: its hold counted from when it was earned."""
    hold = core.holds.for_reward(reward.beneficiary, reward.kind)
    delivered = None
    if isinstance(hold, UntilDelivered) and reward.order_id is not None:
        delivered = DELIVERIES.repository(uow, store=core.store).get(reward.order_id)
    release = release_at(hold, reward.created_at, delivered)
    waits = isinstance(hold, UntilDelivered) or hold > timedelta(0)
    if waits and (release is None or release > now):
        if release is None:
            return reward  # waiting for its order's delivery, as it would have been
        updated = attrs.evolve(reward, hold_until=release)
        uow.rewards.update(updated)
        uow.events.add("reward.release_scheduled", reward_payload(updated), now)
        return updated
    available = transition(
        uow, reward, RewardState.AVAILABLE, reason="review", event="reward.available", now=now
    )
    return net_against_debts(core, uow, available, now)


def _reverse(uow: UnitOfWork, reward: Reward, now: datetime) -> Reward:
    """Take a rejected reward back: what sits in held leaves it; a part netted is owed again."""
    netted = reward.netted
    sitting = reward.amount if netted is None or reward.amount is None else reward.amount - netted
    updated = attrs.evolve(
        reward, state=RewardState.REVERSED, netted=None, clawback=plus(reward.clawback, netted)
    )
    uow.rewards.update(updated)
    move = Move(bucket_of(reward.state), None, sitting, reward.points, "review")
    uow.rewards.append(entries(updated, move, now))
    if netted is not None and not netted.is_zero():
        owed = Move(None, Bucket.CLAWBACK, netted, 0, "review")
        uow.rewards.append(entries(updated, owed, now))
    uow.events.add("reward.reversed", reward_payload(updated), now)
    return updated
