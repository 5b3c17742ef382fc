"""The order lifecycle's store contract: `DeliveryRepository`, reached as ``uow.deliveries``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import attrs

from referralkit.errors import ConfigError
from referralkit.protocols import Capability

__all__ = ["DELIVERIES", "DeliveryRepository", "UntilDelivered"]


def _window(value: object) -> timedelta:
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise ConfigError(
            "return_window must be a non-negative timedelta", value=value, path="return_window"
        )
    return value


@attrs.frozen(slots=True)
class UntilDelivered:
    """A hold that ends ``return_window`` after the order is reported delivered.

    The reward stays held, with no release date, until ``program.delivered(order_id)``;
    then its release date is the delivery time plus ``return_window``.
    """

    return_window: timedelta = attrs.field(default=timedelta(days=14), converter=_window)


@runtime_checkable
class DeliveryRepository(Protocol):
    """When orders were delivered, as the host reported; the first report of an order stands."""

    def add(
        self, order_id: str, delivered_at: datetime, recorded_at: datetime
    ) -> tuple[datetime, bool]:
        """Record the delivery unless the order has one; the stored time and whether new."""
        ...

    def get(self, order_id: str) -> datetime | None:
        """When the order was delivered, if reported."""
        ...


#: Order deliveries (`DeliveryRepository` as ``uow.deliveries``): holds `UntilDelivered`.
DELIVERIES: Capability[DeliveryRepository] = Capability(
    "order deliveries", "deliveries", DeliveryRepository
)
