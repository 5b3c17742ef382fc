"""`SharedSignals`: many referees of one referrer on one device, card or network."""

from __future__ import annotations

import attrs

from referralkit.context import Decision, GuardContext, Verdict
from referralkit.guards._base import decision, kinds, positive, verdict

__all__ = ["SharedSignals"]


def _threshold(value: int) -> int:
    return positive("threshold", value, 2)


@attrs.frozen(slots=True)
class SharedSignals:
    """Review referees of one referrer who share a device, card or network.

    A referee is flagged once ``threshold`` referees of the same referrer (this one
    included) carry one device, card or network. One person creating accounts leaves
    this trace even when every account has its own email. Reasons: ``shared_signals.<kind>``.
    """

    threshold: int = attrs.field(default=3, converter=_threshold)
    kinds: tuple[str, ...] = attrs.field(default=("device", "payment", "network"), converter=kinds)
    decision: Decision = attrs.field(default=Decision.REVIEW, converter=decision)

    @property
    def name(self) -> str:
        """``shared_signals``."""
        return "shared_signals"

    @property
    def needs(self) -> tuple[str, ...]:
        """The history it reads: signal counts among the referrer's other referees."""
        return ("siblings",)

    def check(self, context: GuardContext) -> Verdict:
        """Count the referrer's other referees carrying each of this referee's signals."""
        counts = context.history.sibling_signal_counts
        if not counts:
            return Verdict.allow()
        per_kind: dict[str, int] = {}
        for signal in context.referee_signals:
            n = counts.get(signal, 0)
            if n:
                per_kind[signal[0]] = per_kind.get(signal[0], 0) + n
        reasons = [
            f"shared_signals.{k}" for k in self.kinds if per_kind.get(k, 0) + 1 >= self.threshold
        ]
        return verdict(self.decision, reasons)
