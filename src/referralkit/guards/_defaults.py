"""`default_guards`: what a program runs when it is given no guards."""

from __future__ import annotations

from datetime import timedelta

from referralkit.guards._cycle import ReferralCycle
from referralkit.guards._disposable import DisposableEmail
from referralkit.guards._duplicate import DuplicateReferee
from referralkit.guards._self_referral import SelfReferral
from referralkit.guards._shared import SharedSignals
from referralkit.guards._velocity import Velocity
from referralkit.protocols import Guard

__all__ = ["default_guards"]

#: What one person owns: a match blocks. A shared home address or IP is only reviewed.
HOUSEHOLD_SAFE_BLOCK = ("email", "phone", "device", "payment")

#: More referrals than this in a day, per referrer or per network, go to review.
DEFAULT_DAILY_LIMIT = 20


def default_guards() -> list[Guard]:
    """The guards a program runs when ``guards`` is not given (``guards=[]`` runs none).

    Self-referral blocks on email, phone, device and card and reviews on a shared
    address or IP; duplicate referees are blocked; more than 20 referrals a day per
    referrer or network, throwaway emails, and three referees of one referrer on one
    device, card or network are reviewed; rings of up to three are blocked.
    """
    return [
        SelfReferral(block_on=HOUSEHOLD_SAFE_BLOCK, review_on=("address", "ip")),
        DuplicateReferee(),
        Velocity(limit=DEFAULT_DAILY_LIMIT, window=timedelta(days=1)),
        DisposableEmail(),
        ReferralCycle(max_length=3),
        SharedSignals(threshold=3),
    ]
