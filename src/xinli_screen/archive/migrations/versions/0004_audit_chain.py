"""Hash-chained audit trail and archive facts.

- ``audit.chain``: SHA-256 over the previous entry's chain and this entry's content;
  ``audit.pupil_commit`` / ``audit.pupil_salt``: a salted HMAC commitment to the pupil key, so
  the chain does not hold the key itself and survives a pupil's erasure (the salt and the key
  are removed, the commitment stays).
- ``archive_meta``: name -> value (the HMAC key fingerprint, the head of the audit chain).

Entries written before this revision have no chain; ``xinli-screen archive verify`` reports
them as not covered.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit") as batch:
        batch.add_column(sa.Column("chain", sa.String(64), nullable=True))
        batch.add_column(sa.Column("pupil_commit", sa.String(64), nullable=True))
        batch.add_column(sa.Column("pupil_salt", sa.String(32), nullable=True))
    op.create_table(
        "archive_meta",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("archive_meta")
    with op.batch_alter_table("audit") as batch:
        batch.drop_column("pupil_salt")
        batch.drop_column("pupil_commit")
        batch.drop_column("chain")
