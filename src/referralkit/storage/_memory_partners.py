"""The memory store's partner programmes: `PartnerRepository` over plain dicts.

Units of work run one at a time under the store's lock, so a check and its write inside
one method are one atomic step. Each write records how to undo itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

import attrs

from referralkit.context import Signal
from referralkit.metrics._partner_figures import PartnerFigures
from referralkit.model import (
    Partner,
    PartnerCode,
    PartnerEngagement,
    PartnerGroup,
    PartnerOrder,
    PartnerPost,
    PartnerReview,
    PartnerState,
    PartnerSubmission,
    Reward,
    RewardState,
    SubmissionState,
)
from referralkit.money import Money
from referralkit.payouts import LineStatus, PartnerDue, PartnerPayout
from referralkit.storage._errors import require_aware
from referralkit.storage._memory_tables import MemoryTables

__all__ = ["MemoryPartnerTables", "MemoryPartners"]

_Undo = Callable[[], object]


class MemoryPartnerTables:
    """The rows, each under its natural key."""

    def __init__(self) -> None:
        self.partners: dict[str, Partner] = {}
        self.groups: dict[str, PartnerGroup] = {}
        self.codes: dict[str, PartnerCode] = {}
        self.codes_of: dict[str, list[str]] = defaultdict(list)
        self.posts: dict[str, PartnerPost] = {}
        self.engagement: dict[tuple[str, datetime], PartnerEngagement] = {}
        self.orders: dict[str, PartnerOrder] = {}
        self.batches: dict[str, tuple[str | None, datetime]] = {}
        self.lines: dict[str, PartnerPayout] = {}  # by line id, in the order recorded
        self.lines_of: dict[str, list[str]] = defaultdict(list)
        self.signals: dict[str, set[Signal]] = defaultdict(set)
        self.checks: dict[str, tuple[str, datetime, bool]] = {}
        self.reviews: dict[str, PartnerReview] = {}
        self.open_reviews: dict[str, str] = {}
        self.submissions: dict[str, PartnerSubmission] = {}
        self.attributes: dict[str, Mapping[str, tuple[str, ...]]] = {}


class MemoryPartners:
    """`referralkit.program.PartnerRepository` for `referralkit.storage.MemoryStore`."""

    def __init__(self, tables: MemoryPartnerTables, main: MemoryTables, undo: list[_Undo]) -> None:
        self._t = tables
        self._main = main
        self._undo = undo

    def _set(self, table: dict[str, object], key: str, value: object) -> None:
        had = key in table
        old = table.get(key)
        table[key] = value
        if had:
            self._undo.append(lambda: table.__setitem__(key, old))
        else:
            self._undo.append(lambda: table.pop(key))

    def add(self, partner: Partner) -> tuple[Partner, bool]:
        require_aware(partner.created_at)
        existing = self._t.partners.get(partner.id)
        if existing is not None:
            return existing, False
        self._set(self._t.partners, partner.id, partner)  # type: ignore[arg-type]  # invariant dict
        return partner, True

    def get(self, partner_id: str) -> Partner | None:
        return self._t.partners.get(partner_id)

    def set_state(self, partner_id: str, state: PartnerState) -> bool:
        old = self._t.partners.get(partner_id)
        if old is None or old.state is state:
            return False
        self._set(self._t.partners, partner_id, attrs.evolve(old, state=state))  # type: ignore[arg-type]  # invariant dict
        return True

    def set_terms(self, partner_id: str, terms_version: str | None, group: str | None) -> None:
        old = self._t.partners.get(partner_id)
        if old is not None:
            new = attrs.evolve(old, terms_version=terms_version, group=group)
            self._set(self._t.partners, partner_id, new)  # type: ignore[arg-type]  # invariant dict

    def add_group(self, group: PartnerGroup) -> tuple[PartnerGroup, bool]:
        require_aware(group.created_at)
        existing = self._t.groups.get(group.id)
        if existing is not None:
            return existing, False
        self._set(self._t.groups, group.id, group)  # type: ignore[arg-type]  # invariant dict
        return group, True

    def get_group(self, group_id: str) -> PartnerGroup | None:
        return self._t.groups.get(group_id)

    def set_group_terms(self, group_id: str, terms_version: str) -> None:
        old = self._t.groups.get(group_id)
        if old is not None:
            new = attrs.evolve(old, terms_version=terms_version)
            self._set(self._t.groups, group_id, new)  # type: ignore[arg-type]  # invariant dict

    def add_code(self, code: PartnerCode) -> PartnerCode:
        existing = self._t.codes.get(code.code)
        if existing is not None:
            return existing
        self._set(self._t.codes, code.code, code)  # type: ignore[arg-type]  # invariant dict
        mine = self._t.codes_of[code.partner_id]
        mine.append(code.code)
        self._undo.append(mine.pop)
        return code

    def code(self, code: str) -> PartnerCode | None:
        return self._t.codes.get(code)

    def codes(self, partner_id: str) -> list[PartnerCode]:
        return [self._t.codes[c] for c in self._t.codes_of.get(partner_id, ())]

    def add_post(self, post: PartnerPost) -> tuple[PartnerPost, bool]:
        require_aware(post.created_at)
        existing = self._t.posts.get(post.id)
        if existing is not None:
            return existing, False
        self._set(self._t.posts, post.id, post)  # type: ignore[arg-type]  # invariant dict
        return post, True

    def get_post(self, post_id: str) -> PartnerPost | None:
        return self._t.posts.get(post_id)

    def set_post_reward(self, post_id: str, reward_id: str) -> None:
        old = self._t.posts.get(post_id)
        if old is not None:
            new = attrs.evolve(old, reward_id=reward_id)
            self._set(self._t.posts, post_id, new)  # type: ignore[arg-type]  # invariant dict

    def add_engagement(self, report: PartnerEngagement) -> tuple[PartnerEngagement, bool]:
        require_aware(report.as_of, report.recorded_at)
        key = (report.post_id, report.as_of)
        table = self._t.engagement
        existing = table.get(key)
        if existing is not None:
            return existing, False
        table[key] = report
        self._undo.append(lambda: table.pop(key))
        return report, True

    def engagement(self, post_id: str) -> PartnerEngagement | None:
        reports = [r for (p, _), r in self._t.engagement.items() if p == post_id]
        return max(reports, key=lambda r: r.as_of, default=None)

    def attribute(self, order: PartnerOrder) -> tuple[PartnerOrder, bool]:
        require_aware(order.attributed_at)
        existing = self._t.orders.get(order.order_id)
        if existing is not None:
            return existing, False
        self._set(self._t.orders, order.order_id, order)  # type: ignore[arg-type]  # invariant dict
        return order, True

    def order(self, order_id: str) -> PartnerOrder | None:
        return self._t.orders.get(order_id)

    def figures(
        self, partner_id: str, since: datetime | None, until: datetime | None
    ) -> list[PartnerFigures]:
        partner = self._t.partners.get(partner_id)
        if partner is None:
            return []
        by: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

        def within(when: datetime) -> bool:
            return (since is None or when >= since) and (until is None or when < until)

        main = self._main
        for order in self._t.orders.values():
            conversion = main.conversions.get(order.order_id)
            if order.partner_id != partner_id or conversion is None:
                continue
            if not within(conversion.occurred_at):
                continue
            row = by[conversion.amount.currency]
            row["orders"] += 1
            row["revenue"] += conversion.net.minor_units
        for rid in main.rewards_by_referral.get(partner.account_referral, ()):
            reward = main.rewards[rid]
            granted = reward.granted
            if (
                reward.customer_id == partner_id
                and granted is not None
                and within(reward.created_at)
            ):
                _add_reward(by[granted.currency], reward)
        return [PartnerFigures(currency=c, **dict(by[c])) for c in sorted(by)]

    def set_payout_terms(
        self, partner_id: str, threshold: Money | None, hold_seconds: int | None
    ) -> None:
        old = self._t.partners.get(partner_id)
        if old is not None:
            new = attrs.evolve(old, payout_threshold=threshold, hold_seconds=hold_seconds)
            self._set(self._t.partners, partner_id, new)  # type: ignore[arg-type]  # invariant dict

    def set_group_payout_terms(
        self, group_id: str, threshold: Money | None, hold_seconds: int | None
    ) -> None:
        old = self._t.groups.get(group_id)
        if old is not None:
            new = attrs.evolve(old, payout_threshold=threshold, hold_seconds=hold_seconds)
            self._set(self._t.groups, group_id, new)  # type: ignore[arg-type]  # invariant dict

    def set_verification(self, partner_id: str, ok: bool, reference: str | None) -> bool:
        old = self._t.partners.get(partner_id)
        if old is None or (old.verified, old.verification_ref) == (ok, reference):
            return False
        new = attrs.evolve(old, verified=ok, verification_ref=reference)
        self._set(self._t.partners, partner_id, new)  # type: ignore[arg-type]  # invariant dict
        return True

    def due(
        self, *, currency: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[PartnerDue]:
        found: list[PartnerDue] = []
        rewards = self._main.rewards
        for pid in sorted(self._t.partners):
            if after is not None and pid < after[0]:
                continue
            partner = self._t.partners[pid]
            by: dict[str, int] = defaultdict(int)
            for rid in self._main.rewards_by_referral.get(partner.account_referral, ()):
                reward = rewards[rid]
                if reward.customer_id == pid and reward.amount is not None:
                    by[reward.amount.currency] += _payable(reward)
            threshold = self._threshold(partner)
            for cur in sorted(by):
                if (currency is not None and cur != currency) or (
                    after is not None and (pid, cur) <= after
                ):
                    continue
                minimum = 1
                if threshold is not None and threshold.currency == cur:
                    minimum = max(threshold.minor_units, 1)
                if by[cur] >= minimum:
                    amount = Money.from_minor(by[cur], cur)
                    found.append(PartnerDue(pid, amount, _in(threshold, cur)))
                    if len(found) == limit:
                        return found
        return found

    def _threshold(self, partner: Partner) -> Money | None:
        if partner.payout_threshold is not None or partner.group is None:
            return partner.payout_threshold
        group = self._t.groups.get(partner.group)
        return None if group is None else group.payout_threshold

    def available_rewards(self, partner_id: str, currency: str) -> list[str]:
        partner = self._t.partners.get(partner_id)
        if partner is None:
            return []
        rewards = self._main.rewards
        return sorted(
            rid
            for rid in self._main.rewards_by_referral.get(partner.account_referral, ())
            if rewards[rid].customer_id == partner_id
            and rewards[rid].state is RewardState.AVAILABLE
            and rewards[rid].amount is not None
            and rewards[rid].amount.currency == currency  # type: ignore[union-attr]  # checked
        )

    def add_batch(
        self, batch_id: str, currency: str | None, at: datetime
    ) -> tuple[tuple[str | None, datetime], bool]:
        require_aware(at)
        existing = self._t.batches.get(batch_id)
        if existing is not None:
            return existing, False
        self._set(self._t.batches, batch_id, (currency, at))  # type: ignore[arg-type]  # invariant dict
        return (currency, at), True

    def batch(self, batch_id: str) -> tuple[str | None, datetime] | None:
        return self._t.batches.get(batch_id)

    def add_payout_line(self, line: PartnerPayout) -> None:
        if line.line_id in self._t.lines:
            return
        self._set(self._t.lines, line.line_id, line)  # type: ignore[arg-type]  # invariant dict
        mine = self._t.lines_of[line.batch_id]
        mine.append(line.line_id)
        self._undo.append(mine.pop)

    def set_line_outcome(
        self, line_id: str, status: LineStatus, reference: str | None, reason: str | None
    ) -> bool:
        old = self._t.lines.get(line_id)
        if old is None or old.status is not LineStatus.PENDING:
            return False
        new = attrs.evolve(old, status=status, reference=reference, reason=reason)
        self._set(self._t.lines, line_id, new)  # type: ignore[arg-type]  # invariant dict
        return True

    def batch_lines(self, batch_id: str) -> list[PartnerPayout]:
        return [self._t.lines[i] for i in self._t.lines_of.get(batch_id, ())]

    def add_signals(self, partner_id: str, signals: Iterable[Signal]) -> None:
        known = self._t.signals[partner_id]
        for signal in signals:
            if signal not in known:
                known.add(signal)
                self._undo.append(lambda s=signal: known.discard(s))  # type: ignore[misc]

    def signals(self, partner_id: str) -> frozenset[Signal]:
        return frozenset(self._t.signals.get(partner_id, ()))

    def check_order(self, order_id: str, partner_id: str, at: datetime, *, clicked: bool) -> bool:
        require_aware(at)
        if order_id in self._t.checks:
            return False
        self._set(self._t.checks, order_id, (partner_id, at, clicked))  # type: ignore[arg-type]  # invariant dict
        return True

    def unclicked(self, partner_id: str, since: datetime, until: datetime) -> int:
        return sum(
            1
            for p, at, clicked in self._t.checks.values()
            if p == partner_id and not clicked and since < at <= until
        )

    def add_review(self, review: PartnerReview) -> bool:
        require_aware(review.opened_at)
        if review.reward_id in self._t.open_reviews:
            return False
        self._set(self._t.reviews, review.id, review)  # type: ignore[arg-type]  # invariant dict
        self._set(self._t.open_reviews, review.reward_id, review.id)  # type: ignore[arg-type]  # invariant dict
        return True

    def open_review(self, reward_id: str) -> PartnerReview | None:
        review_id = self._t.open_reviews.get(reward_id)
        return None if review_id is None else self._t.reviews[review_id]

    def open_reviews(
        self,
        limit: int,
        *,
        after: str | None = None,
        partner_id: str | None = None,
        order_id: str | None = None,
        reason: str | None = None,
    ) -> list[PartnerReview]:
        found: list[PartnerReview] = []
        started = after is None
        for review in self._t.reviews.values():
            if not started:
                started = review.id == after
                continue
            if (
                review.decision is None
                and (partner_id is None or review.partner_id == partner_id)
                and (order_id is None or review.order_id == order_id)
                and (reason is None or reason in review.reasons)
            ):
                found.append(review)
                if len(found) == limit:
                    break
        return found

    def get_review(self, review_id: str) -> PartnerReview | None:
        return self._t.reviews.get(review_id)

    def decide(self, review_id: str, decision: str, note: str | None, at: datetime) -> bool:
        require_aware(at)
        review = self._t.reviews.get(review_id)
        if review is None or review.decision is not None:
            return False
        closed = attrs.evolve(review, decision=decision, decided_at=at, note=note)
        self._set(self._t.reviews, review_id, closed)  # type: ignore[arg-type]  # invariant dict
        open_ = self._t.open_reviews
        del open_[review.reward_id]
        self._undo.append(lambda: open_.__setitem__(review.reward_id, review_id))
        return True

    def revenue(
        self, partner_id: str, since: datetime, until: datetime, *, before: str
    ) -> list[Money]:
        conversions = self._main.conversions
        this = conversions.get(before)
        cutoff = None if this is None else this.recorded_at or this.occurred_at
        by: dict[str, Money] = {}
        for order in self._t.orders.values():
            conversion = conversions.get(order.order_id)
            if order.partner_id != partner_id or conversion is None or cutoff is None:
                continue
            recorded = conversion.recorded_at or conversion.occurred_at
            if order.order_id == before or recorded > cutoff:
                continue
            if since <= conversion.occurred_at < until:
                net = conversion.net
                by[net.currency] = by[net.currency] + net if net.currency in by else net
        return [by[c] for c in sorted(by)]

    def add_submission(self, submission: PartnerSubmission) -> tuple[PartnerSubmission, bool]:
        require_aware(submission.submitted_at)
        existing = self._t.submissions.get(submission.id)
        if existing is not None:
            return existing, False
        self._set(self._t.submissions, submission.id, submission)  # type: ignore[arg-type]  # invariant dict
        return submission, True

    def submission(self, submission_id: str) -> PartnerSubmission | None:
        return self._t.submissions.get(submission_id)

    def decide_submission(
        self,
        submission_id: str,
        state: SubmissionState,
        at: datetime,
        *,
        reason: str | None = None,
        reward_id: str | None = None,
    ) -> bool:
        require_aware(at)
        old = self._t.submissions.get(submission_id)
        if old is None or old.state is not SubmissionState.PENDING:
            return False
        new = attrs.evolve(old, state=state, decided_at=at, reason=reason, reward_id=reward_id)
        self._set(self._t.submissions, submission_id, new)  # type: ignore[arg-type]  # invariant dict
        return True

    def period_spend(self, since: datetime, until: datetime) -> tuple[list[Money], int]:
        by: dict[str, Money] = {}
        points = 0
        for reward in self._main.rewards.values():
            if reward.state is RewardState.REVERSED or not since <= reward.created_at < until:
                continue
            points += reward.points
            amount = reward.amount
            if amount is not None:
                by[amount.currency] = (
                    by[amount.currency] + amount if amount.currency in by else amount
                )
        return [by[c] for c in sorted(by)], points

    def add_order_attributes(
        self, order_id: str, attributes: Mapping[str, tuple[str, ...]]
    ) -> Mapping[str, tuple[str, ...]]:
        existing = self._t.attributes.get(order_id)
        if existing is not None:
            return existing
        self._set(self._t.attributes, order_id, dict(attributes))  # type: ignore[arg-type]  # invariant dict
        return dict(attributes)

    def order_attributes(self, order_id: str) -> Mapping[str, tuple[str, ...]] | None:
        found = self._t.attributes.get(order_id)
        return None if found is None else dict(found)

    def first_attributed(self, partner_id: str, customer_id: str) -> datetime | None:
        times = [
            o.attributed_at
            for o in self._t.orders.values()
            if o.partner_id == partner_id and o.customer_id == customer_id
        ]
        return min(times, default=None)


def _payable(reward: Reward) -> int:
    """What one reward adds to its partner's payable: available value less what is owed."""
    value = 0
    if reward.state is RewardState.AVAILABLE and reward.amount is not None:
        netted = 0 if reward.netted is None else reward.netted.minor_units
        value = reward.amount.minor_units - netted
    if reward.clawback is not None:
        recovered = 0 if reward.recovered is None else reward.recovered.minor_units
        value -= max(reward.clawback.minor_units - recovered, 0)
    return value


def _in(threshold: Money | None, currency: str) -> Money | None:
    return threshold if threshold is not None and threshold.currency == currency else None


def _add_reward(row: dict[str, int], reward: Reward) -> None:
    """Add one partner reward to its currency's figures."""
    granted = 0 if reward.granted is None else reward.granted.minor_units
    row["fees" if reward.order_id is None else "commission"] += granted
    current = 0 if reward.amount is None else reward.amount.minor_units
    if reward.state is RewardState.REVERSED:
        row["reversed"] += granted
    else:
        # What netting took of an available reward paid a debt: it counts as paid.
        netted = 0 if reward.netted is None else reward.netted.minor_units
        if reward.state is RewardState.AVAILABLE:
            row["available"] += current - netted
            row["paid"] += netted
        else:
            row[reward.state.value] += current
        row["reversed"] += granted - current  # what refunds took before it was paid
    if reward.clawback is not None:
        claw = reward.clawback.minor_units
        recovered = 0 if reward.recovered is None else reward.recovered.minor_units
        row["clawed_back"] += claw
        row["owed"] += max(claw - recovered, 0)
