"""Finding a typed or linked code in the store, and saying why one cannot be used.

Text is read once against every generated format the program knows (its own and its
campaigns') and as a vanity code; the store is then asked for the code it names. A
generated code's canonical form is its own key; any other text is found by its key
(`referralkit.codes.code_key`: case, spaces and dashes ignored). Text shaped like a
generated code whose check character fails is a typo, said so to the person, unless a
vanity code with that very text exists.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

import attrs

from referralkit.campaigns import Campaign
from referralkit.codes import CodeFormat, normalize_code, vanity_key
from referralkit.errors import InvalidCode, ReferralError, UnknownCode
from referralkit.model import ReferralCode
from referralkit.protocols import UnitOfWork

__all__ = ["TypedCode", "Unusable", "find_code", "read_code", "unusable"]


@attrs.frozen(slots=True)
class TypedCode:
    """What typed text can be: a generated code, a vanity code's key, a typo, or nothing.

    ``generated`` is the canonical code a format accepted; ``key`` the text's key as a
    vanity code (``exact``: the text trimmed and upper-cased, as older vanity codes were
    stored); ``typo`` the `InvalidCode` (``bad_check``) of a format whose shape the text
    has; ``error`` why the text is no code at all, for a person to read.
    """

    text: object
    generated: str | None = None
    key: str | None = None
    exact: str | None = None
    typo: InvalidCode | None = None
    error: InvalidCode | None = None

    @property
    def shown(self) -> str:
        """The text to name in a message: the canonical or trimmed form, else as typed."""
        if self.generated is not None:
            return self.generated
        if self.exact is not None:
            return self.exact
        return str(self.text)[:64]

    def missing(self) -> ReferralError:
        """The error for text the store holds no code for: a typo, unknown, or not a code."""
        if self.generated is None and self.typo is not None:
            return self.typo
        if self.generated is not None or self.key is not None:
            return UnknownCode(f"no customer owns the code {self.shown!r}", value=self.shown)
        assert self.error is not None  # noqa: S101 - read_code sets one of them
        return self.error


def read_code(text: object, formats: Sequence[CodeFormat]) -> TypedCode:
    """Read ``text`` against ``formats`` (the program's first) and as a vanity code."""
    generated: str | None = None
    typo: InvalidCode | None = None
    first: InvalidCode | None = None
    for fmt in formats:
        try:
            generated = normalize_code(text, fmt)  # type: ignore[arg-type]
        except InvalidCode as exc:  # noqa: PERF203 - one try per format is the point
            first = first or exc
            if exc.reason == "bad_check" and typo is None:
                typo = exc
        else:
            break
    try:
        key = vanity_key(text)  # type: ignore[arg-type]
    except InvalidCode as exc:
        # Too long for a vanity code: what the generated format says fits best.
        error = first if exc.reason == "wrong_length" and first is not None else exc
        return TypedCode(text, generated=generated, typo=typo, error=error)
    exact = text.strip().upper() if isinstance(text, str) else None
    return TypedCode(text, generated=generated, key=key, exact=exact, typo=typo)


def find_code(uow: UnitOfWork, typed: TypedCode) -> ReferralCode | None:
    """The stored code ``typed`` names, if any, read in ``uow``."""
    codes = uow.codes
    if typed.generated is not None:
        found = codes.get(typed.generated)
        if found is not None:
            return found
    if typed.key is None:
        return None
    if typed.exact is not None and typed.exact not in {typed.key, typed.generated}:
        found = codes.get(typed.exact)  # a code an older file keeps under its text only
        if found is not None:
            return found
    return codes.find(typed.key)


class Unusable(str, enum.Enum):
    """Why a stored code cannot be used now."""

    EXPIRED = "expired"
    USED_UP = "used_up"
    CAMPAIGN_NOT_RUNNING = "campaign_not_running"


def unusable(
    code: ReferralCode, campaign: Campaign, now: datetime, uses: int | None = None
) -> Unusable | None:
    """Why ``code`` (of ``campaign``) cannot be used at ``now``; None if it can.

    ``uses`` is how many standing referrals it has made (the uses limit is not checked
    without it).
    """
    if code.expires_at is not None and code.expires_at <= now:
        return Unusable.EXPIRED
    if not campaign.is_open(now):
        return Unusable.CAMPAIGN_NOT_RUNNING
    if code.max_uses is not None and uses is not None and uses >= code.max_uses:
        return Unusable.USED_UP
    return None
