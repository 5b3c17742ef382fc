"""The referrer's revenue per calendar period, read only for a policy that names the period.

A policy asks for it in ``needs`` as ``referrer_revenue:<period>:<timezone>``
(`referralkit.policies.VolumeTiers`). The revenue is a partner's: their checkout orders
placed in the calendar period that contains the order being rewarded, recorded before
it, net of refunds, added up by the store. A store without partner programmes, or a
referrer who is no partner, has none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from referralkit.model import Conversion
from referralkit.money import Money
from referralkit.policies import period_bounds
from referralkit.policies._volume import REVENUE_NEED
from referralkit.program._core import ProgramCore
from referralkit.program._partner_store import PARTNERS
from referralkit.protocols import UnitOfWork

__all__ = ["period_revenue"]


def period_revenue(
    core: ProgramCore,
    uow: UnitOfWork,
    needs: Iterable[str],
    referrer: str,
    conversion: Conversion,
) -> Mapping[str, Mapping[str, Money]]:
    """Per period key (``month:UTC``) the policy needs, the referrer's revenue by currency."""
    keys = sorted(n.removeprefix(REVENUE_NEED) for n in needs if n.startswith(REVENUE_NEED))
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
