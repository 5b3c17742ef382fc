"""What a store must offer for invitations: `InvitationRepository`, reached through `INVITATIONS`.

A repository capability (``uow.invitations``): a store without it runs every other part
of a program, and `program.invitations` names what it lacks. The store, never the
program, decides who takes an invitation's last use: a use is taken by one conditional
write (``UPDATE ... SET used = used + 1 WHERE code = ? AND used < uses``, checked by its
row count, or one serialised unit of work), a redemption is unique per (invitation,
customer), and a holder's quota is checked by the very statement that inserts, so an
invitation never signs up more customers than its uses however many workers race.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from referralkit.metrics._invitations import InvitationFacts
from referralkit.model import Invitation, Redemption
from referralkit.protocols import Capability

__all__ = ["INVITATIONS", "InvitationRepository"]


@runtime_checkable
class InvitationRepository(Protocol):
    """Invitations and their redemptions. The contract every implementation guarantees.

    - `add` stores an invitation once per code, and only while its holder has issued
      fewer than ``quota`` (None: no quota), decided in the same statement.
    - `take_use` takes one use atomically, only while one is left and the invitation is
      unexpired at ``now``; `add_redemption` inserts once per (invitation, customer).
    Each is decided by the store in one statement (or one serialised unit of work), never
    by a read and a later write.
    """

    def add(self, invitation: Invitation, quota: int | None) -> bool:
        """Insert ``invitation`` unless the holder has ``quota`` invitations; whether it was.

        Raises `referralkit.storage.CodeTaken` when its code is taken.
        """
        ...

    def get(self, code: str) -> Invitation | None:
        """The invitation with this code (canonical text)."""
        ...

    def for_holder(self, holder: str) -> list[Invitation]:
        """The holder's invitations, oldest first."""
        ...

    def take_use(self, code: str, now: datetime) -> bool:
        """Take one use of an unexpired invitation with a use left; whether one was taken."""
        ...

    def add_redemption(self, redemption: Redemption) -> bool:
        """Insert a redemption unless (code, customer) exists; whether this call inserted it."""
        ...

    def redemption(self, code: str, customer: str) -> Redemption | None:
        """The customer's redemption of the invitation, if any."""
        ...

    def facts(self, since: datetime | None, until: datetime | None) -> InvitationFacts:
        """Aggregates over the invitations issued in ``[since, until)`` (None: unbounded)."""
        ...


#: Invitations (`InvitationRepository` as ``uow.invitations``):
#: `referralkit.ReferralProgram.invitations` needs it; a store without it is a
#: `ConfigError` naming what it lacks.
INVITATIONS: Capability[InvitationRepository] = Capability(
    "invitations", "invitations", InvitationRepository
)
