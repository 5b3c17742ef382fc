"""Reward policies: pure functions from a conversion's context to the rewards it earns.

A policy not wrapped in `DoubleSided` rewards the referrer.
"""

from __future__ import annotations

from referralkit.context import Grant, RewardContext
from referralkit.policies._fixed import DoubleSided, Fixed
from referralkit.protocols import RewardPolicy, TieredPolicy

__all__ = ["DoubleSided", "Fixed", "Grant", "RewardContext", "RewardPolicy", "TieredPolicy"]
