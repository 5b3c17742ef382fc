"""The SQLAlchemy store's partner payouts, part of `SQLAlchemyPartners`.

Payout terms and the host's verification are conditional updates on the partner (or
group) row; who is due is one aggregate over the partners' rewards, by (partner,
currency), past the threshold that binds it, paged by that key; a batch and each of its
lines are inserted ``ON CONFLICT DO NOTHING`` under their ids, and a line's outcome is
one ``UPDATE ... WHERE status = 'pending'``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import BigInteger, Boolean, and_, bindparam, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from referralkit.model import RewardState
from referralkit.money import Money
from referralkit.payouts import LineStatus, PartnerDue, PartnerPayout
from referralkit.storage._sqlalchemy_tables import Tables, id_param
from referralkit.storage._sqlite_codec import money_from_minor_or_none, to_minor_units

if TYPE_CHECKING:
    from referralkit.storage._sqlalchemy_session import Session

__all__ = ["PayoutStatements", "SQLAlchemyPayouts", "threshold_columns", "threshold_of"]


class _PayoutReads(Protocol):
    """What the mixin reads of the repository's statements (no import of their module)."""

    @property
    def payouts(self) -> PayoutStatements: ...


_STATUS = {s.value: s for s in LineStatus}


def threshold_columns(threshold: Money | None) -> dict[str, Any]:
    """A payout threshold as its two columns (None: neither)."""
    if threshold is None:
        return {"threshold_currency": None, "threshold_minor": None}
    return {"threshold_currency": threshold.currency, "threshold_minor": to_minor_units(threshold)}


def threshold_of(minor: Any, currency: Any) -> Money | None:
    """The payout threshold its two columns hold."""
    return money_from_minor_or_none(None if minor is None else int(minor), currency)


class PayoutStatements:
    """The partner payouts' statements, built once per installation and dialect."""

    def __init__(self, tables: Tables, dialect: str) -> None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        p = bindparam
        partners, groups = tables.partners, tables.partner_groups
        pc, gc = partners.c, groups.c
        terms: dict[str, Any] = {
            "threshold_currency": p("new_currency"),
            "threshold_minor": p("new_minor"),
            "hold_seconds": p("new_hold"),
        }
        self.set_terms = update(partners).where(pc.id == p("pid")).values(**terms)
        self.set_group_terms = update(groups).where(gc.id == p("gid")).values(**terms)
        ok, ref = p("ok", type_=Boolean()), id_param("ref")
        self.set_verification = (
            update(partners)
            .where(
                pc.id == p("pid"),
                or_(
                    pc.verified.is_(None),
                    pc.verified != ok,
                    pc.verification_ref.is_distinct_from(ref),
                ),
            )
            .values(verified=ok, verification_ref=ref)
        )
        self.due = _due(tables)
        w = tables.rewards.c
        self.available = (
            select(w.id)
            .select_from(
                tables.rewards.join(
                    partners, and_(w.referral_id == pc.account_referral, w.customer_id == pc.id)
                )
            )
            .where(
                pc.id == p("pid"),
                w.state == RewardState.AVAILABLE.value,
                w.currency == p("currency"),
            )
            .order_by(w.id)
        )

        b, lines = tables.partner_payout_batches, tables.partner_payout_lines
        bc, lc = b.c, lines.c
        self.batch_insert = insert(b).on_conflict_do_nothing(index_elements=[bc.batch_id])
        self.batch = select(bc.currency, bc.created_at).where(bc.batch_id == p("bid"))
        self.line_insert = insert(lines).on_conflict_do_nothing(index_elements=[lc.line_id])
        self.set_outcome = (
            update(lines)
            .where(lc.line_id == p("lid"), lc.status == LineStatus.PENDING.value)
            .values(status=p("new_status"), reference=p("new_ref"), reason=p("new_reason"))
        )
        self.lines = (
            select(
                lc.batch_id,
                lc.line_id,
                lc.partner_id,
                lc.payout_ref,
                lc.currency,
                lc.amount_minor,
                lc.reward_ids,
                lc.status,
                lc.reference,
                lc.reason,
            )
            .where(lc.batch_id == p("bid"))
            .order_by(lc.seq)
        )


def _due(t: Tables) -> Any:
    """Per (partner, currency) after the cursor: payable, and the threshold that binds it."""
    partners, groups, rewards = t.partners, t.partner_groups, t.rewards
    pc, gc, w = partners.c, groups.c, rewards.c
    claw, recovered = func.coalesce(w.clawback_minor, 0), func.coalesce(w.recovered_minor, 0)
    available = w.state == RewardState.AVAILABLE.value
    payable = func.sum(
        case((available, w.amount_minor - func.coalesce(w.netted_minor, 0)), else_=0)
    ) - func.sum(case((claw > recovered, claw - recovered), else_=0))
    own = pc.threshold_minor.is_not(None)
    currency, after_id = id_param("currency"), id_param("after_id")
    after_currency = id_param("after_currency")
    d = (
        select(
            pc.id.label("partner_id"),
            w.currency.label("currency"),
            payable.label("payable"),
            case((own, pc.threshold_currency), else_=gc.threshold_currency).label("t_currency"),
            case((own, pc.threshold_minor), else_=gc.threshold_minor).label("t_minor"),
        )
        .select_from(
            partners.join(
                rewards, and_(w.referral_id == pc.account_referral, w.customer_id == pc.id)
            ).outerjoin(groups, gc.id == pc.group_id)
        )
        .where(
            w.currency.is_not(None),
            w.amount_minor.is_not(None),
            or_(currency.is_(None), w.currency == currency),
            or_(
                after_id.is_(None),
                pc.id > after_id,
                and_(pc.id == after_id, w.currency > after_currency),
            ),
        )
        .group_by(
            pc.id,
            w.currency,
            pc.threshold_currency,
            pc.threshold_minor,
            gc.threshold_currency,
            gc.threshold_minor,
        )
        .subquery("d")
    )
    return (
        select(d.c.partner_id, d.c.currency, d.c.payable, d.c.t_currency, d.c.t_minor)
        .where(
            d.c.payable > 0,
            or_(
                d.c.t_minor.is_(None),
                d.c.t_currency != d.c.currency,
                d.c.payable >= d.c.t_minor,
            ),
        )
        .order_by(d.c.partner_id, d.c.currency)
        .limit(bindparam("limit", type_=BigInteger()))
    )


def _line(row: Any) -> PartnerPayout:
    batch_id, line_id, partner_id, ref, currency, minor, rewards, status, reference, reason = row
    return PartnerPayout(
        batch_id=batch_id,
        line_id=line_id,
        partner_id=partner_id,
        payout_ref=ref,
        amount=Money.from_minor(int(minor), currency),
        reward_ids=tuple(rewards),
        status=_STATUS[status],
        reference=reference,
        reason=reason,
    )


class SQLAlchemyPayouts:
    """The payout methods of `referralkit.program.PartnerRepository` (a mixin)."""

    __slots__ = ()
    _s: Session
    _q: _PayoutReads

    def set_payout_terms(
        self, partner_id: str, threshold: Money | None, hold_seconds: int | None
    ) -> None:
        """Replace the partner's own payout threshold and hold (None: their group's)."""
        self._s.run(self._q.payouts.set_terms, _terms(threshold, hold_seconds, pid=partner_id))

    def set_group_payout_terms(
        self, group_id: str, threshold: Money | None, hold_seconds: int | None
    ) -> None:
        """Replace the group's payout threshold and hold (None: none, the program's hold)."""
        params = _terms(threshold, hold_seconds, gid=group_id)
        self._s.run(self._q.payouts.set_group_terms, params)

    def set_verification(self, partner_id: str, ok: bool, reference: str | None) -> bool:
        """Record the host's decision; whether it differs from the stored one."""
        params = {"pid": partner_id, "ok": ok, "ref": reference}
        return bool(self._s.run(self._q.payouts.set_verification, params).rowcount == 1)

    def due(
        self, *, currency: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[PartnerDue]:
        """Partners due a payout, by (partner id, currency) after ``after``, in SQL."""
        after_id, after_currency = (None, None) if after is None else after
        params = {
            "currency": currency,
            "after_id": after_id,
            "after_currency": after_currency,
            "limit": limit,
        }
        found = []
        for partner_id, line_currency, payable, t_currency, t_minor in self._s.rows(
            self._q.payouts.due, params
        ):
            threshold = None
            if t_minor is not None and t_currency == line_currency:
                threshold = Money.from_minor(int(t_minor), t_currency)
            found.append(
                PartnerDue(partner_id, Money.from_minor(int(payable), line_currency), threshold)
            )
        return found

    def available_rewards(self, partner_id: str, currency: str) -> list[str]:
        """The ids of the partner's available rewards in ``currency``, by id."""
        params = {"pid": partner_id, "currency": currency}
        return [str(r[0]) for r in self._s.rows(self._q.payouts.available, params)]

    def add_batch(
        self, batch_id: str, currency: str | None, at: datetime
    ) -> tuple[tuple[str | None, datetime], bool]:
        """Record a payout batch unless its id exists: its (currency, created at), and if new."""
        params = {"batch_id": batch_id, "currency": currency, "created_at": at}
        wanted: tuple[str | None, datetime] = (currency, at)
        return self._s.insert_once(
            self._q.payouts.batch_insert, params, wanted, lambda: self.batch(batch_id)
        )

    def batch(self, batch_id: str) -> tuple[str | None, datetime] | None:
        """The payout batch's (currency, created at), if it was recorded."""
        row = self._s.run(self._q.payouts.batch, {"bid": batch_id}).first()
        return None if row is None else (row[0], row[1])

    def add_payout_line(self, line: PartnerPayout) -> None:
        """Record one line of a batch unless its line id is recorded."""
        params = {
            "batch_id": line.batch_id,
            "line_id": line.line_id,
            "partner_id": line.partner_id,
            "payout_ref": line.payout_ref,
            "currency": line.amount.currency,
            "amount_minor": to_minor_units(line.amount),
            "reward_ids": list(line.reward_ids),
            "status": line.status.value,
            "reference": line.reference,
            "reason": line.reason,
        }
        self._s.run(self._q.payouts.line_insert, params)

    def set_line_outcome(
        self, line_id: str, status: LineStatus, reference: str | None, reason: str | None
    ) -> bool:
        """Record what became of a pending line; whether it was pending."""
        params = {
            "lid": line_id,
            "new_status": status.value,
            "new_ref": reference,
            "new_reason": reason,
        }
        return bool(self._s.run(self._q.payouts.set_outcome, params).rowcount == 1)

    def batch_lines(self, batch_id: str) -> list[PartnerPayout]:
        """The lines of a batch, in the order they were recorded."""
        return [_line(r) for r in self._s.rows(self._q.payouts.lines, {"bid": batch_id})]


def _terms(threshold: Money | None, hold_seconds: int | None, **key: str) -> dict[str, Any]:
    columns = threshold_columns(threshold)
    return {
        "new_currency": columns["threshold_currency"],
        "new_minor": columns["threshold_minor"],
        "new_hold": hold_seconds,
        **key,
    }
