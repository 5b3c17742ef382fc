"""What an invitee's page shows: the offer in words and numbers, and the landing itself."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import attrs

from referralkit._json import JSONForm
from referralkit.model import CheckReason, RewardKind
from referralkit.money import Money

__all__ = ["Landing", "Offer"]


@attrs.frozen(slots=True)
class Offer(JSONForm):
    """One thing the invitee gets: ``text`` for the page, and the numbers behind it.

    ``when`` is ``signup`` (on joining), ``first_order`` or ``order`` (every order);
    ``amount`` a fixed amount (None for several currencies or a percentage: see
    ``text``), ``percent`` a share of the order (``10`` for 10%), ``points`` and ``perk``
    what they say; ``minimum_order`` the smallest order that earns it.
    """

    text: str
    when: str
    kind: RewardKind | None = None
    amount: Money | None = None
    percent: Decimal | None = None
    points: int = 0
    perk: str | None = None
    minimum_order: Money | None = None


@attrs.frozen(slots=True)
class Landing(JSONForm):
    """What the invitee's page shows, read without writing anything.

    ``code``, ``usable``, ``reason`` and ``message`` are those of
    ``program.check_code``; ``referrer_name`` is the display name the referrer chose to
    share (never an email; None if they set none); ``campaign`` and ``campaign_ends_at``
    the offer's campaign and its end; ``offers`` what the invitee gets. ``channel`` is
    the link's channel. ``claim_token`` (when usable) is a short-lived signed token an app
    installed after the click reports at first open (``program.claim``), valid until
    ``claim_expires_at``; ``app_link`` the same link in the app-link path form.
    """

    code: str | None
    usable: bool
    reason: CheckReason | None
    message: str
    referrer_name: str | None = None
    campaign: str | None = None
    campaign_ends_at: datetime | None = None
    offers: tuple[Offer, ...] = ()
    channel: str | None = None
    claim_token: str | None = None
    claim_expires_at: datetime | None = None
    app_link: str | None = None
