"""Partner programmes: partner groups, partners, their codes, posts, engagement and orders.

Revision ID: 0005
Revises: 0004

A partner and a group are stored once per id, a code belongs to one partner (the unique
code, a referral code), a post once per id, engagement once per (post, as-of time), and
an order is attributed to one partner at most (its order id, a conversion's).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from referralkit.storage._sqlalchemy_migrations import migration_options

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The column types as of this revision (never the live definitions, which move on).
ID = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
TIME = sa.DateTime(timezone=True)
DOC = sa.JSON().with_variant(JSONB(), "postgresql")
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COUNTS = ("impressions", "reach", "engagements", "likes", "comments", "shares", "saves")


def upgrade() -> None:
    """Create the partner programmes' tables and indexes."""
    p, schema = migration_options(op.get_context())

    def fk(table: str, column: str) -> str:
        return f"{schema}.{p}{table}.{column}" if schema else f"{p}{table}.{column}"

    groups = f"{p}partner_groups"
    op.create_table(
        groups,
        sa.Column("id", ID, nullable=False),
        sa.Column("terms_version", ID, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"{groups}_pkey"),
        schema=schema,
    )
    partners = f"{p}partners"
    op.create_table(
        partners,
        sa.Column("id", ID, nullable=False),
        sa.Column("name", ID, nullable=False),
        sa.Column("kind", ID, nullable=False),
        sa.Column("state", ID, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("account_referral", ID, nullable=False),
        sa.Column("audience", sa.BigInteger(), nullable=False),
        sa.Column("niches", DOC, nullable=False),
        sa.Column("region", ID),
        sa.Column("payout_ref", ID),
        sa.Column("terms_version", ID),
        sa.Column("group_id", ID),
        sa.PrimaryKeyConstraint("id", name=f"{partners}_pkey"),
        sa.UniqueConstraint("account_referral", name=f"{partners}_account_referral_key"),
        sa.ForeignKeyConstraint(
            ["group_id"], [fk("partner_groups", "id")], name=f"{partners}_group_id_fkey"
        ),
        sa.CheckConstraint("audience >= 0", name=f"{partners}_audience_check"),
        schema=schema,
    )
    codes = f"{p}partner_codes"
    op.create_table(
        codes,
        sa.Column("seq", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("code", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("post_id", ID),
        sa.PrimaryKeyConstraint("seq", name=f"{codes}_pkey"),
        sa.UniqueConstraint("code", name=f"{codes}_code_key"),
        sa.ForeignKeyConstraint(["code"], [fk("codes", "code")], name=f"{codes}_code_fkey"),
        sa.ForeignKeyConstraint(
            ["partner_id"], [fk("partners", "id")], name=f"{codes}_partner_id_fkey"
        ),
        schema=schema,
    )
    op.create_index(f"{p}partner_codes_by_partner", codes, ["partner_id", "seq"], schema=schema)
    posts = f"{p}partner_posts"
    op.create_table(
        posts,
        sa.Column("id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("channel", ID),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("currency", ID),
        sa.Column("cost_minor", sa.BigInteger()),
        sa.Column("reward_id", ID),
        sa.PrimaryKeyConstraint("id", name=f"{posts}_pkey"),
        sa.ForeignKeyConstraint(
            ["partner_id"], [fk("partners", "id")], name=f"{posts}_partner_id_fkey"
        ),
        schema=schema,
    )
    engagement = f"{p}partner_engagement"
    op.create_table(
        engagement,
        sa.Column("post_id", ID, nullable=False),
        sa.Column("as_of", TIME, nullable=False),
        sa.Column("recorded_at", TIME, nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in COUNTS),
        sa.PrimaryKeyConstraint("post_id", "as_of", name=f"{engagement}_pkey"),
        sa.ForeignKeyConstraint(
            ["post_id"], [fk("partner_posts", "id")], name=f"{engagement}_post_id_fkey"
        ),
        schema=schema,
    )
    orders = f"{p}partner_orders"
    op.create_table(
        orders,
        sa.Column("order_id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("code", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("terms_version", ID, nullable=False),
        sa.Column("attributed_at", TIME, nullable=False),
        sa.Column("post_id", ID),
        sa.PrimaryKeyConstraint("order_id", name=f"{orders}_pkey"),
        sa.ForeignKeyConstraint(
            ["order_id"], [fk("conversions", "order_id")], name=f"{orders}_order_id_fkey"
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], [fk("partners", "id")], name=f"{orders}_partner_id_fkey"
        ),
        schema=schema,
    )
    op.create_index(f"{p}partner_orders_by_partner", orders, ["partner_id"], schema=schema)


def downgrade() -> None:
    """Drop this revision's tables."""
    p, schema = migration_options(op.get_context())
    for table in (
        "partner_orders",
        "partner_engagement",
        "partner_posts",
        "partner_codes",
        "partners",
        "partner_groups",
    ):
        op.drop_table(f"{p}{table}", schema=schema)
