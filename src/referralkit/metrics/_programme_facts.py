"""What a store adds up to compare programmes: `ProgrammeFacts`, without pydantic.

Every order, sign-up, click and reward of a window belongs to one *source*: a partner
(and the post whose code was used, if any) or the customer referrals. The rule:

- an order typed with a partner's code at checkout is that partner's (and its post's);
- otherwise an order of a referred customer (a referral not rejected) belongs to the
  referral's code: a partner's code makes it the partner's, any other code the
  customer referrals';
- a click or a sign-up belongs to the code it used, the same way;
- a reward under a partner's account (commission, a buyer's discount, a post's fee)
  is the partner's; any other reward follows its referral's code.

A customer is *acquired* by the source of their first order (``first_order``) placed
in the window. A store returns the sums per source (SQL ``GROUP BY`` on SQL stores);
`referralkit.metrics._programmes` turns them into per-partner, per-post and
per-programme figures, the same on every store.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol, runtime_checkable

import attrs

from referralkit.metrics._source import Window

__all__ = [
    "REVENUE_DAYS",
    "PartnerProfile",
    "PostProfile",
    "ProgrammeFacts",
    "ProgrammeView",
    "SourceCounts",
    "SourceMoney",
    "programme_view",
]

#: How long after their first order an acquired customer's revenue is counted.
REVENUE_DAYS = timedelta(days=90)


@attrs.frozen(slots=True)
class SourceCounts:
    """Counts of one source: ``partner`` None is the customer referrals.

    ``post`` is the post whose code was used (None: a code of no post). ``customers``
    counts the first orders placed in the window (new customers), ``repeat_customers``
    those of them with two orders or more not refunded in full before the window's end.
    ``impressions`` and ``engagements`` are from each post's latest report before the
    window's end, for the posts made in the window.
    """

    partner: str | None
    post: str | None
    clicks: int = 0
    signups: int = 0
    orders: int = 0
    customers: int = 0
    repeat_customers: int = 0
    impressions: int = 0
    engagements: int = 0


@attrs.frozen(slots=True)
class SourceMoney:
    """Money of one source in one currency, in minor units.

    ``revenue``: the window's orders less refunds; ``revenue_90d``: what the customers
    acquired in the window spent (any order, less refunds) within `REVENUE_DAYS` of
    their first order and before the window's end; ``commission``: the cost of rewards
    granted in the window on orders and sign-ups (a reversed one's clawback, less what
    was recovered); ``fees``: the cost of a partner's fees granted in the window (their
    posts', campaigns', bounties').
    """

    partner: str | None
    post: str | None
    currency: str
    revenue: int = 0
    revenue_90d: int = 0
    commission: int = 0
    fees: int = 0


@attrs.frozen(slots=True)
class PartnerProfile:
    """A partner as the comparison groups them: kind, audience, region."""

    id: str
    name: str
    kind: str
    audience: int
    region: str | None
    niches: tuple[str, ...] = ()


@attrs.frozen(slots=True)
class PostProfile:
    """A partner's post (every post, so a post with nothing yet still has its row)."""

    id: str
    partner: str
    channel: str | None


@attrs.frozen(slots=True)
class ProgrammeFacts:
    """Everything a comparison is computed from, by source."""

    partners: tuple[PartnerProfile, ...] = ()
    posts: tuple[PostProfile, ...] = ()
    counts: tuple[SourceCounts, ...] = ()
    money: tuple[SourceMoney, ...] = ()


@runtime_checkable
class ProgrammeView(Protocol):
    """A `referralkit.metrics.MetricsView` that can also compare programmes.

    Optional: a view without it reports no comparison (``MetricsReport.programmes`` is
    None). A store without partner tables returns the customer referrals' sources only.
    """

    def programme_facts(self, window: Window) -> ProgrammeFacts:
        """The sums per source over ``window`` (see the module's rule)."""
        ...


def programme_view(view: object) -> ProgrammeView | None:
    """``view`` as a `ProgrammeView`, or None when its store cannot compare programmes."""
    return view if isinstance(view, ProgrammeView) else None
