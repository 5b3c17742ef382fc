"""Pay per lead: a fee for a sign-up attributed through a partner's code or link.

`PerLead` grants only when the program evaluates a lead (``context.lead``: a sign-up,
with an order of zero), never on an order; the program keeps only the grants a
`PerLead` made when it evaluates a lead, so the other parts of the terms (a fixed fee
per order, say) pay nothing for the sign-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Final

import attrs

from referralkit.context import Grant, RewardContext
from referralkit.model import TierProgress
from referralkit.policies._base import (
    check_policy,
    combined_needs,
    covered_currencies,
    first_progress,
    prefixed,
)
from referralkit.policies._settings import Form, setting
from referralkit.protocols import RewardPolicy

__all__ = ["LEAD_KEY", "PerLead"]

#: The key prefix of a grant `PerLead` made; the program keeps only these on a lead.
LEAD_KEY: Final = "lead:"


@attrs.frozen(slots=True)
class PerLead:
    """``reward`` once per sign-up attributed through the partner's code (a lead fee).

    ``PerLead(Fixed(Money("2", "USD"), kind="cash"))`` pays 2 USD for each new customer
    who signs up with the partner's code or link; with ``AllOf`` it sits beside the
    order commission. A lead is paid once per customer, held like any reward. On an
    order it grants nothing.
    """

    config_summary: ClassVar[str] = "``reward`` for each sign-up through the partner's code."

    reward: RewardPolicy = attrs.field(metadata=setting(Form.POLICY))

    def __attrs_post_init__(self) -> None:
        check_policy(self.reward, "reward")

    @property
    def needs(self) -> frozenset[str]:
        """Whatever ``reward`` reads."""
        return combined_needs([self.reward])

    @property
    def currencies(self) -> frozenset[str] | None:
        """The currencies ``reward`` can pay in."""
        return covered_currencies([self.reward])

    @property
    def name(self) -> str:
        """``per_lead(<reward>)``."""
        return f"per_lead({self.reward.name})"

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """``reward``'s grants on a lead (keyed ``lead:...``), nothing on an order."""
        if not context.lead:
            return ()
        grants = prefixed(self.reward.evaluate(context), "a sign-up through the partner's code")
        return tuple(attrs.evolve(g, key=LEAD_KEY + g.key) for g in grants)

    def progress(self, qualified: int) -> TierProgress | None:
        """The wrapped policy's tier progress, if any."""
        return first_progress([self.reward], qualified)
