"""Commission schedules by order: the customer's first N orders, or only returning customers.

"First 3 orders at 15%, then 5%" is ``FirstMatch(FirstOrders(PercentOfOrder("15%"),
orders=3), PercentOfOrder("5%"))``: `FirstOrders` grants nothing past the Nth order, so
`FirstMatch` falls through to the later rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import attrs

from referralkit.context import Grant, RewardContext
from referralkit.model import TierProgress
from referralkit.policies._base import (
    check_count,
    check_policy,
    combined_needs,
    covered_currencies,
    first_progress,
    prefixed,
)
from referralkit.policies._settings import Form, setting
from referralkit.protocols import RewardPolicy

__all__ = ["FirstOrders", "ReturningCustomer"]


def _orders(value: object) -> int:
    return check_count(value, "orders", "how many first orders earn", allow_none=False)


@attrs.frozen(slots=True)
class FirstOrders:
    """``reward`` on the customer's first ``orders`` orders (``context.order_number`` 1 to N).

    The order number counts every order the customer placed (1 for their first), so
    under a partner's terms "the first 3 orders" are the buyer's first three orders, in
    whichever of them the partner's code was used.
    """

    config_summary: ClassVar[str] = "``reward`` on the customer's orders 1 to ``orders``."

    reward: RewardPolicy = attrs.field(metadata=setting(Form.POLICY))
    orders: int = attrs.field(converter=_orders, metadata=setting(Form.INTEGER, ge=1))

    def __attrs_post_init__(self) -> None:
        check_policy(self.reward, "reward")

    @property
    def needs(self) -> frozenset[str]:
        """Whatever ``reward`` reads (the order number is always in the context)."""
        return combined_needs([self.reward])

    @property
    def currencies(self) -> frozenset[str] | None:
        """The currencies ``reward`` can pay in."""
        return covered_currencies([self.reward])

    @property
    def name(self) -> str:
        """``first_orders(<reward>, orders=3)``."""
        return f"first_orders({self.reward.name}, orders={self.orders})"

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """``reward``'s grants on orders 1 to ``orders``, else nothing."""
        number = context.order_number
        if not 1 <= number <= self.orders:
            return ()
        why = f"order {number} of the customer (orders 1 to {self.orders} earn)"
        return prefixed(self.reward.evaluate(context), why)

    def progress(self, qualified: int) -> TierProgress | None:
        """The wrapped policy's tier progress, if any."""
        return first_progress([self.reward], qualified)


@attrs.frozen(slots=True)
class ReturningCustomer:
    """``reward`` only when the buyer has ordered before (``context.first_order`` is False).

    Its counterpart for new customers is `FirstOrderOnly`.
    """

    config_summary: ClassVar[str] = "``reward`` on a returning customer's orders only."

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
        """``returning_customer(<reward>)``."""
        return f"returning_customer({self.reward.name})"

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """``reward``'s grants if the buyer is not on their first order."""
        if context.first_order:
            return ()
        return prefixed(self.reward.evaluate(context), "a returning customer's order")

    def progress(self, qualified: int) -> TierProgress | None:
        """The wrapped policy's tier progress, if any."""
        return first_progress([self.reward], qualified)
