"""What policies and guards are given, and what they give back.

Policies and guards are pure functions: the program reads everything they need
from storage first and hands it over in one of these frozen contexts.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime

import attrs

from referralkit.model import (
    Beneficiary,
    Conversion,
    Referral,
    ReferralCode,
    RewardKind,
)
from referralkit.money import Money

__all__ = [
    "COSTLY_CONTEXT",
    "Decision",
    "Grant",
    "GuardContext",
    "GuardHistory",
    "PastReward",
    "RewardContext",
    "Signal",
    "Verdict",
    "policy_needs",
]

#: A hashed identity signal: ``(kind, keyed hash)``, e.g. ``("email", "9f2c...")``.
Signal = tuple[str, str]


@attrs.frozen(slots=True)
class PastReward:
    """A reward already granted, as a policy sees it (for caps, budgets, windows)."""

    key: str
    policy: str
    amount: Money | None
    points: int
    granted_at: datetime


@attrs.frozen(slots=True)
class RewardContext:
    """Everything a reward policy may look at for one conversion.

    ``qualified`` counts the referrer's qualified referrals including this one;
    ``order_number`` is 1 for the referee's first order, 2 for the next, and so on.
    ``referrer_revenue`` is read only for a policy whose ``needs`` name a period
    (``referrer_revenue:month:UTC``): per period key, the referrer's partner revenue in
    the calendar period that contains the order, before this order, by currency.
    ``period_spend`` likewise (``program_spend:month:UTC``): per period key, the
    programme's spend (money by currency, and points) in the calendar period that
    contains ``now``. ``event`` is ``order``, or what a partner's fee is evaluated for
    with an order of zero: ``lead`` (a sign-up, `PerLead`) or ``click`` (`PerClick`).
    ``order_attributes`` are what the host sent with the order (``convert(attributes=)``),
    read for a policy that names ``order_attributes`` in ``needs``.
    """

    referral: Referral
    conversion: Conversion
    qualified: int
    order_number: int
    referrer_rewards: tuple[PastReward, ...]
    program_spend: Mapping[str, Money]
    program_points: int
    campaign: str
    now: datetime
    referral_conversions: tuple[Conversion, ...] = ()
    referrer_revenue: Mapping[str, Mapping[str, Money]] = attrs.field(factory=dict)
    event: str = "order"
    order_attributes: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    period_spend: Mapping[str, tuple[Mapping[str, Money], int]] = attrs.field(factory=dict)

    @property
    def first_order(self) -> bool:
        """True when this conversion is the referee's first order."""
        return self.conversion.first_order


@attrs.frozen(slots=True)
class Grant:
    """One reward a policy decides to grant; the program turns it into a ledger entry.

    ``key`` makes the grant idempotent: the same key for the same referral is granted
    once (a milestone uses ``milestone:5`` so retries never pay it twice).
    """

    beneficiary: Beneficiary
    kind: RewardKind
    policy: str
    explanation: str
    key: str
    amount: Money | None = None
    points: int = 0
    perk: str | None = None
    coupon_value: Money | None = None
    proportional: bool = False
    per_referrer: bool = False


class Decision(str, enum.Enum):
    """A guard's answer: let it through, ask a person, or refuse."""

    ALLOW = "allow"
    REVIEW = "review"
    BLOCK = "block"


@attrs.frozen(slots=True)
class Verdict:
    """A guard's answer with machine-readable reasons (``self_referral.email``)."""

    decision: Decision = Decision.ALLOW
    reasons: tuple[str, ...] = ()
    score: float = 0.0

    @classmethod
    def allow(cls) -> Verdict:
        """Nothing to object to."""
        return cls()


@attrs.frozen(slots=True)
class GuardHistory:
    """Facts about the past that guards need, read by the program before they run.

    Times are attribution times of non-rejected referrals within the guards' lookback.
    ``referee_known_kinds`` names the kinds of the referee's signals that another
    customer (neither side of this referral) already carries.
    """

    referee_referred_by: str | None = None
    referee_is_customer: bool = False
    referrer_recent: tuple[datetime, ...] = ()
    network_recent: tuple[datetime, ...] = ()
    referrer_upline: tuple[str, ...] = ()
    referee_downline: tuple[str, ...] = ()
    sibling_signal_counts: Mapping[Signal, int] = attrs.field(factory=dict)
    siblings: int = 0
    referee_known_kinds: frozenset[str] = frozenset()


@attrs.frozen(slots=True)
class GuardContext:
    """One attribution as guards see it: both sides' hashed signals and the history.

    ``referee_signals`` holds each signal hashed under every active program secret
    (one digest per key while a key rotation is under way), so set intersection with
    stored signals finds matches made before the rotation. ``referee_email_domain``
    is the canonical domain of the referee's email (never stored).
    """

    referrer: str
    referee: str
    code: ReferralCode
    referrer_signals: frozenset[Signal]
    referee_signals: frozenset[Signal]
    existing_customer: bool
    now: datetime
    history: GuardHistory
    referee_email_domain: str | None = None
    channel: str | None = None


#: Context fields that cost a query; a policy lists those it reads in ``needs``.
COSTLY_CONTEXT = frozenset({"qualified", "program_spend", "referrer_rewards", "order_attributes"})


def policy_needs(policy: object) -> frozenset[str]:
    """The costly context fields a policy reads; all of them if it does not say."""
    needs = getattr(policy, "needs", None)
    return COSTLY_CONTEXT if needs is None else frozenset(needs)
