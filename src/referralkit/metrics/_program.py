"""What `ReferralProgram` delegates to for clicks, attribution sources, reassignment and metrics.

Each function takes the program first and does exactly what the program method of the
same name documents; the program's methods are one-line calls into here, so this
module may use the program's private helpers (its clock, code parsing, link key).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from referralkit._validate import opt_name, require_id
from referralkit.errors import InvalidInput, NotFound, UnknownCode
from referralkit.metrics._attribution import (
    metrics_source,
    record_click,
    visitor_clicks,
)
from referralkit.metrics._source import Breakdown, Click
from referralkit.model import Referral, ReferralStatus

if TYPE_CHECKING:
    from referralkit.metrics._report import MetricsReport
    from referralkit.program import ReferralProgram

__all__ = [
    "REASSIGNED",
    "Source",
    "attribution_for",
    "choose_source",
    "program_metrics",
    "reassign",
    "touch",
    "track_click",
]

#: Reason code on a referral an operator credited to another code with ``reassign``.
REASSIGNED = "reassign.operator"
# A link in hand is the newest touch: it sorts after every stored click of the same instant.
_NEWEST = 2**63 - 1


@attrs.frozen(slots=True)
class Source:
    """Where an attribution comes from: the code, and the channel and campaign it carried."""

    code: str
    channel: str | None = None
    campaign: str | None = None


def _visitor(value: object) -> str:
    return require_id("visitor", value)


def _is_link(text: str) -> bool:
    return "://" in text


def _link_click(program: ReferralProgram, link: str, visitor: str, now: datetime) -> Click:
    payload = program._parse_link(link)  # noqa: SLF001 - the program delegates here
    return Click(
        code=payload.code,
        visitor=visitor,
        occurred_at=now,
        channel=payload.channel,
        campaign=payload.campaign,
        id=_NEWEST,
    )


def track_click(
    program: ReferralProgram,
    link_or_code: str,
    *,
    visitor: str,
    channel: str | None = None,
    campaign: str | None = None,
) -> Click:
    """Record that ``visitor`` followed a referral link (or was shown a code).

    A link is checked like `attribute` checks it (signature, expiry) and gives its
    channel and campaign; ``channel`` / ``campaign`` given here take precedence. A
    click's campaign defaults to the code's. Raises `InvalidLink`, `InvalidCode` or
    `UnknownCode` for a link or code that cannot be used.
    """
    if not isinstance(link_or_code, str):
        raise InvalidInput("link_or_code must be a string", value=link_or_code, field="link")
    visitor = _visitor(visitor)
    now = program._now()  # noqa: SLF001 - the program delegates here
    if _is_link(link_or_code):
        click = _link_click(program, link_or_code, visitor, now)
        text = click.code
        channel = click.channel if channel is None else channel
        campaign = click.campaign if campaign is None else campaign
    else:
        text = link_or_code
    canonical, _ = program._canonical_code(text)  # noqa: SLF001 - the program delegates here
    with program.store.transaction() as uow:
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


def attribution_for(program: ReferralProgram, visitor: str) -> Click | None:
    """The click that would attribute ``visitor`` now, if any (to greet them by referrer)."""
    visitor = _visitor(visitor)
    attribution = program.attribution
    now = program._now()  # noqa: SLF001 - the program delegates here
    clicks = visitor_clicks(program.store, visitor, since=now - attribution.window, until=now)
    return attribution.winner(clicks, now)


def choose_source(program: ReferralProgram, *, link: str | None, visitor: str) -> Source:
    """What `attribute` credits for a visitor who typed no code: the winning touch.

    The touches are the link in hand (a click now), if any, and the visitor's tracked
    clicks inside the attribution window; the program's model picks one. Raises
    `NotFound` when the visitor has no click in the window and no link.
    """
    visitor = _visitor(visitor)
    attribution = program.attribution
    now = program._now()  # noqa: SLF001 - the program delegates here
    touches: list[Click] = []
    if link is not None:
        touches.append(_link_click(program, link, visitor, now))
    touches += visitor_clicks(program.store, visitor, since=now - attribution.window, until=now)
    winner = attribution.winner(touches, now)
    if winner is None:
        raise NotFound(
            f"visitor {visitor!r} followed no referral link in the last {attribution.window}",
            value=visitor,
        )
    return Source(winner.code, winner.channel, winner.campaign)


def touch(
    program: ReferralProgram,
    *,
    code: str | None,
    link: str | None,
    visitor: str | None,
    channel: str | None,
) -> tuple[str | None, str | None, str | None, str | None]:
    """``attribute``'s ``(code, link, channel, campaign)`` once the model has chosen.

    Without a visitor, or with a typed code, the arguments stand as given. Otherwise
    the winning touch's code replaces the link, and its channel and campaign apply.
    """
    if visitor is not None:
        visitor = _visitor(visitor)  # checked even when a typed code makes it moot
    if visitor is None or code is not None:
        return code, link, channel, None
    source = choose_source(program, link=link, visitor=visitor)
    return source.code, None, channel or source.channel, source.campaign


def reassign(
    program: ReferralProgram, *, referee: str, code: str, note: str | None = None
) -> Referral:
    """An operator's override: credit ``referee`` to the owner of ``code`` from now on.

    The referee's referral keeps its id, status, attribution time and orders; its code,
    referrer and campaign change and ``reassign.operator`` joins its reasons, so the
    report credits the new referrer with all of it. A referee with no standing referral
    gets a new ``pending`` one. Guards are not consulted (a person decided), but nobody
    refers themselves. Recorded as a ``referral.reassigned`` event naming the previous
    referrer and code. Reassigning to the current code changes nothing.
    """
    referee = require_id("referee", referee)
    note = opt_name("note", note)
    canonical, _ = program._canonical_code(code)  # noqa: SLF001 - the program delegates here
    now = program._now()  # noqa: SLF001 - the program delegates here
    with program.store.transaction() as uow:
        owned = uow.codes.get(canonical)
        if owned is None:
            raise UnknownCode(f"no customer owns the code {canonical!r}", value=canonical)
        if owned.owner == referee:
            raise InvalidInput(
                f"{referee!r} owns {canonical!r}: nobody can refer themselves",
                value=canonical,
                field="code",
            )
        current = uow.referrals.active_for_referee(referee)
        if current is not None and current.code == canonical:
            return current
        campaign = program._stored_campaign(owned.campaign)  # noqa: SLF001 - the program delegates here
        terms = program._terms_of(campaign)[1]  # noqa: SLF001 - the program delegates here
        if current is None:
            referral = uow.referrals.add(
                Referral(
                    id=program._new_id(),  # noqa: SLF001 - the program delegates here
                    code=canonical,
                    referrer=owned.owner,
                    referee=referee,
                    status=ReferralStatus.PENDING,
                    reasons=(REASSIGNED,),
                    attributed_at=now,
                    campaign=owned.campaign,
                    policy_version=terms,
                )
            )
        else:
            reasons = (*(r for r in current.reasons if r != REASSIGNED), REASSIGNED)
            # Moving to another campaign moves to its terms; within one, the promise stands.
            # (Without declared campaigns, a campaign is only a label: the promise stands.)
            moved = bool(program.campaigns) and owned.campaign != current.campaign
            moved_terms = terms if moved else None
            referral = uow.referrals.reassign(current.id, owned, reasons, moved_terms)
        uow.events.add(
            "referral.reassigned",
            {
                "referral_id": referral.id,
                "referee": referee,
                "referrer": owned.owner,
                "code": canonical,
                "previous_referrer": None if current is None else current.referrer,
                "previous_code": None if current is None else current.code,
                "note": note,
            },
            now,
        )
        return referral


def program_metrics(
    program: ReferralProgram,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    active_customers: int | None = None,
    by: Breakdown | Sequence[Breakdown] | None = None,
    top: int = 10,
) -> MetricsReport:
    """The programme's `MetricsReport`, computed by the store (see `build_report`)."""
    from referralkit.metrics._report import build_report  # noqa: PLC0415 - pydantic loads on first report

    with metrics_source(program.store).snapshot() as view:
        return build_report(
            view,
            since=since,
            until=until,
            active_customers=active_customers,
            by=by,
            top=top,
        )
