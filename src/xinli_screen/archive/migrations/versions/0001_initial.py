"""Initial archive schema: waves, results, reviews, actions, audit.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "waves",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("seq", sa.Integer, nullable=False, unique=True),
        sa.Column("imported_at", sa.String(32), nullable=False),
        sa.Column("imported_by", sa.String(100), nullable=False),
        sa.Column("source_name", sa.String(255), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("id_column", sa.String(100), nullable=False),
        sa.Column("pseudonymised", sa.Boolean, nullable=False),
        sa.Column("n_rows", sa.Integer, nullable=False),
        sa.Column("provenance", sa.JSON, nullable=False),
    )
    op.create_table(
        "results",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("wave_id", sa.Integer, sa.ForeignKey("waves.id"), nullable=False, index=True),
        sa.Column("pupil_key", sa.String(128), nullable=False, index=True),
        sa.Column("row_index", sa.Integer, nullable=False),
        sa.Column("screen_tier", sa.String(16), nullable=False),
        sa.Column("review_status", sa.String(32), nullable=False),
        sa.Column("critical_items", sa.Text, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("reason_codes", sa.Text, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("name", sa.String(100), nullable=True),
        sa.UniqueConstraint("wave_id", "pupil_key", name="uq_results_wave_pupil"),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("wave_id", sa.Integer, sa.ForeignKey("waves.id"), nullable=False, index=True),
        sa.Column("pupil_key", sa.String(128), nullable=False, index=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("tier", sa.String(16), nullable=True),
        sa.Column("by", sa.String(100), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_table(
        "actions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("wave_id", sa.Integer, sa.ForeignKey("waves.id"), nullable=True),
        sa.Column("pupil_key", sa.String(128), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("by", sa.String(100), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("wave", sa.String(100), nullable=True),
        sa.Column("pupil_key", sa.String(128), nullable=True, index=True),
        sa.Column("detail", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for table in ("audit", "actions", "reviews", "results", "waves"):
        op.drop_table(table)
