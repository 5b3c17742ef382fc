"""The SQLite store's invitations: `InvitationRepository` over two tables.

The store decides who takes a use: one conditional ``UPDATE ... SET used = used + 1
WHERE code = ? AND used < uses`` checked by its row count, a unique (code, customer) on
redemptions, and an ``INSERT ... SELECT ... WHERE`` that counts the holder's invitations
in the very statement that inserts. Nothing here reads a row to decide a later write.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from referralkit.metrics._invitations import InvitationFacts
from referralkit.model import Invitation, Redemption
from referralkit.storage._errors import CodeTaken
from referralkit.storage._sqlite_codec import decode_optional_time, decode_time, encode_time

__all__ = ["SQLiteInvitations"]

_COLUMNS = "code, holder, campaign, uses, used, created_at, expires_at"
# Over the invitations issued in [since, until); a bound None is no bound. Parameters:
# (since, since, until, until).
_FACTS = (
    "SELECT COUNT(*), COALESCE(SUM(uses), 0), COALESCE(SUM(used), 0), COUNT(DISTINCT holder)"
    " FROM invitations WHERE (? IS NULL OR created_at >= ?) AND (? IS NULL OR created_at < ?)"
)


def _invitation(row: tuple[object, ...]) -> Invitation:
    code, holder, campaign, uses, used, created_at, expires_at = row
    return Invitation(
        code=str(code),
        holder=str(holder),
        campaign=str(campaign),
        uses=int(str(uses)),
        used=int(str(used)),
        created_at=decode_time(str(created_at)),
        expires_at=decode_optional_time(None if expires_at is None else str(expires_at)),
    )


class SQLiteInvitations:
    """`referralkit.program.InvitationRepository` for `referralkit.storage.SQLiteStore`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    def add(self, invitation: Invitation, quota: int | None) -> bool:
        try:
            cur = self._c.execute(
                f"INSERT INTO invitations ({_COLUMNS}) SELECT ?, ?, ?, ?, 0, ?, ?"  # noqa: S608 - fixed text
                " WHERE ? IS NULL OR (SELECT COUNT(*) FROM invitations WHERE holder = ?) < ?",
                (
                    invitation.code,
                    invitation.holder,
                    invitation.campaign,
                    invitation.uses,
                    encode_time(invitation.created_at),
                    None if invitation.expires_at is None else encode_time(invitation.expires_at),
                    quota,
                    invitation.holder,
                    quota,
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise CodeTaken(
                f"invitation code {invitation.code!r} is already issued", value=invitation.code
            ) from exc
        return cur.rowcount == 1

    def get(self, code: str) -> Invitation | None:
        row = self._c.execute(
            f"SELECT {_COLUMNS} FROM invitations WHERE code = ?",  # noqa: S608 - fixed text
            (code,),
        ).fetchone()
        return None if row is None else _invitation(row)

    def for_holder(self, holder: str) -> list[Invitation]:
        rows = self._c.execute(
            f"SELECT {_COLUMNS} FROM invitations WHERE holder = ? ORDER BY seq",  # noqa: S608 - fixed text
            (holder,),
        )
        return [_invitation(r) for r in rows]

    def take_use(self, code: str, now: datetime) -> bool:
        cur = self._c.execute(
            "UPDATE invitations SET used = used + 1 WHERE code = ? AND used < uses"
            " AND (expires_at IS NULL OR expires_at > ?)",
            (code, encode_time(now)),
        )
        return cur.rowcount == 1

    def add_redemption(self, redemption: Redemption) -> bool:
        cur = self._c.execute(
            "INSERT INTO invitation_redemptions (code, customer, referral_id, redeemed_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (code, customer) DO NOTHING",
            (
                redemption.code,
                redemption.customer,
                redemption.referral_id,
                encode_time(redemption.redeemed_at),
            ),
        )
        return cur.rowcount == 1

    def redemption(self, code: str, customer: str) -> Redemption | None:
        row = self._c.execute(
            "SELECT code, customer, referral_id, redeemed_at FROM invitation_redemptions"
            " WHERE code = ? AND customer = ?",
            (code, customer),
        ).fetchone()
        if row is None:
            return None
        return Redemption(str(row[0]), str(row[1]), str(row[2]), decode_time(str(row[3])))

    def facts(self, since: datetime | None, until: datetime | None) -> InvitationFacts:
        start = None if since is None else encode_time(since)
        end = None if until is None else encode_time(until)
        issued, uses, redeemed, holders = self._c.execute(
            _FACTS, (start, start, end, end)
        ).fetchone()
        return InvitationFacts(issued=issued, uses=uses, redeemed=redeemed, holders=holders)
