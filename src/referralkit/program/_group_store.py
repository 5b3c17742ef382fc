"""What a store must offer for group-buys: `GroupRepository`, reached through `GROUPS`.

A repository capability (``uow.groups``): a store without it runs every other part of a
program, and `program.groups` names what it lacks. The store, never the program,
decides who takes a group's last place: a place is taken by one conditional write
(``UPDATE ... WHERE state = 'open' AND filled < size``, checked by its row count, or one
serialised unit of work), and a member is unique per group, so a group never holds more
members than its size and completes exactly once however many workers race to fill it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from referralkit.metrics._groups import GroupFacts
from referralkit.model import Group, GroupState, Membership
from referralkit.protocols import Capability

__all__ = ["GROUPS", "GroupRepository"]


@runtime_checkable
class GroupRepository(Protocol):
    """Group-buys and their members. The contract every implementation guarantees.

    - `add` stores a group with its initiator as its first member, once per id; a code
      (canonical text) belongs to one group (`referralkit.storage.CodeTaken`).
    - `add_member` inserts a member once per (group, member), whatever the order of
      concurrent calls; `take_place` takes one place atomically, only while the group is
      open, has a place left and its deadline is later than ``now``, and completes the
      group when the place was its last.
    - `close` ends an open group once: of concurrent closes, and of a close racing the
      last place, exactly one wins. Each is decided by the store in one statement (or one
      serialised unit of work), never by a read and a later write.
    """

    def add(self, group: Group) -> tuple[Group, bool]:
        """Insert ``group`` (its initiator as member) unless its id exists; stored, and new?

        Raises `referralkit.storage.CodeTaken` when another group has its code.
        """
        ...

    def get(self, group_id: str) -> Group | None:
        """The group with this id, its members in join order."""
        ...

    def by_code(self, code: str) -> Group | None:
        """The group whose code is ``code`` (canonical text)."""
        ...

    def add_member(self, membership: Membership) -> bool:
        """Insert a membership unless (group, member) exists; whether this call inserted it."""
        ...

    def take_place(self, group_id: str, member: str, now: datetime) -> Group | None:
        """Take one place for ``member`` (just added) in an open group with room.

        Only before the group's deadline (strictly after ``now``).

        Returns the group after the place was taken (completed, with ``closed_at`` set to
        ``now``, when it was the last place), or None when no place was taken.
        """
        ...

    def close(self, group_id: str, state: GroupState, now: datetime) -> bool:
        """End an open group in ``state``; whether this call ended it.

        Expired: only once its deadline is at or before ``now``; cancelled: any time.
        """
        ...

    def due(self, now: datetime, limit: int) -> list[Group]:
        """Up to ``limit`` open groups whose deadline is at or before ``now``, oldest first."""
        ...

    def membership(self, group_id: str, member: str) -> Membership | None:
        """The member's place in the group, if they hold one."""
        ...

    def memberships(self, group_id: str) -> list[Membership]:
        """Every place in the group, in join order (the initiator's first)."""
        ...

    def attach_order(self, group_id: str, member: str, order_id: str) -> Membership | None:
        """Attach ``order_id`` to the member's place unless it has an order; the stored place.

        None when the member holds no place. An order id belongs to one place at most.
        """
        ...

    def by_order(self, order_id: str) -> Membership | None:
        """The place ``order_id`` is attached to."""
        ...

    def open_for(self, customer: str) -> list[Group]:
        """The open groups the customer is a member of (started or joined), oldest first."""
        ...

    def facts(self, since: datetime | None, until: datetime | None) -> GroupFacts:
        """Aggregates over the groups started in ``[since, until)`` (None: unbounded)."""
        ...


#: Group-buys (`GroupRepository` as ``uow.groups``): `referralkit.ReferralProgram.groups`
#: needs it; a store without it is a `ConfigError` naming what it lacks.
GROUPS: Capability[GroupRepository] = Capability("group-buys", "groups", GroupRepository)
