"""Partner fraud signals: a partner buying through their own code, and a leaked code.

Pure rules over what the program read in the checkout's unit of work: they never touch
the store. A "yes" sends the order's commission to review (never the buyer's order),
with the reason `OWN_CODE` or `LEAKED_CODE`; a banned partner's unpaid rewards go to
review with `BANNED`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

from referralkit.context import Signal
from referralkit.errors import ConfigError
from referralkit.guards._base import kinds, positive

__all__ = ["BANNED", "LEAKED_CODE", "OWN_CODE", "LeakedCode", "OwnCode"]

#: The buyer is the partner: same customer id, or a shared identity signal.
OWN_CODE = "partner.own_code"
#: The order is one too many without a click on the partner's links, within the window.
LEAKED_CODE = "partner.leaked_code"
#: The partner was banned while the reward was still unpaid.
BANNED = "partner.banned"


@attrs.frozen(slots=True)
class OwnCode:
    """A partner buying through their own code: the buyer shares one of ``kinds`` with them.

    The defaults are the personal signals (email with its aliases, phone, device, card,
    postal address); a shared IP or network alone is not enough (a café, an office).
    """

    kinds: tuple[str, ...] = attrs.field(
        default=("email", "phone", "device", "payment", "address"), converter=kinds
    )

    @property
    def name(self) -> str:
        """``partner.own_code``."""
        return OWN_CODE

    def check(
        self,
        buyer: str,
        partner: str,
        buyer_signals: frozenset[Signal],
        partner_signals: frozenset[Signal],
    ) -> bool:
        """Whether the buyer is the partner: the same id, or a shared signal of ``kinds``."""
        if buyer == partner:
            return True
        return any(kind in self.kinds for kind, _ in buyer_signals & partner_signals)


def _limit(value: object) -> int:
    return positive("limit", value, minimum=0)


def _window(value: object) -> timedelta:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ConfigError("window must be a positive timedelta", value=value, path="window")
    return value


@attrs.frozen(slots=True)
class LeakedCode:
    """A leaked code: more than ``limit`` orders without a click within ``window``.

    An order with the partner's code whose buyer never clicked one of the partner's links
    counts; the order that makes the count inside ``(t - window, t]`` pass ``limit``, and
    every one after it while the burst lasts, is flagged. An order with a click never is.
    A code read out in a video is typed without a click too: raise ``limit`` for such
    partners' programmes.
    """

    limit: int = attrs.field(default=50, converter=_limit)
    window: timedelta = attrs.field(default=timedelta(hours=1), converter=_window)

    @property
    def name(self) -> str:
        """``partner.leaked_code``."""
        return LEAKED_CODE

    def check(self, clicked: bool, unclicked: int) -> bool:
        """Flag an order without a click when ``unclicked`` (itself included) passes the limit.

        ``unclicked`` counts the partner's orders without a click in ``(t - window, t]``.
        """
        return not clicked and unclicked > self.limit

    def flags(self, orders: Sequence[tuple[datetime, bool]]) -> list[bool]:
        """The rule over a whole history of ``(time, clicked)`` orders, in arrival order."""
        times: list[datetime] = []
        out: list[bool] = []
        for at, clicked in orders:
            if not clicked:
                times.append(at)
            inside = sum(1 for t in times if at - self.window < t <= at)
            out.append(self.check(clicked, inside))
        return out
