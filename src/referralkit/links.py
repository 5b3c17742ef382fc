"""Referral links: build, sign, parse and share them.

A link is the shop's landing URL (the *base*) with the referral fields added as query
parameters: ``ref`` (the code), ``ch`` (channel), ``cmp`` (campaign), ``exp`` (expiry,
Unix seconds) and any ``utm_*`` parameters. With a secret, ``sig`` is an HMAC-SHA256
(truncated to 128 bits, base64url) that binds the referral fields to where the link
points.

What the signature covers (format 2, ``sig=v2.…``): a format tag and version, the
link's scheme, host and port, and path in canonical form (`canonical_base`), the name
of the code parameter, and every referral field: the code, channel, campaign, expiry
and every ``utm_*`` parameter. Moving a link to another scheme (``http``), host or
path, or changing, adding or removing any of those fields, makes it `LinkTampered`.

What it does not cover, on purpose: the base's own query parameters and any other
parameter a link picks up on its way (``fbclid``, ``gclid``, a share sheet's own
tags): platforms append them, and a signature over them would refuse honest clicks.
Nor the fragment, which browsers never send to the server.

Format 1 (an unprefixed ``sig``, written before format 2) covered the fields but not
the base. `parse_link` refuses it unless ``legacy_signatures=True``, an opt-in for a
transition while such links are still being clicked; the payload then says
``base_signed=False``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import attrs

from referralkit.errors import (
    ConfigError,
    InvalidCode,
    InvalidLink,
    InvalidLinkInput,
    LinkExpired,
    LinkTampered,
)

__all__ = [
    "SHARE_CHANNELS",
    "LinkPayload",
    "build_link",
    "canonical_base",
    "parse_link",
    "share_links",
]

MAX_URL_LENGTH = 4096
#: Longest channel, campaign or UTM value; longest UTM name; longest share message.
MAX_LABEL = 200
MAX_UTM_NAME = 64
MAX_MESSAGE = 2000
#: The signature format `build_link` writes, and the prefix of its ``sig`` value.
SIGNATURE_VERSION = 2
_SIG_PREFIX = f"v{SIGNATURE_VERSION}."
_SIG_TAG = "referralkit-link"
_SIG_BYTES = 16
_FIELDS = ("ch", "cmp", "exp")
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Characters a canonical path keeps as they are (RFC 3986 pchar and "/").
_PATH_SAFE = "/:@!$&'()*+,;="
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_SECOND = timedelta(seconds=1)
#: The expiries a datetime can hold: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
_MIN_EXP = (datetime.min.replace(tzinfo=timezone.utc) - _EPOCH) // _SECOND
_MAX_EXP = (datetime.max.replace(tzinfo=timezone.utc) - _EPOCH) // _SECOND
_EXP_TEXT = re.compile(r"-?[0-9]{1,12}")
#: Share targets, in the order a share sheet usually shows them.
SHARE_CHANNELS = ("copy", "email", "sms", "whatsapp", "telegram", "x", "facebook", "line")


@attrs.frozen(slots=True)
class LinkPayload:
    """What a referral link carries, once checked.

    ``base`` is the link's `canonical_base` (``https://shop.example/r``): a host
    compares it with its own bases. ``base_signed`` is True when the signature covers
    it (every signed link but a format-1 one read with ``legacy_signatures=True``).
    """

    code: str
    channel: str | None = None
    campaign: str | None = None
    expires_at: datetime | None = None
    utm: tuple[tuple[str, str], ...] = ()
    signed: bool = False
    base: str = ""
    base_signed: bool = False


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


def _mac(key: bytes, message: str) -> str:
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()[:_SIG_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _signature(key: bytes, base: str, param: str, fields: Mapping[str, str]) -> str:
    """``sig`` in the current format: the base and the referral fields, tagged and versioned."""
    # A JSON array of the parts is an unambiguous encoding of all of them.
    message = json.dumps(
        [_SIG_TAG, SIGNATURE_VERSION, base, param, sorted(fields.items())],
        separators=(",", ":"),
    )
    return _SIG_PREFIX + _mac(key, message)


def _legacy_signature(key: bytes, param: str, fields: Mapping[str, str]) -> str:
    """``sig`` in format 1: the referral fields only, not the base."""
    message = json.dumps({"param": param, **fields}, sort_keys=True, separators=(",", ":"))
    return _mac(key, message)


def _encodable(text: str) -> bool:
    """False for text that no URL can carry (lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(value: object) -> object:
    return value[:64] if isinstance(value, str) else value


def _bad(field: str, message: str, value: object) -> InvalidLinkInput:
    return InvalidLinkInput(message, value=_shown(value), field=field)


def _text(field: str, value: object, *, limit: int, printable: bool) -> str:
    """``value`` if it is non-empty text a URL can carry, of at most ``limit`` characters."""
    if not isinstance(value, str) or not value:
        raise _bad(field, f"{field} must be a non-empty string, not {value!r}", value)
    if len(value) > limit:
        raise _bad(field, f"{field} is longer than {limit} characters", value)
    if not _encodable(value):
        raise _bad(field, f"{field} contains characters that are not text (lone surrogates)", value)
    if printable and not value.isprintable():
        raise _bad(field, f"{field} contains control or unprintable characters", value)
    return value


def _split_base(parts: SplitResult) -> str:
    """The canonical ``scheme://host[:port]/path`` of ``parts``; ValueError if it has none."""
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        msg = f"not an http(s) URL: scheme {scheme!r}"
        raise ValueError(msg)
    if "@" in parts.netloc:
        msg = "a user name or password in a link's host is refused"
        raise ValueError(msg)
    host = parts.hostname
    if not host:
        msg = "no host"
        raise ValueError(msg)
    if ":" in host:
        host = f"[{host}]"
    elif not host.isascii():
        host = host.encode("idna").decode("ascii")
    port = parts.port  # ValueError for a port that is not a number from 0 to 65535
    shown_port = "" if port is None or port == _DEFAULT_PORTS[scheme] else f":{port}"
    path = quote(unquote(parts.path), safe=_PATH_SAFE) or "/"
    return f"{scheme}://{host}{shown_port}{path}"


def canonical_base(url: str) -> str:
    """The part of ``url`` a link signature covers: ``scheme://host[:port]/path``.

    Scheme and host are lower-cased, an IDN host is in punycode, a default port is
    dropped, the path's percent-encoding is canonical and an empty path is ``/``;
    query and fragment are left out. `LinkPayload.base` is in this form, so a host
    compares ``canonical_base(its_own_base) == payload.base``.

    Raises:
        InvalidLink: ``url`` is not an absolute http(s) URL with a host.
    """
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH or not _encodable(url):
        raise InvalidLink("a link base must be an http(s) URL string", value=_shown(url))
    try:
        return _split_base(urlsplit(url.strip()))
    except (ValueError, UnicodeError) as exc:
        raise InvalidLink(f"not an absolute http(s) URL: {exc}", value=_shown(url)) from None


def _param(param: object) -> str:
    name = _text("param", param, limit=MAX_UTM_NAME, printable=True)
    if name in {"sig", *_FIELDS} or name.startswith("utm_"):
        raise _bad("param", f"param {name!r} is one of the link's own parameters", name)
    return name


def _unix_seconds(field: str, value: object) -> int:
    """Unix seconds of an aware datetime, floored; any other value is refused at ``field``."""
    if isinstance(value, datetime):
        try:
            if value.utcoffset() is not None:
                return (value - _EPOCH) // _SECOND
        except (TypeError, ValueError, OverflowError):  # a tzinfo whose utcoffset is broken
            pass
    raise _bad(field, f"{field} must be a timezone-aware datetime, not {value!r}", value)


def _expiry_seconds(expires_at: object) -> int:
    """Unix seconds of an expiry to sign; refused beyond the year 9999."""
    seconds = _unix_seconds("expires_at", expires_at)
    if seconds > _MAX_EXP:
        raise _bad("expires_at", "expires_at is after 9999-12-31T23:59:59Z", expires_at)
    return seconds


def _utm_pairs(utm: object, channel: str | None, campaign: str | None) -> dict[str, str]:
    if utm is None:
        utm = {}
    if not isinstance(utm, Mapping):
        raise _bad("utm", f"utm must be a mapping of str to str, not {type(utm).__name__}", utm)
    pairs: dict[str, str] = {}
    for key, value in utm.items():
        _text("utm", key, limit=MAX_UTM_NAME, printable=True)
        _text("utm", value, limit=MAX_LABEL, printable=True)
        name = key if key.startswith("utm_") else f"utm_{key}"
        if name == "utm_" or len(name) > MAX_UTM_NAME:
            raise _bad("utm", f"{key!r} is not a UTM parameter name", key)
        if name in pairs:
            raise _bad("utm", f"two utm keys name the parameter {name!r}", key)
        pairs[name] = value
    if channel and "utm_source" not in pairs:
        pairs["utm_source"] = channel
    if campaign and "utm_campaign" not in pairs:
        pairs["utm_campaign"] = campaign
    return pairs


def _longest(base: str, fields: Mapping[str, str]) -> str:
    """The argument that makes a too-long link longest, to name it in the error."""
    sizes = {"base": len(base), "channel": 0, "campaign": 0, "utm": 0}
    for key, value in fields.items():
        field = {"ch": "channel", "cmp": "campaign"}.get(key, "utm" if key[:4] == "utm_" else "")
        if field:
            sizes[field] += len(quote(key, safe="")) + len(quote(value, safe=""))
    return max(sizes, key=sizes.__getitem__)


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

    ``base`` keeps its path, query and fragment. With ``secret`` the link is signed,
    its base included (see the module docs for what the signature covers).
    ``utm_source`` defaults to the channel and ``utm_campaign`` to the campaign; ``utm``
    keys may omit the ``utm_`` prefix.

    Raises:
        InvalidLinkInput: an argument cannot go into a link; ``.field`` names it
            (``base``, ``channel``, ``campaign``, ``expires_at``, ``utm``, ``param``).
            It is an `InvalidInput` and an `InvalidLink`.
        InvalidCode: ``code`` is neither a generated nor a vanity code.
        ConfigError: ``secret`` is shorter than 16 bytes.
    """
    if not isinstance(base, str) or len(base) > MAX_URL_LENGTH or not _encodable(base):
        raise _bad("base", "the link base must be an http(s) URL string", base)
    param = _param(param)
    try:
        parts = urlsplit(base)
        signed_base = _split_base(parts)
        existing = parse_qsl(parts.query, keep_blank_values=True)
    except (ValueError, UnicodeError) as exc:
        raise _bad("base", f"the link base must be an absolute http(s) URL: {exc}", base) from None
    ours = {param, "sig", *_FIELDS}
    if any(k in ours or k.startswith("utm_") for k, _ in existing):
        raise _bad("base", "the link base already carries referral parameters", base)
    fields: dict[str, str] = {param: _canonical_code(code)}
    for name, field, value in (("ch", "channel", channel), ("cmp", "campaign", campaign)):
        if value is not None:
            fields[name] = _text(field, value, limit=MAX_LABEL, printable=False)
    if expires_at is not None:
        fields["exp"] = str(_expiry_seconds(expires_at))
    fields.update(_utm_pairs(utm, channel, campaign))
    if secret is not None:
        fields["sig"] = _signature(_key(secret), signed_base, param, fields)
    query = urlencode([*existing, *fields.items()], quote_via=quote)
    url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
    if len(url) > MAX_URL_LENGTH:
        field = _longest(base, fields)
        raise _bad(
            field, f"the link would be {len(url)} characters, more than {MAX_URL_LENGTH}", url
        )
    return url


def _referral_fields(url: object, param: str) -> tuple[str, dict[str, str]]:
    """The canonical base and the referral parameters of ``url``, each at most once."""
    if not isinstance(url, str):
        raise InvalidLink("a link must be a string", value=type(url).__name__)
    if len(url) > MAX_URL_LENGTH:
        raise InvalidLink(
            f"a link longer than {MAX_URL_LENGTH} characters is refused", value=url[:64]
        )
    if not _encodable(url):
        raise InvalidLink("a link with characters that are not text is refused", value=url[:64])
    try:
        parts = urlsplit(url.strip())
        base = _split_base(parts)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
    except (ValueError, UnicodeError) as exc:
        raise InvalidLink(
            f"a referral link is an absolute http(s) URL: {exc}", value=url[:64]
        ) from exc
    ours = {param, "sig", *_FIELDS}
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in ours or key.startswith("utm_"):
            if key in fields:
                raise InvalidLink(f"the parameter {key!r} appears twice", value=key)
            fields[key] = value
    if param not in fields:
        raise InvalidLink(f"the link carries no referral code ({param}=)", value=url[:64])
    return base, fields


def _expiry(fields: Mapping[str, str], now: object) -> datetime | None:
    text = fields.get("exp")
    if text is None:
        return None
    if not text.isascii() or not _EXP_TEXT.fullmatch(text):
        raise InvalidLink("the link's expiry is not a timestamp", value=text[:64])
    seconds = int(text)
    in_range = _MIN_EXP <= seconds <= _MAX_EXP
    expires_at = _EPOCH + seconds * _SECOND if in_range else None
    # Before the year 1 is in the past for every clock; after 9999 no datetime holds.
    clock = datetime.now(timezone.utc) if now is None else now
    if seconds < _MIN_EXP or _unix_seconds("now", clock) >= seconds:
        shown = expires_at.isoformat() if expires_at else f"{seconds} (Unix seconds)"
        raise LinkExpired(f"the link expired at {shown}", value=expires_at or seconds)
    if expires_at is None:
        raise InvalidLink("the link's expiry is after the year 9999", value=text)
    return expires_at


def _verify(
    sig: str | None,
    key: bytes,
    base: str,
    param: str,
    fields: Mapping[str, str],
    *,
    legacy: bool,
) -> bool:
    """Whether the base is signed; raises `LinkTampered` unless ``sig`` matches."""
    expected, base_signed = "", False
    if sig is not None and sig.startswith(_SIG_PREFIX):
        expected, base_signed = _signature(key, base, param, fields), True
    elif sig is not None and legacy and "." not in sig:
        expected = _legacy_signature(key, param, fields)
    if sig is None or not expected or not hmac.compare_digest(sig.encode(), expected.encode()):
        raise LinkTampered(
            "the link's signature is missing or does not match its fields and its base "
            "(a link moved to another scheme, host or path no longer verifies)",
            value=sig,
        )
    return base_signed


def parse_link(
    url: str,
    *,
    secret: bytes | None = None,
    now: datetime | None = None,
    param: str = "ref",
    legacy_signatures: bool = False,
) -> LinkPayload:
    """Read and check a referral link.

    Pass the URL as the visitor opened it: behind a proxy that ends TLS, make sure the
    framework reports ``https`` and the public host, or a signed link does not verify.
    ``legacy_signatures=True`` also accepts format-1 signatures, which do not cover the
    base (see the module docs).

    Raises:
        InvalidLink: anything malformed or carrying an invalid code; a subclass:
        LinkTampered: ``secret`` is given and the signature is missing or wrong, or the
            link was moved to another scheme, host or path.
        LinkExpired: ``now`` (default: the current UTC time) has reached the expiry.
        InvalidLinkInput: ``now`` is not an aware datetime or ``param`` is not a name.
        ConfigError: ``secret`` is shorter than 16 bytes.
    """
    param = _param(param)
    if not isinstance(legacy_signatures, bool):
        raise _bad(
            "legacy_signatures", "legacy_signatures must be True or False", legacy_signatures
        )
    base, fields = _referral_fields(url, param)
    sig = fields.pop("sig", None)
    base_signed = False
    if secret is not None:
        base_signed = _verify(sig, _key(secret), base, param, fields, legacy=legacy_signatures)
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
        base=base,
        base_signed=base_signed,
    )


def _q(text: str) -> str:
    return quote(text, safe="")


def share_links(url: str, message: str) -> dict[str, str]:
    """Ready-to-open share URLs for every channel in `SHARE_CHANNELS`, correctly encoded.

    Raises:
        InvalidLinkInput: ``url`` is not an absolute http(s) URL (a ``javascript:`` URL
            would run in the share button), or ``message`` is not text of at most
            `MAX_MESSAGE` characters; ``.field`` names which.
    """
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH or not _encodable(url):
        raise _bad("url", "share_links takes the link as an http(s) URL string", url)
    try:
        _split_base(urlsplit(url))
    except (ValueError, UnicodeError) as exc:
        raise _bad("url", f"share_links takes an absolute http(s) URL: {exc}", url) from None
    if not isinstance(message, str):
        raise _bad("message", f"the message must be a string, not {message!r}", message)
    if message:
        _text("message", message, limit=MAX_MESSAGE, printable=False)
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
