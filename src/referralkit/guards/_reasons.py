"""Every reason code referralkit puts on a referral, and what it means.

Codes are stable strings: a host may match on them, so they are added, never renamed.
The reference page's table is checked against this mapping by the test suite.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from referralkit.guards._duplicate import PERSONAL_KINDS
from referralkit.guards._partner import BANNED, LEAKED_CODE, OWN_CODE
from referralkit.guards._structural import ALREADY_REFERRED, SELF_REFERRAL_BY_ID

__all__ = ["REASON_CODES"]

_KIND_WORDS = {
    "email": "email address (aliases included)",
    "phone": "phone number",
    "device": "device id",
    "payment": "payment card fingerprint",
    "address": "postal address",
    "ip": "IP address",
    "network": "network (/24 or /64)",
}

#: Reason code -> what it means. Built-in guards and the program use only these.
REASON_CODES: Mapping[str, str] = MappingProxyType(
    {
        SELF_REFERRAL_BY_ID: "the referee is the referrer (same customer id)",
        **{
            f"self_referral.{kind}": f"the referee has the referrer's {words}"
            for kind, words in _KIND_WORDS.items()
        },
        ALREADY_REFERRED: "the referee was already referred",
        "duplicate_referee.existing_customer": "the host flagged the referee as a customer",
        "duplicate_referee.has_orders": "the referee has orders on record already",
        **{
            f"duplicate_referee.{kind}": f"another customer already has the referee's {words}"
            for kind, words in _KIND_WORDS.items()
            if kind in PERSONAL_KINDS
        },
        "velocity.referrer": "too many referrals for this referrer within the window",
        "velocity.network": "too many referees from this network within the window",
        "disposable_email": "the referee's email is at a throwaway domain",
        "referral_cycle": "the referral closes a ring (A refers B refers A)",
        **{
            f"shared_signals.{kind}": f"other referees of this referrer share this {words}"
            for kind, words in _KIND_WORDS.items()
        },
        "review.approved": "a person approved the referral after review",
        "review.rejected": "a person rejected the referral after review",
        "reassign.operator": "an operator credited the referral to another referrer",
        OWN_CODE: "the buyer is the partner (same id, or one of their identity signals)",
        LEAKED_CODE: "one order too many with the partner's code and no click on their links",
        BANNED: "the partner was banned before this reward was paid",
    }
)
