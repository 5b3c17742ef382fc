"""The memory store's waitlist: `WaitlistRepository` over plain dicts.

Units of work run one at a time under the store's lock, so a check and its write inside
one method are one atomic step, as a conditional ``UPDATE`` is in SQL. Each write records
how to undo itself, like every other memory table.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import attrs

from referralkit.metrics._waitlist import WaitlistFacts
from referralkit.model import WaitlistEntry, WaitlistState
from referralkit.storage._errors import CodeTaken, require_aware

__all__ = ["MemoryWaitlist", "MemoryWaitlistTables"]

_Undo = Callable[[], object]


class MemoryWaitlistTables:
    """The rows: entries by member, members by code, the last sequence number."""

    def __init__(self) -> None:
        self.entries: dict[str, WaitlistEntry] = {}
        self.by_code: dict[str, str] = {}
        self.seq = 0


def _rank(per_referral: int) -> Callable[[WaitlistEntry], tuple[int, int]]:
    return lambda e: (e.seq - per_referral * e.referred, e.seq)


class MemoryWaitlist:
    """`referralkit.program.WaitlistRepository` for `referralkit.storage.MemoryStore`."""

    def __init__(self, tables: MemoryWaitlistTables, undo: list[_Undo]) -> None:
        self._t = tables
        self._undo = undo

    def _put(self, entry: WaitlistEntry) -> None:
        t = self._t
        old = t.entries[entry.member]
        t.entries[entry.member] = entry
        self._undo.append(lambda: t.entries.__setitem__(entry.member, old))

    def add(self, entry: WaitlistEntry) -> tuple[WaitlistEntry, bool]:
        require_aware(entry.joined_at)
        t = self._t
        found = t.entries.get(entry.member)
        if found is not None:
            return found, False
        if entry.code in t.by_code:
            raise CodeTaken(f"waitlist code {entry.code!r} is already issued", value=entry.code)
        seq = t.seq
        t.seq += 1
        stored = attrs.evolve(entry, seq=t.seq, state=WaitlistState.WAITING, referred=0)
        t.entries[entry.member] = stored
        t.by_code[entry.code] = entry.member

        def undo() -> None:
            del t.entries[entry.member]
            del t.by_code[entry.code]
            t.seq = seq

        self._undo.append(undo)
        return stored, True

    def get(self, member: str) -> WaitlistEntry | None:
        return self._t.entries.get(member)

    def by_code(self, code: str) -> WaitlistEntry | None:
        member = self._t.by_code.get(code)
        return None if member is None else self._t.entries[member]

    def credit(self, member: str) -> bool:
        found = self._t.entries.get(member)
        if found is None:
            return False
        self._put(attrs.evolve(found, referred=found.referred + 1))
        return True

    def _waiting(self, per_referral: int) -> list[WaitlistEntry]:
        waiting = (e for e in self._t.entries.values() if e.state is WaitlistState.WAITING)
        return sorted(waiting, key=_rank(per_referral))

    def position(self, member: str, per_referral: int) -> int | None:
        found = self._t.entries.get(member)
        if found is None or found.state is not WaitlistState.WAITING:
            return None
        mine = _rank(per_referral)(found)
        rank = _rank(per_referral)
        return 1 + sum(
            1 for e in self._t.entries.values() if e.state is found.state and rank(e) < mine
        )

    def top(self, limit: int, per_referral: int) -> list[WaitlistEntry]:
        return self._waiting(per_referral)[:limit]

    def admit(self, member: str, now: datetime) -> bool:
        require_aware(now)
        found = self._t.entries.get(member)
        if found is None or found.state is not WaitlistState.WAITING:
            return False
        self._put(attrs.evolve(found, state=WaitlistState.ADMITTED, admitted_at=now))
        return True

    def facts(self, per_referral: int) -> WaitlistFacts:
        entries = list(self._t.entries.values())
        referred = sum(e.referred for e in entries)
        return WaitlistFacts(
            joined=len(entries),
            waiting=sum(1 for e in entries if e.state is WaitlistState.WAITING),
            admitted=sum(1 for e in entries if e.state is WaitlistState.ADMITTED),
            referred_joins=referred,
            places_gained=per_referral * referred,
        )
