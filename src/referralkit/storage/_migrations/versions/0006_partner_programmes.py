"""Partner programmes, phase 2: bounties, order attributes, payouts, fraud signals, reviews.

Revision ID: 0006
Revises: 0005

A bounty submission is stored once per id and decided once; an order's attributes once
per order. Partners and groups gain a payout threshold and hold, partners the host's
verification (yes/no and a reference, never documents); a payout batch is stored once
per id and each line once per line id. A partner's hashed signals are a set, an order's
click check is stored once, and a reward has one open review at most (a partial unique
index).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from referralkit.storage._sqlalchemy_migrations import migration_options

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The column types as of this revision (never the live definitions, which move on).
ID = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
TIME = sa.DateTime(timezone=True)
DOC = sa.JSON().with_variant(JSONB(), "postgresql")
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create this revision's tables, columns and indexes."""
    p, schema = migration_options(op.get_context())

    def fk(table: str, column: str) -> str:
        return f"{schema}.{p}{table}.{column}" if schema else f"{p}{table}.{column}"

    submissions = f"{p}partner_submissions"
    op.create_table(
        submissions,
        sa.Column("id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("url", ID, nullable=False),
        sa.Column("currency", ID, nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("state", ID, nullable=False),
        sa.Column("submitted_at", TIME, nullable=False),
        sa.Column("decided_at", TIME),
        sa.Column("reason", ID),
        sa.Column("reward_id", ID),
        sa.PrimaryKeyConstraint("id", name=f"{submissions}_pkey"),
        sa.ForeignKeyConstraint(
            ["partner_id"], [fk("partners", "id")], name=f"{submissions}_partner_id_fkey"
        ),
        sa.CheckConstraint("fee_minor > 0", name=f"{submissions}_fee_minor_check"),
        sa.CheckConstraint(
            "state IN ('pending', 'approved', 'rejected')", name=f"{submissions}_state_check"
        ),
        schema=schema,
    )
    op.create_index(
        f"{p}partner_submissions_by_partner", submissions, ["partner_id"], schema=schema
    )
    attributes = f"{p}order_attributes"
    op.create_table(
        attributes,
        sa.Column("order_id", ID, nullable=False),
        sa.Column("attributes", DOC, nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=f"{attributes}_pkey"),
        sa.ForeignKeyConstraint(
            ["order_id"], [fk("conversions", "order_id")], name=f"{attributes}_order_id_fkey"
        ),
        schema=schema,
    )
    for table in ("partner_groups", "partners"):
        op.add_column(f"{p}{table}", sa.Column("threshold_currency", ID), schema=schema)
        op.add_column(f"{p}{table}", sa.Column("threshold_minor", sa.BigInteger()), schema=schema)
        op.add_column(f"{p}{table}", sa.Column("hold_seconds", sa.BigInteger()), schema=schema)
    op.add_column(f"{p}partners", sa.Column("verified", sa.Boolean()), schema=schema)
    op.add_column(f"{p}partners", sa.Column("verification_ref", ID), schema=schema)
    batches = f"{p}partner_payout_batches"
    op.create_table(
        batches,
        sa.Column("batch_id", ID, nullable=False),
        sa.Column("currency", ID),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name=f"{batches}_pkey"),
        schema=schema,
    )
    lines = f"{p}partner_payout_lines"
    op.create_table(
        lines,
        sa.Column("seq", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("batch_id", ID, nullable=False),
        sa.Column("line_id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("payout_ref", ID),
        sa.Column("currency", ID, nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("reward_ids", DOC, nullable=False),
        sa.Column("status", ID, nullable=False),
        sa.Column("reference", ID),
        sa.Column("reason", ID),
        sa.PrimaryKeyConstraint("seq", name=f"{lines}_pkey"),
        sa.UniqueConstraint("line_id", name=f"{lines}_line_id_key"),
        sa.ForeignKeyConstraint(
            ["batch_id"], [fk("partner_payout_batches", "batch_id")], name=f"{lines}_batch_id_fkey"
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], [fk("partners", "id")], name=f"{lines}_partner_id_fkey"
        ),
        schema=schema,
    )
    op.create_index(f"{p}partner_payout_lines_by_batch", lines, ["batch_id", "seq"], schema=schema)
    signals = f"{p}partner_signals"
    op.create_table(
        signals,
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("kind", ID, nullable=False),
        sa.Column("digest", ID, nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "kind", "digest", name=f"{signals}_pkey"),
        sa.ForeignKeyConstraint(
            ["partner_id"], [fk("partners", "id")], name=f"{signals}_partner_id_fkey"
        ),
        schema=schema,
    )
    checks = f"{p}partner_checks"
    op.create_table(
        checks,
        sa.Column("order_id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("checked_at", TIME, nullable=False),
        sa.Column("clicked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=f"{checks}_pkey"),
        sa.ForeignKeyConstraint(
            ["order_id"], [fk("partner_orders", "order_id")], name=f"{checks}_order_id_fkey"
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], [fk("partners", "id")], name=f"{checks}_partner_id_fkey"
        ),
        schema=schema,
    )
    unclicked = sa.text("clicked = false")
    op.create_index(
        f"{p}partner_checks_unclicked",
        checks,
        ["partner_id", "checked_at"],
        schema=schema,
        postgresql_where=unclicked,
        sqlite_where=unclicked,
    )
    reviews = f"{p}partner_reviews"
    op.create_table(
        reviews,
        sa.Column("seq", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("id", ID, nullable=False),
        sa.Column("reward_id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("order_id", ID),
        sa.Column("reasons", DOC, nullable=False),
        sa.Column("opened_at", TIME, nullable=False),
        sa.Column("decision", ID),
        sa.Column("decided_at", TIME),
        sa.Column("note", ID),
        sa.PrimaryKeyConstraint("seq", name=f"{reviews}_pkey"),
        sa.UniqueConstraint("id", name=f"{reviews}_id_key"),
        sa.ForeignKeyConstraint(
            ["reward_id"], [fk("rewards", "id")], name=f"{reviews}_reward_id_fkey"
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], [fk("partners", "id")], name=f"{reviews}_partner_id_fkey"
        ),
        schema=schema,
    )
    is_open = sa.text("decision IS NULL")
    op.create_index(
        f"{p}partner_reviews_open",
        reviews,
        ["reward_id"],
        unique=True,
        schema=schema,
        postgresql_where=is_open,
        sqlite_where=is_open,
    )
    op.create_index(f"{p}partner_reviews_by_order", reviews, ["order_id"], schema=schema)


def downgrade() -> None:
    """Drop this revision's tables and columns."""
    p, schema = migration_options(op.get_context())
    for table in (
        "partner_reviews",
        "partner_checks",
        "partner_signals",
        "partner_payout_lines",
        "partner_payout_batches",
        "order_attributes",
        "partner_submissions",
    ):
        op.drop_table(f"{p}{table}", schema=schema)
    for column in ("verification_ref", "verified"):
        op.drop_column(f"{p}partners", column, schema=schema)
    for table in ("partners", "partner_groups"):
        for column in ("hold_seconds", "threshold_minor", "threshold_currency"):
            op.drop_column(f"{p}{table}", column, schema=schema)
