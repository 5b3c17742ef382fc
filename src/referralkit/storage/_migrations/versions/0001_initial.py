"""The first tables: every table and index of the store.

Codes, referrals, conversions, rewards, the ledger, events, identity signals; refunds,
coupon redemptions, payouts, clawback settlements and policy versions (the money paths);
clicks and the store's metadata.

Revision ID: 0001
Revises: (none)

Every name carries the installation's table prefix, and every table goes in its schema
(`migration_options`). A shipped revision is never edited: change the tables with a
new revision that follows the newest one. (The SQLAlchemy store was first released with
this revision and 0002.)
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from referralkit.storage._sqlalchemy_migrations import migration_options

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The column types as of this revision (never the live definitions, which move on).
ID = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
TIME = sa.DateTime(timezone=True)
DOC = sa.JSON().with_variant(JSONB(), "postgresql")
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _seq() -> sa.Column[int]:
    return sa.Column("seq", SERIAL, primary_key=True, autoincrement=True)


def upgrade() -> None:
    """Create every table and index."""
    p, schema = migration_options(op.get_context())

    def fk(table: str, column: str) -> str:
        return f"{schema}.{p}{table}.{column}" if schema else f"{p}{table}.{column}"

    op.create_table(
        f"{p}codes",
        _seq(),
        sa.Column("code", ID, nullable=False),
        sa.Column("owner", ID, nullable=False),
        sa.Column("campaign", ID, nullable=False),
        sa.Column("kind", ID, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME),
        sa.Column("max_uses", sa.Integer()),
        sa.Column("lookup_key", ID),
        sa.PrimaryKeyConstraint("seq", name=f"{p}codes_pkey"),
        sa.UniqueConstraint("code", name=f"{p}codes_code_key"),
        sa.UniqueConstraint("owner", "campaign", name=f"{p}codes_owner_campaign_key"),
        schema=schema,
    )
    op.create_index(f"{p}codes_by_key", f"{p}codes", ["lookup_key"], unique=True, schema=schema)
    op.create_table(
        f"{p}referrals",
        _seq(),
        sa.Column("id", ID, nullable=False),
        sa.Column("code", ID, nullable=False),
        sa.Column("referrer", ID, nullable=False),
        sa.Column("referee", ID, nullable=False),
        sa.Column("status", ID, nullable=False),
        sa.Column("reasons", DOC, nullable=False),
        sa.Column("attributed_at", TIME, nullable=False),
        sa.Column("campaign", ID, nullable=False),
        sa.Column("policy_version", ID, nullable=False),
        sa.Column("channel", ID),
        sa.Column("qualified_at", TIME),
        sa.PrimaryKeyConstraint("seq", name=f"{p}referrals_pkey"),
        sa.UniqueConstraint("id", name=f"{p}referrals_id_key"),
        sa.ForeignKeyConstraint(["code"], [fk("codes", "code")], name=f"{p}referrals_code_fkey"),
        schema=schema,
    )
    standing = sa.text("status <> 'rejected'")
    op.create_index(
        f"{p}referrals_one_standing_per_referee",
        f"{p}referrals",
        ["referee"],
        unique=True,
        schema=schema,
        postgresql_where=standing,
        sqlite_where=standing,
    )
    for name, columns in (
        ("referrals_by_referrer", ["referrer", "attributed_at"]),
        ("referrals_by_status", ["status", "attributed_at"]),
        ("referrals_by_code", ["code"]),
        ("referrals_by_time", ["attributed_at"]),
        ("referrals_by_referee", ["referee", "attributed_at"]),
        ("referrals_by_referrer_referee", ["referrer", "referee"]),
    ):
        op.create_index(f"{p}{name}", f"{p}referrals", columns, schema=schema)
    qualified = sa.text("status = 'qualified'")
    op.create_index(
        f"{p}referrals_qualified",
        f"{p}referrals",
        ["referrer", "qualified_at"],
        schema=schema,
        postgresql_where=qualified,
        sqlite_where=qualified,
    )
    op.create_table(
        f"{p}conversions",
        _seq(),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("referee", ID, nullable=False),
        sa.Column("currency", ID, nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("occurred_at", TIME, nullable=False),
        sa.Column("first_order", sa.Boolean(), nullable=False),
        sa.Column("referral_id", ID),
        sa.Column("order_number", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("recorded_at", TIME),
        sa.PrimaryKeyConstraint("seq", name=f"{p}conversions_pkey"),
        sa.UniqueConstraint("order_id", name=f"{p}conversions_order_id_key"),
        sa.ForeignKeyConstraint(
            ["referral_id"], [fk("referrals", "id")], name=f"{p}conversions_referral_id_fkey"
        ),
        schema=schema,
    )
    op.create_index(f"{p}conversions_by_referee", f"{p}conversions", ["referee"], schema=schema)
    op.create_index(
        f"{p}conversions_by_referral",
        f"{p}conversions",
        ["referral_id", "occurred_at"],
        schema=schema,
    )
    op.create_table(
        f"{p}rewards",
        _seq(),
        sa.Column("id", ID, nullable=False),
        sa.Column("key", ID, nullable=False),
        sa.Column("referral_id", ID, nullable=False),
        sa.Column("beneficiary", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("kind", ID, nullable=False),
        sa.Column("currency", ID),
        sa.Column("amount_minor", sa.BigInteger()),
        sa.Column("granted_minor", sa.BigInteger()),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("granted_points", sa.BigInteger(), nullable=False),
        sa.Column("state", ID, nullable=False),
        sa.Column("order_id", ID),
        sa.Column("policy", ID, nullable=False),
        sa.Column("explanation", ID, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("hold_until", TIME),
        sa.Column("perk", ID),
        sa.Column("coupon_code", ID),
        sa.Column("proportional", sa.Boolean(), nullable=False),
        sa.Column("clawback_minor", sa.BigInteger()),
        sa.Column("clawback_points", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("netted_minor", sa.BigInteger()),
        sa.Column("recovered_minor", sa.BigInteger()),
        sa.Column("redeemed_order", ID),
        sa.Column("payout_id", ID),
        sa.Column("expires_at", TIME),
        sa.PrimaryKeyConstraint("seq", name=f"{p}rewards_pkey"),
        sa.UniqueConstraint("id", name=f"{p}rewards_id_key"),
        sa.UniqueConstraint("customer_id", "key", name=f"{p}rewards_customer_id_key_key"),
        sa.ForeignKeyConstraint(
            ["referral_id"], [fk("referrals", "id")], name=f"{p}rewards_referral_id_fkey"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], [fk("conversions", "order_id")], name=f"{p}rewards_order_id_fkey"
        ),
        schema=schema,
    )
    for name, column in (
        ("rewards_by_order", "order_id"),
        ("rewards_by_customer", "customer_id"),
        ("rewards_by_referral", "referral_id"),
    ):
        op.create_index(f"{p}{name}", f"{p}rewards", [column], schema=schema)
    held = sa.text("state = 'held'")
    op.create_index(
        f"{p}rewards_due",
        f"{p}rewards",
        ["hold_until"],
        schema=schema,
        postgresql_where=held,
        sqlite_where=held,
    )
    coupon = sa.text("coupon_code IS NOT NULL")
    op.create_index(
        f"{p}rewards_by_coupon",
        f"{p}rewards",
        ["coupon_code"],
        unique=True,
        schema=schema,
        postgresql_where=coupon,
        sqlite_where=coupon,
    )
    available = sa.text("state = 'available'")
    op.create_index(
        f"{p}rewards_available",
        f"{p}rewards",
        ["id"],
        schema=schema,
        postgresql_where=available,
        sqlite_where=available,
    )
    op.create_table(
        f"{p}ledger",
        sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("reward_id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("bucket", ID, nullable=False),
        sa.Column("currency", ID),
        sa.Column("amount_minor", sa.BigInteger()),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", TIME, nullable=False),
        sa.Column("reason", ID, nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"{p}ledger_pkey"),
        sa.ForeignKeyConstraint(
            ["reward_id"], [fk("rewards", "id")], name=f"{p}ledger_reward_id_fkey"
        ),
        schema=schema,
    )
    op.create_index(
        f"{p}ledger_by_customer", f"{p}ledger", ["customer_id", "bucket"], schema=schema
    )
    op.create_table(
        f"{p}events",
        sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("type", ID, nullable=False),
        sa.Column("payload", DOC, nullable=False),
        sa.Column("occurred_at", TIME, nullable=False),
        sa.Column("acked", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("claimable_at", TIME),
        sa.Column("worker", ID),
        sa.Column("dead_at", TIME),
        sa.PrimaryKeyConstraint("id", name=f"{p}events_pkey"),
        schema=schema,
        sqlite_autoincrement=True,
    )
    undelivered = sa.text("acked = false AND dead_at IS NULL")
    op.create_index(
        f"{p}events_undelivered",
        f"{p}events",
        ["id", "claimable_at"],
        schema=schema,
        postgresql_where=undelivered,
        sqlite_where=undelivered,
    )
    op.create_table(
        f"{p}identity_signals",
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("kind", ID, nullable=False),
        sa.Column("digest", ID, nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "kind", "digest", name=f"{p}identity_signals_pkey"),
        schema=schema,
    )
    op.create_index(
        f"{p}identity_signals_by_digest",
        f"{p}identity_signals",
        ["kind", "digest"],
        schema=schema,
    )
    _money_paths(p, schema, fk)
    _clicks_and_meta(p, schema)


def _keyed(name: str, key: str, schema: str | None, *columns: sa.schema.SchemaItem) -> None:
    """A table of facts recorded once under ``key``, its primary key."""
    op.create_table(
        name,
        sa.Column(key, ID, nullable=False),
        *columns,
        sa.PrimaryKeyConstraint(key, name=f"{name}_pkey"),
        schema=schema,
    )


def _money_paths(p: str, schema: str | None, fk: Callable[[str, str], str]) -> None:
    """Refunds, coupon redemptions, payouts, clawback settlements, policy versions."""
    _keyed(
        f"{p}refunds",
        "refund_id",
        schema,
        sa.Column("order_id", ID, nullable=False),
        sa.Column("currency", ID, nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", TIME, nullable=False),
        sa.Column("reward_ids", DOC, nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], [fk("conversions", "order_id")], name=f"{p}refunds_order_id_fkey"
        ),
    )
    _keyed(
        f"{p}coupon_redemptions",
        "coupon_code",
        schema,
        sa.Column("order_id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("redeemed_at", TIME, nullable=False),
    )
    _keyed(
        f"{p}payouts",
        "payout_id",
        schema,
        sa.Column("reward_ids", DOC, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
    )
    _keyed(
        f"{p}clawback_settlements",
        "reference",
        schema,
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("currency", ID, nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("settled_at", TIME, nullable=False),
    )
    _keyed(
        f"{p}policy_versions",
        "version",
        schema,
        sa.Column("definition", ID, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
    )


def _clicks_and_meta(p: str, schema: str | None) -> None:
    """Tracked clicks (facts, not events) and the store's metadata."""
    op.create_table(
        f"{p}clicks",
        sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("code", ID, nullable=False),
        sa.Column("visitor", ID, nullable=False),
        sa.Column("occurred_at", TIME, nullable=False),
        sa.Column("channel", ID),
        sa.Column("campaign", ID),
        sa.PrimaryKeyConstraint("id", name=f"{p}clicks_pkey"),
        schema=schema,
        sqlite_autoincrement=True,
    )
    op.create_index(
        f"{p}clicks_by_visitor", f"{p}clicks", ["visitor", "occurred_at"], schema=schema
    )
    op.create_index(f"{p}clicks_by_time", f"{p}clicks", ["occurred_at"], schema=schema)
    _keyed(
        f"{p}meta",
        "name",
        schema,
        sa.Column("value", ID, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
    )


def downgrade() -> None:
    """Drop every table (and with them their indexes), children first."""
    p, schema = migration_options(op.get_context())
    for table in (
        "meta",
        "clicks",
        "policy_versions",
        "clawback_settlements",
        "payouts",
        "coupon_redemptions",
        "refunds",
        "identity_signals",
        "events",
        "ledger",
        "rewards",
        "conversions",
        "referrals",
        "codes",
    ):
        op.drop_table(f"{p}{table}", schema=schema)
