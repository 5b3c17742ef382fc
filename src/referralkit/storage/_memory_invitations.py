"""The memory store's invitations: `InvitationRepository` over plain dicts.

Units of work run one at a time under the store's lock, so a check and its write inside
one method are one atomic step, as a conditional ``UPDATE`` is in SQL. Each write records
how to undo itself, like every other memory table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

import attrs

from referralkit.metrics._invitations import InvitationFacts
from referralkit.model import Invitation, Redemption
from referralkit.storage._errors import CodeTaken, require_aware

__all__ = ["MemoryInvitationTables", "MemoryInvitations"]

_Undo = Callable[[], object]


class MemoryInvitationTables:
    """The rows: invitations by code, their holders' codes, redemptions by (code, customer)."""

    def __init__(self) -> None:
        self.invitations: dict[str, Invitation] = {}
        self.of_holder: dict[str, list[str]] = defaultdict(list)
        self.redemptions: dict[tuple[str, str], Redemption] = {}


class MemoryInvitations:
    """`referralkit.program.InvitationRepository` for `referralkit.storage.MemoryStore`."""

    def __init__(self, tables: MemoryInvitationTables, undo: list[_Undo]) -> None:
        self._t = tables
        self._undo = undo

    def add(self, invitation: Invitation, quota: int | None) -> bool:
        require_aware(invitation.created_at)
        t = self._t
        if invitation.code in t.invitations:
            raise CodeTaken(
                f"invitation code {invitation.code!r} is already issued", value=invitation.code
            )
        mine = t.of_holder[invitation.holder]
        if quota is not None and len(mine) >= quota:
            return False
        t.invitations[invitation.code] = invitation
        mine.append(invitation.code)

        def undo() -> None:
            del t.invitations[invitation.code]
            mine.pop()

        self._undo.append(undo)
        return True

    def get(self, code: str) -> Invitation | None:
        return self._t.invitations.get(code)

    def for_holder(self, holder: str) -> list[Invitation]:
        return [self._t.invitations[c] for c in self._t.of_holder.get(holder, ())]

    def take_use(self, code: str, now: datetime) -> bool:
        require_aware(now)
        t = self._t
        found = t.invitations.get(code)
        if found is None or found.used >= found.uses:
            return False
        if found.expires_at is not None and found.expires_at <= now:
            return False
        t.invitations[code] = attrs.evolve(found, used=found.used + 1)
        self._undo.append(lambda: t.invitations.__setitem__(code, found))
        return True

    def add_redemption(self, redemption: Redemption) -> bool:
        require_aware(redemption.redeemed_at)
        key = (redemption.code, redemption.customer)
        t = self._t
        if key in t.redemptions:
            return False
        t.redemptions[key] = redemption
        self._undo.append(lambda: t.redemptions.pop(key))
        return True

    def redemption(self, code: str, customer: str) -> Redemption | None:
        return self._t.redemptions.get((code, customer))

    def facts(self, since: datetime | None, until: datetime | None) -> InvitationFacts:
        found = [
            i
            for i in self._t.invitations.values()
            if (since is None or i.created_at >= since) and (until is None or i.created_at < until)
        ]
        return InvitationFacts(
            issued=len(found),
            uses=sum(i.uses for i in found),
            redeemed=sum(i.used for i in found),
            holders=len({i.holder for i in found}),
        )
