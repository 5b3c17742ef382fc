"""Checking a typed code for a sign-up page, and who owns a code: reads, never writes."""

from __future__ import annotations

from referralkit.errors import InvalidCode, InvalidInput, UnknownCode
from referralkit.model import CheckReason, CodeCheck
from referralkit.program._core import ProgramCore
from referralkit.program._lookup import Unusable, find_code, unusable

__all__ = ["check_code", "owner_of"]

#: What the person who typed the code reads, by reason.
MESSAGES = {
    None: "This code works: welcome!",
    CheckReason.UNKNOWN: "We don't know this code: please check it and try again.",
    CheckReason.EXPIRED: "This code has expired.",
    CheckReason.USED_UP: "This code has been used as many times as it can be.",
    CheckReason.CAMPAIGN_NOT_RUNNING: "The offer this code belongs to is not running now.",
}
_BY_UNUSABLE = {
    Unusable.EXPIRED: CheckReason.EXPIRED,
    Unusable.USED_UP: CheckReason.USED_UP,
    Unusable.CAMPAIGN_NOT_RUNNING: CheckReason.CAMPAIGN_NOT_RUNNING,
}


def _text(code: object) -> str:
    if not isinstance(code, str):
        raise InvalidInput("code must be a string (the text typed)", value=code, field="code")
    return code


def check_code(core: ProgramCore, text: str) -> CodeCheck:
    """`referralkit.ReferralProgram.check_code`."""
    typed = core.read_code(_text(text))
    now = core.now()
    with core.transaction() as uow:
        found = find_code(uow, typed)
        uses = None
        if found is not None and found.max_uses is not None:
            uses = uow.referrals.count_for_code(found.code)
    if found is None:
        error = typed.missing()
        if isinstance(error, UnknownCode):
            unknown = CheckReason.UNKNOWN
            return CodeCheck(typed.shown, usable=False, reason=unknown, message=MESSAGES[unknown])
        assert isinstance(error, InvalidCode)  # noqa: S101 - missing() gives one of the two
        bad = CheckReason.TYPO if error.reason == "bad_check" else CheckReason.INVALID
        return CodeCheck(None, usable=False, reason=bad, message=error.message)
    why = unusable(found, core.stored_campaign(found.campaign), now, uses)
    reason = None if why is None else _BY_UNUSABLE[why]
    return CodeCheck(found.code, usable=why is None, reason=reason, message=MESSAGES[reason])


def owner_of(core: ProgramCore, code: str) -> str | None:
    """`referralkit.ReferralProgram.owner_of`."""
    typed = core.read_code(_text(code))
    with core.transaction() as uow:
        found = find_code(uow, typed)
    if found is not None:
        return found.owner
    error = typed.missing()
    if isinstance(error, UnknownCode):
        return None
    raise error
