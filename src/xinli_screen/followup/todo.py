"""The follow-up list (待办) of a wave, from the pupil file.

Who is on it: every pupil the wave's warning list named (a tier above none before any
review, a critical answer, or a sheet to retest), with the state of the 复核 and of the
first action against the deadlines of the policy frozen with the wave
(:mod:`xinli_screen.followup.status`), who is responsible (the roster attribute
``psychologist`` if the roster has one, else the wave definition's ``psychologists`` map
of school -> person), and what is still open. :func:`follow_up` returns it with the
loop-closure figures per school, per psychologist and for the district.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen.archive.followup import local_date
from xinli_screen.followup.status import (
    ACTION_STATES,
    REVIEW_STATES,
    follow_up_states,
    loop_figures,
)
from xinli_screen.policy.history import REVIEW_OUTCOMES
from xinli_screen.policy.models import TIER_ORDER, FollowUpRules
from xinli_screen.wave.labels import sort_frame
from xinli_screen.wave.warning_list import UNMATCHED_SCHOOL, critical_labels

__all__ = ["UNASSIGNED", "FollowUp", "follow_up", "listed_mask"]

#: Shown when no psychologist is named for a pupil's school.
UNASSIGNED = "（未指定）"
_RANK = {t: k for k, t in enumerate(TIER_ORDER)}


@dataclass(frozen=True)
class FollowUp:
    """The follow-up list of one wave.

    Attributes
    ----------
    wave : str
    as_of : date
        The local date the list was drawn up for.
    table : DataFrame
        One row per listed pupil (see :func:`follow_up`).
    by_school, by_psychologist, district : DataFrame
        Loop-closure figures (:func:`~xinli_screen.followup.status.loop_figures`).
    rules : FollowUpRules or None
        The deadlines used (None: the policy declares none).
    labels : dict tier -> label
    title : str or None
    """

    wave: str
    as_of: dt.date
    table: pd.DataFrame
    by_school: pd.DataFrame
    by_psychologist: pd.DataFrame
    district: pd.DataFrame
    rules: FollowUpRules | None
    labels: dict[str, str] = field(default_factory=dict)
    title: str | None = None

    @property
    def todo(self) -> pd.DataFrame:
        """The rows with something still open."""
        return self.table[self.table["todo"]].reset_index(drop=True)


def _text(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def _open_items(row: pd.Series) -> str:
    items = []
    if row["review_state"] == "overdue":
        items.append(f"复核逾期{row['review_days_overdue']}天")
    elif row["review_state"] == "pending":
        items.append(f"待复核（期限 {row['review_due']}）")
    elif row["review_state"] == "no_deadline":
        items.append("待复核")
    if row["action_state"] == "overdue":
        items.append(f"干预逾期{row['action_days_overdue']}天")
    elif row["action_state"] == "pending":
        items.append(f"待干预（期限 {row['action_due']}）")
    elif row["action_state"] == "no_deadline":
        items.append("待干预")
    if row["critical_no_interview"]:
        items.append("关键题阳性未面谈")
    if row["held"] and row["review_state"] not in ("done", "late"):
        items.append("暂维持上次级别，待复核")
    if row["reopened"]:
        items.append("档案因关键题重新开启")
    return "；".join(items) if row["todo"] else ""


def listed_mask(table: pd.DataFrame) -> np.ndarray:
    """Which rows of a wave table (``ArchiveStore.wave_table``) the warning list named: a tier
    above none before any review, a critical answer, a critical item whose answer is unknown,
    or a sheet to retest.

    Returns
    -------
    ndarray of bool, shape (n rows,)
    """
    if not len(table):
        return np.zeros(0, dtype=bool)
    before = (table["tier_before_review"] if "tier_before_review" in table
              else table["warning_tier"]).astype(str)
    critical = table["critical_items"].fillna("").astype(str)
    unknown = (table["critical_unknown"].fillna("").astype(str) if "critical_unknown" in table
               else pd.Series("", index=table.index))
    invalid = (table["protocol_valid"].astype(object).eq(False) if "protocol_valid" in table
               else pd.Series(False, index=table.index))
    return (before.ne("none") | critical.ne("") | unknown.ne("") | invalid).to_numpy()


def follow_up(store: Any, wave: str, *, as_of: dt.date | None = None,
              include_names: bool = False) -> FollowUp:
    """The follow-up list of ``wave`` with its loop-closure figures.

    Parameters
    ----------
    store : ArchiveStore
    wave : str
    as_of : date, optional
        Local date to draw the list up for (default: today in the wave's time zone). Only
        reviews and actions dated on or before it count.
    include_names : bool
        Fill ``name`` from the pupil file (stored only with ``--keep-names``).

    Returns
    -------
    FollowUp
        ``table`` columns: ``school``, ``grade``, ``class``, ``pupil_id``, ``name``,
        ``psychologist``, ``tier`` and ``tier_label`` (as listed before review, or the
        higher tier a review set),
        ``effective_tier`` (after reviews), ``critical_items`` (ids) and
        ``critical_label`` (``PHQ-A 第9题``), ``start``, ``held``,
        ``reopened``, ``latest_outcome``, the state columns of
        :func:`~xinli_screen.followup.status.follow_up_states` with ``review_state_label``
        and ``action_state_label`` in Chinese, and ``open_items`` (what is still open, in
        Chinese). Sorted most urgent first: overdue, then by tier, critical answers first,
        then school, grade and class.

    Raises
    ------
    ArchiveError
        Unknown wave.
    """
    table = store.wave_table(wave)
    policy = store.wave_policy(wave)
    frames = store.follow_up_frames(wave)
    zone = frames["timezone"]
    labels = {t: policy.tiers.spec(t).label.get("zh") for t in TIER_ORDER}
    if as_of is None:
        as_of = local_date(store.clock(), zone) or dt.date.today()
    keep = listed_mask(table)
    t = table[keep].reset_index(drop=True)
    before = (t["tier_before_review"] if "tier_before_review" in t else t["warning_tier"]) \
        .astype(str) if len(t) else pd.Series(dtype=object)
    codes = (t["history_codes"].fillna("").astype(str) if "history_codes" in t
             else pd.Series([""] * len(t), dtype=object))
    definition = frames["definition"] or {}
    psych_map = {str(k): str(v) for k, v in (definition.get("psychologists") or {}).items()}

    def attr(name: str) -> pd.Series:
        col = f"attr.{name}"
        return t[col].map(_text) if col in t else pd.Series([""] * len(t), dtype=object)

    school = attr("school").map(lambda v: v or UNMATCHED_SCHOOL)
    psych = attr("psychologist")
    psych = pd.Series([p or psych_map.get(s, "") or UNASSIGNED
                       for p, s in zip(psych, school, strict=True)], dtype=object)
    status = t["review_status"].astype(str) if len(t) else pd.Series(dtype=object)
    listed = pd.DataFrame({
        "school": school, "grade": attr("grade"), "class": attr("class"),
        "pupil_id": t["pupil_id"].astype(str),
        "name": t["name"].map(_text) if include_names and "name" in t else "",
        "psychologist": psych,
        # a review that raised the tier makes the higher tier's deadlines apply
        "tier": [b if _RANK.get(b, 0) >= _RANK.get(e, 0) else e
                 for b, e in zip(before, t["warning_tier"].astype(str), strict=True)],
        "effective_tier": t["warning_tier"].astype(str),
        "critical_items": t["critical_items"].fillna("").astype(str),
        "critical_unknown": (t["critical_unknown"].fillna("").astype(str)
                             if "critical_unknown" in t else ""),
        "retest": (t["protocol_valid"].astype(object).eq(False).to_numpy()
                   if "protocol_valid" in t else np.zeros(len(t), dtype=bool)),
        "start": [frames["starts"].get(None if pd.isna(p) else int(p), frames["starts"][None])
                  for p in (t["part_id"] if "part_id" in t else [None] * len(t))],
        "held": codes.str.contains("held_until_review").to_numpy(),
        "reopened": codes.str.contains("reopened_by_critical_item").to_numpy(),
        "latest_outcome": status.where(status.isin(list(REVIEW_OUTCOMES)), None),
    })
    listed["tier_label"] = listed["tier"].map(labels)
    listed["critical_label"] = critical_labels(listed["critical_items"])
    rules = policy.follow_up
    states = follow_up_states(listed, frames["reviews"], frames["actions"], rules, as_of)
    states["review_state_label"] = states["review_state"].map(REVIEW_STATES)
    states["action_state_label"] = states["action_state"].map(ACTION_STATES)
    from xinli_screen.archive.models import ACTION_KINDS

    states["first_action_label"] = states["first_action"].map(
        lambda k: ACTION_KINDS.get(k, "") if isinstance(k, str) else "")
    states["open_items"] = states.apply(_open_items, axis=1) if len(states) else ""
    overdue = np.fmax(pd.to_numeric(states["review_days_overdue"], errors="coerce").fillna(-1),
                      pd.to_numeric(states["action_days_overdue"], errors="coerce").fillna(-1))
    states["_od"] = -overdue.to_numpy()
    states["_rank"] = -states["tier"].map(_RANK).fillna(0).astype(int)
    states["_crit"] = states["critical_items"].eq("").astype(int)
    states["_todo"] = (~states["todo"]).astype(int)
    states = sort_frame(states, ["school", "grade", "class", "pupil_id"],
                        first=[("_todo", True), ("_od", True), ("_rank", True),
                               ("_crit", True)])
    states = states.drop(columns=["_od", "_rank", "_crit", "_todo"]).reset_index(drop=True)
    info = store.wave_info(wave)
    return FollowUp(wave=wave, as_of=as_of, table=states,
                    by_school=loop_figures(states, ["school"]),
                    by_psychologist=loop_figures(states, ["psychologist"]),
                    district=loop_figures(states), rules=rules, labels=labels,
                    title=info.get("title"))
