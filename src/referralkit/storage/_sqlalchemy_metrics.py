"""The SQLAlchemy store's `MetricsSource`: each figure family is one aggregate query.

The same SQLAlchemy Core statements run on PostgreSQL and SQLite; only three things
differ by dialect and live in `_Dialect`: the ISO week of a time, a time as
microseconds since the epoch, and the elements of a JSON array. Nothing loads stored
rows into Python: each method returns at most one row per group (and at most ``limit``
groups where they are unbounded, as referrers are); the median cycle time is picked in
SQL with a window function.

A view is one read transaction: REPEATABLE READ READ ONLY on PostgreSQL (one snapshot,
no lock taken, writers never wait for it), a deferred transaction on SQLite. With a
``read_engine`` (a replica) views read there, except the clicks an attribution reads
(`visitor_clicks`), which come from the primary so that a click just tracked counts.

Partners' codes (``partner_codes``), the referrals made with them and their clicks are
left out: they are the partner programmes' (`_sqlalchemy_programmes`), not customer
referrals.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    distinct,
    false,
    func,
    literal_column,
    null,
    or_,
    select,
    true,
    union,
)
from sqlalchemy import exc as sa_exc

from referralkit.metrics._programme_facts import ProgrammeFacts
from referralkit.metrics._source import (
    Click,
    ClickRow,
    Dimension,
    FunnelRow,
    MoneyRow,
    RewardRow,
    Window,
    median_micros,
)
from referralkit.storage._sqlalchemy_errors import cause, storage_error
from referralkit.storage._sqlalchemy_programmes import ACCOUNT_REASONS, programme_facts
from referralkit.storage._sqlalchemy_tables import Tables


class MeasuredStore(Protocol):
    """What a metrics source reads of its `referralkit.storage.SQLAlchemyStore`."""

    tables: Tables
    dialect: str
    read_engine: Engine
    separate_reads: bool

    @property
    def memory_lock(self) -> threading.RLock | None:
        """The lock of an in-memory SQLite database, if any."""
        ...

    def bound_connection(self) -> Connection | None:
        """The host connection bound in this context, if any."""
        ...

    def connect(self) -> Connection:
        """A connection to the primary."""
        ...


__all__ = ["SQLAlchemyMetricsSource", "SQLAlchemyMetricsView"]


class _Dialect:
    """What PostgreSQL and SQLite spell differently."""

    def __init__(self, name: str) -> None:
        self.postgresql = name == "postgresql"

    def week(self, at: ColumnElement[Any]) -> ColumnElement[str]:
        """The ISO date of the Monday (UTC) starting the week of ``at``."""
        if self.postgresql:
            monday = func.date_trunc("week", func.timezone("UTC", at))
            return func.to_char(monday, "YYYY-MM-DD", type_=String)
        # SQLite stores UTC text: its first 10 characters are the date.
        return func.date(func.substr(at, 1, 10), "-6 days", "weekday 1", type_=String)

    def micros(self, at: ColumnElement[Any]) -> ColumnElement[int]:
        """``at`` as integer microseconds since the epoch (exact)."""
        if self.postgresql:
            return cast(func.extract("epoch", at) * 1_000_000, BigInteger)
        seconds = cast(func.strftime("%s", func.substr(at, 1, 19)), Integer)
        return seconds * 1_000_000 + cast(func.substr(at, 21, 6), Integer)

    def elements(self, document: ColumnElement[Any]) -> Any:
        """The text elements of a JSON array, as a table with a ``value`` column."""
        if self.postgresql:
            return func.jsonb_array_elements_text(document).table_valued("value")
        return func.json_each(document).table_valued("value")


def _within(column: ColumnElement[Any], window: Window) -> list[ColumnElement[bool]]:
    """``since <= column < until``, the open sides left out."""
    return [
        *([column >= window.since] if window.since is not None else []),
        *_before_end(column, window),
    ]


def _before_end(column: ColumnElement[Any], window: Window) -> list[ColumnElement[bool]]:
    return [column < window.until] if window.until is not None else []


def _keys(expr: ColumnElement[Any], keys: Sequence[str | None] | None) -> list[Any]:
    """``expr`` among ``keys`` (None standing for NULL), or nothing when keys is None."""
    if keys is None:
        return []
    named = [k for k in keys if k is not None]
    parts: list[ColumnElement[bool]] = []
    if named:
        parts.append(expr.in_(named))
    if None in keys:
        parts.append(expr.is_(None))
    return [or_(*parts) if parts else false()]


def _grouped(key: Any, by: Dimension | None) -> list[Any]:
    """``[key]`` when grouping by a dimension; nothing for the whole program."""
    return [] if by is None else [key]


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


class SQLAlchemyMetricsView:
    """Aggregate queries on one read transaction (see `referralkit.metrics.MetricsView`)."""

    def __init__(self, conn: Connection, store: MeasuredStore) -> None:
        self._c = conn
        self._store = store
        self._t: Tables = store.tables
        self._d = _Dialect(store.dialect)

    def _all(self, statement: Select[Any]) -> list[Any]:
        try:
            return list(self._c.execute(statement).all())
        except sa_exc.SQLAlchemyError as error:
            raise storage_error(error, "reading metrics") from cause(error)

    def _customers(self, code: ColumnElement[Any]) -> ColumnElement[bool]:
        """``code`` is no partner's: partners' codes are the partner programmes'."""
        return code.not_in(select(self._t.partner_codes.c.code))

    def _attributed(self, window: Window) -> list[ColumnElement[bool]]:
        """Customers' referrals attributed in the window (partners' codes and accounts out)."""
        r = self._t.referrals.c
        return [
            r.reasons != ACCOUNT_REASONS,
            self._customers(r.code),
            *_within(r.attributed_at, window),
        ]

    def _referral_key(self, by: Dimension | None) -> ColumnElement[Any]:
        r = self._t.referrals.c
        if by is None:
            return null()
        if by == "week":
            return self._d.week(r.attributed_at)
        return {"campaign": r.campaign, "channel": r.channel, "referrer": r.referrer}[by]

    def enrolment(self, window: Window) -> tuple[int, int]:
        """Customers with a code by the window's end, and those whose codes were used."""
        codes, r, k = self._t.codes.c, self._t.referrals.c, self._t.clicks.c
        created = [self._customers(codes.code), *_before_end(codes.created_at, window)]
        used = union(
            select(r.code).where(r.status != "rejected", *self._attributed(window)),
            select(k.code).where(self._customers(k.code), *_within(k.occurred_at, window)),
        )
        statement = select(
            select(func.count(distinct(codes.owner))).where(*created).scalar_subquery(),
            select(func.count(distinct(codes.owner)))
            .where(codes.code.in_(used), *created)
            .scalar_subquery(),
        )
        enrolled, participants = self._all(statement)[0]
        return int(enrolled), int(participants)

    def funnel(
        self, window: Window, by: Dimension | None = None, limit: int | None = None
    ) -> list[FunnelRow]:
        """Attribution counts per group; a referral converts at its first order."""
        referrals, conversions = self._t.referrals, self._t.conversions
        r, c = referrals.c, conversions.c
        orders = (
            select(c.referral_id, func.count().label("n"))
            .where(
                c.referral_id.is_not(None),
                c.amount_minor > c.refunded_minor,  # refunded in full: no conversion
                *_before_end(c.occurred_at, window),
            )
            .group_by(c.referral_id)
            .subquery("orders")
        )
        standing = r.status != "rejected"
        n = case((standing, func.coalesce(orders.c.n, 0)), else_=0)
        k = self._referral_key(by).label("k")
        statement = (
            select(
                k,
                func.count(),
                _count_if(r.status == "rejected"),
                _count_if(r.status == "review"),
                _count_if(standing).label("referrals"),
                _count_if(n >= 1).label("converted"),
                _count_if(n >= 2),  # noqa: PLR2004 - a repeat customer's second order
            )
            .select_from(referrals.outerjoin(orders, orders.c.referral_id == r.id))
            .where(*self._attributed(window))
        )
        if by is not None:
            key = k.nulls_first()
            ranks = [key] if by == "week" else [_desc("converted"), _desc("referrals"), key]
            statement = statement.group_by(k).order_by(*ranks)
            if limit is not None:
                statement = statement.limit(limit)
        return [FunnelRow(key, *map(int, rest)) for key, *rest in self._all(statement)]

    def money(
        self, window: Window, by: Dimension | None = None, keys: Sequence[str | None] | None = None
    ) -> list[MoneyRow]:
        """Orders of the window's standing referrals per group and currency."""
        referrals, conversions = self._t.referrals, self._t.conversions
        r, c = referrals.c, conversions.c
        key = self._referral_key(by)
        k = key.label("k")
        statement = (
            select(
                k,
                c.currency,
                func.count(),
                func.sum(c.amount_minor),
                func.sum(c.refunded_minor),
            )
            .select_from(referrals.join(conversions, c.referral_id == r.id))
            .where(
                r.status != "rejected",
                *self._attributed(window),
                *_before_end(c.occurred_at, window),
                *_keys(key, keys if by is not None else None),
            )
            .group_by(*_grouped(k, by), c.currency)
            .order_by(*_grouped(k.nulls_first(), by), c.currency)
        )
        return [
            MoneyRow(key, currency, int(n), int(amount), int(refunded))
            for key, currency, n, amount, refunded in self._all(statement)
        ]

    def rewards(
        self, window: Window, by: Dimension | None = None, keys: Sequence[str | None] | None = None
    ) -> list[RewardRow]:
        """What the rewards under the window's standing referrals cost, net of recoveries.

        A reward's cost is its value (a reversed one's: what it had paid before, its
        clawback), less what was recovered of its clawback.
        """
        referrals, rewards = self._t.referrals, self._t.rewards
        r, w = referrals.c, rewards.c
        reversed_ = w.state == "reversed"
        key = self._referral_key(by)
        k = key.label("k")
        statement = (
            select(
                k,
                w.currency,
                func.coalesce(
                    func.sum(
                        case(
                            (reversed_, w.clawback_minor),
                            else_=func.coalesce(w.amount_minor, 0),
                        )
                        - func.coalesce(w.recovered_minor, 0)
                    ),
                    0,
                ),
                func.coalesce(func.sum(case((reversed_, 0), else_=w.points)), 0),
            )
            .select_from(referrals.join(rewards, w.referral_id == r.id))
            .where(
                r.status != "rejected",
                or_(~reversed_, w.clawback_minor.is_not(None)),
                *self._attributed(window),
                *_before_end(w.created_at, window),
                *_keys(key, keys if by is not None else None),
            )
            .group_by(*_grouped(k, by), w.currency)
            .order_by(*_grouped(k.nulls_first(), by), w.currency.nulls_first())
        )
        return [
            RewardRow(key, currency, int(amount), int(points))
            for key, currency, amount, points in self._all(statement)
        ]

    def clicks(
        self, window: Window, by: Dimension | None = None, keys: Sequence[str | None] | None = None
    ) -> list[ClickRow]:
        """Clicks in the window per group (the clicked code's owner for ``referrer``)."""
        clicks, codes = self._t.clicks, self._t.codes
        e = clicks.c
        source: Any = clicks
        key: ColumnElement[Any]
        if by is None:
            key = null()
        elif by == "week":
            key = self._d.week(e.occurred_at)
        elif by == "referrer":
            source = clicks.outerjoin(codes, codes.c.code == e.code)
            key = codes.c.owner
        else:
            key = {"campaign": e.campaign, "channel": e.channel}[by]
        k = key.label("k")
        statement = (
            select(k, func.count())
            .select_from(source)
            .where(
                self._customers(e.code),
                *_within(e.occurred_at, window),
                *_keys(key, keys if by is not None else None),
            )
        )
        if by is None:  # one row for the program, none when nothing was clicked
            statement = statement.having(func.count() > 0)
        else:
            statement = statement.group_by(k).order_by(k.nulls_first())
        return [ClickRow(key, int(n)) for key, n in self._all(statement)]

    def fraud_reasons(self, window: Window) -> list[tuple[str, int]]:
        """Reason codes of rejected attributions, each attribution counted once per reason."""
        referrals = self._t.referrals
        r = referrals.c
        reasons = self._d.elements(r.reasons)
        value = reasons.c.value
        statement = (
            select(value, func.count(distinct(r.id)))
            .select_from(referrals.join(reasons, true()))
            .where(r.status == "rejected", *self._attributed(window))
            .group_by(value)
            .order_by(value)
        )
        return [(str(reason), int(n)) for reason, n in self._all(statement)]

    def cycle_time(self, window: Window) -> timedelta | None:
        """Median enrolment-to-first-converted-referee time, picked in SQL."""
        referrals, conversions, codes = self._t.referrals, self._t.conversions, self._t.codes
        r, c, cd = referrals.c, conversions.c, codes.c
        first_orders = (
            select(r.referrer.label("who"), func.min(c.occurred_at).label("at"))
            .select_from(referrals.join(conversions, c.referral_id == r.id))
            .where(
                r.status != "rejected",
                *self._attributed(window),
                *_before_end(c.occurred_at, window),
            )
            .group_by(r.referrer)
            .subquery("firsts")
        )
        enrolled = (
            select(cd.owner.label("owner"), func.min(cd.created_at).label("at"))
            .group_by(cd.owner)
            .subquery("enrolled")
        )
        delta = (self._d.micros(first_orders.c.at) - self._d.micros(enrolled.c.at)).label("d")
        deltas = (
            select(delta, func.row_number().over(order_by=delta).label("rn"))
            .select_from(first_orders.join(enrolled, enrolled.c.owner == first_orders.c.who))
            .cte("deltas")
        )
        n = select(func.count()).select_from(deltas).scalar_subquery()
        statement = (
            select(deltas.c.d)
            .where(or_(deltas.c.rn == (n + 1) // 2, deltas.c.rn == (n + 2) // 2))
            .order_by(deltas.c.d)
        )
        return median_micros([int(d) for (d,) in self._all(statement)])

    def programme_facts(self, window: Window) -> ProgrammeFacts:
        """The programme comparison's sums per source (`_sqlalchemy_programmes`)."""
        return programme_facts(self._all, self._t, self._d.micros, window)

    def visitor_clicks(
        self, visitor: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[Click]:
        """The clicks stored under ``visitor`` in ``[since, until]``, oldest first (primary)."""
        k = self._t.clicks.c
        conditions = [k.visitor == visitor]
        if since is not None:
            conditions.append(k.occurred_at >= since)
        if until is not None:
            conditions.append(k.occurred_at <= until)
        statement = (
            select(k.id, k.code, k.occurred_at, k.channel, k.campaign)
            .where(and_(*conditions))
            .order_by(k.occurred_at, k.id)
        )
        return [
            Click(
                code=code,
                visitor=visitor,
                occurred_at=at,
                channel=channel,
                campaign=campaign,
                id=int(click_id),
            )
            for click_id, code, at, channel, campaign in self._primary_rows(statement)
        ]

    def _primary_rows(self, statement: Select[Any]) -> list[Any]:
        store = self._store
        if not store.separate_reads or store.bound_connection() is not None:
            return self._all(statement)
        try:
            with store.connect() as conn:
                return list(conn.execute(statement).all())
        except sa_exc.SQLAlchemyError as error:
            raise storage_error(error, "reading clicks") from cause(error)


def _desc(label: str) -> Any:
    """``ORDER BY <label> DESC`` on a column of the select list."""
    return literal_column(label).desc()


class SQLAlchemyMetricsSource:
    """`MetricsSource` of an `SQLAlchemyStore`: each view is one read transaction."""

    def __init__(self, store: MeasuredStore) -> None:
        self._store = store

    @contextmanager
    def snapshot(self) -> Iterator[SQLAlchemyMetricsView]:
        """A consistent read: its own read-only transaction, or the bound host transaction."""
        store = self._store
        bound = store.bound_connection()
        if bound is not None:
            yield SQLAlchemyMetricsView(bound, store)
            return
        lock = store.memory_lock
        if lock is not None:
            lock.acquire()
        try:
            try:
                conn = store.read_engine.connect()
            except sa_exc.SQLAlchemyError as error:
                raise storage_error(error, "opening a metrics view") from cause(error)
            try:
                try:
                    conn.begin()
                except sa_exc.SQLAlchemyError as error:
                    raise storage_error(error, "opening a metrics view") from cause(error)
                yield SQLAlchemyMetricsView(conn, store)
            finally:
                try:
                    conn.rollback()
                    conn.close()
                except sa_exc.SQLAlchemyError:  # a lost connection is discarded anyway
                    pass
        finally:
            if lock is not None:
                lock.release()
