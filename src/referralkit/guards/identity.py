"""Identity signals: normalise what a host knows about a person, then keep only keyed hashes.

Two people are "the same" for fraud checks when a normalised signal matches. The
program never stores the signal itself: it stores ``BLAKE2b(key=program secret)`` of
``kind + ":" + normalised value``, so a leaked database reveals no email or phone,
and nobody without the secret can test a guess against it.

Key rotation: `SignalHasher` hashes for storage under the current secret only, and
for matching under the current and every previous secret, so signals stored before
a rotation still match.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs

from referralkit.context import Signal
from referralkit.errors import ConfigError, InvalidIdentity
from referralkit.guards._address import (
    ADDRESS_ABBREVIATIONS,
    check_abbreviations,
    normalize_address,
)
from referralkit.guards._email import DEFAULT_EMAIL_RULES, EmailRules, email_domain
from referralkit.guards._email import normalize_email as normalize_email  # noqa: PLC0414 - re-exported
from referralkit.guards._network import normalize_ip
from referralkit.guards._phone import PHONE_REGIONS, PhoneRegion, normalize_phone
from referralkit.model import Identity

__all__ = [
    "SIGNAL_KINDS",
    "IdentityNormalizer",
    "SignalHasher",
    "identity_signals",
    "normalize_device",
    "normalize_payment",
]

#: Signal kinds, in the order they appear in reason codes.
SIGNAL_KINDS = ("email", "phone", "device", "payment", "address", "ip", "network")

_MIN_SECRET = 32
_MAX_TOKEN = 512
_CARD_CHARS = frozenset("0123456789 -")


def _token(value: str, field: str) -> str:
    raw: object = value
    if not isinstance(raw, str):
        raise InvalidIdentity(
            f"a {field} is a string, not {type(raw).__name__}", value=raw, field=field
        )
    text = unicodedata.normalize("NFC", value.strip())
    if len(text) > _MAX_TOKEN or not text.isprintable():
        raise InvalidIdentity(
            f"{field} must be printable and at most {_MAX_TOKEN} characters",
            value=value[:_MAX_TOKEN],
            field=field,
        )
    return text


def normalize_device(device_id: str) -> str:
    """A device id as given, trimmed; UUIDs in any case or bracing give their canonical form."""
    text = _token(device_id, "device_id")
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return text


def normalize_payment(fingerprint: str) -> str:
    """A payment processor's card fingerprint, trimmed (it is case-sensitive).

    Digits grouped with spaces or dashes are one value: ``4242 4242`` is ``42424242``.
    """
    text = _token(fingerprint, "payment_fingerprint")
    if set(text) <= _CARD_CHARS:
        text = text.replace(" ", "").replace("-", "") or text
    return text


@attrs.frozen(slots=True)
class IdentityNormalizer:
    """How the program normalises an `Identity` before hashing: email rules, phone region.

    ``phone_region`` reads national phone numbers (``020 7946 0000``); ``phone_strict``
    also refuses numbers that cannot exist (needs ``referralkit[phone]``) and never
    changes what a valid number hashes to.
    """

    email_rules: EmailRules = DEFAULT_EMAIL_RULES
    phone_region: str = "US"
    phone_regions: Mapping[str, PhoneRegion] = PHONE_REGIONS
    phone_strict: bool = False
    abbreviations: Mapping[str, str] = ADDRESS_ABBREVIATIONS

    def __attrs_post_init__(self) -> None:
        rules: object = self.email_rules
        if not isinstance(rules, EmailRules):
            raise ConfigError(
                f"email_rules must be EmailRules (e.g. DEFAULT_EMAIL_RULES.extend(...)),"
                f" not {rules!r}",
                value=rules,
                path="email_rules",
            )
        regions: object = self.phone_regions
        if not isinstance(regions, Mapping) or not all(
            isinstance(r, PhoneRegion) for r in regions.values()
        ):
            raise ConfigError(
                "phone_regions must map region codes to PhoneRegion",
                value=regions,
                path="phone_regions",
            )
        region: object = self.phone_region
        if not isinstance(region, str) or region.upper() not in self.phone_regions:
            raise ConfigError(
                f"no phone region {self.phone_region!r}; known:"
                f" {', '.join(sorted(self.phone_regions))}",
                value=self.phone_region,
                path="phone_region",
            )
        check_abbreviations(self.abbreviations)

    def pairs(self, identity: Identity) -> list[tuple[str, str]]:
        """``(kind, normalised value)`` for every signal the identity carries.

        Blank values count as absent; a value that cannot be normalised raises
        `InvalidIdentity` naming the field.
        """
        out: list[tuple[str, str]] = []
        if identity.email and identity.email.strip():
            out.append(("email", normalize_email(identity.email, self.email_rules)))
        if identity.phone and identity.phone.strip():
            phone = normalize_phone(
                identity.phone,
                self.phone_region,
                regions=self.phone_regions,
                strict=self.phone_strict,
            )
            out.append(("phone", phone))
        if identity.device_id and identity.device_id.strip():
            out.append(("device", normalize_device(identity.device_id)))
        if identity.payment_fingerprint and identity.payment_fingerprint.strip():
            out.append(("payment", normalize_payment(identity.payment_fingerprint)))
        if identity.address and identity.address.strip():
            out.append(("address", normalize_address(identity.address, self.abbreviations)))
        if identity.ip and identity.ip.strip():
            address, network = normalize_ip(identity.ip)
            out += [("ip", address), ("network", network)]
        return out

    def email_domain(self, identity: Identity | None) -> str | None:
        """The canonical domain of the identity's email, if it has one."""
        if identity is None or not identity.email or not identity.email.strip():
            return None
        return email_domain(identity.email, self.email_rules)


def _derive(secret: bytes) -> bytes:
    return hmac.new(secret, b"referralkit/identity/v1", hashlib.sha256).digest()


class SignalHasher:
    """Keyed BLAKE2b over normalised signals, keyed by the program secret.

    ``previous`` lists older secrets still accepted while signals stored under them
    matter: `hash_pairs` stores under the current key only, `match_pairs` hashes under
    every key so that old and new digests both match.
    """

    def __init__(self, secret: bytes, previous: Sequence[bytes] = ()) -> None:
        current: object = secret
        if not isinstance(current, bytes) or len(current) < _MIN_SECRET:
            raise ConfigError(
                "secret must be at least 32 random bytes (e.g. secrets.token_bytes(32))",
                path="secret",
            )
        raw: object = previous
        if isinstance(raw, bytes) or not all(
            isinstance(p, bytes) and len(p) >= _MIN_SECRET for p in previous
        ):
            raise ConfigError(
                "previous_secrets must be a list of older secrets of at least 32 bytes each",
                path="previous_secrets",
            )
        self._key = _derive(secret)
        self._previous = tuple(_derive(p) for p in previous if p != secret)

    @staticmethod
    def _hash(key: bytes, kind: str, value: str) -> str:
        data = f"{kind}:{value}".encode()
        return hashlib.blake2b(data, key=key, digest_size=16).hexdigest()

    def digest(self, kind: str, value: str) -> str:
        """The stored form of one normalised signal."""
        return self._hash(self._key, kind, value)

    def hash_pairs(self, pairs: Iterable[tuple[str, str]]) -> frozenset[Signal]:
        """Hash already-normalised (kind, value) pairs under the current key."""
        return frozenset((kind, self.digest(kind, value)) for kind, value in pairs)

    def match_pairs(self, pairs: Iterable[tuple[str, str]]) -> frozenset[Signal]:
        """Hash pairs under the current and every previous key, for matching stored signals."""
        pairs = list(pairs)
        found = set(self.hash_pairs(pairs))
        for key in self._previous:
            found.update((kind, self._hash(key, kind, value)) for kind, value in pairs)
        return frozenset(found)

    @property
    def rotating(self) -> bool:
        """True while a previous secret is still accepted."""
        return bool(self._previous)


def identity_signals(
    identity: Identity | None,
    hasher: SignalHasher,
    normalize: Callable[[Identity], list[tuple[str, str]]] = IdentityNormalizer().pairs,
    *,
    match: bool = False,
) -> frozenset[Signal]:
    """The keyed hashes of every signal in ``identity`` (empty for None).

    ``match=True`` hashes under previous secrets too, for comparing with stored signals.
    """
    if identity is None:
        return frozenset()
    raw: object = identity
    if not isinstance(raw, Identity):
        raise InvalidIdentity(
            f"identity must be an Identity, not {type(raw).__name__}", value=raw, field="identity"
        )
    pairs = normalize(identity)
    return hasher.match_pairs(pairs) if match else hasher.hash_pairs(pairs)
