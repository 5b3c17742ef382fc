"""Email addresses as fraud checks compare them: one form per mailbox.

Provider rules are data (`EmailRules`): which domains are one mailbox provider,
where dots in the local part do not count, which characters start a sub-address
tag, where a subdomain names the mailbox (Fastmail's ``shop@ann.fastmail.com``). A
host extends them with `EmailRules.extend`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from encodings.idna import nameprep
from types import MappingProxyType

import attrs

from referralkit.errors import ConfigError, InvalidIdentity

__all__ = ["DEFAULT_EMAIL_RULES", "EmailRules", "email_domain", "normalize_email"]

_MAX_EMAIL = 320
_MAX_LABEL = 63
#: The full stops that separate domain labels (IDNA): ASCII, ideographic, full-width, half-width.
_DOTS = re.compile("[.\u3002\uff0e\uff61]")
_LABELS = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")


_SHARP_S = "\u00df"  # ß; its capital ẞ is U+1E9E


def _casefold(text: str) -> str:
    """``str.casefold``, except that ß stays ß: straße and strasse are two names."""
    return _SHARP_S.join(p.casefold() for p in text.replace("\u1e9e", _SHARP_S).split(_SHARP_S))


def _fold(text: str) -> str:
    """Case-insensitive, compatibility-normalised text, stable under repetition."""
    folded = unicodedata.normalize("NFKC", text)
    for _ in range(4):
        again = unicodedata.normalize("NFKC", _casefold(folded))
        if again == folded:
            break
        folded = again
    return folded


def _ascii_label(label: str) -> str:
    """One domain label in ASCII (punycode), ß kept as IDNA 2008 keeps it (faß is not fass).

    Python's ``idna`` codec follows IDNA 2003, which maps ß to ss.
    """
    if _SHARP_S not in label:
        return label.encode("idna").decode("ascii")
    prepared = _SHARP_S.join(nameprep(part) for part in label.split(_SHARP_S))
    encoded = "xn--" + prepared.encode("punycode").decode("ascii")
    if len(encoded) > _MAX_LABEL:
        raise UnicodeError(label)
    return encoded


def _domain(domain: str) -> str:
    text = _DOTS.sub(".", _fold(domain.strip())).rstrip(".")
    try:
        ascii_domain = ".".join(_ascii_label(label) for label in text.split(".")).lower()
    except UnicodeError:
        raise InvalidIdentity(
            f"{domain!r} is not a valid email domain", value=domain, field="email"
        ) from None
    if not _LABELS.fullmatch(ascii_domain):
        raise InvalidIdentity(
            f"{domain!r} is not a valid email domain", value=domain, field="email"
        )
    return ascii_domain


def _rule_domain(domain: object, path: str) -> str:
    """A domain named in provider rules, canonical; a bad one is a `ConfigError` at ``path``."""
    if not isinstance(domain, str):
        raise ConfigError(
            f"{path} names domains as strings, not {domain!r}", value=domain, path=path
        )
    try:
        return _domain(domain)
    except InvalidIdentity:
        raise ConfigError(f"{path}: {domain!r} is not a domain", value=domain, path=path) from None


def _pairs(value: object, path: str) -> list[tuple[object, object]]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path} must be a mapping of domains", value=value, path=path)
    return list(value.items())


def _separators(value: object, path: str = "separators") -> str:
    if not isinstance(value, str):
        raise ConfigError(
            f"{path} must be a string of tag characters such as '+'", value=value, path=path
        )
    return value


def _mapping(value: Mapping[str, str]) -> Mapping[str, str]:
    path = "domain_separators"
    return MappingProxyType(
        {_rule_domain(k, path): _separators(v, path) for k, v in _pairs(value, path)}
    )


def _domains(value: Iterable[str], path: str = "dots_ignored") -> frozenset[str]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Iterable):
        raise ConfigError(f"{path} must be a list of domains", value=value, path=path)
    return frozenset(_rule_domain(d, path) for d in value)


def _subdomain_domains(value: Iterable[str]) -> frozenset[str]:
    return _domains(value, "subdomain_addressing")


def _alias_targets(value: Mapping[str, str]) -> Mapping[str, str]:
    """Aliases resolved to their final domain: an alias of an alias names the last one.

    A domain aliased to itself is dropped; aliases that lead round in a ring are refused.
    """
    path = "aliases"
    direct = {_rule_domain(k, path): _rule_domain(v, path) for k, v in _pairs(value, path)}
    direct = {k: v for k, v in direct.items() if k != v}
    final = {}
    for domain, first in direct.items():
        seen, target = [domain], first
        while target in direct:
            if target in seen:
                raise ConfigError(
                    f"aliases lead round in a ring: {' -> '.join([*seen, target])}",
                    value=target,
                    path=path,
                )
            seen.append(target)
            target = direct[target]
        final[domain] = target
    return MappingProxyType(final)


@attrs.frozen(slots=True)
class EmailRules:
    """How mailbox providers treat addresses, so that aliases of one mailbox match.

    ``aliases`` maps a domain to the domain it is another name for
    (``googlemail.com`` -> ``gmail.com``; an alias of an alias names the last domain);
    ``dots_ignored`` lists domains whose
    mailboxes ignore dots in the local part; ``separators`` are the characters that
    start a sub-address tag (``ann+shop@``) on every domain, unless ``domain_separators``
    names others for a domain (an empty string turns tags off there);
    ``subdomain_addressing`` lists domains where ``anything@name.domain`` reaches
    ``name@domain`` (one label deep, as Fastmail delivers it).
    """

    aliases: Mapping[str, str] = attrs.field(factory=dict, converter=_alias_targets)
    dots_ignored: frozenset[str] = attrs.field(factory=frozenset, converter=_domains)
    separators: str = attrs.field(default="+", converter=_separators)
    domain_separators: Mapping[str, str] = attrs.field(factory=dict, converter=_mapping)
    subdomain_addressing: frozenset[str] = attrs.field(
        factory=frozenset, converter=_subdomain_domains
    )

    def extend(
        self,
        *,
        aliases: Mapping[str, str] | None = None,
        dots_ignored: Iterable[str] = (),
        domain_separators: Mapping[str, str] | None = None,
        subdomain_addressing: Iterable[str] = (),
    ) -> EmailRules:
        """These rules plus a host's own: aliases, dot-blind domains, tags, subdomain mailboxes."""
        return EmailRules(
            aliases={**self.aliases, **(aliases or {})},
            dots_ignored=self.dots_ignored | _domains(dots_ignored),
            separators=self.separators,
            domain_separators={**self.domain_separators, **(domain_separators or {})},
            subdomain_addressing=self.subdomain_addressing
            | _subdomain_domains(subdomain_addressing),
        )

    def canonical_domain(self, domain: str) -> str:
        """The domain a mailbox is known under (``googlemail.com`` -> ``gmail.com``)."""
        return self.aliases.get(domain, domain)


#: The built-in rules: ``+`` tags everywhere; Gmail ignores dots and answers to
#: googlemail.com; Proton accounts answer on all of their domains, iCloud on me.com
#: and mac.com; Fastmail delivers ``anything@ann.fastmail.com`` to ``ann@fastmail.com``.
#: ``tests/test_guards_identity.py`` compares them with the email-normalize package.
DEFAULT_EMAIL_RULES = EmailRules(
    aliases={
        "googlemail.com": "gmail.com",
        "protonmail.com": "proton.me",
        "protonmail.ch": "proton.me",
        "pm.me": "proton.me",
        "me.com": "icloud.com",
        "mac.com": "icloud.com",
    },
    dots_ignored=("gmail.com",),
    subdomain_addressing=("fastmail.com", "fastmail.fm"),
)


def _mailbox(rules: EmailRules, local: str, domain: str) -> tuple[str, str]:
    """``(local, domain)`` with the domain canonical and a subdomain mailbox moved left.

    ``("shop", "ann.fastmail.com")`` gives ``("ann", "fastmail.com")``; ``domain`` is in
    `_domain`'s canonical ASCII form.
    """
    label, _, parent = domain.partition(".")
    if (
        parent
        and domain not in rules.subdomain_addressing
        and (
            parent in rules.subdomain_addressing
            or rules.canonical_domain(parent) in rules.subdomain_addressing
        )
    ):
        local, domain = label, parent
    return local, rules.canonical_domain(domain)


def _split(email: str) -> tuple[str, str]:
    raw: object = email
    if not isinstance(raw, str):
        raise InvalidIdentity(
            f"an email is a string, not {type(raw).__name__}", value=raw, field="email"
        )
    text = email.strip()
    if len(text) > _MAX_EMAIL or "@" not in text:
        raise InvalidIdentity(
            f"{email[:_MAX_EMAIL]!r} is not an email address", value=email, field="email"
        )
    local, _, domain = text.rpartition("@")
    # A quoted name is the name itself: "ann+x"@example.com is ann+x@example.com. Quotes
    # and backslashes anywhere else are refused, so a normalised address has none.
    if len(local) > 1 and local[0] == local[-1] == '"':
        local = local[1:-1]
    # Every whitespace character but the ASCII space is unprintable.
    if not local or " " in local or '"' in local or "\\" in local or not local.isprintable():
        raise InvalidIdentity(f"{email!r} is not an email address", value=email, field="email")
    return local, domain


def email_domain(email: str, rules: EmailRules = DEFAULT_EMAIL_RULES) -> str:
    """The canonical domain of an address: lower-case, IDNA-encoded, aliases resolved."""
    local, domain = _split(email)
    return _mailbox(rules, local, _domain(domain))[1]


def normalize_email(email: str, rules: EmailRules = DEFAULT_EMAIL_RULES) -> str:
    """One form per mailbox: case and spaces ignored, ``+tags`` cut, provider rules applied.

    ``A.Nn+shop@GoogleMail.com``, ``"ann"@gmail.com`` and ``ann@gmail.com`` give
    ``ann@gmail.com``. Raises `InvalidIdentity` for text that is not an address.
    """
    local, domain = _split(email)
    local, domain = _mailbox(rules, local, _domain(domain))
    local = _fold(local)
    if domain in rules.dots_ignored:
        local = local.replace(".", "")
    separators = rules.domain_separators.get(domain, rules.separators)
    # A separator in first place starts the name, not a tag: +ann+x is +ann tagged.
    cuts = [i for i in (local.find(ch, 1) for ch in separators) if i > 0]
    if cuts:
        local = local[: min(cuts)]
    if not local:
        raise InvalidIdentity(f"{email!r} has an empty mailbox name", value=email, field="email")
    return f"{local}@{domain}"
