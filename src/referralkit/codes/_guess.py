"""How likely a random guess is to hit an issued code."""

from __future__ import annotations

import math

from referralkit.codes._format import CodeFormat, resolve_format
from referralkit.errors import InvalidInput

__all__ = ["guess_probability"]


def _count(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(
            f"{field} must be a non-negative int, not {value!r}", value=value, field=field
        )
    return value


def guess_probability(issued: int, fmt: CodeFormat | None = None, *, attempts: int = 1) -> float:
    """Probability that ``attempts`` random guesses hit at least one of ``issued`` codes.

    ``1 - (1 - issued / fmt.space) ** attempts``, computed with ``log1p``/``expm1`` so
    that tiny probabilities keep their precision. Guesses are independent and uniform
    over the format's space (an attacker who knows the format and the check character).

    Raises:
        InvalidInput: ``issued`` or ``attempts`` is negative or not an int, or more codes
            are issued than the format has.
        ConfigError: ``fmt`` is not a `CodeFormat`.
    """
    fmt = resolve_format(fmt)
    issued = _count(issued, "issued")
    attempts = _count(attempts, "attempts")
    space = fmt.space
    if issued > space:
        raise InvalidInput(
            f"only {space} codes exist in this format, not {issued}", value=issued, field="issued"
        )
    if issued == 0 or attempts == 0:
        return 0.0
    if issued == space:
        return 1.0
    try:
        return -math.expm1(attempts * math.log1p(-issued / space))
    except OverflowError:  # more attempts than a float holds: a hit is certain
        return 1.0
