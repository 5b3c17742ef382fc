"""The SQLite store's partner programmes: `PartnerRepository` over six tables.

Every insert is ``ON CONFLICT DO NOTHING`` under its natural key, checked by its row
count; a state change is one conditional ``UPDATE``. A statement is added up by two
``GROUP BY currency`` queries, one over the partner's orders and one over their rewards.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime

from referralkit.context import Signal
from referralkit.metrics._partner_figures import PartnerFigures
from referralkit.model import (
    Partner,
    PartnerCode,
    PartnerEngagement,
    PartnerGroup,
    PartnerOrder,
    PartnerPost,
    PartnerReview,
    PartnerState,
    PartnerSubmission,
    SubmissionState,
)
from referralkit.money import Money
from referralkit.payouts import LineStatus, PartnerDue, PartnerPayout
from referralkit.storage._sqlite_codec import (
    decode_time,
    encode_time,
    money_from_minor_or_none,
    to_minor_units,
)

__all__ = ["SQLitePartners"]

_PARTNER_COLUMNS = (
    "id, name, kind, state, created_at, account_referral, audience, niches, region,"
    " payout_ref, terms_version, group_id, threshold_currency, threshold_minor, hold_seconds,"
    " verified, verification_ref"
)
_GROUP_COLUMNS = "id, terms_version, created_at, threshold_currency, threshold_minor, hold_seconds"
_LINE_COLUMNS = (
    "batch_id, line_id, partner_id, payout_ref, currency, amount_minor, reward_ids, status,"
    " reference, reason"
)
# Per partner and currency: available value (less what was netted) less clawbacks owed,
# beside the threshold that binds it (the partner's own, else the group's).
_DUE = (
    "SELECT d.partner_id, d.currency, d.payable, d.t_currency, d.t_minor FROM ("
    " SELECT p.id AS partner_id, w.currency AS currency,"
    "  SUM(CASE WHEN w.state = 'available'"
    "   THEN w.amount_minor - COALESCE(w.netted_minor, 0) ELSE 0 END)"
    "  - SUM(CASE WHEN COALESCE(w.clawback_minor, 0) > COALESCE(w.recovered_minor, 0)"
    "   THEN COALESCE(w.clawback_minor, 0) - COALESCE(w.recovered_minor, 0) ELSE 0 END)"
    "   AS payable,"
    "  CASE WHEN p.threshold_minor IS NULL THEN g.threshold_currency"
    "   ELSE p.threshold_currency END AS t_currency,"
    "  CASE WHEN p.threshold_minor IS NULL THEN g.threshold_minor"
    "   ELSE p.threshold_minor END AS t_minor"
    " FROM partners AS p"
    " JOIN rewards AS w ON w.referral_id = p.account_referral AND w.customer_id = p.id"
    " LEFT JOIN partner_groups AS g ON g.id = p.group_id"
    " WHERE w.currency IS NOT NULL AND w.amount_minor IS NOT NULL"
    "  AND (? IS NULL OR w.currency = ?)"
    "  AND (? IS NULL OR p.id > ? OR (p.id = ? AND w.currency > ?))"
    " GROUP BY p.id, w.currency, p.threshold_currency, p.threshold_minor,"
    "  g.threshold_currency, g.threshold_minor"
    ") AS d"
    " WHERE d.payable > 0"
    "  AND (d.t_minor IS NULL OR d.t_currency <> d.currency OR d.payable >= d.t_minor)"
    " ORDER BY d.partner_id, d.currency LIMIT ?"
)
_POST_COLUMNS = "id, partner_id, channel, created_at, currency, cost_minor, reward_id"
_COUNT_COLUMNS = "impressions, reach, engagements, likes, comments, shares, saves"
_ORDER_COLUMNS = "order_id, partner_id, code, customer_id, terms_version, attributed_at, post_id"
_REVIEW_COLUMNS = (
    "id, reward_id, partner_id, order_id, reasons, opened_at, decision, decided_at, note"
)
_OPEN_REVIEWS = (
    f"SELECT {_REVIEW_COLUMNS} FROM partner_reviews WHERE decision IS NULL"  # noqa: S608 - fixed text
    " AND (? IS NULL OR seq > (SELECT seq FROM partner_reviews WHERE id = ?))"
    " AND (? IS NULL OR partner_id = ?) AND (? IS NULL OR order_id = ?)"
    " AND (? IS NULL OR reasons LIKE ? ESCAPE '!') ORDER BY seq LIMIT ?"
)
_ORDER_FIGURES = (
    "SELECT c.currency, COUNT(*), COALESCE(SUM(c.amount_minor - c.refunded_minor), 0)"
    " FROM partner_orders AS o JOIN conversions AS c ON c.order_id = o.order_id"
    " WHERE o.partner_id = ? AND (? IS NULL OR c.occurred_at >= ?)"
    " AND (? IS NULL OR c.occurred_at < ?) GROUP BY c.currency"
)
_SUBMISSION_COLUMNS = (
    "id, partner_id, url, currency, fee_minor, state, submitted_at, decided_at, reason, reward_id"
)
_REVENUE = (
    "SELECT c.currency, COALESCE(SUM(c.amount_minor - c.refunded_minor), 0)"
    " FROM partner_orders AS o JOIN conversions AS c ON c.order_id = o.order_id"
    " WHERE o.partner_id = ? AND c.occurred_at >= ? AND c.occurred_at < ?"
    " AND c.order_id <> ?"
    " AND COALESCE(c.recorded_at, c.occurred_at) <= (SELECT COALESCE(b.recorded_at,"
    " b.occurred_at) FROM conversions AS b WHERE b.order_id = ?)"
    " GROUP BY c.currency ORDER BY c.currency"
)
_PERIOD_SPEND = (
    "SELECT COALESCE(currency, ''), COALESCE(SUM(COALESCE(amount_minor, 0)), 0),"
    " COALESCE(SUM(points), 0) FROM rewards"
    " WHERE state <> 'reversed' AND created_at >= ? AND created_at < ?"
    " GROUP BY COALESCE(currency, '') ORDER BY 1"
)
_REWARD_FIGURES = (
    "SELECT w.currency,"
    " SUM(CASE WHEN w.order_id IS NULL THEN 0 ELSE w.granted_minor END),"
    " SUM(CASE WHEN w.order_id IS NULL THEN w.granted_minor ELSE 0 END),"
    " SUM(CASE WHEN w.state = 'reversed' THEN w.granted_minor"
    "  ELSE w.granted_minor - COALESCE(w.amount_minor, 0) END),"
    " SUM(CASE WHEN w.state = 'held' THEN COALESCE(w.amount_minor, 0) ELSE 0 END),"
    " SUM(CASE WHEN w.state = 'available'"
    "  THEN COALESCE(w.amount_minor, 0) - COALESCE(w.netted_minor, 0) ELSE 0 END),"
    " SUM(CASE WHEN w.state = 'paid' THEN COALESCE(w.amount_minor, 0)"
    "  WHEN w.state = 'available' THEN COALESCE(w.netted_minor, 0) ELSE 0 END),"
    " SUM(COALESCE(w.clawback_minor, 0)),"
    " SUM(MAX(COALESCE(w.clawback_minor, 0) - COALESCE(w.recovered_minor, 0), 0))"
    " FROM rewards AS w JOIN partners AS p ON w.referral_id = p.account_referral"
    " WHERE p.id = ? AND w.customer_id = p.id AND w.granted_minor IS NOT NULL"
    " AND (? IS NULL OR w.created_at >= ?) AND (? IS NULL OR w.created_at < ?)"
    " GROUP BY w.currency"
)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _partner(row: tuple[object, ...] | None) -> Partner | None:
    if row is None:
        return None
    pid, name, kind, state, created, account, audience, niches, region, ref, terms, group = row[:12]
    t_currency, t_minor, hold, verified, verification_ref = row[12:]
    return Partner(
        id=str(pid),
        name=str(name),
        kind=str(kind),
        state=PartnerState(state),
        created_at=decode_time(str(created)),
        account_referral=str(account),
        audience=int(str(audience)),
        niches=tuple(json.loads(str(niches))),
        region=_text(region),
        payout_ref=_text(ref),
        terms_version=_text(terms),
        group=_text(group),
        payout_threshold=_threshold(t_minor, t_currency),
        hold_seconds=None if hold is None else int(str(hold)),
        verified=None if verified is None else bool(verified),
        verification_ref=_text(verification_ref),
    )


def _threshold(minor: object, currency: object) -> Money | None:
    return money_from_minor_or_none(None if minor is None else int(str(minor)), _text(currency))


def _group(row: tuple[object, ...] | None) -> PartnerGroup | None:
    if row is None:
        return None
    gid, terms, created, t_currency, t_minor, hold = row
    return PartnerGroup(
        id=str(gid),
        terms_version=str(terms),
        created_at=decode_time(str(created)),
        hold_seconds=None if hold is None else int(str(hold)),
        payout_threshold=_threshold(t_minor, t_currency),
    )


def _line(row: tuple[object, ...]) -> PartnerPayout:
    batch_id, line_id, partner_id, ref, currency, minor, rewards, status, reference, reason = row
    return PartnerPayout(
        batch_id=str(batch_id),
        line_id=str(line_id),
        partner_id=str(partner_id),
        payout_ref=_text(ref),
        amount=Money.from_minor(int(str(minor)), str(currency)),
        reward_ids=tuple(json.loads(str(rewards))),
        status=LineStatus(status),
        reference=_text(reference),
        reason=_text(reason),
    )


def _post(row: tuple[object, ...] | None) -> PartnerPost | None:
    if row is None:
        return None
    pid, partner_id, channel, created, currency, cost, reward_id = row
    return PartnerPost(
        id=str(pid),
        partner_id=str(partner_id),
        channel=_text(channel),
        created_at=decode_time(str(created)),
        cost=money_from_minor_or_none(None if cost is None else int(str(cost)), _text(currency)),
        reward_id=_text(reward_id),
    )


def _engagement(row: tuple[object, ...] | None) -> PartnerEngagement | None:
    if row is None:
        return None
    post_id, as_of, recorded, *counts = row
    i, r, e, likes, comments, shares, saves = (int(str(c)) for c in counts)
    return PartnerEngagement(
        post_id=str(post_id),
        as_of=decode_time(str(as_of)),
        recorded_at=decode_time(str(recorded)),
        impressions=i,
        reach=r,
        engagements=e,
        likes=likes,
        comments=comments,
        shares=shares,
        saves=saves,
    )


def _order(row: tuple[object, ...] | None) -> PartnerOrder | None:
    if row is None:
        return None
    order_id, partner_id, code, customer, terms, at, post_id = row
    return PartnerOrder(
        order_id=str(order_id),
        partner_id=str(partner_id),
        code=str(code),
        customer_id=str(customer),
        terms_version=str(terms),
        attributed_at=decode_time(str(at)),
        post_id=_text(post_id),
    )


def _review(row: tuple[object, ...] | None) -> PartnerReview | None:
    if row is None:
        return None
    rid, reward_id, partner_id, order_id, reasons, opened, decision, decided, note = row
    return PartnerReview(
        id=str(rid),
        reward_id=str(reward_id),
        partner_id=str(partner_id),
        order_id=_text(order_id),
        reasons=tuple(json.loads(str(reasons))),
        opened_at=decode_time(str(opened)),
        decision=_text(decision),
        decided_at=None if decided is None else decode_time(str(decided)),
        note=_text(note),
    )


def _like(text: str) -> str:
    """A LIKE pattern matching ``text`` as one JSON string of a reasons list."""
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{json.dumps(escaped)}%"


def _submission(row: tuple[object, ...] | None) -> PartnerSubmission | None:
    if row is None:
        return None
    sid, partner_id, url, currency, fee, state, submitted, decided, reason, reward_id = row
    return PartnerSubmission(
        id=str(sid),
        partner_id=str(partner_id),
        url=str(url),
        fee=Money.from_minor(int(str(fee)), str(currency)),
        state=SubmissionState(state),
        submitted_at=decode_time(str(submitted)),
        decided_at=None if decided is None else decode_time(str(decided)),
        reason=_text(reason),
        reward_id=_text(reward_id),
    )


class SQLitePartners:
    """`referralkit.program.PartnerRepository` for `referralkit.storage.SQLiteStore`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    def _one(self, sql: str, *args: object) -> tuple[object, ...] | None:
        row: tuple[object, ...] | None = self._c.execute(sql, args).fetchone()
        return row

    def add(self, partner: Partner) -> tuple[Partner, bool]:
        cur = self._c.execute(
            f"INSERT INTO partners ({_PARTNER_COLUMNS}) VALUES"  # noqa: S608 - fixed text
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (
                partner.id,
                partner.name,
                partner.kind,
                partner.state.value,
                encode_time(partner.created_at),
                partner.account_referral,
                partner.audience,
                json.dumps(list(partner.niches)),
                partner.region,
                partner.payout_ref,
                partner.terms_version,
                partner.group,
                *_threshold_columns(partner.payout_threshold),
                partner.hold_seconds,
                None if partner.verified is None else int(partner.verified),
                partner.verification_ref,
            ),
        )
        if cur.rowcount == 1:
            return partner, True
        stored = self.get(partner.id)
        assert stored is not None  # noqa: S101 - the insert met this very id
        return stored, False

    def get(self, partner_id: str) -> Partner | None:
        return _partner(
            self._one(f"SELECT {_PARTNER_COLUMNS} FROM partners WHERE id = ?", partner_id)  # noqa: S608 - fixed text
        )

    def set_state(self, partner_id: str, state: PartnerState) -> bool:
        cur = self._c.execute(
            "UPDATE partners SET state = ? WHERE id = ? AND state <> ?",
            (state.value, partner_id, state.value),
        )
        return cur.rowcount == 1

    def set_terms(self, partner_id: str, terms_version: str | None, group: str | None) -> None:
        self._c.execute(
            "UPDATE partners SET terms_version = ?, group_id = ? WHERE id = ?",
            (terms_version, group, partner_id),
        )

    def add_group(self, group: PartnerGroup) -> tuple[PartnerGroup, bool]:
        cur = self._c.execute(
            f"INSERT INTO partner_groups ({_GROUP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"  # noqa: S608 - fixed text
            " ON CONFLICT (id) DO NOTHING",
            (
                group.id,
                group.terms_version,
                encode_time(group.created_at),
                *_threshold_columns(group.payout_threshold),
                group.hold_seconds,
            ),
        )
        if cur.rowcount == 1:
            return group, True
        stored = self.get_group(group.id)
        assert stored is not None  # noqa: S101 - the insert met this very id
        return stored, False

    def get_group(self, group_id: str) -> PartnerGroup | None:
        return _group(
            self._one(f"SELECT {_GROUP_COLUMNS} FROM partner_groups WHERE id = ?", group_id)  # noqa: S608 - fixed text
        )

    def set_group_terms(self, group_id: str, terms_version: str) -> None:
        self._c.execute(
            "UPDATE partner_groups SET terms_version = ? WHERE id = ?", (terms_version, group_id)
        )

    def add_code(self, code: PartnerCode) -> PartnerCode:
        self._c.execute(
            "INSERT INTO partner_codes (code, partner_id, post_id) VALUES (?, ?, ?)"
            " ON CONFLICT (code) DO NOTHING",
            (code.code, code.partner_id, code.post_id),
        )
        stored = self.code(code.code)
        assert stored is not None  # noqa: S101 - inserted, or there already
        return stored

    def code(self, code: str) -> PartnerCode | None:
        row = self._one("SELECT code, partner_id, post_id FROM partner_codes WHERE code = ?", code)
        return None if row is None else PartnerCode(str(row[0]), str(row[1]), _text(row[2]))

    def codes(self, partner_id: str) -> list[PartnerCode]:
        rows = self._c.execute(
            "SELECT code, partner_id, post_id FROM partner_codes WHERE partner_id = ? ORDER BY seq",
            (partner_id,),
        )
        return [PartnerCode(str(c), str(p), _text(post)) for c, p, post in rows]

    def add_post(self, post: PartnerPost) -> tuple[PartnerPost, bool]:
        cost = post.cost
        cur = self._c.execute(
            f"INSERT INTO partner_posts ({_POST_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"  # noqa: S608 - fixed text
            " ON CONFLICT (id) DO NOTHING",
            (
                post.id,
                post.partner_id,
                post.channel,
                encode_time(post.created_at),
                None if cost is None else cost.currency,
                None if cost is None else to_minor_units(cost),
                post.reward_id,
            ),
        )
        if cur.rowcount == 1:
            return post, True
        stored = self.get_post(post.id)
        assert stored is not None  # noqa: S101 - the insert met this very id
        return stored, False

    def get_post(self, post_id: str) -> PartnerPost | None:
        return _post(
            self._one(f"SELECT {_POST_COLUMNS} FROM partner_posts WHERE id = ?", post_id)  # noqa: S608 - fixed text
        )

    def set_post_reward(self, post_id: str, reward_id: str) -> None:
        self._c.execute("UPDATE partner_posts SET reward_id = ? WHERE id = ?", (reward_id, post_id))

    def add_engagement(self, report: PartnerEngagement) -> tuple[PartnerEngagement, bool]:
        cur = self._c.execute(
            f"INSERT INTO partner_engagement (post_id, as_of, recorded_at, {_COUNT_COLUMNS})"  # noqa: S608 - fixed text
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (post_id, as_of) DO NOTHING",
            (
                report.post_id,
                encode_time(report.as_of),
                encode_time(report.recorded_at),
                report.impressions,
                report.reach,
                report.engagements,
                report.likes,
                report.comments,
                report.shares,
                report.saves,
            ),
        )
        if cur.rowcount == 1:
            return report, True
        stored = _engagement(
            self._one(
                f"SELECT post_id, as_of, recorded_at, {_COUNT_COLUMNS} FROM partner_engagement"  # noqa: S608 - fixed text
                " WHERE post_id = ? AND as_of = ?",
                report.post_id,
                encode_time(report.as_of),
            )
        )
        assert stored is not None  # noqa: S101 - the insert met this very key
        return stored, False

    def engagement(self, post_id: str) -> PartnerEngagement | None:
        return _engagement(
            self._one(
                f"SELECT post_id, as_of, recorded_at, {_COUNT_COLUMNS} FROM partner_engagement"  # noqa: S608 - fixed text
                " WHERE post_id = ? ORDER BY as_of DESC LIMIT 1",
                post_id,
            )
        )

    def attribute(self, order: PartnerOrder) -> tuple[PartnerOrder, bool]:
        cur = self._c.execute(
            f"INSERT INTO partner_orders ({_ORDER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"  # noqa: S608 - fixed text
            " ON CONFLICT (order_id) DO NOTHING",
            (
                order.order_id,
                order.partner_id,
                order.code,
                order.customer_id,
                order.terms_version,
                encode_time(order.attributed_at),
                order.post_id,
            ),
        )
        if cur.rowcount == 1:
            return order, True
        stored = self.order(order.order_id)
        assert stored is not None  # noqa: S101 - the insert met this very id
        return stored, False

    def order(self, order_id: str) -> PartnerOrder | None:
        return _order(
            self._one(
                f"SELECT {_ORDER_COLUMNS} FROM partner_orders WHERE order_id = ?",  # noqa: S608 - fixed text
                order_id,
            )
        )

    def figures(
        self, partner_id: str, since: datetime | None, until: datetime | None
    ) -> list[PartnerFigures]:
        lo = None if since is None else encode_time(since)
        hi = None if until is None else encode_time(until)
        window = (lo, lo, hi, hi)
        by: dict[str, dict[str, int]] = {}
        for currency, orders, revenue in self._c.execute(_ORDER_FIGURES, (partner_id, *window)):
            by.setdefault(str(currency), {}).update(orders=int(orders), revenue=int(revenue))
        names = (
            "commission",
            "fees",
            "reversed",
            "held",
            "available",
            "paid",
            "clawed_back",
            "owed",
        )
        for currency, *values in self._c.execute(_REWARD_FIGURES, (partner_id, *window)):
            by.setdefault(str(currency), {}).update(
                zip(names, (int(v or 0) for v in values), strict=True)
            )
        return [PartnerFigures(currency=c, **by[c]) for c in sorted(by)]

    def set_payout_terms(
        self, partner_id: str, threshold: Money | None, hold_seconds: int | None
    ) -> None:
        self._c.execute(
            "UPDATE partners SET threshold_currency = ?, threshold_minor = ?, hold_seconds = ?"
            " WHERE id = ?",
            (*_threshold_columns(threshold), hold_seconds, partner_id),
        )

    def set_group_payout_terms(
        self, group_id: str, threshold: Money | None, hold_seconds: int | None
    ) -> None:
        self._c.execute(
            "UPDATE partner_groups SET threshold_currency = ?, threshold_minor = ?,"
            " hold_seconds = ? WHERE id = ?",
            (*_threshold_columns(threshold), hold_seconds, group_id),
        )

    def set_verification(self, partner_id: str, ok: bool, reference: str | None) -> bool:
        cur = self._c.execute(
            "UPDATE partners SET verified = ?, verification_ref = ? WHERE id = ?"
            " AND (verified IS NULL OR verified <> ?"
            "  OR (verification_ref IS NULL) <> (? IS NULL) OR verification_ref <> ?)",
            (int(ok), reference, partner_id, int(ok), reference, reference),
        )
        return cur.rowcount == 1

    def due(
        self, *, currency: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[PartnerDue]:
        pid, cur = (None, None) if after is None else after
        rows = self._c.execute(_DUE, (currency, currency, pid, pid, pid, cur, limit))
        found = []
        for partner_id, line_currency, payable, t_currency, t_minor in rows:
            threshold = None
            if t_minor is not None and t_currency == line_currency:
                threshold = Money.from_minor(int(t_minor), str(t_currency))
            amount = Money.from_minor(int(payable), str(line_currency))
            found.append(PartnerDue(str(partner_id), amount, threshold))
        return found

    def available_rewards(self, partner_id: str, currency: str) -> list[str]:
        rows = self._c.execute(
            "SELECT w.id FROM rewards AS w JOIN partners AS p"
            " ON w.referral_id = p.account_referral AND w.customer_id = p.id"
            " WHERE p.id = ? AND w.state = 'available' AND w.currency = ? ORDER BY w.id",
            (partner_id, currency),
        )
        return [str(rid) for (rid,) in rows]

    def add_batch(
        self, batch_id: str, currency: str | None, at: datetime
    ) -> tuple[tuple[str | None, datetime], bool]:
        cur = self._c.execute(
            "INSERT INTO partner_payout_batches (batch_id, currency, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (batch_id) DO NOTHING",
            (batch_id, currency, encode_time(at)),
        )
        if cur.rowcount == 1:
            return (currency, at), True
        stored = self.batch(batch_id)
        assert stored is not None  # noqa: S101 - the insert met this very id
        return stored, False

    def batch(self, batch_id: str) -> tuple[str | None, datetime] | None:
        row = self._one(
            "SELECT currency, created_at FROM partner_payout_batches WHERE batch_id = ?", batch_id
        )
        return None if row is None else (_text(row[0]), decode_time(str(row[1])))

    def add_payout_line(self, line: PartnerPayout) -> None:
        self._c.execute(
            f"INSERT INTO partner_payout_lines ({_LINE_COLUMNS})"  # noqa: S608 - fixed text
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (line_id) DO NOTHING",
            (
                line.batch_id,
                line.line_id,
                line.partner_id,
                line.payout_ref,
                line.amount.currency,
                to_minor_units(line.amount),
                json.dumps(list(line.reward_ids)),
                line.status.value,
                line.reference,
                line.reason,
            ),
        )

    def set_line_outcome(
        self, line_id: str, status: LineStatus, reference: str | None, reason: str | None
    ) -> bool:
        cur = self._c.execute(
            "UPDATE partner_payout_lines SET status = ?, reference = ?, reason = ?"
            " WHERE line_id = ? AND status = 'pending'",
            (status.value, reference, reason, line_id),
        )
        return cur.rowcount == 1

    def batch_lines(self, batch_id: str) -> list[PartnerPayout]:
        rows = self._c.execute(
            f"SELECT {_LINE_COLUMNS} FROM partner_payout_lines WHERE batch_id = ? ORDER BY seq",  # noqa: S608 - fixed text
            (batch_id,),
        )
        return [_line(tuple(row)) for row in rows]

    def add_signals(self, partner_id: str, signals: Iterable[Signal]) -> None:
        self._c.executemany(
            "INSERT INTO partner_signals (partner_id, kind, digest) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            [(partner_id, kind, digest) for kind, digest in signals],
        )

    def signals(self, partner_id: str) -> frozenset[Signal]:
        rows = self._c.execute(
            "SELECT kind, digest FROM partner_signals WHERE partner_id = ?", (partner_id,)
        )
        return frozenset((str(kind), str(digest)) for kind, digest in rows)

    def check_order(self, order_id: str, partner_id: str, at: datetime, *, clicked: bool) -> bool:
        cur = self._c.execute(
            "INSERT INTO partner_checks (order_id, partner_id, checked_at, clicked)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (order_id) DO NOTHING",
            (order_id, partner_id, encode_time(at), int(clicked)),
        )
        return cur.rowcount == 1

    def unclicked(self, partner_id: str, since: datetime, until: datetime) -> int:
        row = self._one(
            "SELECT COUNT(*) FROM partner_checks WHERE partner_id = ? AND clicked = 0"
            " AND checked_at > ? AND checked_at <= ?",
            partner_id,
            encode_time(since),
            encode_time(until),
        )
        return 0 if row is None else int(str(row[0]))

    def add_review(self, review: PartnerReview) -> bool:
        cur = self._c.execute(
            f"INSERT INTO partner_reviews ({_REVIEW_COLUMNS}) VALUES"  # noqa: S608 - fixed text
            " (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                review.id,
                review.reward_id,
                review.partner_id,
                review.order_id,
                json.dumps(list(review.reasons)),
                encode_time(review.opened_at),
                review.decision,
                None if review.decided_at is None else encode_time(review.decided_at),
                review.note,
            ),
        )
        return cur.rowcount == 1

    def open_review(self, reward_id: str) -> PartnerReview | None:
        return _review(
            self._one(
                f"SELECT {_REVIEW_COLUMNS} FROM partner_reviews"  # noqa: S608 - fixed text
                " WHERE reward_id = ? AND decision IS NULL",
                reward_id,
            )
        )

    def open_reviews(
        self,
        limit: int,
        *,
        after: str | None = None,
        partner_id: str | None = None,
        order_id: str | None = None,
        reason: str | None = None,
    ) -> list[PartnerReview]:
        pattern = None if reason is None else _like(reason)
        rows = self._c.execute(
            _OPEN_REVIEWS,
            (after, after, partner_id, partner_id, order_id, order_id, pattern, pattern, limit),
        ).fetchall()
        return [r for r in map(_review, rows) if r is not None]

    def get_review(self, review_id: str) -> PartnerReview | None:
        return _review(
            self._one(
                f"SELECT {_REVIEW_COLUMNS} FROM partner_reviews WHERE id = ?",  # noqa: S608 - fixed text
                review_id,
            )
        )

    def decide(self, review_id: str, decision: str, note: str | None, at: datetime) -> bool:
        cur = self._c.execute(
            "UPDATE partner_reviews SET decision = ?, decided_at = ?, note = ?"
            " WHERE id = ? AND decision IS NULL",
            (decision, encode_time(at), note, review_id),
        )
        return cur.rowcount == 1

    def revenue(
        self, partner_id: str, since: datetime, until: datetime, *, before: str
    ) -> list[Money]:
        rows = self._c.execute(
            _REVENUE, (partner_id, encode_time(since), encode_time(until), before, before)
        )
        return [Money.from_minor(int(minor), str(currency)) for currency, minor in rows]

    def add_submission(self, submission: PartnerSubmission) -> tuple[PartnerSubmission, bool]:
        cur = self._c.execute(
            f"INSERT INTO partner_submissions ({_SUBMISSION_COLUMNS})"  # noqa: S608 - fixed text
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (
                submission.id,
                submission.partner_id,
                submission.url,
                submission.fee.currency,
                to_minor_units(submission.fee),
                submission.state.value,
                encode_time(submission.submitted_at),
                None if submission.decided_at is None else encode_time(submission.decided_at),
                submission.reason,
                submission.reward_id,
            ),
        )
        if cur.rowcount == 1:
            return submission, True
        stored = self.submission(submission.id)
        assert stored is not None  # noqa: S101 - the insert met this very id
        return stored, False

    def submission(self, submission_id: str) -> PartnerSubmission | None:
        return _submission(
            self._one(
                f"SELECT {_SUBMISSION_COLUMNS} FROM partner_submissions WHERE id = ?",  # noqa: S608 - fixed text
                submission_id,
            )
        )

    def decide_submission(
        self,
        submission_id: str,
        state: SubmissionState,
        at: datetime,
        *,
        reason: str | None = None,
        reward_id: str | None = None,
    ) -> bool:
        cur = self._c.execute(
            "UPDATE partner_submissions SET state = ?, decided_at = ?, reason = ?, reward_id = ?"
            " WHERE id = ? AND state = 'pending'",
            (state.value, encode_time(at), reason, reward_id, submission_id),
        )
        return cur.rowcount == 1

    def period_spend(self, since: datetime, until: datetime) -> tuple[list[Money], int]:
        money: list[Money] = []
        points = 0
        for currency, minor, pts in self._c.execute(
            _PERIOD_SPEND, (encode_time(since), encode_time(until))
        ):
            points += int(pts)
            if currency:
                money.append(Money.from_minor(int(minor), str(currency)))
        return money, points

    def add_order_attributes(
        self, order_id: str, attributes: Mapping[str, tuple[str, ...]]
    ) -> Mapping[str, tuple[str, ...]]:
        self._c.execute(
            "INSERT INTO order_attributes (order_id, attributes) VALUES (?, ?)"
            " ON CONFLICT (order_id) DO NOTHING",
            (order_id, json.dumps({k: list(v) for k, v in attributes.items()}, sort_keys=True)),
        )
        stored = self.order_attributes(order_id)
        assert stored is not None  # noqa: S101 - inserted, or there already
        return stored

    def order_attributes(self, order_id: str) -> Mapping[str, tuple[str, ...]] | None:
        row = self._one("SELECT attributes FROM order_attributes WHERE order_id = ?", order_id)
        if row is None:
            return None
        return {str(k): tuple(v) for k, v in json.loads(str(row[0])).items()}

    def first_attributed(self, partner_id: str, customer_id: str) -> datetime | None:
        row = self._one(
            "SELECT MIN(attributed_at) FROM partner_orders"
            " WHERE partner_id = ? AND customer_id = ?",
            partner_id,
            customer_id,
        )
        return None if row is None or row[0] is None else decode_time(str(row[0]))


def _threshold_columns(threshold: Money | None) -> tuple[str | None, int | None]:
    if threshold is None:
        return None, None
    return threshold.currency, to_minor_units(threshold)
