"""Links under hostile input: only InvalidLink (or a named argument) ever escapes.

Also the signature's reach: the base (scheme, host, path) is signed, extra parameters
and the fragment are not, and format-1 links verify only when asked to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import referralkit as rk
from referralkit.errors import InvalidLinkInput
from referralkit.links import MAX_URL_LENGTH, canonical_base
from strategies import (
    any_text,
    aware_clocks,
    aware_datetimes,
    junk_urls,
    junk_values,
    not_aware_datetimes,
    unencodable_text,
)

SECRET = b"link-secret-0123456789abcdef"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
BASE = "https://shop.example/r"
CODE = "ANNA10"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# -- parse_link: junk in, InvalidLink out ----------------------------------------------------


@given(st.one_of(junk_urls(), any_text, unencodable_text), st.sampled_from([None, SECRET]))
def test_junk_urls_raise_only_invalid_link(url: str, secret: bytes | None) -> None:
    try:
        payload = rk.parse_link(url, secret=secret, now=NOW)
    except rk.InvalidLink:
        return
    assert rk.is_valid_code(payload.code) or rk.validate_vanity(payload.code) == payload.code
    assert payload.base == canonical_base(payload.base)
    assert payload.signed is False  # forging a signature by chance does not happen


@given(junk_urls(), st.data())
def test_junk_url_arguments_raise_only_invalid_link(url: str, data: st.DataObject) -> None:
    """``now`` and ``param`` that are not a time and a name are InvalidLink too, naming them."""
    now = data.draw(st.one_of(st.just(NOW), not_aware_datetimes))
    param = data.draw(st.one_of(st.just("ref"), junk_values))
    try:
        rk.parse_link(url, now=now, param=param)
    except InvalidLinkInput as err:
        assert err.field in {"now", "param"}  # noqa: PT017 - which argument was named
    except rk.InvalidLink:
        pass


@pytest.mark.parametrize(
    ("exp", "error"),
    [
        ("999999999999", rk.InvalidLink),  # the year 33658: no datetime holds it
        ("253402300800", rk.InvalidLink),  # one second after 9999-12-31T23:59:59Z
        ("-999999999999", rk.LinkExpired),  # before the year 1: in the past for any clock
        ("-62135596800", rk.LinkExpired),  # 0001-01-01T00:00:00Z
        ("-1", rk.LinkExpired),
        ("0", rk.LinkExpired),
        ("-", rk.InvalidLink),
        ("1e9", rk.InvalidLink),
        ("9" * 13, rk.InvalidLink),
        ("\uff11\uff12", rk.InvalidLink),  # full-width digits are no timestamp
    ],
)
def test_any_expiry_number_is_invalid_link_or_link_expired(exp: str, error: type) -> None:
    with pytest.raises(error) as err:
        rk.parse_link(f"{BASE}?ref={CODE}&exp={exp}", now=NOW)
    assert isinstance(err.value, rk.InvalidLink)
    if error is rk.InvalidLink:
        assert not isinstance(err.value, rk.LinkExpired)


def test_the_last_second_a_datetime_holds_is_a_valid_expiry() -> None:
    payload = rk.parse_link(f"{BASE}?ref={CODE}&exp=253402300799", now=NOW)
    assert payload.expires_at == datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


# -- expiry: build and parse agree for every aware datetime ---------------------------------


@given(aware_datetimes, aware_clocks, st.sampled_from([None, SECRET]))
def test_build_and_parse_agree_on_every_aware_expiry(
    expires_at: datetime, now: datetime, secret: bytes | None
) -> None:
    """The expiry comes back to the second while it is ahead of ``now``, else LinkExpired.

    "To the second": a link keeps whole Unix seconds, so an expiry within the second
    ``now`` is in has already passed. An expiry after 9999 (only reachable through an
    offset) is refused when building.
    """
    seconds = (expires_at - EPOCH) // timedelta(seconds=1)
    try:
        url = rk.build_link(BASE, CODE, secret=secret, expires_at=expires_at)
    except InvalidLinkInput as err:
        assert (err.field, seconds > 253402300799) == ("expires_at", True)  # noqa: PT017
        return
    if (now - EPOCH) // timedelta(seconds=1) >= seconds:
        with pytest.raises(rk.LinkExpired):
            rk.parse_link(url, secret=secret, now=now)
        return
    payload = rk.parse_link(url, secret=secret, now=now)
    assert payload.expires_at is not None
    assert timedelta(0) <= expires_at - payload.expires_at < timedelta(seconds=1)
    assert payload.expires_at.utcoffset() == timedelta(0)


def test_an_expiry_before_1970_is_link_expired_not_a_malformed_link() -> None:
    url = rk.build_link(
        BASE, CODE, secret=SECRET, expires_at=datetime(1960, 5, 1, tzinfo=timezone.utc)
    )
    with pytest.raises(rk.LinkExpired):
        rk.parse_link(url, secret=SECRET, now=NOW)


@given(not_aware_datetimes)
def test_an_expiry_that_is_not_an_aware_datetime_names_expires_at(value: object) -> None:
    with pytest.raises(rk.InvalidInput) as err:
        rk.build_link(BASE, CODE, expires_at=value)  # type: ignore[arg-type]
    assert err.value.field == "expires_at"
    assert isinstance(err.value, rk.InvalidLink)  # what build_link raised before


# -- build_link and share_links: junk in, a named argument out -------------------------------

_BUILD_FIELDS = {"base", "channel", "campaign", "expires_at", "utm", "param"}
_utm_junk = st.one_of(
    junk_values,
    st.dictionaries(
        st.one_of(st.none(), st.integers(), st.binary(max_size=4), any_text, unencodable_text),
        junk_values,
        max_size=3,
    ),
    st.dictionaries(
        st.sampled_from(["source", "utm_source", "", "utm_", " "]), any_text, max_size=3
    ),
)


@given(
    base=st.one_of(st.just(BASE), junk_urls(), junk_values),
    code=st.one_of(st.just(CODE), junk_values),
    channel=st.one_of(st.none(), st.just("email"), junk_values),
    campaign=st.one_of(st.none(), st.just("spring"), junk_values),
    expires_at=st.one_of(st.none(), aware_datetimes, not_aware_datetimes, junk_values),
    utm=st.one_of(st.none(), _utm_junk),
    param=st.one_of(st.just("ref"), junk_values),
    secret=st.one_of(st.none(), st.just(SECRET), junk_values),
)
def test_junk_build_arguments_raise_only_referral_errors(
    base, code, channel, campaign, expires_at, utm, param, secret
) -> None:
    try:
        url = rk.build_link(
            base,
            code,
            secret=secret,
            channel=channel,
            campaign=campaign,
            expires_at=expires_at,
            utm=utm,
            param=param,
        )
    except InvalidLinkInput as err:
        assert err.field in _BUILD_FIELDS  # noqa: PT017 - the argument is named
        return
    except (rk.InvalidCode, rk.ConfigError):
        return
    # What build_link makes, parse_link reads (an expiry may have passed).
    try:
        payload = rk.parse_link(url, secret=secret, param=param, now=NOW)
    except rk.LinkExpired:
        return
    assert payload.base == canonical_base(base)


@given(
    url=st.one_of(st.just(f"{BASE}?ref={CODE}"), junk_urls(), junk_values),
    message=st.one_of(any_text, unencodable_text, junk_values),
)
def test_junk_share_arguments_raise_only_invalid_link_input(url, message) -> None:
    try:
        shares = rk.share_links(url, message)
    except InvalidLinkInput as err:
        assert err.field in {"url", "message"}  # noqa: PT017 - the argument is named
        return
    assert shares["copy"] == url
    assert urlsplit(url).scheme.lower() in {"http", "https"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"utm": 1}, "utm"),
        ({"utm": ["source", "x"]}, "utm"),
        ({"utm": {"source": 1}}, "utm"),
        ({"utm": {1: "x"}}, "utm"),
        ({"utm": {"": "x"}}, "utm"),
        ({"utm": {"utm_": "x"}}, "utm"),
        ({"utm": {"source": ""}}, "utm"),
        ({"utm": {"source": "a\nb"}}, "utm"),
        ({"utm": {"so\x00urce": "a"}}, "utm"),
        ({"utm": {"source": "x" * 201}}, "utm"),
        ({"utm": {"s" * 65: "x"}}, "utm"),
        ({"utm": {"source": "a", "utm_source": "b"}}, "utm"),
        ({"utm": {"source": "\ud800"}}, "utm"),
        ({"utm": {"\udfff": "x"}}, "utm"),
        ({"campaign": "spring\ud800"}, "campaign"),
        ({"campaign": "c" * 201}, "campaign"),
        ({"channel": "\ud800"}, "channel"),
        ({"channel": 5}, "channel"),
        ({"base": "https://shop.example/r\ud800"}, "base"),
        ({"base": "https://user:pw@shop.example/r"}, "base"),
        ({"base": "https://shop.example:99999/r"}, "base"),
        ({"base": "javascript:alert(1)//shop.example"}, "base"),
        ({"base": b"https://shop.example/r"}, "base"),
        ({"param": "sig"}, "param"),
        ({"param": "utm_x"}, "param"),
        ({"param": ""}, "param"),
        ({"expires_at": datetime(2026, 1, 1)}, "expires_at"),  # noqa: DTZ001 - naive on purpose
        ({"expires_at": "2026-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": datetime.max.replace(tzinfo=timezone(-timedelta(hours=2)))}, "expires_at"),
        ({"utm": {f"k{i}": "z" * 200 for i in range(20)}}, "utm"),  # too long a link
    ],
)  # fmt: skip
def test_bad_build_arguments_are_invalid_input_naming_the_field(kwargs, field) -> None:
    base = kwargs.pop("base", BASE)
    with pytest.raises(rk.InvalidInput) as err:
        rk.build_link(base, CODE, **kwargs)
    assert err.value.field == field
    assert isinstance(err.value, rk.InvalidLink)


def test_a_code_with_a_lone_surrogate_is_an_invalid_code() -> None:
    with pytest.raises(rk.InvalidCode):
        rk.build_link(BASE, "ANNA\ud800")


@pytest.mark.parametrize(
    ("url", "message", "field"),
    [
        (f"{BASE}?ref={CODE}", "Get 5 \ud83c off", "message"),
        (f"{BASE}?ref={CODE}\udc00", "hi", "url"),
        ("javascript:alert(1)", "hi", "url"),
        ("shop.example/r", "hi", "url"),
        ("", "hi", "url"),
        (f"{BASE}?ref={CODE}", "x" * 2001, "message"),
        (f"{BASE}?ref={CODE}", None, "message"),
    ],
)
def test_bad_share_arguments_name_the_field(url, message, field) -> None:
    with pytest.raises(rk.InvalidInput) as err:
        rk.share_links(url, message)
    assert err.value.field == field


def test_a_surrogate_in_a_url_to_parse_is_invalid_link() -> None:
    for url in (f"{BASE}?ref={CODE}&cmp=\ud800", f"{BASE}\ud800?ref={CODE}"):
        with pytest.raises(rk.InvalidLink):
            rk.parse_link(url, secret=SECRET)


# -- the signature covers the base -----------------------------------------------------------

hosts = st.sampled_from(["shop.example", "other.example", "shop.example.evil", "sub.shop.example"])
paths = st.sampled_from(["/r", "/", "/r/", "/welcome", "/r/x", "/R"])


@given(
    st.sampled_from(["http", "https"]),
    hosts,
    paths,
    st.sampled_from(["http", "https"]),
    hosts,
    paths,
    st.sampled_from(["", "8443"]),
)
def test_a_signed_link_verifies_only_at_the_base_it_was_built_for(
    scheme, host, path, new_scheme, new_host, new_path, port
) -> None:
    base = f"{scheme}://{host}{path}"
    moved_netloc = f"{new_host}:{port}" if port else new_host
    assume((scheme, host, path) != (new_scheme, moved_netloc, new_path))
    url = rk.build_link(base, CODE, secret=SECRET, channel="email")
    parts = urlsplit(url)
    moved = urlunsplit(parts._replace(scheme=new_scheme, netloc=moved_netloc, path=new_path))
    with pytest.raises(rk.LinkTampered):
        rk.parse_link(moved, secret=SECRET, now=NOW)
    payload = rk.parse_link(url, secret=SECRET, now=NOW)
    assert (payload.base, payload.base_signed) == (base, True)


@pytest.mark.parametrize(
    "same",
    [
        "https://SHOP.example/r?ref={code}&sig={sig}",
        "HTTPS://shop.example:443/r?ref={code}&sig={sig}",
        "https://shop.example/%72?ref={code}&sig={sig}",
        "https://shop.example/r?ref={code}&sig={sig}&fbclid=IwAR0x&gclid=abc",
        "https://shop.example/r?lang=de&ref={code}&sig={sig}#share",
        "  https://shop.example/r?ref={code}&sig={sig}  ",
    ],
)
def test_what_the_signature_does_not_cover_can_change(same: str) -> None:
    """Host case, a default port, path escapes, extra parameters, the fragment."""
    url = rk.build_link("https://shop.example/r?lang=en", CODE, secret=SECRET)
    sig = dict(parse_qsl(urlsplit(url).query))["sig"]
    assert rk.parse_link(same.format(code=CODE, sig=sig), secret=SECRET).code == CODE


def test_a_unicode_host_and_its_punycode_are_one_base() -> None:
    url = rk.build_link("https://bücher.example/r", CODE, secret=SECRET)
    payload = rk.parse_link(url.replace("bücher", "xn--bcher-kva"), secret=SECRET)
    assert payload.base == "https://xn--bcher-kva.example/r"


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://Shop.Example", "https://shop.example/"),
        ("HTTP://shop.example:80/a%2fb?x=1#y", "http://shop.example/a/b"),
        ("https://shop.example:8443/r", "https://shop.example:8443/r"),
        ("https://[::1]:443/r", "https://[::1]/r"),
        ("https://shop.example/a b", "https://shop.example/a%20b"),
    ],
)
def test_canonical_base_is_what_the_signature_covers(url: str, base: str) -> None:
    assert canonical_base(url) == base


@pytest.mark.parametrize(
    "bad", ["shop.example/r", "ftp://x/r", "https://a@b/r", "https://[::1/r", 5]
)
def test_canonical_base_refuses_what_is_no_base(bad: object) -> None:
    with pytest.raises(rk.InvalidLink):
        canonical_base(bad)  # type: ignore[arg-type]


def test_a_signature_says_its_format() -> None:
    url = rk.build_link(BASE, CODE, secret=SECRET)
    assert dict(parse_qsl(urlsplit(url).query))["sig"].startswith("v2.")
    assert rk.parse_link(url).base_signed is False  # not checked without the secret


def _format_1(base: str, fields: dict[str, str]) -> str:
    """A link as referralkit signed it before format 2: fields only, no base."""
    message = json.dumps({"param": "ref", **fields}, sort_keys=True, separators=(",", ":"))
    digest = hmac.new(SECRET, message.encode(), hashlib.sha256).digest()[:16]
    sig = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return f"{base}?{urlencode([*fields.items(), ('sig', sig)], quote_via=quote)}"


def test_format_1_links_verify_only_when_legacy_signatures_are_accepted() -> None:
    old = _format_1(BASE, {"ref": CODE, "ch": "email", "utm_source": "email"})
    with pytest.raises(rk.LinkTampered):
        rk.parse_link(old, secret=SECRET)
    payload = rk.parse_link(old, secret=SECRET, legacy_signatures=True)
    assert (payload.code, payload.channel, payload.signed) == (CODE, "email", True)
    assert payload.base_signed is False
    # Format 1 never covered the base: a moved link still verifies (why it is opt-in).
    moved = old.replace("shop.example", "evil.example")
    assert rk.parse_link(moved, secret=SECRET, legacy_signatures=True).base_signed is False
    with pytest.raises(rk.LinkTampered):
        rk.parse_link(old.replace("ch=email", "ch=sms"), secret=SECRET, legacy_signatures=True)


def test_a_format_2_link_is_not_weakened_by_accepting_legacy_signatures() -> None:
    url = rk.build_link(BASE, CODE, secret=SECRET)
    bare = url.replace("sig=v2.", "sig=")  # the same MAC read as a format-1 signature
    with pytest.raises(rk.LinkTampered):
        rk.parse_link(bare, secret=SECRET, legacy_signatures=True)
    moved = url.replace("shop.example", "evil.example")
    with pytest.raises(rk.LinkTampered):
        rk.parse_link(moved, secret=SECRET, legacy_signatures=True)


def test_a_link_too_long_to_parse_is_not_built() -> None:
    long_path = "https://shop.example/" + "p" * (MAX_URL_LENGTH - 30)
    with pytest.raises(InvalidLinkInput) as err:
        rk.build_link(long_path, CODE, channel="email")
    assert err.value.field == "base"
