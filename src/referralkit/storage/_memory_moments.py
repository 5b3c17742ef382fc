"""The memory store's moments (`referralkit.moments.MomentRepository`): its own tables."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from referralkit.model import ReferralStatus
from referralkit.moments import DecisionRecord, MomentRecord, MomentStats
from referralkit.storage._errors import require_aware
from referralkit.storage._memory_tables import MemoryTables

__all__ = ["MemoryMoments", "MomentTables"]


class MomentTables:
    """Moments by (customer, key), decisions in the order stored, shares by decision."""

    def __init__(self) -> None:
        self.moments: dict[tuple[str, str], MomentRecord] = {}
        self.by_customer: dict[str, list[MomentRecord]] = defaultdict(list)
        self.decisions: dict[str, DecisionRecord] = {}  # insertion order is store order
        self.decision_keys: dict[tuple[str, str], str] = {}  # (customer, key) -> decision id
        self.shares: dict[str, tuple[str | None, datetime]] = {}


class MemoryMoments:
    """`MomentRepository` over `MomentTables`, reading referrals and orders of the store."""

    def __init__(
        self, moments: MomentTables, tables: MemoryTables, undo: list[Callable[[], object]]
    ) -> None:
        self._m = moments
        self._t = tables
        self._undo = undo

    def add(self, moment: MomentRecord) -> tuple[MomentRecord, bool]:
        require_aware(moment.occurred_at)
        m = self._m
        key = (moment.customer_id, moment.key)
        stored = m.moments.get(key)
        if stored is not None:
            return stored, False
        m.moments[key] = moment
        mine = m.by_customer[moment.customer_id]
        mine.append(moment)
        self._undo.append(lambda: m.moments.pop(key))
        self._undo.append(mine.pop)
        return moment, True

    def latest_score(self, customer_id: str) -> MomentRecord | None:
        scored = [
            (r.occurred_at, i, r)
            for i, r in enumerate(self._m.by_customer.get(customer_id, ()))
            if r.score is not None
        ]
        return max(scored, key=lambda x: (x[0], x[1]))[2] if scored else None

    def last_order_refunded(self, customer_id: str) -> bool | None:
        orders = [c for c in self._t.conversions.values() if c.referee == customer_id]
        if not orders:
            return None
        last = max(orders, key=lambda c: (c.occurred_at, c.order_number, c.order_id))
        return last.refunded is not None and last.refunded.amount > 0

    def add_decision(self, decision: DecisionRecord) -> tuple[DecisionRecord, bool]:
        require_aware(decision.decided_at, decision.follow_until, decision.next_allowed_at)
        m = self._m
        if decision.key is not None:
            key = (decision.customer_id, decision.key)
            stored = m.decision_keys.get(key)
            if stored is not None:
                return m.decisions[stored], False
            m.decision_keys[key] = decision.id
            self._undo.append(lambda: m.decision_keys.pop(key))
        m.decisions[decision.id] = decision
        self._undo.append(lambda: m.decisions.pop(decision.id))
        return decision, True

    def decision(self, decision_id: str) -> DecisionRecord | None:
        return self._m.decisions.get(decision_id)

    def invited_since(self, customer_id: str, since: datetime) -> list[datetime]:
        require_aware(since)
        return sorted(
            d.decided_at
            for d in self._m.decisions.values()
            if d.customer_id == customer_id and d.invite and d.decided_at >= since
        )

    def add_share(self, decision_id: str, channel: str | None, at: datetime) -> bool:
        require_aware(at)
        m = self._m
        if decision_id in m.shares:
            return False
        m.shares[decision_id] = (channel, at)
        self._undo.append(lambda: m.shares.pop(decision_id))
        return True

    def stats(self, since: datetime | None, until: datetime | None) -> list[MomentStats]:
        require_aware(since, until)
        t, m = self._t, self._m
        rows: dict[str, list[int]] = {}
        invited: dict[str, list[DecisionRecord]] = defaultdict(list)
        for d in m.decisions.values():
            if d.invite:
                invited[d.customer_id].append(d)
        ends: dict[str, datetime] = {}  # decision id -> end of its window
        for mine in invited.values():
            mine.sort(key=lambda d: (d.decided_at, d.id))
            for d, after in zip(mine, [*mine[1:], None], strict=True):
                end = d.follow_until
                if after is not None and after.decided_at < end:
                    end = after.decided_at
                ends[d.id] = end
        for d in m.decisions.values():
            if (since is not None and d.decided_at < since) or (
                until is not None and d.decided_at >= until
            ):
                continue
            row = rows.setdefault(d.moment, [0, 0, 0, 0, 0, 0])
            row[0] += 1
            if not d.invite:
                continue
            row[1] += 1
            row[2] += d.id in m.shares
            friends = [
                rid
                for rid in t.referrals_by_referrer.get(d.customer_id, ())
                if t.referrals[rid].status is not ReferralStatus.REJECTED
                and d.decided_at <= t.referrals[rid].attributed_at < ends[d.id]
            ]
            row[3] += bool(friends)
            row[4] += len(friends)
            row[5] += sum(1 for rid in friends if t.conversions_by_referral.get(rid))
        return [MomentStats(name, *row) for name, row in sorted(rows.items())]


class MemoryDeliveries:
    """`referralkit.moments.DeliveryRepository` over a dict: order id -> delivery time."""

    def __init__(self, deliveries: dict[str, datetime], undo: list[Callable[[], object]]) -> None:
        self._d = deliveries
        self._undo = undo

    def add(
        self, order_id: str, delivered_at: datetime, recorded_at: datetime
    ) -> tuple[datetime, bool]:
        require_aware(delivered_at, recorded_at)
        d = self._d
        stored = d.get(order_id)
        if stored is not None:
            return stored, False
        d[order_id] = delivered_at
        self._undo.append(lambda: d.pop(order_id))
        return delivered_at, True

    def get(self, order_id: str) -> datetime | None:
        return self._d.get(order_id)
