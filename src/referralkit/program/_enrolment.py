"""Codes and links for a customer: enrolment, personal links, and looking codes up."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from referralkit._validate import opt_aware, opt_name, positive_int, require_channels, require_id
from referralkit.campaigns import Campaign
from referralkit.codes import generate_code, validate_vanity
from referralkit.errors import ConfigError, InvalidCode, InvalidInput, InvalidState
from referralkit.links import SHARE_CHANNELS, build_link, share_links
from referralkit.model import CodeKind, Identity, ReferralCode
from referralkit.program._core import ProgramCore
from referralkit.program._lookup import find_code as lookup_code
from referralkit.storage import CodeTaken

__all__ = ["code_for", "enroll", "link", "share"]

_CODE_ATTEMPTS = 16


def enroll(
    core: ProgramCore,
    customer_id: str,
    *,
    identity: Identity | None,
    campaign: str | None,
    vanity: str | None,
    expires_at: datetime | None,
    max_uses: int | None,
) -> ReferralCode:
    """`referralkit.ReferralProgram.enroll`."""
    owner = require_id("customer_id", customer_id)
    chosen = core.campaign_named(opt_name("campaign", campaign))
    campaign = chosen.name
    code_format = chosen.code_format or core.code_format
    opt_aware("expires_at", expires_at)
    if max_uses is not None:
        positive_int("max_uses", max_uses)
    wanted = None if vanity is None else validate_vanity(vanity)
    signals = core.signals(identity)
    now = core.now()
    if chosen.end is not None and chosen.end <= now:
        raise InvalidState(
            f"the campaign {campaign!r} ended at {chosen.end.isoformat()}", value=campaign
        )
    with core.transaction() as uow:
        if signals:
            uow.identities.add(owner, signals)
        for attempt in range(_CODE_ATTEMPTS):
            text = wanted or generate_code(code_format, rng=core.rng)
            candidate = ReferralCode(
                code=text,
                owner=owner,
                campaign=campaign,
                kind=CodeKind.VANITY if wanted else CodeKind.GENERATED,
                created_at=now,
                expires_at=expires_at,
                max_uses=max_uses,
            )
            try:
                stored = uow.codes.add(candidate)
            except CodeTaken:
                if wanted is not None:
                    raise InvalidCode(
                        f"the code {wanted!r} is already taken", value=wanted, reason="taken"
                    ) from None
                if attempt == _CODE_ATTEMPTS - 1:  # pragma: no cover - 2^-500 odds
                    raise
                continue
            if wanted is not None and stored.code != wanted:
                # Never drop a vanity code silently: one code per customer and campaign.
                raise InvalidState(
                    f"{owner!r} already has the code {stored.code!r} in the campaign"
                    f" {campaign!r}: enrol the vanity code {wanted!r} in another campaign",
                    value=wanted,
                )
            if stored is candidate:
                uow.events.add(
                    "code.enrolled",
                    {"customer_id": owner, "code": text, "campaign": campaign},
                    now,
                )
            return stored
    raise AssertionError("unreachable")  # pragma: no cover


def link(
    core: ProgramCore,
    code: str,
    *,
    channel: str | None,
    campaign: str | None,
    expires_at: datetime | None,
    utm: Mapping[str, str] | None,
) -> str:
    """`referralkit.ReferralProgram.link`."""
    canonical, owned = _linked_code(core, code)
    channel = opt_name("channel", channel)
    # "" reads as no campaign; anything else that is not a name is refused, falsy or not
    campaign = None if campaign == "" else opt_name("campaign", campaign)
    chosen = core.campaign_named(campaign) if campaign else None
    if core.campaigns:
        assert owned is not None  # noqa: S101 - read from the store when campaigns are declared
        if chosen is not None and chosen.name != owned.name:
            raise InvalidInput(
                f"the code {canonical!r} belongs to the campaign {owned.name!r}",
                value=campaign,
                field="campaign",
            )
        chosen = owned
    if chosen is not None and not chosen.allows(channel):
        raise InvalidInput(
            f"the campaign {chosen.name!r} is shared on {list(chosen.channels)}, not {channel!r}",
            value=channel,
            field="channel",
        )
    base = (chosen.link_base if chosen is not None else None) or core.link_base
    if base is None:
        raise ConfigError("set link_base on the program to build links", path="link_base")
    return build_link(
        base,
        canonical,
        secret=core.link_key if core.sign_links else None,
        channel=channel,
        campaign=None if chosen is None else chosen.name,
        expires_at=expires_at,
        utm=utm,
    )


def _linked_code(core: ProgramCore, code: str) -> tuple[str, Campaign | None]:
    """The code text a link carries, and (when read from the store) its campaign.

    A generated code is linked as typed when no campaigns are declared; any other code is
    looked up, so a link carries a vanity code as it was issued.
    """
    typed = core.read_code(code)
    if typed.generated is not None and not core.campaigns:
        return typed.generated, None
    with core.transaction() as uow:
        rc = core.find_code(uow, typed)
    return rc.code, core.stored_campaign(rc.campaign)


def code_for(core: ProgramCore, customer_id: str, campaign: str | None) -> ReferralCode | None:
    """`referralkit.ReferralProgram.code_for`."""
    campaign = core.campaign_named(opt_name("campaign", campaign)).name
    with core.transaction() as uow:
        for code in uow.codes.for_owner(require_id("customer_id", customer_id)):
            if code.campaign == campaign:
                return code
    return None


def _offered_channels(core: ProgramCore, code: str, campaign: str | None) -> tuple[str, ...]:
    """The channels a code's campaign is shared on (every share target if it names none)."""
    # "" reads as no campaign; anything else that is not a name is refused, falsy or not
    campaign = None if campaign == "" else opt_name("campaign", campaign)
    chosen = core.campaign_named(campaign) if campaign else None
    if core.campaigns:
        typed = core.read_code(code)
        with core.transaction() as uow:
            rc = lookup_code(uow, typed)
        if rc is not None:
            chosen = core.stored_campaign(rc.campaign)
    return chosen.channels if chosen is not None and chosen.channels else SHARE_CHANNELS


def share(
    core: ProgramCore,
    code: str,
    message: str,
    *,
    channels: Sequence[str] | None,
    campaign: str | None,
    expires_at: datetime | None,
    utm: Mapping[str, str] | None,
) -> dict[str, str]:
    """`referralkit.ReferralProgram.share`."""
    if not isinstance(message, str):
        raise InvalidInput("message must be a string", value=message, field="message")
    if channels is None:
        channels = list(_offered_channels(core, code, campaign))
    else:
        channels = require_channels(channels, SHARE_CHANNELS)
    out: dict[str, str] = {}
    for channel in dict.fromkeys(channels):
        url = link(core, code, channel=channel, campaign=campaign, expires_at=expires_at, utm=utm)
        out[channel] = share_links(url, message)[channel]
    return out
