"""Learning which moments bring friends: Thompson sampling over moment types.

Each moment type's chance that an invitation is followed by a friend joining is a Beta
posterior over the program's own evidence. At a moment, the learner draws one sample per
type and invites only if this moment's draw is the highest; with probability
``explore`` it invites anyway, so every type keeps gathering evidence. Randomness is
injected (``rng``), so a seeded run is repeatable. Pure: it is handed the evidence.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import timedelta

import attrs

from referralkit.errors import ConfigError
from referralkit.moments._model import MomentEvidence

__all__ = ["BEST", "EXPLORE", "NOT_BEST", "Learning", "LearningVerdict"]

BEST = "moment.learning.best"
EXPLORE = "moment.learning.explore"
NOT_BEST = "moment.learning.not_best"


def _explore(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigError("explore must be a rate from 0 to 1", value=value, path="explore")
    return float(value)


def _window(value: object) -> timedelta | None:
    if value is not None and (not isinstance(value, timedelta) or value <= timedelta(0)):
        raise ConfigError("window must be a positive timedelta or None", value=value, path="window")
    return value


def _refresh(value: object) -> timedelta:
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise ConfigError("refresh must be a non-negative timedelta", value=value, path="refresh")
    return value


def _moments(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ConfigError(
            "moments must list the moment names to compare", value=value, path="moments"
        )
    names = tuple(value)
    if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise ConfigError("moments must be distinct names", value=value, path="moments")
    return names


@attrs.frozen(slots=True)
class LearningVerdict:
    """The learner's answer: invite or not, the reason code, and the evidence it weighed."""

    invite: bool
    reason: str
    evidence: tuple[MomentEvidence, ...]


@attrs.define(slots=True)
class Learning:
    """Thompson sampling over ``moments`` (the moment types to compare).

    ``explore``: the rate of invitations made regardless of the evidence. ``window``:
    how far back the evidence goes (None: all of it); a window keeps each decision's cost
    bounded and lets the learner follow a shop whose best moment changes. ``refresh``:
    how long a program reuses the evidence it read before reading it again (Thompson
    sampling tolerates feedback that arrives late; ``timedelta(0)`` reads it for every
    decision). ``rng`` is a `random.Random` (seed it in tests); the default draws from
    the operating system.
    """

    moments: tuple[str, ...] = attrs.field(converter=_moments)
    explore: float = attrs.field(default=0.05, converter=_explore)
    rng: random.Random = attrs.field(factory=random.SystemRandom)
    window: timedelta | None = attrs.field(default=timedelta(days=90), converter=_window)
    refresh: timedelta = attrs.field(default=timedelta(minutes=5), converter=_refresh)

    def evidence(self, counts: Mapping[str, tuple[int, int]]) -> tuple[MomentEvidence, ...]:
        """Each compared type's evidence from ``counts`` (moment -> (asked, followed))."""
        found = []
        for name in self.moments:
            asked, followed = counts.get(name, (0, 0))
            found.append(MomentEvidence(name, asked, followed, (1 + followed) / (2 + asked)))
        return tuple(found)

    def choose(self, moment: str, counts: Mapping[str, tuple[int, int]]) -> LearningVerdict:
        """Whether to invite at ``moment`` given ``counts`` (moment -> (asked, followed))."""
        evidence = self.evidence(counts)
        if self.rng.random() < self.explore:
            return LearningVerdict(invite=True, reason=EXPLORE, evidence=evidence)
        draws = {
            e.moment: self.rng.betavariate(1 + e.followed, 1 + e.asked - e.followed)
            for e in evidence
        }
        if moment not in draws:  # a type the learner does not compare: judge it on its own
            asked, followed = counts.get(moment, (0, 0))
            draws[moment] = self.rng.betavariate(1 + followed, 1 + asked - followed)
        best = max(draws.values())
        invite = draws[moment] >= best
        return LearningVerdict(
            invite=invite, reason=BEST if invite else NOT_BEST, evidence=evidence
        )
