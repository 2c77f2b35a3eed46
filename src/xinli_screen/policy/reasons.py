"""Reasons of a policy's outcome: texts of fired rules and critical items, and their layout.

An :class:`_Event` is one fired rule, triggered critical item or critical item with an unknown
answer, with its rows and the codes of its distinct reason texts (zh and en).
:func:`_placement` lays the events of all respondents out long (by row, most severe first)
without a sort; :func:`_joined` joins each row's texts with Arrow; :func:`_reasons_table` builds
the long reasons table (:data:`REASON_COLUMNS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.extensions import ExtensionArray

from xinli_screen._text import TEXT_DTYPE, decode_text
from xinli_screen.policy.models import TIER_ORDER

__all__ = ["REASON_COLUMNS"]

#: Columns of the long reasons table, in order.
REASON_COLUMNS = ["row", "id", "rule", "kind", "tier", "reason_zh", "reason_en"]


def _render(template: str, evidence: str, lang: str) -> str:
    """Fill ``{evidence}`` (the only placeholder) into a reason template."""
    if "{evidence}" in template:
        head, tail = template.split("{evidence}", 1)
        return head + evidence + tail.replace("{evidence}", "")
    return template + ("（" if lang == "zh" else " (") + evidence + ("）" if lang == "zh" else ")")


@dataclass(frozen=True)
class _Event:
    """A fired rule or triggered critical item: the rows it holds in and their reason texts.

    ``codes`` (int64, one per row of ``rows``, ascending) index ``zh`` and ``en``, the distinct
    reason texts (never empty).
    """

    name: str
    kind: str
    rank: int
    rows: np.ndarray
    codes: np.ndarray
    zh: list[str]
    en: list[str]


def _placement(n: int, events: Sequence[_Event]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lay the events' rows out long: by row, then in the order of ``events``.

    Returns
    -------
    (count, event, code)
        ``count`` (shape (n,)): events per row; per long row (``count.sum()`` of them, row 0's
        first), ``event``: index into ``events``, and ``code``: index into the events' texts
        concatenated (``events[0].zh`` then ``events[1].zh`` ...). Rows are placed by counting
        offsets, without a sort.
    """
    rows = np.concatenate([np.zeros(0, dtype=np.int64), *(e.rows for e in events)])
    count = np.bincount(rows, minlength=n)
    slot = np.cumsum(count) - count  # next free long row of each row
    event = np.empty(len(rows), dtype=np.int64)
    code = np.empty(len(rows), dtype=np.int64)
    offset = 0
    for k, e in enumerate(events):
        place = slot[e.rows]
        slot[e.rows] += 1
        event[place] = k
        code[place] = offset + e.codes
        offset += len(e.zh)
    return count, event, code


def _joined(count: np.ndarray, values: ExtensionArray, sep: str) -> ExtensionArray:
    """Per row, its ``count`` consecutive ``values`` joined by ``sep`` ("" when none).

    ``values`` is a pandas ``str`` array in long layout (:func:`_placement`); the join is one
    Arrow ``binary_join`` over a list view of it. Returns a pandas ``str`` array, shape (n,).
    Raises ``pyarrow.ArrowInvalid`` beyond 2**31 - 1 values in all (list offsets are 32-bit).
    """
    offsets = np.zeros(len(count) + 1, dtype=np.int64)
    np.cumsum(count, out=offsets[1:])
    lists = pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), pa.array(values))
    return pd.array(pc.binary_join(lists, pa.scalar(sep, pa.large_string())),
                    dtype=TEXT_DTYPE)


def _id_column(ids: pd.Series | None, rows: np.ndarray) -> np.ndarray | ExtensionArray:
    """Respondent ids of ``rows`` for the reasons table (None everywhere without ids).

    ``str`` ids are taken with Arrow; ids of any other dtype as objects, for pandas to infer
    the column type.
    """
    if ids is None:
        return np.full(len(rows), None, dtype=object)
    if ids.dtype == TEXT_DTYPE:
        return ids.array.take(rows)
    return ids.to_numpy(dtype=object)[rows]


def _reasons_table(events: Sequence[_Event], count: np.ndarray, event: np.ndarray,
                   columns: dict[str, ExtensionArray], ids: pd.Series | None) -> pd.DataFrame:
    """The long reasons table from the layout of :func:`_placement` (rule and reason columns
    already decoded)."""
    if not events:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in REASON_COLUMNS})
    rows = np.repeat(np.arange(len(count), dtype=np.int64), count)
    kinds = ["critical_item", "rule", "critical_unknown"]
    return pd.DataFrame({
        "row": rows,
        "id": _id_column(ids, rows),
        "kind": decode_text(np.array([kinds.index(e.kind) for e in events])[event], kinds),
        "tier": decode_text(np.array([e.rank for e in events])[event], TIER_ORDER),
        **columns,
    }, columns=REASON_COLUMNS)


#: Why a critical item has no answer: failures/notes code -> (zh, en) text for the reason.
_UNANSWERED = {
    "": ("无答案", "no answer"),
    "critical-blank": ("空白未作答", "left blank"),
    "critical-missing-code": ("缺失值代码", "a declared missing code"),
    "critical-skipped": ("问卷星跳过 -2", "skipped, 问卷星 -2"),
    "critical-not-shown": ("问卷星未显示 -3", "not shown, 问卷星 -3"),
    "out-of-range": ("答案无法读取", "answer not readable"),
    "not-a-code": ("答案无法读取", "answer not readable"),
    "unrecognised-text": ("答案无法读取", "answer not readable"),
}


def _unknown_event(col: str, item: str, number: int, rows: np.ndarray,
                   unanswered: pd.DataFrame | None) -> _Event:
    """The ``critical_unknown`` reason of the rows where critical item ``col`` has no answer.

    The reason names the item and why its answer is missing (from the failures/notes table),
    and says that a missing answer is not a negative one (docs/policy.md, critical-item
    states). It raises no tier (rank 0); its code in ``reason_codes`` is the critical id
    with ``?`` appended (``phq9.self_harm_thoughts?``), never the id of a fired item.
    """
    why = np.full(len(rows), "", dtype=object)
    if unanswered is not None and len(unanswered):
        notes = unanswered[unanswered["item"] == item]
        if len(notes):
            by_row = pd.Series(notes["code"].to_numpy(dtype=object),
                               index=notes["row"].to_numpy(dtype=np.int64))
            by_row = by_row[~by_row.index.duplicated()]
            found = by_row.reindex(rows).to_numpy(dtype=object)
            why = np.where(pd.isna(found), "", found).astype(object)
            why = np.where(np.isin(why, list(_UNANSWERED)), why, "").astype(object)
    codes, kinds = pd.factorize(why)
    label = f"{item} #{number}"
    zh = [f"关键题答案未知（{label}：{_UNANSWERED[k][0]}），不能视为阴性，须查看答卷或当面了解"
          for k in kinds]
    en = [f"Critical item answer unknown ({label}: {_UNANSWERED[k][1]}): not a negative "
          "answer; check the answer sheet or ask the pupil" for k in kinds]
    return _Event(f"{col}?", "critical_unknown", 0, rows, codes.astype(np.int64), zh, en)
