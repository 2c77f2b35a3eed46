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
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, delete, func, or_, select, update
from sqlalchemy.orm import Session

from xinli_screen.archive.models import (
    ACTION_KINDS,
    Action,
    AuditEvent,
    Part,
    Result,
    Review,
    Wave,
)
from xinli_screen.archive.parts import PartImport, PartOutcome, reselect_active, store_part
from xinli_screen.errors import XinliScreenError
from xinli_screen.policy.history import REVIEW_OUTCOMES, run_history
from xinli_screen.policy.loader import LoadedPolicy, load_policy
from xinli_screen.policy.models import TIER_ORDER, HistoryRules, Policy
from xinli_screen.privacy import pseudonymise, pseudonymise_one

if TYPE_CHECKING:
    from xinli_screen.wave.run import WaveRun

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
        False when every part was already there with the same content.
    imported : int
        Sheets stored by this import (every sheet of every new or corrected part).
    without_id : int
        Sheets stored under a provisional key (``NOID-{part}-{row}``) because the id was
        empty; they stay in the pupil file and on the warning list.
    duplicate_sheets : int
        Sheets of the wave that do not count because the pupil has another sheet that does
        (double submissions, sheets replaced by a retest); kept, inactive.
    parts : tuple of PartOutcome
        Per part: new, corrected (earlier version superseded) or unchanged.
    """

    wave: str
    changed: bool
    imported: int
    without_id: int = 0
    duplicate_sheets: int = 0
    parts: tuple[PartOutcome, ...] = ()


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

    def __init__(self, target: str | Path, *, key: bytes | None = None,
                 policy: str | Path | Policy = "default",
                 clock: Callable[[], str] | None = None) -> None:
        self.url = archive_url(target)
        self.engine: Engine = create_engine(self.url)
        self.key = key
        self._policy = load_policy(policy)
        loaded = self._policy.policy
        self._wave_policies: dict[str, Policy] = {}
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
        part: str = "main",
        retest: bool = False,
        policy: str | Path | Policy | None = None,
    ) -> ImportSummary:
        """Store one results table as a part of a wave (the wave is created when new).

        Parameters
        ----------
        table : DataFrame, shape (n, ...)
            ``ScreeningResult.table`` (or a results file read back with
            :func:`~xinli_screen.archive.results_file.read_results_file`).
        provenance : mapping
            ``ScreeningResult.provenance``; stored with the part.
        wave : str
            Wave name, e.g. ``2025-autumn``; waves are ordered by first import.
        by : str
            Who imports (audit trail).
        source_name : str
            File name recorded with the part.
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
        part : str
            Part name. Importing different content under the same part name is a
            correction: the earlier version is superseded (kept, audited).
        retest : bool
            The rows are a retest: each replaces the pupil's earlier sheet in this wave.
        policy : str, Path or Policy, optional
            The policy the results were scored with, frozen with a new wave (default: the
            store's policy). Must be the policy recorded in ``provenance`` when it records
            one, and the wave's frozen policy when the wave exists.

        Returns
        -------
        ImportSummary

        Raises
        ------
        ArchiveError
            No id column; a policy that is not the one the results were scored with, or not
            the wave's frozen policy.
        PrivacyKeyError
            ``pseudonymise_ids`` without a key.
        """
        from xinli_screen.wave.reconcile import match_roster

        id_column = id_column or provenance.get("id_column")
        if not id_column or id_column not in table.columns:
            raise ArchiveError("the results have no pupil id column; score with --id-column")
        self._need_key(pseudonymise_ids)
        loaded = self._policy if policy is None else load_policy(policy)
        recorded = (provenance.get("policy") or {}).get("sha256")
        if recorded and loaded.sha256 not in (recorded, "model"):
            raise ArchiveError(
                f"the results were scored with policy {provenance['policy'].get('id')!r} "
                f"(sha256 {str(recorded)[:12]}); give that policy with --policy so that it "
                "is frozen with the wave")
        frame = table.reset_index(drop=True)
        sheets = pd.DataFrame({"id": frame[id_column].to_numpy(), "part": part,
                               "file_row": np.arange(2, len(frame) + 2)})
        rost = None
        attr_map: dict[str, str] = {}
        name_col = None
        if roster is not None:
            if id_column not in roster.columns:
                raise ArchiveError(f"the roster has no column {id_column!r} (the pupil id)")
            rost = roster.astype(object)
            names = [c for c in rost.columns if str(c).strip().lower() in NAME_COLUMNS]
            name_col = names[0] if names else None
            cols = [c for c in (attributes or rost.columns)
                    if c in rost.columns and c != id_column and c not in names]
            attr_map = {str(c): str(c) for c in cols}
        matched = match_roster(sheets, rost, roster_id=id_column, attributes=attr_map or None,
                               name_column=None)
        attrs = matched[list(attr_map)].copy() if attr_map else pd.DataFrame(index=frame.index)
        for c in (attributes or ("school", "grade", "class", "学校", "年级", "班级")):
            if c in frame.columns and c not in attrs.columns and c != id_column:
                attrs[c] = frame[c]
        names_out = pd.Series(None, index=frame.index, dtype=object)
        if keep_names and rost is not None and name_col is not None:
            lookup = rost.assign(_k=rost[id_column].astype(str)).drop_duplicates("_k")
            names_out = matched["pupil_key"].map(lookup.set_index("_k")[name_col])
        data = frame.drop(columns=[id_column])
        status = (data["status"].astype(str).to_numpy() if "status" in data.columns
                  else np.full(len(data), "scored"))
        extra = pd.DataFrame({"part": part, "file_row": sheets["file_row"],
                              "source_ref": None, "complete": status == "scored",
                              "name": names_out})
        part_import = self._part_import(
            pd.concat([extra, matched.drop(columns=list(attr_map))], axis=1), data, attrs,
            name=part, form=None, kind="retest" if retest else "answers",
            source_name=source_name, provenance=dict(provenance),
            pseudonymise_ids=pseudonymise_ids,
            content={"table": _records(frame), "attributes": _records(attrs),
                     "names": [_plain(v) for v in names_out], "id": id_column})
        definition = {"duplicates": "first_complete", "id_column": id_column}
        return self._import_parts(wave, [part_import], by=by, policy=loaded,
                                  definition=definition, pseudonymised=pseudonymise_ids,
                                  id_column=id_column)

    def import_wave_run(self, run: WaveRun, *, by: str, pseudonymise_ids: bool = False,
                        keep_names: bool = False) -> ImportSummary:
        """Store a scored wave (:func:`xinli_screen.wave.score_wave`): every part, the
        frozen policy and the definition.

        Parameters
        ----------
        run : WaveRun
        by : str
            Who imports (audit trail).
        pseudonymise_ids : bool
            Store HMAC pseudonyms instead of ids (needs ``key``).
        keep_names : bool
            Store pupils' names (from the roster, or the export for pupils not on it).

        Returns
        -------
        ImportSummary

        Raises
        ------
        ArchiveError
            The wave exists with another frozen policy (use a what-if run instead).
        PrivacyKeyError
            ``pseudonymise_ids`` without a key.
        """
        self._need_key(pseudonymise_ids)
        loaded = run.loaded
        attr_names = list(loaded.definition.roster.attributes) if loaded.definition.roster \
            else []
        imports = []
        for sp in run.parts:
            form_attrs = list(loaded.form(sp.part).attributes)
            names = [*attr_names, *[a for a in form_attrs if a not in attr_names]]
            sheets = sp.sheets.copy()
            attrs = pd.DataFrame({a: sheets[a] for a in names if a in sheets.columns},
                                 index=sheets.index)
            if not keep_names or "name" not in sheets.columns:
                sheets["name"] = None
            id_col = sp.result.provenance.get("id_column")
            data = sp.result.table.drop(columns=[c for c in (id_col,)
                                                 if c and c in sp.result.table.columns])
            imports.append(self._part_import(
                sheets.drop(columns=[a for a in names if a in sheets.columns]), data, attrs,
                name=sp.part.part_name, form=sp.part.form, kind=sp.part.kind,
                source_name=sp.source_name, provenance=sp.result.provenance,
                pseudonymise_ids=pseudonymise_ids, content=None,
                content_sha256=hashlib.sha256(
                    (sp.content_sha256 + str(bool(pseudonymise_ids)) + str(bool(keep_names)))
                    .encode()).hexdigest()))
        definition = loaded.definition.model_dump(mode="json")
        definition["sha256"] = loaded.sha256
        title = loaded.definition.name.get("zh") if loaded.definition.name else None
        return self._import_parts(loaded.definition.id, imports, by=by, policy=loaded.policy,
                                  policy_text=loaded.policy_text, definition=definition,
                                  pseudonymised=pseudonymise_ids,
                                  id_column=loaded.definition.roster.id_column
                                  if loaded.definition.roster else "id",
                                  timezone=loaded.definition.timezone, title=title)

    def _need_key(self, pseudonymise_ids: bool) -> None:
        if pseudonymise_ids and self.key is None:
            from xinli_screen.privacy import PrivacyKeyError
            raise PrivacyKeyError("pseudonymising ids needs a key (XINLI_HMAC_KEY or a key file)")

    def _part_import(self, sheets: pd.DataFrame, data: pd.DataFrame, attrs: pd.DataFrame, *,
                     name: str, form: str | None, kind: str, source_name: str,
                     provenance: Mapping[str, Any], pseudonymise_ids: bool,
                     content: dict[str, Any] | None,
                     content_sha256: str | None = None) -> PartImport:
        keys = sheets["pupil_key"].astype(str)
        if pseudonymise_ids and self.key is not None:
            real = ~keys.str.startswith("NOID-")
            keys = keys.where(~real, pseudonymise(keys.where(real, ""), self.key))
        records = _records(data)
        attr_records = _records(attrs)
        if content_sha256 is None:
            text = json.dumps({**(content or {}), "part": name, "kind": kind,
                               "pseudonymised": pseudonymise_ids},
                              sort_keys=True, ensure_ascii=False, default=str)
            content_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
        entered = sheets["entered_id"].astype(str) if "entered_id" in sheets.columns else keys
        rows = []
        for k, (key, rec, attr) in enumerate(zip(keys, records, attr_records, strict=True)):
            match = sheets["roster_match"].iat[k]
            if match in ("name", "unmatched") and not pseudonymise_ids \
                    and entered.iat[k] != key:
                attr = {**attr, "entered_id": entered.iat[k]}
            rows.append({
                "pupil_key": str(key), "row_index": k,
                "source_row": int(sheets["file_row"].iat[k]),
                "source_ref": _plain(sheets["source_ref"].iat[k]),
                "roster_match": str(match), "complete": bool(sheets["complete"].iat[k]),
                "screen_tier": str(rec.get("warning_tier") or "none"),
                "review_status": str(rec.get("review_status") or "not_required"),
                "critical_items": rec.get("critical_items") or "",
                "reasons": rec.get("reasons") or "",
                "reason_codes": rec.get("reason_codes") or "",
                "data": rec, "attributes": attr,
                "name": _plain(sheets["name"].iat[k]) if "name" in sheets.columns else None,
                "note": None})
        prov = json.loads(json.dumps(dict(provenance), default=str))
        return PartImport(name, form, kind, source_name, content_sha256, prov, rows)

    def _import_parts(self, wave: str, parts: Sequence[PartImport], *, by: str,
                      policy: LoadedPolicy, definition: dict[str, Any], pseudonymised: bool,
                      id_column: str, policy_text: str | None = None,
                      timezone: str | None = None, title: str | None = None) -> ImportSummary:
        if policy_text is None:
            path = Path(policy.path)
            policy_text = path.read_text(encoding="utf-8") if path.is_file() else ""
        now = self.clock()
        with Session(self.engine) as s, s.begin():
            row = s.scalar(select(Wave).where(Wave.name == wave))
            if row is None:
                seq = (s.scalar(select(func.max(Wave.seq))) or 0) + 1
                row = Wave(name=wave, seq=seq, imported_at=now, imported_by=by,
                           source_name=parts[0].source_name if parts else "",
                           content_sha256="", id_column=id_column,
                           pseudonymised=bool(pseudonymised), n_rows=0, provenance={},
                           title=title, timezone=timezone, policy_id=policy.policy.id,
                           policy_version=policy.policy.version, policy_sha256=policy.sha256,
                           policy_text=policy_text, definition=definition,
                           definition_sha256=definition.get("sha256"))
                s.add(row)
                s.flush()
                self._audit(s, by, "create_wave", wave=wave, policy_id=policy.policy.id,
                            policy_version=policy.policy.version,
                            policy_sha256=policy.sha256)
            elif row.policy_sha256 and row.policy_sha256 != policy.sha256:
                raise ArchiveError(
                    f"wave {wave!r} is frozen with policy {row.policy_id!r} "
                    f"{row.policy_version} (sha256 {row.policy_sha256[:12]}); this import "
                    f"uses {policy.policy.id!r} (sha256 {policy.sha256[:12]}). A wave keeps "
                    "its policy: to see another policy's tiers use `xinli-screen wave "
                    "what-if`")
            elif definition.get("sha256") and definition != row.definition:
                row.definition = definition
                row.definition_sha256 = definition.get("sha256")
                self._audit(s, by, "update_wave_definition", wave=wave,
                            definition_sha256=definition.get("sha256"))
            outcomes = [store_part(s, row, p, by=by, now=now, audit=self._audit)
                        for p in parts]
            rule = (row.definition or {}).get("duplicates") or "first_complete"
            s.flush()
            reselect_active(s, row, rule)
            s.flush()
            live = (select(Result.active, Result.pupil_key)
                    .join(Part, Part.id == Result.part_id)
                    .where(Result.wave_id == row.id, Part.superseded_at.is_(None)))
            flags = s.execute(live).all()
            row.n_rows = sum(1 for a, _ in flags if a)
            digest = hashlib.sha256("".join(
                p.content_sha256 for p in s.scalars(
                    select(Part).where(Part.wave_id == row.id, Part.superseded_at.is_(None))
                    .order_by(Part.name))).encode()).hexdigest()
            row.content_sha256 = digest
        changed = any(o.outcome != "unchanged" for o in outcomes)
        return ImportSummary(
            wave, changed, sum(o.rows for o in outcomes),
            without_id=sum(1 for _, k in flags if str(k).startswith("NOID-")),
            duplicate_sheets=sum(1 for a, _ in flags if not a), parts=tuple(outcomes))

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

    def _frames(self, s: Session, *, pupil_key: str | None = None,
                max_seq: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        live = (select(Result, Wave.name, Wave.seq).join(Wave, Wave.id == Result.wave_id)
                .outerjoin(Part, Part.id == Result.part_id)
                .where(or_(Part.id.is_(None), Part.superseded_at.is_(None))))
        rq = select(Review, Wave.seq).join(Wave, Wave.id == Review.wave_id)
        if pupil_key is not None:
            live = live.where(Result.pupil_key == pupil_key)
            rq = rq.where(Review.pupil_key == pupil_key)
        if max_seq is not None:
            live = live.where(Wave.seq <= max_seq)
            rq = rq.where(Wave.seq <= max_seq)
        rows, others = [], []
        for res, name, seq in s.execute(live.order_by(Wave.seq, Result.part_id,
                                                      Result.row_index)):
            if not res.active:
                if res.critical_items:
                    others.append({"pupil_id": res.pupil_key, "wave_seq": seq,
                                   "critical_items": res.critical_items,
                                   "warning_tier": res.screen_tier})
                continue
            rows.append({**res.data, **{f"attr.{k}": v for k, v in res.attributes.items()},
                         "pupil_id": res.pupil_key, "name": res.name, "wave": name,
                         "wave_seq": seq, "warning_tier": res.screen_tier,
                         "review_status": res.review_status,
                         "critical_items": res.critical_items, "reasons": res.reasons,
                         "reason_codes": res.reason_codes, "roster_match": res.roster_match,
                         "source_row": res.source_row, "source_ref": res.source_ref,
                         "part_id": res.part_id})
        reviews = [{"pupil_id": r.pupil_key, "wave_seq": seq, "outcome": r.outcome,
                    "tier": r.tier, "by": r.by, "at": r.at, "note": r.note, "_id": r.id}
                   for r, seq in s.execute(rq.order_by(Review.id))]
        screens = pd.DataFrame(rows)
        if len(screens) and others:
            from xinli_screen.wave.reconcile import carry_critical

            floors = {seq: self._wave_policy(s, seq).critical_item_tier
                      for seq in screens["wave_seq"].unique()}
            parts = [carry_critical(screens[screens["wave_seq"] == seq],
                                    pd.DataFrame(others), floor)
                     for seq, floor in floors.items()]
            screens = pd.concat(parts).sort_index()
        review_frame = pd.DataFrame(reviews, columns=["pupil_id", "wave_seq", "outcome", "tier",
                                                      "by", "at", "note", "_id"])
        return screens, review_frame

    def _wave_policy(self, s: Session, seq: int) -> Policy:
        """The policy frozen with the wave ``seq`` (the store's policy for older waves)."""
        row = s.execute(select(Wave.policy_sha256, Wave.policy_text)
                        .where(Wave.seq == int(seq))).first()
        if row is None or not row[0] or not row[1]:
            return self._policy.policy
        sha, text = row
        if sha not in self._wave_policies:
            from xinli_screen.errors import PolicyDefinitionError
            from xinli_screen.yaml_source import read_yaml, validate_model

            doc = read_yaml(text, is_text=True)
            model, issues = validate_model(Policy, doc)
            if model is None:
                raise PolicyDefinitionError(issues)
            self._wave_policies[sha] = model
        return self._wave_policies[sha]

    def effective(self, screens: pd.DataFrame, reviews: pd.DataFrame) -> pd.DataFrame:
        """Effective tiers of stored results (history rules, then reviews), wave by wave,
        each wave under the policy frozen with it."""
        if not len(screens):
            return screens
        with Session(self.engine) as s:
            policies = {int(seq): self._wave_policy(s, seq)
                        for seq in screens["wave_seq"].unique()}
        rules = {int(k): p.history for k, p in policies.items()}
        labels = {int(k): {t: p.tiers.spec(t).label.get("zh") for t in TIER_ORDER}
                  for k, p in policies.items()}
        return run_history(screens, reviews, self.history_rules, labels=self.labels,
                           rules_by_wave=rules, labels_by_wave=labels)

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
