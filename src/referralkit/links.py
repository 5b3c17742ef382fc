"""Referral links: build, sign, parse and share them.

A link is the shop's landing URL with the referral fields added as query
parameters: ``ref`` (the code), ``ch`` (channel), ``cmp`` (campaign), ``exp``
(expiry, Unix seconds) and any ``utm_*`` parameters. With a secret, ``sig`` is an
HMAC-SHA256 (truncated to 128 bits, base64url) over all of them, so none can be
changed, added or removed without the link being refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import attrs

from referralkit.errors import ConfigError, InvalidCode, InvalidLink, LinkExpired, LinkTampered

__all__ = ["SHARE_CHANNELS", "LinkPayload", "build_link", "parse_link", "share_links"]

MAX_URL_LENGTH = 4096
_SIG_BYTES = 16
_MAX_EXP_DIGITS = 12  # Unix seconds up to the year 33658
_FIELDS = ("ch", "cmp", "exp")
#: Share targets, in the order a share sheet usually shows them.
SHARE_CHANNELS = ("copy", "email", "sms", "whatsapp", "telegram", "x", "facebook", "line")


@attrs.frozen(slots=True)
class LinkPayload:
    """What a referral link carries, once checked."""

    code: str
    channel: str | None = None
    campaign: str | None = None
    expires_at: datetime | None = None
    utm: tuple[tuple[str, str], ...] = ()
    signed: bool = False


def _canonical_code(text: str) -> str:
    from referralkit.codes import normalize_code, validate_vanity  # noqa: PLC0415 - codes imports nothing of ours

    try:
        return normalize_code(text)
    except InvalidCode as generated:
        try:
            return validate_vanity(text)
        except InvalidCode:
            raise generated from None


def _key(secret: object) -> bytes:
    if not isinstance(secret, bytes) or len(secret) < 16:  # noqa: PLR2004 - 128-bit minimum
        raise ConfigError("a link secret must be at least 16 bytes", path="secret")
    return secret


def _signature(key: bytes, param: str, fields: Mapping[str, str]) -> str:
    # JSON with sorted keys is an unambiguous encoding of every signed field.
    message = json.dumps({"param": param, **fields}, sort_keys=True, separators=(",", ":"))
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()[:_SIG_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _utm_pairs(
    utm: Mapping[str, str] | None, channel: str | None, campaign: str | None
) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for key, value in (utm or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidLink("utm keys and values must be strings", value=(key, value))
        name = key if key.startswith("utm_") else f"utm_{key}"
        pairs[name] = value
    if channel and "utm_source" not in pairs:
        pairs["utm_source"] = channel
    if campaign and "utm_campaign" not in pairs:
        pairs["utm_campaign"] = campaign
    return pairs


def build_link(
    base: str,
    code: str,
    *,
    secret: bytes | None = None,
    channel: str | None = None,
    campaign: str | None = None,
    expires_at: datetime | None = None,
    utm: Mapping[str, str] | None = None,
    param: str = "ref",
) -> str:
    """Add a referral code (and channel, campaign, expiry, UTM) to ``base``.

    ``base`` keeps its path, query and fragment. With ``secret`` the link is signed.
    ``utm_source`` defaults to the channel and ``utm_campaign`` to the campaign.
    """
    if not isinstance(base, str) or len(base) > MAX_URL_LENGTH:
        raise InvalidLink("the link base must be a URL string", value=base)
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidLink(
            f"the link base must be an absolute http(s) URL, not {base!r}", value=base
        )
    existing = parse_qsl(parts.query, keep_blank_values=True)
    ours = {param, "sig", *_FIELDS}
    if any(k in ours or k.startswith("utm_") for k, _ in existing):
        raise InvalidLink("the link base already carries referral parameters", value=base)
    fields: dict[str, str] = {param: _canonical_code(code)}
    for name, value in (("ch", channel), ("cmp", campaign)):
        if value is not None:
            if not isinstance(value, str) or not value:
                raise InvalidLink(f"{name} must be a non-empty string", value=value)
            fields[name] = value
    if expires_at is not None:
        if not isinstance(expires_at, datetime) or expires_at.tzinfo is None:
            raise InvalidLink("expires_at must be a timezone-aware datetime", value=expires_at)
        fields["exp"] = str(int(expires_at.timestamp()))
    fields.update(_utm_pairs(utm, channel, campaign))
    if secret is not None:
        fields["sig"] = _signature(_key(secret), param, fields)
    query = urlencode([*existing, *fields.items()], quote_via=quote)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _referral_fields(url: object, param: str) -> dict[str, str]:
    """The referral parameters of ``url``, each at most once; bounded work."""
    if not isinstance(url, str):
        raise InvalidLink("a link must be a string", value=type(url).__name__)
    if len(url) > MAX_URL_LENGTH:
        raise InvalidLink(
            f"a link longer than {MAX_URL_LENGTH} characters is refused", value=url[:64]
        )
    try:
        parts = urlsplit(url.strip())
        pairs = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError as exc:
        raise InvalidLink(f"not a URL: {exc}", value=url[:64]) from exc
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidLink("a referral link is an absolute http(s) URL", value=url[:64])
    ours = {param, "sig", *_FIELDS}
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in ours or key.startswith("utm_"):
            if key in fields:
                raise InvalidLink(f"the parameter {key!r} appears twice", value=key)
            fields[key] = value
    if param not in fields:
        raise InvalidLink(f"the link carries no referral code ({param}=)", value=url[:64])
    return fields


def _expiry(fields: Mapping[str, str], now: datetime | None) -> datetime | None:
    text = fields.get("exp")
    if text is None:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > _MAX_EXP_DIGITS:
        raise InvalidLink("the link's expiry is not a timestamp", value=text[:64])
    expires_at = datetime.fromtimestamp(int(text), tz=timezone.utc)
    if (now or datetime.now(timezone.utc)) >= expires_at:
        raise LinkExpired(f"the link expired at {expires_at.isoformat()}", value=expires_at)
    return expires_at


def parse_link(
    url: str,
    *,
    secret: bytes | None = None,
    now: datetime | None = None,
    param: str = "ref",
) -> LinkPayload:
    """Read and check a referral link.

    Raises `InvalidLink` for anything malformed or carrying an invalid code,
    `LinkTampered` when ``secret`` is given and the signature is missing or wrong,
    and `LinkExpired` once ``now`` (default: the current UTC time) reaches the expiry.
    """
    fields = _referral_fields(url, param)
    sig = fields.pop("sig", None)
    if secret is not None:
        expected = _signature(_key(secret), param, fields)
        if sig is None or not hmac.compare_digest(sig.encode(), expected.encode()):
            raise LinkTampered("the link's signature is missing or does not match", value=sig)
    expires_at = _expiry(fields, now)
    try:
        code = _canonical_code(fields[param])
    except InvalidCode as exc:
        raise InvalidLink(f"the link's code is not valid: {exc}", value=fields[param][:64]) from exc
    return LinkPayload(
        code=code,
        channel=fields.get("ch") or None,
        campaign=fields.get("cmp") or None,
        expires_at=expires_at,
        utm=tuple(sorted((k, v) for k, v in fields.items() if k.startswith("utm_"))),
        signed=sig is not None and secret is not None,
    )


def _q(text: str) -> str:
    return quote(text, safe="")


def share_links(url: str, message: str) -> dict[str, str]:
    """Ready-to-open share URLs for every channel in `SHARE_CHANNELS`, correctly encoded."""
    if not isinstance(url, str) or not isinstance(message, str):
        raise InvalidLink("share_links takes a URL and a message, both strings", value=url)
    text = f"{message} {url}".strip()
    return {
        "copy": url,
        "email": f"mailto:?subject={_q(message)}&body={_q(text)}",
        "sms": f"sms:?&body={_q(text)}",
        "whatsapp": f"https://wa.me/?text={_q(text)}",
        "telegram": f"https://t.me/share/url?url={_q(url)}&text={_q(message)}",
        "x": f"https://x.com/intent/post?text={_q(message)}&url={_q(url)}",
        "facebook": f"https://www.facebook.com/sharer/sharer.php?u={_q(url)}",
        "line": f"https://social-plugins.line.me/lineit/share?url={_q(url)}&text={_q(message)}",
    }
