"""Reward policies: pure functions from a conversion's context to the rewards it earns.

A policy not wrapped in `DoubleSided` rewards the referrer. A policy that is not
wrapped in a condition (`FirstOrderOnly`, `MinimumOrder`, `Recurring`) rewards every
order of a referred customer.

```python
from decimal import Decimal

import referralkit as rk
from referralkit.policies import DoubleSided, FirstOrderOnly, Fixed, PercentOfOrder, Tier, Tiered

policy = DoubleSided(
    referrer=Tiered([
        Tier(min_referrals=1, reward=FirstOrderOnly(Fixed(rk.Money("10", "USD")))),
        Tier(min_referrals=5, reward=PercentOfOrder(Decimal("0.05"))),
    ]),
    referee=FirstOrderOnly(Fixed(rk.Money("5", "USD"))),
)
assert policy.progress(3).next_tier_at == 5
```

Every grant names the policy that computed it and explains why, in words a support
agent can read out: ``tier 2 (5+ qualified referrals): 5% of the 80.00 USD order: a
credit of 4.00 USD``.
"""

from __future__ import annotations

# Importable from here as before; their home (the __all__ they are in) is the module named.
from referralkit.context import Grant as Grant
from referralkit.context import PastReward as PastReward
from referralkit.context import RewardContext as RewardContext
from referralkit.policies._base import policy_definition, policy_version
from referralkit.policies._combinators import AllOf, FirstMatch
from referralkit.policies._conditions import FirstOrderOnly, MinimumOrder, Recurring
from referralkit.policies._event_fees import PerClick, PerLead
from referralkit.policies._fixed import DoubleSided, Fixed
from referralkit.policies._limits import Budget, Capped
from referralkit.policies._order_terms import OrderAttribute
from referralkit.policies._percent import PercentOfOrder
from referralkit.policies._periods import BudgetPerPeriod, CappedPerPeriod, period_bounds
from referralkit.policies._schedules import FirstOrders, ReturningCustomer
from referralkit.policies._settings import Form, Setting, one_of, policy_config, setting
from referralkit.policies._tiers import Milestone, Tier, Tiered
from referralkit.policies._volume import VolumeTier, VolumeTiers
from referralkit.protocols import RewardPolicy as RewardPolicy
from referralkit.protocols import TieredPolicy as TieredPolicy

__all__ = [
    "AllOf",
    "Budget",
    "BudgetPerPeriod",
    "Capped",
    "CappedPerPeriod",
    "DoubleSided",
    "FirstMatch",
    "FirstOrderOnly",
    "FirstOrders",
    "Fixed",
    "Form",
    "Milestone",
    "MinimumOrder",
    "OrderAttribute",
    "PerClick",
    "PerLead",
    "PercentOfOrder",
    "Recurring",
    "ReturningCustomer",
    "Setting",
    "Tier",
    "Tiered",
    "VolumeTier",
    "VolumeTiers",
    "one_of",
    "period_bounds",
    "policy_config",
    "policy_definition",
    "policy_version",
    "setting",
]
