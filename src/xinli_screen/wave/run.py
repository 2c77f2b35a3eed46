"""Score the parts of a wave: each answer file with its form, one frozen policy, one roster.

:func:`check_wave` opens every file the definition names and says, per part, whether the id
column and every item column are there, before anything is scored. :func:`score_wave`
scores every part (or the parts named) with :func:`xinli_screen.screen` and matches each
answer sheet to the roster (:func:`~xinli_screen.wave.reconcile.match_roster`); the result is
what :meth:`xinli_screen.archive.ArchiveStore.import_wave_run` stores.

Every input row comes out exactly once: a sheet without id gets a provisional key, a sheet
not on the roster keeps the id as typed, a double submission is kept (inactive) beside the
one that counts.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen.errors import ResponseDataError, XinliScreenError
from xinli_screen.instrument.models import Instrument
from xinli_screen.io.column_map import ColumnMap, resolve_column_map
from xinli_screen.wave.definition import LoadedWave
from xinli_screen.wave.models import Part
from xinli_screen.wave.reconcile import match_roster

__all__ = ["PartCheck", "ScoredPart", "WaveRun", "check_wave", "find_column", "read_roster",
           "score_wave"]

#: 问卷星 submission number column (序号), shown to users as the sheet's reference.
SEQUENCE_COLUMN = "序号"


def find_column(header: Sequence[object], name: str | None) -> str | None:
    """The header that is ``name``, or whose 问卷星 stem is ``name`` (``1、学号`` for 学号).

    Returns None when ``name`` is None or no header fits; comparison is NFKC-folded and
    ignores spaces.
    """
    if name is None:
        return None
    from xinli_screen.io.wjx import parse_header

    def fold(text: object) -> str:
        return unicodedata.normalize("NFKC", str(text)).replace(" ", "").strip()

    target = fold(name)
    for col in header:
        if fold(col) == target:
            return str(col)
    for col in header:
        h = parse_header(col)
        if h.number is not None and fold(h.text) == target:
            return str(col)
    return None


def read_roster(loaded: LoadedWave) -> pd.DataFrame | None:
    """The wave's roster as text cells (None when the wave declares none).

    Raises
    ------
    ResponseDataError
        The file cannot be read, or lacks the id column or an attribute column (named).
    """
    spec = loaded.definition.roster
    if spec is None:
        return None
    from xinli_screen.io.readers import read_side_table

    path = loaded.resolve(spec.file)
    roster = read_side_table(path)
    wanted = [spec.id_column, *spec.attributes.values(),
              *([spec.name_column] if spec.name_column else [])]
    missing = [c for c in wanted if c not in roster.columns]
    if missing:
        raise ResponseDataError(f"roster {path.name}: no column(s) {missing}; it has "
                                f"{list(map(str, roster.columns))}")
    return roster


@dataclass(frozen=True)
class PartCheck:
    """What :func:`check_wave` found for one part (no cell values, only names and counts)."""

    part: str
    form: str
    file: str
    rows: int
    items_found: int
    items_expected: int
    id_column: str | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


def _plan(loaded: LoadedWave, part: Part, frame: pd.DataFrame,
          info: dict[str, Any]) -> tuple[Any, dict[str, str | None]]:
    from xinli_screen.io.source import plan_input

    form = loaded.form(part)
    insts = loaded.instruments[part.form]
    cmap = loaded.column_maps[part.form]
    header = list(frame.columns)
    columns = resolve_column_map(cmap, header, insts)
    id_col = find_column(header, form.id_column)
    resolved = ColumnMap(columns, cmap.missing_codes + tuple(form.missing_codes),
                         id_col, cmap.answer_values)
    plan = plan_input(frame, info, insts, column_map=resolved, id_column=id_col)
    extra = {"id": id_col, "name": find_column(header, form.name_column),
             "time": find_column(header, form.time_column),
             **{f"reported.{a}": find_column(header, c) for a, c in form.attributes.items()}}
    return plan, extra


def check_wave(loaded: LoadedWave) -> tuple[list[PartCheck], list[str]]:
    """Open every file of the wave and check it against its form, without scoring.

    Returns
    -------
    (parts, roster_problems)
        One :class:`PartCheck` per part; problems with the roster (empty when fine).
    """
    from xinli_screen.io.readers import read_table

    roster_problems: list[str] = []
    try:
        roster = read_roster(loaded)
        if roster is not None and loaded.definition.roster is not None:
            ids = roster[loaded.definition.roster.id_column].map(
                lambda v: "" if v is None else str(v).strip())
            if (ids == "").any():
                roster_problems.append(f"{int((ids == '').sum())} roster row(s) have no id")
            if ids[ids != ""].duplicated().any():
                roster_problems.append(f"{int(ids[ids != ''].duplicated().sum())} roster "
                                       "id(s) occur more than once")
    except (XinliScreenError, FileNotFoundError) as exc:
        roster_problems.append(str(exc))
    checks = []
    for part in loaded.definition.parts:
        insts = loaded.instruments[part.form]
        expected = sum(len(i.items) for i in insts)
        path = loaded.resolve(part.file)
        problems: list[str] = []
        rows = found = 0
        id_col = None
        try:
            frame, info = read_table(path)
            rows = len(frame)
            plan, extra = _plan(loaded, part, frame, info)
            id_col = extra["id"]
            present = set(frame.columns)
            found = sum(1 for i in insts for it in i.items
                        if plan.columns.get(it.id, it.id) in present)
            if id_col is None:
                problems.append(f"no id column {loaded.form(part).id_column!r} in the file")
            if found < expected:
                problems.append(f"{expected - found} of {expected} item columns not found")
            for key, col in extra.items():
                if key.startswith("reported.") and col is None:
                    problems.append(f"no column for {key[9:]!r} (form attributes)")
        except FileNotFoundError:
            problems.append("file not found")
        except XinliScreenError as exc:
            problems.append(str(exc))
        checks.append(PartCheck(part.part_name, part.form, str(path), rows, found, expected,
                                id_col, problems))
    return checks, roster_problems


@dataclass
class ScoredPart:
    """One part scored: the screening result plus, per answer sheet, where it came from.

    Attributes
    ----------
    part : Part
    result : ScreeningResult
        ``result.table`` has one row per row of the file, in file order.
    sheets : DataFrame, shape (n_rows, ...)
        Per row: ``part``, ``file_row`` (row in the file as a person sees it: header = 1,
        first answer = 2), ``source_ref`` (问卷星 序号, when present), ``pupil_key``,
        ``roster_match``, ``entered_id``, attributes (``school``, ``grade``, ``class`` ...),
        ``name`` (None unless the form names a name column), ``complete``.
    content_sha256 : str
        Hash of the file's cells, its form, the instruments' and the policy's hashes: a part
        re-imported with the same hash changes nothing.
    source_name : str
    """

    part: Part
    result: Any
    sheets: pd.DataFrame
    content_sha256: str
    source_name: str


@dataclass
class WaveRun:
    """A wave's parts, scored. Import with :meth:`ArchiveStore.import_wave_run`."""

    loaded: LoadedWave
    parts: list[ScoredPart]
    roster: pd.DataFrame | None


def _content_hash(frame: pd.DataFrame, extra: dict[str, Any]) -> str:
    """Hash of the cells as read (not the file's bytes: a re-saved or re-downloaded file
    with the same answers is the same part), plus the form, instruments and policy."""
    digest = hashlib.sha256()
    digest.update(json.dumps([str(c) for c in frame.columns]).encode("utf-8"))
    cells = frame.astype(object).where(frame.notna(), None).astype(str)
    digest.update(pd.util.hash_pandas_object(cells, index=False).to_numpy().tobytes())
    digest.update(json.dumps(extra, sort_keys=True, default=str).encode("utf-8"))
    return digest.hexdigest()


def _score_part(loaded: LoadedWave, part: Part, roster: pd.DataFrame | None) -> ScoredPart:
    from xinli_screen.io.readers import read_table
    from xinli_screen.io.source import apply_plan
    from xinli_screen.pipeline import screen_with_responses

    form = loaded.form(part)
    insts: list[Instrument] = loaded.instruments[part.form]
    path = loaded.resolve(part.file)
    frame, info = read_table(path)
    plan, extra = _plan(loaded, part, frame, info)
    if extra["id"] is None:
        raise ResponseDataError(f"{path.name}: no id column {form.id_column!r} (part "
                                f"{part.part_name!r}); check the form's id_column")
    data = apply_plan(frame, plan)
    # ids are the wave's business (roster matching, double submissions across parts), so
    # the sheets are scored without an id column: a row's status says how it was answered
    result, prepared = screen_with_responses(
        data, insts, columns=plan.columns or None,
        policy=loaded.policy.path if loaded.policy_text else loaded.policy.policy,
        missing_codes=plan.missing_codes, time_column=extra["time"], careless=form.careless)
    result.provenance["input"] = {**plan.provenance, "file": path.name,
                                  "part": part.part_name, "form": part.form}
    n = len(frame)
    sheets = pd.DataFrame({"part": part.part_name, "file_row": np.arange(2, n + 2)})
    sheets["source_ref"] = (frame[SEQUENCE_COLUMN].map(
        lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
        .to_numpy() if SEQUENCE_COLUMN in frame.columns else None)
    sheets["id"] = frame[extra["id"]].to_numpy()
    if extra["name"] is not None:
        sheets["name"] = frame[extra["name"]].to_numpy()
    for key, col in extra.items():
        if key.startswith("reported.") and col is not None:
            sheets[key] = frame[col].to_numpy()
    spec = loaded.definition.roster
    matched = match_roster(sheets, roster, roster_id=spec.id_column if spec else "id",
                           name_column=spec.name_column if spec else None,
                           attributes=spec.attributes if spec else None)
    out = pd.concat([sheets[["part", "file_row", "source_ref"]], matched], axis=1)
    if "name" in sheets.columns:
        names = sheets["name"].map(lambda v: None if v is None or pd.isna(v) else str(v))
        if roster is not None and spec is not None and spec.name_column:
            rost = roster.assign(_id=roster[spec.id_column].astype(str).str.strip())
            from_roster = out["pupil_key"].map(
                rost.drop_duplicates("_id").set_index("_id")[spec.name_column])
            names = from_roster.where(out["roster_match"].isin(["roster", "name"]), names)
        out["name"] = names.to_numpy()
    out["complete"] = prepared.responses.notna().all(axis=1).to_numpy()
    sha = _content_hash(frame, {"form": form.model_dump(mode="json"),
                                "instruments": result.provenance.get("instruments"),
                                "policy": loaded.policy.sha256, "part": part.model_dump()})
    return ScoredPart(part, result, out, sha, path.name)


def score_wave(loaded: LoadedWave, parts: Sequence[str] | None = None) -> WaveRun:
    """Score every part of the wave (or the parts named).

    Parameters
    ----------
    loaded : LoadedWave
        From :func:`~xinli_screen.wave.definition.load_wave`.
    parts : sequence of str, optional
        Part names to score (default: all).

    Returns
    -------
    WaveRun

    Raises
    ------
    ResponseDataError
        A file cannot be read, has no id column, or the roster cannot be read; the
        message names the file (never a cell value).
    KeyError
        A part name that the wave does not declare.
    """
    roster = read_roster(loaded)
    chosen = list(loaded.definition.parts)
    if parts:
        known = {p.part_name for p in chosen}
        unknown = [p for p in parts if p not in known]
        if unknown:
            raise KeyError(f"the wave has no part(s) {unknown}; its parts: {sorted(known)}")
        chosen = [p for p in chosen if p.part_name in set(parts)]
    scored = [_score_part(loaded, part, roster) for part in chosen]
    return WaveRun(loaded, scored, roster)
