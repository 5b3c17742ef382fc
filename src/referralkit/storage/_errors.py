"""Errors the storage layer raises to the program (internal conflicts)."""

from __future__ import annotations

from referralkit.errors import StorageError

__all__ = ["CodeTaken"]


class CodeTaken(StorageError):
    """A code text already belongs to another owner; the program draws a new one."""
