"""Deferred app links: an app reports a landing's claim token at first open, once.

The token is checked (signature, expiry) before anything is read; then, in one unit of
work, the store spends the token id (a primary key: one use, whoever races) and the
friend is attributed exactly as the link would have attributed them, guards included.
A retry by the same customer returns their referral; another customer is refused.
"""

from __future__ import annotations

from referralkit._validate import require_id
from referralkit.errors import InvalidState
from referralkit.invitee import CLAIMS
from referralkit.invitee._claims import claim_key, read_token
from referralkit.model import Identity, Referral
from referralkit.program._attribution import attribute_in
from referralkit.program._core import ProgramCore

__all__ = ["claim"]


def claim(
    core: ProgramCore,
    token: str,
    customer_id: str,
    *,
    identity: Identity | None,
    existing_customer: bool,
) -> Referral:
    """`referralkit.ReferralProgram.claim`."""
    customer_id = require_id("customer_id", customer_id)
    now = core.now()
    claimed = read_token(token, claim_key(core.link_key), now)
    with core.transaction() as uow:
        spent_by, new = CLAIMS.repository(uow, store=core.store).add(claimed.id, customer_id, now)
        if not new and spent_by != customer_id:
            raise InvalidState("this claim token has been used already", value=claimed.id)
        referral, _ = attribute_in(
            core,
            uow,
            referee=customer_id,
            code=claimed.code,
            link=None,
            identity=identity,
            existing_customer=existing_customer,
            channel=claimed.channel,
            visitor=None,
            now=now,
        )
    assert referral is not None  # noqa: S101 - a code always credits someone
    return referral
