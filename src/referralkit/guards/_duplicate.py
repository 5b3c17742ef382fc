"""`DuplicateReferee`: a referee who is not new, under this id or another."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from referralkit.context import Decision, GuardContext, Verdict
from referralkit.errors import ConfigError
from referralkit.guards._base import kinds, verdict
from referralkit.guards._structural import ALREADY_REFERRED

__all__ = ["PERSONAL_KINDS", "DuplicateReferee"]

#: The kinds looked up among other customers: those that name one person (addresses
#: and networks are shared by design).
PERSONAL_KINDS = ("email", "phone", "payment", "device")


def _personal(value: Iterable[str]) -> tuple[str, ...]:
    found = kinds(value)
    for kind in found:
        if kind not in PERSONAL_KINDS:
            raise ConfigError(
                f"DuplicateReferee compares {', '.join(PERSONAL_KINDS)}, not {kind!r}",
                value=kind,
            )
    return found


@attrs.frozen(slots=True)
class DuplicateReferee:
    """Refuse a referee who was already referred, is already a customer, or is one in disguise.

    Blocks a referee already referred (``duplicate_referee.already_referred``, the only
    reason then: the first valid attribution wins), flagged by the host
    (``existing_customer=True``: ``duplicate_referee.existing_customer``) or with orders
    on record (``duplicate_referee.has_orders``). A referee whose signals another
    customer (not the referrer) already carries is an existing customer under a new
    account: ``block_on`` kinds block, ``review_on`` kinds review
    (``duplicate_referee.<kind>``).
    """

    block_on: tuple[str, ...] = attrs.field(default=("email", "phone"), converter=_personal)
    review_on: tuple[str, ...] = attrs.field(default=("payment", "device"), converter=_personal)

    @property
    def name(self) -> str:
        """``duplicate_referee``."""
        return "duplicate_referee"

    @property
    def needs(self) -> tuple[str, ...]:
        """The history it reads: other customers carrying the referee's signals."""
        return ("lookalikes",)

    def check(self, context: GuardContext) -> Verdict:
        """Judge whether the referee is new to the shop."""
        history = context.history
        if history.referee_referred_by is not None:
            # A standing referral is the whole story: the first valid attribution wins.
            return verdict(Decision.BLOCK, [ALREADY_REFERRED])
        reasons = []
        if context.existing_customer:
            reasons.append("duplicate_referee.existing_customer")
        if history.referee_is_customer:
            reasons.append("duplicate_referee.has_orders")
        known = history.referee_known_kinds
        blocked = [k for k in self.block_on if k in known]
        reasons += [f"duplicate_referee.{k}" for k in blocked]
        block = bool(reasons)
        reasons += [
            f"duplicate_referee.{k}" for k in self.review_on if k in known and k not in blocked
        ]
        return verdict(Decision.BLOCK if block else Decision.REVIEW, reasons)
