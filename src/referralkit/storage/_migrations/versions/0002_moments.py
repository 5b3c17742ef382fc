"""Trigger moments, deliveries, display names and spent claim tokens.

Revision ID: 0002
Revises: 0001

Moments a host reports, the invitation decisions taken at them and the shares that
followed; orders reported delivered; the display names referrers chose; app-link claim
tokens, each spent once (its primary key).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from referralkit.storage._sqlalchemy_migrations import migration_options

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The column types as of this revision (never the live definitions, which move on).
ID = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
TIME = sa.DateTime(timezone=True)
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _keyed(name: str, key: str, schema: str | None, *columns: sa.schema.SchemaItem) -> None:
    """A table of facts recorded once under ``key``, its primary key."""
    op.create_table(
        name,
        sa.Column(key, ID, nullable=False),
        *columns,
        sa.PrimaryKeyConstraint(key, name=f"{name}_pkey"),
        schema=schema,
    )


def upgrade() -> None:
    """Create the moments' tables and the invitee's."""
    p, schema = migration_options(op.get_context())
    op.create_table(
        f"{p}moments",
        sa.Column("seq", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("key", ID, nullable=False),
        sa.Column("moment", ID, nullable=False),
        sa.Column("occurred_at", TIME, nullable=False),
        sa.Column("score", sa.BigInteger()),
        sa.Column("order_id", ID),
        sa.PrimaryKeyConstraint("seq", name=f"{p}moments_pkey"),
        sa.UniqueConstraint("customer_id", "key", name=f"{p}moments_customer_id_key_key"),
        schema=schema,
    )
    op.create_index(
        f"{p}moments_by_customer", f"{p}moments", ["customer_id", "occurred_at"], schema=schema
    )
    op.create_table(
        f"{p}moment_decisions",
        sa.Column("id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("moment", ID, nullable=False),
        sa.Column("invite", sa.Boolean(), nullable=False),
        sa.Column("reason", ID, nullable=False),
        sa.Column("decided_at", TIME, nullable=False),
        sa.Column("follow_until", TIME, nullable=False),
        sa.Column("key", ID),
        sa.Column("next_allowed_at", TIME),
        sa.Column("exploration", sa.Double()),
        sa.PrimaryKeyConstraint("id", name=f"{p}moment_decisions_pkey"),
        sa.UniqueConstraint("customer_id", "key", name=f"{p}moment_decisions_customer_id_key_key"),
        schema=schema,
    )
    decisions = f"{p}moment_decisions"
    op.create_index(
        f"{p}moment_decisions_by_customer", decisions, ["customer_id", "decided_at"], schema=schema
    )
    op.create_index(f"{p}moment_decisions_by_time", decisions, ["decided_at"], schema=schema)
    _keyed(
        f"{p}moment_shares",
        "decision_id",
        schema,
        sa.Column("channel", ID),
        sa.Column("shared_at", TIME, nullable=False),
    )
    _keyed(
        f"{p}deliveries",
        "order_id",
        schema,
        sa.Column("delivered_at", TIME, nullable=False),
        sa.Column("recorded_at", TIME, nullable=False),
    )
    _keyed(
        f"{p}display_names",
        "customer_id",
        schema,
        sa.Column("name", ID, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
    )
    _keyed(
        f"{p}claims",
        "token_id",
        schema,
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("claimed_at", TIME, nullable=False),
    )


def downgrade() -> None:
    """Drop this revision's tables."""
    p, schema = migration_options(op.get_context())
    for table in (
        "claims",
        "display_names",
        "deliveries",
        "moment_shares",
        "moment_decisions",
        "moments",
    ):
        op.drop_table(f"{p}{table}", schema=schema)
