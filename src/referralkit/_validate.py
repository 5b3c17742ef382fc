"""Checks on the ids and names callers pass in: one rule, one error, wherever they arrive."""

from __future__ import annotations

from referralkit.errors import InvalidInput

__all__ = ["MAX_ID", "opt_name", "require_id"]

#: The longest customer, order, referral, visitor or campaign id accepted.
MAX_ID = 200


def require_id(field: str, value: object) -> str:
    """``value`` if it is a non-empty, printable string of at most `MAX_ID` characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} must be a non-empty string", value=value, field=field)
    if len(value) > MAX_ID:
        raise InvalidInput(
            f"{field} is longer than {MAX_ID} characters", value=value[:MAX_ID], field=field
        )
    if not value.isprintable():
        raise InvalidInput(
            f"{field} contains control or unprintable characters", value=value, field=field
        )
    return value


def opt_name(field: str, value: object) -> str | None:
    """`require_id` for an optional name: None stays None."""
    return None if value is None else require_id(field, value)
