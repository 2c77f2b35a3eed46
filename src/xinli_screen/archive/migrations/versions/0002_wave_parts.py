"""Waves with parts, a frozen policy and superseded versions.

- ``waves``: the frozen policy (id, version, SHA-256, YAML text), the wave definition and its
  hash, the display time zone and title.
- ``parts``: one row per imported version of one part (an answer file) of a wave.
- ``results``: ``part_id``, ``active`` (the one result per pupil and wave that counts),
  ``source_row`` (row in the file as a person sees it, header = 1), ``source_ref`` (问卷星 序号),
  ``roster_match``, ``complete`` and ``note``; the unique (wave, pupil) constraint becomes an
  index because superseded rows and double submissions are kept.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("waves") as batch:
        batch.add_column(sa.Column("title", sa.String(255), nullable=True))
        batch.add_column(sa.Column("timezone", sa.String(64), nullable=True))
        batch.add_column(sa.Column("policy_id", sa.String(100), nullable=True))
        batch.add_column(sa.Column("policy_version", sa.String(50), nullable=True))
        batch.add_column(sa.Column("policy_sha256", sa.String(64), nullable=True))
        batch.add_column(sa.Column("policy_text", sa.Text, nullable=True))
        batch.add_column(sa.Column("definition", sa.JSON, nullable=True))
        batch.add_column(sa.Column("definition_sha256", sa.String(64), nullable=True))
    op.create_table(
        "parts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("wave_id", sa.Integer, sa.ForeignKey("waves.id"), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("form", sa.String(100), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("source_name", sa.String(255), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("imported_at", sa.String(32), nullable=False),
        sa.Column("imported_by", sa.String(100), nullable=False),
        sa.Column("n_rows", sa.Integer, nullable=False),
        sa.Column("provenance", sa.JSON, nullable=False),
        sa.Column("superseded_at", sa.String(32), nullable=True),
        sa.UniqueConstraint("wave_id", "name", "version", name="uq_parts_wave_name_version"),
    )
    with op.batch_alter_table("results") as batch:
        batch.drop_constraint("uq_results_wave_pupil", type_="unique")
        batch.add_column(sa.Column("part_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("active", sa.Boolean, nullable=False,
                                   server_default=sa.true()))
        batch.add_column(sa.Column("complete", sa.Boolean, nullable=False,
                                   server_default=sa.true()))
        batch.add_column(sa.Column("source_row", sa.Integer, nullable=True))
        batch.add_column(sa.Column("source_ref", sa.String(64), nullable=True))
        batch.add_column(sa.Column("roster_match", sa.String(16), nullable=True))
        batch.add_column(sa.Column("note", sa.Text, nullable=True))
        batch.create_index("ix_results_wave_pupil", ["wave_id", "pupil_key"])
        batch.create_index("ix_results_part", ["part_id"])
    # every wave imported before parts existed becomes one part, version 1
    conn = op.get_bind()
    waves = conn.execute(sa.text(
        "SELECT id, source_name, content_sha256, imported_at, imported_by, n_rows FROM waves"))
    for wid, source, sha, at, by, n in waves.fetchall():
        conn.execute(sa.text(
            "INSERT INTO parts (wave_id, name, form, kind, version, source_name, "
            "content_sha256, imported_at, imported_by, n_rows, provenance) VALUES "
            "(:w, 'main', NULL, 'answers', 1, :s, :h, :a, :b, :n, '{}')"),
            {"w": wid, "s": source, "h": sha, "a": at, "b": by, "n": n})
        pid = conn.execute(sa.text("SELECT id FROM parts WHERE wave_id = :w"),
                           {"w": wid}).scalar()
        conn.execute(sa.text("UPDATE results SET part_id = :p WHERE wave_id = :w"),
                     {"p": pid, "w": wid})


def downgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.drop_index("ix_results_part")
        batch.drop_index("ix_results_wave_pupil")
        for col in ("note", "roster_match", "source_ref", "source_row", "complete", "active",
                    "part_id"):
            batch.drop_column(col)
        batch.create_unique_constraint("uq_results_wave_pupil", ["wave_id", "pupil_key"])
    op.drop_table("parts")
    with op.batch_alter_table("waves") as batch:
        for col in ("definition_sha256", "definition", "policy_text", "policy_sha256",
                    "policy_version", "policy_id", "timezone", "title"):
            batch.drop_column(col)
