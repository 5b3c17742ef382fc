"""Fraud and self-referral guards: pure checks run on every attribution."""

from __future__ import annotations

from referralkit.context import Decision, GuardContext, GuardHistory, Verdict
from referralkit.protocols import Guard

__all__ = ["Decision", "Guard", "GuardContext", "GuardHistory", "Verdict"]
