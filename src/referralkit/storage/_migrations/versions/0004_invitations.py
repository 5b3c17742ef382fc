"""Invitations, their redemptions and the waitlist.

Revision ID: 0004
Revises: 0003

An invitation counts its uses (``used``, never over ``uses``) and its code is unique; a
customer redeems an invitation once (the unique pair). A waitlister joins once (unique
member, unique code), in the order of ``seq``; the waiting are indexed by it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from referralkit.storage._sqlalchemy_migrations import migration_options

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The column types as of this revision (never the live definitions, which move on).
ID = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
TIME = sa.DateTime(timezone=True)
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the invitations' and the waitlist's tables and indexes."""
    p, schema = migration_options(op.get_context())

    def fk(table: str, column: str) -> str:
        return f"{schema}.{p}{table}.{column}" if schema else f"{p}{table}.{column}"

    invitations = f"{p}invitations"
    op.create_table(
        invitations,
        sa.Column("seq", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("code", ID, nullable=False),
        sa.Column("holder", ID, nullable=False),
        sa.Column("campaign", ID, nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME),
        sa.PrimaryKeyConstraint("seq", name=f"{invitations}_pkey"),
        sa.UniqueConstraint("code", name=f"{invitations}_code_key"),
        sa.CheckConstraint("uses >= 1", name=f"{invitations}_uses_check"),
        sa.CheckConstraint("used >= 0 AND used <= uses", name=f"{invitations}_used_check"),
        schema=schema,
    )
    op.create_index(f"{p}invitations_by_holder", invitations, ["holder"], schema=schema)
    redemptions = f"{p}invitation_redemptions"
    op.create_table(
        redemptions,
        sa.Column("seq", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("code", ID, nullable=False),
        sa.Column("customer", ID, nullable=False),
        sa.Column("referral_id", ID, nullable=False),
        sa.Column("redeemed_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"{redemptions}_pkey"),
        sa.UniqueConstraint("code", "customer", name=f"{redemptions}_code_customer_key"),
        sa.ForeignKeyConstraint(
            ["code"], [fk("invitations", "code")], name=f"{redemptions}_code_fkey"
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"], [fk("referrals", "id")], name=f"{redemptions}_referral_id_fkey"
        ),
        schema=schema,
    )
    waitlist = f"{p}waitlist"
    op.create_table(
        waitlist,
        sa.Column("seq", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("member", ID, nullable=False),
        sa.Column("code", ID, nullable=False),
        sa.Column("campaign", ID, nullable=False),
        sa.Column("joined_at", TIME, nullable=False),
        sa.Column("state", ID, nullable=False),
        sa.Column("referred_by", ID),
        sa.Column("referred", sa.Integer(), nullable=False),
        sa.Column("admitted_at", TIME),
        sa.PrimaryKeyConstraint("seq", name=f"{waitlist}_pkey"),
        sa.UniqueConstraint("member", name=f"{waitlist}_member_key"),
        sa.UniqueConstraint("code", name=f"{waitlist}_code_key"),
        sa.CheckConstraint("referred >= 0", name=f"{waitlist}_referred_check"),
        schema=schema,
    )
    waiting = sa.text("state = 'waiting'")
    op.create_index(
        f"{p}waitlist_waiting",
        waitlist,
        ["seq"],
        schema=schema,
        postgresql_where=waiting,
        sqlite_where=waiting,
    )


def downgrade() -> None:
    """Drop this revision's tables."""
    p, schema = migration_options(op.get_context())
    for table in ("waitlist", "invitation_redemptions", "invitations"):
        op.drop_table(f"{p}{table}", schema=schema)
