"""The fixed rules of asking: pure functions of what the program read, never the store.

`MomentRules` is the configuration; `decide` applies it to one `MomentContext`. The
program reads the context inside its unit of work and records the answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import attrs

from referralkit.errors import ConfigError
from referralkit.moments._model import NPS, REVIEW

__all__ = [
    "COOLDOWN",
    "INVITE",
    "LOW_SCORE",
    "PERIOD_LIMIT",
    "REFUNDED",
    "MomentContext",
    "MomentRules",
    "Verdict",
    "decide",
]

INVITE = "moment.invite"
COOLDOWN = "moment.cooldown"
PERIOD_LIMIT = "moment.period_limit"
REFUNDED = "moment.refunded"
LOW_SCORE = "moment.low_score"


def _duration(field: str, value: object, *, zero: bool = True) -> timedelta:
    if not isinstance(value, timedelta) or value < timedelta(0) or (not zero and not value):
        raise ConfigError(f"{field} must be a non-negative timedelta", value=value, path=field)
    return value


def _cooldown(value: object) -> timedelta:
    return _duration("cooldown", value)


def _period(value: object) -> timedelta:
    return _duration("period", value, zero=False)


def _follow_window(value: object) -> timedelta:
    return _duration("follow_window", value, zero=False)


def _low_scores(value: object) -> Mapping[str, int]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in value.items()
    ):
        raise ConfigError(
            "low_scores must map moment names to the highest score that is low",
            value=value,
            path="low_scores",
        )
    return dict(value)


@attrs.frozen(slots=True)
class MomentRules:
    """When an invitation may be shown: the fixed rules, all of them configurable.

    ``cooldown``: no second invitation within this time of the last one;
    ``per_period`` invitations at most within any ``period`` (None: no limit);
    ``low_scores``: by moment name, the highest score that is low (a 3-star review, an
    NPS of 6): a customer whose latest scored moment is low is not asked, and neither is
    a customer whose last order was refunded. ``follow_window``: how long after an
    invitation a friend joining is credited to it.
    """

    cooldown: timedelta = attrs.field(default=timedelta(days=30), converter=_cooldown)
    per_period: int | None = 3
    period: timedelta = attrs.field(default=timedelta(days=365), converter=_period)
    low_scores: Mapping[str, int] = attrs.field(
        factory=lambda: {REVIEW: 3, NPS: 6}, converter=_low_scores
    )
    follow_window: timedelta = attrs.field(default=timedelta(days=7), converter=_follow_window)

    def __attrs_post_init__(self) -> None:
        limit: object = self.per_period
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise ConfigError(
                "per_period must be a positive int or None", value=limit, path="per_period"
            )

    @property
    def lookback(self) -> timedelta:
        """How far back the invitations the rules weigh go."""
        return max(self.cooldown, self.period)


@attrs.frozen(slots=True)
class MomentContext:
    """What `decide` weighs: the customer's recent invitations and latest signals.

    ``invited_at``: times of invitations shown within `MomentRules.lookback`, any order;
    ``last_order_refunded``: whether the customer's last order was refunded (None: no
    order known); ``last_score``: the customer's latest scored moment, as (name, score).
    """

    moment: str
    now: datetime
    invited_at: Sequence[datetime] = ()
    last_order_refunded: bool | None = None
    last_score: tuple[str, int] | None = None


@attrs.frozen(slots=True)
class Verdict:
    """The fixed rules' answer: a reason code, and when they would next allow an invitation."""

    invite: bool
    reason: str
    next_allowed_at: datetime | None = None


def decide(context: MomentContext, rules: MomentRules) -> Verdict:
    """Apply ``rules`` to ``context``: refunds and low scores first, then the limits."""
    if context.last_order_refunded:
        return Verdict(invite=False, reason=REFUNDED)
    if context.last_score is not None:
        name, score = context.last_score
        low = rules.low_scores.get(name)
        if low is not None and score <= low:
            return Verdict(invite=False, reason=LOW_SCORE)
    now = context.now
    past = sorted(t for t in context.invited_at if t <= now)
    if past and now - past[-1] < rules.cooldown:
        return Verdict(invite=False, reason=COOLDOWN, next_allowed_at=past[-1] + rules.cooldown)
    if rules.per_period is not None:
        recent = [t for t in past if now - t < rules.period]
        if len(recent) >= rules.per_period:
            # The oldest of the last ``per_period`` invitations must leave the period.
            oldest = recent[-rules.per_period]
            return Verdict(invite=False, reason=PERIOD_LIMIT, next_allowed_at=oldest + rules.period)
    return Verdict(invite=True, reason=INVITE)
