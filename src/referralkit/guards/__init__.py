"""Fraud and self-referral guards: pure checks run on every attribution.

A guard is any object with a ``name`` and ``check(context) -> Verdict`` (see
`referralkit.Guard`). The built-ins compare hashed identity signals
(`IdentityNormalizer` and `SignalHasher` make them) and the history the program
reads for them; `default_guards` is the set a program runs unless told otherwise.
"""

from __future__ import annotations

from referralkit.context import Decision, GuardContext, GuardHistory, Signal, Verdict
from referralkit.guards._address import ADDRESS_ABBREVIATIONS, normalize_address
from referralkit.guards._cycle import ReferralCycle
from referralkit.guards._defaults import default_guards
from referralkit.guards._disposable import BUILTIN_DISPOSABLE_DOMAINS, DisposableEmail
from referralkit.guards._duplicate import DuplicateReferee
from referralkit.guards._email import DEFAULT_EMAIL_RULES, EmailRules, email_domain
from referralkit.guards._network import normalize_ip
from referralkit.guards._phone import PHONE_REGIONS, PhoneRegion, normalize_phone
from referralkit.guards._reasons import REASON_CODES
from referralkit.guards._self_referral import SelfReferral
from referralkit.guards._shared import SharedSignals
from referralkit.guards._structural import ALREADY_REFERRED, SELF_REFERRAL_BY_ID, Structural
from referralkit.guards._velocity import Velocity
from referralkit.guards.identity import (
    SIGNAL_KINDS,
    IdentityNormalizer,
    SignalHasher,
    identity_signals,
    normalize_device,
    normalize_email,
    normalize_payment,
)
from referralkit.protocols import Guard

__all__ = [
    "ADDRESS_ABBREVIATIONS",
    "ALREADY_REFERRED",
    "BUILTIN_DISPOSABLE_DOMAINS",
    "DEFAULT_EMAIL_RULES",
    "PHONE_REGIONS",
    "REASON_CODES",
    "SELF_REFERRAL_BY_ID",
    "SIGNAL_KINDS",
    "Decision",
    "DisposableEmail",
    "DuplicateReferee",
    "EmailRules",
    "Guard",
    "GuardContext",
    "GuardHistory",
    "IdentityNormalizer",
    "PhoneRegion",
    "ReferralCycle",
    "SelfReferral",
    "SharedSignals",
    "Signal",
    "SignalHasher",
    "Structural",
    "Velocity",
    "Verdict",
    "default_guards",
    "email_domain",
    "identity_signals",
    "normalize_address",
    "normalize_device",
    "normalize_email",
    "normalize_ip",
    "normalize_payment",
    "normalize_phone",
]
