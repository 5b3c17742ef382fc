"""Invitation figures: the facts a store aggregates (`InvitationFacts`).

Computed by the store (SQL aggregates on SQLite), like `referralkit.metrics.GroupFacts`,
over the invitations issued in a window; `Invitations.facts` reads them.
"""

from __future__ import annotations

import attrs

__all__ = ["InvitationFacts"]


@attrs.frozen(slots=True)
class InvitationFacts:
    """Aggregates over the invitations a store holds.

    ``issued`` counts invitations, ``uses`` the sign-ups they allow in all, ``redeemed``
    the sign-ups taken, ``holders`` the distinct holders.
    """

    issued: int = 0
    uses: int = 0
    redeemed: int = 0
    holders: int = 0

    @property
    def conversion(self) -> float | None:
        """Redeemed uses over issued uses (a rate, not money); None when none was issued."""
        return None if self.uses == 0 else self.redeemed / self.uses
