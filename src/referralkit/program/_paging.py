"""Pages of a list read with a cursor: the limit and the cursor a caller passes, checked."""

from __future__ import annotations

from referralkit._validate import opt_name, positive_int
from referralkit.errors import InvalidInput
from referralkit.protocols import UnitOfWork

__all__ = ["page_cursor", "page_limit"]


def page_limit(value: object, most: int) -> int:
    """``limit`` if it is an int from 1 to ``most``."""
    limit = positive_int("limit", value)
    if limit > most:
        raise InvalidInput(f"limit must be at most {most}", value=limit, field="limit")
    return limit


def page_cursor(uow: UnitOfWork, value: object) -> str | None:
    """``after``, the id of the previous page's last referral, if the store knows it."""
    after = opt_name("after", value)
    if after is not None and uow.referrals.get(after) is None:
        raise InvalidInput(
            "after must be the referral id of the previous page's last entry",
            value=after,
            field="after",
        )
    return after
