"""Reviews and actions entered in bulk from return sheets (复核回执).

- ``reviews.on_date`` / ``actions.on_date``: the local date (YYYY-MM-DD) the review or action
  took place, as written on the sheet; ``at`` stays the time it was recorded.
- ``reviews.source_key`` / ``actions.source_key``: SHA-256 fingerprint of the sheet row's
  content, so that importing the same sheet again adds nothing.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("reviews", "actions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("on_date", sa.String(10), nullable=True))
            batch.add_column(sa.Column("source_key", sa.String(64), nullable=True))
            batch.create_index(f"ix_{table}_source_key", ["source_key"])


def downgrade() -> None:
    for table in ("reviews", "actions"):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_source_key")
            batch.drop_column("source_key")
            batch.drop_column("on_date")
