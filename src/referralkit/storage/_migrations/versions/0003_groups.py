"""Group-buys: groups and their members.

Revision ID: 0003
Revises: 0002

A group counts its places (``filled``, never over ``size``), its code is unique, a
member holds one place per group and an order id belongs to one place at most.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from referralkit.storage._sqlalchemy_migrations import migration_options

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The column types as of this revision (never the live definitions, which move on).
ID = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
TIME = sa.DateTime(timezone=True)
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the group-buys' tables and indexes."""
    p, schema = migration_options(op.get_context())

    def fk(table: str, column: str) -> str:
        return f"{schema}.{p}{table}.{column}" if schema else f"{p}{table}.{column}"

    op.create_table(
        f"{p}groups",
        sa.Column("id", ID, nullable=False),
        sa.Column("code", ID, nullable=False),
        sa.Column("initiator", ID, nullable=False),
        sa.Column("campaign", ID, nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("filled", sa.Integer(), nullable=False),
        sa.Column("state", ID, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("deadline", TIME, nullable=False),
        sa.Column("policy_version", ID, nullable=False),
        sa.Column("new_customers_only", sa.Boolean(), nullable=False),
        sa.Column("closed_at", TIME),
        sa.PrimaryKeyConstraint("id", name=f"{p}groups_pkey"),
        sa.UniqueConstraint("code", name=f"{p}groups_code_key"),
        sa.CheckConstraint("size >= 2", name=f"{p}groups_size_check"),
        sa.CheckConstraint("filled <= size", name=f"{p}groups_filled_check"),
        schema=schema,
    )
    is_open = sa.text("state = 'open'")
    op.create_index(
        f"{p}groups_open_by_deadline",
        f"{p}groups",
        ["deadline"],
        schema=schema,
        postgresql_where=is_open,
        sqlite_where=is_open,
    )
    members = f"{p}group_members"
    op.create_table(
        members,
        sa.Column("seq", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("group_id", ID, nullable=False),
        sa.Column("member", ID, nullable=False),
        sa.Column("joined_at", TIME, nullable=False),
        sa.Column("referral_id", ID),
        sa.Column("new_customer", sa.Boolean(), nullable=False),
        sa.Column("order_id", ID),
        sa.PrimaryKeyConstraint("seq", name=f"{members}_pkey"),
        sa.UniqueConstraint("group_id", "member", name=f"{members}_group_id_member_key"),
        sa.ForeignKeyConstraint(
            ["group_id"], [fk("groups", "id")], name=f"{members}_group_id_fkey"
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"], [fk("referrals", "id")], name=f"{members}_referral_id_fkey"
        ),
        schema=schema,
    )
    op.create_index(f"{p}group_members_by_member", members, ["member"], schema=schema)
    has_order = sa.text("order_id IS NOT NULL")
    op.create_index(
        f"{p}group_members_by_order",
        members,
        ["order_id"],
        unique=True,
        schema=schema,
        postgresql_where=has_order,
        sqlite_where=has_order,
    )


def downgrade() -> None:
    """Drop this revision's tables."""
    p, schema = migration_options(op.get_context())
    for table in ("group_members", "groups"):
        op.drop_table(f"{p}{table}", schema=schema)
