"""Submissions, wave plans and the truth tables of the district scenario."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from xinli_screen.demo._answers import FormItems

__all__ = ["Plan", "Sheet", "pupil_truth", "sheet_facts", "submission_truth"]

#: Critical items read for the truth (all with threshold >= 1 on their codes).
CRITICAL = ("mht_085", "mht_097", "dsrsc_10", "phqa_09", "phqa_12", "phqa_13")


@dataclass
class Sheet:
    """One submitted answer sheet (one export row before its 序号 is known)."""

    pupil: int
    copy: int
    codes: np.ndarray
    when: dt.datetime
    seconds: int
    typed_id: str | None


@dataclass
class Plan:
    """Who does what in one wave (indices into the roster)."""

    absent: np.ndarray
    careless: np.ndarray  # "", "lie", "fast"
    skips: np.ndarray  # number of skipped items in the pupil's only copy
    dups: dict[int, tuple[str, dict[str, int], dict[str, int]]]  # kind, critical per copy
    mistyped: int
    empty: int
    critical: dict[int, dict[str, int]] = field(default_factory=dict)
    change: np.ndarray | None = None


def sheet_facts(items: FormItems, sheets: Sequence[Sheet]) -> pd.DataFrame:
    """Per sheet (in the given order): complete, skipped, lie, lie_high, too_fast, critical.

    ``complete``: every item of a non-optional scale answered. ``lie``: the MHT lie scale
    (missing when a lie item is skipped). ``too_fast``: under 2 s per item of the form.
    ``critical``: ``item=code`` of every critical item answered >= 1, ``;``-joined.
    """
    codes = np.vstack([s.codes for s in sheets]) if sheets else np.zeros((0, len(items.ids)))
    lie = codes[:, items.lie]
    lie_score = np.where(np.isnan(lie).any(axis=1), np.nan, np.nansum(lie, axis=1))
    crit_items = [(i, items.position(i)) for i in CRITICAL if i in items.ids]
    critical = [";".join(f"{i}={int(row[p])}" for i, p in crit_items if row[p] >= 1)
                for row in codes]
    seconds = np.array([s.seconds for s in sheets], dtype=float)
    return pd.DataFrame({
        "complete": ~np.isnan(codes[:, items.scored]).any(axis=1),
        "skipped": np.isnan(codes).sum(axis=1),
        "lie": lie_score,
        "lie_high": lie_score >= 7,
        "too_fast": seconds < 2 * len(items.ids),
        "critical": critical,
    })


def _kept(sheets: Sequence[Sheet], facts: pd.DataFrame) -> tuple[dict[int, int], dict[int, int]]:
    """Per pupil: position of the copy kept by ``first_complete`` (the first complete copy in
    submission order, else the first copy) and by ``latest`` (the last copy)."""
    groups: dict[int, list[int]] = {}
    for k, s in enumerate(sheets):  # sheets are in submission order
        groups.setdefault(s.pupil, []).append(k)
    complete = facts["complete"].to_numpy()
    first = {p: next((k for k in ks if complete[k]), ks[0]) for p, ks in groups.items()}
    return first, {p: ks[-1] for p, ks in groups.items()}


def _joined(values: pd.Series) -> str:
    return ";".join(sorted(set(";".join(values).split(";")) - {""}))


def pupil_truth(roster: pd.DataFrame, items: Mapping[str, FormItems],
                by_form: Mapping[str, Sequence[Sheet]], plan: Plan, latent: np.ndarray,
                retested: np.ndarray | None) -> pd.DataFrame:
    """One row per roster pupil: the generating facts of one wave (see the module docs)."""
    frames = []
    for form, sheets in by_form.items():
        facts = sheet_facts(items[form], sheets)
        first, latest = _kept(sheets, facts)
        facts["pupil"] = [s.pupil for s in sheets]
        facts["seq"] = np.arange(1, len(sheets) + 1)
        facts["typed_id"] = [s.typed_id for s in sheets]
        facts["kept"] = [first[s.pupil] == k for k, s in enumerate(sheets)]
        facts["latest"] = [latest[s.pupil] == k for k, s in enumerate(sheets)]
        frames.append(facts)
    facts = pd.concat(frames, ignore_index=True)
    by_pupil = facts.groupby("pupil")
    kept = facts[facts["kept"]].set_index("pupil").reindex(range(len(roster)))
    out = roster[["学号", "学校", "年级", "班级", "性别", "form"]].copy()
    out["latent"] = np.round(latent, 3)
    out["absent"] = plan.absent
    out["copies"] = by_pupil.size().reindex(range(len(roster)), fill_value=0).to_numpy()
    out["seqs"] = by_pupil["seq"].agg(lambda s: ";".join(map(str, s))).reindex(
        range(len(roster)), fill_value="").to_numpy()
    out["kept_seq"] = kept["seq"].astype("Int64").array
    out["latest_seq"] = facts[facts["latest"]].set_index("pupil")["seq"].reindex(
        range(len(roster))).astype("Int64").array
    out["critical_any"] = by_pupil["critical"].agg(_joined).reindex(
        range(len(roster)), fill_value="").to_numpy()
    out["critical_kept"] = kept["critical"].fillna("").to_numpy()
    out["critical_dropped_only"] = (out["critical_any"] != "") & (out["critical_kept"] == "")
    out["lie_high"] = kept["lie_high"].astype("boolean").array
    out["too_fast"] = kept["too_fast"].astype("boolean").array
    out["skipped"] = kept["skipped"].astype("Int64").array
    typed = kept["typed_id"].to_numpy(dtype=object)
    differs = ~out["absent"].to_numpy() & (typed != out["学号"].to_numpy())
    out["typed_id"] = np.where(differs, [t if isinstance(t, str) and t else "(空)"
                                          for t in typed], "")
    out["dup_kind"] = [plan.dups[p][0] if p in plan.dups else "" for p in range(len(roster))]
    out["careless"] = plan.careless
    if retested is not None:
        out["retested"] = retested
    if plan.change is not None:
        out["change"] = plan.change
    return out


def submission_truth(roster: pd.DataFrame, items: Mapping[str, FormItems],
                     parts: Sequence[tuple[Path, str, str, Sequence[Sheet]]],
                     folder: Path) -> pd.DataFrame:
    """One row per export row of every file (``parts``: path, wave, form, sheets)."""
    frames = []
    ids = roster["学号"].to_numpy()
    for path, wave, form, sheets in parts:
        facts = sheet_facts(items[form], sheets)
        first, latest = _kept(sheets, facts)
        copies = pd.Series([s.pupil for s in sheets]).value_counts()
        frames.append(pd.DataFrame({
            "wave": wave,
            "file": Path(path).relative_to(folder).as_posix(),
            "序号": np.arange(1, len(sheets) + 1),
            "提交答卷时间": [f"{s.when:%Y-%m-%d %H:%M:%S}" for s in sheets],
            "seconds": [s.seconds for s in sheets],
            "typed_id": [s.typed_id or "" for s in sheets],
            "roster_id": [ids[s.pupil] for s in sheets],
            "copy": [s.copy for s in sheets],
            "copies": [int(copies[s.pupil]) for s in sheets],
            **{k: facts[k].to_numpy() for k in facts.columns},
            "kept_first_complete": [first[s.pupil] == k for k, s in enumerate(sheets)],
            "kept_latest": [latest[s.pupil] == k for k, s in enumerate(sheets)],
        }))
    return pd.concat(frames, ignore_index=True)
