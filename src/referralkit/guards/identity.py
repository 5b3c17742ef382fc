"""Identity signals: normalise what a host knows about a person, then keep only keyed hashes.

Two people are "the same" for fraud checks when a normalised signal matches. The
program never stores the signal itself: it stores ``BLAKE2b(key=program secret)`` of
``kind + ":" + normalised value``, so a leaked database reveals no email or phone.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable

from referralkit.context import Signal
from referralkit.model import Identity

__all__ = ["SignalHasher", "identity_signals", "normalize_email"]

#: Signal kinds, in the order they appear in reason codes.
SIGNAL_KINDS = ("email", "phone", "device", "payment", "address", "ip", "network")


def normalize_email(email: str) -> str:
    """Lower-case and trim; the fraud guards refine this with provider rules."""
    return email.strip().lower()


def _simple(value: str) -> str:
    return " ".join(value.split()).lower()


def _normalized(identity: Identity) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if identity.email:
        pairs.append(("email", normalize_email(identity.email)))
    if identity.phone:
        pairs.append(("phone", "".join(ch for ch in identity.phone if ch.isdigit() or ch == "+")))
    if identity.device_id:
        pairs.append(("device", identity.device_id.strip()))
    if identity.payment_fingerprint:
        pairs.append(("payment", identity.payment_fingerprint.strip()))
    if identity.address:
        pairs.append(("address", _simple(identity.address)))
    if identity.ip:
        pairs.append(("ip", identity.ip.strip()))
    return [(k, v) for k, v in pairs if v]


class SignalHasher:
    """Keyed BLAKE2b over normalised signals; the key is derived from the program secret."""

    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, b"referralkit/identity/v1", hashlib.sha256).digest()

    def digest(self, kind: str, value: str) -> str:
        """The stored form of one normalised signal."""
        data = f"{kind}:{value}".encode()
        return hashlib.blake2b(data, key=self._key, digest_size=16).hexdigest()

    def hash_pairs(self, pairs: Iterable[tuple[str, str]]) -> frozenset[Signal]:
        """Hash already-normalised (kind, value) pairs."""
        return frozenset((kind, self.digest(kind, value)) for kind, value in pairs)


def identity_signals(
    identity: Identity | None,
    hasher: SignalHasher,
    normalize: Callable[[Identity], list[tuple[str, str]]] = _normalized,
) -> frozenset[Signal]:
    """The keyed hashes of every signal in ``identity`` (empty for None)."""
    if identity is None:
        return frozenset()
    return hasher.hash_pairs(normalize(identity))
