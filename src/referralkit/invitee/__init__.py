"""The invitee's side: the landing page's content, display names, and app-link claims.

``program.landing(link_or_code)`` returns a `Landing` (the `Offer`s in words and
numbers, who invited them, the campaign, whether the code is usable) without writing;
``program.set_display_name`` is how a referrer chooses the name friends see. For apps,
``program.claim(token, customer_id)`` spends a landing's claim token once. The store
capabilities are `DISPLAY_NAMES` and `CLAIMS`.
"""

from referralkit.invitee._claims import CLAIMS, ClaimRepository, ClaimToken
from referralkit.invitee._model import Landing, Offer
from referralkit.invitee._names import (
    DISPLAY_NAMES,
    MAX_DISPLAY_NAME,
    DisplayNameRepository,
    check_display_name,
)

__all__ = [
    "CLAIMS",
    "DISPLAY_NAMES",
    "MAX_DISPLAY_NAME",
    "ClaimRepository",
    "ClaimToken",
    "DisplayNameRepository",
    "Landing",
    "Offer",
    "check_display_name",
]
