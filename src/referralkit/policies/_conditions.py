"""Wrappers that decide *which* orders a policy rewards: first, large enough, repeat."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import ClassVar

import attrs

from referralkit.context import Grant, RewardContext
from referralkit.model import TierProgress
from referralkit.money import Money
from referralkit.policies._base import (
    check_count,
    check_duration,
    check_money,
    check_policy,
    combined_needs,
    covered_currencies,
    describe_duration,
    first_progress,
    prefixed,
    same_currency,
)
from referralkit.policies._periods import add_months, timezone_field
from referralkit.policies._settings import Form, setting
from referralkit.protocols import RewardPolicy

__all__ = ["FirstOrderOnly", "MinimumOrder", "Recurring"]


@attrs.frozen(slots=True)
class FirstOrderOnly:
    """``reward`` on the referee's first order only (``context.first_order``).

    A policy that is not wrapped rewards every order of a referred customer; this is
    the usual "both get $10 when the friend first buys" rule.
    """

    config_summary: ClassVar[str] = "``reward`` on the referee's first order only."

    reward: RewardPolicy = attrs.field(metadata=setting(Form.POLICY))

    def __attrs_post_init__(self) -> None:
        check_policy(self.reward, "reward")

    @property
    def needs(self) -> frozenset[str]:
        """Whatever ``reward`` reads."""
        return combined_needs([self.reward])

    @property
    def currencies(self) -> frozenset[str] | None:
        """The currencies ``reward`` can pay in."""
        return covered_currencies([self.reward])

    @property
    def name(self) -> str:
        """``first_order_only(<reward>)``."""
        return f"first_order_only({self.reward.name})"

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """``reward``'s grants if this is the referee's first order, else nothing."""
        if not context.first_order:
            return ()
        return prefixed(self.reward.evaluate(context), "the friend's first order")

    def progress(self, qualified: int) -> TierProgress | None:
        """The wrapped policy's tier progress, if any."""
        return first_progress([self.reward], qualified)


@attrs.frozen(slots=True)
class MinimumOrder:
    """``reward`` only on orders of at least ``amount`` (in the order's currency).

    Raises:
        CurrencyMismatch: (when evaluated) the order is in another currency.
    """

    config_summary: ClassVar[str] = "``reward`` on orders of at least ``amount``."

    reward: RewardPolicy = attrs.field(metadata=setting(Form.POLICY))
    amount: Money = attrs.field(metadata=setting(Form.MONEY))

    def __attrs_post_init__(self) -> None:
        check_policy(self.reward, "reward")
        check_money(self.amount, "amount")

    @property
    def needs(self) -> frozenset[str]:
        """Whatever ``reward`` reads."""
        return combined_needs([self.reward])

    @property
    def currencies(self) -> frozenset[str] | None:
        """The minimum's currency (and whatever ``reward`` covers)."""
        return covered_currencies([self.reward], (self.amount,))

    @property
    def name(self) -> str:
        """``minimum_order(50.00 USD, <reward>)``."""
        return f"minimum_order({self.amount.round()}, {self.reward.name})"

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """``reward``'s grants if the order amount is at least ``amount``."""
        order = context.conversion.amount
        same_currency(self.amount, order, "the minimum order")
        if order < self.amount:
            return ()
        why = f"an order of {order.round()}, at least {self.amount.round()}"
        return prefixed(self.reward.evaluate(context), why)

    def progress(self, qualified: int) -> TierProgress | None:
        """The wrapped policy's tier progress, if any."""
        return first_progress([self.reward], qualified)


def _orders(value: object) -> int | None:
    return check_count(value, "orders", "how many repeat orders earn")


def _months(value: object) -> int | None:
    return check_count(value, "months", "how many calendar months after the referral earn")


@attrs.frozen(slots=True)
class Recurring:
    """``reward`` on the referee's *repeat* orders: recurring commission.

    Precisely, an order earns when all of these hold:

    - it is not the referee's first order (``context.first_order`` is False);
    - with ``orders=N``, its ``context.order_number`` is at most ``N + 1``: the order
      numbers 2 to N+1, the first N repeat orders (``None``: no limit);
    - with ``within=W``, it was placed (``conversion.occurred_at``) less than ``W``
      after the referral was attributed (``referral.attributed_at``): "for 90 days
      after the friend signed up" (``None``: no limit);
    - with ``months=N``, it was placed before the same local time N calendar months
      after the attribution, in ``timezone`` (UTC unless an IANA name is given), the
      day clamped to a shorter month's last day: "for 12 months after the friend
      signed up" (``None``: no limit).

    Combine it with `FirstOrderOnly` to pay differently on the first order:
    ``AllOf(FirstOrderOnly(Fixed(...)), Recurring(PercentOfOrder(...), orders=12))``.
    """

    config_summary: ClassVar[str] = (
        "``reward`` on repeat orders 2 to ``orders`` + 1, placed ``within`` or ``months``"
        " calendar months of the referral."
    )

    reward: RewardPolicy = attrs.field(metadata=setting(Form.POLICY))
    orders: int | None = attrs.field(
        default=None,
        converter=_orders,
        metadata=setting(Form.INTEGER, ge=1),
    )
    within: timedelta | None = attrs.field(default=None, metadata=setting(Form.DURATION))
    months: int | None = attrs.field(
        default=None,
        converter=_months,
        metadata=setting(
            Form.INTEGER,
            ge=1,
            omit_default=True,
            description="Calendar months after the referral that repeat orders earn.",
        ),
    )
    timezone: str = timezone_field(omit_default=True)

    def __attrs_post_init__(self) -> None:
        check_policy(self.reward, "reward")
        check_duration(self.within, "within")

    @property
    def needs(self) -> frozenset[str]:
        """Whatever ``reward`` reads."""
        return combined_needs([self.reward])

    @property
    def currencies(self) -> frozenset[str] | None:
        """The currencies ``reward`` can pay in."""
        return covered_currencies([self.reward])

    @property
    def name(self) -> str:
        """``recurring(<reward>, orders=12, within=90 days, months=12)``."""
        extra = "" if self.orders is None else f", orders={self.orders}"
        if self.within is not None:
            extra += f", within={describe_duration(self.within)}"
        if self.months is not None:
            extra += f", months={self.months}"
            if self.timezone != "UTC":
                extra += f" ({self.timezone})"
        return f"recurring({self.reward.name}{extra})"

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """``reward``'s grants on a repeat order inside the limits, else nothing."""
        if context.first_order:
            return ()
        number = context.order_number
        if self.orders is not None and number > self.orders + 1:
            return ()
        if self.within is not None:
            elapsed = context.conversion.occurred_at - context.referral.attributed_at
            if elapsed >= self.within:
                return ()
        if self.months is not None:
            end = add_months(context.referral.attributed_at, self.months, self.timezone)
            if context.conversion.occurred_at >= end:
                return ()
        why = f"repeat order {number} of the friend"
        if self.orders is not None:
            why += f" (repeat orders 2 to {self.orders + 1} earn)"
        if self.within is not None:
            why += f", within {describe_duration(self.within)} of the referral"
        if self.months is not None:
            unit = "month" if self.months == 1 else "months"
            why += f", within {self.months} calendar {unit} of the referral"
        return prefixed(self.reward.evaluate(context), why)

    def progress(self, qualified: int) -> TierProgress | None:
        """The wrapped policy's tier progress, if any."""
        return first_progress([self.reward], qualified)
