"""Display names: what a referrer chose to show their friends, and its store contract."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Protocol, runtime_checkable

from referralkit.errors import InvalidInput
from referralkit.protocols import Capability

__all__ = ["DISPLAY_NAMES", "MAX_DISPLAY_NAME", "DisplayNameRepository", "check_display_name"]

#: The longest display name, in characters.
MAX_DISPLAY_NAME = 40
_DIGITS = re.compile(r"\d[\d\s().+-]{5,}\d")


def check_display_name(value: object) -> str:
    """``value`` stripped, if it can be shown to friends: a name, not an email or a phone.

    Raises `InvalidInput` (``field="display_name"``) for an empty or too long name, one
    with control characters, an ``@`` (an email or a handle that is one), or seven or
    more digits in a row (a phone number).
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(
            "display_name must be a non-empty string", value=value, field="display_name"
        )
    name = " ".join(value.split())
    if len(name) > MAX_DISPLAY_NAME:
        raise InvalidInput(
            f"display_name is longer than {MAX_DISPLAY_NAME} characters",
            value=name[:MAX_DISPLAY_NAME],
            field="display_name",
        )
    if not name.isprintable():
        raise InvalidInput(
            "display_name contains control characters", value=name, field="display_name"
        )
    if "@" in name or _DIGITS.search(name):
        raise InvalidInput(
            "display_name must not be an email address or a phone number: friends see it",
            value=name,
            field="display_name",
        )
    return name


@runtime_checkable
class DisplayNameRepository(Protocol):
    """Each customer's display name; setting one replaces the last, None removes it."""

    def put(self, customer_id: str, name: str | None, at: datetime) -> None:
        """Set (or with None, remove) the customer's display name."""
        ...

    def get(self, customer_id: str) -> str | None:
        """The customer's display name, if set."""
        ...


#: Display names (`DisplayNameRepository` as ``uow.display_names``).
DISPLAY_NAMES: Capability[DisplayNameRepository] = Capability(
    "display names", "display_names", DisplayNameRepository
)
