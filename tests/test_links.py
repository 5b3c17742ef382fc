"""Referral links: round trips, tamper-proof signatures, expiry, safe parsing, share URLs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import referralkit as rk
from referralkit.links import SHARE_CHANNELS
from strategies import seeded_rng

SECRET = b"link-secret-0123456789abcdef"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)

codes = st.integers(0, 2**32).map(lambda seed: rk.generate_code(rng=seeded_rng(seed)))
labels = st.text(min_size=1, max_size=30).filter(lambda s: s.strip() == s and "\x00" not in s)
paths = st.lists(st.text("abcxyz09-_~", min_size=1, max_size=8), max_size=3).map(
    lambda parts: "/" + "/".join(parts)
)
existing_queries = st.lists(
    st.tuples(st.sampled_from(["page", "lang", "q"]), st.text("abc123 &=", max_size=6)), max_size=3
)


@st.composite
def bases(draw: st.DrawFn) -> str:
    path = draw(paths)
    query = draw(existing_queries)
    fragment = draw(st.sampled_from(["", "top", "sec-2"]))
    from urllib.parse import quote, urlencode

    url = f"https://shop.example{path}"
    if query:
        url += "?" + urlencode(query, quote_via=quote)
    if fragment:
        url += "#" + fragment
    return url


@given(
    base=bases(),
    code=codes,
    channel=st.none() | labels,
    campaign=st.none() | labels,
    days=st.none() | st.integers(1, 3650),
    signed=st.booleans(),
)
def test_build_then_parse_round_trips_and_keeps_the_base(
    base, code, channel, campaign, days, signed
):
    expires = None if days is None else NOW + timedelta(days=days)
    secret = SECRET if signed else None
    url = rk.build_link(
        base, code, secret=secret, channel=channel, campaign=campaign, expires_at=expires
    )
    payload = rk.parse_link(url, secret=secret, now=NOW)
    assert payload.code == code
    assert payload.channel == channel
    assert payload.campaign == campaign
    assert payload.expires_at == (None if expires is None else expires.replace(microsecond=0))
    assert payload.signed is signed
    before, after = urlsplit(base), urlsplit(url)
    assert (after.scheme, after.netloc, after.path, after.fragment) == (
        before.scheme,
        before.netloc,
        before.path,
        before.fragment,
    )
    original = parse_qsl(before.query, keep_blank_values=True)
    assert parse_qsl(after.query, keep_blank_values=True)[: len(original)] == original


def test_utm_parameters_default_to_channel_and_campaign_and_can_be_set():
    url = rk.build_link(
        "https://shop.example/r", rk.generate_code(), channel="email", campaign="spring"
    )
    q = parse_qs(urlsplit(url).query)
    assert q["utm_source"] == ["email"]
    assert q["utm_campaign"] == ["spring"]
    url = rk.build_link(
        "https://shop.example/r",
        rk.generate_code(),
        channel="email",
        utm={"source": "newsletter", "medium": "mail"},
    )
    payload = rk.parse_link(url)
    assert dict(payload.utm) == {"utm_source": "newsletter", "utm_medium": "mail"}


def test_vanity_codes_travel_in_links():
    url = rk.build_link("https://shop.example/r", "anna10", secret=SECRET)
    assert rk.parse_link(url, secret=SECRET).code == "ANNA10"


def _mutations(url: str) -> list[str]:
    """Every single change a forger might make to a signed link."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    out = []
    from urllib.parse import quote, urlencode, urlunsplit

    def rebuild(new_pairs: list[tuple[str, str]]) -> str:
        return urlunsplit(parts._replace(query=urlencode(new_pairs, quote_via=quote)))

    for i, (key, value) in enumerate(pairs):
        changed = value[:-1] + ("A" if value[-1:] != "A" else "B") if value else "x"
        out.append(rebuild([*pairs[:i], (key, changed), *pairs[i + 1 :]]))
        out.append(rebuild(pairs[:i] + pairs[i + 1 :]))
        out.append(rebuild([*pairs, (key, value)]))
    out.append(rebuild([*pairs, ("cmp", "free-money")]))
    out.append(rebuild([*pairs, ("utm_medium", "evil")]))
    return out


@given(code=codes, channel=labels, campaign=st.none() | labels)
def test_any_single_change_to_a_signed_link_is_refused(code, channel, campaign):
    url = rk.build_link(
        "https://shop.example/r", code, secret=SECRET, channel=channel, campaign=campaign
    )
    for forged in _mutations(url):
        assume(forged != url)
        with pytest.raises(rk.InvalidLink):
            rk.parse_link(forged, secret=SECRET, now=NOW)


def test_unsigned_link_is_refused_when_a_secret_is_required():
    url = rk.build_link("https://shop.example/r", rk.generate_code())
    with pytest.raises(rk.LinkTampered):
        rk.parse_link(url, secret=SECRET)


def test_a_link_signed_with_another_secret_is_tampered():
    url = rk.build_link(
        "https://shop.example/r", rk.generate_code(), secret=b"another-secret-0123456789"
    )
    with pytest.raises(rk.LinkTampered):
        rk.parse_link(url, secret=SECRET)


def test_expiry_is_exclusive_at_the_boundary():
    expires = NOW + timedelta(hours=1)
    url = rk.build_link(
        "https://shop.example/r", rk.generate_code(), secret=SECRET, expires_at=expires
    )
    assert (
        rk.parse_link(url, secret=SECRET, now=expires - timedelta(seconds=1)).expires_at == expires
    )
    with pytest.raises(rk.LinkExpired):
        rk.parse_link(url, secret=SECRET, now=expires)


def test_an_unsigned_link_still_expires():
    url = rk.build_link("https://shop.example/r", rk.generate_code(), expires_at=NOW)
    with pytest.raises(rk.LinkExpired):
        rk.parse_link(url, now=NOW)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "ftp://shop.example/r?ref=ABC",
        "https://shop.example/r",
        "https://shop.example/r?ref=",
        "https://shop.example/r?ref=!!!!",
        "https://shop.example/r?ref=AAAA&ref=BBBB",
        "https://shop.example/r?ref=ANNA10&exp=soon",
        "https://shop.example/r?ref=ANNA10&exp=" + "9" * 40,
        "https://[::1/r?ref=ANNA10",
        "https://shop.example/r?ref=" + "A" * 5000,
    ],
)
def test_malformed_links_raise_invalid_link(url):
    with pytest.raises(rk.InvalidLink):
        rk.parse_link(url)


@pytest.mark.parametrize("value", [None, 42, b"https://shop.example/r?ref=ANNA10", ["x"]])
def test_non_string_links_raise_invalid_link(value):
    with pytest.raises(rk.InvalidLink):
        rk.parse_link(value)


@given(st.text(max_size=300))
def test_random_text_only_ever_raises_invalid_link(text):
    try:
        payload = rk.parse_link(text, secret=SECRET, now=NOW)
    except rk.InvalidLink:
        return
    assert rk.normalize_code(payload.code) == payload.code  # pragma: no cover - forging is unlikely


@given(st.text(max_size=200))
def test_random_query_after_a_valid_base_only_raises_invalid_link(tail):
    try:
        payload = rk.parse_link("https://shop.example/r?" + tail, now=NOW)
    except rk.InvalidLink:
        return
    assert rk.is_valid_code(payload.code) or rk.validate_vanity(payload.code) == payload.code


@pytest.mark.parametrize(
    ("base", "kwargs"),
    [
        ("shop.example/r", {}),
        ("https://shop.example/r?ref=X", {}),
        ("https://shop.example/r", {"expires_at": datetime(2026, 1, 1)}),  # noqa: DTZ001 - naive on purpose
        ("https://shop.example/r", {"channel": ""}),
    ],
)
def test_bad_build_arguments_raise_invalid_link(base, kwargs):
    with pytest.raises(rk.InvalidLink):
        rk.build_link(base, rk.generate_code(), **kwargs)


def test_a_short_secret_is_a_config_error():
    with pytest.raises(rk.ConfigError):
        rk.build_link("https://shop.example/r", rk.generate_code(), secret=b"short")


def test_an_invalid_code_cannot_be_put_in_a_link():
    with pytest.raises(rk.InvalidCode):
        rk.build_link("https://shop.example/r", "no such code!")


@given(message=st.text(max_size=80), code=codes)
def test_every_share_url_decodes_back_to_the_exact_url_and_message(message, code):
    url = rk.build_link("https://shop.example/r?lang=en", code, channel="whatsapp")
    shares = rk.share_links(url, message)
    assert set(shares) == set(SHARE_CHANNELS)
    assert shares["copy"] == url
    text = f"{message} {url}".strip()

    def query(share: str) -> dict[str, list[str]]:
        return parse_qs(urlsplit(share).query, keep_blank_values=True)

    assert query(shares["email"])["body"] == [text]
    assert query(shares["sms"])["body"] == [text]
    assert query(shares["whatsapp"])["text"] == [text]
    assert query(shares["telegram"])["url"] == [url]
    assert query(shares["x"])["url"] == [url]
    assert query(shares["facebook"])["u"] == [url]
    assert query(shares["line"])["url"] == [url]
    for name, share in shares.items():
        if name != "copy":
            assert " " not in share
            assert "+" not in share.split("?", 1)[1]  # spaces are %20, pluses %2B
