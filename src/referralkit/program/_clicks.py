"""Clicks: tracking a visitor's clicks on referral links, and the touch that earns them.

A typed code beats any click; otherwise the program's attribution model picks the
winning touch among the visitor's tracked clicks inside the window and the link in
hand (see `referralkit.metrics.Attribution`).
"""

from __future__ import annotations

from datetime import datetime

import attrs

from referralkit._validate import require_id
from referralkit.errors import InvalidInput, UnknownCode
from referralkit.metrics._attribution import record_click, visitor_clicks
from referralkit.metrics._source import Click
from referralkit.program._core import ProgramCore

__all__ = ["Touch", "attribution_for", "touch", "track_click"]

# A link in hand is the newest touch: it sorts after every stored click of the same instant.
_NEWEST = 2**63 - 1


@attrs.frozen(slots=True)
class Touch:
    """What an attribution credits: a typed code or a link, its channel and campaign."""

    code: str | None
    link: str | None
    channel: str | None
    campaign: str | None


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
    canonical, _ = core.canonical_code(text)
    with core.transaction() as uow:
        owned = uow.codes.get(canonical)
        if owned is None:
            raise UnknownCode(f"no customer owns the code {canonical!r}", value=canonical)
        return record_click(
            uow,
            code=canonical,
            visitor=visitor,
            now=now,
            channel=channel,
            campaign=owned.campaign if campaign is None else campaign,
        )


def attribution_for(core: ProgramCore, visitor: str) -> Click | None:
    """`referralkit.ReferralProgram.attribution_for`."""
    visitor = require_id("visitor", visitor)
    now = core.now()
    window = core.attribution.window
    clicks = visitor_clicks(core.store, visitor, since=now - window, until=now)
    return core.attribution.winner(clicks, now)


def _winning_touch(core: ProgramCore, *, link: str | None, visitor: str) -> Click | None:
    """The winning touch for a visitor who typed no code, if any."""
    now = core.now()
    window = core.attribution.window
    touches: list[Click] = []
    if link is not None:
        touches.append(_link_click(core, link, visitor, now))
    touches += visitor_clicks(core.store, visitor, since=now - window, until=now)
    return core.attribution.winner(touches, now)


def touch(
    core: ProgramCore,
    *,
    code: str | None,
    link: str | None,
    visitor: str | None,
    channel: str | None,
) -> Touch | None:
    """What `attribute` credits once the attribution model has chosen; None: nothing.

    Without a visitor, or with a typed code, the arguments stand as given. Otherwise the
    winning touch's code replaces the link, and its channel and campaign apply; a visitor
    with no click in the window and no link has nothing to credit.
    """
    if visitor is not None:
        visitor = require_id("visitor", visitor)  # checked even when a typed code makes it moot
    if visitor is None or code is not None:
        return Touch(code, link, channel, None)
    winner = _winning_touch(core, link=link, visitor=visitor)
    if winner is None:
        return None
    return Touch(winner.code, None, channel or winner.channel, winner.campaign)
