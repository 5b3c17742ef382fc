"""Fees for what is not an order: a sign-up (pay per lead) and a qualified click.

`PerLead` and `PerClick` grant only when the program evaluates that event
(``context.event`` is ``lead`` or ``click``, with an order of zero), never on an order;
on such an event the program keeps only the grants they made (keyed ``lead:`` /
``click:``), so the other parts of a partner's terms (a fixed fee per order, say) pay
nothing for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Final

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
from referralkit.policies._periods import period_bounds
from referralkit.policies._settings import Form, setting
from referralkit.protocols import RewardPolicy

__all__ = ["CLICK_KEY", "CLICK_MARK", "LEAD_KEY", "PerClick", "PerLead", "event_grants"]

#: The key prefix of a grant `PerLead` made; the program keeps only these on a lead.
LEAD_KEY: Final = "lead:"
#: The key prefix of a grant `PerClick` made; the program keeps only these on a click.
CLICK_KEY: Final = "click:"
#: The part of a stored click fee's key that marks it (``partner:<id>:click:...``).
CLICK_MARK: Final = ":click:"


#: The key prefix of the grants kept on each event that is not an order.
_EVENT_KEYS: Final = {"lead": LEAD_KEY, "click": CLICK_KEY}


def event_grants(grants: Sequence[Grant], event: str) -> tuple[Grant, ...]:
    """The grants the program keeps on ``event``: all on an order, else the event's fees.

    On a lead or a click the terms see an order of zero; only what `PerLead` /
    `PerClick` granted for it counts, so a fixed fee per order pays nothing there.
    """
    if event == "order":
        return tuple(grants)
    prefix = _EVENT_KEYS.get(event)
    return tuple(g for g in grants if prefix is not None and g.key.startswith(prefix))


def _keyed(grants: Sequence[Grant], prefix: str) -> tuple[Grant, ...]:
    return tuple(attrs.evolve(g, key=prefix + g.key) for g in grants)


@attrs.frozen(slots=True)
class PerLead:
    """``reward`` once per sign-up attributed through the partner's code (a lead fee).

    ``PerLead(Fixed(Money("2", "USD"), kind="cash"))`` pays 2 USD for each new customer
    who signs up with the partner's code or link (an accepted attribution); with
    ``AllOf`` it sits beside the order commission. A lead is paid once per customer,
    held like any reward. On an order it grants nothing.
    """

    config_summary: ClassVar[str] = "``reward`` for each sign-up through the partner's code."

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
        """``per_lead(<reward>)``."""
        return f"per_lead({self.reward.name})"

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """``reward``'s grants on a lead (keyed ``lead:...``), nothing on an order."""
        if context.event != "lead":
            return ()
        why = "a sign-up through the partner's code"
        return _keyed(prefixed(self.reward.evaluate(context), why), LEAD_KEY)

    def progress(self, qualified: int) -> TierProgress | None:
        """The wrapped policy's tier progress, if any."""
        return first_progress([self.reward], qualified)


def _max_per_day(value: object) -> int | None:
    return check_count(value, "max_per_day", "click fees a day")


@attrs.frozen(slots=True)
class PerClick:
    """``reward`` for a qualified click on the partner's link, at most ``max_per_day`` a day.

    A click qualifies once per visitor, partner and UTC day: the first click a visitor
    makes on any of the partner's links that day (`referralkit.ReferralProgram.
    track_click`); later clicks that day earn nothing. With ``max_per_day``, the
    partner's click fees granted in the UTC day count, and clicks past the limit earn
    nothing. Keep bots and blocked networks out before tracking the click. On an order
    it grants nothing.
    """

    config_summary: ClassVar[str] = (
        "``reward`` per qualified click on the partner's links, up to ``max_per_day``."
    )

    reward: RewardPolicy = attrs.field(metadata=setting(Form.POLICY))
    max_per_day: int | None = attrs.field(
        default=None, converter=_max_per_day, metadata=setting(Form.INTEGER, ge=1)
    )

    def __attrs_post_init__(self) -> None:
        check_policy(self.reward, "reward")

    @property
    def needs(self) -> frozenset[str]:
        """The referrer's rewards (with a daily limit), and whatever ``reward`` reads."""
        own = () if self.max_per_day is None else ("referrer_rewards",)
        return combined_needs([self.reward], own)

    @property
    def currencies(self) -> frozenset[str] | None:
        """The currencies ``reward`` can pay in."""
        return covered_currencies([self.reward])

    @property
    def name(self) -> str:
        """``per_click(<reward>, max_per_day=500)``."""
        extra = "" if self.max_per_day is None else f", max_per_day={self.max_per_day}"
        return f"per_click({self.reward.name}{extra})"

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """``reward``'s grants on a click under the daily limit (keyed ``click:...``)."""
        if context.event != "click":
            return ()
        if self.max_per_day is not None:
            start, end = period_bounds("day", "UTC", context.now)
            today = sum(
                1
                for r in context.referrer_rewards
                if CLICK_MARK in r.key and start <= r.granted_at < end
            )
            if today >= self.max_per_day:
                return ()
        return _keyed(prefixed(self.reward.evaluate(context), "a qualified click"), CLICK_KEY)

    def progress(self, qualified: int) -> TierProgress | None:
        """The wrapped policy's tier progress, if any."""
        return first_progress([self.reward], qualified)
