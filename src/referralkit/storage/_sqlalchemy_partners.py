"""The SQLAlchemy store's partner programmes: `referralkit.program.PartnerRepository` in SQL.

The same rules as the SQLite store's: every insert is ``ON CONFLICT DO NOTHING`` under
its natural key, checked by its row count (and what won read back); a state change is
one conditional ``UPDATE ... WHERE state <> :state``. A statement is added up by two
``GROUP BY currency`` queries, one over the partner's orders and one over their rewards.
A per-partner cap needs nothing here: the commission's policy reads the partner's
rewards under the partner's customer lock (`SQLAlchemyRewards.for_customer`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from referralkit.metrics._partner_figures import PartnerFigures
from referralkit.model import (
    Partner,
    PartnerCode,
    PartnerEngagement,
    PartnerGroup,
    PartnerOrder,
    PartnerPost,
    PartnerState,
    RewardState,
)
from referralkit.storage._sqlalchemy_partner_bounties import BountyStatements, SQLAlchemyBounties
from referralkit.storage._sqlalchemy_partner_payouts import (
    PayoutStatements,
    SQLAlchemyPayouts,
    threshold_columns,
    threshold_of,
)
from referralkit.storage._sqlalchemy_partner_reviews import ReviewStatements, SQLAlchemyReviews
from referralkit.storage._sqlalchemy_partner_terms import SQLAlchemyTermsReads, TermsStatements
from referralkit.storage._sqlalchemy_session import Session
from referralkit.storage._sqlalchemy_tables import (
    ENGAGEMENT_COUNTS,
    Tables,
    time_param,
)
from referralkit.storage._sqlite_codec import money_from_minor_or_none, to_minor_units

__all__ = ["PartnerStatements", "SQLAlchemyPartners"]

_STATE = {s.value: s for s in PartnerState}
#: The reward figures of a statement, in the order `PartnerStatements.reward_figures` sums them.
_REWARD_FIGURES = (
    "commission",
    "fees",
    "reversed",
    "held",
    "available",
    "paid",
    "clawed_back",
    "owed",
)


def _window(column: Any) -> Any:
    """``column`` within the optional ``[since, until)`` window of the statement's binds."""
    lo, hi = time_param("since"), time_param("until")
    return and_(or_(lo.is_(None), column >= lo), or_(hi.is_(None), column < hi))


def _sum(value: Any) -> Any:
    return func.coalesce(func.sum(value), literal(0))


class PartnerStatements:
    """The statements of the partner repository, built once per installation and dialect."""

    def __init__(self, tables: Tables, dialect: str) -> None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        p = bindparam
        t = tables
        pc = t.partners.c
        self.partner_columns = (
            pc.id,
            pc.name,
            pc.kind,
            pc.state,
            pc.created_at,
            pc.account_referral,
            pc.audience,
            pc.niches,
            pc.region,
            pc.payout_ref,
            pc.terms_version,
            pc.group_id,
            pc.threshold_currency,
            pc.threshold_minor,
            pc.hold_seconds,
            pc.verified,
            pc.verification_ref,
        )
        self.partner_insert = insert(t.partners).on_conflict_do_nothing(index_elements=[pc.id])
        self.partner = select(*self.partner_columns).where(pc.id == p("pid"))
        self.set_state = (
            update(t.partners)
            .where(pc.id == p("pid"), pc.state != p("new_state"))
            .values(state=p("new_state"))
        )
        self.set_terms = (
            update(t.partners)
            .where(pc.id == p("pid"))
            .values(terms_version=p("new_terms"), group_id=p("new_group"))
        )

        gc = t.partner_groups.c
        self.group_insert = insert(t.partner_groups).on_conflict_do_nothing(index_elements=[gc.id])
        self.group = select(
            gc.id,
            gc.terms_version,
            gc.created_at,
            gc.threshold_currency,
            gc.threshold_minor,
            gc.hold_seconds,
        ).where(gc.id == p("gid"))
        self.set_group_terms = (
            update(t.partner_groups).where(gc.id == p("gid")).values(terms_version=p("new_terms"))
        )

        cc = t.partner_codes.c
        codes = select(cc.code, cc.partner_id, cc.post_id)
        self.code_insert = insert(t.partner_codes).on_conflict_do_nothing(index_elements=[cc.code])
        self.code = codes.where(cc.code == p("pcode"))
        self.codes = codes.where(cc.partner_id == p("pid")).order_by(cc.seq)

        oc = t.partner_posts.c
        self.post_columns = (
            oc.id,
            oc.partner_id,
            oc.channel,
            oc.created_at,
            oc.currency,
            oc.cost_minor,
            oc.reward_id,
        )
        self.post_insert = insert(t.partner_posts).on_conflict_do_nothing(index_elements=[oc.id])
        self.post = select(*self.post_columns).where(oc.id == p("post"))
        self.set_post_reward = (
            update(t.partner_posts).where(oc.id == p("post")).values(reward_id=p("new_reward"))
        )

        ec = t.partner_engagement.c
        reports = select(
            ec.post_id, ec.as_of, ec.recorded_at, *(ec[name] for name in ENGAGEMENT_COUNTS)
        )
        self.engagement_insert = insert(t.partner_engagement).on_conflict_do_nothing(
            index_elements=[ec.post_id, ec.as_of]
        )
        self.engagement = reports.where(ec.post_id == p("post"), ec.as_of == time_param("at"))
        self.latest_engagement = (
            reports.where(ec.post_id == p("post")).order_by(ec.as_of.desc()).limit(1)
        )

        rc = t.partner_orders.c
        self.order_columns = (
            rc.order_id,
            rc.partner_id,
            rc.code,
            rc.customer_id,
            rc.terms_version,
            rc.attributed_at,
            rc.post_id,
        )
        self.order_insert = insert(t.partner_orders).on_conflict_do_nothing(
            index_elements=[rc.order_id]
        )
        self.order = select(*self.order_columns).where(rc.order_id == p("order"))
        self.order_figures, self.reward_figures = _figures(tables)
        self.terms = TermsStatements(tables, dialect)
        self.bounties = BountyStatements(tables, dialect)
        self.payouts = PayoutStatements(tables, dialect)
        self.reviews = ReviewStatements(tables, dialect)


def _figures(t: Tables) -> tuple[Any, Any]:
    """A statement's two queries: the partner's orders, and their rewards, by currency."""
    c, o = t.conversions.c, t.partner_orders.c
    orders = (
        select(c.currency, func.count(), _sum(c.amount_minor - c.refunded_minor))
        .select_from(t.partner_orders.join(t.conversions, c.order_id == o.order_id))
        .where(o.partner_id == bindparam("pid"), _window(c.occurred_at))
        .group_by(c.currency)
    )
    w, pc = t.rewards.c, t.partners.c
    granted = w.granted_minor
    current = func.coalesce(w.amount_minor, 0)
    netted = func.coalesce(w.netted_minor, 0)
    claw = func.coalesce(w.clawback_minor, 0)
    unrecovered = claw - func.coalesce(w.recovered_minor, 0)

    available = w.state == RewardState.AVAILABLE.value

    def in_state(state: RewardState) -> Any:
        return _sum(case((w.state == state.value, current), else_=0))

    rewards = (
        select(
            w.currency,
            _sum(case((w.order_id.is_(None), 0), else_=granted)),
            _sum(case((w.order_id.is_(None), granted), else_=0)),
            _sum(case((w.state == RewardState.REVERSED.value, granted), else_=granted - current)),
            in_state(RewardState.HELD),
            # What netting took of an available reward paid a debt: it counts as paid.
            _sum(case((available, current - netted), else_=0)),
            _sum(case((w.state == RewardState.PAID.value, current), (available, netted), else_=0)),
            _sum(claw),
            _sum(case((unrecovered > 0, unrecovered), else_=0)),
        )
        .select_from(t.rewards.join(t.partners, w.referral_id == pc.account_referral))
        .where(
            pc.id == bindparam("pid"),
            w.customer_id == pc.id,
            granted.is_not(None),
            _window(w.created_at),
        )
        .group_by(w.currency)
    )
    return orders, rewards


def _partner(row: Any) -> Partner | None:
    if row is None:
        return None
    pid, name, kind, state, created, account, audience, niches, region, ref, terms, group = row[:12]
    t_currency, t_minor, hold, verified, verification_ref = row[12:]
    return Partner(
        id=pid,
        name=name,
        kind=kind,
        state=_STATE[state],
        created_at=created,
        account_referral=account,
        audience=int(audience),
        niches=tuple(niches),
        region=region,
        payout_ref=ref,
        terms_version=terms,
        group=group,
        payout_threshold=threshold_of(t_minor, t_currency),
        hold_seconds=None if hold is None else int(hold),
        verified=None if verified is None else bool(verified),
        verification_ref=verification_ref,
    )


def _post(row: Any) -> PartnerPost | None:
    if row is None:
        return None
    pid, partner_id, channel, created, currency, cost, reward_id = row
    return PartnerPost(
        id=pid,
        partner_id=partner_id,
        channel=channel,
        created_at=created,
        cost=money_from_minor_or_none(None if cost is None else int(cost), currency),
        reward_id=reward_id,
    )


def _engagement(row: Any) -> PartnerEngagement | None:
    if row is None:
        return None
    post_id, as_of, recorded, *counts = row
    figures = dict(zip(ENGAGEMENT_COUNTS, (int(n) for n in counts), strict=True))
    return PartnerEngagement(post_id=post_id, as_of=as_of, recorded_at=recorded, **figures)


def _order(row: Any) -> PartnerOrder | None:
    if row is None:
        return None
    order_id, partner_id, code, customer, terms, at, post_id = row
    return PartnerOrder(
        order_id=order_id,
        partner_id=partner_id,
        code=code,
        customer_id=customer,
        terms_version=terms,
        attributed_at=at,
        post_id=post_id,
    )


class SQLAlchemyPartners(
    SQLAlchemyTermsReads, SQLAlchemyBounties, SQLAlchemyPayouts, SQLAlchemyReviews
):
    """`referralkit.program.PartnerRepository` for `referralkit.storage.SQLAlchemyStore`.

    With its payouts (`PartnerPayoutRepository`) and reviews (`PartnerReviewRepository`):
    the parts other than the partners' own rows live in the mixins' modules.
    """

    __slots__ = ("_q", "_s")
    _q: PartnerStatements

    def __init__(self, session: Session, statements: PartnerStatements) -> None:
        self._s = session
        self._q = statements

    def _first(self, statement: Any, **params: Any) -> Any:
        return self._s.run(statement, params).first()

    def add(self, partner: Partner) -> tuple[Partner, bool]:
        """Insert ``partner`` unless its id exists; what is stored, and whether it is new."""
        params = {
            "id": partner.id,
            "name": partner.name,
            "kind": partner.kind,
            "state": partner.state.value,
            "created_at": partner.created_at,
            "account_referral": partner.account_referral,
            "audience": partner.audience,
            "niches": list(partner.niches),
            "region": partner.region,
            "payout_ref": partner.payout_ref,
            "terms_version": partner.terms_version,
            "group_id": partner.group,
            **threshold_columns(partner.payout_threshold),
            "hold_seconds": partner.hold_seconds,
            "verified": partner.verified,
            "verification_ref": partner.verification_ref,
        }
        return self._s.insert_once(
            self._q.partner_insert, params, partner, lambda: self.get(partner.id)
        )

    def get(self, partner_id: str) -> Partner | None:
        """The partner with this id."""
        return _partner(self._first(self._q.partner, pid=partner_id))

    def set_state(self, partner_id: str, state: PartnerState) -> bool:
        """Move the partner to ``state`` in one conditional update; whether it moved."""
        params = {"pid": partner_id, "new_state": state.value}
        return bool(self._s.run(self._q.set_state, params).rowcount == 1)

    def set_terms(self, partner_id: str, terms_version: str | None, group: str | None) -> None:
        """Replace the partner's own terms and group (None: none)."""
        params = {"pid": partner_id, "new_terms": terms_version, "new_group": group}
        self._s.run(self._q.set_terms, params)

    def add_group(self, group: PartnerGroup) -> tuple[PartnerGroup, bool]:
        """Insert ``group`` unless its id exists; what is stored, and whether it is new."""
        params = {
            "id": group.id,
            "terms_version": group.terms_version,
            "created_at": group.created_at,
            **threshold_columns(group.payout_threshold),
            "hold_seconds": group.hold_seconds,
        }
        return self._s.insert_once(
            self._q.group_insert, params, group, lambda: self.get_group(group.id)
        )

    def get_group(self, group_id: str) -> PartnerGroup | None:
        """The partner group with this id."""
        row = self._first(self._q.group, gid=group_id)
        if row is None:
            return None
        gid, terms, created, t_currency, t_minor, hold = row
        return PartnerGroup(
            id=gid,
            terms_version=terms,
            created_at=created,
            hold_seconds=None if hold is None else int(hold),
            payout_threshold=threshold_of(t_minor, t_currency),
        )

    def set_group_terms(self, group_id: str, terms_version: str) -> None:
        """Replace the group's terms."""
        self._s.run(self._q.set_group_terms, {"gid": group_id, "new_terms": terms_version})

    def add_code(self, code: PartnerCode) -> PartnerCode:
        """Map ``code`` to its partner unless mapped; the stored mapping."""
        params = {"code": code.code, "partner_id": code.partner_id, "post_id": code.post_id}
        self._s.run(self._q.code_insert, params)
        stored = self.code(code.code)
        assert stored is not None  # noqa: S101 - inserted, or there already
        return stored

    def code(self, code: str) -> PartnerCode | None:
        """The partner (and post) a code belongs to, if it is a partner's code."""
        row = self._first(self._q.code, pcode=code)
        return None if row is None else PartnerCode(row[0], row[1], row[2])

    def codes(self, partner_id: str) -> list[PartnerCode]:
        """Every code of the partner, in the order they were made."""
        rows = self._s.rows(self._q.codes, {"pid": partner_id})
        return [PartnerCode(code, partner, post) for code, partner, post in rows]

    def add_post(self, post: PartnerPost) -> tuple[PartnerPost, bool]:
        """Insert ``post`` unless its id exists; what is stored, and whether it is new."""
        cost = post.cost
        params = {
            "id": post.id,
            "partner_id": post.partner_id,
            "channel": post.channel,
            "created_at": post.created_at,
            "currency": None if cost is None else cost.currency,
            "cost_minor": None if cost is None else to_minor_units(cost),
            "reward_id": post.reward_id,
        }
        return self._s.insert_once(
            self._q.post_insert, params, post, lambda: self.get_post(post.id)
        )

    def get_post(self, post_id: str) -> PartnerPost | None:
        """The post with this id."""
        return _post(self._first(self._q.post, post=post_id))

    def set_post_reward(self, post_id: str, reward_id: str) -> None:
        """Record the reward that is the post's fee."""
        self._s.run(self._q.set_post_reward, {"post": post_id, "new_reward": reward_id})

    def add_engagement(self, report: PartnerEngagement) -> tuple[PartnerEngagement, bool]:
        """Insert ``report`` unless (post, as-of) exists; what is stored, and whether new."""
        params: dict[str, Any] = {
            "post_id": report.post_id,
            "as_of": report.as_of,
            "recorded_at": report.recorded_at,
        }
        params.update((name, getattr(report, name)) for name in ENGAGEMENT_COUNTS)
        return self._s.insert_once(
            self._q.engagement_insert,
            params,
            report,
            lambda: _engagement(
                self._first(self._q.engagement, post=report.post_id, at=report.as_of)
            ),
        )

    def engagement(self, post_id: str) -> PartnerEngagement | None:
        """The post's report with the latest as-of time."""
        return _engagement(self._first(self._q.latest_engagement, post=post_id))

    def attribute(self, order: PartnerOrder) -> tuple[PartnerOrder, bool]:
        """Insert ``order`` unless its order id exists; what is stored, and whether new."""
        params = {
            "order_id": order.order_id,
            "partner_id": order.partner_id,
            "code": order.code,
            "customer_id": order.customer_id,
            "terms_version": order.terms_version,
            "attributed_at": order.attributed_at,
            "post_id": order.post_id,
        }
        return self._s.insert_once(
            self._q.order_insert, params, order, lambda: self.order(order.order_id)
        )

    def order(self, order_id: str) -> PartnerOrder | None:
        """The partner the order was attributed to at checkout, if any."""
        return _order(self._first(self._q.order, order=order_id))

    def figures(
        self, partner_id: str, since: datetime | None, until: datetime | None
    ) -> list[PartnerFigures]:
        """The partner's statement over ``[since, until)``, one per currency, in SQL."""
        params = {"pid": partner_id, "since": since, "until": until}
        by: dict[str, dict[str, int]] = {}
        for currency, orders, revenue in self._s.rows(self._q.order_figures, params):
            by.setdefault(currency, {}).update(orders=int(orders), revenue=int(revenue))
        for currency, *values in self._s.rows(self._q.reward_figures, params):
            by.setdefault(currency, {}).update(
                zip(_REWARD_FIGURES, (int(v or 0) for v in values), strict=True)
            )
        return [PartnerFigures(currency=c, **by[c]) for c in sorted(by)]
