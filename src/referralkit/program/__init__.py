"""The referral program: a small core, and one module per capability beside it.

`ReferralProgram` (``_program``) is the public face: construction and configuration,
and every entry point as a thin call into the capability that does the work. The
core (``_core``: the store, clock, ids, secret, campaigns and terms) is the only place
that opens a unit of work. The capabilities, one concept each:

- ``_enrolment``: codes and links for a customer; ``_lookup`` finds a typed or linked
  code (typos of generated codes, vanity codes by key); ``_code_check`` answers a
  sign-up page (``check_code``, ``owner_of``);
- ``_attribution``: attributing a referee and judging it with the guards
  (``_guard_history`` reads what the guards need; ``_clicks`` tracks clicks and picks
  the winning touch; ``_reassign`` is an operator's override; ``_review`` the queue);
- ``_conversions``: orders, granting what they earn, refunds;
- ``_payouts``: release after the hold, and payment;
- ``_outbox``: claiming, acknowledging, retrying, giving up and pruning events;
- ``_status``: what a referrer sees, and reward lookups; ``_friends`` the friends a
  referrer brought, a page at a time (``_paging`` checks limits and cursors);
- ``_secret``: the check that the store is keyed with the program's secret;
  ``_networks``: the watch over recent attributions' networks (a proxy's address);
- ``_ledger``: how a reward's value moves between balance buckets;
- ``_groups``: group-buys (`Groups`, as ``program.groups``); ``_group_store`` declares
  the store capability they need (`GroupRepository`, `GROUPS`);
- ``_invitations``: invitation-only sign-up (`Invitations`, as ``program.invitations``);
  ``_invitation_store`` declares its store capability (`InvitationRepository`,
  `INVITATIONS`); ``_waitlist``: the waitlist before launch (`Waitlist`, as
  ``program.waitlist``), its store capability in ``_waitlist_store`` (`WAITLIST`).
- ``_partners``: partner programmes (`Partners`, as ``program.partners``); ``_commissions``
  what a partner's code typed at checkout earns; ``_partner_store`` the store capability
  (`PartnerRepository`, `PARTNERS`); ``_partner_payouts`` paying partners, with its own
  store capability (`PartnerPayoutRepository`, `PARTNER_PAYOUTS`).

See *Architecture* in the docs for the layers and where a new capability goes.
"""

from __future__ import annotations

from referralkit.program._commissions import Precedence
from referralkit.program._core import utc_now
from referralkit.program._group_store import GROUPS, GroupRepository
from referralkit.program._groups import Groups
from referralkit.program._invitation_store import INVITATIONS, InvitationRepository
from referralkit.program._invitations import Invitations
from referralkit.program._partner_review import PartnerRules
from referralkit.program._partner_review_store import PARTNER_REVIEWS, PartnerReviewRepository
from referralkit.program._partner_store import (
    PARTNER_PAYOUTS,
    PARTNERS,
    PartnerPayoutRepository,
    PartnerRepository,
)
from referralkit.program._partners import Partners
from referralkit.program._program import ReferralProgram
from referralkit.program._waitlist import Waitlist
from referralkit.program._waitlist_store import WAITLIST, WaitlistRepository

__all__ = [
    "GROUPS",
    "INVITATIONS",
    "PARTNERS",
    "PARTNER_PAYOUTS",
    "PARTNER_REVIEWS",
    "WAITLIST",
    "GroupRepository",
    "Groups",
    "InvitationRepository",
    "Invitations",
    "PartnerPayoutRepository",
    "PartnerRepository",
    "PartnerReviewRepository",
    "PartnerRules",
    "Partners",
    "Precedence",
    "ReferralProgram",
    "Waitlist",
    "WaitlistRepository",
]

# ``utc_now`` stays importable from here (the default clock); it is documented on the core.
_ = utc_now
