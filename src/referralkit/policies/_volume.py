"""Volume tiers: a higher rate once the referrer's revenue in a calendar period passes a threshold.

The program reads the referrer's revenue in the period (``needs`` names it as
``referrer_revenue:<period>:<timezone>``) for the calendar period that contains the
order's time: the orders attributed to the partner before this one, net of refunds.
This order's amount is added to it, so the order that crosses a threshold already earns
that tier's rate, and the orders before it never do; the next period starts at zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import attrs

from referralkit.context import Grant, RewardContext
from referralkit.errors import ConfigError
from referralkit.money import Money
from referralkit.policies._base import (
    check_money,
    check_policy,
    combined_needs,
    covered_currencies,
    prefixed,
    same_currency,
)
from referralkit.policies._periods import (
    describe_period,
    period_field,
    period_key,
    timezone_field,
)
from referralkit.policies._settings import Form, setting
from referralkit.protocols import RewardPolicy

__all__ = ["REVENUE_NEED", "VolumeTier", "VolumeTiers"]

#: The ``needs`` entry of a policy that reads the referrer's revenue in a period.
REVENUE_NEED = "referrer_revenue:"


@attrs.frozen(slots=True)
class VolumeTier:
    """One rung of `VolumeTiers`: ``reward`` once the period's revenue reaches ``min_revenue``."""

    config_summary: ClassVar[str] = "One rung of a volume ladder."

    min_revenue: Money = attrs.field(
        metadata=setting(Form.MONEY, description="The period's revenue, this order included.")
    )
    reward: RewardPolicy = attrs.field(metadata=setting(Form.POLICY))

    def __attrs_post_init__(self) -> None:
        check_money(self.min_revenue, "min_revenue")
        check_policy(self.reward, "reward")


def _tiers(value: object) -> tuple[VolumeTier, ...]:
    if isinstance(value, VolumeTier | str) or not isinstance(value, Sequence):
        raise ConfigError(
            f"tiers must be a list of VolumeTier(min_revenue=..., reward=...), not {value!r}",
            value=value,
            path="tiers",
        )
    return tuple(value)


@attrs.frozen(slots=True)
class VolumeTiers:
    """The rate of the highest tier the referrer's revenue in this calendar ``period`` reached.

    ``VolumeTiers([VolumeTier(Money("0", "USD"), PercentOfOrder("5%")), VolumeTier(Money(
    "10000", "USD"), PercentOfOrder("8%"))])``: 5% until the partner's month passes
    10 000 USD, 8% from the order that passes it on, 5% again on the 1st. Revenue is in
    one currency (the tiers'); below the first tier nothing is granted. ``period`` is
    ``day``, ``week`` (ISO, from Monday) or ``month`` in ``timezone`` (UTC unless an
    IANA name is given). Meant for partner terms: under a customer's referral the
    revenue read is the orders attributed to that referrer as a partner (none, so only
    the order itself counts).

    Raises:
        CurrencyMismatch: (when evaluated) the order is not in the tiers' currency.
    """

    config_summary: ClassVar[str] = (
        "A rate by the referrer's revenue in a calendar ``period``, applied from the order"
        " that reaches a tier on."
    )

    tiers: tuple[VolumeTier, ...] = attrs.field(
        converter=_tiers, metadata=setting(Form.RECORDS, record=VolumeTier, min_length=1)
    )
    period: str = period_field()
    timezone: str = timezone_field()

    def __attrs_post_init__(self) -> None:
        if not self.tiers:
            raise ConfigError("tiers must have at least one tier", value=[], path="tiers")
        for i, tier in enumerate(self.tiers):
            if not isinstance(tier, VolumeTier):
                raise ConfigError(
                    f"tiers.{i} must be a VolumeTier(min_revenue=..., reward=...), not {tier!r}",
                    value=tier,
                    path=f"tiers.{i}",
                )
            if i:
                before = self.tiers[i - 1].min_revenue
                if tier.min_revenue.currency != before.currency or tier.min_revenue <= before:
                    raise ConfigError(
                        f"tiers must be in one currency and strictly ascending order of"
                        f" min_revenue: tier {i + 1} starts at {tier.min_revenue}, not above"
                        f" {before}",
                        value=tier.min_revenue,
                        path=f"tiers.{i}.min_revenue",
                    )

    @property
    def key(self) -> str:
        """The period as the context names it: ``month:UTC``."""
        return period_key(self.period, self.timezone)

    @property
    def needs(self) -> frozenset[str]:
        """The referrer's revenue in the period, and whatever the tiers' rewards read."""
        return combined_needs((t.reward for t in self.tiers), (REVENUE_NEED + self.key,))

    @property
    def currencies(self) -> frozenset[str] | None:
        """The tiers' currency, and whatever every tier's reward covers."""
        return covered_currencies((t.reward for t in self.tiers), (self.tiers[0].min_revenue,))

    @property
    def name(self) -> str:
        """``volume_tiers(0.00 USD: <reward>, 10000.00 USD: <reward> per calendar month (UTC))``."""
        rungs = ", ".join(f"{t.min_revenue.round()}: {t.reward.name}" for t in self.tiers)
        return f"volume_tiers({rungs} {describe_period(self.period, self.timezone)})"

    def revenue(self, context: RewardContext) -> Money:
        """The period's revenue before this order, plus this order's amount."""
        order = context.conversion.amount
        same_currency(self.tiers[0].min_revenue, order, "the volume tiers")
        before = context.referrer_revenue.get(self.key, {}).get(order.currency)
        return order if before is None else before + order

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """The grants of the highest tier the revenue, this order included, has reached."""
        revenue = self.revenue(context)
        reached = [(i, t) for i, t in enumerate(self.tiers, 1) if t.min_revenue <= revenue]
        if not reached:
            return ()
        number, tier = reached[-1]
        why = (
            f"volume tier {number} ({tier.min_revenue.round()}+ revenue this {self.period},"
            f" {revenue.round()} with this order)"
        )
        return prefixed(tier.reward.evaluate(context), why)
