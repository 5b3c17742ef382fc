"""Limits on what a policy may grant: a cap per referrer, and a program-wide budget.

Both cut a grant down to the room left, never above it, and drop it when no room is
left. They read totals from the context, which the program fills inside the same
serialised transaction that writes the grants: two conversions racing on a shared
store cannot both spend the last of a cap or budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import ClassVar

import attrs

from referralkit.context import Grant, RewardContext
from referralkit.model import Beneficiary, TierProgress
from referralkit.money import Money
from referralkit.policies._base import (
    check_duration,
    check_limit,
    check_policy,
    combined_needs,
    covered_currencies,
    describe_duration,
    describe_limit,
    first_progress,
    grant_value,
    same_currency,
    with_value,
)
from referralkit.policies._settings import Form, setting
from referralkit.protocols import RewardPolicy

__all__ = ["Budget", "Capped", "allot", "room_left"]


def room_left(limit: Money | int, amounts: Sequence[Money | None], points: int) -> Money | int:
    """What is left of ``limit`` once ``amounts`` (money) or ``points`` are spent."""
    if isinstance(limit, int):
        return limit - points
    room = limit
    for amount in amounts:
        if amount is not None and amount.currency == limit.currency:
            room -= amount
    return room


def _fit_points(grant: Grant, room: int, why: str) -> tuple[Grant | None, int]:
    """``grant`` cut to ``room`` points (None when none are left), and the points left."""
    if grant.points <= 0:
        return grant, room
    if room <= 0:
        return None, room
    if grant.points <= room:
        return grant, room - grant.points
    note = f"; cut to {room} points {why}"
    return attrs.evolve(grant, points=room, explanation=grant.explanation + note), 0


def _fit_money(grant: Grant, room: Money, label: str, why: str) -> tuple[Grant | None, Money]:
    """``grant`` cut to ``room`` (None when nothing is left), and the money left."""
    value = grant_value(grant)
    if value is None or value.is_zero():
        return grant, room
    same_currency(room, value, label)
    if room.amount <= 0:
        return None, room
    if value <= room:
        return grant, room - value
    cut = with_value(grant, room)
    return attrs.evolve(cut, explanation=f"{grant.explanation}; cut to {room} {why}"), room - room


def allot(
    grants: Sequence[Grant],
    room: Money | int,
    *,
    applies: Callable[[Grant], bool],
    label: str,
    why: str,
) -> tuple[Grant, ...]:
    """Hand out ``grants`` in order while there is ``room``; cut the one that crosses it."""
    out: list[Grant] = []
    for grant in grants:
        if not applies(grant):
            out.append(grant)
            continue
        fitted: Grant | None
        if isinstance(room, int):
            fitted, room = _fit_points(grant, room, why)
        else:
            fitted, room = _fit_money(grant, room, label, why)
        if fitted is not None:
            out.append(fitted)
    return tuple(out)


@attrs.frozen(slots=True)
class Capped:
    """``reward``, but a referrer never holds more than ``max_per_referrer`` from it.

    ``max_per_referrer`` is `Money` (caps money rewards in that currency: credit, cash,
    coupon values) or an int (caps points). With ``window``, only rewards granted in the
    last ``window`` count ("at most 100 USD in any 30 days"); without, the cap is for
    life. What counts is every reward the referrer holds and that is not reversed, as
    ``context.referrer_rewards`` lists them, whichever policy granted it.

    A grant that would cross the cap is cut to the room left (a partial reward,
    explained as such); once the cap is reached nothing more is granted. Grants for
    the referee, and grants in the other unit (points under a money cap, perks), pass
    untouched. A cap sees stored rewards, not a sibling's grants in the same
    evaluation: to cap a sum, wrap the `AllOf` in one `Capped`, not each part.

    Raises:
        CurrencyMismatch: (when evaluated) a money reward in another currency than the cap.
    """

    config_summary: ClassVar[str] = (
        "``reward`` up to ``max_per_referrer`` (money or points), optionally per ``window``."
    )

    reward: RewardPolicy = attrs.field(metadata=setting(Form.POLICY))
    max_per_referrer: Money | int = attrs.field(metadata=setting(Form.LIMIT))
    window: timedelta | None = attrs.field(default=None, metadata=setting(Form.DURATION))

    def __attrs_post_init__(self) -> None:
        check_policy(self.reward, "reward")
        check_limit(self.max_per_referrer, "max_per_referrer")
        check_duration(self.window, "window")

    @property
    def needs(self) -> frozenset[str]:
        """The referrer's rewards, and whatever ``reward`` reads."""
        return combined_needs([self.reward], ("referrer_rewards",))

    @property
    def currencies(self) -> frozenset[str] | None:
        """The cap's currency (a money cap), and whatever ``reward`` covers."""
        return covered_currencies([self.reward], (self.max_per_referrer,))

    @property
    def name(self) -> str:
        """``capped(<reward>, 100.00 USD per referrer[ per 30 days])``."""
        return f"capped({self.reward.name}, {self._limit_text()})"

    def _limit_text(self) -> str:
        text = f"{describe_limit(self.max_per_referrer)} per referrer"
        if self.window is not None:
            text += f" per {describe_duration(self.window)}"
        return text

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """``reward``'s grants for the referrer, cut to what the cap leaves."""
        grants = self.reward.evaluate(context)
        past = context.referrer_rewards
        if self.window is not None:
            since = context.now - self.window
            past = tuple(r for r in past if r.granted_at > since)
        room = room_left(
            self.max_per_referrer, [r.amount for r in past], sum(r.points for r in past)
        )
        return allot(
            grants,
            room,
            applies=lambda g: g.beneficiary is Beneficiary.REFERRER,
            label="the cap",
            why=f"by the cap of {self._limit_text()}",
        )

    def progress(self, qualified: int) -> TierProgress | None:
        """The wrapped policy's tier progress, if any."""
        return first_progress([self.reward], qualified)


@attrs.frozen(slots=True)
class Budget:
    """``reward`` until the program has spent ``total``, and never beyond it.

    ``total`` is `Money` (money rewards in that currency) or an int (points). Spend is
    program-wide, as ``context.program_spend`` / ``context.program_points`` report it:
    the value of every reward not reversed, for both sides, whichever policy granted it;
    a reversed reward gives its value back to the budget. Grants are handed out in
    order; the one that would cross the budget is cut to what is left, later ones get
    nothing. The program evaluates policies inside a serialised transaction, so
    concurrent conversions on a shared store never overspend.

    Raises:
        CurrencyMismatch: (when evaluated) a money reward in another currency than the budget.
    """

    config_summary: ClassVar[str] = (
        "``reward`` until the program has spent ``total`` (money or points)."
    )

    reward: RewardPolicy = attrs.field(metadata=setting(Form.POLICY))
    total: Money | int = attrs.field(metadata=setting(Form.LIMIT))

    def __attrs_post_init__(self) -> None:
        check_policy(self.reward, "reward")
        check_limit(self.total, "total")

    @property
    def needs(self) -> frozenset[str]:
        """The program's spend, and whatever ``reward`` reads."""
        return combined_needs([self.reward], ("program_spend",))

    @property
    def currencies(self) -> frozenset[str] | None:
        """The budget's currency (a money budget), and whatever ``reward`` covers."""
        return covered_currencies([self.reward], (self.total,))

    @property
    def name(self) -> str:
        """``budget(<reward>, 10000.00 USD)``."""
        return f"budget({self.reward.name}, {describe_limit(self.total)})"

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """``reward``'s grants, cut to what is left of the budget."""
        grants = self.reward.evaluate(context)
        spent = list(context.program_spend.values())
        return allot(
            grants,
            room_left(self.total, spent, context.program_points),
            applies=lambda _: True,
            label="the budget",
            why=f"by the program budget of {describe_limit(self.total)}",
        )

    def progress(self, qualified: int) -> TierProgress | None:
        """The wrapped policy's tier progress, if any."""
        return first_progress([self.reward], qualified)
