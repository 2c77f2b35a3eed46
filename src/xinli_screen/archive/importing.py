"""Importing into the pupil file store: a results table as a part of a wave, or a whole
scored wave (:func:`xinli_screen.wave.score_wave`) with its parts, frozen policy and
definition. Mixed into :class:`~xinli_screen.archive.store.ArchiveStore`.

The rows of a part are built chunk by chunk in :mod:`xinli_screen.archive.part_rows`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from xinli_screen.archive.at_rest import (
    engine_columns,
    refuse_sensitive,
    refuse_sensitive_names,
)
from xinli_screen.archive.base import (
    ArchiveError,
    ImportSummary,
    _StoreBase,
)
from xinli_screen.archive.models import (
    Part,
    Result,
    Wave,
)
from xinli_screen.archive.part_rows import _RosterJoin, _SheetRows, _StreamedPart
from xinli_screen.archive.parts import PartImport, reselect_active, store_part
from xinli_screen.archive.result_chunks import ResultChunks, open_result_chunks, table_chunks
from xinli_screen.policy.loader import LoadedPolicy, load_policy
from xinli_screen.policy.models import Policy
from xinli_screen.privacy import pseudonymise

if TYPE_CHECKING:
    from xinli_screen.wave.run import WaveRun

__all__: list[str] = []


#: Longest pupil id the archive stores (``results.pupil_key`` is VARCHAR(128)).
_MAX_ID = 128


class _Importing(_StoreBase):
    """Import methods of the store."""

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
        drop_names: bool = False,
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
            Columns of ``table`` or ``roster`` stored as attributes (default:
            :data:`~xinli_screen.archive.at_rest.DEFAULT_ATTRIBUTES`, i.e. school, grade,
            class, sex and their Chinese headers). Identity numbers, phone numbers and IP
            addresses are refused (:func:`~xinli_screen.archive.at_rest.refuse_sensitive`).
            Of ``table`` only the engine's result columns are stored.
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
        drop_names : bool
            Store the part without names even where its version in force holds names (that
            version is superseded and kept). Without it (or ``keep_names``), such an import
            is refused, so that a re-import cannot drop stored names unnoticed.

        Returns
        -------
        ImportSummary

        Raises
        ------
        ArchiveError
            No id column; a policy that is not the one the results were scored with, or not
            the wave's frozen policy; an attribute holding identity numbers, phone numbers
            or IP addresses; a pupil id longer than 128 characters.
        PrivacyKeyError
            ``pseudonymise_ids`` without a key.
        """
        return self._import_chunks(table_chunks(table, provenance), wave, by=by,
                                   source_name=source_name, id_column=id_column,
                                   roster=roster, attributes=attributes,
                                   pseudonymise_ids=pseudonymise_ids, keep_names=keep_names,
                                   part=part, retest=retest, policy=policy,
                                   drop_names=drop_names)

    def import_results_file(
        self,
        path: str | Path,
        wave: str,
        *,
        by: str,
        roster: pd.DataFrame | None = None,
        attributes: Sequence[str] | None = None,
        pseudonymise_ids: bool = False,
        keep_names: bool = False,
        part: str = "main",
        retest: bool = False,
        policy: str | Path | Policy | None = None,
        drop_names: bool = False,
    ) -> ImportSummary:
        """Store a results file written by ``xinli-screen score`` as a part of a wave, read
        in chunks of 5 x 10^4 rows (Parquet and CSV by pyarrow record batches), so that
        memory does not grow with the file.

        Parameters
        ----------
        path : str or Path
            ``.parquet`` or ``.csv`` (streamed), ``.json`` or ``.xlsx`` (read whole), with the
            provenance inside (JSON, XLSX) or beside it (``<file>.provenance.json``).
        wave, by, roster, attributes, pseudonymise_ids, keep_names, part, retest, policy
        drop_names
            As for :meth:`import_wave`.

        Returns
        -------
        ImportSummary
            The same as :meth:`import_wave` of the table read whole by
            :func:`~xinli_screen.archive.results_file.read_results_file` (same rows, same
            content hash: importing the file after the table, or the other way round,
            changes nothing), except for a column whose cells fit its type in some chunks and
            not in others (stored as typed where they fit).

        Raises
        ------
        FileNotFoundError
            The file does not exist.
        ResponseDataError
            Not a results file, or a file that cannot be parsed (no cell is quoted).
        ArchiveError, PrivacyKeyError
            As for :meth:`import_wave`; nothing is stored.
        """
        path = Path(path)
        return self._import_chunks(open_result_chunks(path), wave, by=by,
                                   source_name=path.name, id_column=None, roster=roster,
                                   attributes=attributes, pseudonymise_ids=pseudonymise_ids,
                                   keep_names=keep_names, part=part, retest=retest,
                                   policy=policy, drop_names=drop_names)

    def _import_chunks(self, chunks: ResultChunks, wave: str, *, by: str, source_name: str,
                       id_column: str | None, roster: pd.DataFrame | None,
                       attributes: Sequence[str] | None, pseudonymise_ids: bool,
                       keep_names: bool, part: str, retest: bool,
                       policy: str | Path | Policy | None,
                       drop_names: bool = False) -> ImportSummary:
        """:meth:`import_wave` of a table read chunk by chunk (the checks first, then one
        pass to hash an existing part, one pass to store a new or changed one)."""
        self._refuse_silent_name_drop(wave, [part], keep_names, drop_names)
        provenance = chunks.provenance
        id_column = id_column or provenance.get("id_column")
        if not id_column or id_column not in chunks.columns:
            raise ArchiveError("the results have no pupil id column; score with --id-column")
        self._need_key(pseudonymise_ids)
        loaded = self._policy if policy is None else load_policy(policy)
        recorded = (provenance.get("policy") or {}).get("sha256")
        if recorded and loaded.sha256 not in (recorded, "model"):
            raise ArchiveError(
                f"the results were scored with policy {provenance['policy'].get('id')!r} "
                f"(sha256 {str(recorded)[:12]}); give that policy with --policy so that it "
                "is frozen with the wave")
        join = _RosterJoin(roster, id_column, attributes, keep_names, source_name)
        kind = "retest" if retest else "answers"
        header = {"id": id_column, "part": part, "kind": kind,
                  "pseudonymised": pseudonymise_ids}

        def prepared() -> Iterator[tuple[Mapping[str, Any], Callable[[], _SheetRows]]]:
            for offset, frame in chunks.read():
                sheets, data, attrs, names = join.sheets(frame, offset, part)
                yield ({"table": frame, "attributes": attrs, "names": names},
                       lambda sheets=sheets, data=data, attrs=attrs, offset=offset:
                       self._sheet_rows(sheets, data, attrs, offset, name=part,
                                        pseudonymise_ids=pseudonymise_ids))

        part_import = PartImport(part, None, kind, source_name, _json_ready(provenance),
                                 _StreamedPart(prepared, header))
        definition = {"duplicates": "first_complete", "id_column": id_column}
        return self._import_parts(wave, [part_import], by=by, policy=loaded,
                                  definition=definition, pseudonymised=pseudonymise_ids,
                                  id_column=id_column)

    def import_wave_run(self, run: WaveRun, *, by: str, pseudonymise_ids: bool = False,
                        keep_names: bool = False, drop_names: bool = False) -> ImportSummary:
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
        drop_names : bool
            Store the parts without names even where their version in force holds names
            (that version is superseded and kept). Without it, such a run is refused.

        Returns
        -------
        ImportSummary

        Raises
        ------
        ArchiveError
            The wave exists with another frozen policy (use a what-if run instead); or,
            without ``keep_names`` or ``drop_names``, a part of the run whose version in
            force holds names (the message names the parts, never a pupil); or both
            ``keep_names`` and ``drop_names``. Nothing is stored.
        PrivacyKeyError
            ``pseudonymise_ids`` without a key.
        """
        self._need_key(pseudonymise_ids)
        loaded = run.loaded
        self._refuse_silent_name_drop(loaded.definition.id,
                                      [sp.part.part_name for sp in run.parts],
                                      keep_names, drop_names)
        roster_map = loaded.definition.roster.attributes if loaded.definition.roster else {}
        attr_names = list(roster_map)
        imports = []
        for sp in run.parts:
            form_attrs = list(loaded.form(sp.part).attributes)
            refuse_sensitive_names({**roster_map, **loaded.form(sp.part).attributes},
                                   where=f"part {sp.part.part_name}")  # aliases and sources
            names = [*attr_names, *[a for a in form_attrs if a not in attr_names]]
            sheets = sp.sheets.copy()
            attrs = pd.DataFrame({a: sheets[a] for a in names if a in sheets.columns},
                                 index=sheets.index)
            refuse_sensitive(attrs, attrs.columns, where=f"part {sp.part.part_name}")
            if not keep_names or "name" not in sheets.columns:
                sheets["name"] = None
            id_col = sp.result.provenance.get("id_column")
            data = sp.result.table[engine_columns(c for c in sp.result.table.columns
                                                  if c != id_col)]
            rows = self._sheet_rows(
                sheets.drop(columns=[a for a in names if a in sheets.columns]), data, attrs, 0,
                name=sp.part.part_name, pseudonymise_ids=pseudonymise_ids)
            digest = hashlib.sha256((sp.content_sha256 + str(bool(pseudonymise_ids))
                                     + str(bool(keep_names))).encode()).hexdigest()
            imports.append(PartImport(sp.part.part_name, sp.part.form, sp.part.kind,
                                      sp.source_name, _json_ready(sp.result.provenance),
                                      _StreamedPart(lambda rows=rows: iter([({}, lambda: rows)]),
                                                    None, digest)))
        definition = loaded.definition.model_dump(mode="json")
        definition["sha256"] = loaded.sha256
        title = loaded.definition.name.get("zh") if loaded.definition.name else None
        return self._import_parts(loaded.definition.id, imports, by=by, policy=loaded.policy,
                                  policy_text=loaded.policy_text, definition=definition,
                                  pseudonymised=pseudonymise_ids,
                                  id_column=loaded.definition.roster.id_column
                                  if loaded.definition.roster else "id",
                                  timezone=loaded.definition.timezone, title=title)

    def _refuse_silent_name_drop(self, wave: str, parts: Sequence[str], keep_names: bool,
                                 drop_names: bool) -> None:
        """Refuse to store ``parts`` without names where their version in force holds names,
        unless ``drop_names`` says so (the message names parts, never a pupil).

        Raises
        ------
        ArchiveError
            Both flags, or such a part without either flag. Nothing is stored.
        """
        if keep_names and drop_names:
            raise ArchiveError("give either --keep-names or --drop-names, not both")
        named = [] if keep_names or drop_names else self._parts_with_names(wave, parts)
        if named:
            raise ArchiveError(
                f"wave {wave!r}: part(s) {named} hold pupils' names (stored with "
                "--keep-names); storing them without --keep-names would drop the names. "
                "Run again with --keep-names to keep the names, or with --drop-names to "
                "remove them (the earlier version stays, superseded and audited). Nothing "
                "was stored")

    def _parts_with_names(self, wave: str, parts: Sequence[str]) -> list[str]:
        """The parts among ``parts`` of ``wave`` whose version in force holds a name."""
        has_name = (select(Result.id).where(Result.part_id == Part.id,
                                            Result.name.is_not(None)).exists())
        q = (select(Part.name).join(Wave, Wave.id == Part.wave_id)
             .where(Wave.name == wave, Part.name.in_(list(parts)),
                    Part.superseded_at.is_(None), has_name))
        with Session(self.engine) as s:
            return sorted(s.scalars(q))

    def _need_key(self, pseudonymise_ids: bool) -> None:
        if pseudonymise_ids and self.key is None:
            from xinli_screen.privacy import PrivacyKeyError
            raise PrivacyKeyError("pseudonymising ids needs a key (XINLI_HMAC_KEY or a key file)")

    def _sheet_rows(self, sheets: pd.DataFrame, data: pd.DataFrame, attrs: pd.DataFrame,
                    offset: int, *, name: str, pseudonymise_ids: bool) -> _SheetRows:
        """Sheets ready to store: keys pseudonymised when asked and checked for length.

        Raises
        ------
        ArchiveError
            A pupil id longer than :data:`_MAX_ID` characters (file rows named, not ids).
        """
        keys = sheets["pupil_key"].astype(str)
        if pseudonymise_ids and self.key is not None:
            real = ~keys.str.startswith("NOID-")
            keys = keys.where(~real, pseudonymise(keys.where(real, ""), self.key))
        too_long = np.flatnonzero(keys.str.len().to_numpy() > _MAX_ID)
        if len(too_long):
            rows = ", ".join(str(int(sheets["file_row"].iat[k])) for k in too_long[:10])
            raise ArchiveError(f"part {name!r}: {len(too_long)} pupil id(s) longer than "
                               f"{_MAX_ID} characters (file row(s) {rows}); an id column "
                               "holding other text? Nothing was stored")
        entered = sheets["entered_id"].astype(str) if "entered_id" in sheets.columns else keys
        match = sheets["roster_match"].astype(str)
        add_entered = (match.isin(["name", "unmatched"]) & (entered != keys)).to_numpy() \
            if not pseudonymise_ids else np.zeros(len(sheets), dtype=bool)
        return _SheetRows(offset, keys.reset_index(drop=True), sheets.reset_index(drop=True),
                          match.reset_index(drop=True), entered.reset_index(drop=True),
                          add_entered, data.reset_index(drop=True),
                          attrs.reset_index(drop=True))

    def _import_parts(self, wave: str, parts: Sequence[PartImport], *, by: str,
                      policy: LoadedPolicy, definition: dict[str, Any], pseudonymised: bool,
                      id_column: str, policy_text: str | None = None,
                      timezone: str | None = None, title: str | None = None) -> ImportSummary:
        if policy_text is None:
            path = Path(policy.path)
            policy_text = path.read_text(encoding="utf-8") if path.is_file() else ""
        now = self.clock()
        created = redefined = False
        with Session(self.engine) as s, s.begin():
            _one_import_at_a_time(s)
            if pseudonymised:
                self._check_key(s, record=True)
            row = s.scalar(select(Wave).where(Wave.name == wave))
            if row is None:
                created = True
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
                redefined = True
                row.definition = definition
                row.definition_sha256 = definition.get("sha256")
                self._audit(s, by, "update_wave_definition", wave=wave,
                            definition_sha256=definition.get("sha256"))
            outcomes = [store_part(s, row, p, by=by, now=now, audit=self._audit)
                        for p in parts]
            rule = (row.definition or {}).get("duplicates") or "first_complete"
            s.flush()
            if created or redefined or any(o.outcome != "unchanged" for o in outcomes):
                reselect_active(s, row, rule)
                s.flush()
            live = (select(func.count(), func.count().filter(Result.active),
                           func.count().filter(Result.pupil_key.startswith("NOID-")))
                    .select_from(Result).join(Part, Part.id == Result.part_id)
                    .where(Result.wave_id == row.id, Part.superseded_at.is_(None)))
            n_live, n_active, n_noid = (int(v or 0) for v in s.execute(live).one())
            row.n_rows = n_active
            digest = hashlib.sha256("".join(
                p.content_sha256 for p in s.scalars(
                    select(Part).where(Part.wave_id == row.id, Part.superseded_at.is_(None))
                    .order_by(Part.name))).encode()).hexdigest()
            row.content_sha256 = digest
        changed = any(o.outcome != "unchanged" for o in outcomes)
        return ImportSummary(
            wave, changed, sum(o.rows for o in outcomes),
            without_id=n_noid, duplicate_sheets=n_live - n_active, parts=tuple(outcomes))


#: Key of the PostgreSQL advisory lock an import holds for its transaction.
_IMPORT_LOCK = 0x78696E6C69  # "xinli"


def _one_import_at_a_time(s: Session) -> None:
    """Serialise imports on PostgreSQL: a transaction-level advisory lock, taken before the
    wave is looked up, so that two concurrent imports never both number a new wave
    ``max(seq) + 1`` (``waves.seq`` is unique) nor both append to the audit chain from the
    same head; the second waits for the first to commit and then sees its rows. SQLite
    allows one writer anyway (a second import waits, then is refused as busy)."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": _IMPORT_LOCK})


def _json_ready(provenance: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(dict(provenance), default=str))
