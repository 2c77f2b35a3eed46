"""The pupil file store: waves, results, reviews, actions and the audit trail.

SQLite file by default (a path), PostgreSQL (or any SQLAlchemy URL) by URL. The schema is
created and upgraded with Alembic on open. Results, reviews and actions are append-only; the
only deletion is :meth:`ArchiveStore.delete_pupil` (a pupil's right to erasure), which is itself
audited. Importing the same wave twice changes nothing.

Effective tiers are computed on read, wave by wave: screen tier -> history rules of the policy
(:func:`xinli_screen.policy.history.run_history`) -> recorded reviews. A review added later to
an early wave therefore changes the history seen by later waves, as it should.

Errors and audit details never contain a pupil id or an answer (the audit stores the
``pupil_key``, i.e. the id or its pseudonym, in its own column so that it can be erased).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, delete, func, select, update
from sqlalchemy.orm import Session

from xinli_screen.archive.models import (
    ACTION_KINDS,
    Action,
    AuditEvent,
    Result,
    Review,
    Wave,
)
from xinli_screen.errors import XinliScreenError
from xinli_screen.policy.history import REVIEW_OUTCOMES, run_history
from xinli_screen.policy.loader import load_policy
from xinli_screen.policy.models import TIER_ORDER, HistoryRules, Policy
from xinli_screen.privacy import pseudonymise, pseudonymise_one

__all__ = ["NAME_COLUMNS", "ArchiveError", "ArchiveStore", "ImportSummary", "PupilNotFoundError",
           "archive_url"]

#: Roster columns treated as names: stored only with ``keep_names=True``.
NAME_COLUMNS = ("姓名", "学生姓名", "name", "student_name")
_MIGRATIONS = Path(__file__).with_name("migrations")


class ArchiveError(XinliScreenError, ValueError):
    """An archive operation was refused (conflicting re-import, unknown wave, bad outcome)."""


class PupilNotFoundError(XinliScreenError, LookupError):
    """No pupil with the given id (or its pseudonym) is in the archive."""


@dataclass(frozen=True)
class ImportSummary:
    """What an import did.

    Attributes
    ----------
    wave : str
    changed : bool
        False when the same wave with the same content was already there.
    imported : int
        Result rows stored.
    skipped_missing_id, skipped_duplicate_id : int
        Rows not stored because the id was empty or occurred more than once.
    """

    wave: str
    changed: bool
    imported: int
    skipped_missing_id: int = 0
    skipped_duplicate_id: int = 0


def archive_url(target: str | Path) -> str:
    """A SQLAlchemy URL: ``target`` itself when it has a scheme, else a SQLite file path."""
    text = str(target)
    if "://" in text:
        return text
    return "sqlite:///" + str(Path(text).expanduser().resolve())


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return value.isoformat()
    return value if isinstance(value, (str, int)) else str(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in r.items()}
            for r in frame.astype(object).to_dict(orient="records")]


class ArchiveStore:
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
        Policy whose ``history:`` section and tier labels apply when effective tiers are
        computed (default: the bundled ``default``). Without a ``history:`` section only
        reviews change the screen tiers.
    clock : callable, optional
        Returns the current time as ISO text (tests pass a fixed clock).

    Raises
    ------
    sqlalchemy.exc.OperationalError
        The database cannot be reached.
    """

    def __init__(self, target: str | Path, *, key: bytes | None = None,
                 policy: str | Path | Policy = "default",
                 clock: Callable[[], str] | None = None) -> None:
        self.url = archive_url(target)
        self.engine: Engine = create_engine(self.url)
        self.key = key
        loaded = load_policy(policy).policy
        self.history_rules: HistoryRules | None = loaded.history
        self.labels = {t: loaded.tiers.spec(t).label.get("zh") for t in TIER_ORDER}
        self.labels_en = {t: loaded.tiers.spec(t).label.get("en") for t in TIER_ORDER}
        self.clock = clock or _now
        self.upgrade()

    # -- schema ---------------------------------------------------------------------------
    def upgrade(self) -> None:
        """Create or upgrade the schema to the newest Alembic revision."""
        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> ArchiveStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers ----------------------------------------------------------------------------
    def _audit(self, s: Session, actor: str, event: str, *, wave: str | None = None,
               pupil_key: str | None = None, **detail: Any) -> None:
        s.add(AuditEvent(at=self.clock(), actor=actor, event=event, wave=wave,
                         pupil_key=pupil_key, detail={k: _plain(v) for k, v in detail.items()}))

    def _wave(self, s: Session, name: str) -> Wave:
        wave = s.scalar(select(Wave).where(Wave.name == name))
        if wave is None:
            known = s.scalars(select(Wave.name).order_by(Wave.seq)).all()
            raise ArchiveError(f"no wave named {name!r} in the archive (waves: "
                               f"{', '.join(known) or 'none'})")
        return wave

    def _pupil_key(self, s: Session, pupil_id: str) -> str:
        """The stored key of a pupil: the id itself, or its pseudonym when a key is set."""
        candidates = [str(pupil_id)]
        if self.key is not None:
            candidates.append(pseudonymise_one(str(pupil_id), self.key))
        for key in candidates:
            if s.scalar(select(func.count()).select_from(Result)
                        .where(Result.pupil_key == key)):
                return key
        pseudo = s.scalar(select(func.count()).select_from(Wave).where(Wave.pseudonymised))
        hint = (" (the archive holds pseudonymised ids: give the key, e.g. XINLI_HMAC_KEY)"
                if pseudo and self.key is None else "")
        raise PupilNotFoundError("no pupil with the given id in the archive" + hint)

    # -- import -----------------------------------------------------------------------------
    def import_wave(
        self,
        table: pd.DataFrame,
        provenance: Mapping[str, Any],
        wave: str,
        *,
        by: str,
        source_name: str = "<table>",
        id_column: str | None = None,
        roster: pd.DataFrame | None = None,
        attributes: Sequence[str] | None = None,
        pseudonymise_ids: bool = False,
        keep_names: bool = False,
    ) -> ImportSummary:
        """Store one wave's scored results.

        Parameters
        ----------
        table : DataFrame, shape (n, ...)
            ``ScreeningResult.table`` (or a results file read back with
            :func:`~xinli_screen.archive.results_file.read_results_file`).
        provenance : mapping
            ``ScreeningResult.provenance``; stored with the wave.
        wave : str
            Wave name, e.g. ``2025-autumn``; waves are ordered by import.
        by : str
            Who imports (audit trail).
        source_name : str
            File name recorded with the wave.
        id_column : str, optional
            Pupil id column (default: ``provenance["id_column"]``).
        roster : DataFrame, optional
            Pupil attributes joined on the id column (school, grade, class ...), text cells.
            Name columns (:data:`NAME_COLUMNS`) are kept only with ``keep_names``.
        attributes : sequence of str, optional
            Columns of ``table`` or ``roster`` stored as attributes (default: every roster
            column, and ``school``/``grade``/``class``/学校/年级/班级 when in ``table``).
        pseudonymise_ids : bool
            Store the HMAC pseudonym instead of the id (needs ``key``).
        keep_names : bool
            Store a name column of the roster (otherwise names are dropped).

        Returns
        -------
        ImportSummary

        Raises
        ------
        ArchiveError
            No id column; or the wave exists with different content (waves are append-only:
            import a correction under a new wave name).
        PrivacyKeyError
            ``pseudonymise_ids`` without a key.
        """
        id_column = id_column or provenance.get("id_column")
        if not id_column or id_column not in table.columns:
            raise ArchiveError("the results have no pupil id column; score with --id-column")
        if pseudonymise_ids and self.key is None:
            from xinli_screen.privacy import PrivacyKeyError
            raise PrivacyKeyError("pseudonymising ids needs a key (XINLI_HMAC_KEY or a key file)")
        frame = table.reset_index(drop=True).copy()
        frame["_row"] = np.arange(len(frame))
        ids = frame[id_column].astype(object)
        missing = ids.isna() | (ids.astype(str).str.strip() == "")
        dup = ids.duplicated(keep=False) & ~missing
        keep = frame[~missing & ~dup].copy()
        keep[id_column] = keep[id_column].astype(str)
        attr_frame = pd.DataFrame(index=keep.index)
        names = pd.Series(None, index=keep.index, dtype=object)
        if roster is not None:
            if id_column not in roster.columns:
                raise ArchiveError(f"the roster has no column {id_column!r} (the pupil id)")
            rost = roster.astype(object).copy()
            rost[id_column] = rost[id_column].astype(str)
            rost = rost.drop_duplicates(id_column).set_index(id_column)
            name_cols = [c for c in rost.columns if str(c).lower() in NAME_COLUMNS]
            if name_cols and keep_names:
                names = keep[id_column].map(rost[name_cols[0]])
            rost = rost.drop(columns=name_cols)
            cols = list(attributes) if attributes else list(rost.columns)
            cols = [c for c in cols if c in rost.columns]
            attr_frame = pd.DataFrame({c: keep[id_column].map(rost[c]) for c in cols},
                                      index=keep.index)
        own = [c for c in (attributes or ("school", "grade", "class", "学校", "年级", "班级"))
               if c in keep.columns and c not in attr_frame.columns]
        for c in own:
            attr_frame[c] = keep[c]
        content = json.dumps({"rows": _records(keep.drop(columns="_row")),
                              "attributes": _records(attr_frame),
                              "names": [_plain(v) for v in names], "id": id_column,
                              "pseudonymised": pseudonymise_ids},
                             sort_keys=True, ensure_ascii=False, default=str)
        digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
        pupil_keys = (pseudonymise(keep[id_column], self.key) if pseudonymise_ids and self.key
                      else keep[id_column])
        with Session(self.engine) as s, s.begin():
            existing = s.scalar(select(Wave).where(Wave.name == wave))
            if existing is not None:
                if existing.content_sha256 == digest:
                    return ImportSummary(wave, False, 0, int(missing.sum()), int(dup.sum()))
                raise ArchiveError(
                    f"wave {wave!r} is already in the archive with different results; waves "
                    "are append-only: import the corrected file under a new wave name")
            seq = (s.scalar(select(func.max(Wave.seq))) or 0) + 1
            row = Wave(name=wave, seq=seq, imported_at=self.clock(), imported_by=by,
                       source_name=source_name, content_sha256=digest, id_column=id_column,
                       pseudonymised=bool(pseudonymise_ids), n_rows=len(keep),
                       provenance=json.loads(json.dumps(dict(provenance), default=str)))
            s.add(row)
            s.flush()
            data_cols = [c for c in keep.columns if c not in ("_row", id_column)]
            records = _records(keep[data_cols])
            attrs = _records(attr_frame)
            rows = [
                Result(wave_id=row.id, pupil_key=str(pk), row_index=int(r), data=rec,
                       screen_tier=str(rec.get("warning_tier") or "none"),
                       review_status=str(rec.get("review_status") or "not_required"),
                       critical_items=rec.get("critical_items") or "",
                       reasons=rec.get("reasons") or "",
                       reason_codes=rec.get("reason_codes") or "",
                       attributes=a, name=_plain(nm))
                for pk, r, rec, a, nm in zip(pupil_keys, keep["_row"], records, attrs, names,
                                             strict=True)
            ]
            s.add_all(rows)
            self._audit(s, by, "import", wave=wave, rows=len(rows), source=source_name,
                        content_sha256=digest, skipped_missing_id=int(missing.sum()),
                        skipped_duplicate_id=int(dup.sum()), pseudonymised=pseudonymise_ids)
        return ImportSummary(wave, True, len(rows), int(missing.sum()), int(dup.sum()))

    # -- reviews and actions ----------------------------------------------------------------
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
        """The waves in order: name, seq, imported_at, imported_by, source_name, n_rows."""
        with Session(self.engine) as s:
            rows = s.execute(select(Wave.name, Wave.seq, Wave.imported_at, Wave.imported_by,
                                    Wave.source_name, Wave.n_rows, Wave.pseudonymised)
                             .order_by(Wave.seq)).all()
        return pd.DataFrame(rows, columns=["name", "seq", "imported_at", "imported_by",
                                           "source_name", "n_rows", "pseudonymised"])

    def _frames(self, s: Session, *, pupil_key: str | None = None,
                max_seq: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        q = select(Result, Wave.name, Wave.seq).join(Wave, Wave.id == Result.wave_id)
        rq = select(Review, Wave.seq).join(Wave, Wave.id == Review.wave_id)
        if pupil_key is not None:
            q = q.where(Result.pupil_key == pupil_key)
            rq = rq.where(Review.pupil_key == pupil_key)
        if max_seq is not None:
            q = q.where(Wave.seq <= max_seq)
            rq = rq.where(Wave.seq <= max_seq)
        rows = []
        for res, name, seq in s.execute(q.order_by(Wave.seq, Result.row_index)):
            rows.append({**res.data, **{f"attr.{k}": v for k, v in res.attributes.items()},
                         "pupil_id": res.pupil_key, "name": res.name, "wave": name,
                         "wave_seq": seq, "warning_tier": res.screen_tier,
                         "review_status": res.review_status,
                         "critical_items": res.critical_items, "reasons": res.reasons,
                         "reason_codes": res.reason_codes})
        reviews = [{"pupil_id": r.pupil_key, "wave_seq": seq, "outcome": r.outcome,
                    "tier": r.tier, "by": r.by, "at": r.at, "note": r.note, "_id": r.id}
                   for r, seq in s.execute(rq.order_by(Review.id))]
        screens = pd.DataFrame(rows)
        review_frame = pd.DataFrame(reviews, columns=["pupil_id", "wave_seq", "outcome", "tier",
                                                      "by", "at", "note", "_id"])
        return screens, review_frame

    def effective(self, screens: pd.DataFrame, reviews: pd.DataFrame) -> pd.DataFrame:
        """Effective tiers of stored results (history rules, then reviews), wave by wave."""
        if not len(screens):
            return screens
        return run_history(screens, reviews, self.history_rules, labels=self.labels)

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

    def pupil_file(self, pupil_id: str) -> dict[str, Any]:
        """Everything stored about one pupil, with effective tiers per wave.

        Returns
        -------
        dict
            ``pupil_key``, ``name`` (None unless stored), ``waves`` (list of dicts, one per
            wave in order, each with the stored result row, ``screen_tier``,
            ``warning_tier``, ``review_status``, ``file_status``, ``history_reasons_*``,
            ``reviews`` and ``actions`` of that wave), ``actions`` without a wave, ``audit``
            (list of events) and ``provenance`` per wave.

        Raises
        ------
        PupilNotFoundError
        """
        with Session(self.engine) as s:
            key = self._pupil_key(s, pupil_id)
            screens, reviews = self._frames(s, pupil_key=key)
            actions = [{"wave_id": a.wave_id, "kind": a.kind, "kind_zh": ACTION_KINDS[a.kind],
                        "by": a.by, "at": a.at, "note": a.note}
                       for a in s.scalars(select(Action).where(Action.pupil_key == key)
                                          .order_by(Action.id))]
            waves = {w.id: w for w in s.scalars(select(Wave).order_by(Wave.seq))}
            audit = [{"at": e.at, "actor": e.actor, "event": e.event, "wave": e.wave,
                      "detail": e.detail}
                     for e in s.scalars(select(AuditEvent).where(AuditEvent.pupil_key == key)
                                        .order_by(AuditEvent.id))]
        table = self.effective(screens, reviews)
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

    def counts(self) -> dict[str, int]:
        """Row counts of every table (to check that an operation changed nothing)."""
        with Session(self.engine) as s:
            return {m.__tablename__: int(s.scalar(select(func.count()).select_from(m)) or 0)
                    for m in (Wave, Result, Review, Action, AuditEvent)}

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

        The deletion itself is audited without the id (only the counts removed).

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
                            .values(pupil_key=None))
            removed["audit_entries_unlinked"] = int(res.rowcount or 0)
            self._audit(s, by, "delete_pupil", **removed)
        return removed
