"""The memory store's group-buys: `GroupRepository` over plain dicts.

Units of work run one at a time under the store's lock, so a check and its write inside
one method are one atomic step, as a conditional ``UPDATE`` is in SQL. Each write records
how to undo itself, like every other memory table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

import attrs

from referralkit.metrics._groups import GroupFacts
from referralkit.model import Group, GroupState, Membership
from referralkit.storage._errors import CodeTaken, require_aware

__all__ = ["MemoryGroupTables", "MemoryGroups"]

_Undo = Callable[[], object]


class MemoryGroupTables:
    """The rows: groups by id (members kept on the group), places by (group, member)."""

    def __init__(self) -> None:
        self.groups: dict[str, Group] = {}
        self.by_code: dict[str, str] = {}
        self.places: dict[tuple[str, str], Membership] = {}
        self.by_order: dict[str, tuple[str, str]] = {}
        self.of_customer: dict[str, list[str]] = defaultdict(list)


class MemoryGroups:
    """`referralkit.program.GroupRepository` for `referralkit.storage.MemoryStore`."""

    def __init__(self, tables: MemoryGroupTables, undo: list[_Undo]) -> None:
        self._t = tables
        self._undo = undo

    def _put(self, group: Group) -> None:
        old = self._t.groups.get(group.id)
        self._t.groups[group.id] = group
        if old is None:
            self._undo.append(lambda: self._t.groups.pop(group.id))
        else:
            self._undo.append(lambda: self._t.groups.__setitem__(group.id, old))

    def _place(self, membership: Membership) -> None:
        key = (membership.group_id, membership.member)
        t = self._t
        t.places[key] = membership
        t.of_customer[membership.member].append(membership.group_id)

        def undo() -> None:
            del t.places[key]
            t.of_customer[membership.member].pop()

        self._undo.append(undo)

    def add(self, group: Group) -> tuple[Group, bool]:
        require_aware(group.created_at)
        require_aware(group.deadline)
        t = self._t
        found = t.groups.get(group.id)
        if found is not None:
            return found, False
        if group.code in t.by_code:
            raise CodeTaken(f"group code {group.code!r} is already issued", value=group.code)
        stored = attrs.evolve(group, members=(group.initiator,))
        self._put(stored)
        t.by_code[group.code] = group.id
        self._undo.append(lambda: t.by_code.pop(group.code))
        self._place(Membership(group.id, group.initiator, group.created_at))
        return stored, True

    def get(self, group_id: str) -> Group | None:
        return self._t.groups.get(group_id)

    def by_code(self, code: str) -> Group | None:
        found = self._t.by_code.get(code)
        return None if found is None else self._t.groups[found]

    def add_member(self, membership: Membership) -> bool:
        require_aware(membership.joined_at)
        if (membership.group_id, membership.member) in self._t.places:
            return False
        self._place(attrs.evolve(membership, accepted=True, reasons=()))
        return True

    def take_place(self, group_id: str, member: str, now: datetime) -> Group | None:
        require_aware(now)
        group = self._t.groups.get(group_id)
        if group is None or group.state is not GroupState.OPEN:
            return None
        if group.filled >= group.size or group.deadline <= now or member in group.members:
            return None
        members = (*group.members, member)
        full = len(members) >= group.size
        updated = attrs.evolve(
            group,
            members=members,
            state=GroupState.COMPLETED if full else GroupState.OPEN,
            closed_at=now if full else None,
        )
        self._put(updated)
        return updated

    def close(self, group_id: str, state: GroupState, now: datetime) -> bool:
        require_aware(now)
        group = self._t.groups.get(group_id)
        if group is None or group.state is not GroupState.OPEN:
            return False
        if state is GroupState.EXPIRED and group.deadline > now:
            return False
        self._put(attrs.evolve(group, state=state, closed_at=now))
        return True

    def due(self, now: datetime, limit: int) -> list[Group]:
        require_aware(now)
        groups = self._t.groups.values()
        found = sorted(
            (g for g in groups if g.state is GroupState.OPEN and g.deadline <= now),
            key=lambda g: (g.deadline, g.id),
        )
        return found[:limit]

    def membership(self, group_id: str, member: str) -> Membership | None:
        return self._t.places.get((group_id, member))

    def memberships(self, group_id: str) -> list[Membership]:
        group = self._t.groups.get(group_id)
        if group is None:
            return []
        return [self._t.places[group_id, m] for m in group.members]

    def attach_order(self, group_id: str, member: str, order_id: str) -> Membership | None:
        t = self._t
        key = (group_id, member)
        place = t.places.get(key)
        if place is None or place.order_id is not None or order_id in t.by_order:
            return place
        updated = attrs.evolve(place, order_id=order_id)
        t.places[key] = updated
        t.by_order[order_id] = key

        def undo() -> None:
            t.places[key] = place
            del t.by_order[order_id]

        self._undo.append(undo)
        return updated

    def by_order(self, order_id: str) -> Membership | None:
        key = self._t.by_order.get(order_id)
        return None if key is None else self._t.places[key]

    def open_for(self, customer: str) -> list[Group]:
        groups = (self._t.groups[g] for g in dict.fromkeys(self._t.of_customer.get(customer, ())))
        open_ = [g for g in groups if g.state is GroupState.OPEN and customer in g.members]
        return sorted(open_, key=lambda g: (g.created_at, g.id))

    def facts(self, since: datetime | None, until: datetime | None) -> GroupFacts:
        groups = [
            g
            for g in self._t.groups.values()
            if (since is None or g.created_at >= since) and (until is None or g.created_at < until)
        ]
        count = {s: sum(1 for g in groups if g.state is s) for s in GroupState}
        return GroupFacts(
            started=len(groups),
            completed=count[GroupState.COMPLETED],
            expired=count[GroupState.EXPIRED],
            cancelled=count[GroupState.CANCELLED],
            members=sum(g.filled for g in groups),
            new_customers=sum(
                1 for g in groups for m in g.members if self._t.places[g.id, m].new_customer
            ),
            initiators=len({g.initiator for g in groups}),
            fill_seconds=tuple(
                (g.closed_at - g.created_at).total_seconds()
                for g in groups
                if g.state is GroupState.COMPLETED and g.closed_at is not None
            ),
        )
