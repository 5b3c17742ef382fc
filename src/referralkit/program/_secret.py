"""The secret check: a program refuses a store that was keyed with another secret.

Everything a program stores about people is keyed by its secret (identity hashes,
visitor keys) and every link it signs too, so a program started with another secret
(``secrets.token_bytes(32)`` run at every start, say) silently matches nothing. The
first program on a store records a check value of its secret there (an HMAC of a fixed
label, which reveals nothing of the secret), and each later one must hold that secret,
as ``secret`` or among ``previous_secrets``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime

from referralkit.errors import ConfigError
from referralkit.protocols import META, UnitOfWork

__all__ = ["SECRET_CHECK", "check_secret", "secret_check"]

#: The name the check value is stored under (`referralkit.protocols.MetaRepository`).
SECRET_CHECK = "secret_check"  # noqa: S105 - a name, not a secret
_LABEL = b"referralkit/secret-check/v1"


def secret_check(secret: bytes) -> str:
    """The check value of ``secret``: ``v1:`` and an HMAC-SHA256 of a fixed label."""
    return "v1:" + hmac.new(secret, _LABEL, hashlib.sha256).hexdigest()


def check_secret(
    uow: UnitOfWork, store: object, secret: bytes, previous: Sequence[bytes], now: datetime
) -> None:
    """Record the secret's check value on a new store; refuse a store keyed otherwise.

    A store keyed with one of ``previous`` is a rotation: from now on it is keyed with
    ``secret``. A store without metadata (`referralkit.protocols.META`) is not checked.

    Raises:
        ConfigError: the store was keyed with a secret that is neither ``secret`` nor
            one of ``previous``.
    """
    if META.missing(uow):
        return
    meta = META.repository(uow, store=store)
    mine = secret_check(secret)
    stored = meta.add(SECRET_CHECK, mine, now)
    if hmac.compare_digest(stored, mine):
        return
    if any(hmac.compare_digest(stored, secret_check(old)) for old in previous):
        meta.put(SECRET_CHECK, mine, now)
        return
    raise ConfigError(
        "this store is keyed with another secret: the program's secret is neither that"
        " one nor in previous_secrets, so it would match none of the stored identities,"
        " visitors or links. Load the secret the store was first used with (from the"
        " environment or a secret manager; never make one at start, as"
        " secrets.token_bytes(32) in an app does on every run); to rotate it, pass the"
        " new secret with the old one in previous_secrets",
        path="secret",
    )
