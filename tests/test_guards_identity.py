"""Identity normalisers and keyed hashes: aliases match, different people never collide."""

from __future__ import annotations

import ipaddress
import string
import sys
import types
import uuid

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import referralkit as rk
from referralkit.guards import (
    ADDRESS_ABBREVIATIONS,
    DEFAULT_EMAIL_RULES,
    PHONE_REGIONS,
    EmailRules,
    IdentityNormalizer,
    PhoneRegion,
    SignalHasher,
    email_domain,
    identity_signals,
    normalize_address,
    normalize_device,
    normalize_email,
    normalize_ip,
    normalize_payment,
    normalize_phone,
)
from strategies import (
    extension_like_words,
    gmail_aliases,
    ipv4_addresses,
    ipv6_addresses,
    mailbox_names,
    phone_extensions,
    phone_layouts,
    plain_domains,
    tagged_aliases,
)

SECRET = b"0123456789abcdef0123456789abcdef"
OLD_SECRET = b"an older secret of thirty-two bytes!!"
#: 020 7946 0000 in full-width digits, as some keyboards type them.
FULLWIDTH_LONDON = "\uff10\uff12\uff10 \uff17\uff19\uff14\uff16 \uff10\uff10\uff10\uff10"

# -- email ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_address", "expected"),
    [
        ("ann@gmail.com", "ann@gmail.com"),
        ("  A.Nn+shop@GoogleMail.com ", "ann@gmail.com"),
        ("a.n.n@gmail.com.", "ann@gmail.com"),
        ("Bob+news@Example.COM", "bob@example.com"),
        ("bob.smith@example.com", "bob.smith@example.com"),  # dots count off Gmail
        ("carol+x@protonmail.com", "carol@proton.me"),
        ("+only@example.com", "+only@example.com"),  # nothing before the tag: kept
        ("dora@bücher.de", "dora@xn--bcher-kva.de"),
        ("ÉMILE@example.com", "émile@example.com"),
    ],
)
def test_emails_normalise_to_one_form_per_mailbox(given_address: str, expected: str) -> None:
    assert normalize_email(given_address) == expected


@given(st.one_of(st.emails(), st.text(max_size=40)))
def test_email_normalisation_is_idempotent(text: str) -> None:
    try:
        once = normalize_email(text)
    except rk.InvalidIdentity:
        return
    assert normalize_email(once) == once


@given(mailbox_names, st.data())
def test_every_gmail_alias_of_a_mailbox_matches_it(name: str, data: st.DataObject) -> None:
    alias = data.draw(gmail_aliases(name))
    assert normalize_email(alias) == f"{name}@gmail.com"


@given(mailbox_names, plain_domains, st.data())
def test_plus_tags_and_case_never_hide_a_mailbox(name, domain, data) -> None:
    alias = data.draw(tagged_aliases(name, domain))
    assert normalize_email(alias) == f"{name}@{domain}"


@given(mailbox_names, plain_domains, mailbox_names, plain_domains)
def test_different_mailboxes_never_collide(name1, domain1, name2, domain2) -> None:
    assume((name1, domain1) != (name2, domain2))
    assert normalize_email(f"{name1}@{domain1}") != normalize_email(f"{name2}@{domain2}")
    assert normalize_email(f"{name1}@gmail.com") != normalize_email(f"{name2}1@gmail.com")


@given(mailbox_names, plain_domains, st.sampled_from(["", "+news", "+a.b"]))
def test_a_quoted_mailbox_name_is_the_name_itself(name, domain, tag) -> None:
    """``"ann"@example.com`` and ``"ann+x"@example.com`` reach ``ann@example.com``."""
    assert normalize_email(f'"{name}{tag}"@{domain}') == normalize_email(f"{name}@{domain}")
    assert normalize_email(f'"{name[0]}.{name[1:]}{tag}"@googlemail.com') == f"{name}@gmail.com"


@given(mailbox_names, plain_domains, st.sampled_from(["+x", "+news", "+a+b"]))
def test_a_tag_is_cut_after_a_name_that_starts_with_a_separator(name, domain, tag) -> None:
    """``+ann`` is a name (nothing before its ``+``), and ``+ann+x`` is that name tagged."""
    assert normalize_email(f"+{name}{tag}@{domain}") == normalize_email(f"+{name}@{domain}")


@given(st.text(alphabet='ab.+"\\@ ', max_size=12), plain_domains)
def test_email_normalisation_is_idempotent_with_quotes_and_tags(local, domain) -> None:
    try:
        once = normalize_email(f"{local}@{domain}")
    except rk.InvalidIdentity:
        return
    assert normalize_email(once) == once


@pytest.mark.parametrize(
    "bad",
    [
        *("", "   ", "ann", "@example.com", "ann@", "a nn@example.com", "ann@exa mple.com"),
        *('""@example.com', '"a nn"@example.com', 'a"nn@example.com', "a\\nn@example.com"),
        "x" * 400,
    ],
)
def test_text_that_is_no_email_is_an_invalid_identity(bad: str) -> None:
    with pytest.raises(rk.InvalidIdentity) as err:
        normalize_email(bad)
    assert err.value.field == "email"


def test_a_non_string_email_is_an_invalid_identity() -> None:
    with pytest.raises(rk.InvalidIdentity):
        normalize_email(42)  # type: ignore[arg-type]


def test_provider_rules_are_data_a_host_extends() -> None:
    rules = DEFAULT_EMAIL_RULES.extend(
        aliases={"corp-mail.example": "corp.example"},
        dots_ignored=["corp.example"],
        domain_separators={"corp.example": "-+"},
    )
    assert normalize_email("J.Doe-sales@corp-mail.example", rules) == "jdoe@corp.example"
    assert normalize_email("J.Doe-sales@corp-mail.example") == "j.doe-sales@corp-mail.example"
    assert normalize_email("ann@googlemail.com", rules) == "ann@gmail.com"  # built-ins kept
    no_tags = EmailRules(domain_separators={"example.com": ""})
    assert normalize_email("ann+x@example.com", no_tags) == "ann+x@example.com"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("straße@example.de", "strasse@example.de"),
        ("ann@faß.de", "ann@fass.de"),  # two domains since IDNA 2008 (xn--fa-hia.de)
    ],
)
def test_sharp_s_is_not_ss(one: str, other: str) -> None:
    """ß and ss name different mailboxes and domains: their owners are two people."""
    assert normalize_email(one) != normalize_email(other)


@pytest.mark.parametrize(
    ("alias", "address"),
    [
        ("STRAẞE@Example.DE", "straße@example.de"),
        ("ann@FAẞ.de", "ann@xn--fa-hia.de"),
        ("ann@faß.de", "ann@xn--fa-hia.de"),
        ("ann@Bücher.de", "ann@xn--bcher-kva.de"),
    ],
)
def test_unicode_addresses_match_in_any_case_and_in_punycode(alias: str, address: str) -> None:
    assert normalize_email(alias) == normalize_email(address)


@given(st.text(alphabet="asüß", max_size=4), st.text(alphabet="asüß", max_size=4))
def test_a_name_with_sharp_s_never_collides_with_its_ss_spelling(before, after) -> None:
    sharp, double = f"{before}ß{after}", f"{before}ss{after}"
    assert normalize_email(f"{sharp}@example.de") != normalize_email(f"{double}@example.de")
    assert normalize_email(f"x@{sharp}.de") != normalize_email(f"x@{double}.de")


def test_alias_chains_resolve_to_the_last_domain() -> None:
    """A host's alias to an alias reaches the final domain from both names."""
    rules = DEFAULT_EMAIL_RULES.extend(
        aliases={"rocketmail.com": "ymail.com", "ymail.com": "yahoo.com", "pm.me": "protonmail.com"}
    )
    assert normalize_email("ann@rocketmail.com", rules) == "ann@yahoo.com"
    assert normalize_email("ann@ymail.com", rules) == "ann@yahoo.com"
    assert normalize_email("ann@pm.me", rules) == normalize_email("ann@protonmail.com", rules)
    assert EmailRules(aliases={"a.com": "A.com"}).aliases == {}  # a domain is itself


_DOMAINS = st.sampled_from(["a.com", "b.com", "c.com", "gmail.com", "googlemail.com"])


@given(st.dictionaries(_DOMAINS, _DOMAINS, max_size=4), _DOMAINS)
def test_any_alias_table_gives_one_domain_per_mailbox_or_is_refused(aliases, domain) -> None:
    try:
        rules = DEFAULT_EMAIL_RULES.extend(aliases=aliases)
    except rk.ConfigError as err:
        refused: rk.ConfigError | None = err
    else:
        refused = None
    if refused is not None:
        assert (refused.path, "ring" in str(refused)) == ("aliases", True)
        return
    once = normalize_email(f"A.nn+x@{domain}", rules)
    assert normalize_email(once, rules) == once
    assert rules.canonical_domain(rules.canonical_domain(domain)) == rules.canonical_domain(domain)


@pytest.mark.parametrize(
    ("build", "path"),
    [
        (lambda: EmailRules(aliases={"bad domain": "x.com"}), "aliases"),
        (lambda: EmailRules(aliases={"x.com": ""}), "aliases"),
        (lambda: EmailRules(aliases={"a.com": "b.com", "b.com": "a.com"}), "aliases"),
        (lambda: EmailRules(dots_ignored=["bad domain"]), "dots_ignored"),
        (lambda: EmailRules(dots_ignored=[5]), "dots_ignored"),
        (lambda: EmailRules(domain_separators={"a..b": "+"}), "domain_separators"),
        (lambda: EmailRules(domain_separators={"x.com": 5}), "domain_separators"),
        (lambda: EmailRules(separators=None), "separators"),
    ],
)
def test_bad_provider_rules_are_config_errors_naming_the_field(build, path) -> None:
    with pytest.raises(rk.ConfigError) as err:
        build()
    assert err.value.path == path


def test_email_domain_is_canonical() -> None:
    assert email_domain("Ann@GoogleMail.com") == "gmail.com"
    assert email_domain("x@Sub.Mailinator.com") == "sub.mailinator.com"


@pytest.mark.parametrize(
    ("alias", "mailbox"),
    [
        ("ann@me.com", "ann@icloud.com"),
        ("Ann@Mac.com", "ann@icloud.com"),
        ("ann+shop@icloud.com", "ann@icloud.com"),
        ("shop@ann.fastmail.com", "ann@fastmail.com"),
        ("Shop+x@Ann.FastMail.com", "ann@fastmail.com"),
        ("news@ann.fastmail.fm", "ann@fastmail.fm"),
        ("ann+x@fastmail.com", "ann@fastmail.com"),
        ("x@a.b.fastmail.com", "x@a.b.fastmail.com"),  # one label deep, as Fastmail delivers
        ("shop@ann.example.com", "shop@ann.example.com"),  # no subdomain addressing elsewhere
    ],
)
def test_apple_and_fastmail_aliases_reach_one_mailbox(alias: str, mailbox: str) -> None:
    assert normalize_email(alias) == mailbox
    assert email_domain(alias) == mailbox.partition("@")[2]


@given(mailbox_names, st.sampled_from(["me.com", "mac.com", "icloud.com"]), st.data())
def test_every_apple_domain_is_one_icloud_mailbox(name: str, domain: str, data) -> None:
    alias = data.draw(tagged_aliases(name, domain))
    assert normalize_email(alias) == f"{name}@icloud.com"


@given(mailbox_names, mailbox_names, st.sampled_from(["fastmail.com", "fastmail.fm"]), st.data())
def test_a_fastmail_subdomain_names_the_mailbox(name, tag, domain, data) -> None:
    alias = data.draw(tagged_aliases(tag, f"{name}.{domain}"))
    once = normalize_email(alias)
    assert once == f"{name}@{domain}"
    assert normalize_email(once) == once


def test_subdomain_addressing_is_data_a_host_extends() -> None:
    rules = DEFAULT_EMAIL_RULES.extend(subdomain_addressing=["mail.example"])
    assert normalize_email("shop@ann.mail.example", rules) == "ann@mail.example"
    assert normalize_email("shop@ann.mail.example") == "shop@ann.mail.example"
    assert normalize_email("shop@ann.fastmail.com", rules) == "ann@fastmail.com"  # kept
    for bad in (["bad domain"], [5], 5):
        with pytest.raises(rk.ConfigError) as err:
            EmailRules(subdomain_addressing=bad)  # type: ignore[arg-type]
        assert err.value.path == "subdomain_addressing"


# The comparison with the email-normalize package (PyPI), which keeps a provider table of
# its own. It detects providers by MX record; here its own DNS mode runs with MX records
# taken from its provider table (a domain, or any parent of it, in its DomainMap), so no
# network is needed. Each difference below is deliberate; a new one fails the test.

#: Proton's domains, one mailbox for referralkit, three for email-normalize.
_PROTON = {"protonmail.com", "protonmail.ch", "pm.me"}


def _cut_tags(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local.partition('+')[0]}@{domain}"


def _deeper_than_one_label(address: str) -> bool:
    domain = address.partition("@")[2]
    return any(
        domain.endswith(f".{d}") and domain[: -len(d) - 1].count(".") >= 1
        for d in DEFAULT_EMAIL_RULES.subdomain_addressing
    )


#: Every way the built-in rules differ from email-normalize's, on purpose, each with the
#: check that the difference is exactly that one. docs/explanation/signals.md lists them.
DELIBERATE_DIFFERENCES = {
    # email-normalize cuts tags only where a provider is known to support them (not at
    # Yahoo/AOL, not on unknown domains): a fraud check cuts them everywhere, since a
    # self-referrer gains from inventing a tagged address that delivers nowhere too.
    "plus tags are cut on every domain": lambda address, ours, theirs: (
        "+" in theirs.partition("@")[0] and _cut_tags(theirs) == ours
    ),
    # One Proton account answers on all of its domains; email-normalize keeps them apart.
    "Proton's domains are one mailbox": lambda address, ours, theirs: (
        theirs.partition("@")[2] in _PROTON
        and ours == f"{_cut_tags(theirs).partition('@')[0]}@proton.me"
    ),
    # Fastmail delivers anything@ann.fastmail.com to ann; email-normalize also moves the
    # first label of deeper subdomains (x@a.b.fastmail.com -> a@b.fastmail.com), a
    # mailbox that does not exist.
    "subdomain addressing is one label deep": lambda address, ours, theirs: (
        _deeper_than_one_label(address) and ours == address.lower()
    ),
}


def _sample_addresses() -> list[str]:
    from email_normalize import providers

    rules = DEFAULT_EMAIL_RULES
    domains = sorted(
        {*providers.DomainMap, *rules.aliases, *rules.aliases.values(), *rules.dots_ignored}
        | rules.subdomain_addressing
        | {"example.com"}
    )
    locals_ = ["ann", "a.nn", "ann+shop", "A.Nn+x+y"]
    addresses = [f"{local}@{domain}" for domain in domains for local in locals_]
    for domain in sorted({*rules.subdomain_addressing, "fastmail.com", "fastmail.fm"}):
        addresses += [f"shop@ann.{domain}", f"Shop+x@Ann.{domain}", f"x@a.b.{domain}"]
    return addresses


def _email_normalize(addresses: list[str]) -> list[str]:
    import asyncio

    from email_normalize import Normalizer, providers

    class TableMX(Normalizer):  # type: ignore[misc]
        """email-normalize's DNS mode, with MX records from its own provider table."""

        async def mx_records(self, domain_part: str) -> list[tuple[int, str]]:
            domain = domain_part
            while domain:
                provider = providers.DomainMap.get(domain)
                if provider is not None:
                    return [(10, f"mx.{min(provider.MXDomains)}")]
                domain = domain.partition(".")[2]
            return []

    async def run() -> list[str]:
        normalizer = TableMX()
        return [(await normalizer.normalize(a)).normalized_address for a in addresses]

    return asyncio.run(run())


def test_the_provider_rules_match_email_normalize_but_for_deliberate_differences() -> None:
    pytest.importorskip(
        "email_normalize",
        reason="the comparison needs email-normalize: pip install -e '.[test]' "
        "(or pip install email-normalize)",
    )
    addresses = _sample_addresses()
    unexplained, used = [], set()
    for address, theirs in zip(addresses, _email_normalize(addresses), strict=True):
        ours = normalize_email(address)
        if ours == theirs:
            continue
        reasons = [n for n, check in DELIBERATE_DIFFERENCES.items() if check(address, ours, theirs)]
        if len(reasons) != 1:
            unexplained.append((address, ours, theirs, reasons))
        used.update(reasons)
    assert unexplained == []
    assert used == set(DELIBERATE_DIFFERENCES)  # no stale entry in the allow-list


def test_email_normalize_has_no_alias_domain_the_built_in_rules_lack() -> None:
    """Its CanonicalDomains (Apple's, Google's) are ours too: me.com used to slip through."""
    providers = pytest.importorskip(
        "email_normalize.providers",
        reason="pip install -e '.[test]' (or pip install email-normalize)",
    )
    theirs = {
        alias: target
        for provider in providers.Providers
        for alias, target in provider.CanonicalDomains.items()
    }
    assert theirs
    assert {a: DEFAULT_EMAIL_RULES.canonical_domain(a) for a in theirs} == theirs


# -- phone ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("(415) 555-0100", "US", "+14155550100"),
        ("1-415-555-0100", "US", "+14155550100"),
        ("+1 415 555 0100", "GB", "+14155550100"),
        ("011 44 20 7946 0000", "US", "+442079460000"),
        ("020 7946 0000", "GB", "+442079460000"),
        ("+44 (0)20 7946 0000", "US", "+442079460000"),
        ("0044 20 7946 0000", "DE", "+442079460000"),
        ("06 1234 5678", "IT", "+390612345678"),  # the leading 0 is part of Italian numbers
        ("+1 415 555 0100 ext. 12", "US", "+14155550100"),
        (
            "\uff10\uff12\uff10 \uff17\uff19\uff14\uff16 \uff10\uff10\uff10\uff10",
            "GB",
            "+442079460000",
        ),
    ],
)
def test_phones_normalise_to_e164(text: str, region: str, expected: str) -> None:
    assert normalize_phone(text, region) == expected


@given(
    st.sampled_from(sorted(PHONE_REGIONS)), st.text(alphabet="0123456789", min_size=6, max_size=11)
)
def test_a_number_matches_however_it_is_laid_out(region, national) -> None:
    assume(not national.startswith("0"))
    home = PHONE_REGIONS[region]
    assume(not home.trunk or not national.startswith(home.trunk))
    # Dialled with the trunk prefix, it must not read as an international call (in Japan
    # 0 + 10... is 010..., the international prefix): no real number is laid out so.
    dialled = f"{home.trunk}{national}"
    assume(not any(n.startswith(p) for p in home.international for n in (national, dialled)))
    expected = f"+{home.calling_code}{national}"
    assume(len(expected) <= 16)
    assert normalize_phone(national, region) == expected
    assert normalize_phone(f"{home.trunk}{national}", region) == expected


@given(st.data(), st.text(alphabet="0123456789", min_size=7, max_size=14))
def test_phone_layout_never_changes_the_number(data, digits) -> None:
    assume(not digits.startswith("0"))
    laid_out = data.draw(phone_layouts(digits))
    assert normalize_phone("+" + laid_out) == normalize_phone("+" + digits) == "+" + digits


@given(st.text(max_size=30), st.sampled_from(sorted(PHONE_REGIONS)))
def test_phone_normalisation_is_idempotent(text, region) -> None:
    try:
        once = normalize_phone(text, region)
    except rk.InvalidIdentity:
        return
    assert normalize_phone(once, region) == once
    assert normalize_phone(once, "US") == once  # E.164 reads the same in every region


@given(
    st.text(alphabet="0123456789", min_size=7, max_size=14),
    st.text(alphabet="0123456789", min_size=7, max_size=14),
)
def test_different_numbers_never_collide(a, b) -> None:
    assume(a != b and not a.startswith("0") and not b.startswith("0"))
    assert normalize_phone("+" + a) != normalize_phone("+" + b)


@given(st.data(), st.sampled_from(["+1 415 555 0100", "(415) 555-0100", "+44 20 7946 0000"]))
def test_an_extension_never_changes_the_number(data, number) -> None:
    extension = data.draw(phone_extensions())
    assert normalize_phone(number + extension) == normalize_phone(number)


@pytest.mark.parametrize(
    ("written", "plain"),
    [
        ("+44 (0)20 7946 0000", "+44 20 7946 0000"),  # UK: the 0 is dialled only at home
        ("+49 (0)30 1234567", "+49 30 1234567"),
        ("+39 (0)11 794 6000", "+39 011 794 6000"),  # Italy: the 0 is part of the number
        ("+39 (0)2 1234 5678", "+39 02 1234 5678"),
    ],
)
def test_a_written_trunk_zero_matches_the_number_as_dialled_from_abroad(written, plain) -> None:
    assert normalize_phone(written) == normalize_phone(plain)


@given(extension_like_words)
def test_letters_after_a_number_are_refused_not_cut_off_as_an_extension(word) -> None:
    """``+1 415 555 XRAY`` and ``+1 415 555 XBOX`` are not both the number ``+1415555``."""
    with pytest.raises(rk.InvalidIdentity, match="unexpected character"):
        normalize_phone(f"+1 415 555 {word}")


@pytest.mark.parametrize(
    "bad", ["", "call me", "+1 415 555 01OO", "12345", "+0 123 4567", "9" * 80]
)
def test_text_that_is_no_phone_number_is_an_invalid_identity(bad: str) -> None:
    with pytest.raises(rk.InvalidIdentity) as err:
        normalize_phone(bad)
    assert err.value.field == "phone"


def test_an_unknown_region_is_a_config_error_and_regions_are_extensible() -> None:
    with pytest.raises(rk.ConfigError, match="no phone region 'XX'"):
        normalize_phone("030 1234567", "XX")
    regions = {**PHONE_REGIONS, "XX": PhoneRegion("999", "0")}
    assert normalize_phone("030 1234567", "XX", regions=regions) == "+999301234567"
    with pytest.raises(rk.ConfigError):
        IdentityNormalizer(phone_region="XX")


def _pn():  # the phone extra is part of the test extra: the agreement test always runs
    import phonenumbers as pn

    return pn


@given(st.data())
def test_phonenumbers_agrees_on_every_region_in_the_table(data) -> None:
    """Installing the phone extra never changes a hash: both give the same E.164."""
    pn = _pn()
    types_ = pn.PhoneNumberType
    formats = pn.PhoneNumberFormat
    region = data.draw(st.sampled_from(sorted(PHONE_REGIONS)))
    kind = data.draw(st.sampled_from([types_.FIXED_LINE, types_.MOBILE, types_.TOLL_FREE]))
    example = pn.example_number_for_type(region, kind)
    assume(example is not None)
    fmt = data.draw(st.sampled_from([formats.NATIONAL, formats.INTERNATIONAL, formats.E164]))
    text = pn.format_number(example, fmt)
    theirs = pn.format_number(pn.parse(text, region), formats.E164)
    assert normalize_phone(text, region) == theirs
    assert normalize_phone(text, region, strict=True) == theirs


def test_strict_phones_refuse_numbers_that_cannot_exist() -> None:
    assert normalize_phone("+1 202 555 0143") == "+12025550143"
    with pytest.raises(rk.InvalidIdentity, match="no such number"):
        normalize_phone("+1 111 555 0143", strict=True)


def test_strict_phones_without_the_extra_say_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "phonenumbers", None)
    with pytest.raises(rk.ConfigError, match=r"referralkit\[phone\]"):
        normalize_phone("+14155550100", strict=True)


# -- IP ------------------------------------------------------------------------------------


@given(ipv4_addresses, st.integers(0, 255))
def test_ipv4_addresses_of_one_slash_24_share_a_network_only(address, last) -> None:
    neighbour = str(ipaddress.IPv4Address((int(ipaddress.IPv4Address(address)) & ~0xFF) | last))
    ip1, net1 = normalize_ip(address)
    ip2, net2 = normalize_ip(f" {neighbour} ")
    assert net1 == net2
    assert (ip1 == ip2) == (address == neighbour)


@given(ipv6_addresses, st.integers(0, 2**64 - 1))
def test_ipv6_addresses_of_one_slash_64_share_a_network(address, low) -> None:
    base = int(ipaddress.IPv6Address(address)) & ~(2**64 - 1)
    neighbour = ipaddress.IPv6Address(base | low)
    assume(neighbour.ipv4_mapped is None and ipaddress.IPv6Address(address).ipv4_mapped is None)
    assert normalize_ip(address)[1] == normalize_ip(neighbour.exploded.upper())[1]


@given(st.one_of(ipv4_addresses, ipv6_addresses))
def test_ip_normalisation_is_idempotent(address) -> None:
    ip, network = normalize_ip(address)
    assert normalize_ip(ip) == (ip, network)


def test_ip_forms_that_name_one_address_match() -> None:
    assert normalize_ip("::ffff:203.0.113.7") == ("203.0.113.7", "203.0.113.0/24")
    assert normalize_ip("[2001:DB8::1%eth0]") == ("2001:db8::1", "2001:db8::/64")


@pytest.mark.parametrize("bad", ["", "localhost", "1.2.3", "1.2.3.4:80", "1.2.3.256"])
def test_text_that_is_no_ip_is_an_invalid_identity(bad: str) -> None:
    with pytest.raises(rk.InvalidIdentity) as err:
        normalize_ip(bad)
    assert err.value.field == "ip"


# -- postal address, device, payment -------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("12, Baker Street, Apt. 4", "12 baker st apartment 4"),
        ("1 North Avenue", "1 N. Ave"),
        ("Hauptstraße 5", "HAUPTSTRASSE 5"),  # one word: the suffix is not split off
        ("5 rue de l'Église", "5 Rue de l Eglise"),
        ("  10   Downing   St.  ", "10 downing street"),
    ],
)
def test_ways_of_writing_one_address_match(a: str, b: str) -> None:
    assert normalize_address(a) == normalize_address(b)


@given(
    st.integers(1, 9999),
    st.sampled_from(string.ascii_letters),
    st.sampled_from(["", " ", "-", "/", ", "]),
)
def test_a_house_letter_matches_with_or_without_punctuation(number, letter, sep) -> None:
    """``12B``, ``12-B`` and ``12 b`` are one house: punctuation and spacing do not count."""
    assert normalize_address(f"{number}{sep}{letter} High St") == normalize_address(
        f"{number} {letter} high street"
    )
    assert normalize_address(f"Flat{sep}{number}") == normalize_address(f"flat {number}")


def test_abbreviations_are_fixed_points() -> None:
    for short in set(ADDRESS_ABBREVIATIONS.values()):
        assert ADDRESS_ABBREVIATIONS[short] == short


@given(st.text(max_size=60))
def test_address_normalisation_is_idempotent(text) -> None:
    try:
        once = normalize_address(text)
    except rk.InvalidIdentity:
        return
    assert normalize_address(once) == once


@given(st.integers(1, 9999), st.integers(1, 9999))
def test_different_house_numbers_never_collide(a, b) -> None:
    assume(a != b)
    assert normalize_address(f"{a} High Street") != normalize_address(f"{b} High Street")


def test_addresses_without_words_are_invalid() -> None:
    with pytest.raises(rk.InvalidIdentity):
        normalize_address(" ,.- ")


def test_device_ids_match_in_any_uuid_spelling_and_stay_case_sensitive_otherwise() -> None:
    u = uuid.UUID(int=0xABCDEF)
    assert normalize_device(str(u).upper()) == normalize_device(f"{{{u}}}") == str(u)
    assert normalize_device(" dev-AbC ") == "dev-AbC"
    assert normalize_device("dev-abc") != normalize_device("dev-ABC")


def test_payment_fingerprints_are_trimmed_and_digit_groups_joined() -> None:
    assert normalize_payment(" Xt5EWLLDS7FJjR1c ") == "Xt5EWLLDS7FJjR1c"
    assert normalize_payment("Xt5EWLLDS7FJjR1c") != normalize_payment("xt5ewllds7fjjr1c")
    assert normalize_payment("4242 4242-4242") == "424242424242"
    with pytest.raises(rk.InvalidIdentity):
        normalize_payment("a\x00b")


# -- the normaliser and keyed hashes -------------------------------------------------------


def test_an_identity_gives_one_pair_per_signal_and_blank_values_are_absent() -> None:
    pairs = IdentityNormalizer().pairs(
        rk.Identity(email="A@x.com", phone=" ", ip="10.0.0.7", address="", device_id="d1")
    )
    assert pairs == [
        ("email", "a@x.com"),
        ("device", "d1"),
        ("ip", "10.0.0.7"),
        ("network", "10.0.0.0/24"),
    ]


def test_phone_region_and_email_rules_reach_the_pairs() -> None:
    rules = IdentityNormalizer(phone_region="GB", email_rules=EmailRules())
    pairs = rules.pairs(rk.Identity(phone="020 7946 0000", email="a.b@googlemail.com"))
    assert pairs == [("email", "a.b@googlemail.com"), ("phone", "+442079460000")]


@given(
    st.sampled_from(["email", "phone", "device"]),
    st.text(min_size=1, max_size=20),
    st.sampled_from(["email", "phone", "device"]),
    st.text(min_size=1, max_size=20),
)
def test_keyed_hashes_differ_whenever_kind_or_value_differs(k1, v1, k2, v2) -> None:
    hasher = SignalHasher(SECRET)
    assert (hasher.digest(k1, v1) == hasher.digest(k2, v2)) == ((k1, v1) == (k2, v2))


def test_hashes_depend_on_the_secret_and_reveal_nothing_in_the_clear() -> None:
    identity = rk.Identity(email="ann@gmail.com", phone="+14155550100")
    new = identity_signals(identity, SignalHasher(SECRET))
    old = identity_signals(identity, SignalHasher(OLD_SECRET))
    assert not new & old
    assert all("ann" not in digest and "4155550100" not in digest for _, digest in new)


def test_rotation_stores_under_the_new_key_and_matches_under_both() -> None:
    identity = rk.Identity(email="ann@gmail.com")
    rotating = SignalHasher(SECRET, previous=[OLD_SECRET])
    stored_before = identity_signals(identity, SignalHasher(OLD_SECRET))
    assert rotating.rotating
    assert identity_signals(identity, rotating) == identity_signals(identity, SignalHasher(SECRET))
    matched = identity_signals(identity, rotating, match=True)
    assert stored_before <= matched
    assert len(matched) == 2


@pytest.mark.parametrize("previous", [[b"short"], b"x" * 40, ["text" * 10]])
def test_previous_secrets_must_be_a_list_of_long_byte_strings(previous) -> None:
    with pytest.raises(rk.ConfigError) as err:
        SignalHasher(SECRET, previous=previous)
    assert err.value.path == "previous_secrets"


@pytest.mark.parametrize("secret", [b"short", "a text secret, thirty-two chars long"])
def test_the_current_secret_must_be_long_bytes_too(secret) -> None:
    with pytest.raises(rk.ConfigError) as err:
        SignalHasher(secret)
    assert err.value.path == "secret"


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"phone_region": 44}, "phone_region"),
        ({"email_rules": {"gmail.com": "googlemail.com"}}, "email_rules"),
        ({"phone_regions": ["US"]}, "phone_regions"),
        ({"abbreviations": {"street": "St."}}, "abbreviations"),  # would not be a fixed point
        ({"abbreviations": {"street": "st", "st": "street"}}, "abbreviations"),
        ({"abbreviations": {"Street": "st"}}, "abbreviations"),  # words are lower-case
    ],
)
def test_bad_identity_rules_are_config_errors_naming_the_field(kwargs, path) -> None:
    with pytest.raises(rk.ConfigError) as err:
        IdentityNormalizer(**kwargs)
    assert err.value.path == path


_WORDS = ["street", "st", "road", "rd", "saint", "12"]


@given(
    st.dictionaries(st.sampled_from(_WORDS), st.sampled_from(_WORDS), max_size=4),
    st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4).map(" ".join),
)
def test_accepted_abbreviations_keep_address_normalisation_idempotent(table, text) -> None:
    """A host's abbreviation table is refused unless normalising twice changes nothing."""
    try:
        rules = IdentityNormalizer(abbreviations=table)
    except rk.ConfigError:
        return
    try:
        once = normalize_address(text, rules.abbreviations)
    except rk.InvalidIdentity:
        return
    assert normalize_address(once, rules.abbreviations) == once


def test_identity_must_be_an_identity() -> None:
    with pytest.raises(rk.InvalidIdentity):
        identity_signals({"email": "a@b.c"}, SignalHasher(SECRET))  # type: ignore[arg-type]


def test_the_fraud_extra_is_found_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    from referralkit.guards._disposable import package_domains

    monkeypatch.setitem(sys.modules, "disposable_email_domains", None)
    assert package_domains() == frozenset()
    fake = types.ModuleType("disposable_email_domains")
    fake.blocklist = {"throwaway.example", 42}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "disposable_email_domains", fake)
    assert package_domains() == {"throwaway.example"}
