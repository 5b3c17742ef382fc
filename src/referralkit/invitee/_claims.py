"""Deferred app links: signed, short-lived claim tokens, and the store that spends them once.

A landing page hands the invitee a claim token; an app installed after the click reports
it at first open (``program.claim``), and the friend is attributed as the link would have
attributed them. The token is signed with a key derived from the program's secret and
carries its code, channel, campaign, expiry and a random id; nothing about the device.
The store records each token id once (`ClaimRepository`), so a token works one time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone
from typing import Protocol, runtime_checkable

import attrs

from referralkit.errors import InvalidLink, LinkExpired, LinkTampered
from referralkit.protocols import Capability

__all__ = ["CLAIMS", "ClaimRepository", "ClaimToken", "claim_key", "read_token", "sign_token"]

_PREFIX = "rkc1"
_MAX_TOKEN = 1024


def claim_key(link_key: bytes) -> bytes:
    """The key claim tokens are signed with, derived from the program's link key."""
    return hmac.new(link_key, b"referralkit/claims/v1", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@attrs.frozen(slots=True)
class ClaimToken:
    """What a claim token says: its id, the code, channel and campaign, and its expiry."""

    id: str
    code: str
    expires_at: datetime
    channel: str | None = None
    campaign: str | None = None


def sign_token(token: ClaimToken, key: bytes) -> str:
    """The token as text: ``rkc1.<payload>.<signature>``, URL-safe."""
    body = {
        "i": token.id,
        "c": token.code,
        "x": int(token.expires_at.timestamp()),
        "h": token.channel,
        "p": token.campaign,
    }
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    signature = hmac.new(key, f"{_PREFIX}.{payload}".encode(), hashlib.sha256).digest()
    return f"{_PREFIX}.{payload}.{_b64(signature)}"


def read_token(text: object, key: bytes, now: datetime) -> ClaimToken:
    """The token ``text`` carries, if it is ours, untouched and unexpired.

    Raises:
        InvalidLink: not a claim token. LinkTampered: the signature does not match.
        LinkExpired: its expiry has passed.
    """
    if not isinstance(text, str) or len(text) > _MAX_TOKEN or text.count(".") != 2:  # noqa: PLR2004 - three parts
        raise InvalidLink("not a claim token", value=str(text)[:80])
    prefix, payload, signature = text.split(".")
    if prefix != _PREFIX:
        raise InvalidLink("not a claim token", value=text[:80])
    expected = hmac.new(key, f"{prefix}.{payload}".encode(), hashlib.sha256).digest()
    try:
        given = _unb64(signature)
    except ValueError:
        raise InvalidLink("not a claim token", value=text[:80]) from None
    if not hmac.compare_digest(expected, given):
        raise LinkTampered("the claim token's signature does not match", value=text[:80])
    try:  # signed by us: a body that does not parse is a bug, still refused as no token
        body = json.loads(_unb64(payload))
    except ValueError:
        raise InvalidLink("not a claim token", value=text[:80]) from None
    token = ClaimToken(
        id=str(body["i"]),
        code=str(body["c"]),
        expires_at=datetime.fromtimestamp(int(body["x"]), tz=timezone.utc),
        channel=body.get("h"),
        campaign=body.get("p"),
    )
    if now >= token.expires_at:
        raise LinkExpired(
            f"the claim token expired at {token.expires_at:%Y-%m-%d %H:%M} UTC", value=token.id
        )
    return token


@runtime_checkable
class ClaimRepository(Protocol):
    """Claim tokens spent, by token id: each id is recorded once, atomically."""

    def add(self, token_id: str, customer_id: str, at: datetime) -> tuple[str, bool]:
        """Spend the token for ``customer_id`` unless spent; who spent it and whether now."""
        ...


#: Deferred app-link claims (`ClaimRepository` as ``uow.claims``).
CLAIMS: Capability[ClaimRepository] = Capability("app-link claims", "claims", ClaimRepository)
