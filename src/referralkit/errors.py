"""Every exception referralkit raises, under one root.

```
ReferralError
├── InvalidInput            a method argument failed validation at the boundary
│   ├── InvalidMoney        an amount that is not a Decimal/str/int, or not finite
│   │   └── MoneyTypeError  Money ordered, added or multiplied with a non-Money (also a TypeError)
│   ├── UnknownCurrency     not an ISO-4217 code
│   ├── InvalidIdentity     an identity signal that cannot be normalised
│   ├── IdempotencyConflict a key seen before, sent again with other values
│   └── PartnerCodeRefused  a code typed at checkout that names no active partner (.reason)
├── CurrencyMismatch        arithmetic or comparison across two currencies
├── InvalidCode             text that is not a well-formed code (reason in .reason)
├── UnknownCode             a well-formed code that no one owns
├── CodeExpired             a code past its expiry, or out of uses
│   └── InvitationUsedUp    an invitation whose every use is taken
├── InvalidLink             a referral link that cannot be trusted or read
│   ├── InvalidLinkInput    a build_link/share_links argument (also an InvalidInput: .field)
│   ├── LinkTampered        signature missing or wrong, or the link moved to another base
│   └── LinkExpired         signed expiry in the past
├── ConfigError             a program, format or plugin configured wrongly
├── NotFound                an id the store does not know
│   ├── UnknownOrder
│   ├── UnknownReferral
│   ├── UnknownGroup        no group-buy has this code or id
│   └── UnknownPartner      no partner (or partner group, or post) has this id
├── InvalidState            an operation not allowed in the object's current state
│   ├── GroupClosed         joining a group that is full, expired, completed or cancelled
│   ├── InvitationQuotaReached  a holder who has issued every invitation they may
│   └── InvitationRequired  a sign-up without an invitation while the launch needs one
└── StorageError            the storage backend failed (the backend error is __cause__)
    ├── SchemaVersionError  the database was written by a newer referralkit, or is behind
    └── RetryableStorageError  a transient failure (connection lost, timeout, deadlock):
                               nothing was written, and the same call may succeed again
```

Each exception carries the value at fault in ``.value`` so a host can log it or
show it; the message says what to do about it.

Warnings are not errors: `ReferralWarning` (a `UserWarning`) is the root of what
referralkit warns about, issued once with `warnings.warn`:

```
ReferralWarning
└── SharedNetworkWarning    most recent attributions came from one network (a proxy's address?)
```
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CodeExpired",
    "ConfigError",
    "CurrencyMismatch",
    "GroupClosed",
    "IdempotencyConflict",
    "InvalidCode",
    "InvalidIdentity",
    "InvalidInput",
    "InvalidLink",
    "InvalidLinkInput",
    "InvalidMoney",
    "InvalidState",
    "InvitationQuotaReached",
    "InvitationRequired",
    "InvitationUsedUp",
    "LinkExpired",
    "LinkTampered",
    "MoneyTypeError",
    "NotFound",
    "PartnerCodeRefused",
    "ReferralError",
    "ReferralWarning",
    "RetryableStorageError",
    "SchemaVersionError",
    "SharedNetworkWarning",
    "StorageError",
    "UnknownCode",
    "UnknownCurrency",
    "UnknownGroup",
    "UnknownOrder",
    "UnknownPartner",
    "UnknownReferral",
]


class ReferralError(Exception):
    """Root of every referralkit error; ``.value`` is the offending value."""

    def __init__(self, message: str, *, value: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.value = value

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep errors picklable across processes (multiprocessing workers).
        return (_rebuild, (type(self), self.message, self.value, self.__dict__))


def _rebuild(
    cls: type[ReferralError], message: str, value: Any, state: dict[str, Any]
) -> ReferralError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    err.message = message
    err.value = value
    return err


class InvalidInput(ReferralError):
    """A method argument failed validation; ``.field`` names it when known."""

    def __init__(self, message: str, *, value: Any = None, field: str | None = None) -> None:
        super().__init__(message, value=value)
        self.field = field


class InvalidMoney(InvalidInput):
    """An amount that cannot be money: a float, NaN, infinity or unparsable text."""


class MoneyTypeError(InvalidMoney, TypeError):
    """`Money` met a value that is not `Money` in an ordering or arithmetic operation.

    Also a `TypeError`, as Python's data model asks of ordering unrelated types, so
    ``except TypeError`` and ``sorted()``'s own error handling keep working.
    """


class UnknownCurrency(InvalidInput):
    """A currency that is not an active ISO-4217 code."""


class InvalidIdentity(InvalidInput):
    """An identity signal (email, phone, IP, ...) that cannot be normalised."""


class IdempotencyConflict(InvalidInput):
    """An idempotency key (order id, refund id, payout id) came back with other values.

    An exact replay changes nothing and returns the first result; a replay that differs
    is refused, and ``.field`` names the first field that differs.
    """


class PartnerCodeRefused(InvalidInput):
    """A code typed at checkout that cannot attribute the order to a partner.

    ``.field`` is ``"code"``; ``.reason`` one of ``unknown`` (nobody owns it), ``invalid``
    (not a code), ``not_partner`` (a customer's code), ``banned`` (the partner is banned:
    their codes are disabled), ``ended`` (the partnership ended), ``paused`` or
    ``not_approved``.
    """

    def __init__(self, message: str, *, value: Any = None, reason: str = "") -> None:
        super().__init__(message, value=value, field="code")
        self.reason = reason


class CurrencyMismatch(ReferralError):
    """Two amounts in different currencies met in one operation."""


class InvalidCode(ReferralError):
    """Text that is not a well-formed referral code.

    ``.reason`` is one of ``empty``, ``too_long``, ``bad_character``,
    ``wrong_length``, ``bad_check``, ``bad_prefix``, ``blocked``.
    """

    def __init__(self, message: str, *, value: Any = None, reason: str = "invalid") -> None:
        super().__init__(message, value=value)
        self.reason = reason


class UnknownCode(ReferralError):
    """A well-formed code that is not issued by this program.

    ``.field`` names the argument that carried it, when known (``"code"``).
    """

    def __init__(self, message: str, *, value: Any = None, field: str | None = None) -> None:
        super().__init__(message, value=value)
        self.field = field


class CodeExpired(ReferralError):
    """A code past its expiry time or its maximum number of uses.

    ``.field`` names the argument that carried it, when known (``"code"``).
    """

    def __init__(self, message: str, *, value: Any = None, field: str | None = None) -> None:
        super().__init__(message, value=value)
        self.field = field


class InvitationUsedUp(CodeExpired):
    """An invitation whose every use is taken; ``.value`` is its code, ``.field`` ``"code"``."""

    def __init__(self, message: str, *, value: Any = None, field: str | None = "code") -> None:
        super().__init__(message, value=value, field=field)


class InvalidLink(ReferralError):
    """A referral link that is malformed, unsigned where a signature is required, or bad."""


class InvalidLinkInput(InvalidInput, InvalidLink):
    """An argument that cannot go into a link: a bad base, channel, expiry, UTM, message.

    Both an `InvalidInput` (``.field`` names the argument) and an `InvalidLink`, which is
    what `referralkit.build_link` raised for such arguments before it named the field.
    """


class LinkTampered(InvalidLink):
    """The link's signature is missing or does not match its fields or its base."""


class LinkExpired(InvalidLink):
    """The link's signed expiry time has passed."""


class ConfigError(ReferralError):
    """A configuration error; ``.path`` points at the field (``campaigns.0.policy``)."""

    def __init__(self, message: str, *, value: Any = None, path: str | None = None) -> None:
        super().__init__(message, value=value)
        self.path = path


class NotFound(ReferralError):
    """An identifier the store does not know."""


class UnknownOrder(NotFound):
    """No conversion was recorded under this order id."""


class UnknownReferral(NotFound):
    """No referral exists with this id."""


class InvalidState(ReferralError):
    """The operation is not allowed in the object's current state."""


class UnknownGroup(NotFound):
    """No group-buy has this code or id."""


class UnknownPartner(NotFound):
    """No partner, partner group or partner post has this id."""


class GroupClosed(InvalidState):
    """A group-buy that cannot be joined now: full, expired, completed or cancelled.

    ``.reason`` is one of those four words; ``.value`` is the group's code.
    """

    def __init__(self, message: str, *, value: Any = None, reason: str = "") -> None:
        super().__init__(message, value=value)
        self.reason = reason


class InvitationQuotaReached(InvalidState):
    """A holder has issued as many invitations as their quota allows.

    ``.value`` is the holder, ``.field`` ``"holder"``, ``.quota`` the quota.
    """

    def __init__(
        self, message: str, *, value: Any = None, field: str = "holder", quota: int = 0
    ) -> None:
        super().__init__(message, value=value)
        self.field = field
        self.quota = quota


class InvitationRequired(InvalidState):
    """A sign-up by code, link or claim while the launch is invitation-only.

    ``.value`` is the referee, ``.field`` ``"code"``: the way in is
    `referralkit.ReferralProgram.invitations` ``.redeem``.
    """

    def __init__(self, message: str, *, value: Any = None, field: str = "code") -> None:
        super().__init__(message, value=value)
        self.field = field


class StorageError(ReferralError):
    """The storage backend failed; the backend's own exception is ``__cause__``.

    ``retryable`` says whether the same call may succeed if made again: true only for a
    `RetryableStorageError`.
    """

    retryable: bool = False


class SchemaVersionError(StorageError):
    """The database schema is not the one this version of referralkit understands.

    Newer than it knows (upgrade referralkit), or behind it (run the migrations).
    """


class RetryableStorageError(StorageError):
    """A transient backend failure: the connection was lost, a timeout or a deadlock.

    The unit of work it ended was rolled back, so nothing of it was written; calling the
    same program method again (every write is idempotent) may succeed.
    """

    retryable = True


class ReferralWarning(UserWarning):
    """Root of referralkit's warnings: something works, but probably not as intended."""


class SharedNetworkWarning(ReferralWarning):
    """Most recent attributions share one network: is ``ip=`` a proxy's address?

    Issued once per program when more than half of its last 50 attributions (at least
    20) carry the same network signal; see the *Behind a proxy* how-to.
    """
