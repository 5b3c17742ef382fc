"""`PartnerFigures`: what a store adds up for a partner's statement, without pydantic.

Kept apart from the statement model (`referralkit.metrics._partners`) so that the
stores and the program's partner capability load without pydantic; the statement
loads it on first use.
"""

from __future__ import annotations

import attrs

__all__ = ["PartnerFigures"]


@attrs.frozen(slots=True)
class PartnerFigures:
    """A partner's statement in one currency, in minor units, as the store adds it up.

    ``orders`` and ``revenue`` are the partner's checkout orders placed in the window
    (revenue net of refunds); the rest is over the partner's rewards granted in the
    window: ``commission`` and ``fees`` as granted, ``reversed`` what refunds took back
    before payment (of rewards paid since too), the current value of those ``held``,
    ``available`` and ``paid`` (the part of an available reward netted against a debt
    counts as paid: it paid the debt), ``clawed_back`` what refunds took back after
    payment and ``owed`` what of that is still outstanding. ``held + available + paid +
    reversed`` is always ``commission + fees``.
    """

    currency: str
    orders: int = 0
    revenue: int = 0
    commission: int = 0
    fees: int = 0
    reversed: int = 0
    held: int = 0
    available: int = 0
    paid: int = 0
    clawed_back: int = 0
    owed: int = 0
