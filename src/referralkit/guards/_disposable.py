"""`DisposableEmail`: referees signing up with throwaway mailboxes."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterable

import attrs

from referralkit.context import Decision, GuardContext, Verdict
from referralkit.errors import ConfigError, InvalidIdentity
from referralkit.guards._base import decision, verdict
from referralkit.guards._email import email_domain

__all__ = ["BUILTIN_DISPOSABLE_DOMAINS", "DisposableEmail", "package_domains"]

#: Well-known throwaway mailbox domains; the ``fraud`` extra adds a few thousand more.
BUILTIN_DISPOSABLE_DOMAINS = frozenset(
    {
        "10minutemail.com",
        "10minutemail.net",
        "20minutemail.com",
        "33mail.com",
        "anonbox.net",
        "burnermail.io",
        "discard.email",
        "dispostable.com",
        "emailfake.com",
        "emailondeck.com",
        "fakeinbox.com",
        "fakemail.net",
        "getairmail.com",
        "getnada.com",
        "grr.la",
        "guerrillamail.biz",
        "guerrillamail.com",
        "guerrillamail.de",
        "guerrillamail.net",
        "guerrillamail.org",
        "guerrillamailblock.com",
        "harakirimail.com",
        "inboxkitten.com",
        "incognitomail.org",
        "jetable.org",
        "mail.tm",
        "mailcatch.com",
        "maildrop.cc",
        "mailexpire.com",
        "mailforspam.com",
        "mailinator.com",
        "mailinator.net",
        "mailnesia.com",
        "mailpoof.com",
        "mintemail.com",
        "mohmal.com",
        "moakt.com",
        "mytemp.email",
        "nada.email",
        "pokemail.net",
        "sharklasers.com",
        "spam4.me",
        "spambox.us",
        "spamgourmet.com",
        "temp-mail.io",
        "temp-mail.org",
        "tempail.com",
        "tempmail.com",
        "tempmailo.com",
        "tempr.email",
        "throwawaymail.com",
        "tmpmail.net",
        "tmpmail.org",
        "trashmail.com",
        "trashmail.de",
        "trashmail.net",
        "yopmail.com",
        "yopmail.fr",
        "yopmail.net",
    }
)

_PACKAGE = "disposable_email_domains"


def package_domains() -> frozenset[str]:
    """The ``disposable-email-domains`` list when installed (the ``fraud`` extra), else empty."""
    try:
        module = importlib.import_module(_PACKAGE)
    except ImportError:
        return frozenset()
    found = getattr(module, "blocklist", ())
    return frozenset(d for d in found if isinstance(d, str))


def _domains(value: Iterable[str] | None) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Iterable):
        raise ConfigError("domains must be a list of domains", value=value, path="domains")
    out = set()
    for domain in value:
        if not isinstance(domain, str):
            raise ConfigError("domains must be strings", value=domain, path="domains")
        canonical = None
        if "@" not in domain:  # an address is not a domain, whatever its own domain is
            with contextlib.suppress(InvalidIdentity):
                canonical = email_domain(f"x@{domain}")
        if canonical is None:
            raise ConfigError(f"domains: {domain!r} is not a domain", value=domain, path="domains")
        out.add(canonical)
    return frozenset(out)


@attrs.frozen(slots=True)
class DisposableEmail:
    """Flag a referee whose email is at a throwaway domain (or a subdomain of one).

    The list is the built-in one plus ``domains``, plus the `disposable-email-domains`
    package when installed and ``use_package`` is true (``pip install
    'referralkit[fraud]'``). Reviewed by default: a throwaway address is a hint, not
    proof. Reason: ``disposable_email``.
    """

    domains: frozenset[str] = attrs.field(default=None, converter=_domains)
    use_package: bool = True
    decision: Decision = attrs.field(default=Decision.REVIEW, converter=decision)
    _blocklist: frozenset[str] = attrs.field(init=False, eq=False, repr=False)

    @_blocklist.default
    def _build(self) -> frozenset[str]:
        extra = package_domains() if self.use_package else frozenset()
        return BUILTIN_DISPOSABLE_DOMAINS | self.domains | extra

    @property
    def name(self) -> str:
        """``disposable_email``."""
        return "disposable_email"

    def is_disposable(self, domain: str) -> bool:
        """True when ``domain`` (canonical, lower-case) or a parent of it is on the list."""
        blocklist = self._blocklist
        while True:
            if domain in blocklist:
                return True
            _, dot, rest = domain.partition(".")
            if not dot or "." not in rest:
                return False
            domain = rest

    def check(self, context: GuardContext) -> Verdict:
        """Look the referee's email domain up."""
        domain = context.referee_email_domain
        if domain is None or not self.is_disposable(domain):
            return Verdict.allow()
        return verdict(self.decision, ["disposable_email"])
