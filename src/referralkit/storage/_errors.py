"""Errors the storage layer raises to the program (internal conflicts), and one shared check."""

from __future__ import annotations

from datetime import datetime

from referralkit.errors import StorageError

__all__ = ["MAX_INT", "CodeTaken", "require_aware", "require_storable"]

#: The largest int a SQL column holds (a signed 64-bit integer): every store refuses more.
MAX_INT = 2**63 - 1


class CodeTaken(StorageError):
    """A code text already belongs to another owner; the program draws a new one."""


def require_aware(*times: datetime | None) -> None:
    """Refuse a naive datetime with `StorageError`: no store can tell which zone it meant."""
    for value in times:
        if value is not None and value.tzinfo is None:
            raise StorageError(
                "naive datetimes cannot be stored; pass timezone-aware times", value=value
            )


def require_storable(*values: int | None) -> None:
    """Refuse an int beyond a signed 64-bit integer with `StorageError`, as SQL stores must."""
    for value in values:
        if value is not None and not -MAX_INT - 1 <= value <= MAX_INT:
            raise StorageError("a number too large for a store (at most 2**63 - 1)", value=value)
