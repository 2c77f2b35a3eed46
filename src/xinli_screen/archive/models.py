"""SQLAlchemy 2 table models of the pupil file store (一生一策档案).

Tables (schema created and upgraded by the Alembic migrations in ``migrations/``):

- ``waves``: one screening round (测评批次): name, order (``seq``), source hash, provenance, and
  the policy frozen with it (id, version, SHA-256 and YAML text) and its definition.
- ``parts``: one imported version of one answer file (a part) of a wave; a corrected file
  imported under the same part name supersedes the earlier version, which is kept.
- ``results``: one row per answer sheet: screen tier, review status, reasons, and the full
  scored row (scores, bands, cut-offs, norms) as JSON; ``attributes`` holds roster fields
  (school, grade, class ...). ``pupil_key`` is the school id or its HMAC pseudonym. Exactly
  one row per pupil and wave is ``active`` (the one that counts); double submissions and
  superseded versions stay, inactive.
- ``reviews``: recorded human reviews (复核): outcome, tier, who, when, why; ``on_date`` is
  the local date the review took place when it was entered from a return sheet (``at`` is
  when it was recorded), ``source_key`` the row's fingerprint that makes re-imports change
  nothing.
- ``actions``: interview, parent contact, referral, return to school, other (with
  ``on_date`` and ``source_key`` as for reviews).
- ``audit``: append-only trail of every change and every report (who, when, what),
  hash-chained (``chain``; :mod:`xinli_screen.archive.audit_chain`) so that an edited,
  inserted or removed entry is detected; the pupil is bound to an entry by a salted
  commitment (``pupil_commit``), so erasing a pupil keeps the chain whole.
- ``archive_meta``: the pseudonymisation key's fingerprint and the head of the audit chain.

Times are ISO-8601 UTC text, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["ACTION_KINDS", "Action", "ArchiveMeta", "AuditEvent", "Base", "Part", "Result",
           "Review", "Wave"]

#: Kinds of follow-up action, with their Chinese wording.
ACTION_KINDS: dict[str, str] = {
    "interview": "面谈",
    "parent_contact": "家校沟通",
    "referral": "转介就医",
    "return_to_school": "复学",
    "other": "其他",
}


class Base(DeclarativeBase):
    """Declarative base of the archive tables."""


class Wave(Base):
    """One screening wave."""

    __tablename__ = "waves"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    imported_at: Mapped[str] = mapped_column(String(32))
    imported_by: Mapped[str] = mapped_column(String(100))
    source_name: Mapped[str] = mapped_column(String(255))
    content_sha256: Mapped[str] = mapped_column(String(64))
    id_column: Mapped[str] = mapped_column(String(100))
    pseudonymised: Mapped[bool] = mapped_column(default=False)
    n_rows: Mapped[int] = mapped_column(Integer)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON)
    title: Mapped[str | None] = mapped_column(String(255), nullable=True)
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    policy_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    policy_version: Mapped[str | None] = mapped_column(String(50), nullable=True)
    policy_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    policy_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    definition: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    definition_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Part(Base):
    """One imported version of one part (answer file) of a wave."""

    __tablename__ = "parts"
    __table_args__ = (UniqueConstraint("wave_id", "name", "version",
                                       name="uq_parts_wave_name_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    form: Mapped[str | None] = mapped_column(String(100), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    source_name: Mapped[str] = mapped_column(String(255))
    content_sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[str] = mapped_column(String(32))
    imported_by: Mapped[str] = mapped_column(String(100))
    n_rows: Mapped[int] = mapped_column(Integer)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON)
    superseded_at: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Result(Base):
    """One answer sheet's scored result in one wave (one ``active`` row per pupil and wave)."""

    __tablename__ = "results"
    __table_args__ = (Index("ix_results_wave_pupil", "wave_id", "pupil_key"),
                      Index("ix_results_part", "part_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), index=True)
    pupil_key: Mapped[str] = mapped_column(String(128), index=True)
    part_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    complete: Mapped[bool] = mapped_column(default=True, server_default=true())
    source_row: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    roster_match: Mapped[str | None] = mapped_column(String(16), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    row_index: Mapped[int] = mapped_column(Integer)
    screen_tier: Mapped[str] = mapped_column(String(16))
    review_status: Mapped[str] = mapped_column(String(32))
    critical_items: Mapped[str] = mapped_column(Text, default="")
    reasons: Mapped[str] = mapped_column(Text, default="")
    reason_codes: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON)
    name: Mapped[str | None] = mapped_column(String(100), nullable=True)


class Review(Base):
    """A recorded review (复核) of one pupil's result in one wave."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), index=True)
    pupil_key: Mapped[str] = mapped_column(String(128), index=True)
    outcome: Mapped[str] = mapped_column(String(32))
    tier: Mapped[str | None] = mapped_column(String(16), nullable=True)
    by: Mapped[str] = mapped_column(String(100))
    at: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    on_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    source_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)


class Action(Base):
    """A follow-up action: interview, parent contact, referral, return to school."""

    __tablename__ = "actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int | None] = mapped_column(ForeignKey("waves.id"), nullable=True)
    pupil_key: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    by: Mapped[str] = mapped_column(String(100))
    at: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    on_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    source_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)


class AuditEvent(Base):
    """One audit-trail entry: who did what, when (append-only)."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(32))
    wave: Mapped[str | None] = mapped_column(String(100), nullable=True)
    pupil_key: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    chain: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pupil_commit: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pupil_salt: Mapped[str | None] = mapped_column(String(32), nullable=True)


class ArchiveMeta(Base):
    """Facts about the archive itself: the pseudonymisation key's fingerprint, the head of
    the audit chain."""

    __tablename__ = "archive_meta"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
