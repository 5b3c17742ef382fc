"""Holds: how long a reward waits out the refund window, per beneficiary and reward kind.

A hold is a duration from the order, or `UntilDelivered`: until the host reports the
order delivered (``program.delivered``), plus a return window.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import attrs

from referralkit.errors import ConfigError
from referralkit.model import Beneficiary, RewardKind
from referralkit.moments import UntilDelivered

__all__ = ["DEFAULT_HOLD", "Holds", "UntilDelivered", "release_at"]

#: The hold when none is configured: two weeks, a common refund window.
DEFAULT_HOLD = timedelta(days=14)

_SIDES = frozenset(b.value for b in Beneficiary)
_KINDS = frozenset(k.value for k in RewardKind)


def _key_ok(key: str) -> bool:
    if key == "default" or key in _SIDES or key in _KINDS:
        return True
    side, _, kind = key.partition(".")
    return side in _SIDES and kind in _KINDS


@attrs.frozen(slots=True)
class Holds:
    """A hold for every reward: one duration, or durations by beneficiary and kind.

    Keys of a mapping are ``"default"``, a beneficiary (``"referrer"``, ``"referee"``),
    a reward kind (``"coupon"``, ``"cash"``...) or both (``"referee.coupon"``); the most
    specific key wins (``side.kind``, then the kind, then the side, then ``default``,
    then `DEFAULT_HOLD`). ``{"referee": timedelta(0)}`` makes a friend's welcome
    coupon usable at once while the referrer's rewards wait out the refund window.
    """

    given: timedelta | UntilDelivered | Mapping[str, timedelta | UntilDelivered]
    _table: Mapping[str, timedelta | UntilDelivered] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        given: object = self.given
        table: dict[str, timedelta | UntilDelivered]
        if isinstance(given, timedelta | UntilDelivered):
            table = {"default": given}
        elif isinstance(given, Mapping):
            table = dict(given)
        else:
            raise ConfigError(
                "hold must be a timedelta or a mapping of keys to timedeltas",
                value=given,
                path="hold",
            )
        for key, value in table.items():
            if not isinstance(key, str) or not _key_ok(key):
                raise ConfigError(
                    f"hold key {key!r} is not 'default', a beneficiary"
                    f" ({sorted(_SIDES)}), a reward kind ({sorted(_KINDS)}) or 'side.kind'",
                    value=key,
                    path=f"hold.{key}",
                )
            if isinstance(value, UntilDelivered):
                continue
            if not isinstance(value, timedelta) or value < timedelta(0):
                raise ConfigError(
                    "a hold must be a non-negative timedelta or UntilDelivered",
                    value=value,
                    path=f"hold.{key}",
                )
        object.__setattr__(self, "_table", table)

    @property
    def waits_for_delivery(self) -> bool:
        """Whether some reward's hold ends at delivery (`UntilDelivered`)."""
        return any(isinstance(v, UntilDelivered) for v in self._table.values())

    def for_reward(self, beneficiary: Beneficiary, kind: RewardKind) -> timedelta | UntilDelivered:
        """The hold of a reward of ``kind`` for ``beneficiary``."""
        table = self._table
        for key in (f"{beneficiary.value}.{kind.value}", kind.value, beneficiary.value, "default"):
            found = table.get(key)
            if found is not None:
                return found
        return DEFAULT_HOLD


def release_at(
    hold: timedelta | UntilDelivered, now: datetime, delivered_at: datetime | None
) -> datetime | None:
    """When a reward granted ``now`` under ``hold`` becomes available (None: not known yet)."""
    if isinstance(hold, timedelta):
        return now + hold
    return None if delivered_at is None else delivered_at + hold.return_window
