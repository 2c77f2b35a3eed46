"""Roster reconciliation and double submissions: pure functions of DataFrames.

Three questions a psychologist asks of every wave, answered here without touching a database:

1. *Whose sheet is this?* :func:`match_roster` matches each answer sheet to the roster: by the
   id as typed (``roster``); when the id is empty or not on the roster, by name, school and
   class together when exactly one roster pupil fits (``name``, to be checked by a person);
   otherwise the sheet keeps the id as typed (``unmatched``) or, with no id at all, a
   provisional key naming the file row (``no_id``). No sheet is dropped.
2. *Which of a pupil's sheets counts?* :func:`select_active` applies the wave's rule for
   double submissions (keep the first complete sheet, or the latest) and lets a retest
   replace the earlier sheet. The sheets not kept stay in the pupil file, inactive.
3. *Who is missing?* :func:`reconcile` lists roster pupils with no sheet (缺测名单), sheets
   not matched to the roster, and every double submission with the copy kept.

A critical answer is never lost: :func:`carry_critical` gives the counted sheet the critical
items of every other sheet of the same pupil in the same wave (and at least the tier those
sheets reached), with a reason that says so.

Nothing here logs or raises with an id, a name or an answer.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from xinli_screen.policy.models import TIER_ORDER

__all__ = ["MATCH_LABELS", "Reconciliation", "carry_critical", "clean_id", "match_roster",
           "reconcile", "select_active"]

#: How an answer sheet was matched to the roster, with its Chinese wording.
MATCH_LABELS: dict[str, str] = {
    "roster": "按学号匹配名册",
    "name": "学号缺失或不在名册，按姓名+学校+班级匹配（请核对）",
    "unmatched": "学号不在名册",
    "no_id": "未填学号",
    "no_roster": "本批次未提供名册",
}
_RANK = {t: k for k, t in enumerate(TIER_ORDER)}


def clean_id(value: object) -> str:
    """An id as text: NFKC-folded (full-width digits), trimmed, ``"123.0"`` -> ``"123"``;
    ``""`` for a missing value."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text


def _norm_text(value: object) -> str:
    return clean_id(value).replace(" ", "")


def match_roster(
    sheets: pd.DataFrame,
    roster: pd.DataFrame | None,
    *,
    roster_id: str = "id",
    name_column: str | None = None,
    attributes: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Match answer sheets to the roster.

    Parameters
    ----------
    sheets : DataFrame, shape (n, ...)
        One row per answer sheet with ``id`` (as typed), ``part`` and ``file_row`` (for the
        provisional key of a sheet without id), optionally ``name`` and ``reported.{attr}``
        (the export's own fill-in school, grade, class ...).
    roster : DataFrame or None, shape (m, ...)
        Text cells; ``roster_id`` is the id column.
    roster_id : str
    name_column : str, optional
        Roster column with the pupil's name (used only to match sheets without a usable id).
    attributes : mapping attribute -> roster column, optional
        Attributes taken from the roster (``school``, ``grade``, ``class``, ``sex`` ...).

    Returns
    -------
    DataFrame, shape (n, ...), same index as ``sheets``
        ``pupil_key`` (roster id, typed id, or ``NOID-{part}-{file_row}``), ``roster_match``
        (a key of :data:`MATCH_LABELS`), ``entered_id`` (the id as typed) and one column per
        attribute (roster value; the sheet's reported value when not on the roster, so that
        the school can still find the pupil).
    """
    attributes = dict(attributes or {})
    typed = sheets["id"].map(clean_id) if "id" in sheets.columns else pd.Series(
        "", index=sheets.index)
    out = pd.DataFrame(index=sheets.index)
    out["entered_id"] = typed
    key = typed.copy()
    how = pd.Series("no_roster", index=sheets.index, dtype=object)
    attr_names = list(attributes) or [c[len("reported."):] for c in sheets.columns
                                      if c.startswith("reported.")]
    values = {a: pd.Series(None, index=sheets.index, dtype=object) for a in attr_names}
    if roster is not None:
        rost = roster.copy()
        rost["_id"] = rost[roster_id].map(clean_id)
        rost = rost[rost["_id"] != ""].drop_duplicates("_id").set_index("_id")
        on_roster = typed.isin(rost.index) & (typed != "")
        how[:] = np.where(on_roster, "roster", np.where(typed == "", "no_id", "unmatched"))
        if name_column and name_column in rost.columns and "name" in sheets.columns:
            fields = [a for a in ("school", "class") if a in attributes
                      and f"reported.{a}" in sheets.columns]
            sig_r = rost[name_column].map(_norm_text)
            sig_s = sheets["name"].map(_norm_text)
            for a in fields:
                sig_r = sig_r + "|" + rost[attributes[a]].map(_norm_text)
                sig_s = sig_s + "|" + sheets[f"reported.{a}"].map(_norm_text)
            counts = sig_r.value_counts()
            unique = sig_r[sig_r.map(counts) == 1]
            lookup = pd.Series(unique.index, index=unique.to_numpy())
            try_name = ~on_roster & (sheets["name"].map(_norm_text) != "")
            found = sig_s.map(lookup).where(try_name)
            hit = found.notna()
            key[hit] = found[hit]
            how[hit] = "name"
        for a in attr_names:
            col = attributes.get(a)
            if col is not None and col in rost.columns:
                values[a] = key.map(rost[col]).where(how.isin(["roster", "name"]))
    for a in attr_names:
        rep = f"reported.{a}"
        if rep in sheets.columns:
            fill = sheets[rep].map(lambda v: clean_id(v) or None)
            values[a] = values[a].where(values[a].notna(), fill)
        out[a] = values[a]
    noid = key == ""
    if noid.any():
        key[noid] = ("NOID-" + sheets.loc[noid, "part"].astype(str) + "-"
                     + sheets.loc[noid, "file_row"].astype(str))
    out["pupil_key"] = key
    out["roster_match"] = how
    return out


def select_active(rows: pd.DataFrame, rule: str = "first_complete") -> np.ndarray:
    """Which sheet counts for each pupil in one wave.

    Parameters
    ----------
    rows : DataFrame, shape (n, ...)
        Candidate sheets of one wave (superseded part versions already left out):
        ``pupil_key``, ``order`` (submission order: part order, then file row; smaller =
        earlier), ``complete`` (bool: every instrument scored), ``retest`` (bool: from a
        retest part).
    rule : {"first_complete", "latest"}
        ``first_complete``: the earliest complete sheet, else the earliest sheet;
        ``latest``: the last sheet. A retest sheet always wins over ordinary sheets (the
        latest retest when there are several).

    Returns
    -------
    ndarray of bool, shape (n,)
        Exactly one True per pupil.

    Raises
    ------
    ValueError
        Unknown rule.
    """
    if rule not in ("first_complete", "latest"):
        raise ValueError(f"unknown duplicate rule {rule!r}; use first_complete or latest")
    if not len(rows):
        return np.zeros(0, dtype=bool)
    frame = pd.DataFrame({
        "key": rows["pupil_key"].to_numpy(), "order": rows["order"].to_numpy(),
        "complete": rows["complete"].astype(bool).to_numpy(),
        "retest": rows["retest"].astype(bool).to_numpy(), "pos": np.arange(len(rows))})
    # sort so that the sheet that counts comes first within each pupil
    if rule == "first_complete":
        frame["k1"] = ~frame["retest"]
        frame["k2"] = np.where(frame["retest"], 0, ~frame["complete"])
        frame["k3"] = np.where(frame["retest"], -frame["order"], frame["order"])
    else:
        frame["k1"] = ~frame["retest"]
        frame["k2"] = 0
        frame["k3"] = -frame["order"]
    first = frame.sort_values(["key", "k1", "k2", "k3", "pos"], kind="stable").groupby(
        "key", sort=False)["pos"].first()
    active = np.zeros(len(rows), dtype=bool)
    active[first.to_numpy()] = True
    return active


def carry_critical(active: pd.DataFrame, others: pd.DataFrame,
                   tier_floor: str = "school") -> pd.DataFrame:
    """Give each counted sheet the critical answers of the pupil's other sheets.

    Parameters
    ----------
    active : DataFrame, shape (n, ...)
        The counted sheets of one or more waves: ``pupil_id``, ``wave_seq``,
        ``warning_tier``, ``critical_items`` (``;``-joined), ``reasons``, ``reason_codes``,
        ``review_status``.
    others : DataFrame, shape (k, ...)
        The pupils' other sheets of the same waves (double submissions, sheets replaced by a
        retest; not superseded part versions): ``pupil_id``, ``wave_seq``,
        ``critical_items``, ``warning_tier``.
    tier_floor : str
        Lowest tier of a pupil whose other sheet has a critical answer (the policy's
        ``critical_item_tier``).

    Returns
    -------
    DataFrame
        A copy of ``active``: critical items united, tier raised to at least the other
        sheet's tier and ``tier_floor``, review status ``pending_review``, a reason
        (zh/en) and the code ``critical_in_other_sheet``.
    """
    out = active.copy()
    if not len(others) or not len(out):
        return out
    crit = others[others["critical_items"].fillna("").astype(str) != ""]
    if not len(crit):
        return out
    grouped = crit.groupby(["pupil_id", "wave_seq"], sort=False).agg(
        items=("critical_items", lambda s: ";".join(s.astype(str))),
        tier=("warning_tier", lambda s: max((_RANK.get(str(t), 0) for t in s), default=0)))
    idx = pd.MultiIndex.from_arrays([out["pupil_id"], out["wave_seq"]])
    hit = idx.isin(grouped.index)
    if not hit.any():
        return out
    rows = np.flatnonzero(hit)
    g = grouped.reindex(idx[rows])
    own = out["critical_items"].fillna("").astype(str).to_numpy()
    tiers = out["warning_tier"].astype(object).to_numpy().copy()
    reasons = out["reasons"].fillna("").astype(str).to_numpy().copy()
    codes = out["reason_codes"].fillna("").astype(str).to_numpy().copy()
    status = out["review_status"].astype(object).to_numpy().copy()
    crit_col = own.astype(object).copy()
    floor = _RANK.get(tier_floor, 2)
    for j, r in enumerate(rows):
        items = [i for i in own[r].split(";") if i]
        added = [i for i in str(g["items"].iloc[j]).split(";") if i and i not in items]
        if not added:
            continue
        crit_col[r] = ";".join([*items, *added])
        rank = max(_RANK.get(str(tiers[r]), 0), int(g["tier"].iloc[j]), floor)
        tiers[r] = TIER_ORDER[rank]
        note = "同一批次的另一份答卷有关键题阳性（" + "、".join(added) + "）"
        reasons[r] = note if not reasons[r] else reasons[r] + "；" + note
        codes[r] = ("critical_in_other_sheet" if not codes[r]
                    else codes[r] + ";critical_in_other_sheet")
        if status[r] != "retest":
            status[r] = "pending_review"
    out["critical_items"] = crit_col
    out["warning_tier"] = tiers
    out["reasons"] = reasons
    out["reason_codes"] = codes
    out["review_status"] = status
    return out


@dataclass(frozen=True)
class Reconciliation:
    """What a psychologist checks after each run (written to a file, never to the console).

    Attributes
    ----------
    unmatched : DataFrame
        Sheets whose id is empty or not on the roster (part, file row, 问卷星 序号, id as
        typed, reported school/grade/class, how matched, critical items).
    absent : DataFrame
        Roster pupils with no sheet in the wave (缺测名单), ordered by school, grade, class.
    duplicates : DataFrame
        Every sheet of every pupil with more than one, with ``kept`` and the rule.
    summary : dict
        Counts: sheets, pupils, matched by id / by name, unmatched, no id, absent,
        duplicate pupils, sheets not kept, critical answers in sheets not kept.
    """

    unmatched: pd.DataFrame
    absent: pd.DataFrame
    duplicates: pd.DataFrame
    summary: dict[str, int]


def reconcile(sheets: pd.DataFrame, roster: pd.DataFrame | None, *, roster_id: str = "id",
              attributes: Mapping[str, str] | None = None, name_column: str | None = None,
              rule: str = "first_complete") -> Reconciliation:
    """Unmatched sheets, absent pupils and double submissions of one wave.

    Parameters
    ----------
    sheets : DataFrame, shape (n, ...)
        Every non-superseded sheet of the wave: ``pupil_key``, ``roster_match``,
        ``entered_id``, ``part``, ``file_row``, ``source_ref``, ``active``, ``complete``,
        ``retest``, ``critical_items``, ``warning_tier``, attribute columns and optionally
        ``name``.
    roster : DataFrame or None
    roster_id, attributes, name_column
        As in :func:`match_roster`.
    rule : str
        The wave's duplicate rule (named in the output).

    Returns
    -------
    Reconciliation
    """
    attributes = dict(attributes or {})
    attr = [a for a in ("school", "grade", "class") if a in sheets.columns]
    base = ["part", "file_row", "source_ref"]
    crit = sheets["critical_items"].fillna("").astype(str) != ""
    unm = sheets[sheets["roster_match"].isin(["unmatched", "no_id", "name"])]
    unmatched = unm[[*base, "entered_id", "pupil_key", *attr,
                     *(["name"] if "name" in unm.columns else []), "roster_match",
                     "critical_items", "active"]].copy()
    unmatched["how"] = unmatched["roster_match"].map(MATCH_LABELS)
    counts = sheets.groupby("pupil_key")["pupil_key"].transform("size")
    dup = sheets[counts > 1].copy()
    dup["kept"] = dup["active"].astype(bool)
    dup["rule"] = np.where(dup["retest"].astype(bool), "retest", rule)
    duplicates = dup[["pupil_key", *base, *attr, "complete", "retest", "kept", "rule",
                      "critical_items", "warning_tier"]].sort_values(
        ["pupil_key", "part", "file_row"], kind="stable")
    absent = pd.DataFrame(columns=["pupil_key", *attr])
    n_roster = 0
    if roster is not None:
        rost = roster.copy()
        rost["_id"] = rost[roster_id].map(clean_id)
        rost = rost[rost["_id"] != ""].drop_duplicates("_id")
        n_roster = len(rost)
        missing = rost[~rost["_id"].isin(set(sheets["pupil_key"]))]
        cols = {"pupil_key": missing["_id"]}
        for a in ("school", "grade", "class"):
            if a in attributes and attributes[a] in missing.columns:
                cols[a] = missing[attributes[a]]
        if name_column and name_column in missing.columns:
            cols["name"] = missing[name_column]
        absent = pd.DataFrame(cols).reset_index(drop=True)
        order = [c for c in ("school", "grade", "class") if c in absent.columns]
        if order:
            from xinli_screen.wave.labels import sort_frame

            absent = sort_frame(absent, order)
    not_kept = sheets[~sheets["active"].astype(bool)]
    summary = {
        "sheets": len(sheets),
        "pupils": int(sheets["pupil_key"].nunique()),
        "roster_pupils": n_roster,
        "matched_by_id": int((sheets["roster_match"] == "roster").sum()),
        "matched_by_name": int((sheets["roster_match"] == "name").sum()),
        "unmatched": int((sheets["roster_match"] == "unmatched").sum()),
        "no_id": int((sheets["roster_match"] == "no_id").sum()),
        "absent": len(absent),
        "duplicate_pupils": int(dup["pupil_key"].nunique()) if len(dup) else 0,
        "sheets_not_kept": len(not_kept),
        "critical_in_sheets_not_kept": int((crit & ~sheets["active"].astype(bool)).sum()),
    }
    return Reconciliation(unmatched.reset_index(drop=True), absent,
                          duplicates.reset_index(drop=True), summary)
