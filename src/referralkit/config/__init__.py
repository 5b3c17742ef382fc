"""`ProgramConfig`: a whole referral program as data, from a dict, JSON or TOML.

```toml
hold = "14d"
link_base = "https://shop.example/r"

[policy]
policy = "double_sided"
referrer = { policy = "fixed", amount = "10 USD" }
referee = { policy = "fixed", amount = "5 USD" }

[[guards]]
guard = "self_referral"
```

Policies and guards are named as the registry knows them (`referralkit.registry`:
the built-ins, registered factories and installed plugins); their parameters sit
beside the name. Money is written ``"10.50 USD"`` (or ``{"amount": "10.50",
"currency": "USD"}``), durations ``"14d"``, ``"12h"``, ``"1d12h"`` (or ISO 8601
``"P14D"``), rates ``"0.05"`` or ``"5%"``; floats are refused, because they cannot
hold money exactly.

Every error is a `ConfigError` whose ``.path`` is the exact field at fault, such as
``campaigns.0.policy.tiers.1.min_referrals``, and whose message says what was expected.

A policy's shape in a file is declared once, on the policy class itself (see
`referralkit.policies.setting`); the models here (`FixedSpec`, ..., `PolicySpec`), the
JSON Schema and the loader are derived from those declarations.
"""

from __future__ import annotations

from referralkit.campaigns import Campaign as Campaign
from referralkit.config._policy_specs import (
    AllOfSpec,
    BudgetPerPeriodSpec,
    BudgetSpec,
    CappedPerPeriodSpec,
    CappedSpec,
    DoubleSidedSpec,
    FirstMatchSpec,
    FirstOrderOnlySpec,
    FirstOrdersSpec,
    FixedSpec,
    MilestoneSpec,
    MinimumOrderSpec,
    OrderAttributeSpec,
    PercentOfOrderSpec,
    PerClickSpec,
    PerLeadSpec,
    PluginPolicySpec,
    PolicySpec,
    RecurringSpec,
    ReturningCustomerSpec,
    TieredSpec,
    TierSpec,
    VolumeTierSpec,
    VolumeTiersSpec,
    build_policy,
)
from referralkit.config._program_config import (
    AttributionSpec,
    CampaignSpec,
    CodeFormatSpec,
    GuardSpec,
    ProgramConfig,
    build_guards,
    program_kwargs,
    write_json_schema,
)

__all__ = [
    "AllOfSpec",
    "AttributionSpec",
    "BudgetPerPeriodSpec",
    "BudgetSpec",
    "CampaignSpec",
    "CappedPerPeriodSpec",
    "CappedSpec",
    "CodeFormatSpec",
    "DoubleSidedSpec",
    "FirstMatchSpec",
    "FirstOrderOnlySpec",
    "FirstOrdersSpec",
    "FixedSpec",
    "GuardSpec",
    "MilestoneSpec",
    "MinimumOrderSpec",
    "OrderAttributeSpec",
    "PerClickSpec",
    "PerLeadSpec",
    "PercentOfOrderSpec",
    "PluginPolicySpec",
    "PolicySpec",
    "ProgramConfig",
    "RecurringSpec",
    "ReturningCustomerSpec",
    "TierSpec",
    "TieredSpec",
    "VolumeTierSpec",
    "VolumeTiersSpec",
    "build_guards",
    "build_policy",
    "program_kwargs",
    "write_json_schema",
]
