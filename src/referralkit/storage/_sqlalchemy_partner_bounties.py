"""The SQLAlchemy store's bounty submissions, part of `SQLAlchemyPartners`.

A submission is inserted ``ON CONFLICT (id) DO NOTHING`` checked by its row count, and
decided by one ``UPDATE ... WHERE state = 'pending'``: approved or rejected once.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from referralkit.model import PartnerSubmission, SubmissionState
from referralkit.money import Money
from referralkit.storage._sqlalchemy_tables import Tables, time_param
from referralkit.storage._sqlite_codec import to_minor_units

if TYPE_CHECKING:
    from referralkit.storage._sqlalchemy_session import Session

__all__ = ["BountyStatements", "SQLAlchemyBounties"]


class _BountyReads(Protocol):
    """What the mixin reads of the repository's statements (no import of their module)."""

    @property
    def bounties(self) -> BountyStatements: ...


_STATE = {s.value: s for s in SubmissionState}


class BountyStatements:
    """The bounty submissions' statements, built once per installation and dialect."""

    def __init__(self, tables: Tables, dialect: str) -> None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        s = tables.partner_submissions
        c = s.c
        self.insert = insert(s).on_conflict_do_nothing(index_elements=[c.id])
        self.get = select(
            c.id,
            c.partner_id,
            c.url,
            c.currency,
            c.fee_minor,
            c.state,
            c.submitted_at,
            c.decided_at,
            c.reason,
            c.reward_id,
        ).where(c.id == bindparam("sid"))
        self.decide = (
            update(s)
            .where(c.id == bindparam("sid"), c.state == SubmissionState.PENDING.value)
            .values(
                state=bindparam("new_state"),
                decided_at=time_param("at"),
                reason=bindparam("new_reason"),
                reward_id=bindparam("new_reward"),
            )
        )


def _submission(row: Any) -> PartnerSubmission | None:
    if row is None:
        return None
    sid, partner_id, url, currency, fee, state, submitted, decided, reason, reward_id = row
    return PartnerSubmission(
        id=sid,
        partner_id=partner_id,
        url=url,
        fee=Money.from_minor(int(fee), currency),
        state=_STATE[state],
        submitted_at=submitted,
        decided_at=decided,
        reason=reason,
        reward_id=reward_id,
    )


class SQLAlchemyBounties:
    """The bounty methods of `referralkit.program.PartnerRepository` (a mixin)."""

    __slots__ = ()
    _s: Session
    _q: _BountyReads

    def add_submission(self, submission: PartnerSubmission) -> tuple[PartnerSubmission, bool]:
        """Insert ``submission`` unless its id exists; what is stored, and whether new."""
        params = {
            "id": submission.id,
            "partner_id": submission.partner_id,
            "url": submission.url,
            "currency": submission.fee.currency,
            "fee_minor": to_minor_units(submission.fee),
            "state": submission.state.value,
            "submitted_at": submission.submitted_at,
            "decided_at": submission.decided_at,
            "reason": submission.reason,
            "reward_id": submission.reward_id,
        }
        return self._s.insert_once(
            self._q.bounties.insert, params, submission, lambda: self.submission(submission.id)
        )

    def submission(self, submission_id: str) -> PartnerSubmission | None:
        """The bounty submission with this id."""
        return _submission(self._s.run(self._q.bounties.get, {"sid": submission_id}).first())

    def decide_submission(
        self,
        submission_id: str,
        state: SubmissionState,
        at: datetime,
        *,
        reason: str | None = None,
        reward_id: str | None = None,
    ) -> bool:
        """Decide a pending submission in one conditional update; whether it was pending."""
        params = {
            "sid": submission_id,
            "new_state": state.value,
            "at": at,
            "new_reason": reason,
            "new_reward": reward_id,
        }
        return bool(self._s.run(self._q.bounties.decide, params).rowcount == 1)
