"""The outbox: events written with the state they describe, claimed, acknowledged, pruned.

A drainer claims events under a lease (`claim_events`): the store hands each event to
one claim at a time, and another claim gets it only once the lease has ended without an
acknowledgement. Delivery is therefore at least once: a drainer that dies after sending
but before `ack` sends again when its lease ends, so handlers must be idempotent (the
event id is the key). A failed delivery is handed back for a later retry
(`release_events`) or given up (`dead_letter`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from referralkit._validate import (
    event_ids,
    opt_aware,
    opt_name,
    positive_int,
    require_duration,
)
from referralkit.errors import InvalidInput
from referralkit.model import Event
from referralkit.program._core import ProgramCore

__all__ = [
    "MAX_CLAIM",
    "MAX_LEASE",
    "ack",
    "claim_events",
    "dead_letter",
    "dead_letters",
    "pending_events",
    "prune_events",
    "release_events",
]

#: The most events one claim hands out.
MAX_CLAIM = 10_000
#: The longest lease a claim may take: a crashed drainer's events wait no longer.
MAX_LEASE = timedelta(days=1)
# Pruning deletes in units of work of this many events, so writers never wait long.
_PRUNE_BATCH = 5_000


def pending_events(core: ProgramCore, limit: int) -> list[Event]:
    """`referralkit.ReferralProgram.pending_events`."""
    limit = positive_int("limit", limit)
    now = core.now()
    with core.transaction() as uow:
        return uow.events.pending(limit, now)


def ack(core: ProgramCore, ids: Iterable[int]) -> int:
    """`referralkit.ReferralProgram.ack`."""
    checked = event_ids(ids)
    with core.transaction() as uow:
        return uow.events.ack(checked)


def claim_events(
    core: ProgramCore, limit: int, lease: timedelta, worker: str | None
) -> list[Event]:
    """`referralkit.ReferralProgram.claim_events`."""
    limit = positive_int("limit", limit)
    if limit > MAX_CLAIM:
        raise InvalidInput(
            f"limit must be at most {MAX_CLAIM} events a claim", value=limit, field="limit"
        )
    lease = require_duration("lease", lease, at_most=MAX_LEASE)
    worker = opt_name("worker", worker)
    now = core.now()
    with core.transaction() as uow:
        return uow.events.claim(limit, now, now + lease, worker)


def release_events(core: ProgramCore, ids: Iterable[int], retry_at: datetime | None) -> int:
    """`referralkit.ReferralProgram.release_events`."""
    checked = event_ids(ids)
    at = opt_aware("retry_at", retry_at) or core.now()
    with core.transaction() as uow:
        return uow.events.release(checked, at)


def dead_letter(core: ProgramCore, ids: Iterable[int]) -> int:
    """`referralkit.ReferralProgram.dead_letter`."""
    checked = event_ids(ids)
    now = core.now()
    with core.transaction() as uow:
        return uow.events.dead_letter(checked, now)


def dead_letters(core: ProgramCore, limit: int) -> list[Event]:
    """`referralkit.ReferralProgram.dead_letters`."""
    limit = positive_int("limit", limit)
    with core.transaction() as uow:
        return uow.events.dead_letters(limit)


def prune_events(core: ProgramCore, older_than: timedelta) -> int:
    """`referralkit.ReferralProgram.prune_events`."""
    older_than = require_duration("older_than", older_than, zero=True)
    now = core.now()
    try:
        before = now - older_than
    except OverflowError:
        return 0  # older than the calendar reaches: nothing is
    pruned = 0
    while True:
        with core.transaction() as uow:
            deleted = uow.events.prune(before, _PRUNE_BATCH)
        pruned += deleted
        if deleted < _PRUNE_BATCH:
            return pruned
