"""The warning list (预警名单) of a wave, from the pupil file, with effective tiers.

Who is on it: every pupil whose effective tier (after history rules and reviews, under the
policy frozen with the wave) is above none, every pupil with a critical answer (in any of
their sheets of the wave), every pupil whose critical item is unanswered, skipped or not shown
(the answer is unknown: ask in person), and every pupil whose sheet must be retested
(需重测). Order: 区级 -> 校级 -> 班级 -> none, critical answers first within a tier, then
school, grade (in school order) and class, then id.

:func:`warning_list` returns it as a DataFrame (English column keys, values as stored);
:func:`write_warning_lists` writes one XLSX per school, a district summary XLSX and the same
list as CSV and JSON for other systems (:mod:`xinli_screen.wave.xlsx`).
Screening is not diagnosis: the list names pupils for a 复核 talk, nothing more.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen.policy.history import REVIEW_STATUS_LABELS
from xinli_screen.policy.models import TIER_ORDER
from xinli_screen.wave.labels import scale_label, sort_frame

__all__ = ["LIST_COLUMNS", "UNMATCHED_SCHOOL", "critical_labels", "warning_list"]

#: Display name of the group of pupils not found on the roster and with no school given.
UNMATCHED_SCHOOL = "（未匹配名册）"
#: Column key -> (zh, en) header of the warning list, in order.
LIST_COLUMNS: dict[str, tuple[str, str]] = {
    "rank": ("序号", "No."),
    "school": ("学校", "School"),
    "grade": ("年级", "Grade"),
    "class": ("班级", "Class"),
    "pupil_id": ("学号", "Pupil id"),
    "name": ("姓名", "Name"),
    "tier_label": ("预警级别", "Warning tier"),
    "screen_label": ("本次筛查级别", "Screen tier (this wave)"),
    "critical": ("关键题", "Critical items"),
    "unknown": ("关键题未作答（须当面询问）", "Critical items unanswered (ask in person)"),
    "reasons": ("预警原因", "Reasons"),
    "history": ("历史说明", "History"),
    "validity": ("效度（需重测）", "Validity (retest)"),
    "review": ("复核状态", "Review status"),
    "roster": ("名册匹配", "Roster match"),
    "source": ("答卷来源", "Sheet"),
}
_SCALE = re.compile(r"^([a-z][a-z0-9]*)\.([a-z][a-z0-9_]*)$")
_RANK = {t: k for k, t in enumerate(TIER_ORDER)}


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return str(value)


def _score(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(out) else out


def critical_labels(values: pd.Series) -> pd.Series:
    """``PHQ-A 第9题、PHQ-A 第13题`` for ``;``-joined critical-item ids (the id when the
    instrument is unknown); "" stays ""."""
    from xinli_screen.report._pupil_labels import ScaleLabels

    labels = ScaleLabels()
    cache: dict[str, str] = {}

    def one(text: str) -> str:
        if text not in cache:
            cache[text] = "、".join(labels.critical(k.strip())["zh"]
                                   for k in text.split(";") if k.strip())
        return cache[text]

    return values.fillna("").astype(str).map(one)


def warning_list(store: Any, wave: str, *, include_names: bool = False,
                 include_all: bool = False) -> tuple[pd.DataFrame, dict[str, str]]:
    """The warning list of one wave from the pupil file.

    Parameters
    ----------
    store : ArchiveStore
    wave : str
    include_names : bool
        Fill ``name`` from the pupil file (names are stored only when a wave was imported
        with ``keep_names``); otherwise the column is empty.
    include_all : bool
        Every pupil of the wave, not only those on the list.

    Returns
    -------
    (table, scale_columns)
        ``table``: one row per pupil on the list, columns :data:`LIST_COLUMNS` keys plus
        ``tier`` (effective tier id), ``screen_tier``, ``review_status``, ``part``,
        ``file_row`` and ``critical_items`` (the ids; ``critical`` shows them as
        ``PHQ-A 第9题``), then one column per scale score (``{instrument}.{scale}``).
        ``scale_columns``: scale column -> Chinese display name (``"MHT 学习焦虑"``).

    Raises
    ------
    ArchiveError
        Unknown wave.
    """
    from xinli_screen.instrument.registry import load_instrument

    table = store.wave_table(wave)
    policy = store.wave_policy(wave)
    labels = {t: policy.tiers.spec(t).label.get("zh") for t in TIER_ORDER}
    parts = store.parts(wave).set_index("part_id")["name"]
    if not len(table):
        return pd.DataFrame(columns=[*LIST_COLUMNS, "tier"]), {}
    tier = table["warning_tier"].astype(str)
    critical = table["critical_items"].fillna("").astype(str)
    review = table["review_status"].astype(str)
    valid = table["protocol_valid"] if "protocol_valid" in table.columns else None
    retest = review.eq("retest") | (valid.astype(object).eq(False) if valid is not None
                                    else False)
    unknown = (table["critical_unknown"].fillna("").astype(str) if "critical_unknown" in table
               else pd.Series("", index=table.index))
    keep = np.ones(len(table), dtype=bool) if include_all else (
        tier.ne("none") | critical.ne("") | retest | unknown.ne("")).to_numpy()
    t = table[keep].reset_index(drop=True)
    out = pd.DataFrame({
        "school": t["attr.school"] if "attr.school" in t.columns else None,
        "grade": t["attr.grade"] if "attr.grade" in t.columns else None,
        "class": t["attr.class"] if "attr.class" in t.columns else None,
        "pupil_id": t["pupil_id"].astype(str),
        "name": t["name"] if include_names and "name" in t.columns else None,
        "tier": t["warning_tier"].astype(str),
        "screen_tier": t["screen_tier"].astype(str),
        "review_status": t["review_status"].astype(str),
    })
    out["school"] = out["school"].map(lambda v: _text(v) or UNMATCHED_SCHOOL)
    out["tier_label"] = out["tier"].map(labels)
    out["screen_label"] = out["screen_tier"].map(labels)
    out["critical_items"] = t["critical_items"].fillna("").astype(str)
    out["critical"] = critical_labels(out["critical_items"])
    out["critical_unknown"] = (t["critical_unknown"].fillna("").astype(str)
                               if "critical_unknown" in t else "")
    out["unknown"] = critical_labels(out["critical_unknown"].str.replace("?", "", regex=False))
    out["reasons"] = t["reasons"].map(_text)
    out["history"] = t["history_reasons_zh"].map(_text) if "history_reasons_zh" in t else ""
    invalid = t["protocol_valid"].astype(object).eq(False) if "protocol_valid" in t else False
    out["validity"] = np.where(out["review_status"].eq("retest") | invalid, "需重测", "")
    out["review"] = out["review_status"].map(lambda s: REVIEW_STATUS_LABELS.get(s, s))
    from xinli_screen.wave.reconcile import MATCH_LABELS

    out["roster"] = t["roster_match"].map(lambda m: MATCH_LABELS.get(_text(m), _text(m))) \
        if "roster_match" in t else ""
    out["part"] = t["part_id"].map(parts) if "part_id" in t else None
    out["file_row"] = t.get("source_row")
    out["source"] = [f"{_text(p)} 第{_text(r)}行" + (f"（序号 {_text(q)}）" if _text(q) else "")
                     for p, r, q in zip(out["part"], out["file_row"],
                                        t["source_ref"] if "source_ref" in t
                                        else [None] * len(t), strict=True)]
    scale_cols: dict[str, str] = {}
    instruments: dict[str, Any] = {}
    for col in t.columns:
        m = _SCALE.match(str(col))
        if not m or f"{col}.n_answered" not in t.columns:
            continue
        inst_id, scale_id = m.groups()
        if inst_id not in instruments:
            try:
                instruments[inst_id] = load_instrument(inst_id)
            except (FileNotFoundError, ValueError):
                instruments[inst_id] = None
        inst = instruments[inst_id]
        scale_cols[col] = scale_label(inst, scale_id) if inst is not None else col
        out[col] = t[col].map(_score)
    out["_rank"] = -out["tier"].map(_RANK).fillna(0).astype(int)
    out["_crit"] = out["critical"].eq("").astype(int)
    out = sort_frame(out, ["school", "grade", "class", "pupil_id"],
                     first=[("_rank", True), ("_crit", True)])
    out = out.drop(columns=["_rank", "_crit"])
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out, scale_cols
