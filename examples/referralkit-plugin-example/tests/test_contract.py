"""The example policy passes referralkit's policy contract suite."""

from __future__ import annotations

import pytest
from referralkit_plugin_example import WeekendBonus

import referralkit as rk
from referralkit.testing import PolicyContract


class TestWeekendBonus(PolicyContract):
    @pytest.fixture
    def policy(self) -> WeekendBonus:
        return WeekendBonus(rk.Money("5", "USD"))
