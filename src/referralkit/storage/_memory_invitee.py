"""The memory store's display names and spent claim tokens: their own tables."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from referralkit.storage._errors import require_aware

__all__ = ["InviteeTables", "MemoryClaims", "MemoryDisplayNames"]

_Undo = Callable[[], object]


class InviteeTables:
    """Display names by customer; claim tokens spent, by token id -> customer."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.claims: dict[str, str] = {}


class MemoryDisplayNames:
    """`referralkit.invitee.DisplayNameRepository` over `InviteeTables`."""

    def __init__(self, tables: InviteeTables, undo: list[_Undo]) -> None:
        self._t = tables
        self._undo = undo

    def put(self, customer_id: str, name: str | None, at: datetime) -> None:
        require_aware(at)
        names = self._t.names
        old = names.get(customer_id)
        if name is None:
            names.pop(customer_id, None)
        else:
            names[customer_id] = name
        if old is None:
            self._undo.append(lambda: names.pop(customer_id, None))
        else:
            self._undo.append(lambda: names.__setitem__(customer_id, old))

    def get(self, customer_id: str) -> str | None:
        return self._t.names.get(customer_id)


class MemoryClaims:
    """`referralkit.invitee.ClaimRepository` over `InviteeTables`."""

    def __init__(self, tables: InviteeTables, undo: list[_Undo]) -> None:
        self._t = tables
        self._undo = undo

    def add(self, token_id: str, customer_id: str, at: datetime) -> tuple[str, bool]:
        require_aware(at)
        claims = self._t.claims
        spent = claims.get(token_id)
        if spent is not None:
            return spent, False
        claims[token_id] = customer_id
        self._undo.append(lambda: claims.pop(token_id))
        return customer_id, True
