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

import json
from collections.abc import Sequence
from typing import Any

import orjson
import pandas as pd
from sqlalchemy import Text, cast, delete, func, or_, select, update
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
from xinli_screen.evaluation.change import _NOT_CUTOFF
from xinli_screen.policy.history import REVIEW_OUTCOMES, ChangePopulation, run_history
from xinli_screen.policy.models import TIER_ORDER, ChangeCondition, Policy, condition_leaves

__all__ = ["NAME_COLUMNS", "ArchiveError", "ArchiveStore", "ImportSummary", "PupilNotFoundError",
           "archive_url"]

#: Stored results read per chunk by :meth:`ArchiveStore.wave_table` and the pupil file.
_READ_CHUNK = 20_000
#: What is read of ``results`` (``data`` and ``attributes`` as JSON text, decoded by orjson).
_LIVE_COLUMNS = (Result.active, Result.pupil_key, Result.name, Result.screen_tier,
                 Result.review_status, Result.critical_items, Result.reasons,
                 Result.reason_codes, Result.roster_match, Result.source_row, Result.source_ref,
                 Result.part_id, cast(Result.data, Text), cast(Result.attributes, Text))


class ArchiveStore(_Importing, _FollowUp):
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

    def _frames(self, s: Session, *, pupil_key: str | None = None,
                max_seq: int | None = None, key_range: tuple[str, str] | None = None,
                row_order: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Stored results (counted sheets) and reviews, of one pupil, of the pupils whose key
        lies in ``key_range`` (inclusive, in the database's order) or of all; ``row_order``
        adds ``_row_index`` (the sheet's row in its part: with ``part_id``, the order of a
        wave read whole)."""
        extra = (Result.row_index,) if row_order else ()
        live = (select(*_LIVE_COLUMNS, Wave.name, Wave.seq, *extra)
                .join(Wave, Wave.id == Result.wave_id)
                .outerjoin(Part, Part.id == Result.part_id)
                .where(or_(Part.id.is_(None), Part.superseded_at.is_(None))))
        rq = select(Review, Wave.seq).join(Wave, Wave.id == Review.wave_id)
        if pupil_key is not None:
            live = live.where(Result.pupil_key == pupil_key)
            rq = rq.where(Review.pupil_key == pupil_key)
        if key_range is not None:
            live = live.where(Result.pupil_key.between(*key_range))
            rq = rq.where(Review.pupil_key.between(*key_range))
        if max_seq is not None:
            live = live.where(Wave.seq <= max_seq)
            rq = rq.where(Wave.seq <= max_seq)
        chunks, others = [], []
        result = s.execute(live.order_by(Wave.seq, Result.part_id, Result.row_index)
                           .execution_options(yield_per=_READ_CHUNK))
        for rows in result.partitions():
            chunk, inactive = _screen_chunk(rows)
            others.extend(inactive)
            if chunk is not None:
                chunks.append(chunk)
        reviews = [{"pupil_id": r.pupil_key, "wave_seq": seq, "outcome": r.outcome,
                    "tier": r.tier, "by": r.by, "at": r.at, "note": r.note,
                    "on_date": r.on_date, "_id": r.id}
                   for r, seq in s.execute(rq.order_by(Review.id))]
        screens = _concat_screens(chunks)
        if len(screens) and others:
            from xinli_screen.wave.reconcile import carry_critical

            floors = {seq: self._wave_policy(s, seq).critical_item_tier
                      for seq in screens["wave_seq"].unique()}
            parts = [carry_critical(screens[screens["wave_seq"] == seq],
                                    pd.DataFrame(others), floor)
                     for seq, floor in floors.items()]
            screens = pd.concat(parts).sort_index()
        review_frame = pd.DataFrame(reviews, columns=["pupil_id", "wave_seq", "outcome", "tier",
                                                      "by", "at", "note", "on_date", "_id"])
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

    def effective(self, screens: pd.DataFrame, reviews: pd.DataFrame,
                  population: pd.DataFrame | ChangePopulation | None = None) -> pd.DataFrame:
        """Effective tiers of stored results (history rules, then reviews), wave by wave,
        each wave under the policy frozen with it (``population``: every pupil's scores, for
        the reliable-change r and SD when ``screens`` is one pupil's)."""
        if not len(screens):
            return screens
        with Session(self.engine) as s:
            policies = {int(seq): self._wave_policy(s, seq)
                        for seq in screens["wave_seq"].unique()}
        rules = {int(k): p.history for k, p in policies.items()}
        labels = {int(k): {t: p.tiers.spec(t).label.get("zh") for t in TIER_ORDER}
                  for k, p in policies.items()}
        return run_history(screens, reviews, self.history_rules, labels=self.labels,
                           rules_by_wave=rules, labels_by_wave=labels,
                           change_population=population)

    def _population(self, s: Session, max_seq: int | None = None) -> pd.DataFrame:
        """Every pupil's counted result per wave, reduced to what the reliable-change r and
        SD are estimated from (:func:`~xinli_screen.policy.history.wave_change`).

        Streamed from the database in chunks of :data:`_READ_CHUNK` rows, in the order of
        :meth:`wave_table` (wave, part, row), so that pairs and sums are taken in the same
        order as on the whole table.

        Returns
        -------
        DataFrame, shape (counted results of waves up to ``max_seq``, k)
            ``pupil_id`` (Arrow string), ``wave_seq``, and of the stored data only the
            scores with a cut-off, their ``.n_answered`` and cut-off columns, and the scales
            named by the waves' change rules (:func:`_change_keys`); integers downcast.
        """
        names: set[str] = set()
        for (seq,) in s.execute(select(Wave.seq)):
            change = (h := self._wave_policy(s, seq).history) and h.change
            if change and (max_seq is None or seq <= max_seq):
                names.update(change.scales)
                names.update(leaf.change for r in h.rules for leaf in condition_leaves(r.when)
                             if isinstance(leaf, ChangeCondition))
        q = (select(Result.pupil_key, cast(Result.data, Text), Wave.seq)
             .join(Wave, Wave.id == Result.wave_id)
             .outerjoin(Part, Part.id == Result.part_id)
             .where(or_(Part.id.is_(None), Part.superseded_at.is_(None)),
                    Result.active.is_(True)))
        if max_seq is not None:
            q = q.where(Wave.seq <= max_seq)
        result = s.execute(q.order_by(Wave.seq, Result.part_id, Result.row_index)
                           .execution_options(yield_per=_READ_CHUNK))
        return _concat_screens([_change_chunk(rows, frozenset(names))
                                for rows in result.partitions()])

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
            (list of events) and ``provenance`` per wave.

        Raises
        ------
        PupilNotFoundError
        """
        with Session(self.engine) as s:
            key = self._pupil_key(s, pupil_id)
            screens, reviews = self._frames(s, pupil_key=key)
            population = (self._population(s) if len(screens)
                          and screens["wave_seq"].nunique() > 1 else None)
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



def _loads(text: Any) -> dict[str, Any]:
    """A stored JSON object (text, or already decoded by the driver)."""
    if text is None:
        return {}
    if isinstance(text, (str, bytes)):
        return orjson.loads(text)
    return dict(text)


def _change_keys(keys: tuple[str, ...], names: frozenset[str]) -> tuple[str, ...]:
    """Of one stored result's keys, those the reliable-change parameters read: ``names``,
    and each score with a cut-off key (``{score}.{cut}``, ``{score}.n_answered`` present)
    with its ``.n_answered`` and cut-off keys."""
    cut = {k.rpartition(".")[0] for k in keys
           if k.count(".") == 2 and k.rpartition(".")[2] not in _NOT_CUTOFF}
    scores = {k for k in cut if f"{k}.n_answered" in keys}
    return tuple(k for k in keys if k in names or k in scores
                 or (k.rpartition(".")[0] in scores
                     and (k.endswith(".n_answered") or k.rpartition(".")[2] not in _NOT_CUTOFF)))


def _change_chunk(rows: Sequence[Any], names: frozenset[str]) -> pd.DataFrame:
    """One chunk of (pupil key, data JSON, wave seq) as the population's frame: the kept keys
    of :func:`_change_keys`, ids as Arrow strings, integers in their smallest type."""
    kept: dict[tuple[str, ...], tuple[str, ...]] = {}
    records = []
    for key, text, seq in rows:
        data = _loads(text)
        keys = tuple(data)
        if keys not in kept:
            kept[keys] = _change_keys(keys, names)
        records.append({**{k: data[k] for k in kept[keys]}, "pupil_id": key, "wave_seq": seq})
    frame = pd.DataFrame(records)
    frame["pupil_id"] = frame["pupil_id"].astype("string[pyarrow]")
    for col in frame.columns:
        if pd.api.types.is_integer_dtype(frame[col].dtype):
            frame[col] = pd.to_numeric(frame[col], downcast="integer")
    return frame


def _screen_chunk(rows: Sequence[Any]) -> tuple[pd.DataFrame | None, list[dict[str, Any]]]:
    """One chunk of stored results (rows of :data:`_LIVE_COLUMNS`, wave name, wave seq) as
    the counted sheets' frame, and the critical items of the sheets that do not count
    (a trailing ``row_index``, when selected, becomes the column ``_row_index``).

    Columns as the per-sheet dict ``{**data, **attr.*, pupil_id, name, wave, ...}`` always
    gave: the stored result columns first (the fixed ones overwritten in place), then the
    attributes, then the fixed columns not among the result columns.
    """
    (active, key, name, tier, review, critical, reasons, codes, match, source_row,
     source_ref, part_id, data, attrs, wave, seq, *order) = (list(c)
                                                             for c in zip(*rows, strict=True))
    others = [{"pupil_id": key[i], "wave_seq": seq[i], "critical_items": critical[i],
               "warning_tier": tier[i]}
              for i, a in enumerate(active) if not a and critical[i]]
    keep = [i for i, a in enumerate(active) if a]
    if not keep:
        return None, others
    if len(keep) < len(active):
        (key, name, tier, review, critical, reasons, codes, match, source_row, source_ref,
         part_id, data, attrs, wave, seq, *order) = ([col[i] for i in keep] for col in (
             key, name, tier, review, critical, reasons, codes, match, source_row,
             source_ref, part_id, data, attrs, wave, seq, *order))
    frame = pd.DataFrame([_loads(d) for d in data])
    attr_frame = pd.DataFrame([_loads(a) for a in attrs], index=frame.index)
    for col in attr_frame.columns:
        frame[f"attr.{col}"] = attr_frame[col]
    fixed = {"pupil_id": key, "name": name, "wave": wave, "wave_seq": seq,
             "warning_tier": tier, "review_status": review, "critical_items": critical,
             "reasons": reasons, "reason_codes": codes, "roster_match": match,
             "source_row": source_row, "source_ref": source_ref, "part_id": part_id,
             **({"_row_index": order[0]} if order else {})}
    for col, values in fixed.items():
        frame[col] = pd.Series(values, index=frame.index)
    return frame, others


def _concat_screens(chunks: list[pd.DataFrame]) -> pd.DataFrame:
    """The chunks as one frame, each column's type inferred over the whole column (as one
    frame built at once would have it)."""
    if not chunks:
        return pd.DataFrame()
    if len(chunks) == 1:
        return chunks[0]
    dtypes: dict[str, set[str]] = {}
    for chunk in chunks:
        for col, dtype in chunk.dtypes.items():
            dtypes.setdefault(str(col), set()).add(str(dtype))
    frame = pd.concat(chunks, ignore_index=True, sort=False)
    for col, kinds in dtypes.items():
        uneven = len(kinds) > 1 or any(col not in c.columns for c in chunks)
        if uneven and frame[col].dtype == object:
            frame[col] = frame[col].infer_objects()
    return frame
