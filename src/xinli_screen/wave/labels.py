"""Display order and Chinese names for lists and reports: grades in school order, classes in
number order, scale names from the instrument YAML.

Grades sort as a school counts them (一年级 ... 六年级, 初一/七年级 ... 初三/九年级, 高一 ...
高三), not as text (五, 六, 四); classes sort by their number (2班 before 10班).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

import pandas as pd

__all__ = ["grade_rank", "natural_key", "scale_label", "sort_frame"]

_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
           "十": 10}
_PREFIX = (("小学", 0), ("初中", 6), ("初", 6), ("高中", 9), ("高", 9))


def _number(text: str) -> int | None:
    m = re.search(r"\d+", text)
    if m:
        return int(m.group())
    for ch in text:
        if ch in _DIGITS:
            return _DIGITS[ch]
    return None


def grade_rank(value: object) -> tuple[int, str]:
    """Sort key of a grade: school year 1-12 (unknown grades last, by text).

    ``四年级`` -> 4, ``初一`` / ``七年级`` -> 7, ``高三`` -> 12, ``"5"`` -> 5.
    """
    if value is None or (isinstance(value, float) and value != value):
        return (99, "")
    text = unicodedata.normalize("NFKC", str(value)).strip()
    for prefix, offset in _PREFIX:
        if text.startswith(prefix):
            n = _number(text[len(prefix):])
            if n is not None:
                return (offset + n, text)
    n = _number(text)
    return (n, text) if n is not None else (98, text)


def natural_key(value: object) -> tuple[int, str]:
    """Sort key of a class or school name by its first number (``2班`` before ``10班``)."""
    if value is None or (isinstance(value, float) and value != value):
        return (10**9, "")
    text = unicodedata.normalize("NFKC", str(value)).strip()
    m = re.search(r"\d+", text)
    if m:
        return (int(m.group()), text)
    n = _number(text)
    return (n if n is not None else 10**8, text)


def sort_frame(frame: pd.DataFrame, columns: Sequence[str],
               first: Iterable[tuple[str, bool]] = ()) -> pd.DataFrame:
    """Sort rows by ``first`` (column, ascending) pairs, then school, grade and class order.

    Parameters
    ----------
    frame : DataFrame
    columns : sequence of str
        Grouping columns among ``school`` (text order), ``grade`` (:func:`grade_rank`),
        ``class`` (:func:`natural_key`), or any other column (text order).
    first : iterable of (column, ascending)
        Keys that come before the grouping columns (e.g. the tier, descending).
    """
    keys: list[str] = []
    asc: list[bool] = []
    tmp = frame.copy()
    for k, (col, ascending) in enumerate(first):
        tmp[f"_k{k}"] = tmp[col]
        keys.append(f"_k{k}")
        asc.append(ascending)
    for col in columns:
        if col not in tmp.columns:
            continue
        name = f"_s_{col}"
        if col == "grade":
            tmp[name] = tmp[col].map(lambda v: grade_rank(v)[0] * 1000).astype(int)
            tmp[name + "_t"] = tmp[col].map(lambda v: grade_rank(v)[1])
            keys += [name, name + "_t"]
            asc += [True, True]
        elif col == "class":
            tmp[name] = tmp[col].map(lambda v: natural_key(v)[0])
            tmp[name + "_t"] = tmp[col].map(lambda v: natural_key(v)[1])
            keys += [name, name + "_t"]
            asc += [True, True]
        else:
            tmp[name] = tmp[col].astype(object).where(tmp[col].notna(), "\uffff").astype(str)
            keys.append(name)
            asc.append(True)
    if not keys:
        return frame.reset_index(drop=True)
    order = tmp.sort_values(keys, ascending=asc, kind="stable").index
    return frame.loc[order].reset_index(drop=True)


def scale_label(instrument: object, scale_id: str, lang: str = "zh") -> str:
    """``"MHT 学习焦虑"``: the instrument's short name and the scale's name in ``lang``.

    Falls back to the scale id when the instrument declares no name for it.
    """
    short = getattr(instrument, "short_name", None) or getattr(instrument, "id", "")
    for scale in getattr(instrument, "scales", ()):
        if scale.id == scale_id:
            name = scale.name.get(lang) if getattr(scale, "name", None) else scale_id
            return f"{short} {name}"
    return f"{short} {scale_id}"
