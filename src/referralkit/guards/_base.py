"""Small pieces the built-in guards share: parameter checks and verdict building."""

from __future__ import annotations

from collections.abc import Iterable

from referralkit.context import Decision, Verdict
from referralkit.errors import ConfigError

__all__ = ["BLOCK_SCORE", "REVIEW_SCORE", "decision", "kinds", "positive", "verdict"]

#: The score a blocking verdict carries; a review carries `REVIEW_SCORE`.
BLOCK_SCORE = 1.0
REVIEW_SCORE = 0.5

_KINDS = ("email", "phone", "device", "payment", "address", "ip", "network")
_DECISIONS = {d.value: d for d in Decision}


def kinds(value: Iterable[str]) -> tuple[str, ...]:
    """Signal kinds, checked and without repeats, in the order given."""
    if isinstance(value, str):
        value = (value,)
    try:
        found = tuple(dict.fromkeys(value))
    except TypeError:
        raise ConfigError("signal kinds must be a list of names", value=value) from None
    unknown = [k for k in found if k not in _KINDS]
    if unknown:
        raise ConfigError(
            f"unknown signal kind {unknown[0]!r}; known: {', '.join(_KINDS)}", value=unknown[0]
        )
    return found


def decision(value: Decision | str) -> Decision:
    """A `Decision`, from itself or its name (``"review"``)."""
    if isinstance(value, Decision):
        return value
    if isinstance(value, str) and value in _DECISIONS:
        return _DECISIONS[value]
    raise ConfigError(
        f"decision must be one of {', '.join(_DECISIONS)}, not {value!r}",
        value=value,
        path="decision",
    )


def positive(name: str, value: object, minimum: int = 1) -> int:
    """``value`` as an int of at least ``minimum``, else a `ConfigError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an int of at least {minimum}", value=value, path=name)
    return value


def verdict(chosen: Decision, reasons: list[str]) -> Verdict:
    """A verdict with these reasons, or allow when there are none."""
    if not reasons or chosen is Decision.ALLOW:
        return Verdict.allow()
    score = BLOCK_SCORE if chosen is Decision.BLOCK else REVIEW_SCORE
    return Verdict(chosen, tuple(reasons), score)
