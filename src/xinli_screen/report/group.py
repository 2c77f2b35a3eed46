"""Group report: tier and screen-positive counts and rates per school, grade and class, with
subtotals, small-cell suppression, wave-to-wave comparison, and Chinese labels.

For each wave: one row per group (e.g. school x grade x class), a subtotal per school's grade
and per school, one row per grade across the district, and the district total (see
:mod:`xinli_screen.report.group_counts`, whose docstring documents the suppression method:
no hidden cell can be recomputed from any row, column or subtotal). Per row the number of
pupils and, per warning tier and per screen-positive cut-off, the count, the rate and its 95%
Wilson interval (weighted rates with survey weights). With several waves, a comparison per
school (rates and their change in percentage points).

Output: HTML (Chinese first, fits an A4 page; :mod:`~xinli_screen.report.group_render`),
XLSX for the education bureau (:mod:`~xinli_screen.report.group_xlsx`) and JSON with stable
English keys for machines (``n``, ``count:{tier}``, ``rate:{tier}``, ``low:``/``high:``,
``count:{instrument}.{scale}.{cutoff}``, ``level``...). Tier names come from the policy,
scale names from the instrument YAML. Screening results are not a diagnosis.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xinli_screen.policy.models import TIER_ORDER
from xinli_screen.report.group_counts import (
    HIDDEN,
    MISSING,
    UNMATCHED,
    group_counts,
    screen_positive_columns,
    suppress,
    wilson_interval,
)
from xinli_screen.report.group_model import DEFAULT_TIER_LABELS, LANGS, GroupReport
from xinli_screen.report.group_protect import (
    SuppressionError,
    check_min_cell,
    protected_counts,
)

__all__ = ["DEFAULT_TIER_LABELS", "HIDDEN", "LANGS", "MISSING", "UNMATCHED", "GroupReport",
           "SuppressionError", "build_group_report", "group_counts", "indicator_labels",
           "render_group_html", "screen_positive_columns", "suppress", "wilson_interval",
           "write_group_report"]

_OPS = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}


def indicator_labels(names: Sequence[str]) -> dict[str, dict[str, str]]:
    """Chinese and English names of cut-off columns, from the instrument YAML.

    Parameters
    ----------
    names : sequence of str
        Cut-off columns ``{instrument}.{scale}.{cutoff}``.

    Returns
    -------
    dict name -> {"zh", "en", "def_zh", "def_en"}
        ``zh``/``en``: a short header (``"MHT 学习焦虑"``; with the threshold, ``"SCARED
        焦虑总分（≥23）"``, when the scale has several cut-offs); ``def_*``: the cut-off's label
        in the YAML. An instrument that cannot be loaded leaves the column id.
    """
    from xinli_screen.instrument.registry import load_instrument

    cache: dict[str, Any] = {}
    per_scale: dict[tuple[str, str], int] = {}
    for name in names:
        inst, scale, _ = name.split(".")
        per_scale[(inst, scale)] = per_scale.get((inst, scale), 0) + 1
    out: dict[str, dict[str, str]] = {}
    for name in names:
        inst_id, scale_id, cut_id = name.split(".")
        if inst_id not in cache:
            try:
                cache[inst_id] = load_instrument(inst_id)
            except (FileNotFoundError, ValueError, KeyError, OSError):
                cache[inst_id] = None
        inst = cache[inst_id]
        scale = next((s for s in getattr(inst, "scales", ()) if s.id == scale_id), None)
        cut = next((c for c in getattr(scale, "cutoffs", ()) or () if c.id == cut_id), None)
        if inst is None or scale is None or cut is None:
            out[name] = {"zh": name, "en": name, "def_zh": name, "def_en": name}
            continue
        short = str(getattr(inst, "short_name", None) or inst_id).split(" (")[0]
        entry = {}
        for lang in LANGS:
            text = f"{short} {scale.name.get(lang) or scale_id}"
            if per_scale[(inst_id, scale_id)] > 1:
                value = f"{cut.value:g}"
                text += (f"（{_OPS.get(cut.op, cut.op)}{value}）" if lang == "zh"
                         else f" ({cut.op} {value})")
            entry[lang] = text
            entry[f"def_{lang}"] = cut.label.get(lang) or cut.label.get("zh") or name
        out[name] = entry
    return out


def _masked(counts: pd.DataFrame, hidden: pd.DataFrame) -> pd.DataFrame:
    """The published table: hidden counts, rates and intervals replaced by :data:`HIDDEN`;
    a row whose ``n`` is hidden is hidden whole (denominators too)."""
    out = counts.astype(object).copy()
    n_hidden = hidden["n"].to_numpy()
    out.loc[n_hidden, "n"] = HIDDEN
    for col in hidden.columns:
        if col == "n":
            continue
        name = col.split(":", 1)[1]
        mask = hidden[col].to_numpy() | n_hidden
        for pre in ("count", "rate", "low", "high"):
            out.loc[mask, f"{pre}:{name}"] = HIDDEN
        if f"n:{name}" in out.columns:
            out.loc[n_hidden, f"n:{name}"] = HIDDEN
    for col in out.columns:
        if col.split(":", 1)[0] in ("rate", "low", "high"):
            out[col] = [v if v == HIDDEN else (None if v is None or (
                isinstance(v, float) and math.isnan(v)) else round(float(v), 1))
                for v in out[col]]
    return out


def _comparison(by: list[str], waves: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per first-level group and wave: n, tier counts and rates, change since the last wave."""
    top = 1 if len(by) > 1 else len(by)
    records: list[dict[str, Any]] = []
    previous: dict[str, dict[str, Any]] = {}
    for wave, table in waves.items():
        keep = table[((table["depth"] == top) & table["level"].isin(["group", "subtotal"]))
                     | table["level"].isin(["unmatched", "total"])]
        current: dict[str, dict[str, Any]] = {}
        for row in keep.to_dict(orient="records"):
            rec: dict[str, Any] = {by[0]: row[by[0]], "level": row["level"], "wave": wave,
                                   "n": row["n"]}
            before = previous.get(row[by[0]])
            for t in TIER_ORDER:
                rec[f"count:{t}"] = row[f"count:{t}"]
                rec[f"rate:{t}"] = row[f"rate:{t}"]
                now, old = row[f"rate:{t}"], None if before is None else before[f"rate:{t}"]
                if before is None or now is None or old is None:
                    rec[f"change:{t}"] = None
                elif HIDDEN in (now, old):
                    rec[f"change:{t}"] = HIDDEN
                else:
                    rec[f"change:{t}"] = round(float(now) - float(old), 1)
            current[row[by[0]]] = rec
            records.append(rec)
        previous = current
    return pd.DataFrame(records)


def build_group_report(tables: Mapping[str, pd.DataFrame], by: Sequence[str], *,
                       weight: str | None = None, min_cell: int = 5,
                       labels: Mapping[str, str] | None = None,
                       labels_en: Mapping[str, str] | None = None,
                       subtotals: bool = True,
                       allow_unsafe_min_cell: bool = False) -> GroupReport:
    """Counts, rates, CIs, subtotals and suppression for each wave's table.

    Each wave is suppressed once on its school x grade x class cube and ``by`` is published
    as a view of it (:mod:`~xinli_screen.report.group_protect`), so that no combination of
    group reports of the same waves recomputes a hidden cell.

    Parameters
    ----------
    tables : mapping wave name -> DataFrame
        One row per pupil with the ``by`` columns, ``warning_tier`` and cut-off columns.
    by : sequence of str
        Grouping columns, coarsest first (``["school", "grade", "class"]``), or one column
        outside school/grade/class (``["sex"]``).
    weight : str, optional
        Survey-weight column.
    min_cell : int, default 5
        Smallest count shown (counts 1 to ``min_cell - 1`` are hidden); at least 3 unless
        ``allow_unsafe_min_cell``.
    labels, labels_en : mapping tier -> display label, optional
        The policy's tier labels (Chinese, English); default: :data:`DEFAULT_TIER_LABELS`.
    subtotals : bool, default True
        Subtotal rows per school and grade, and per grade across the district.
    allow_unsafe_min_cell : bool, default False
        Allow ``min_cell`` 1 or 2; the report then says so on every page.

    Returns
    -------
    GroupReport

    Raises
    ------
    KeyError
        A grouping or weight column is absent.
    SuppressionError
        ``min_cell`` below 1, or below 3 without ``allow_unsafe_min_cell``; a grouping that
        cannot be protected together with the other reports (``--by school,sex``, or classes
        pooled across grades by ``--by school,class``).

    Examples
    --------
    >>> rep = build_group_report({"2026-autumn": table}, ["school", "grade", "class"])
    ... # doctest: +SKIP
    >>> write_group_report(rep, "district.xlsx")                          # doctest: +SKIP
    """
    unsafe = check_min_cell(min_cell, allow_unsafe_min_cell)
    waves, hidden = {}, {}
    names: list[str] = []
    for name, table in tables.items():
        counts, mask = protected_counts(table, by, weight=weight, min_cell=min_cell,
                                        subtotals=subtotals)
        waves[name] = _masked(counts, mask)
        hidden[name] = mask
        names += [c[6:] for c in counts.columns if c.startswith("count:")
                  and c[6:] not in TIER_ORDER and c[6:] not in names]
    return GroupReport(list(by), waves, hidden, _comparison(list(by), waves), min_cell, weight,
                       dict(labels or {}), dict(labels_en or {}), indicator_labels(names),
                       unsafe)


def render_group_html(report: GroupReport, lang: str = "zh") -> str:
    """One self-contained HTML page (tables, SVG charts, notes) that prints on A4.

    Parameters
    ----------
    report : GroupReport
    lang : {"zh", "en"}
        ``zh``: Chinese, with English under the headers; ``en``: English.

    Returns
    -------
    str
    """
    from xinli_screen.report.group_render import render_html

    return render_html(report, lang)


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def write_group_report(report: GroupReport, path: str | Path, lang: str = "zh") -> Path:
    """Write ``.html``, ``.xlsx`` or ``.json``.

    Parameters
    ----------
    report : GroupReport
    path : str or Path
        The extension chooses the format.
    lang : {"zh", "en"}
        Language of the HTML and XLSX (JSON keys are always the English ids).

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        Another extension, or an unknown language.
    """
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        path.write_text(render_group_html(report, lang), encoding="utf-8")
    elif suffix == ".xlsx":
        from xinli_screen.report.group_xlsx import write_xlsx

        write_xlsx(report, path, lang)
    elif suffix == ".json":
        doc = {"by": report.by, "min_cell": report.min_cell,
               "unsafe_min_cell": report.unsafe_min_cell, "weight": report.weight,
               "hidden": HIDDEN,
               "tiers": {t: {"zh": report.tier_label(t, "zh"), "en": report.tier_label(t, "en")}
                         for t in TIER_ORDER},
               "indicators": report.indicators,
               "waves": {k: [{c: _json_value(v) for c, v in r.items()}
                             for r in t.to_dict(orient="records")]
                         for k, t in report.waves.items()},
               "comparison": [{c: _json_value(v) for c, v in r.items()}
                              for r in report.comparison.to_dict(orient="records")]}
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1, default=str),
                        encoding="utf-8")
    else:
        raise ValueError(f"unsupported report type {suffix!r}; use .html, .xlsx or .json")
    return path
