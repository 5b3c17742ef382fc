"""Waitlist figures: the facts a store aggregates (`WaitlistFacts`).

Computed by the store (SQL aggregates on SQLite), like `referralkit.metrics.GroupFacts`;
`Waitlist.facts` reads them, beside `Invitations.facts` for the invitations it leads to.
"""

from __future__ import annotations

import attrs

__all__ = ["WaitlistFacts"]


@attrs.frozen(slots=True)
class WaitlistFacts:
    """Aggregates over everyone who joined the waitlist.

    ``waiting`` is the waitlist's size now, ``admitted`` how many were let in,
    ``referred_joins`` the joins a waitlister's code brought (accepted by the guards),
    ``places_gained`` the places those referrals moved their referrers up in all.
    """

    joined: int = 0
    waiting: int = 0
    admitted: int = 0
    referred_joins: int = 0
    places_gained: int = 0
