"""The outbox: events written with the state they describe, drained and acknowledged by the host."""

from __future__ import annotations

from collections.abc import Iterable

from referralkit._validate import event_ids, positive_int
from referralkit.model import Event
from referralkit.program._core import ProgramCore

__all__ = ["ack", "pending_events"]


def pending_events(core: ProgramCore, limit: int) -> list[Event]:
    """`referralkit.ReferralProgram.pending_events`."""
    limit = positive_int("limit", limit)
    with core.transaction() as uow:
        return uow.events.pending(limit)


def ack(core: ProgramCore, ids: Iterable[int]) -> int:
    """`referralkit.ReferralProgram.ack`."""
    checked = event_ids(ids)
    with core.transaction() as uow:
        return uow.events.ack(checked)
