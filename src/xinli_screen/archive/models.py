"""SQLAlchemy 2 table models of the pupil file store (一生一策档案).

Tables (schema created and upgraded by the Alembic migrations in ``migrations/``):

- ``waves``: one screening round (测评批次): name, order (``seq``), source hash, provenance.
- ``results``: one row per pupil and wave: screen tier, review status, reasons, and the full
  scored row (scores, bands, cut-offs, norms) as JSON; ``attributes`` holds roster fields
  (school, grade, class ...). ``pupil_key`` is the school id or its HMAC pseudonym.
- ``reviews``: recorded human reviews (复核): outcome, tier, who, when, why.
- ``actions``: interview, parent contact, referral, return to school, other.
- ``audit``: append-only trail of every change and every report (who, when, what).

Times are ISO-8601 UTC text, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["ACTION_KINDS", "Action", "AuditEvent", "Base", "Result", "Review", "Wave"]

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


class Result(Base):
    """One pupil's scored result in one wave."""

    __tablename__ = "results"
    __table_args__ = (UniqueConstraint("wave_id", "pupil_key", name="uq_results_wave_pupil"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), index=True)
    pupil_key: Mapped[str] = mapped_column(String(128), index=True)
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
