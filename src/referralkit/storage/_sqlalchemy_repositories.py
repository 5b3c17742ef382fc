"""The SQLAlchemy store's repositories: one section per repository, SQLAlchemy Core only.

`Statements` builds every statement once per installation and dialect; a repository
runs them on its unit of work's `Session`. Uniqueness is the database's: ``INSERT ...
ON CONFLICT DO NOTHING`` then read back what won. Before a read that a program
decision rests on, a repository takes the lock named in `referralkit.storage.
_sqlalchemy_session` (a customer, signals, the spend); rows a unit of work goes on to
update are read ``FOR UPDATE`` (held rewards being released ``SKIP LOCKED``, so
several app servers release different rewards at once).

To add a repository: its statements in a section of `Statements`, its class in a
section below, its attribute on `SQLAlchemyUnitOfWork`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

import attrs
from sqlalchemy import and_, bindparam, false, func, select, true, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from referralkit.context import Signal
from referralkit.errors import StorageError, UnknownOrder, UnknownReferral
from referralkit.model import (
    Beneficiary,
    CodeKind,
    Conversion,
    Event,
    Referral,
    ReferralCode,
    ReferralStatus,
    Reward,
    RewardKind,
    RewardState,
)
from referralkit.money import Money
from referralkit.protocols import LedgerEntry
from referralkit.storage._errors import CodeTaken
from referralkit.storage._sqlalchemy_session import Session
from referralkit.storage._sqlalchemy_tables import Tables
from referralkit.storage._sqlite_codec import (
    money_from_minor,
    money_from_minor_or_none,
    to_minor_units,
)

__all__ = ["SQLAlchemyUnitOfWork", "Statements"]

_E = TypeVar("_E", bound=Enum)


def _members(cls: type[_E]) -> dict[Any, _E]:
    return {m.value: m for m in cls}


_KIND = _members(CodeKind)
_STATUS = _members(ReferralStatus)
_BENEFICIARY = _members(Beneficiary)
_REWARD_KIND = _members(RewardKind)
_STATE = _members(RewardState)
_CHUNK = 500


def _on_conflict_insert(dialect: str) -> Any:
    """The dialect's ``insert`` (it has ``on_conflict_do_nothing``)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


class Statements:
    """Every statement of the repositories, built once for one installation and dialect."""

    def __init__(self, tables: Tables, dialect: str) -> None:  # noqa: PLR0915 - one statement a line
        self.tables = tables
        self.dialect = dialect
        insert = _on_conflict_insert(dialect)
        p = bindparam

        # -- codes ---------------------------------------------------------------------
        codes = tables.codes
        cc = codes.c
        self.code_columns = (
            cc.code,
            cc.owner,
            cc.campaign,
            cc.kind,
            cc.created_at,
            cc.expires_at,
            cc.max_uses,
        )
        self.code_insert: Insert = insert(codes).on_conflict_do_nothing().returning(cc.seq)
        codes_select = select(*self.code_columns)
        self.code_by_code = codes_select.where(cc.code == p("code"))
        self.code_by_owner_campaign = codes_select.where(
            cc.owner == p("owner"), cc.campaign == p("campaign")
        )
        self.codes_by_owner = codes_select.where(cc.owner == p("owner")).order_by(
            cc.created_at, cc.seq
        )
        self.code_owner = select(cc.owner).where(cc.code == p("code"))

        # -- referrals ------------------------------------------------------------------
        referrals = tables.referrals
        rc = referrals.c
        standing = rc.status != "rejected"
        self.referral_columns = (
            rc.id,
            rc.code,
            rc.referrer,
            rc.referee,
            rc.status,
            rc.reasons,
            rc.attributed_at,
            rc.campaign,
            rc.policy_version,
            rc.channel,
        )
        self.referral_insert: Insert = insert(referrals).on_conflict_do_nothing().returning(rc.seq)
        referrals_select = select(*self.referral_columns)
        self.referral_by_id = referrals_select.where(rc.id == p("id"))
        self.referee_of_referral = select(rc.referee).where(rc.id == p("id"))
        self.standing_referral = referrals_select.where(rc.referee == p("referee"), standing)
        self.referrals_in_review = (
            referrals_select.where(rc.status == "review")
            .order_by(rc.attributed_at, rc.id)
            .limit(p("limit"))
        )
        self.set_referral_status = (
            update(referrals)
            .where(rc.id == p("rid"))
            .values(status=p("new_status"), reasons=p("new_reasons", type_=rc.reasons.type))
            .returning(*self.referral_columns)
        )
        self.reassign_referral = (
            update(referrals)
            .where(rc.id == p("rid"))
            .values(
                code=p("new_code"),
                referrer=p("new_referrer"),
                campaign=p("new_campaign"),
                reasons=p("new_reasons", type_=rc.reasons.type),
                policy_version=func.coalesce(
                    p("new_version", type_=rc.policy_version.type), rc.policy_version
                ),
            )
            .returning(*self.referral_columns)
        )
        self.count_for_code = select(func.count()).where(rc.code == p("code"), standing)
        self.counts_for_referrer = (
            select(rc.status, func.count()).where(rc.referrer == p("referrer")).group_by(rc.status)
        )
        self.referrer_times = (
            select(rc.attributed_at)
            .where(rc.referrer == p("referrer"), rc.attributed_at >= p("since"), standing)
            .order_by(rc.attributed_at)
        )
        self.referrer_of = select(rc.referrer).where(rc.referee == p("referee"), standing)
        referees = select(rc.referee).where(rc.referrer == p("referrer"), standing)
        self.referees_of = referees.order_by(rc.attributed_at, rc.seq)
        self.last_referees_of = referees.order_by(rc.attributed_at.desc(), rc.seq.desc()).limit(
            p("last")
        )

        # -- conversions ------------------------------------------------------------------
        conversions = tables.conversions
        vc = conversions.c
        self.conversion_columns = (
            vc.order_id,
            vc.referee,
            vc.currency,
            vc.amount_minor,
            vc.refunded_minor,
            vc.occurred_at,
            vc.first_order,
            vc.referral_id,
        )
        self.conversion_insert: Insert = (
            insert(conversions).on_conflict_do_nothing().returning(vc.seq)
        )
        conversions_select = select(*self.conversion_columns)
        self.conversion_by_order = conversions_select.where(vc.order_id == p("order_id"))
        self.conversion_for_update = self.conversion_by_order.with_for_update()
        self.count_for_referee = select(func.count()).where(vc.referee == p("referee"))
        self.set_refunded = (
            update(conversions)
            .where(vc.order_id == p("oid"))
            .values(refunded_minor=p("refunded"))
            .returning(*self.conversion_columns)
        )
        self.conversions_for_referral = conversions_select.where(
            vc.referral_id == p("referral_id")
        ).order_by(vc.occurred_at, vc.seq)

        # -- rewards and the ledger -------------------------------------------------------
        rewards = tables.rewards
        wc = rewards.c
        self.reward_columns = (
            wc.id,
            wc.key,
            wc.referral_id,
            wc.beneficiary,
            wc.customer_id,
            wc.kind,
            wc.currency,
            wc.amount_minor,
            wc.granted_minor,
            wc.points,
            wc.granted_points,
            wc.state,
            wc.order_id,
            wc.policy,
            wc.explanation,
            wc.created_at,
            wc.hold_until,
            wc.perk,
            wc.coupon_code,
            wc.proportional,
            wc.clawback_minor,
            wc.clawback_points,
        )
        self.reward_insert: Insert = (
            insert(rewards)
            .on_conflict_do_nothing(index_elements=[wc.customer_id, wc.key])
            .returning(wc.seq)
        )
        rewards_select = select(*self.reward_columns)
        self.reward_by_id = rewards_select.where(wc.id == p("id")).with_for_update()
        self.reward_by_key = rewards_select.where(
            wc.customer_id == p("customer_id"), wc.key == p("key")
        )
        self.update_reward = (
            update(rewards)
            .where(wc.id == p("rid"))
            .values(
                amount_minor=p("new_amount"),
                state=p("new_state"),
                hold_until=p("new_hold_until", type_=wc.hold_until.type),
                clawback_minor=p("new_clawback"),
                points=p("new_points"),
                clawback_points=p("new_clawback_points"),
            )
        )
        self.rewards_for_order = (
            rewards_select.where(wc.order_id == p("order_id")).order_by(wc.seq).with_for_update()
        )
        self.rewards_for_customer = rewards_select.where(
            wc.customer_id == p("customer_id")
        ).order_by(wc.seq)
        self.rewards_for_referral = (
            rewards_select.where(wc.referral_id == p("referral_id"))
            .order_by(wc.seq)
            .with_for_update()
        )
        self.due_rewards = (
            rewards_select.where(wc.state == "held", wc.hold_until <= p("now"))
            .order_by(wc.hold_until, wc.id)
            .limit(p("limit"))
            .with_for_update(skip_locked=True)
        )
        self.spend = (
            select(
                wc.currency,
                func.coalesce(func.sum(func.coalesce(wc.amount_minor, 0)), 0),
                func.coalesce(func.sum(wc.points), 0),
            )
            .where(wc.state != "reversed")
            .group_by(wc.currency)
        )
        ledger = tables.ledger
        lc = ledger.c
        self.ledger_insert = ledger.insert()
        self.balances = (
            select(lc.bucket, lc.currency, func.sum(lc.amount_minor), func.sum(lc.points))
            .where(lc.customer_id == p("customer_id"))
            .group_by(lc.bucket, lc.currency)
            .order_by(lc.bucket, lc.currency)
        )

        # -- events -----------------------------------------------------------------------
        events = tables.events
        ec = events.c
        self.event_insert = events.insert().returning(ec.id)
        self.pending_events = (
            select(ec.id, ec.type, ec.payload, ec.occurred_at)
            .where(ec.acked == false())
            .order_by(ec.id)
            .limit(p("limit"))
        )
        self.ack_events = (
            update(events)
            .where(ec.id.in_(p("ids", expanding=True)), ec.acked == false())
            .values(acked=true())
        )

        # -- identities -------------------------------------------------------------------
        signals = tables.identity_signals
        sc = signals.c
        self.signal_insert: Insert = insert(signals).on_conflict_do_nothing()
        self.signals_of = select(sc.kind, sc.digest).where(sc.customer_id == p("customer_id"))
        self.customers_with = (
            select(sc.customer_id)
            .where(sc.kind == p("kind"), sc.digest == p("digest"))
            .limit(p("limit"))
        )
        self.referees_since = (
            select(rc.referee, rc.attributed_at)
            .select_from(signals.join(referrals, and_(rc.referee == sc.customer_id, standing)))
            .where(sc.kind == p("kind"), sc.digest == p("digest"), rc.attributed_at >= p("since"))
            .order_by(rc.attributed_at.desc(), rc.referee.desc())
            .limit(p("limit"))
        )
        self.signal_counts = (
            select(sc.kind, sc.digest, func.count())
            .where(sc.customer_id.in_(p("ids", expanding=True)))
            .group_by(sc.kind, sc.digest)
        )
        self.signal_counts_only = self.signal_counts.where(
            tuple_(sc.kind, sc.digest).in_(p("only", expanding=True))
        )


# -- row decoders ----------------------------------------------------------------------


def _code_row(row: Sequence[Any]) -> ReferralCode:
    code, owner, campaign, kind, created_at, expires_at, max_uses = row
    return ReferralCode(
        code=code,
        owner=owner,
        campaign=campaign,
        kind=_KIND[kind],
        created_at=created_at,
        expires_at=expires_at,
        max_uses=max_uses,
    )


def _referral_row(row: Sequence[Any]) -> Referral:
    rid, code, referrer, referee, status, reasons, at, campaign, version, channel = row
    return Referral(
        id=rid,
        code=code,
        referrer=referrer,
        referee=referee,
        status=_STATUS[status],
        reasons=tuple(reasons),
        attributed_at=at,
        campaign=campaign,
        policy_version=version,
        channel=channel,
    )


def _conversion_row(row: Sequence[Any]) -> Conversion:
    order_id, referee, currency, amount, refunded, occurred_at, first_order, referral_id = row
    return Conversion(
        order_id=order_id,
        referee=referee,
        amount=money_from_minor(amount, currency),
        occurred_at=occurred_at,
        first_order=bool(first_order),
        referral_id=referral_id,
        refunded=money_from_minor(refunded, currency) if refunded else None,
    )


def _reward_row(row: Sequence[Any]) -> Reward:
    (
        rid,
        key,
        referral_id,
        beneficiary,
        customer_id,
        kind,
        currency,
        amount,
        granted,
        points,
        granted_points,
        state,
        order_id,
        policy,
        explanation,
        created_at,
        hold_until,
        perk,
        coupon_code,
        proportional,
        clawback,
        clawback_points,
    ) = row
    return Reward(
        id=rid,
        key=key,
        referral_id=referral_id,
        beneficiary=_BENEFICIARY[beneficiary],
        customer_id=customer_id,
        kind=_REWARD_KIND[kind],
        amount=money_from_minor_or_none(amount, currency),
        granted=money_from_minor_or_none(granted, currency),
        points=int(points),
        granted_points=int(granted_points),
        state=_STATE[state],
        order_id=order_id,
        policy=policy,
        explanation=explanation,
        created_at=created_at,
        hold_until=hold_until,
        perk=perk,
        coupon_code=coupon_code,
        proportional=bool(proportional),
        clawback=money_from_minor_or_none(clawback, currency),
        clawback_points=int(clawback_points),
    )


def _minor(money: Money | None) -> int | None:
    return None if money is None else to_minor_units(money)


class _Repo:
    __slots__ = ("_q", "_s")

    def __init__(self, session: Session, statements: Statements) -> None:
        self._s = session
        self._q = statements


# -- codes ---------------------------------------------------------------------------


class SQLAlchemyCodes(_Repo):
    """`referralkit.protocols.CodeRepository` in SQL."""

    __slots__ = ()

    def add(self, code: ReferralCode) -> ReferralCode:
        """Insert, or return the owner's code in that campaign; another owner's text raises."""
        created = self._s.run(
            self._q.code_insert,
            {
                "code": code.code,
                "owner": code.owner,
                "campaign": code.campaign,
                "kind": code.kind.value,
                "created_at": code.created_at,
                "expires_at": code.expires_at,
                "max_uses": code.max_uses,
            },
        ).first()
        if created is not None:
            return code
        row = self._s.run(
            self._q.code_by_owner_campaign, {"owner": code.owner, "campaign": code.campaign}
        ).first()
        if row is None:
            raise CodeTaken(f"code {code.code!r} is already issued", value=code.code)
        return _code_row(row)

    def get(self, code: str) -> ReferralCode | None:
        """The code with this text."""
        row = self._s.run(self._q.code_by_code, {"code": code}).first()
        if row is None:
            return None
        found = _code_row(row)
        self._s.locks.owners[found.code] = found.owner
        return found

    def for_owner(self, owner: str) -> list[ReferralCode]:
        """The owner's codes, oldest first."""
        return [_code_row(r) for r in self._s.rows(self._q.codes_by_owner, {"owner": owner})]


# -- referrals -----------------------------------------------------------------------


def _reasons(reasons: tuple[str, ...]) -> list[str]:
    return list(reasons)


class SQLAlchemyReferrals(_Repo):
    """`referralkit.protocols.ReferralRepository` in SQL."""

    __slots__ = ()

    def add(self, referral: Referral) -> Referral:
        """Insert; a referee's standing referral (a partial unique index) wins."""
        created = self._s.run(
            self._q.referral_insert,
            {
                "id": referral.id,
                "code": referral.code,
                "referrer": referral.referrer,
                "referee": referral.referee,
                "status": referral.status.value,
                "reasons": _reasons(referral.reasons),
                "attributed_at": referral.attributed_at,
                "campaign": referral.campaign,
                "policy_version": referral.policy_version,
                "channel": referral.channel,
            },
        ).first()
        if created is not None:
            return referral
        existing = self._standing(referral.referee)
        if existing is None:  # pragma: no cover - only an id collision gets here
            raise StorageError(f"referral id {referral.id!r} already exists", value=referral.id)
        return existing

    def _standing(self, referee: str) -> Referral | None:
        row = self._s.run(self._q.standing_referral, {"referee": referee}).first()
        return None if row is None else _referral_row(row)

    def get(self, referral_id: str) -> Referral | None:
        """The referral, read under its referee's lock (its status may be decided on)."""
        referee = self._s.run(self._q.referee_of_referral, {"id": referral_id}).scalar()
        if referee is None:
            return None
        self._s.locks.customer(referee)
        row = self._s.run(self._q.referral_by_id, {"id": referral_id}).first()
        return None if row is None else _referral_row(row)

    def active_for_referee(self, referee: str) -> Referral | None:
        """The referee's standing referral, read under the referee's lock."""
        self._s.locks.customer(referee)
        return self._standing(referee)

    def set_status(
        self, referral_id: str, status: ReferralStatus, reasons: tuple[str, ...]
    ) -> Referral:
        """Change status and reasons."""
        row = self._s.run(
            self._q.set_referral_status,
            {"rid": referral_id, "new_status": status.value, "new_reasons": _reasons(reasons)},
        ).first()
        if row is None:
            raise UnknownReferral(f"no referral {referral_id!r}", value=referral_id)
        return _referral_row(row)

    def count_for_code(self, code: str) -> int:
        """Standing referrals made with the code, under its owner's lock (its uses)."""
        owner = self._s.locks.owners.get(code)
        if owner is None:
            owner = self._s.run(self._q.code_owner, {"code": code}).scalar()
        if owner is not None:
            self._s.locks.customer(owner)
        return int(self._s.run(self._q.count_for_code, {"code": code}).scalar_one())

    def counts_for_referrer(self, referrer: str) -> Mapping[ReferralStatus, int]:
        """The referrer's referrals per status, under the referrer's lock (tiers, milestones)."""
        self._s.locks.customer(referrer)
        counts = dict.fromkeys(ReferralStatus, 0)
        for status, n in self._s.rows(self._q.counts_for_referrer, {"referrer": referrer}):
            counts[_STATUS[status]] = int(n)
        return counts

    def referrer_times(self, referrer: str, since: datetime) -> list[datetime]:
        """Attribution times since ``since``, under the referrer's lock (velocity)."""
        self._s.locks.customer(referrer)
        rows = self._s.rows(self._q.referrer_times, {"referrer": referrer, "since": since})
        return [r[0] for r in rows]

    def in_review(self, limit: int) -> list[Referral]:
        """The review queue, oldest first."""
        rows = self._s.rows(self._q.referrals_in_review, {"limit": limit})
        return [_referral_row(r) for r in rows]

    def referrer_of(self, referee: str) -> str | None:
        """Who referred the customer, under the customer's lock (the chain a cycle walks)."""
        self._s.locks.customer(referee)
        found = self._s.run(self._q.referrer_of, {"referee": referee}).scalar()
        return None if found is None else str(found)

    def referees_of(self, referrer: str, last: int | None = None) -> list[str]:
        """The referrer's referees, oldest first, under the referrer's lock."""
        self._s.locks.customer(referrer)
        if last is None:
            rows = self._s.rows(self._q.referees_of, {"referrer": referrer})
            return [str(r[0]) for r in rows]
        rows = self._s.rows(self._q.last_referees_of, {"referrer": referrer, "last": last})
        return [str(r[0]) for r in rows][::-1]

    def reassign(
        self,
        referral_id: str,
        code: ReferralCode,
        reasons: tuple[str, ...],
        policy_version: str | None = None,
    ) -> Referral:
        """Credit the referral to ``code``'s owner."""
        row = self._s.run(
            self._q.reassign_referral,
            {
                "rid": referral_id,
                "new_code": code.code,
                "new_referrer": code.owner,
                "new_campaign": code.campaign,
                "new_reasons": _reasons(reasons),
                "new_version": policy_version,
            },
        ).first()
        if row is None:
            raise UnknownReferral(f"no referral {referral_id!r}", value=referral_id)
        return _referral_row(row)


# -- conversions ---------------------------------------------------------------------


class SQLAlchemyConversions(_Repo):
    """`referralkit.protocols.ConversionRepository` in SQL."""

    __slots__ = ()

    def add(self, conversion: Conversion) -> tuple[Conversion, bool]:
        """Insert unless the order id exists; returns the stored one and whether it is new."""
        created = self._s.run(
            self._q.conversion_insert,
            {
                "order_id": conversion.order_id,
                "referee": conversion.referee,
                "currency": conversion.amount.currency,
                "amount_minor": to_minor_units(conversion.amount),
                "refunded_minor": 0
                if conversion.refunded is None
                else to_minor_units(conversion.refunded),
                "occurred_at": conversion.occurred_at,
                "first_order": conversion.first_order,
                "referral_id": conversion.referral_id,
            },
        ).first()
        if created is not None:
            return conversion, True
        row = self._s.run(self._q.conversion_by_order, {"order_id": conversion.order_id}).first()
        if row is None:  # pragma: no cover - the conflict above proves it exists
            raise StorageError(f"order {conversion.order_id!r} vanished", value=conversion.order_id)
        return _conversion_row(row), False

    def get(self, order_id: str) -> Conversion | None:
        """The order, locked for update (a refund decides on its refunded total)."""
        row = self._s.run(self._q.conversion_for_update, {"order_id": order_id}).first()
        return None if row is None else _conversion_row(row)

    def count_for_referee(self, referee: str) -> int:
        """The customer's orders, under the customer's lock (first orders)."""
        self._s.locks.customer(referee)
        return int(self._s.run(self._q.count_for_referee, {"referee": referee}).scalar_one())

    def set_refunded(self, order_id: str, refunded: Money) -> Conversion:
        """Record the refunded total."""
        row = self._s.run(
            self._q.set_refunded, {"oid": order_id, "refunded": to_minor_units(refunded)}
        ).first()
        if row is None:
            raise UnknownOrder(f"no order {order_id!r}", value=order_id)
        return _conversion_row(row)

    def for_referral(self, referral_id: str) -> list[Conversion]:
        """The referral's orders, oldest first."""
        rows = self._s.rows(self._q.conversions_for_referral, {"referral_id": referral_id})
        return [_conversion_row(r) for r in rows]


# -- rewards and the ledger ------------------------------------------------------------


def _reward_values(r: Reward) -> dict[str, Any]:
    money = r.amount or r.granted
    return {
        "id": r.id,
        "key": r.key,
        "referral_id": r.referral_id,
        "beneficiary": r.beneficiary.value,
        "customer_id": r.customer_id,
        "kind": r.kind.value,
        "currency": None if money is None else money.currency,
        "amount_minor": _minor(r.amount),
        "granted_minor": _minor(r.granted),
        "points": r.points,
        "granted_points": r.granted_points,
        "state": r.state.value,
        "order_id": r.order_id,
        "policy": r.policy,
        "explanation": r.explanation,
        "created_at": r.created_at,
        "hold_until": r.hold_until,
        "perk": r.perk,
        "coupon_code": r.coupon_code,
        "proportional": r.proportional,
        "clawback_minor": _minor(r.clawback),
        "clawback_points": r.clawback_points,
    }


class SQLAlchemyRewards(_Repo):
    """`referralkit.protocols.RewardLedger` in SQL."""

    __slots__ = ()

    def add(self, reward: Reward) -> tuple[Reward, bool]:
        """Insert unless (customer, key) exists; returns the stored reward and whether new."""
        created = self._s.run(self._q.reward_insert, _reward_values(reward)).first()
        if created is not None:
            return reward, True
        row = self._s.run(
            self._q.reward_by_key, {"customer_id": reward.customer_id, "key": reward.key}
        ).first()
        if row is None:  # pragma: no cover - the conflict above proves it exists
            raise StorageError(f"reward {reward.key!r} vanished", value=reward.key)
        return _reward_row(row), False

    def get(self, reward_id: str) -> Reward | None:
        """The reward, locked for update (payment decides on its state)."""
        row = self._s.run(self._q.reward_by_id, {"id": reward_id}).first()
        return None if row is None else _reward_row(row)

    def update(self, reward: Reward) -> None:
        """Write the reward's state, amount, hold and clawback."""
        self._s.run(
            self._q.update_reward,
            {
                "rid": reward.id,
                "new_amount": _minor(reward.amount),
                "new_state": reward.state.value,
                "new_hold_until": reward.hold_until,
                "new_clawback": _minor(reward.clawback),
                "new_points": reward.points,
                "new_clawback_points": reward.clawback_points,
            },
        )

    def for_order(self, order_id: str) -> list[Reward]:
        """The order's rewards in grant order, locked for update (a refund shrinks them)."""
        rows = self._s.rows(self._q.rewards_for_order, {"order_id": order_id})
        return [_reward_row(r) for r in rows]

    def for_customer(self, customer_id: str) -> list[Reward]:
        """The customer's rewards in grant order, under the customer's lock (caps)."""
        self._s.locks.customer(customer_id)
        rows = self._s.rows(self._q.rewards_for_customer, {"customer_id": customer_id})
        return [_reward_row(r) for r in rows]

    def for_referral(self, referral_id: str) -> list[Reward]:
        """The referral's rewards in grant order, locked for update."""
        rows = self._s.rows(self._q.rewards_for_referral, {"referral_id": referral_id})
        return [_reward_row(r) for r in rows]

    def due(self, now: datetime, limit: int) -> list[Reward]:
        """Held rewards due at ``now``, skipping any another unit of work is releasing."""
        rows = self._s.rows(self._q.due_rewards, {"now": now, "limit": limit})
        return [_reward_row(r) for r in rows]

    def append(self, entries: Iterable[LedgerEntry]) -> None:
        """Append ledger entries."""
        rows = [
            {
                "reward_id": e.reward_id,
                "customer_id": e.customer_id,
                "bucket": e.bucket,
                "currency": e.currency,
                "amount_minor": _minor(e.amount),
                "points": e.points,
                "occurred_at": e.occurred_at,
                "reason": e.reason,
            }
            for e in entries
        ]
        if rows:
            self._s.run(self._q.ledger_insert, rows)

    def balances(self, customer_id: str) -> list[tuple[str, str | None, Money | None, int]]:
        """Sums of the customer's entries per bucket and currency."""
        rows = self._s.rows(self._q.balances, {"customer_id": customer_id})
        return [(b, c, money_from_minor_or_none(m, c), int(p)) for b, c, m, p in rows]

    def spend(self) -> tuple[Mapping[str, Money], int]:
        """Value of rewards not reversed, per currency, and points, under the spend lock."""
        self._s.locks.spend()
        money: dict[str, Money] = {}
        points = 0
        for currency, minor, pts in self._s.rows(self._q.spend):
            points += int(pts)
            if currency is not None:
                money[currency] = money_from_minor(int(minor), currency)
        return money, points


# -- events --------------------------------------------------------------------------


class SQLAlchemyEvents(_Repo):
    """`referralkit.protocols.EventOutbox` in SQL."""

    __slots__ = ()

    def add(self, type: str, payload: Mapping[str, Any], occurred_at: datetime) -> Event:  # noqa: A002 - mirrors the protocol
        """Append an event; its id comes from the table's sequence."""
        event_id = self._s.run(
            self._q.event_insert,
            {"type": type, "payload": dict(payload), "occurred_at": occurred_at},
        ).scalar_one()
        return Event(id=int(event_id), type=type, payload=dict(payload), occurred_at=occurred_at)

    def pending(self, limit: int) -> list[Event]:
        """Unacknowledged events, oldest first."""
        rows = self._s.rows(self._q.pending_events, {"limit": limit})
        return [Event(id=int(i), type=t, payload=p, occurred_at=o) for i, t, p, o in rows]

    def ack(self, event_ids: Iterable[int]) -> int:
        """Mark events delivered; returns how many were pending."""
        ids = sorted({int(i) for i in event_ids})
        acked = 0
        for start in range(0, len(ids), _CHUNK):
            acked += self._s.run(self._q.ack_events, {"ids": ids[start : start + _CHUNK]}).rowcount
        return acked


# -- identities ----------------------------------------------------------------------


class SQLAlchemyIdentities(_Repo):
    """`referralkit.protocols.IdentityRepository` in SQL."""

    __slots__ = ()

    def add(self, customer_id: str, signals: Iterable[Signal]) -> None:
        """Remember the signals (idempotent), and lock who carries them for this unit of work."""
        rows = [
            {"customer_id": customer_id, "kind": kind, "digest": digest}
            for kind, digest in dict.fromkeys(signals)
        ]
        if not rows:
            return
        self._s.locks.signals((r["kind"], r["digest"]) for r in rows)
        self._s.run(self._q.signal_insert, rows)

    def signals(self, customer_id: str) -> frozenset[Signal]:
        """Every hashed signal of the customer."""
        rows = self._s.rows(self._q.signals_of, {"customer_id": customer_id})
        return frozenset((str(k), str(d)) for k, d in rows)

    def customers_with(self, signal: Signal, limit: int) -> list[str]:
        """Customers carrying the signal, under the signal's lock (duplicates)."""
        self._s.locks.signals((signal,))
        rows = self._s.rows(
            self._q.customers_with, {"kind": signal[0], "digest": signal[1], "limit": limit}
        )
        return [str(r[0]) for r in rows]

    def referees_since(
        self, signal: Signal, since: datetime, limit: int
    ) -> list[tuple[str, datetime]]:
        """Recent referees carrying the signal, newest first, under its lock (velocity)."""
        self._s.locks.signals((signal,))
        rows = self._s.rows(
            self._q.referees_since,
            {"kind": signal[0], "digest": signal[1], "since": since, "limit": limit},
        )
        return [(str(r[0]), r[1]) for r in rows]

    def signal_counts(
        self, customer_ids: Sequence[str], only: Collection[Signal] | None = None
    ) -> Mapping[Signal, int]:
        """How many of the customers carry each signal (each of ``only``, if given)."""
        ids = sorted(set(customer_ids))
        counts: dict[Signal, int] = {}
        wanted = None if only is None else sorted(set(only))
        if wanted is not None and not wanted:
            return counts
        for start in range(0, len(ids), _CHUNK):
            params: dict[str, Any] = {"ids": ids[start : start + _CHUNK]}
            statement = self._q.signal_counts
            if wanted is not None:
                statement = self._q.signal_counts_only
                params["only"] = wanted
            for kind, digest, n in self._s.rows(statement, params):
                key = (str(kind), str(digest))
                counts[key] = counts.get(key, 0) + int(n)
        return counts


# -- the unit of work ----------------------------------------------------------------


@attrs.define(slots=True)
class SQLAlchemyUnitOfWork:
    """One transaction's repositories (`referralkit.protocols.UnitOfWork`)."""

    codes: SQLAlchemyCodes
    referrals: SQLAlchemyReferrals
    conversions: SQLAlchemyConversions
    rewards: SQLAlchemyRewards
    events: SQLAlchemyEvents
    identities: SQLAlchemyIdentities

    @classmethod
    def on(cls, session: Session, statements: Statements) -> SQLAlchemyUnitOfWork:
        """The repositories of one unit of work, on its session."""
        return cls(
            SQLAlchemyCodes(session, statements),
            SQLAlchemyReferrals(session, statements),
            SQLAlchemyConversions(session, statements),
            SQLAlchemyRewards(session, statements),
            SQLAlchemyEvents(session, statements),
            SQLAlchemyIdentities(session, statements),
        )
