"""What a referral's terms give the invitee, in words and numbers (`referralkit.invitee.Offer`).

Read from the policy's structure: the referee side of `DoubleSided`, through the
conditions and limits around it, down to a `Fixed` or `PercentOfOrder` reward. A
policy of another shape is named by its ``name``; one without a referee side offers
the invitee nothing.
"""

from __future__ import annotations

from decimal import Decimal

from referralkit.invitee import Offer
from referralkit.model import RewardKind
from referralkit.money import Amounts, Money
from referralkit.policies import DoubleSided, FirstOrderOnly, Fixed, MinimumOrder, PercentOfOrder
from referralkit.protocols import RewardPolicy

__all__ = ["offers_for"]

_KIND_WORDS = {
    RewardKind.CREDIT: "in store credit",
    RewardKind.CASH: "cash back",
    RewardKind.COUPON: "off with a coupon",
}
_WHEN_WORDS = {
    "signup": "when you sign up",
    "first_order": "on your first order",
    "order": "on every order",
}


def _referee_side(policy: RewardPolicy | None) -> RewardPolicy | None:
    return policy.referee if isinstance(policy, DoubleSided) else None


def _describe(policy: RewardPolicy, when: str, minimum: Money | None) -> Offer:
    """The offer of one referee-side policy, unwrapping conditions and limits."""
    if isinstance(policy, FirstOrderOnly):
        return _describe(policy.reward, "first_order" if when == "order" else when, minimum)
    if isinstance(policy, MinimumOrder):
        return _describe(policy.reward, when, policy.amount)
    inner = getattr(policy, "reward", None)
    if inner is not None and not isinstance(policy, Fixed | PercentOfOrder):
        return _describe(inner, when, minimum)  # a cap, a budget, recurrence: same offer
    tail = _WHEN_WORDS[when] + ("" if minimum is None else f" of at least {minimum.round()}")
    if isinstance(policy, Fixed):
        return _fixed(policy, when, minimum, tail)
    if isinstance(policy, PercentOfOrder):
        shown = f"{(policy.rate * 100).normalize():f}"
        cap = "" if policy.cap is None else f" (up to {policy.cap.round()})"
        words = _KIND_WORDS.get(policy.kind, "")
        text = " ".join(p for p in (f"{shown}% of your order{cap}", words, tail) if p)
        return Offer(text, when, policy.kind, percent=Decimal(shown), minimum_order=minimum)
    return Offer(f"{policy.name} {tail}", when, minimum_order=minimum)


def _fixed(policy: Fixed, when: str, minimum: Money | None, tail: str) -> Offer:
    """A fixed amount (one currency or several), points, or a perk."""
    value = policy.value
    if isinstance(value, Money | Amounts):
        amount = value.round() if isinstance(value, Money) else None
        shown = str(value.round()) if isinstance(value, Money) else str(value)
        words = _KIND_WORDS.get(policy.kind, "")
        text = " ".join(part for part in (shown, words, tail) if part)
        return Offer(text, when, policy.kind, amount=amount, minimum_order=minimum)
    if isinstance(value, int):
        return Offer(
            f"{value} points {tail}", when, policy.kind, points=value, minimum_order=minimum
        )
    return Offer(f"{value} {tail}", when, policy.kind, perk=value, minimum_order=minimum)


def offers_for(policy: RewardPolicy, signup: RewardPolicy | None) -> tuple[Offer, ...]:
    """What the invitee gets: the signup reward's referee side, then the order terms'."""
    found = []
    welcome = _referee_side(signup) if isinstance(signup, DoubleSided) else None
    if welcome is not None:
        found.append(_describe(welcome, "signup", None))
    side = _referee_side(policy)
    if side is not None:
        found.append(_describe(side, "order", None))
    return tuple(found)
