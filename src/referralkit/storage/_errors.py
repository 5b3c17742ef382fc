"""Errors the storage layer raises to the program (internal conflicts), and one shared check."""

from __future__ import annotations

from datetime import datetime

from referralkit.errors import StorageError

__all__ = ["CodeTaken", "require_aware"]


class CodeTaken(StorageError):
    """A code text already belongs to another owner; the program draws a new one."""


def require_aware(*times: datetime | None) -> None:
    """Refuse a naive datetime with `StorageError`: no store can tell which zone it meant."""
    for value in times:
        if value is not None and value.tzinfo is None:
            raise StorageError(
                "naive datetimes cannot be stored; pass timezone-aware times", value=value
            )
