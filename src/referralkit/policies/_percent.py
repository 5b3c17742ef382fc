"""A commission: a percentage of the order, rounded to the currency's minor unit."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import ClassVar

import attrs

from referralkit.context import Grant, RewardContext
from referralkit.errors import ConfigError
from referralkit.model import Beneficiary, RewardKind
from referralkit.money import Money
from referralkit.policies._base import check_money, covered_currencies, describe_rate, same_currency
from referralkit.policies._settings import Form, setting

__all__ = ["PercentOfOrder"]

_MONEY_KINDS = {k.value: k for k in (RewardKind.CREDIT, RewardKind.CASH, RewardKind.COUPON)}


def _rate(value: object) -> Decimal:
    if isinstance(value, bool | float):
        raise ConfigError(
            f"rate must be a Decimal or a string such as '0.05', not {type(value).__name__}"
            f" ({value!r}): floats cannot hold rates exactly",
            value=value,
            path="rate",
        )
    percent = isinstance(value, str) and value.strip().endswith("%")
    try:
        if isinstance(value, str):
            text = value.strip().removesuffix("%").rstrip() if percent else value.strip()
            rate = Decimal(text) / 100 if percent else Decimal(text)
        else:
            rate = Decimal(value)  # type: ignore[arg-type]
    except (InvalidOperation, TypeError, ValueError):
        raise ConfigError(
            f"rate must be a decimal number between 0 and 1 or a percentage, not {value!r}",
            value=value,
            path="rate",
        ) from None
    if not rate.is_finite() or not 0 <= rate <= 1:
        raise ConfigError(
            f"rate must be between 0 and 1 (0.05 is 5%), not {value!r}", value=value, path="rate"
        )
    return rate


def _money_kind(value: object) -> RewardKind:
    if isinstance(value, RewardKind) and value.value in _MONEY_KINDS:
        return value
    if isinstance(value, str) and value in _MONEY_KINDS:
        return _MONEY_KINDS[value]
    raise ConfigError(
        f"a percentage reward is money: kind must be one of {sorted(_MONEY_KINDS)}, not {value!r}",
        value=value,
        path="kind",
    )


@attrs.frozen(slots=True)
class PercentOfOrder:
    """A percentage of the order amount: affiliate and influencer commissions.

    ``rate`` is a fraction between 0 and 1 (``Decimal("0.05")``, ``"0.05"``) or a
    percentage (``"5%"``); floats are refused. The reward is rounded half-up to the
    currency's minor unit, raised to ``minimum`` and then limited to ``cap`` (both
    optional, in the order's currency).
    It is ``proportional``: a partial refund of the order shrinks it in proportion.
    An order of zero earns nothing. ``kind`` is ``"credit"`` (default), ``"cash"`` or
    ``"coupon"``.

    Raises:
        ConfigError: a bad rate, a negative cap or minimum, or a minimum above the cap.
        CurrencyMismatch: (when evaluated) the order is not in the cap's currency.
    """

    config_summary: ClassVar[str] = (
        "A percentage of the order: ``rate`` '0.05' or '5%', optional ``cap`` and ``minimum``."
    )

    rate: Decimal = attrs.field(
        converter=_rate,
        metadata=setting(Form.RATE, description="A fraction from 0 to 1: '0.05' or '5%'."),
    )
    cap: Money | None = attrs.field(default=None, metadata=setting(Form.MONEY))
    minimum: Money | None = attrs.field(default=None, metadata=setting(Form.MONEY))
    kind: RewardKind = attrs.field(
        default=RewardKind.CREDIT,
        converter=_money_kind,
        metadata=setting(Form.CHOICE, choices=tuple(_MONEY_KINDS)),
    )

    def __attrs_post_init__(self) -> None:
        check_money(self.cap, "cap", allow_none=True)
        check_money(self.minimum, "minimum", allow_none=True)
        if self.cap is not None and self.minimum is not None:
            same_currency(self.cap, self.minimum, "cap")
            if self.minimum > self.cap:
                raise ConfigError(
                    f"minimum {self.minimum} is above the cap {self.cap}",
                    value=self.minimum,
                    path="minimum",
                )

    @property
    def needs(self) -> frozenset[str]:
        """A percentage reads only the order."""
        return frozenset()

    @property
    def currencies(self) -> frozenset[str] | None:
        """The cap's or minimum's currency; None (any) without them."""
        return covered_currencies((), (self.cap, self.minimum))

    @property
    def name(self) -> str:
        """``percent_of_order(5%)``, with the cap and minimum when set."""
        extra = ""
        if self.cap is not None:
            extra += f", cap {self.cap.round()}"
        if self.minimum is not None:
            extra += f", minimum {self.minimum.round()}"
        if self.kind is not RewardKind.CREDIT:
            extra += f", {self.kind.value}"
        return f"percent_of_order({describe_rate(self.rate)}{extra})"

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """One proportional grant of ``rate`` times the order amount, for the referrer."""
        order = context.conversion.amount
        if order.amount <= 0:
            return ()
        value = (order * self.rate).round()
        why = f"{describe_rate(self.rate)} of the {order.round()} order"
        if self.minimum is not None:
            same_currency(self.minimum, value, "the minimum")
            if value < self.minimum:
                value = self.minimum.round()
                why += f", raised to the minimum of {value}"
        if self.cap is not None:
            same_currency(self.cap, value, "the cap")
            if value > self.cap:
                value = self.cap.round()
                why += f", capped at {value}"
        if value.is_zero():
            return ()
        coupon = self.kind is RewardKind.COUPON
        return (
            Grant(
                beneficiary=Beneficiary.REFERRER,
                kind=self.kind,
                policy=self.name,
                explanation=f"{why}: a {self.kind.value} of {value}",
                key=self.name,
                amount=None if coupon else value,
                coupon_value=value if coupon else None,
                proportional=True,
            ),
        )
