"""Figures per calendar period, read only for a policy that names the period in ``needs``.

``referrer_revenue:<period>:<timezone>`` (`referralkit.policies.VolumeTiers`): a
partner's checkout orders placed in the calendar period that contains the order being
rewarded, recorded before it, net of refunds. A store without partner programmes, or a
referrer who is no partner, has none.

``program_spend:<period>:<timezone>`` (`referralkit.policies.BudgetPerPeriod`): the
programme's spend on rewards granted in the period that contains the grant's time. A
store without partner programmes cannot add it up: a `ConfigError` says so rather than
a budget that counts nothing. Both are added up by the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from referralkit.model import Conversion, RewardState
from referralkit.money import Money
from referralkit.policies import period_bounds
from referralkit.policies._periods import SPEND_NEED
from referralkit.policies._volume import REVENUE_NEED
from referralkit.program._core import ProgramCore
from referralkit.program._partner_store import PARTNERS
from referralkit.protocols import UnitOfWork

__all__ = ["period_revenue", "period_spend"]


def period_revenue(
    core: ProgramCore,
    uow: UnitOfWork,
    needs: Iterable[str],
    referrer: str,
    conversion: Conversion,
) -> Mapping[str, Mapping[str, Money]]:
    """Per period key (``month:UTC``) the policy needs, the referrer's revenue by currency."""
    keys = _keys(needs, REVENUE_NEED)
    if not keys or PARTNERS.missing(uow):
        return {}
    repo = PARTNERS.repository(uow, store=core.store)
    out: dict[str, dict[str, Money]] = {}
    for key in keys:
        period, zone = key.split(":", 1)
        since, until = period_bounds(period, zone, conversion.occurred_at)
        found = repo.revenue(referrer, since, until, before=conversion.order_id)
        out[key] = {m.currency: m for m in found}
    return out


def _keys(needs: Iterable[str], prefix: str) -> list[str]:
    return sorted(n.removeprefix(prefix) for n in needs if n.startswith(prefix))


def period_spend(
    core: ProgramCore,
    uow: UnitOfWork,
    needs: Iterable[str],
    now: datetime,
    exclude_order: str | None,
) -> Mapping[str, tuple[Mapping[str, Money], int]]:
    """Per period key the policy needs, the programme's spend in the period containing ``now``.

    For a repricing, the rewards of ``exclude_order`` do not count.
    """
    keys = _keys(needs, SPEND_NEED)
    if not keys:
        return {}
    repo = PARTNERS.repository(uow, store=core.store)
    out: dict[str, tuple[Mapping[str, Money], int]] = {}
    for key in keys:
        period, zone = key.split(":", 1)
        since, until = period_bounds(period, zone, now)
        found, points = repo.period_spend(since, until)
        money = {m.currency: m for m in found}
        if exclude_order is not None:
            for reward in uow.rewards.for_order(exclude_order):
                if reward.state is RewardState.REVERSED or not since <= reward.created_at < until:
                    continue
                points -= reward.points
                if reward.amount is not None and reward.amount.currency in money:
                    money[reward.amount.currency] -= reward.amount
        out[key] = (money, points)
    return out
