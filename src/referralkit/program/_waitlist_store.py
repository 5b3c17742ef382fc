"""What a store must offer for a waitlist: `WaitlistRepository`, reached through `WAITLIST`.

A repository capability (``uow.waitlist``): a store without it runs every other part of
a program, and `program.waitlist` names what it lacks. The store decides: the join
sequence is assigned by the insert (unique per member), a referrer's count grows by one
conditional write per accepted friend, positions are computed in one query, and a
waitlister is admitted by ``UPDATE ... WHERE state = 'waiting'`` checked by its row
count, so concurrent admits let each person in once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from referralkit.metrics._waitlist import WaitlistFacts
from referralkit.model import WaitlistEntry
from referralkit.protocols import Capability

__all__ = ["PLACES_PER_REFERRAL", "WAITLIST", "WaitlistRepository"]

#: How many places a waitlister moves up per friend who joins, unless configured.
PLACES_PER_REFERRAL = 5


@runtime_checkable
class WaitlistRepository(Protocol):
    """Waitlisters, their referrals and admission. The contract every implementation guarantees.

    Positions rank the waiting by score ``seq - per_referral * referred``, then by ``seq``
    (earlier joiners first); the admitted hold no position.
    """

    def add(self, entry: WaitlistEntry) -> tuple[WaitlistEntry, bool]:
        """Insert ``entry`` unless its member is on the list; stored (its ``seq`` set), and new?

        The store assigns ``seq`` (one more than any before). Raises
        `referralkit.storage.CodeTaken` when another waitlister has its code.
        """
        ...

    def get(self, member: str) -> WaitlistEntry | None:
        """The member's entry."""
        ...

    def by_code(self, code: str) -> WaitlistEntry | None:
        """The entry whose waitlist code is ``code`` (canonical text)."""
        ...

    def credit(self, member: str) -> bool:
        """Count one more accepted friend for ``member``; whether the member exists."""
        ...

    def position(self, member: str, per_referral: int) -> int | None:
        """The waiting member's 1-based position; None when admitted or unknown."""
        ...

    def top(self, limit: int, per_referral: int) -> list[WaitlistEntry]:
        """Up to ``limit`` waiting entries in position order."""
        ...

    def admit(self, member: str, now: datetime) -> bool:
        """Admit a waiting member; whether this call admitted them."""
        ...

    def facts(self, per_referral: int) -> WaitlistFacts:
        """Aggregates over every entry."""
        ...


#: The waitlist (`WaitlistRepository` as ``uow.waitlist``): `referralkit.ReferralProgram.waitlist`
#: needs it; a store without it is a `ConfigError` naming what it lacks.
WAITLIST: Capability[WaitlistRepository] = Capability("a waitlist", "waitlist", WaitlistRepository)
