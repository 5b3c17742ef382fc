"""What a host sends with an order (categories, products, labels), for the policies that read it.

``convert(attributes={"category": ["shoes"], "channel": "app"})``: a small mapping of
names to a string or a list of strings, checked at the edge, stored once with the order
(in the store's partner capability: memory and SQLite) and read back for a policy that
names ``order_attributes`` in ``needs``, on the order and when a refund reprices it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from referralkit._validate import require_id
from referralkit.errors import IdempotencyConflict, InvalidInput
from referralkit.policies._order_terms import ATTRIBUTES_NEED
from referralkit.program._core import ProgramCore
from referralkit.program._partner_store import PARTNERS
from referralkit.protocols import UnitOfWork

__all__ = ["check_attributes", "read_attributes", "store_attributes"]

Attributes = Mapping[str, tuple[str, ...]]

#: At most this many names, and this many values under one name.
_MAX_NAMES = 20
_MAX_VALUES = 100


def check_attributes(value: object) -> Attributes | None:
    """``value`` as ``{name: (value, ...)}``, or `InvalidInput` naming ``attributes``."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or len(value) > _MAX_NAMES:
        raise InvalidInput(
            f"attributes must be a mapping of at most {_MAX_NAMES} names to a string or a"
            " list of strings",
            value=value,
            field="attributes",
        )
    out: dict[str, tuple[str, ...]] = {}
    for name, given in value.items():
        key = require_id("attributes", name)
        items = [given] if isinstance(given, str) else given
        if not isinstance(items, Sequence) or len(items) > _MAX_VALUES:
            raise InvalidInput(
                f"attributes[{key!r}] must be a string or a list of at most {_MAX_VALUES}",
                value=given,
                field="attributes",
            )
        out[key] = tuple(dict.fromkeys(require_id("attributes", v) for v in items))
    return out


def store_attributes(
    core: ProgramCore, uow: UnitOfWork, order_id: str, attributes: Attributes
) -> None:
    """Keep ``attributes`` with the order; a retry with others is an `IdempotencyConflict`."""
    stored = PARTNERS.repository(uow, store=core.store).add_order_attributes(order_id, attributes)
    if dict(stored) != dict(attributes):
        raise IdempotencyConflict(
            f"order {order_id!r} was recorded with other attributes: {dict(stored)!r}",
            value=dict(attributes),
            field="attributes",
        )


def read_attributes(
    core: ProgramCore, uow: UnitOfWork, needs: Iterable[str], order_id: str
) -> Attributes:
    """The order's attributes, read only when the policy needs them (none without partners)."""
    if ATTRIBUTES_NEED not in needs or PARTNERS.missing(uow):
        return {}
    found = PARTNERS.repository(uow, store=core.store).order_attributes(order_id)
    return {} if found is None else found
