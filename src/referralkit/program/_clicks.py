"""Clicks: tracking a visitor's clicks on referral links, and the touch that earns them.

A typed code beats any click; otherwise the program's attribution model picks the
winning touch among the visitor's tracked clicks inside the window and the link in
hand (see `referralkit.metrics.Attribution`). Clicks are facts in the store's click
repository (``uow.clicks``), read in the unit of work that attributes, so the winning
touch and the referral it earns are one consistent state.

The store never holds a visitor id, only its keyed hash (``SignalHasher.digest`` of
kind ``visitor``, keyed by the program secret), so a host that uses an IP address or an
email as visitor id puts no raw PII on disk. The `Click` handed back to the host carries
the visitor id the host passed, never the hash.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from referralkit._validate import require_id
from referralkit.errors import InvalidInput
from referralkit.metrics._attribution import record_click
from referralkit.metrics._source import Click
from referralkit.program._core import ProgramCore
from referralkit.program._event_fees import grant_click
from referralkit.protocols import CLICKS, UnitOfWork

__all__ = ["VISITOR", "Touch", "attribution_for", "touch", "track_click", "visitor_key"]

#: The signal kind a visitor id is hashed as.
VISITOR = "visitor"
# A link in hand is the newest touch: it sorts after every stored click of the same instant.
_NEWEST = 2**63 - 1


@attrs.frozen(slots=True)
class Touch:
    """What an attribution credits: a typed code or a link, its channel and campaign."""

    code: str | None
    link: str | None
    channel: str | None
    campaign: str | None


def visitor_key(core: ProgramCore, visitor: str) -> str:
    """What the store keeps for ``visitor``: its keyed hash under the current secret."""
    return core.hasher.digest(VISITOR, visitor)


def _visitor_keys(core: ProgramCore, visitor: str) -> list[str]:
    """Every key ``visitor``'s clicks may be stored under.

    The hash under the current secret and, during a rotation, under each previous one;
    and the id itself, which a SQLite file upgraded from before visitor ids were hashed
    still holds for the clicks it had then.
    """
    hashed = sorted(digest for _, digest in core.hasher.match_pairs([(VISITOR, visitor)]))
    return [*hashed, visitor]


def _is_link(text: str) -> bool:
    return "://" in text


def _link_click(core: ProgramCore, link: str, visitor: str, now: datetime) -> Click:
    payload = core.parse_link(link)
    return Click(
        code=payload.code,
        visitor=visitor,
        occurred_at=now,
        channel=payload.channel,
        campaign=payload.campaign,
        id=_NEWEST,
    )


def _visitor_clicks(core: ProgramCore, uow: UnitOfWork, visitor: str, now: datetime) -> list[Click]:
    """The visitor's stored clicks inside the attribution window, read in ``uow``."""
    clicks = CLICKS.repository(uow, store=core.store)
    found = clicks.for_visitor(_visitor_keys(core, visitor), now - core.attribution.window, now)
    return [attrs.evolve(c, visitor=visitor) for c in found]


def track_click(
    core: ProgramCore,
    link_or_code: str,
    *,
    visitor: str,
    channel: str | None,
    campaign: str | None,
) -> Click:
    """`referralkit.ReferralProgram.track_click`."""
    if not isinstance(link_or_code, str):
        raise InvalidInput("link_or_code must be a string", value=link_or_code, field="link")
    visitor = require_id("visitor", visitor)
    now = core.now()
    if _is_link(link_or_code):
        click = _link_click(core, link_or_code, visitor, now)
        text = click.code
        channel = click.channel if channel is None else channel
        campaign = click.campaign if campaign is None else campaign
    else:
        text = link_or_code
    typed = core.read_code(text)
    with core.transaction() as uow:
        CLICKS.repository(uow, store=core.store)  # a store without clicks is told so first
        owned = core.find_code(uow, typed)
        key = visitor_key(core, visitor)
        stored = record_click(
            uow,
            code=owned.code,
            visitor=key,
            now=now,
            channel=channel,
            campaign=owned.campaign if campaign is None else campaign,
        )
        grant_click(core, uow, owned.code, key, now)
    return attrs.evolve(stored, visitor=visitor)


def attribution_for(core: ProgramCore, visitor: str) -> Click | None:
    """`referralkit.ReferralProgram.attribution_for`."""
    visitor = require_id("visitor", visitor)
    now = core.now()
    with core.transaction() as uow:
        clicks = _visitor_clicks(core, uow, visitor, now)
    return core.attribution.winner(clicks, now)


def touch(
    core: ProgramCore,
    uow: UnitOfWork,
    *,
    code: str | None,
    link: str | None,
    visitor: str | None,
    channel: str | None,
    now: datetime,
) -> Touch | None:
    """What `attribute` credits once the attribution model has chosen; None: nothing.

    Without a visitor, or with a typed code, the arguments stand as given. Otherwise the
    visitor's clicks are read in ``uow`` (the attribution's own unit of work), the winning
    touch's code replaces the link, and its channel and campaign apply; a visitor with no
    click in the window and no link has nothing to credit.
    """
    if visitor is not None:
        visitor = require_id("visitor", visitor)  # checked even when a typed code makes it moot
    if visitor is None or code is not None:
        return Touch(code, link, channel, None)
    touches: list[Click] = []
    if link is not None:
        touches.append(_link_click(core, link, visitor, now))
    touches += _visitor_clicks(core, uow, visitor, now)
    winner = core.attribution.winner(touches, now)
    if winner is None:
        return None
    return Touch(winner.code, None, channel or winner.channel, winner.campaign)
