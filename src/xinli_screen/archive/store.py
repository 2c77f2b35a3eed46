"""The pupil file store: waves, results, reviews, actions and the audit trail.

SQLite file by default (a path), PostgreSQL (or any SQLAlchemy URL) by URL. The schema is
created and upgraded with Alembic on open. Results, reviews and actions are append-only; the
only deletion is :meth:`ArchiveStore.delete_pupil` (a pupil's right to erasure), which is itself
audited. Importing the same wave twice changes nothing.

Effective tiers are computed on read, wave by wave: screen tier -> history rules of the policy
(:func:`xinli_screen.policy.history.run_history`) -> recorded reviews. A review added later to
an early wave therefore changes the history seen by later waves, as it should.

Reading stored results back as frames (the counted sheets, reviews, the reliable-change
population) and computing effective tiers from them lives in :mod:`xinli_screen.archive.frames`;
importing in :mod:`~xinli_screen.archive.importing`, bulk follow-up in
:mod:`~xinli_screen.archive.followup`. This module holds the public class and its
reviews, actions, reads and privacy operations.

Errors and audit details never contain a pupil id or an answer (the audit stores the
``pupil_key``, i.e. the id or its pseudonym, in its own column so that it can be erased).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from xinli_screen.archive.audit_chain import AuditVerification, verify_chain
from xinli_screen.archive.base import (
    NAME_COLUMNS,
    ArchiveError,
    ImportSummary,
    PupilNotFoundError,
    _records,
    archive_url,
)
from xinli_screen.archive.followup import _FollowUp
from xinli_screen.archive.frames import _Frames
from xinli_screen.archive.importing import _Importing
from xinli_screen.archive.models import (
    ACTION_KINDS,
    Action,
    ArchiveMeta,
    AuditEvent,
    Part,
    Result,
    Review,
    Wave,
)
from xinli_screen.policy.history import REVIEW_OUTCOMES
from xinli_screen.policy.models import TIER_ORDER, Policy

__all__ = ["NAME_COLUMNS", "ArchiveError", "ArchiveStore", "ImportSummary", "PupilNotFoundError",
           "archive_url"]


class ArchiveStore(_Importing, _FollowUp, _Frames):
    """The pupil file store (一生一策档案).

    Parameters
    ----------
    target : str or Path
        A SQLite file path (created when absent) or a SQLAlchemy URL such as
        ``postgresql+psycopg://user:pw@localhost/xinli``.
    key : bytes, optional
        Pseudonymisation key (:func:`xinli_screen.privacy.load_key`); needed to import with
        ``pseudonymise=True`` and to find pupils in pseudonymised waves by their school id.
    policy : str, Path or Policy
        The policy frozen with waves imported by :meth:`import_wave` without one of their
        own, and used for waves stored before waves carried their policy (default: the
        bundled ``default``). Every wave imported now keeps the policy it was scored with,
        and its effective tiers (history rules, tier labels) always use that policy,
        whatever policy the store is opened with.
    clock : callable, optional
        Returns the current time as ISO text (tests pass a fixed clock).

    Raises
    ------
    sqlalchemy.exc.OperationalError
        The database cannot be reached.
    """

    def add_review(self, pupil_id: str, wave: str, outcome: str, *, by: str, note: str = "",
                   tier: str | None = None) -> None:
        """Record a review (复核) of a pupil's result in ``wave``.

        Parameters
        ----------
        pupil_id : str
            School id (or the pseudonym itself).
        wave : str
        outcome : {"confirmed", "not_confirmed", "tier_changed", "closed"}
        by : str
            Reviewer (psychologist) name or role.
        note : str
            Why (kept in the psychologist view only).
        tier : str, optional
            Tier set by the reviewer; required for ``tier_changed``.

        Raises
        ------
        ArchiveError
            Unknown outcome or tier, ``tier_changed`` without a tier, unknown wave, or the
            pupil has no result in that wave.
        PupilNotFoundError
            The pupil is not in the archive.
        """
        if outcome not in REVIEW_OUTCOMES:
            raise ArchiveError(f"unknown review outcome {outcome!r}; use one of "
                               f"{', '.join(REVIEW_OUTCOMES)}")
        if tier is not None and tier not in TIER_ORDER:
            raise ArchiveError(f"unknown tier {tier!r}; use one of {', '.join(TIER_ORDER)}")
        if outcome == "tier_changed" and tier is None:
            raise ArchiveError("outcome tier_changed needs the new tier (--tier)")
        with Session(self.engine) as s, s.begin():
            key = self._pupil_key(s, pupil_id)
            w = self._wave(s, wave)
            if not s.scalar(select(func.count()).select_from(Result).where(
                    Result.wave_id == w.id, Result.pupil_key == key)):
                raise ArchiveError(f"the pupil has no result in wave {wave!r}")
            s.add(Review(wave_id=w.id, pupil_key=key, outcome=outcome, tier=tier, by=by,
                         at=self.clock(), note=note))
            self._audit(s, by, "review", wave=wave, pupil_key=key, outcome=outcome, tier=tier)

    def add_action(self, pupil_id: str, kind: str, *, by: str, note: str = "",
                   wave: str | None = None) -> None:
        """Record a follow-up action (面谈, 家校沟通, 转介就医, 复学 ...).

        Raises
        ------
        ArchiveError
            Unknown kind (see :data:`~xinli_screen.archive.models.ACTION_KINDS`) or wave.
        PupilNotFoundError
            The pupil is not in the archive.
        """
        if kind not in ACTION_KINDS:
            raise ArchiveError(f"unknown action {kind!r}; use one of {', '.join(ACTION_KINDS)}")
        with Session(self.engine) as s, s.begin():
            key = self._pupil_key(s, pupil_id)
            wave_id = None if wave is None else self._wave(s, wave).id
            s.add(Action(wave_id=wave_id, pupil_key=key, kind=kind, by=by, at=self.clock(),
                         note=note))
            self._audit(s, by, "action", wave=wave, pupil_key=key, kind=kind)

    def log_access(self, pupil_id: str | None, event: str, *, by: str,
                   wave: str | None = None, **detail: Any) -> None:
        """Record a read access (a report) in the audit trail."""
        with Session(self.engine) as s, s.begin():
            key = None if pupil_id is None else self._pupil_key(s, pupil_id)
            self._audit(s, by, event, wave=wave, pupil_key=key, **detail)

    # -- reading ----------------------------------------------------------------------------
    def waves(self) -> pd.DataFrame:
        """The waves in order: name, seq, imported_at, imported_by, source_name, n_rows
        (pupils counted), pseudonymised, policy_id, policy_version (frozen policy)."""
        with Session(self.engine) as s:
            rows = s.execute(select(Wave.name, Wave.seq, Wave.imported_at, Wave.imported_by,
                                    Wave.source_name, Wave.n_rows, Wave.pseudonymised,
                                    Wave.policy_id, Wave.policy_version)
                             .order_by(Wave.seq)).all()
        return pd.DataFrame(rows, columns=["name", "seq", "imported_at", "imported_by",
                                           "source_name", "n_rows", "pseudonymised",
                                           "policy_id", "policy_version"])

    def wave_table(self, wave: str) -> pd.DataFrame:
        """One wave's results with effective tiers.

        Returns
        -------
        DataFrame, shape (n pupils of the wave, ...)
            The stored result columns (scores, bands, cut-offs ...), ``attr.*`` roster
            attributes, ``pupil_id`` (the stored key), ``screen_tier``, ``warning_tier``
            (effective), ``review_status``, ``file_status``, history reasons and review
            columns (see :func:`~xinli_screen.policy.history.apply_reviews`).

        Raises
        ------
        ArchiveError
            Unknown wave.
        """
        with Session(self.engine) as s:
            w = self._wave(s, wave)
            screens, reviews = self._frames(s, max_seq=w.seq)
        table = self.effective(screens, reviews)
        return table[table["wave_seq"] == w.seq].reset_index(drop=True)

    def parts(self, wave: str) -> pd.DataFrame:
        """Every imported version of every part of ``wave``.

        Returns
        -------
        DataFrame
            ``part_id``, ``name``, ``form``, ``kind``, ``version``, ``source_name``,
            ``imported_at``, ``imported_by``, ``n_rows``, ``superseded_at`` (None for the
            version in force), ``content_sha256``.

        Raises
        ------
        ArchiveError
            Unknown wave.
        """
        cols = ["part_id", "name", "form", "kind", "version", "source_name", "imported_at",
                "imported_by", "n_rows", "superseded_at", "content_sha256"]
        with Session(self.engine) as s:
            w = self._wave(s, wave)
            rows = s.execute(select(Part.id, Part.name, Part.form, Part.kind, Part.version,
                                    Part.source_name, Part.imported_at, Part.imported_by,
                                    Part.n_rows, Part.superseded_at, Part.content_sha256)
                             .where(Part.wave_id == w.id).order_by(Part.id)).all()
        return pd.DataFrame(rows, columns=cols)

    def sheets(self, wave: str) -> pd.DataFrame:
        """Every answer sheet of ``wave`` in a part version in force, counted or not.

        Returns
        -------
        DataFrame, one row per sheet
            ``pupil_key``, ``part``, ``kind``, ``retest``, ``file_row``, ``source_ref``,
            ``roster_match``, ``entered_id``, ``active``, ``complete``, ``critical_items``,
            ``warning_tier`` (screen tier of the sheet), ``name``, and the stored
            attributes (``school``, ``grade``, ``class`` ...).

        Raises
        ------
        ArchiveError
            Unknown wave.
        """
        with Session(self.engine) as s:
            w = self._wave(s, wave)
            q = (select(Result, Part.name, Part.kind).join(Part, Part.id == Result.part_id)
                 .where(Result.wave_id == w.id, Part.superseded_at.is_(None))
                 .order_by(Part.id, Result.row_index))
            rows = [{"pupil_key": r.pupil_key, "part": name, "kind": kind,
                     "retest": kind == "retest", "file_row": r.source_row,
                     "source_ref": r.source_ref, "roster_match": r.roster_match,
                     "entered_id": (r.attributes or {}).get("entered_id", r.pupil_key),
                     "active": bool(r.active), "complete": bool(r.complete),
                     "critical_items": r.critical_items, "warning_tier": r.screen_tier,
                     "name": r.name,
                     **{k: v for k, v in (r.attributes or {}).items() if k != "entered_id"}}
                    for r, name, kind in s.execute(q)]
        return pd.DataFrame(rows, columns=None if rows else [
            "pupil_key", "part", "kind", "retest", "file_row", "source_ref", "roster_match",
            "entered_id", "active", "complete", "critical_items", "warning_tier", "name"])

    def wave_info(self, wave: str) -> dict[str, Any]:
        """A wave's stored record: name, seq, title, time zone, frozen policy (id, version,
        sha256), definition and its hash.

        Raises
        ------
        ArchiveError
            Unknown wave.
        """
        with Session(self.engine) as s:
            w = self._wave(s, wave)
            return {"name": w.name, "seq": w.seq, "title": w.title,
                    "timezone": w.timezone or "Asia/Shanghai", "policy_id": w.policy_id,
                    "policy_version": w.policy_version, "policy_sha256": w.policy_sha256,
                    "definition": w.definition, "definition_sha256": w.definition_sha256,
                    "n_rows": w.n_rows, "pseudonymised": w.pseudonymised}

    def wave_policy(self, wave: str) -> Policy:
        """The policy frozen with ``wave`` (the store's policy for waves stored without one).

        Raises
        ------
        ArchiveError
            Unknown wave.
        """
        with Session(self.engine) as s:
            return self._wave_policy(s, self._wave(s, wave).seq)

    def pupil_file(self, pupil_id: str) -> dict[str, Any]:
        """Everything stored about one pupil, with effective tiers per wave.

        Returns
        -------
        dict
            ``pupil_key``, ``name`` (None unless stored), ``waves`` (list of dicts, one per
            wave in order, each with the stored result row, ``screen_tier``,
            ``warning_tier``, ``review_status``, ``file_status``, ``history_reasons_*``,
            ``reviews`` and ``actions`` of that wave; each with ``at``, when it was recorded,
            and ``on_date``, the local date it took place when entered from a return sheet,
            else None), ``actions`` without a wave, ``audit``
            (list of events) and ``provenance`` per wave. Each wave's columns are those of
            :meth:`wave_table` for this pupil (``change.*`` columns too, r and SD estimated
            over every pupil, empty when the pupil has no earlier wave).

        Raises
        ------
        PupilNotFoundError
        """
        with Session(self.engine) as s:
            key = self._pupil_key(s, pupil_id)
            screens, reviews = self._frames(s, pupil_key=key)
            # r and SD come from every pupil's scores whenever one of this pupil's waves has
            # an earlier wave and change rules: also when that earlier wave is not the
            # pupil's own, so that the file has the whole table's (empty) change columns.
            seqs = sorted(int(q) for q in screens["wave_seq"].unique()) if len(screens) else []
            first = s.scalar(select(func.min(Wave.seq)))
            population = (self._population(s, max_seq=seqs[-1]) if any(
                q > first and (h := self._wave_policy(s, q).history) is not None
                and h.change is not None for q in seqs) else None)
            actions = [{"wave_id": a.wave_id, "kind": a.kind, "kind_zh": ACTION_KINDS[a.kind],
                        "by": a.by, "at": a.at, "on_date": a.on_date, "note": a.note}
                       for a in s.scalars(select(Action).where(Action.pupil_key == key)
                                          .order_by(Action.id))]
            waves = {w.id: w for w in s.scalars(select(Wave).order_by(Wave.seq))}
            audit = [{"at": e.at, "actor": e.actor, "event": e.event, "wave": e.wave,
                      "detail": e.detail}
                     for e in s.scalars(select(AuditEvent).where(AuditEvent.pupil_key == key)
                                        .order_by(AuditEvent.id))]
        table = self.effective(screens, reviews, population)
        by_seq = {w.seq: w for w in waves.values()}
        out_waves = []
        for rec in _records(table):
            w = by_seq[rec["wave_seq"]]
            rec["reviews"] = _records(reviews[reviews["wave_seq"] == w.seq]
                                      .drop(columns=["_id", "pupil_id"]))
            rec["actions"] = [a for a in actions if a["wave_id"] == w.id]
            rec["provenance"] = w.provenance
            rec["imported_at"] = w.imported_at
            out_waves.append(rec)
        return {"pupil_key": key, "name": table["name"].iloc[0] if len(table) else None,
                "waves": out_waves,
                "actions": [a for a in actions if a["wave_id"] is None],
                "audit": audit}

    def audit(self, pupil_id: str | None = None) -> pd.DataFrame:
        """The audit trail (all, or one pupil's): at, actor, event, wave, pupil_key, detail."""
        with Session(self.engine) as s:
            q = select(AuditEvent).order_by(AuditEvent.id)
            if pupil_id is not None:
                q = q.where(AuditEvent.pupil_key == self._pupil_key(s, pupil_id))
            rows = [{"at": e.at, "actor": e.actor, "event": e.event, "wave": e.wave,
                     "pupil_key": e.pupil_key, "detail": json.dumps(e.detail,
                                                                    ensure_ascii=False)}
                    for e in s.scalars(q)]
        return pd.DataFrame(rows, columns=["at", "actor", "event", "wave", "pupil_key",
                                           "detail"])

    def verify_audit(self) -> AuditVerification:
        """Check the hash chain of the audit trail
        (:func:`~xinli_screen.archive.audit_chain.verify_chain`).

        Returns
        -------
        AuditVerification
            ``ok``, the entries read and verified, those written before the chain existed,
            the head, and one line per break (by entry number, never a pupil).
        """
        with Session(self.engine) as s:
            head = s.get(ArchiveMeta, "audit_head")
            return verify_chain(s.scalars(select(AuditEvent).order_by(AuditEvent.id)),
                                head.value if head is not None else None)

    def counts(self) -> dict[str, int]:
        """Row counts of every table (to check that an operation changed nothing)."""
        with Session(self.engine) as s:
            return {m.__tablename__: int(s.scalar(select(func.count()).select_from(m)) or 0)
                    for m in (Wave, Part, Result, Review, Action, AuditEvent)}

    # -- privacy ----------------------------------------------------------------------------
    def export_pupil(self, pupil_id: str, *, by: str) -> dict[str, Any]:
        """Everything stored about one pupil, as a JSON-ready dict (audited).

        Raises
        ------
        PupilNotFoundError
        """
        record = self.pupil_file(pupil_id)
        self.log_access(pupil_id, "export", by=by)
        record["exported_at"] = self.clock()
        return record

    def delete_pupil(self, pupil_id: str, *, by: str) -> dict[str, int]:
        """Erase one pupil's results, reviews and actions, and their key from the audit trail.

        The deletion itself is audited without the id (only the counts removed). The audit
        entries keep their salted commitment (the salt goes with the key), so the hash chain
        stays whole and nothing links them to the id any more.

        Returns
        -------
        dict
            Rows removed per table.

        Raises
        ------
        PupilNotFoundError
        """
        with Session(self.engine) as s, s.begin():
            key = self._pupil_key(s, pupil_id)
            removed = {}
            for model in (Result, Review, Action):
                res = s.execute(delete(model).where(model.pupil_key == key))
                removed[model.__tablename__] = int(res.rowcount or 0)
            res = s.execute(update(AuditEvent).where(AuditEvent.pupil_key == key)
                            .values(pupil_key=None, pupil_salt=None))
            removed["audit_entries_unlinked"] = int(res.rowcount or 0)
            self._audit(s, by, "delete_pupil", **removed)
        return removed
