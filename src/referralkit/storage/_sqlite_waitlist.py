"""The SQLite store's waitlist: `WaitlistRepository` over one table.

The insert assigns the join sequence (``seq``, autoincrement) and keeps one entry per
member; a referrer's count grows by ``UPDATE ... SET referred = referred + 1``; positions
are one ``COUNT(*)`` over the score; admission is ``UPDATE ... WHERE state = 'waiting'``
checked by its row count. Nothing here reads a row to decide a later write.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from referralkit.metrics._waitlist import WaitlistFacts
from referralkit.model import WaitlistEntry, WaitlistState
from referralkit.storage._errors import CodeTaken
from referralkit.storage._sqlite_codec import decode_optional_time, decode_time, encode_time

__all__ = ["SQLiteWaitlist"]

_COLUMNS = "member, code, campaign, seq, joined_at, state, referred_by, referred, admitted_at"
# The waiting entries ranked ahead of the member's: a lower score, or the same and earlier.
_POSITION = (
    "SELECT 1 + COUNT(*) FROM waitlist w, waitlist me WHERE me.member = ?"
    " AND me.state = 'waiting' AND w.state = 'waiting'"
    " AND (w.seq - ? * w.referred < me.seq - ? * me.referred"
    " OR (w.seq - ? * w.referred = me.seq - ? * me.referred AND w.seq < me.seq))"
)
_FACTS = (
    "SELECT COUNT(*), COALESCE(SUM(state = 'waiting'), 0), COALESCE(SUM(state = 'admitted'), 0),"
    " COALESCE(SUM(referred), 0) FROM waitlist"
)


def _entry(row: tuple[object, ...]) -> WaitlistEntry:
    member, code, campaign, seq, joined_at, state, referred_by, referred, admitted_at = row
    return WaitlistEntry(
        member=str(member),
        code=str(code),
        campaign=str(campaign),
        seq=int(str(seq)),
        joined_at=decode_time(str(joined_at)),
        state=WaitlistState(state),
        referred_by=None if referred_by is None else str(referred_by),
        referred=int(str(referred)),
        admitted_at=decode_optional_time(None if admitted_at is None else str(admitted_at)),
    )


class SQLiteWaitlist:
    """`referralkit.program.WaitlistRepository` for `referralkit.storage.SQLiteStore`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    def _one(self, where: str, arg: str) -> WaitlistEntry | None:
        row = self._c.execute(
            f"SELECT {_COLUMNS} FROM waitlist WHERE {where} = ?",  # noqa: S608 - fixed text
            (arg,),
        ).fetchone()
        return None if row is None else _entry(row)

    def add(self, entry: WaitlistEntry) -> tuple[WaitlistEntry, bool]:
        cur = self._c.execute(
            "INSERT INTO waitlist (member, code, campaign, joined_at, state, referred_by,"
            " referred) VALUES (?, ?, ?, ?, 'waiting', ?, 0) ON CONFLICT DO NOTHING",
            (
                entry.member,
                entry.code,
                entry.campaign,
                encode_time(entry.joined_at),
                entry.referred_by,
            ),
        )
        found = self.get(entry.member)
        if cur.rowcount != 1:  # the member (a retry) or the code (another waitlister) is taken
            if found is None:
                raise CodeTaken(f"waitlist code {entry.code!r} is already issued", value=entry.code)
            return found, False
        assert found is not None  # noqa: S101 - inserted just now
        return found, True

    def get(self, member: str) -> WaitlistEntry | None:
        return self._one("member", member)

    def by_code(self, code: str) -> WaitlistEntry | None:
        return self._one("code", code)

    def credit(self, member: str) -> bool:
        cur = self._c.execute(
            "UPDATE waitlist SET referred = referred + 1 WHERE member = ?", (member,)
        )
        return cur.rowcount == 1

    def position(self, member: str, per_referral: int) -> int | None:
        args = (member, per_referral, per_referral, per_referral, per_referral)
        state = self._c.execute("SELECT state FROM waitlist WHERE member = ?", (member,)).fetchone()
        if state is None or state[0] != WaitlistState.WAITING.value:
            return None
        (position,) = self._c.execute(_POSITION, args).fetchone()
        return int(position)

    def top(self, limit: int, per_referral: int) -> list[WaitlistEntry]:
        rows = self._c.execute(
            f"SELECT {_COLUMNS} FROM waitlist WHERE state = 'waiting'"  # noqa: S608 - fixed text
            " ORDER BY seq - ? * referred, seq LIMIT ?",
            (per_referral, limit),
        )
        return [_entry(r) for r in rows]

    def admit(self, member: str, now: datetime) -> bool:
        cur = self._c.execute(
            "UPDATE waitlist SET state = 'admitted', admitted_at = ?"
            " WHERE member = ? AND state = 'waiting'",
            (encode_time(now), member),
        )
        return cur.rowcount == 1

    def facts(self, per_referral: int) -> WaitlistFacts:
        joined, waiting, admitted, referred = self._c.execute(_FACTS).fetchone()
        return WaitlistFacts(
            joined=joined,
            waiting=waiting,
            admitted=admitted,
            referred_joins=referred,
            places_gained=per_referral * referred,
        )
