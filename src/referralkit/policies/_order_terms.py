"""Conditions on what the order holds: a product, a category, or any label the host sends.

The host passes an order's attributes to ``convert(attributes=...)``: ``{"category":
["shoes"], "product": ["sku-1", "sku-2"], "channel": "app"}``. The program stores them
with the order and hands them to a policy that names ``order_attributes`` in ``needs``,
on the order and again when a refund reprices it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Final

import attrs

from referralkit.context import Grant, RewardContext
from referralkit.errors import ConfigError
from referralkit.model import TierProgress
from referralkit.policies._base import (
    check_policy,
    combined_needs,
    covered_currencies,
    first_progress,
    prefixed,
)
from referralkit.policies._settings import Form, setting
from referralkit.protocols import RewardPolicy

__all__ = ["ATTRIBUTES_NEED", "OrderAttribute"]

#: The ``needs`` entry of a policy that reads the order's attributes.
ATTRIBUTES_NEED: Final = "order_attributes"


def _texts(value: object, path: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigError(
            f"{path} must be a list of strings, not {value!r}", value=value, path=path
        )
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(
                f"{path}.{i} must be a non-empty string, not {item!r}",
                value=item,
                path=f"{path}.{i}",
            )
    return tuple(value)


def _any_of(value: object) -> tuple[str, ...]:
    return _texts(value, "any_of")


def _none_of(value: object) -> tuple[str, ...]:
    return _texts(value, "none_of")


def _key(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"key must name an order attribute ('category'), not {value!r}",
            value=value,
            path="key",
        )
    return value


@attrs.frozen(slots=True)
class OrderAttribute:
    """``reward`` on orders whose attribute ``key`` holds one of ``any_of`` and none of ``none_of``.

    ``OrderAttribute(PercentOfOrder("12%"), key="category", any_of=["shoes"])`` pays 12%
    on orders with a shoe in them; ``none_of=["gift-cards"]`` pays on orders without a
    gift card. An order sent without the attribute holds no value. Give ``any_of``,
    ``none_of`` or both.
    """

    config_summary: ClassVar[str] = (
        "``reward`` on orders whose attribute ``key`` holds one of ``any_of``, none of ``none_of``."
    )

    reward: RewardPolicy = attrs.field(metadata=setting(Form.POLICY))
    key: str = attrs.field(
        converter=_key,
        metadata=setting(Form.TEXT, description="An order attribute: 'category', 'product'."),
    )
    any_of: tuple[str, ...] = attrs.field(
        default=(), converter=_any_of, metadata=setting(Form.TEXTS)
    )
    none_of: tuple[str, ...] = attrs.field(
        default=(), converter=_none_of, metadata=setting(Form.TEXTS)
    )

    def __attrs_post_init__(self) -> None:
        check_policy(self.reward, "reward")
        if not self.any_of and not self.none_of:
            raise ConfigError(
                "give any_of, none_of or both: the values the condition looks for",
                value=[],
                path="any_of",
            )

    @property
    def needs(self) -> frozenset[str]:
        """The order's attributes, and whatever ``reward`` reads."""
        return combined_needs([self.reward], (ATTRIBUTES_NEED,))

    @property
    def currencies(self) -> frozenset[str] | None:
        """The currencies ``reward`` can pay in."""
        return covered_currencies([self.reward])

    def _rule(self) -> str:
        parts = []
        if self.any_of:
            parts.append(f"{self.key} in [{', '.join(self.any_of)}]")
        if self.none_of:
            parts.append(f"{self.key} not in [{', '.join(self.none_of)}]")
        return " and ".join(parts)

    @property
    def name(self) -> str:
        """``order_attribute(<reward>, category in [shoes])``."""
        return f"order_attribute({self.reward.name}, {self._rule()})"

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """``reward``'s grants when the order's ``key`` passes both lists."""
        held = set(context.order_attributes.get(self.key, ()))
        if self.any_of and not held & set(self.any_of):
            return ()
        if held & set(self.none_of):
            return ()
        return prefixed(self.reward.evaluate(context), f"an order with {self._rule()}")

    def progress(self, qualified: int) -> TierProgress | None:
        """The wrapped policy's tier progress, if any."""
        return first_progress([self.reward], qualified)
