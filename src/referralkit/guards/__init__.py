"""Fraud and self-referral guards: pure checks run on every attribution.

A guard is any object with a ``name`` and ``check(context) -> Verdict`` (see
`referralkit.Guard`). The built-ins compare hashed identity signals
(`referralkit.guards.identity` makes them) and the history the program reads for
them; `default_guards` is the set a program runs unless told otherwise. What a guard
sees and says (`GuardContext`, `Verdict`, ...) lives in `referralkit.context`.
"""

from __future__ import annotations

# Importable from here as before; their home (the __all__ they are in) is the module named.
from referralkit.context import Decision as Decision
from referralkit.context import GuardContext as GuardContext
from referralkit.context import GuardHistory as GuardHistory
from referralkit.context import Signal as Signal
from referralkit.context import Verdict as Verdict
from referralkit.guards._address import ADDRESS_ABBREVIATIONS, normalize_address
from referralkit.guards._cycle import ReferralCycle
from referralkit.guards._defaults import default_guards
from referralkit.guards._disposable import BUILTIN_DISPOSABLE_DOMAINS, DisposableEmail
from referralkit.guards._duplicate import DuplicateReferee
from referralkit.guards._email import DEFAULT_EMAIL_RULES, EmailRules, email_domain, normalize_email
from referralkit.guards._network import normalize_ip
from referralkit.guards._partner import LeakedCode, OwnCode
from referralkit.guards._phone import PHONE_REGIONS, PhoneRegion, normalize_phone
from referralkit.guards._reasons import REASON_CODES
from referralkit.guards._self_referral import SelfReferral
from referralkit.guards._shared import SharedSignals
from referralkit.guards._structural import ALREADY_REFERRED, SELF_REFERRAL_BY_ID, Structural
from referralkit.guards._velocity import Velocity
from referralkit.guards.identity import SIGNAL_KINDS as SIGNAL_KINDS
from referralkit.guards.identity import IdentityNormalizer as IdentityNormalizer
from referralkit.guards.identity import SignalHasher as SignalHasher
from referralkit.guards.identity import identity_signals as identity_signals
from referralkit.guards.identity import normalize_device as normalize_device
from referralkit.guards.identity import normalize_payment as normalize_payment
from referralkit.protocols import Guard as Guard

__all__ = [
    "ADDRESS_ABBREVIATIONS",
    "ALREADY_REFERRED",
    "BUILTIN_DISPOSABLE_DOMAINS",
    "DEFAULT_EMAIL_RULES",
    "PHONE_REGIONS",
    "REASON_CODES",
    "SELF_REFERRAL_BY_ID",
    "DisposableEmail",
    "DuplicateReferee",
    "EmailRules",
    "LeakedCode",
    "OwnCode",
    "PhoneRegion",
    "ReferralCycle",
    "SelfReferral",
    "SharedSignals",
    "Structural",
    "Velocity",
    "default_guards",
    "email_domain",
    "normalize_address",
    "normalize_email",
    "normalize_ip",
    "normalize_phone",
]
