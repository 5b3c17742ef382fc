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

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

import attrs
from sqlalchemy import and_, bindparam, false, func, or_, select, true, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from referralkit.codes import code_key
from referralkit.context import Signal
from referralkit.errors import StorageError, UnknownOrder, UnknownReferral
from referralkit.metrics._source import Click
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
from referralkit.protocols import LedgerEntry, RefundRecord
from referralkit.storage._errors import CodeTaken
from referralkit.storage._sqlalchemy_groups import GroupStatements, SQLAlchemyGroups
from referralkit.storage._sqlalchemy_invitations import (
    InvitationStatements,
    SQLAlchemyInvitations,
)
from referralkit.storage._sqlalchemy_moments import (
    MomentStatements,
    SQLAlchemyClaims,
    SQLAlchemyDeliveries,
    SQLAlchemyDisplayNames,
    SQLAlchemyMoments,
)
from referralkit.storage._sqlalchemy_partners import PartnerStatements, SQLAlchemyPartners
from referralkit.storage._sqlalchemy_session import Session
from referralkit.storage._sqlalchemy_tables import Tables
from referralkit.storage._sqlalchemy_waitlist import SQLAlchemyWaitlist, WaitlistStatements
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
        self.moments = MomentStatements(tables, dialect)
        self.groups = GroupStatements(tables, dialect)
        self.invitations = InvitationStatements(tables, dialect)
        self.waitlist = WaitlistStatements(tables, dialect)
        self.partners = PartnerStatements(tables, dialect)
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
        self.code_by_key = codes_select.where(cc.lookup_key == p("key"))

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
            rc.qualified_at,
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
        self.set_qualified = (
            update(referrals)
            .where(rc.id == p("rid"))
            .values(
                status=p("new_status"),
                qualified_at=p("new_qualified", type_=rc.qualified_at.type),
            )
            .returning(*self.referral_columns)
        )
        self.qualified_count_at = select(func.count()).where(
            rc.referrer == p("referrer"), rc.status == "qualified", rc.qualified_at <= p("at")
        )
        self.rejected_for_referee = (
            referrals_select.where(rc.referee == p("referee"), rc.status == "rejected")
            .order_by(rc.attributed_at.desc(), rc.seq.desc())
            .limit(1)
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
            vc.order_number,
            vc.recorded_at,
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
        self.conversions_for_referrals = select(
            vc.occurred_at, vc.seq, *self.conversion_columns
        ).where(vc.referral_id.in_(p("ids", expanding=True)))
        self.ordered_count = select(func.count()).where(
            rc.referrer == p("referrer"),
            rc.status.in_(("pending", "qualified")),
            select(vc.seq).where(vc.referral_id == rc.id).exists(),
        )
        refunds = tables.refunds
        fc = refunds.c
        self.refund_insert: Insert = (
            insert(refunds).on_conflict_do_nothing().returning(fc.refund_id)
        )
        self.refund_by_id = select(
            fc.order_id, fc.currency, fc.amount_minor, fc.occurred_at, fc.reward_ids
        ).where(fc.refund_id == p("refund_id"))

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
            wc.netted_minor,
            wc.recovered_minor,
            wc.redeemed_order,
            wc.payout_id,
            wc.expires_at,
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
                netted_minor=p("new_netted"),
                recovered_minor=p("new_recovered"),
                redeemed_order=p("new_redeemed_order", type_=wc.redeemed_order.type),
                payout_id=p("new_payout_id", type_=wc.payout_id.type),
                expires_at=p("new_expires_at", type_=wc.expires_at.type),
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
        self.rewards_for_referrals = select(wc.seq, *self.reward_columns).where(
            wc.referral_id.in_(p("ids", expanding=True))
        )
        self.rewards_for_referrer_since = (
            select(*self.reward_columns)
            .select_from(rewards.join(referrals, rc.id == wc.referral_id))
            .where(
                rc.referrer == p("referrer"), wc.state != "reversed", wc.created_at >= p("since")
            )
            .order_by(wc.seq)
        )
        self.reward_by_coupon = rewards_select.where(
            wc.coupon_code == p("coupon_code")
        ).with_for_update()
        self.outstanding = (
            rewards_select.where(
                wc.customer_id == p("customer_id"),
                wc.currency == p("currency"),
                wc.clawback_minor > func.coalesce(wc.recovered_minor, 0),
            )
            .order_by(wc.seq)
            .with_for_update()
        )
        self.available_rewards = rewards_select.where(wc.state == "available")
        redemptions = tables.coupon_redemptions
        self.redemption_insert: Insert = (
            insert(redemptions).on_conflict_do_nothing().returning(redemptions.c.order_id)
        )
        self.redemption_order = select(redemptions.c.order_id).where(
            redemptions.c.coupon_code == p("coupon_code")
        )
        payouts = tables.payouts
        self.payout_insert: Insert = (
            insert(payouts).on_conflict_do_nothing().returning(payouts.c.payout_id)
        )
        self.payout_rewards = select(payouts.c.reward_ids).where(
            payouts.c.payout_id == p("payout_id")
        )
        settlements = tables.clawback_settlements
        self.settlement_insert: Insert = (
            insert(settlements).on_conflict_do_nothing().returning(settlements.c.reference)
        )
        self.settlement_amount = select(settlements.c.currency, settlements.c.amount_minor).where(
            settlements.c.reference == p("reference")
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
        self.event_columns = (ec.id, ec.type, ec.payload, ec.occurred_at, ec.attempts)
        undelivered = and_(ec.acked == false(), ec.dead_at.is_(None))
        claimable = and_(undelivered, or_(ec.claimable_at.is_(None), ec.claimable_at <= p("now")))
        events_select = select(*self.event_columns)
        self.pending_events = events_select.where(undelivered).order_by(ec.id).limit(p("limit"))
        self.claimable_events = events_select.where(claimable).order_by(ec.id).limit(p("limit"))
        # One statement decides the claim; on PostgreSQL the rows another claim is taking
        # are skipped, and each row locked is re-checked against the claimable condition.
        claimed = (
            select(ec.id)
            .where(claimable)
            .order_by(ec.id)
            .limit(p("limit"))
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        self.claim_events = (
            update(events)
            .where(ec.id.in_(claimed))
            .values(
                claimable_at=p("until", type_=ec.claimable_at.type),
                worker=p("worker", type_=ec.worker.type),
                attempts=ec.attempts + 1,
            )
            .returning(*self.event_columns)
        )
        ids = ec.id.in_(p("ids", expanding=True))
        self.ack_events = update(events).where(ids, ec.acked == false()).values(acked=true())
        self.release_events = (
            update(events)
            .where(ids, ec.acked == false())
            .values(claimable_at=p("at", type_=ec.claimable_at.type), worker=None, dead_at=None)
        )
        self.dead_letter_events = (
            update(events)
            .where(ids, undelivered)
            .values(dead_at=p("at", type_=ec.dead_at.type), claimable_at=None, worker=None)
        )
        self.dead_letters = (
            events_select.where(ec.acked == false(), ec.dead_at.is_not(None))
            .order_by(ec.id)
            .limit(p("limit"))
        )
        prunable = (
            select(ec.id)
            .where(ec.acked == true(), ec.occurred_at < p("before"))
            .order_by(ec.id)
            .limit(p("limit"))
            .scalar_subquery()
        )
        self.prune_events = events.delete().where(ec.id.in_(prunable))

        # -- clicks -----------------------------------------------------------------------
        clicks = tables.clicks
        kc = clicks.c
        self.click_insert = clicks.insert().returning(kc.id)
        self.clicks_for_visitors = (
            select(kc.id, kc.code, kc.visitor, kc.occurred_at, kc.channel, kc.campaign)
            .where(
                kc.visitor.in_(p("visitors", expanding=True)),
                kc.occurred_at >= p("since"),
                kc.occurred_at <= p("until"),
            )
            .order_by(kc.occurred_at, kc.id)
        )

        # -- terms and metadata -----------------------------------------------------------
        versions = tables.policy_versions
        self.terms_insert: Insert = insert(versions).on_conflict_do_nothing()
        self.terms_by_version = select(versions.c.definition).where(
            versions.c.version == p("version")
        )
        meta = tables.meta
        self.meta_insert: Insert = insert(meta).on_conflict_do_nothing()
        meta_put = insert(meta)
        self.meta_put = meta_put.on_conflict_do_update(
            index_elements=[meta.c.name],
            set_={"value": meta_put.excluded.value, "updated_at": meta_put.excluded.updated_at},
        )
        self.meta_by_name = select(meta.c.value).where(meta.c.name == p("name"))

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

        self._variants: dict[tuple[Any, ...], Any] = {}

    def _variant(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        """The statement built for ``key``, built once: each has only the filters it uses."""
        found = self._variants.get(key)
        if found is None:
            found = self._variants[key] = build()
        return found

    def _after(self, rc: Any) -> Any:
        """After the cursor referral's place in (attribution time, id) order.

        An unknown cursor has no place: the comparisons are NULL and the page is empty.
        """
        cursor = self.tables.referrals.alias("cursor")
        at = select(cursor.c.attributed_at).where(cursor.c.id == bindparam("after"))
        rid = select(cursor.c.id).where(cursor.c.id == bindparam("after"))
        at_, id_ = at.scalar_subquery(), rid.scalar_subquery()
        return or_(rc.attributed_at > at_, and_(rc.attributed_at == at_, rc.id > id_))

    def review_page(self, *, after: bool, reason: bool, referrer: bool) -> Any:
        """The review queue's page, with the cursor and filters given."""

        def build() -> Any:
            referrals = self.tables.referrals
            rc = referrals.c
            where: list[Any] = [rc.status == "review"]
            if referrer:
                where.append(rc.referrer == bindparam("referrer"))
            if reason:
                value = _elements(self.dialect, rc.reasons)
                where.append(
                    select(value.c.value).where(value.c.value == bindparam("reason")).exists()
                )
            if after:
                where.append(self._after(rc))
            return (
                select(*self.referral_columns)
                .where(*where)
                .order_by(rc.attributed_at, rc.id)
                .limit(bindparam("limit"))
            )

        return self._variant(("review", after, reason, referrer), build)

    def friends(self, *, after: bool) -> Any:
        """A referrer's referees: the standing referral of each, else its latest rejected one."""

        def build() -> Any:
            referrals = self.tables.referrals
            rc = referrals.c
            o = referrals.alias("other")
            # A rejected row gives way to a standing one, or to a later rejected one.
            shadowed = (
                select(o.c.seq)
                .where(
                    o.c.referrer == rc.referrer,
                    o.c.referee == rc.referee,
                    o.c.seq != rc.seq,
                    rc.status == "rejected",
                    or_(
                        o.c.status != "rejected",
                        o.c.attributed_at > rc.attributed_at,
                        and_(o.c.attributed_at == rc.attributed_at, o.c.seq > rc.seq),
                    ),
                )
                .exists()
            )
            where = [rc.referrer == bindparam("referrer"), ~shadowed]
            if after:
                where.append(self._after(rc))
            return (
                select(*self.referral_columns)
                .where(*where)
                .order_by(rc.attributed_at, rc.id)
                .limit(bindparam("limit"))
            )

        return self._variant(("friends", after), build)

    def available(self, *, kind: bool, currency: bool, after: bool) -> Any:
        """Available rewards by id, with the filters given."""

        def build() -> Any:
            wc = self.tables.rewards.c
            statement = self.available_rewards
            if kind:
                statement = statement.where(wc.kind == bindparam("kind"))
            if currency:
                statement = statement.where(wc.currency == bindparam("currency"))
            if after:
                statement = statement.where(wc.id > bindparam("after"))
            return statement.order_by(wc.id).limit(bindparam("limit"))

        return self._variant(("available", kind, currency, after), build)

    def pending(self, *, at: bool) -> Any:
        """Undelivered events, or only those claimable at ``now``."""
        return self.claimable_events if at else self.pending_events


def _elements(dialect: str, document: Any) -> Any:
    """The text elements of a JSON array, as a table with a ``value`` column."""
    if dialect == "postgresql":
        return func.jsonb_array_elements_text(document).table_valued("value")
    return func.json_each(document).table_valued("value")


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
    rid, code, referrer, referee, status, reasons, at, campaign, version, channel, qualified = row
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
        qualified_at=qualified,
    )


def _conversion_row(row: Sequence[Any]) -> Conversion:
    (
        order_id,
        referee,
        currency,
        amount,
        refunded,
        occurred_at,
        first_order,
        referral_id,
        order_number,
        recorded_at,
    ) = row
    return Conversion(
        order_id=order_id,
        referee=referee,
        amount=money_from_minor(amount, currency),
        occurred_at=occurred_at,
        first_order=bool(first_order),
        referral_id=referral_id,
        refunded=money_from_minor(refunded, currency) if refunded else None,
        order_number=int(order_number),
        recorded_at=recorded_at,
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
        netted,
        recovered,
        redeemed_order,
        payout_id,
        expires_at,
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
        netted=money_from_minor_or_none(netted, currency),
        recovered=money_from_minor_or_none(recovered, currency),
        redeemed_order=redeemed_order,
        payout_id=payout_id,
        expires_at=expires_at,
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
                "lookup_key": code_key(code.code),
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

    def find(self, key: str) -> ReferralCode | None:
        """The code whose key (`referralkit.codes.code_key` of its text) is ``key``."""
        row = self._s.run(self._q.code_by_key, {"key": key}).first()
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

    def set_qualified(self, referral_id: str, qualified_at: datetime | None) -> Referral:
        """Qualify the referral from ``qualified_at``, or set it back to pending with None."""
        status = ReferralStatus.PENDING if qualified_at is None else ReferralStatus.QUALIFIED
        row = self._s.run(
            self._q.set_qualified,
            {"rid": referral_id, "new_status": status.value, "new_qualified": qualified_at},
        ).first()
        if row is None:
            raise UnknownReferral(f"no referral {referral_id!r}", value=referral_id)
        return _referral_row(row)

    def qualified_count_at(self, referrer: str, at: datetime) -> int:
        """Referrals qualified by ``at``, under the referrer's lock (tiers)."""
        self._s.locks.customer(referrer)
        return int(
            self._s.run(self._q.qualified_count_at, {"referrer": referrer, "at": at}).scalar_one()
        )

    def review_page(
        self, limit: int, *, after: str | None, reason: str | None, referrer: str | None
    ) -> list[Referral]:
        """A page of the review queue by (attribution time, id), after the cursor."""
        statement = self._q.review_page(
            after=after is not None, reason=reason is not None, referrer=referrer is not None
        )
        params = {"limit": limit, "after": after, "reason": reason, "referrer": referrer}
        rows = self._s.rows(statement, {k: v for k, v in params.items() if v is not None})
        return [_referral_row(r) for r in rows]

    def friends(self, referrer: str, *, after: str | None, limit: int) -> list[Referral]:
        """A page of the referrer's referees, one referral each, after the cursor."""
        statement = self._q.friends(after=after is not None)
        params: dict[str, Any] = {"referrer": referrer, "limit": limit}
        if after is not None:
            params["after"] = after
        return [_referral_row(r) for r in self._s.rows(statement, params)]

    def rejected_for_referee(self, referee: str) -> Referral | None:
        """The referee's most recent rejected referral."""
        row = self._s.run(self._q.rejected_for_referee, {"referee": referee}).first()
        return None if row is None else _referral_row(row)

    def ordered_count(self, referrer: str) -> int:
        """The referrer's accepted referrals with an order."""
        return int(self._s.run(self._q.ordered_count, {"referrer": referrer}).scalar_one())

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
                "order_number": conversion.order_number,
                "recorded_at": conversion.recorded_at,
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

    def for_referrals(self, referral_ids: Sequence[str]) -> list[Conversion]:
        """The orders of any of these referrals, oldest first."""
        rows = _rows_for_ids(self._s, self._q.conversions_for_referrals, referral_ids)
        return [_conversion_row(r[2:]) for r in rows]

    def add_refund(self, refund: RefundRecord) -> tuple[RefundRecord, bool]:
        """Record a refund unless its id exists; returns the stored one and whether new."""
        created = self._s.run(
            self._q.refund_insert,
            {
                "refund_id": refund.refund_id,
                "order_id": refund.order_id,
                "currency": refund.amount.currency,
                "amount_minor": to_minor_units(refund.amount),
                "occurred_at": refund.occurred_at,
                "reward_ids": list(refund.reward_ids),
            },
        ).first()
        if created is not None:
            return refund, True
        order_id, currency, amount, occurred_at, reward_ids = _one(
            self._s.run(self._q.refund_by_id, {"refund_id": refund.refund_id}).first(),
            refund.refund_id,
        )
        stored = RefundRecord(
            refund_id=refund.refund_id,
            order_id=order_id,
            amount=money_from_minor(amount, currency),
            occurred_at=occurred_at,
            reward_ids=tuple(reward_ids),
        )
        return stored, False


def _one(row: Any, key: str) -> Any:
    """The row an ``ON CONFLICT DO NOTHING`` proved exists."""
    if row is None:  # pragma: no cover - the conflict proves it exists
        raise StorageError(f"{key!r} vanished", value=key)
    return row


def _rows_for_ids(session: Session, statement: Any, ids: Sequence[str]) -> list[Any]:
    """Rows of ``statement`` (an ``ids`` IN list) for ``ids``, by their first two columns.

    Batches of `_CHUNK` ids: one query for any page a program asks for.
    """
    wanted = list(dict.fromkeys(ids))
    rows: list[Any] = []
    for start in range(0, len(wanted), _CHUNK):
        rows += session.rows(statement, {"ids": wanted[start : start + _CHUNK]})
    rows.sort(key=lambda row: (row[0], row[1]))
    return rows


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
        "netted_minor": _minor(r.netted),
        "recovered_minor": _minor(r.recovered),
        "redeemed_order": r.redeemed_order,
        "payout_id": r.payout_id,
        "expires_at": r.expires_at,
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
                "new_netted": _minor(reward.netted),
                "new_recovered": _minor(reward.recovered),
                "new_redeemed_order": reward.redeemed_order,
                "new_payout_id": reward.payout_id,
                "new_expires_at": reward.expires_at,
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

    def for_referrals(self, referral_ids: Sequence[str]) -> list[Reward]:
        """The rewards of any of these referrals, in grant order."""
        rows = _rows_for_ids(self._s, self._q.rewards_for_referrals, referral_ids)
        return [_reward_row(r[1:]) for r in rows]

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

    def for_referrer_since(self, referrer: str, since: datetime) -> list[Reward]:
        """Rewards not reversed under the referrer's referrals since ``since``, under its lock."""
        self._s.locks.customer(referrer)
        rows = self._s.rows(
            self._q.rewards_for_referrer_since, {"referrer": referrer, "since": since}
        )
        return [_reward_row(r) for r in rows]

    def by_coupon(self, coupon_code: str) -> Reward | None:
        """The coupon reward, locked for update (a redemption decides on it)."""
        row = self._s.run(self._q.reward_by_coupon, {"coupon_code": coupon_code}).first()
        return None if row is None else _reward_row(row)

    def add_redemption(
        self, coupon_code: str, order_id: str, customer_id: str, at: datetime
    ) -> tuple[str, bool]:
        """Record the coupon's use on an order, once per coupon (its primary key)."""
        created = self._s.run(
            self._q.redemption_insert,
            {
                "coupon_code": coupon_code,
                "order_id": order_id,
                "customer_id": customer_id,
                "redeemed_at": at,
            },
        ).first()
        if created is not None:
            return order_id, True
        row = _one(
            self._s.run(self._q.redemption_order, {"coupon_code": coupon_code}).first(),
            coupon_code,
        )
        return str(row[0]), False

    def available(
        self, *, kind: str | None, currency: str | None, after: str | None, limit: int
    ) -> list[Reward]:
        """Available rewards across customers, by id after ``after``."""
        statement = self._q.available(
            kind=kind is not None, currency=currency is not None, after=after is not None
        )
        params = {"kind": kind, "currency": currency, "after": after, "limit": limit}
        rows = self._s.rows(statement, {k: v for k, v in params.items() if v is not None})
        return [_reward_row(r) for r in rows]

    def outstanding(self, customer_id: str, currency: str) -> list[Reward]:
        """Unrecovered clawbacks, oldest first, under the customer's lock, locked for update."""
        self._s.locks.customer(customer_id)
        rows = self._s.rows(self._q.outstanding, {"customer_id": customer_id, "currency": currency})
        return [_reward_row(r) for r in rows]

    def add_payout(
        self, payout_id: str, reward_ids: Sequence[str], at: datetime
    ) -> tuple[tuple[str, ...], bool]:
        """Record a payout batch once under its id."""
        created = self._s.run(
            self._q.payout_insert,
            {"payout_id": payout_id, "reward_ids": list(reward_ids), "created_at": at},
        ).first()
        if created is not None:
            return tuple(reward_ids), True
        row = _one(self._s.run(self._q.payout_rewards, {"payout_id": payout_id}).first(), payout_id)
        return tuple(row[0]), False

    def add_settlement(
        self, reference: str, customer_id: str, amount: Money, at: datetime
    ) -> tuple[Money, bool]:
        """Record a clawback collected outside, once per reference."""
        created = self._s.run(
            self._q.settlement_insert,
            {
                "reference": reference,
                "customer_id": customer_id,
                "currency": amount.currency,
                "amount_minor": to_minor_units(amount),
                "settled_at": at,
            },
        ).first()
        if created is not None:
            return amount, True
        currency, minor = _one(
            self._s.run(self._q.settlement_amount, {"reference": reference}).first(), reference
        )
        return money_from_minor(int(minor), currency), False


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

    def pending(self, limit: int, now: datetime | None = None) -> list[Event]:
        """Undelivered events oldest first (with ``now``, only those claimable then)."""
        params: dict[str, Any] = {"limit": limit}
        if now is not None:
            params["now"] = now
        rows = self._s.rows(self._q.pending(at=now is not None), params)
        return [_event_row(r) for r in rows]

    def ack(self, event_ids: Iterable[int]) -> int:
        """Mark events delivered; returns how many were pending."""
        return self._each_chunk(self._q.ack_events, event_ids, {})

    def claim(
        self, limit: int, now: datetime, until: datetime, worker: str | None = None
    ) -> list[Event]:
        """Lease up to ``limit`` claimable events in one statement (rows being claimed skipped)."""
        rows = self._s.rows(
            self._q.claim_events, {"now": now, "until": until, "worker": worker, "limit": limit}
        )
        return sorted((_event_row(r) for r in rows), key=lambda e: e.id)

    def release(self, event_ids: Iterable[int], at: datetime) -> int:
        """Hand events back, claimable again from ``at``."""
        return self._each_chunk(self._q.release_events, event_ids, {"at": at})

    def dead_letter(self, event_ids: Iterable[int], at: datetime) -> int:
        """Give undelivered events up at ``at``."""
        return self._each_chunk(self._q.dead_letter_events, event_ids, {"at": at})

    def dead_letters(self, limit: int) -> list[Event]:
        """Events given up and not acknowledged since, oldest first."""
        return [_event_row(r) for r in self._s.rows(self._q.dead_letters, {"limit": limit})]

    def prune(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` acknowledged events from before ``before``."""
        return int(self._s.run(self._q.prune_events, {"before": before, "limit": limit}).rowcount)

    def _each_chunk(self, statement: Any, event_ids: Iterable[int], params: dict[str, Any]) -> int:
        ids = sorted({int(i) for i in event_ids})
        changed = 0
        for start in range(0, len(ids), _CHUNK):
            chunk = {**params, "ids": ids[start : start + _CHUNK]}
            changed += self._s.run(statement, chunk).rowcount
        return changed


def _event_row(row: Sequence[Any]) -> Event:
    event_id, type_, payload, occurred_at, attempts = row
    return Event(
        id=int(event_id),
        type=type_,
        payload=payload,
        occurred_at=occurred_at,
        attempts=int(attempts),
    )


# -- clicks --------------------------------------------------------------------------


class SQLAlchemyClicks(_Repo):
    """`referralkit.protocols.ClickRepository` in SQL."""

    __slots__ = ()

    def add(self, click: Click) -> Click:
        """Store the click; its id comes from the table's sequence."""
        click_id = self._s.run(
            self._q.click_insert,
            {
                "code": click.code,
                "visitor": click.visitor,
                "occurred_at": click.occurred_at,
                "channel": click.channel,
                "campaign": click.campaign,
            },
        ).scalar_one()
        return attrs.evolve(click, id=int(click_id))

    def for_visitor(
        self, visitors: Collection[str], since: datetime, until: datetime
    ) -> list[Click]:
        """Clicks under any of ``visitors`` in ``[since, until]``, oldest first, then by id."""
        keys = list(dict.fromkeys(visitors))
        if not keys:
            return []
        rows = self._s.rows(
            self._q.clicks_for_visitors, {"visitors": keys, "since": since, "until": until}
        )
        return [
            Click(
                id=int(i),
                code=code,
                visitor=visitor,
                occurred_at=at,
                channel=channel,
                campaign=campaign,
            )
            for i, code, visitor, at, channel, campaign in rows
        ]


# -- terms and metadata --------------------------------------------------------------


class SQLAlchemyTerms(_Repo):
    """`referralkit.protocols.TermsRepository` in SQL."""

    __slots__ = ()

    def add(self, version: str, definition: str, at: datetime) -> str:
        """Record the definition unless recorded; returns the stored one."""
        self._s.run(
            self._q.terms_insert, {"version": version, "definition": definition, "created_at": at}
        )
        return str(_one(self.get(version), version))

    def get(self, version: str) -> str | None:
        """The definition recorded under ``version``."""
        found = self._s.run(self._q.terms_by_version, {"version": version}).scalar()
        return None if found is None else str(found)


class SQLAlchemyMeta(_Repo):
    """`referralkit.protocols.MetaRepository` in SQL."""

    __slots__ = ()

    def add(self, name: str, value: str, at: datetime) -> str:
        """Record ``value`` unless a value is recorded (the primary key decides)."""
        self._s.run(self._q.meta_insert, {"name": name, "value": value, "updated_at": at})
        return str(_one(self.get(name), name))

    def put(self, name: str, value: str, at: datetime) -> None:
        """Record ``value``, replacing any value before."""
        self._s.run(self._q.meta_put, {"name": name, "value": value, "updated_at": at})

    def get(self, name: str) -> str | None:
        """The value recorded under ``name``."""
        found = self._s.run(self._q.meta_by_name, {"name": name}).scalar()
        return None if found is None else str(found)


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
    terms: SQLAlchemyTerms
    clicks: SQLAlchemyClicks
    meta: SQLAlchemyMeta
    moments: SQLAlchemyMoments
    deliveries: SQLAlchemyDeliveries
    display_names: SQLAlchemyDisplayNames
    claims: SQLAlchemyClaims
    groups: SQLAlchemyGroups
    invitations: SQLAlchemyInvitations
    waitlist: SQLAlchemyWaitlist
    partners: SQLAlchemyPartners

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
            SQLAlchemyTerms(session, statements),
            SQLAlchemyClicks(session, statements),
            SQLAlchemyMeta(session, statements),
            SQLAlchemyMoments(session, statements.moments),
            SQLAlchemyDeliveries(session, statements.moments),
            SQLAlchemyDisplayNames(session, statements.moments),
            SQLAlchemyClaims(session, statements.moments),
            SQLAlchemyGroups(session, statements.groups),
            SQLAlchemyInvitations(session, statements.invitations),
            SQLAlchemyWaitlist(session, statements.waitlist),
            SQLAlchemyPartners(session, statements.partners),
        )
