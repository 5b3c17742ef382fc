"""The SQLAlchemy store's tables: one definition per table, prefixed and in a chosen schema.

`build_tables` returns the `Tables` of one installation (``table_prefix``, ``schema``),
so referralkit's tables sit in the shop's own database beside the shop's tables.
Every natural key is a unique constraint, the one-standing-referral rule is a partial
unique index, and ``seq`` (an integer primary key) keeps insertion order, which some
reads return. Money is integer minor units, times are ``timestamptz`` on PostgreSQL
(UTC text on SQLite, through `UTCDateTime`), ids are text compared byte by byte.

These are the tables as the head migration leaves them (``_migrations/versions``):
a change here is a new migration there, and a test compares the two.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timezone
from typing import Any

import attrs
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
    bindparam,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, JSONB
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import TypeEngine

from referralkit.errors import ConfigError
from referralkit.storage._errors import require_aware

__all__ = [
    "ENGAGEMENT_COUNTS",
    "NAMING_CONVENTION",
    "Document",
    "IdText",
    "Serial",
    "Tables",
    "UTCDateTime",
    "build_tables",
    "check_prefix",
    "check_schema",
    "id_param",
    "time_param",
]

#: A post's engagement figures, one column each (`referralkit.model.PartnerEngagement`).
ENGAGEMENT_COUNTS = ("impressions", "reach", "engagements", "likes", "comments", "shares", "saves")
_PREFIX = re.compile(r"[a-z_][a-z0-9_]{0,29}\Z|\Z")
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}\Z")
# PostgreSQL text cannot hold NUL; ids may. On PostgreSQL, text is stored with NUL as
# ESC '0' and ESC as ESC ESC, which reads back exactly (and is the identity otherwise).
_ESC = "\x01"
_ESCAPED = re.compile("\x01(.)", re.DOTALL)


def check_prefix(prefix: object) -> str:
    """``prefix`` if it is a safe table-name prefix (lower case, digits, ``_``; up to 30)."""
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        raise ConfigError(
            "table_prefix must be lower-case letters, digits and '_' (at most 30), such as"
            " 'referralkit_'",
            value=prefix,
            path="table_prefix",
        )
    return prefix


def check_schema(schema: object) -> str | None:
    """``schema`` if it is None or a plain lower-case schema name."""
    if schema is not None and (not isinstance(schema, str) or not _SCHEMA.match(schema)):
        raise ConfigError(
            "schema must be None or a lower-case schema name such as 'referrals'",
            value=schema,
            path="schema",
        )
    return schema


#: Constraint names: the (prefixed) table, then the columns, so none clashes with the shop's.
NAMING_CONVENTION = {
    "pk": "%(table_name)s_pkey",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
}


def _unescape(match: re.Match[str]) -> str:
    return "\x00" if match.group(1) == "0" else match.group(1)


class IdText(TypeDecorator[str]):
    """Text compared byte by byte (``COLLATE "C"`` on PostgreSQL), holding any string."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """``TEXT COLLATE "C"`` on PostgreSQL: ids sort by code point, as Python sorts them."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Text(collation="C"))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        """Escape NUL (and the escape character) on PostgreSQL."""
        if value is None or dialect.name != "postgresql":
            return value
        if "\x00" in value or _ESC in value:
            return value.replace(_ESC, _ESC + _ESC).replace("\x00", _ESC + "0")
        return value

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        """Undo `process_bind_param`."""
        if value is None or _ESC not in value or dialect.name != "postgresql":
            return value
        return _ESCAPED.sub(_unescape, value)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware time: ``timestamptz`` on PostgreSQL, fixed-width UTC text on SQLite.

    Naive times are refused with `referralkit.StorageError`; times read back are UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse a naive time; SQLite stores the UTC wall time."""
        if value is None:
            return None
        require_aware(value)
        if dialect.name == "sqlite":
            return value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """The stored instant, in UTC (SQLite's text has no zone: it is UTC)."""
        del dialect
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        if value.tzinfo is timezone.utc:
            return value
        return value.astimezone(timezone.utc)


def id_param(name: str) -> BindParameter[Any]:
    """A bound parameter holding an id (`IdText`), typed even where it is only tested for NULL."""
    return bindparam(name, type_=IdText())


def time_param(name: str) -> BindParameter[Any]:
    """A bound parameter holding a time (`UTCDateTime`), typed likewise."""
    return bindparam(name, type_=UTCDateTime())


#: An integer primary key that counts up: BIGSERIAL on PostgreSQL, the rowid on SQLite.
Serial = BigInteger().with_variant(Integer(), "sqlite")
#: A JSON document: JSONB on PostgreSQL.
Document = JSON().with_variant(JSONB(), "postgresql")


@attrs.frozen(slots=True)
class Tables:
    """One installation's tables, on their own `MetaData`."""

    metadata: MetaData
    prefix: str
    schema: str | None
    codes: Table
    referrals: Table
    conversions: Table
    rewards: Table
    ledger: Table
    events: Table
    identity_signals: Table
    refunds: Table
    coupon_redemptions: Table
    payouts: Table
    clawback_settlements: Table
    policy_versions: Table
    clicks: Table
    meta: Table
    moments: Table
    moment_decisions: Table
    moment_shares: Table
    deliveries: Table
    display_names: Table
    claims: Table
    groups: Table
    group_members: Table
    invitations: Table
    invitation_redemptions: Table
    waitlist: Table
    partner_groups: Table
    partners: Table
    partner_codes: Table
    partner_posts: Table
    partner_engagement: Table
    partner_orders: Table
    partner_submissions: Table
    order_attributes: Table
    partner_payout_batches: Table
    partner_payout_lines: Table
    partner_signals: Table
    partner_checks: Table
    partner_reviews: Table

    @property
    def version_table(self) -> str:
        """The name of the migrations' own version table (never the shop's Alembic's)."""
        return f"{self.prefix}alembic_version"

    def all(self) -> tuple[Table, ...]:
        """Every table, parents before children."""
        return (
            self.codes,
            self.referrals,
            self.conversions,
            self.rewards,
            self.ledger,
            self.events,
            self.identity_signals,
            self.refunds,
            self.coupon_redemptions,
            self.payouts,
            self.clawback_settlements,
            self.policy_versions,
            self.clicks,
            self.meta,
            self.moments,
            self.moment_decisions,
            self.moment_shares,
            self.deliveries,
            self.display_names,
            self.claims,
            self.groups,
            self.group_members,
            self.invitations,
            self.invitation_redemptions,
            self.waitlist,
            self.partner_groups,
            self.partners,
            self.partner_codes,
            self.partner_posts,
            self.partner_engagement,
            self.partner_orders,
            self.partner_submissions,
            self.order_attributes,
            self.partner_payout_batches,
            self.partner_payout_lines,
            self.partner_signals,
            self.partner_checks,
            self.partner_reviews,
        )


def _seq() -> Column[int]:
    return Column("seq", Serial, primary_key=True, autoincrement=True)


def _codes(md: MetaData, p: str) -> Table:
    table = Table(
        f"{p}codes",
        md,
        _seq(),
        Column("code", IdText, nullable=False, unique=True),
        Column("owner", IdText, nullable=False),
        Column("campaign", IdText, nullable=False),
        Column("kind", IdText, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("expires_at", UTCDateTime),
        Column("max_uses", Integer),
        # `referralkit.codes.code_key` of the text: case, spaces and dashes make no new code.
        Column("lookup_key", IdText),
        UniqueConstraint("owner", "campaign"),
    )
    Index(f"{p}codes_by_key", table.c.lookup_key, unique=True)
    return table


def _referrals(md: MetaData, p: str, codes: Table) -> Table:
    table = Table(
        f"{p}referrals",
        md,
        _seq(),
        Column("id", IdText, nullable=False, unique=True),
        Column("code", IdText, ForeignKey(codes.c.code), nullable=False),
        Column("referrer", IdText, nullable=False),
        Column("referee", IdText, nullable=False),
        Column("status", IdText, nullable=False),
        Column("reasons", Document, nullable=False),
        Column("attributed_at", UTCDateTime, nullable=False),
        Column("campaign", IdText, nullable=False),
        Column("policy_version", IdText, nullable=False),
        Column("channel", IdText),
        Column("qualified_at", UTCDateTime),
    )
    c = table.c
    standing = c.status != "rejected"
    qualified = c.status == "qualified"
    Index(
        f"{p}referrals_one_standing_per_referee",
        c.referee,
        unique=True,
        postgresql_where=standing,
        sqlite_where=standing,
    )
    Index(f"{p}referrals_by_referrer", c.referrer, c.attributed_at)
    Index(f"{p}referrals_by_status", c.status, c.attributed_at)
    Index(f"{p}referrals_by_code", c.code)
    Index(f"{p}referrals_by_time", c.attributed_at)
    Index(
        f"{p}referrals_qualified",
        c.referrer,
        c.qualified_at,
        postgresql_where=qualified,
        sqlite_where=qualified,
    )
    Index(f"{p}referrals_by_referee", c.referee, c.attributed_at)
    Index(f"{p}referrals_by_referrer_referee", c.referrer, c.referee)
    return table


def _conversions(md: MetaData, p: str, referrals: Table) -> Table:
    table = Table(
        f"{p}conversions",
        md,
        _seq(),
        Column("order_id", IdText, nullable=False, unique=True),
        Column("referee", IdText, nullable=False),
        Column("currency", IdText, nullable=False),
        Column("amount_minor", BigInteger, nullable=False),
        Column("refunded_minor", BigInteger, nullable=False, server_default=text("0")),
        Column("occurred_at", UTCDateTime, nullable=False),
        Column("first_order", Boolean, nullable=False),
        Column("referral_id", IdText, ForeignKey(referrals.c.id)),
        Column("order_number", BigInteger, nullable=False, server_default=text("0")),
        Column("recorded_at", UTCDateTime),
    )
    Index(f"{p}conversions_by_referee", table.c.referee)
    Index(f"{p}conversions_by_referral", table.c.referral_id, table.c.occurred_at)
    return table


def _rewards(md: MetaData, p: str, referrals: Table, conversions: Table) -> Table:
    table = Table(
        f"{p}rewards",
        md,
        _seq(),
        Column("id", IdText, nullable=False, unique=True),
        Column("key", IdText, nullable=False),
        Column("referral_id", IdText, ForeignKey(referrals.c.id), nullable=False),
        Column("beneficiary", IdText, nullable=False),
        Column("customer_id", IdText, nullable=False),
        Column("kind", IdText, nullable=False),
        Column("currency", IdText),
        Column("amount_minor", BigInteger),
        Column("granted_minor", BigInteger),
        Column("points", BigInteger, nullable=False),
        Column("granted_points", BigInteger, nullable=False),
        Column("state", IdText, nullable=False),
        Column("order_id", IdText, ForeignKey(conversions.c.order_id)),
        Column("policy", IdText, nullable=False),
        Column("explanation", IdText, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("hold_until", UTCDateTime),
        Column("perk", IdText),
        Column("coupon_code", IdText),
        Column("proportional", Boolean, nullable=False),
        Column("clawback_minor", BigInteger),
        Column("clawback_points", BigInteger, nullable=False, server_default=text("0")),
        Column("netted_minor", BigInteger),
        Column("recovered_minor", BigInteger),
        Column("redeemed_order", IdText),
        Column("payout_id", IdText),
        Column("expires_at", UTCDateTime),
        UniqueConstraint("customer_id", "key"),
    )
    c = table.c
    held = c.state == "held"
    coupon = c.coupon_code.is_not(None)
    available = c.state == "available"
    Index(f"{p}rewards_by_order", c.order_id)
    Index(f"{p}rewards_by_customer", c.customer_id)
    Index(f"{p}rewards_by_referral", c.referral_id)
    Index(f"{p}rewards_due", c.hold_until, postgresql_where=held, sqlite_where=held)
    Index(
        f"{p}rewards_by_coupon",
        c.coupon_code,
        unique=True,
        postgresql_where=coupon,
        sqlite_where=coupon,
    )
    Index(f"{p}rewards_available", c.id, postgresql_where=available, sqlite_where=available)
    return table


def _ledger(md: MetaData, p: str, rewards: Table) -> Table:
    table = Table(
        f"{p}ledger",
        md,
        Column("id", Serial, primary_key=True, autoincrement=True),
        Column("reward_id", IdText, ForeignKey(rewards.c.id), nullable=False),
        Column("customer_id", IdText, nullable=False),
        Column("bucket", IdText, nullable=False),
        Column("currency", IdText),
        Column("amount_minor", BigInteger),
        Column("points", BigInteger, nullable=False),
        Column("occurred_at", UTCDateTime, nullable=False),
        Column("reason", IdText, nullable=False),
    )
    Index(f"{p}ledger_by_customer", table.c.customer_id, table.c.bucket)
    return table


def _events(md: MetaData, p: str) -> Table:
    table = Table(
        f"{p}events",
        md,
        Column("id", Serial, primary_key=True, autoincrement=True),
        Column("type", IdText, nullable=False),
        Column("payload", Document, nullable=False),
        Column("occurred_at", UTCDateTime, nullable=False),
        Column("acked", Boolean, nullable=False, server_default=false()),
        # A claim: how many so far, when the event may next be claimed (a lease's end
        # or a retry's), who holds the lease; when it was given up (a dead letter).
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("claimable_at", UTCDateTime),
        Column("worker", IdText),
        Column("dead_at", UTCDateTime),
        sqlite_autoincrement=True,  # ids only grow: a pruned event's id is never reused
    )
    c = table.c
    undelivered = and_(c.acked == false(), c.dead_at.is_(None))
    Index(
        f"{p}events_undelivered",
        c.id,
        c.claimable_at,
        postgresql_where=undelivered,
        sqlite_where=undelivered,
    )
    return table


def _identity_signals(md: MetaData, p: str) -> Table:
    table = Table(
        f"{p}identity_signals",
        md,
        Column("customer_id", IdText, nullable=False),
        Column("kind", IdText, nullable=False),
        Column("digest", IdText, nullable=False),
        PrimaryKeyConstraint("customer_id", "kind", "digest"),
    )
    Index(f"{p}identity_signals_by_digest", table.c.kind, table.c.digest)
    return table


def _keyed(md: MetaData, name: str, key: str, *columns: Column[Any]) -> Table:
    """A table of facts recorded once under ``key`` (its primary key)."""
    return Table(name, md, Column(key, IdText, primary_key=True), *columns)


def _refunds(md: MetaData, p: str, conversions: Table) -> Table:
    return _keyed(
        md,
        f"{p}refunds",
        "refund_id",
        Column("order_id", IdText, ForeignKey(conversions.c.order_id), nullable=False),
        Column("currency", IdText, nullable=False),
        Column("amount_minor", BigInteger, nullable=False),
        Column("occurred_at", UTCDateTime, nullable=False),
        Column("reward_ids", Document, nullable=False),
    )


def _clicks(md: MetaData, p: str) -> Table:
    table = Table(
        f"{p}clicks",
        md,
        Column("id", Serial, primary_key=True, autoincrement=True),
        Column("code", IdText, nullable=False),
        Column("visitor", IdText, nullable=False),
        Column("occurred_at", UTCDateTime, nullable=False),
        Column("channel", IdText),
        Column("campaign", IdText),
        sqlite_autoincrement=True,
    )
    Index(f"{p}clicks_by_visitor", table.c.visitor, table.c.occurred_at)
    Index(f"{p}clicks_by_time", table.c.occurred_at)
    return table


def _moments(md: MetaData, p: str) -> tuple[Table, Table, Table]:
    """Reported moments, invitation decisions and the shares that followed them."""
    moments = Table(
        f"{p}moments",
        md,
        _seq(),
        Column("customer_id", IdText, nullable=False),
        Column("key", IdText, nullable=False),
        Column("moment", IdText, nullable=False),
        Column("occurred_at", UTCDateTime, nullable=False),
        Column("score", BigInteger),
        Column("order_id", IdText),
        UniqueConstraint("customer_id", "key"),
    )
    Index(f"{p}moments_by_customer", moments.c.customer_id, moments.c.occurred_at)
    decisions = Table(
        f"{p}moment_decisions",
        md,
        Column("id", IdText, primary_key=True),
        Column("customer_id", IdText, nullable=False),
        Column("moment", IdText, nullable=False),
        Column("invite", Boolean, nullable=False),
        Column("reason", IdText, nullable=False),
        Column("decided_at", UTCDateTime, nullable=False),
        Column("follow_until", UTCDateTime, nullable=False),
        Column("key", IdText),
        Column("next_allowed_at", UTCDateTime),
        Column("exploration", Double().with_variant(DOUBLE_PRECISION(precision=53), "postgresql")),
        UniqueConstraint("customer_id", "key"),
    )
    d = decisions.c
    Index(f"{p}moment_decisions_by_customer", d.customer_id, d.decided_at)
    Index(f"{p}moment_decisions_by_time", d.decided_at)
    shares = _keyed(
        md,
        f"{p}moment_shares",
        "decision_id",
        Column("channel", IdText),
        Column("shared_at", UTCDateTime, nullable=False),
    )
    return moments, decisions, shares


def _groups(md: MetaData, p: str, referrals: Table) -> tuple[Table, Table]:
    """Group-buys (a place count the store checks) and their members, one place each."""
    groups = Table(
        f"{p}groups",
        md,
        Column("id", IdText, primary_key=True),
        Column("code", IdText, nullable=False, unique=True),
        Column("initiator", IdText, nullable=False),
        Column("campaign", IdText, nullable=False),
        Column("size", Integer, nullable=False),
        Column("filled", Integer, nullable=False),
        Column("state", IdText, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("deadline", UTCDateTime, nullable=False),
        Column("policy_version", IdText, nullable=False),
        Column("new_customers_only", Boolean, nullable=False),
        Column("closed_at", UTCDateTime),
        CheckConstraint("size >= 2", name=f"{p}groups_size_check"),
        CheckConstraint("filled <= size", name=f"{p}groups_filled_check"),
    )
    is_open = groups.c.state == "open"
    Index(
        f"{p}groups_open_by_deadline",
        groups.c.deadline,
        postgresql_where=is_open,
        sqlite_where=is_open,
    )
    members = Table(
        f"{p}group_members",
        md,
        _seq(),
        Column("group_id", IdText, ForeignKey(groups.c.id), nullable=False),
        Column("member", IdText, nullable=False),
        Column("joined_at", UTCDateTime, nullable=False),
        Column("referral_id", IdText, ForeignKey(referrals.c.id)),
        Column("new_customer", Boolean, nullable=False),
        Column("order_id", IdText),
        UniqueConstraint("group_id", "member"),
    )
    m = members.c
    has_order = m.order_id.is_not(None)
    Index(f"{p}group_members_by_member", m.member)
    Index(
        f"{p}group_members_by_order",
        m.order_id,
        unique=True,
        postgresql_where=has_order,
        sqlite_where=has_order,
    )
    return groups, members


def _invitations(md: MetaData, p: str, referrals: Table) -> tuple[Table, Table, Table]:
    """Invitations (a use count the store checks), their redemptions, and the waitlist."""
    invitations = Table(
        f"{p}invitations",
        md,
        _seq(),
        Column("code", IdText, nullable=False, unique=True),
        Column("holder", IdText, nullable=False),
        Column("campaign", IdText, nullable=False),
        Column("uses", Integer, nullable=False),
        Column("used", Integer, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("expires_at", UTCDateTime),
        CheckConstraint("uses >= 1", name=f"{p}invitations_uses_check"),
        CheckConstraint("used >= 0 AND used <= uses", name=f"{p}invitations_used_check"),
    )
    Index(f"{p}invitations_by_holder", invitations.c.holder)
    redemptions = Table(
        f"{p}invitation_redemptions",
        md,
        _seq(),
        Column("code", IdText, ForeignKey(invitations.c.code), nullable=False),
        Column("customer", IdText, nullable=False),
        Column("referral_id", IdText, ForeignKey(referrals.c.id), nullable=False),
        Column("redeemed_at", UTCDateTime, nullable=False),
        UniqueConstraint("code", "customer"),
    )
    waitlist = Table(
        f"{p}waitlist",
        md,
        _seq(),
        Column("member", IdText, nullable=False, unique=True),
        Column("code", IdText, nullable=False, unique=True),
        Column("campaign", IdText, nullable=False),
        Column("joined_at", UTCDateTime, nullable=False),
        Column("state", IdText, nullable=False),
        Column("referred_by", IdText),
        Column("referred", Integer, nullable=False),
        Column("admitted_at", UTCDateTime),
        CheckConstraint("referred >= 0", name=f"{p}waitlist_referred_check"),
    )
    waiting = waitlist.c.state == "waiting"
    Index(
        f"{p}waitlist_waiting",
        waitlist.c.seq,
        postgresql_where=waiting,
        sqlite_where=waiting,
    )
    return invitations, redemptions, waitlist


def _payout_terms() -> tuple[Column[Any], ...]:
    """A partner's (or a group's) payout threshold and hold (revision 0006)."""
    return (
        Column("threshold_currency", IdText),
        Column("threshold_minor", BigInteger),
        Column("hold_seconds", BigInteger),
    )


@attrs.frozen(slots=True)
class _PartnerTables:
    groups: Table
    partners: Table
    codes: Table
    posts: Table
    engagement: Table
    orders: Table


def _partners(md: MetaData, p: str, codes: Table, conversions: Table) -> _PartnerTables:
    """Partner programmes: groups, partners, their codes, posts, engagement and orders."""
    groups = Table(
        f"{p}partner_groups",
        md,
        Column("id", IdText, primary_key=True),
        Column("terms_version", IdText, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        *_payout_terms(),
    )
    partners = Table(
        f"{p}partners",
        md,
        Column("id", IdText, primary_key=True),
        Column("name", IdText, nullable=False),
        Column("kind", IdText, nullable=False),
        Column("state", IdText, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("account_referral", IdText, nullable=False, unique=True),
        Column("audience", BigInteger, nullable=False),
        Column("niches", Document, nullable=False),
        Column("region", IdText),
        Column("payout_ref", IdText),
        Column("terms_version", IdText),
        Column("group_id", IdText, ForeignKey(groups.c.id)),
        CheckConstraint("audience >= 0", name=f"{p}partners_audience_check"),
        *_payout_terms(),
        Column("verified", Boolean),
        Column("verification_ref", IdText),
    )
    partner_codes = Table(
        f"{p}partner_codes",
        md,
        _seq(),
        Column("code", IdText, ForeignKey(codes.c.code), nullable=False, unique=True),
        Column("partner_id", IdText, ForeignKey(partners.c.id), nullable=False),
        Column("post_id", IdText),
    )
    Index(f"{p}partner_codes_by_partner", partner_codes.c.partner_id, partner_codes.c.seq)
    posts = Table(
        f"{p}partner_posts",
        md,
        Column("id", IdText, primary_key=True),
        Column("partner_id", IdText, ForeignKey(partners.c.id), nullable=False),
        Column("channel", IdText),
        Column("created_at", UTCDateTime, nullable=False),
        Column("currency", IdText),
        Column("cost_minor", BigInteger),
        Column("reward_id", IdText),
    )
    engagement = Table(
        f"{p}partner_engagement",
        md,
        Column("post_id", IdText, ForeignKey(posts.c.id), nullable=False),
        Column("as_of", UTCDateTime, nullable=False),
        Column("recorded_at", UTCDateTime, nullable=False),
        *(Column(name, BigInteger, nullable=False) for name in ENGAGEMENT_COUNTS),
        PrimaryKeyConstraint("post_id", "as_of"),
    )
    orders = Table(
        f"{p}partner_orders",
        md,
        Column("order_id", IdText, ForeignKey(conversions.c.order_id), primary_key=True),
        Column("partner_id", IdText, ForeignKey(partners.c.id), nullable=False),
        Column("code", IdText, nullable=False),
        Column("customer_id", IdText, nullable=False),
        Column("terms_version", IdText, nullable=False),
        Column("attributed_at", UTCDateTime, nullable=False),
        Column("post_id", IdText),
    )
    Index(f"{p}partner_orders_by_partner", orders.c.partner_id)
    return _PartnerTables(groups, partners, partner_codes, posts, engagement, orders)


@attrs.frozen(slots=True)
class _ProgrammeTables:
    submissions: Table
    order_attributes: Table
    payout_batches: Table
    payout_lines: Table
    signals: Table
    checks: Table
    reviews: Table


def _programmes(
    md: MetaData, p: str, t: _PartnerTables, conversions: Table, rewards: Table
) -> _ProgrammeTables:
    """Partner programmes' second revision: bounties, order attributes, payouts, reviews."""
    submissions = Table(
        f"{p}partner_submissions",
        md,
        Column("id", IdText, primary_key=True),
        Column("partner_id", IdText, ForeignKey(t.partners.c.id), nullable=False),
        Column("url", IdText, nullable=False),
        Column("currency", IdText, nullable=False),
        Column("fee_minor", BigInteger, nullable=False),
        Column("state", IdText, nullable=False),
        Column("submitted_at", UTCDateTime, nullable=False),
        Column("decided_at", UTCDateTime),
        Column("reason", IdText),
        Column("reward_id", IdText),
        CheckConstraint("fee_minor > 0", name=f"{p}partner_submissions_fee_minor_check"),
        CheckConstraint(
            "state IN ('pending', 'approved', 'rejected')",
            name=f"{p}partner_submissions_state_check",
        ),
    )
    Index(f"{p}partner_submissions_by_partner", submissions.c.partner_id)
    attributes = Table(
        f"{p}order_attributes",
        md,
        Column("order_id", IdText, ForeignKey(conversions.c.order_id), primary_key=True),
        Column("attributes", Document, nullable=False),
    )
    batches, lines = _payout_batches(md, p, t.partners)
    signals, checks, reviews = _reviews(md, p, t, rewards)
    return _ProgrammeTables(submissions, attributes, batches, lines, signals, checks, reviews)


def _payout_batches(md: MetaData, p: str, partners: Table) -> tuple[Table, Table]:
    """Partner payout batches, and their lines (each once, with what became of it)."""
    batches = _keyed(
        md,
        f"{p}partner_payout_batches",
        "batch_id",
        Column("currency", IdText),
        Column("created_at", UTCDateTime, nullable=False),
    )
    lines = Table(
        f"{p}partner_payout_lines",
        md,
        _seq(),
        Column("batch_id", IdText, ForeignKey(batches.c.batch_id), nullable=False),
        Column("line_id", IdText, nullable=False, unique=True),
        Column("partner_id", IdText, ForeignKey(partners.c.id), nullable=False),
        Column("payout_ref", IdText),
        Column("currency", IdText, nullable=False),
        Column("amount_minor", BigInteger, nullable=False),
        Column("reward_ids", Document, nullable=False),
        Column("status", IdText, nullable=False),
        Column("reference", IdText),
        Column("reason", IdText),
    )
    Index(f"{p}partner_payout_lines_by_batch", lines.c.batch_id, lines.c.seq)
    return batches, lines


def _reviews(md: MetaData, p: str, t: _PartnerTables, rewards: Table) -> tuple[Table, Table, Table]:
    """A partner's hashed signals, each checkout order's click check, and reward reviews."""
    signals = Table(
        f"{p}partner_signals",
        md,
        Column("partner_id", IdText, ForeignKey(t.partners.c.id), nullable=False),
        Column("kind", IdText, nullable=False),
        Column("digest", IdText, nullable=False),
        PrimaryKeyConstraint("partner_id", "kind", "digest"),
    )
    checks = Table(
        f"{p}partner_checks",
        md,
        Column("order_id", IdText, ForeignKey(t.orders.c.order_id), primary_key=True),
        Column("partner_id", IdText, ForeignKey(t.partners.c.id), nullable=False),
        Column("checked_at", UTCDateTime, nullable=False),
        Column("clicked", Boolean, nullable=False),
    )
    unclicked = checks.c.clicked == false()
    Index(
        f"{p}partner_checks_unclicked",
        checks.c.partner_id,
        checks.c.checked_at,
        postgresql_where=unclicked,
        sqlite_where=unclicked,
    )
    reviews = Table(
        f"{p}partner_reviews",
        md,
        _seq(),
        Column("id", IdText, nullable=False, unique=True),
        Column("reward_id", IdText, ForeignKey(rewards.c.id), nullable=False),
        Column("partner_id", IdText, ForeignKey(t.partners.c.id), nullable=False),
        Column("order_id", IdText),
        Column("reasons", Document, nullable=False),
        Column("opened_at", UTCDateTime, nullable=False),
        Column("decision", IdText),
        Column("decided_at", UTCDateTime),
        Column("note", IdText),
    )
    is_open = reviews.c.decision.is_(None)
    Index(
        f"{p}partner_reviews_open",
        reviews.c.reward_id,
        unique=True,
        postgresql_where=is_open,
        sqlite_where=is_open,
    )
    Index(f"{p}partner_reviews_by_order", reviews.c.order_id)
    return signals, checks, reviews


@functools.lru_cache(maxsize=32)
def build_tables(prefix: str = "referralkit_", schema: str | None = None) -> Tables:
    """The tables of the installation with this ``prefix`` in ``schema`` (None: the default)."""
    prefix, schema = check_prefix(prefix), check_schema(schema)
    md = MetaData(schema=schema, naming_convention=NAMING_CONVENTION)
    codes = _codes(md, prefix)
    referrals = _referrals(md, prefix, codes)
    conversions = _conversions(md, prefix, referrals)
    rewards = _rewards(md, prefix, referrals, conversions)
    moments, moment_decisions, moment_shares = _moments(md, prefix)
    groups, group_members = _groups(md, prefix, referrals)
    invitations, invitation_redemptions, waitlist = _invitations(md, prefix, referrals)
    partners = _partners(md, prefix, codes, conversions)
    more = _programmes(md, prefix, partners, conversions, rewards)
    return Tables(
        metadata=md,
        prefix=prefix,
        schema=schema,
        codes=codes,
        referrals=referrals,
        conversions=conversions,
        rewards=rewards,
        ledger=_ledger(md, prefix, rewards),
        events=_events(md, prefix),
        identity_signals=_identity_signals(md, prefix),
        refunds=_refunds(md, prefix, conversions),
        coupon_redemptions=_keyed(
            md,
            f"{prefix}coupon_redemptions",
            "coupon_code",
            Column("order_id", IdText, nullable=False),
            Column("customer_id", IdText, nullable=False),
            Column("redeemed_at", UTCDateTime, nullable=False),
        ),
        payouts=_keyed(
            md,
            f"{prefix}payouts",
            "payout_id",
            Column("reward_ids", Document, nullable=False),
            Column("created_at", UTCDateTime, nullable=False),
        ),
        clawback_settlements=_keyed(
            md,
            f"{prefix}clawback_settlements",
            "reference",
            Column("customer_id", IdText, nullable=False),
            Column("currency", IdText, nullable=False),
            Column("amount_minor", BigInteger, nullable=False),
            Column("settled_at", UTCDateTime, nullable=False),
        ),
        policy_versions=_keyed(
            md,
            f"{prefix}policy_versions",
            "version",
            Column("definition", IdText, nullable=False),
            Column("created_at", UTCDateTime, nullable=False),
        ),
        clicks=_clicks(md, prefix),
        meta=_keyed(
            md,
            f"{prefix}meta",
            "name",
            Column("value", IdText, nullable=False),
            Column("updated_at", UTCDateTime, nullable=False),
        ),
        moments=moments,
        moment_decisions=moment_decisions,
        moment_shares=moment_shares,
        deliveries=_keyed(
            md,
            f"{prefix}deliveries",
            "order_id",
            Column("delivered_at", UTCDateTime, nullable=False),
            Column("recorded_at", UTCDateTime, nullable=False),
        ),
        display_names=_keyed(
            md,
            f"{prefix}display_names",
            "customer_id",
            Column("name", IdText, nullable=False),
            Column("updated_at", UTCDateTime, nullable=False),
        ),
        claims=_keyed(
            md,
            f"{prefix}claims",
            "token_id",
            Column("customer_id", IdText, nullable=False),
            Column("claimed_at", UTCDateTime, nullable=False),
        ),
        groups=groups,
        group_members=group_members,
        invitations=invitations,
        invitation_redemptions=invitation_redemptions,
        waitlist=waitlist,
        partner_groups=partners.groups,
        partners=partners.partners,
        partner_codes=partners.codes,
        partner_posts=partners.posts,
        partner_engagement=partners.engagement,
        partner_orders=partners.orders,
        partner_submissions=more.submissions,
        order_attributes=more.order_attributes,
        partner_payout_batches=more.payout_batches,
        partner_payout_lines=more.payout_lines,
        partner_signals=more.signals,
        partner_checks=more.checks,
        partner_reviews=more.reviews,
    )
