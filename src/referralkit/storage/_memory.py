"""The in-memory store: first-class for tests and demos, same contract as SQL stores.

Units of work are serialised by a lock; each write records how to undo itself, so a
unit of work that raises leaves nothing behind. Like a SQL store, it refuses naive
datetimes with `StorageError`: it could not compare them with the others.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from referralkit.codes import code_key
from referralkit.context import Signal
from referralkit.errors import UnknownOrder, UnknownReferral
from referralkit.metrics._source import Click
from referralkit.model import (
    Conversion,
    Event,
    Referral,
    ReferralCode,
    ReferralStatus,
    Reward,
    RewardState,
)
from referralkit.money import Money
from referralkit.protocols import LedgerEntry, RefundRecord
from referralkit.storage._errors import CodeTaken, require_aware, require_storable
from referralkit.storage._memory_groups import MemoryGroups, MemoryGroupTables
from referralkit.storage._memory_invitations import MemoryInvitations, MemoryInvitationTables
from referralkit.storage._memory_invitee import InviteeTables, MemoryClaims, MemoryDisplayNames
from referralkit.storage._memory_moments import MemoryDeliveries, MemoryMoments, MomentTables
from referralkit.storage._memory_partners import MemoryPartners, MemoryPartnerTables
from referralkit.storage._memory_tables import MemoryTables
from referralkit.storage._memory_waitlist import MemoryWaitlist, MemoryWaitlistTables

if TYPE_CHECKING:
    from referralkit.storage._memory_metrics import MemoryMetricsSource

__all__ = ["MemoryStore"]

_Undo = Callable[[], object]
_V = TypeVar("_V")
_ACCEPTED = frozenset({ReferralStatus.PENDING, ReferralStatus.QUALIFIED})


def _outranks(new: Referral, kept: Referral) -> bool:
    """Whether ``new`` (stored after ``kept``) is a referee's entry among a referrer's friends.

    The standing referral wins; among rejected ones, the most recent.
    """
    if kept.status is not ReferralStatus.REJECTED:
        return False
    return new.status is not ReferralStatus.REJECTED or new.attributed_at >= kept.attributed_at


def _storable_ids(event_ids: Iterable[int]) -> list[int]:
    ids = list(event_ids)
    require_storable(*ids)
    return ids


class _Repo:
    def __init__(self, tables: MemoryTables, undo: list[_Undo]) -> None:
        self._t = tables
        self._undo = undo


class _Codes(_Repo):
    def add(self, code: ReferralCode) -> ReferralCode:
        require_aware(code.created_at, code.expires_at)
        require_storable(code.max_uses)
        t = self._t
        existing = t.code_by_owner.get((code.owner, code.campaign))
        if existing is not None:
            return t.codes[existing]
        key = code_key(code.code)
        if code.code in t.codes or key in t.code_keys:
            raise CodeTaken(f"code {code.code!r} is already issued", value=code.code)
        t.codes[code.code] = code
        t.code_keys[key] = code.code
        t.code_by_owner[code.owner, code.campaign] = code.code
        t.owner_codes[code.owner].append(code.code)
        self._undo.append(lambda: t.codes.pop(code.code))
        self._undo.append(lambda: t.code_keys.pop(key))
        self._undo.append(lambda: t.code_by_owner.pop((code.owner, code.campaign)))
        self._undo.append(t.owner_codes[code.owner].pop)
        return code

    def get(self, code: str) -> ReferralCode | None:
        return self._t.codes.get(code)

    def find(self, key: str) -> ReferralCode | None:
        code = self._t.code_keys.get(key)
        return None if code is None else self._t.codes[code]

    def for_owner(self, owner: str) -> list[ReferralCode]:
        return [self._t.codes[c] for c in self._t.owner_codes.get(owner, ())]


class _Referrals(_Repo):
    def add(self, referral: Referral) -> Referral:
        require_aware(referral.attributed_at)
        t = self._t
        active = referral.status is not ReferralStatus.REJECTED
        if active:
            existing = t.active_by_referee.get(referral.referee)
            if existing is not None:
                return t.referrals[existing]
            t.active_by_referee[referral.referee] = referral.id
            self._undo.append(lambda: t.active_by_referee.pop(referral.referee))
        t.referrals[referral.id] = referral
        t.referrals_by_referrer[referral.referrer].append(referral.id)
        t.referrals_by_referee[referral.referee].append(referral.id)
        self._undo.append(lambda: t.referrals.pop(referral.id))
        self._undo.append(t.referrals_by_referrer[referral.referrer].pop)
        self._undo.append(t.referrals_by_referee[referral.referee].pop)
        return referral

    def get(self, referral_id: str) -> Referral | None:
        return self._t.referrals.get(referral_id)

    def active_for_referee(self, referee: str) -> Referral | None:
        rid = self._t.active_by_referee.get(referee)
        return None if rid is None else self._t.referrals[rid]

    def set_status(
        self, referral_id: str, status: ReferralStatus, reasons: tuple[str, ...]
    ) -> Referral:
        t = self._t
        old = t.referrals.get(referral_id)
        if old is None:
            raise UnknownReferral(f"no referral {referral_id!r}", value=referral_id)
        new = attrs.evolve(old, status=status, reasons=reasons)
        t.referrals[referral_id] = new
        self._undo.append(lambda: t.referrals.__setitem__(referral_id, old))
        was_active = old.status is not ReferralStatus.REJECTED
        if was_active and status is ReferralStatus.REJECTED:
            t.active_by_referee.pop(old.referee, None)
            self._undo.append(lambda: t.active_by_referee.__setitem__(old.referee, old.id))
        return new

    def set_qualified(self, referral_id: str, qualified_at: datetime | None) -> Referral:
        require_aware(qualified_at)
        t = self._t
        old = t.referrals.get(referral_id)
        if old is None:
            raise UnknownReferral(f"no referral {referral_id!r}", value=referral_id)
        status = ReferralStatus.PENDING if qualified_at is None else ReferralStatus.QUALIFIED
        new = attrs.evolve(old, status=status, qualified_at=qualified_at)
        t.referrals[referral_id] = new
        self._undo.append(lambda: t.referrals.__setitem__(referral_id, old))
        return new

    def qualified_count_at(self, referrer: str, at: datetime) -> int:
        return sum(
            1
            for r in self._of(referrer)
            if r.status is ReferralStatus.QUALIFIED
            and r.qualified_at is not None
            and r.qualified_at <= at
        )

    def _of(self, referrer: str) -> Iterator[Referral]:
        t = self._t
        return (t.referrals[r] for r in t.referrals_by_referrer.get(referrer, ()))

    def count_for_code(self, code: str) -> int:
        return sum(
            1
            for r in self._t.referrals.values()
            if r.code == code and r.status is not ReferralStatus.REJECTED
        )

    def counts_for_referrer(self, referrer: str) -> Mapping[ReferralStatus, int]:
        counts = dict.fromkeys(ReferralStatus, 0)
        for r in self._of(referrer):
            counts[r.status] += 1
        return counts

    def referrer_times(self, referrer: str, since: datetime) -> list[datetime]:
        return sorted(
            r.attributed_at
            for r in self._of(referrer)
            if r.status is not ReferralStatus.REJECTED and r.attributed_at >= since
        )

    def in_review(self, limit: int) -> list[Referral]:
        require_storable(limit)
        found = [r for r in self._t.referrals.values() if r.status is ReferralStatus.REVIEW]
        found.sort(key=lambda r: (r.attributed_at, r.id))
        return found[:limit]

    def _page(self, found: list[Referral], after: str | None, limit: int) -> list[Referral]:
        """``found`` in (attribution time, id) order, after the cursor referral ``after``."""
        found.sort(key=lambda r: (r.attributed_at, r.id))
        if after is not None:
            cursor = self._t.referrals.get(after)
            if cursor is None:
                return []  # an unknown cursor continues nothing
            place = (cursor.attributed_at, cursor.id)
            found = [r for r in found if (r.attributed_at, r.id) > place]
        return found[:limit]

    def review_page(
        self, limit: int, *, after: str | None, reason: str | None, referrer: str | None
    ) -> list[Referral]:
        pool = self._t.referrals.values() if referrer is None else self._of(referrer)
        found = [
            r
            for r in pool
            if r.status is ReferralStatus.REVIEW and (reason is None or reason in r.reasons)
        ]
        return self._page(found, after, limit)

    def friends(self, referrer: str, *, after: str | None, limit: int) -> list[Referral]:
        chosen: dict[str, Referral] = {}
        for r in self._of(referrer):
            kept = chosen.get(r.referee)
            if kept is None or _outranks(r, kept):
                chosen[r.referee] = r
        return self._page(list(chosen.values()), after, limit)

    def rejected_for_referee(self, referee: str) -> Referral | None:
        t = self._t
        latest: Referral | None = None
        for rid in t.referrals_by_referee.get(referee, ()):
            r = t.referrals[rid]
            if r.status is ReferralStatus.REJECTED and (
                latest is None or r.attributed_at >= latest.attributed_at
            ):
                latest = r
        return latest

    def ordered_count(self, referrer: str) -> int:
        ordered = self._t.conversions_by_referral
        return sum(1 for r in self._of(referrer) if r.status in _ACCEPTED and ordered.get(r.id))

    def referrer_of(self, referee: str) -> str | None:
        r = self.active_for_referee(referee)
        return None if r is None else r.referrer

    def referees_of(self, referrer: str, last: int | None = None) -> list[str]:
        require_storable(last)
        if last is None:
            return [
                r.referee for r in self._of(referrer) if r.status is not ReferralStatus.REJECTED
            ]
        newest: list[str] = []
        for rid in reversed(self._t.referrals_by_referrer.get(referrer, ())):
            if len(newest) >= last:
                break
            r = self._t.referrals[rid]
            if r.status is not ReferralStatus.REJECTED:
                newest.append(r.referee)
        return newest[::-1]

    def reassign(
        self,
        referral_id: str,
        code: ReferralCode,
        reasons: tuple[str, ...],
        policy_version: str | None = None,
    ) -> Referral:
        t = self._t
        old = t.referrals.get(referral_id)
        if old is None:
            raise UnknownReferral(f"no referral {referral_id!r}", value=referral_id)
        new = attrs.evolve(
            old,
            code=code.code,
            referrer=code.owner,
            campaign=code.campaign,
            reasons=reasons,
            policy_version=policy_version or old.policy_version,
        )
        t.referrals[referral_id] = new
        self._undo.append(lambda: t.referrals.__setitem__(referral_id, old))
        if new.referrer != old.referrer:
            before = list(t.referrals_by_referrer[old.referrer])
            after = list(t.referrals_by_referrer[new.referrer])
            t.referrals_by_referrer[old.referrer].remove(referral_id)
            mine = t.referrals_by_referrer[new.referrer]
            mine.append(referral_id)
            mine.sort(key=lambda rid: t.referrals[rid].attributed_at)  # stable: insertion order

            def _restore() -> None:
                t.referrals_by_referrer[old.referrer][:] = before
                t.referrals_by_referrer[new.referrer][:] = after

            self._undo.append(_restore)
        return new


class _Conversions(_Repo):
    def add(self, conversion: Conversion) -> tuple[Conversion, bool]:
        require_aware(conversion.occurred_at)
        t = self._t
        existing = t.conversions.get(conversion.order_id)
        if existing is not None:
            return existing, False
        t.conversions[conversion.order_id] = conversion
        t.conversions_by_referee[conversion.referee] += 1
        self._undo.append(lambda: t.conversions.pop(conversion.order_id))

        def _dec() -> None:
            t.conversions_by_referee[conversion.referee] -= 1

        self._undo.append(_dec)
        if conversion.referral_id is not None:
            t.conversions_by_referral[conversion.referral_id].append(conversion.order_id)
            self._undo.append(t.conversions_by_referral[conversion.referral_id].pop)
        return conversion, True

    def get(self, order_id: str) -> Conversion | None:
        return self._t.conversions.get(order_id)

    def count_for_referee(self, referee: str) -> int:
        return self._t.conversions_by_referee.get(referee, 0)

    def set_refunded(self, order_id: str, refunded: Money) -> Conversion:
        t = self._t
        old = t.conversions.get(order_id)
        if old is None:
            raise UnknownOrder(f"no order {order_id!r}", value=order_id)
        new = attrs.evolve(old, refunded=refunded)
        t.conversions[order_id] = new
        self._undo.append(lambda: t.conversions.__setitem__(order_id, old))
        return new

    def for_referral(self, referral_id: str) -> list[Conversion]:
        t = self._t
        return [t.conversions[o] for o in t.conversions_by_referral.get(referral_id, ())]

    def for_referrals(self, referral_ids: Sequence[str]) -> list[Conversion]:
        ids = set(referral_ids)
        found = [c for c in self._t.conversions.values() if c.referral_id in ids]
        found.sort(key=lambda c: c.occurred_at)  # stable: recording order on a tie
        return found

    def add_refund(self, refund: RefundRecord) -> tuple[RefundRecord, bool]:
        require_aware(refund.occurred_at)
        t = self._t
        existing = t.refunds.get(refund.refund_id)
        if existing is not None:
            return existing, False
        t.refunds[refund.refund_id] = refund
        self._undo.append(lambda: t.refunds.pop(refund.refund_id))
        return refund, True


class _Rewards(_Repo):
    def add(self, reward: Reward) -> tuple[Reward, bool]:
        require_aware(reward.created_at, reward.hold_until)
        t = self._t
        natural = (reward.customer_id, reward.key)
        existing = t.reward_keys.get(natural)
        if existing is not None:
            return t.rewards[existing], False
        t.rewards[reward.id] = reward
        t.reward_keys[natural] = reward.id
        self._undo.append(lambda: t.rewards.pop(reward.id))
        self._undo.append(lambda: t.reward_keys.pop(natural))
        if reward.coupon_code is not None:
            t.coupons[reward.coupon_code] = reward.id
            self._undo.append(lambda: t.coupons.pop(reward.coupon_code or ""))
        self._count_spend(None, reward)
        for index, value in (
            (t.rewards_by_order, reward.order_id),
            (t.rewards_by_customer, reward.customer_id),
            (t.rewards_by_referral, reward.referral_id),
        ):
            if value is not None:
                index[value].append(reward.id)
                self._undo.append(index[value].pop)
        return reward, True

    def get(self, reward_id: str) -> Reward | None:
        return self._t.rewards.get(reward_id)

    def update(self, reward: Reward) -> None:
        require_aware(reward.hold_until)
        t = self._t
        old = t.rewards[reward.id]
        t.rewards[reward.id] = reward
        self._undo.append(lambda: t.rewards.__setitem__(reward.id, old))
        self._count_spend(old, reward)

    def _count_spend(self, old: Reward | None, new: Reward) -> None:
        """Move the running spend totals from ``old``'s value to ``new``'s."""
        if _spend_of(old) == _spend_of(new):
            return  # most moves (held to available, paid) leave the spend as it was
        t = self._t
        before_money, before_points = dict(t.spend_money), t.spend_points
        for reward, sign in ((old, -1), (new, 1)):
            if reward is None or reward.state is RewardState.REVERSED:
                continue
            t.spend_points += sign * reward.points
            if reward.amount is not None:
                currency = reward.amount.currency
                total = t.spend_money.get(currency, Money.zero(currency))
                t.spend_money[currency] = total + reward.amount * sign

        def _restore() -> None:
            t.spend_money, t.spend_points = before_money, before_points

        self._undo.append(_restore)

    def _list(self, index: dict[str, list[str]], key: str) -> list[Reward]:
        return [self._t.rewards[r] for r in index.get(key, ())]

    def for_order(self, order_id: str) -> list[Reward]:
        return self._list(self._t.rewards_by_order, order_id)

    def for_customer(self, customer_id: str) -> list[Reward]:
        return self._list(self._t.rewards_by_customer, customer_id)

    def for_referral(self, referral_id: str) -> list[Reward]:
        return self._list(self._t.rewards_by_referral, referral_id)

    def for_referrals(self, referral_ids: Sequence[str]) -> list[Reward]:
        ids = set(referral_ids)
        return [r for r in self._t.rewards.values() if r.referral_id in ids]

    def due(self, now: datetime, limit: int) -> list[Reward]:
        require_storable(limit)
        found = [
            r
            for r in self._t.rewards.values()
            if r.state is RewardState.HELD and r.hold_until is not None and r.hold_until <= now
        ]
        found.sort(key=lambda r: (r.hold_until, r.id))
        return found[:limit]

    def append(self, entries: Iterable[LedgerEntry]) -> None:
        t = self._t
        for entry in entries:
            require_aware(entry.occurred_at)
            t.entries.append(entry)
            t.entries_by_customer[entry.customer_id].append(entry)
            self._undo.append(t.entries.pop)
            self._undo.append(t.entries_by_customer[entry.customer_id].pop)

    def balances(self, customer_id: str) -> list[tuple[str, str | None, Money | None, int]]:
        sums: dict[tuple[str, str | None], tuple[Money | None, int]] = {}
        for e in self._t.entries_by_customer.get(customer_id, ()):
            money, points = sums.get((e.bucket, e.currency), (None, 0))
            if e.amount is not None:
                money = e.amount if money is None else money + e.amount
            sums[e.bucket, e.currency] = (money, points + e.points)
        return sorted(
            ((b, c, m, p) for (b, c), (m, p) in sums.items()),
            key=lambda row: (row[0], row[1] or ""),
        )

    def spend(self) -> tuple[Mapping[str, Money], int]:
        return dict(self._t.spend_money), self._t.spend_points

    def for_referrer_since(self, referrer: str, since: datetime) -> list[Reward]:
        t = self._t
        ids = t.referrals_by_referrer.get(referrer, ())
        found = [
            reward
            for rid in ids
            for reward in self._list(t.rewards_by_referral, rid)
            if reward.state is not RewardState.REVERSED and reward.created_at >= since
        ]
        order = {reward_id: i for i, reward_id in enumerate(t.rewards)}
        found.sort(key=lambda r: order[r.id])
        return found

    def by_coupon(self, coupon_code: str) -> Reward | None:
        reward_id = self._t.coupons.get(coupon_code)
        return None if reward_id is None else self._t.rewards[reward_id]

    def add_redemption(
        self, coupon_code: str, order_id: str, customer_id: str, at: datetime
    ) -> tuple[str, bool]:
        del customer_id
        require_aware(at)
        t = self._t
        existing = t.redemptions.get(coupon_code)
        if existing is not None:
            return existing, False
        t.redemptions[coupon_code] = order_id
        self._undo.append(lambda: t.redemptions.pop(coupon_code))
        return order_id, True

    def available(
        self, *, kind: str | None, currency: str | None, after: str | None, limit: int
    ) -> list[Reward]:
        require_storable(limit)
        found = sorted(
            (
                r
                for r in self._t.rewards.values()
                if r.state is RewardState.AVAILABLE
                and (kind is None or r.kind.value == kind)
                and (currency is None or (r.amount is not None and r.amount.currency == currency))
                and (after is None or r.id > after)
            ),
            key=lambda r: r.id,
        )
        return found[:limit]

    def outstanding(self, customer_id: str, currency: str) -> list[Reward]:
        return [
            r
            for r in self.for_customer(customer_id)
            if r.clawback is not None
            and r.clawback.currency == currency
            and r.clawback > (r.recovered or Money.zero(currency))
        ]

    def add_payout(
        self, payout_id: str, reward_ids: Sequence[str], at: datetime
    ) -> tuple[tuple[str, ...], bool]:
        require_aware(at)
        t = self._t
        existing = t.payouts.get(payout_id)
        if existing is not None:
            return existing, False
        t.payouts[payout_id] = tuple(reward_ids)
        self._undo.append(lambda: t.payouts.pop(payout_id))
        return tuple(reward_ids), True

    def add_settlement(
        self, reference: str, customer_id: str, amount: Money, at: datetime
    ) -> tuple[Money, bool]:
        del customer_id
        require_aware(at)
        t = self._t
        existing = t.settlements.get(reference)
        if existing is not None:
            return existing, False
        t.settlements[reference] = amount
        self._undo.append(lambda: t.settlements.pop(reference))
        return amount, True


class _Events(_Repo):
    def __init__(self, tables: MemoryTables, undo: list[_Undo], next_id: Callable[[], int]) -> None:
        super().__init__(tables, undo)
        self._next_id = next_id

    def add(self, type: str, payload: Mapping[str, Any], occurred_at: datetime) -> Event:  # noqa: A002 - mirrors the protocol
        require_aware(occurred_at)
        event = Event(id=self._next_id(), type=type, payload=dict(payload), occurred_at=occurred_at)
        events = self._t.events
        events[event.id] = event
        self._undo.append(lambda: events.pop(event.id))
        return event

    def _undelivered(self, now: datetime | None) -> Iterator[Event]:
        """Unacknowledged events not given up, in id order; with ``now``, claimable then."""
        t = self._t
        for e in t.events.values():
            if e.id in t.acked or e.id in t.dead:
                continue
            at = t.claimable_at.get(e.id)
            if now is None or at is None or at <= now:
                yield e

    def pending(self, limit: int, now: datetime | None = None) -> list[Event]:
        require_aware(now)
        require_storable(limit)
        return list(itertools.islice(self._undelivered(now), limit))

    def ack(self, event_ids: Iterable[int]) -> int:
        t = self._t
        event_ids = _storable_ids(event_ids)
        new = {i for i in event_ids if i in t.events and i not in t.acked}
        t.acked |= new
        self._undo.append(lambda: t.acked.difference_update(new))
        return len(new)

    def _set(self, table: dict[int, _V], key: int, value: _V | None) -> None:
        """``table[key] = value`` (None: deleted), undone with the unit of work."""
        restore: _Undo
        if key in table:
            old = table[key]
            restore = functools.partial(table.__setitem__, key, old)
        else:
            restore = functools.partial(table.pop, key, None)
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
        self._undo.append(restore)

    def claim(
        self, limit: int, now: datetime, until: datetime, worker: str | None = None
    ) -> list[Event]:
        require_aware(now, until)
        require_storable(limit)
        t = self._t
        claimed = []
        for event in list(itertools.islice(self._undelivered(now), limit)):
            leased = attrs.evolve(event, attempts=event.attempts + 1)
            self._set(t.events, event.id, leased)
            self._set(t.claimable_at, event.id, until)
            self._set(t.workers, event.id, worker)
            claimed.append(leased)
        return claimed

    def _unacked(self, event_ids: Iterable[int]) -> list[int]:
        t = self._t
        return [
            i for i in dict.fromkeys(_storable_ids(event_ids)) if i in t.events and i not in t.acked
        ]

    def release(self, event_ids: Iterable[int], at: datetime) -> int:
        require_aware(at)
        t = self._t
        ids = self._unacked(event_ids)
        for i in ids:
            self._set(t.claimable_at, i, at)
            self._set(t.workers, i, None)
            self._set(t.dead, i, None)
        return len(ids)

    def dead_letter(self, event_ids: Iterable[int], at: datetime) -> int:
        require_aware(at)
        t = self._t
        ids = [i for i in self._unacked(event_ids) if i not in t.dead]
        for i in ids:
            self._set(t.dead, i, at)
            self._set(t.claimable_at, i, None)
            self._set(t.workers, i, None)
        return len(ids)

    def dead_letters(self, limit: int) -> list[Event]:
        require_storable(limit)
        t = self._t
        dead = (t.events[i] for i in sorted(t.dead) if i not in t.acked)
        return list(itertools.islice(dead, limit))

    def prune(self, before: datetime, limit: int) -> int:
        require_aware(before)
        require_storable(limit)
        t = self._t
        old = [e for e in t.events.values() if e.id in t.acked and e.occurred_at < before]
        gone = old[:limit]
        if not gone:
            return 0
        side: tuple[dict[int, Any], ...] = (t.claimable_at, t.workers, t.dead)
        kept = [(table, e.id, table[e.id]) for table in side for e in gone if e.id in table]
        for e in gone:
            del t.events[e.id]
            t.acked.discard(e.id)
            for table in side:
                table.pop(e.id, None)

        def restore() -> None:
            merged = sorted([*t.events.values(), *gone], key=lambda e: e.id)
            t.events.clear()
            t.events.update((e.id, e) for e in merged)
            t.acked.update(e.id for e in gone)
            for table, key, value in kept:
                table[key] = value

        self._undo.append(restore)
        return len(gone)


class _Clicks(_Repo):
    def __init__(self, tables: MemoryTables, undo: list[_Undo], next_id: Callable[[], int]) -> None:
        super().__init__(tables, undo)
        self._next_id = next_id

    def add(self, click: Click) -> Click:
        require_aware(click.occurred_at)
        t = self._t
        stored = attrs.evolve(click, id=self._next_id())
        t.clicks.append(stored)
        mine = t.clicks_by_visitor[stored.visitor]
        mine.append(stored)
        self._undo.append(t.clicks.pop)
        self._undo.append(mine.pop)
        return stored

    def for_visitor(
        self, visitors: Collection[str], since: datetime, until: datetime
    ) -> list[Click]:
        require_aware(since, until)
        by_visitor = self._t.clicks_by_visitor
        found = [
            c
            for v in dict.fromkeys(visitors)
            for c in by_visitor.get(v, ())
            if since <= c.occurred_at <= until
        ]
        found.sort(key=lambda c: (c.occurred_at, c.id))
        return found


class _Identities(_Repo):
    def add(self, customer_id: str, signals: Iterable[Signal]) -> None:
        t = self._t
        mine = t.signals[customer_id]
        for s in signals:
            if s in mine:
                continue
            mine.add(s)
            t.signal_owners[s].append(customer_id)
            self._undo.append(lambda s=s: mine.discard(s))  # type: ignore[misc]
            self._undo.append(t.signal_owners[s].pop)

    def signals(self, customer_id: str) -> frozenset[Signal]:
        return frozenset(self._t.signals.get(customer_id, ()))

    def customers_with(self, signal: Signal, limit: int) -> list[str]:
        require_storable(limit)
        return list(self._t.signal_owners.get(signal, ()))[:limit]

    def referees_since(
        self, signal: Signal, since: datetime, limit: int
    ) -> list[tuple[str, datetime]]:
        require_storable(limit)
        t = self._t
        found = []
        for customer in t.signal_owners.get(signal, ()):  # each owner once (see add)
            rid = t.active_by_referee.get(customer)
            if rid is not None:
                at = t.referrals[rid].attributed_at
                if at >= since:
                    found.append((customer, at))
        if len(found) > 1:
            found.sort(key=lambda pair: (pair[1], pair[0]), reverse=True)
        return found[:limit]

    def signal_counts(
        self, customer_ids: Sequence[str], only: Collection[Signal] | None = None
    ) -> Mapping[Signal, int]:
        if only is not None:
            ids = set(customer_ids)
            owners = self._t.signal_owners
            found = {s: sum(1 for o in owners.get(s, ()) if o in ids) for s in only}
            return {s: n for s, n in found.items() if n}
        counts: dict[Signal, int] = defaultdict(int)
        for cid in set(customer_ids):
            for s in self._t.signals.get(cid, ()):
                counts[s] += 1
        return dict(counts)


class _Terms(_Repo):
    def add(self, version: str, definition: str, at: datetime) -> str:
        require_aware(at)
        t = self._t
        existing = t.terms.get(version)
        if existing is not None:
            return existing
        t.terms[version] = definition
        self._undo.append(lambda: t.terms.pop(version))
        return definition

    def get(self, version: str) -> str | None:
        return self._t.terms.get(version)


class _Meta(_Repo):
    def add(self, name: str, value: str, at: datetime) -> str:
        require_aware(at)
        t = self._t
        existing = t.meta.get(name)
        if existing is not None:
            return existing
        t.meta[name] = value
        self._undo.append(lambda: t.meta.pop(name))
        return value

    def put(self, name: str, value: str, at: datetime) -> None:
        require_aware(at)
        t = self._t
        old = t.meta.get(name)
        t.meta[name] = value
        if old is None:
            self._undo.append(lambda: t.meta.pop(name))
        else:
            self._undo.append(lambda: t.meta.__setitem__(name, old))

    def get(self, name: str) -> str | None:
        return self._t.meta.get(name)


@attrs.define
class _MemoryUnitOfWork:
    codes: _Codes
    referrals: _Referrals
    conversions: _Conversions
    rewards: _Rewards
    events: _Events
    terms: _Terms
    identities: _Identities
    clicks: _Clicks
    meta: _Meta
    moments: MemoryMoments
    deliveries: MemoryDeliveries
    display_names: MemoryDisplayNames
    claims: MemoryClaims
    groups: MemoryGroups
    invitations: MemoryInvitations
    waitlist: MemoryWaitlist
    partners: MemoryPartners


class MemoryStore:
    """A complete store in process memory. Thread-safe; units of work run one at a time."""

    def __init__(self) -> None:
        self._tables = MemoryTables()
        self._lock = threading.RLock()
        self._event_seq = 0
        self._click_seq = 0
        self._moments = MomentTables()
        self._deliveries: dict[str, datetime] = {}
        self._invitee = InviteeTables()
        self._groups = MemoryGroupTables()
        self._invitations = MemoryInvitationTables()
        self._waitlist = MemoryWaitlistTables()
        self._partners = MemoryPartnerTables()

    def _next_event_id(self) -> int:
        self._event_seq += 1
        return self._event_seq

    def _next_click_id(self) -> int:
        self._click_seq += 1
        return self._click_seq

    @contextmanager
    def transaction(self) -> Iterator[_MemoryUnitOfWork]:
        """Open a unit of work; it is undone entirely if the block raises."""
        with self._lock:
            undo: list[_Undo] = []
            seq, click_seq = self._event_seq, self._click_seq
            t = self._tables
            uow = _MemoryUnitOfWork(
                codes=_Codes(t, undo),
                referrals=_Referrals(t, undo),
                conversions=_Conversions(t, undo),
                rewards=_Rewards(t, undo),
                events=_Events(t, undo, self._next_event_id),
                terms=_Terms(t, undo),
                identities=_Identities(t, undo),
                clicks=_Clicks(t, undo, self._next_click_id),
                meta=_Meta(t, undo),
                moments=MemoryMoments(self._moments, t, undo),
                deliveries=MemoryDeliveries(self._deliveries, undo),
                display_names=MemoryDisplayNames(self._invitee, undo),
                claims=MemoryClaims(self._invitee, undo),
                groups=MemoryGroups(self._groups, undo),
                invitations=MemoryInvitations(self._invitations, undo),
                waitlist=MemoryWaitlist(self._waitlist, undo),
                partners=MemoryPartners(self._partners, t, undo),
            )
            try:
                yield uow
            except BaseException:
                for step in reversed(undo):
                    step()
                self._event_seq, self._click_seq = seq, click_seq
                raise

    def close(self) -> None:
        """Nothing to release; present for the `Store` protocol."""

    def metrics_source(self) -> MemoryMetricsSource:
        """Read the store's facts as metrics aggregates (`referralkit.metrics.MetricsSource`)."""
        from referralkit.storage._memory_metrics import MemoryMetricsSource  # noqa: PLC0415 - metrics load on first use

        return MemoryMetricsSource(self._tables, self._lock, self._partners)


def _spend_of(reward: Reward | None) -> tuple[int, Money | None]:
    """What ``reward`` adds to the running spend: nothing once reversed."""
    if reward is None or reward.state is RewardState.REVERSED:
        return (0, None)
    return (reward.points, reward.amount)
