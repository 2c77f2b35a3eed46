"""Group report: counts and rates per tier and per screen-positive scale, with suppression.

For each group (e.g. school x grade x class) and each wave: the number of pupils, counts and
rates (with 95% Wilson confidence intervals; with survey weights, weighted rates and the Kish
effective sample size) per warning tier and per screen-positive cut-off, plus a total row.

Small cells are suppressed in two steps (:func:`suppress`):

1. *primary*: a count from 1 to ``min_cell - 1`` is hidden, and a whole group row whose size
   is below ``min_cell`` is hidden (its zeros would reveal the rest);
2. *secondary*: whenever a row's tier counts (which add up to the shown group size) or a
   column (which adds up to the shown total) has exactly one hidden cell, a further cell is
   hidden (the smallest), repeated until no hidden cell can be recomputed by subtraction.

Rates and intervals are hidden wherever their count or group size is.

Answer sheets that carry none of the grouping values (a pupil whose id is not on the roster
and whose sheet names no school) form their own row, :data:`UNMATCHED`, counted in the
total. That row describes no school, grade or class, so it is shown in full and never takes
part in suppression: it can neither be hidden nor force a real group to be hidden (a
mistyped 学号 once hid a whole school that way). The psychologist resolves those sheets with
the reconciliation file of ``xinli-screen wave run``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen.policy.models import TIER_ORDER

__all__ = ["HIDDEN", "UNMATCHED", "GroupReport", "build_group_report", "group_counts",
           "render_group_html", "screen_positive_columns", "suppress", "wilson_interval",
           "write_group_report"]

#: What a suppressed cell shows.
HIDDEN = "*"
#: Label of the row of sheets that carry none of the grouping values.
UNMATCHED = "（未匹配名册）unmatched"
_NOT_CUTOFF = {"n_answered", "prorated", "band", "t", "percentile", "z", "stanine", "sten",
               "norm_status"}
_TEMPLATES = Path(__file__).with_name("templates")


def wilson_interval(count: np.ndarray, n: np.ndarray, z: float = 1.959964) -> tuple[
        np.ndarray, np.ndarray]:
    """Wilson score interval for proportions ``count / n`` (vectorised).

    Parameters
    ----------
    count, n : ndarray of float, shape (k,)
        Successes and (effective) sample sizes; n = 0 gives NaN.

    Returns
    -------
    (low, high) : ndarrays of float, shape (k,), in [0, 1]
    """
    count = np.asarray(count, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = count / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def screen_positive_columns(table: pd.DataFrame) -> list[str]:
    """Boolean cut-off columns ``{instrument}.{scale}.{cutoff}`` of a results table."""
    out = []
    for col in table.columns:
        parts = str(col).split(".")
        if len(parts) != 3 or parts[0] in ("careless", "attr") or parts[2] in _NOT_CUTOFF:
            continue
        values = table[col].dropna()
        if len(values) and values.map(lambda v: isinstance(v, (bool, np.bool_))).all():
            out.append(str(col))
    return out


def group_counts(table: pd.DataFrame, by: Sequence[str], *, weight: str | None = None,
                 tier_column: str = "warning_tier") -> pd.DataFrame:
    """Counts and rates per group.

    Parameters
    ----------
    table : DataFrame, shape (n, ...)
        One row per pupil: the grouping columns, ``tier_column`` and the boolean cut-off
        columns (:func:`screen_positive_columns`).
    by : sequence of str
        Grouping columns (e.g. ``["school", "grade", "class"]``).
    weight : str, optional
        Survey-weight column (positive numbers); rates become weighted, intervals use the Kish
        effective sample size. Counts stay unweighted.
    tier_column : str

    Returns
    -------
    DataFrame, shape (n groups + 1, ...)
        The ``by`` columns (the total row has ``"合计 total"`` in the first), ``n``, for each
        tier and cut-off ``count:{name}``, ``rate:{name}`` (percent), ``low:{name}``,
        ``high:{name}`` (95% CI, percent).

    Raises
    ------
    KeyError
        A grouping or weight column is absent.
    """
    missing = [c for c in [*by, *([weight] if weight else [])] if c not in table.columns]
    if missing:
        raise KeyError(f"group report: no column(s) {missing} in the table")
    frame = table.copy()
    nothing = np.ones(len(frame), dtype=bool)
    for c in by:
        nothing &= frame[c].isna().to_numpy()
    for c in by:
        frame[c] = frame[c].astype(object).where(frame[c].notna(), "(missing)").astype(str)
        frame.loc[nothing, c] = UNMATCHED if c == by[0] else ""
    tiers = frame[tier_column].astype(object)
    indicators = {t: (tiers == t).to_numpy(dtype=float) for t in TIER_ORDER}
    for col in screen_positive_columns(frame):
        indicators[col] = frame[col].astype(object).fillna(False).astype(bool).to_numpy(float)
    w = (frame[weight].astype(float).to_numpy() if weight else np.ones(len(frame)))
    ind = pd.DataFrame(indicators, index=frame.index)
    keys = [frame[c] for c in by]
    parts = []
    for label, sub in [*ind.groupby(keys, sort=True), (None, ind)]:
        ww = w[sub.index.to_numpy()] if label is not None else w
        row: dict[str, Any] = {}
        if label is None:
            row = {c: "" for c in by}
            row[by[0]] = "合计 total"
        else:
            label = label if isinstance(label, tuple) else (label,)
            row = dict(zip(by, label, strict=True))
        n = len(sub)
        row["n"] = n
        sw, sw2 = ww.sum(), (ww**2).sum()
        n_eff = sw**2 / sw2 if sw2 > 0 else 0.0
        for name in ind.columns:
            x = sub[name].to_numpy()
            row[f"count:{name}"] = int(x.sum())
            p = float((ww * x).sum() / sw) if sw > 0 else math.nan
            lo, hi = wilson_interval(np.array([p * n_eff]), np.array([n_eff]))
            row[f"rate:{name}"] = 100 * p
            row[f"low:{name}"] = 100 * float(lo[0])
            row[f"high:{name}"] = 100 * float(hi[0])
        parts.append(row)
    return pd.DataFrame(parts)


def suppress(counts: pd.DataFrame, *, min_cell: int = 5) -> pd.DataFrame:
    """Primary and secondary small-cell suppression of a :func:`group_counts` table.

    Parameters
    ----------
    counts : DataFrame
        Output of :func:`group_counts` (last row = total).
    min_cell : int
        Counts from 1 to ``min_cell - 1``, and groups smaller than ``min_cell``, are hidden.

    Returns
    -------
    DataFrame of bool, same shape as the count cells: columns ``n`` and every ``count:*``;
        True = hidden. Same index as ``counts``.
    """
    count_cols = ["n", *[c for c in counts.columns if c.startswith("count:")]]
    tier_cols = [f"count:{t}" for t in TIER_ORDER if f"count:{t}" in counts.columns]
    values = counts[count_cols].to_numpy(dtype=float)
    body = slice(0, len(counts) - 1)  # the group rows; the last row is the total
    hidden = np.zeros(values.shape, dtype=bool)
    hidden[body] = (values[body] > 0) & (values[body] < min_cell)
    small = np.flatnonzero(values[body, 0] < min_cell)
    hidden[small, :] = True
    # the row of unmatched sheets is no group: shown in full, outside the suppression (its
    # counts are published, so the other rows are protected as if the total excluded them)
    exempt = counts[counts.columns[0]].astype(str).to_numpy()[body] == UNMATCHED
    if exempt.any():
        rest = counts.iloc[np.flatnonzero(np.append(~exempt, True))]
        out = pd.DataFrame(False, columns=count_cols, index=counts.index)
        out.loc[rest.index] = suppress(rest, min_cell=min_cell).to_numpy()
        return out
    tier_idx = [count_cols.index(c) for c in tier_cols]
    n_rows = len(counts) - 1
    total_row = len(counts) - 1
    for _ in range(10 * (values.size + 1)):
        changed = False
        # rows: tier counts add up to n
        for r in range(n_rows):
            if hidden[r, 0]:
                continue
            h = [j for j in tier_idx if hidden[r, j]]
            if len(h) == 1:
                free = [j for j in tier_idx if not hidden[r, j]]
                j = min(free, key=lambda j: values[r, j])
                hidden[r, j] = True
                changed = True
        # the n column and the row (tier counts add up to n): n hidden alone in a row whose
        # tier counts are all shown is recomputable
        for r in range(n_rows):
            if hidden[r, 0] and tier_idx and not hidden[r, tier_idx].all():
                hidden[r, tier_idx] = True
                changed = True
        # columns: groups add up to the total
        for j in range(len(count_cols)):
            if hidden[total_row, j]:
                continue
            h = [r for r in range(n_rows) if hidden[r, j]]
            if len(h) == 1:
                free = [r for r in range(n_rows) if not hidden[r, j]]
                if free:
                    r = min(free, key=lambda r: (values[r, j], r))
                    hidden[r, j] = True
                else:
                    hidden[total_row, j] = True
                changed = True
        if not changed:
            break
    return pd.DataFrame(hidden, columns=count_cols, index=counts.index)


def _masked(counts: pd.DataFrame, hidden: pd.DataFrame) -> pd.DataFrame:
    """The published table: hidden counts, rates and intervals replaced by :data:`HIDDEN`."""
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
    for col in out.columns:
        if col.split(":", 1)[0] in ("rate", "low", "high"):
            out[col] = [v if v == HIDDEN or v is None or (isinstance(v, float) and math.isnan(v))
                        else round(float(v), 1) for v in out[col]]
    return out


@dataclass(frozen=True)
class GroupReport:
    """A group report of one or more waves.

    Attributes
    ----------
    by : list of str
    waves : dict wave name -> DataFrame
        Published tables (hidden cells show :data:`HIDDEN`).
    hidden : dict wave name -> DataFrame of bool
        Which count cells were hidden.
    comparison : DataFrame
        Totals per wave (n, tier counts and rates with CIs), for comparing waves.
    min_cell : int
    weight : str or None
    labels : dict tier -> label
    """

    by: list[str]
    waves: dict[str, pd.DataFrame]
    hidden: dict[str, pd.DataFrame]
    comparison: pd.DataFrame
    min_cell: int = 5
    weight: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


def build_group_report(tables: Mapping[str, pd.DataFrame], by: Sequence[str], *,
                       weight: str | None = None, min_cell: int = 5,
                       labels: Mapping[str, str] | None = None) -> GroupReport:
    """Counts, rates, CIs and suppression for each wave's table.

    Parameters
    ----------
    tables : mapping wave name -> DataFrame
        One row per pupil with the ``by`` columns, ``warning_tier`` and cut-off columns.
    by : sequence of str
    weight : str, optional
    min_cell : int, default 5
    labels : mapping tier -> display label, optional

    Returns
    -------
    GroupReport

    Raises
    ------
    KeyError
        A grouping or weight column is absent.
    """
    waves, hidden, comp = {}, {}, []
    for name, table in tables.items():
        counts = group_counts(table, by, weight=weight)
        mask = suppress(counts, min_cell=min_cell)
        waves[name] = _masked(counts, mask)
        hidden[name] = mask
        total = waves[name].iloc[-1]
        comp.append({"wave": name, "n": total["n"],
                     **{k: total[k] for k in waves[name].columns
                        if k.split(":", 1)[0] in ("count", "rate", "low", "high")}})
    return GroupReport(list(by), waves, hidden, pd.DataFrame(comp), min_cell, weight,
                       dict(labels or {}))


def _chart(report: GroupReport, wave: str) -> str | None:
    from xinli_screen.report._charts import bar_chart

    table = report.waves[wave].iloc[:-1]
    if not len(table):
        return None
    groups = [" / ".join(str(v) for v in row) for row in table[report.by].to_numpy()]
    series = {}
    for tier in TIER_ORDER[1:]:
        col = f"rate:{tier}"
        series[tier] = [None if v == HIDDEN else v for v in table[col]]
    return bar_chart(groups, series)


def render_group_html(report: GroupReport) -> str:
    """One self-contained HTML page with a table and a chart per wave."""
    from xinli_screen.report._html import environment

    env = environment()
    charts = {w: _chart(report, w) for w in report.waves}
    return env.get_template("group.html.j2").render(r=report, charts=charts, hidden=HIDDEN)


def write_group_report(report: GroupReport, path: str | Path) -> Path:
    """Write ``.html``, ``.xlsx`` (one sheet per wave, ``comparison``, ``notes``) or ``.json``.

    Raises
    ------
    ValueError
        Another extension.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        path.write_text(render_group_html(report), encoding="utf-8")
    elif suffix == ".xlsx":
        notes = pd.DataFrame({"note": [
            f"Counts from 1 to {report.min_cell - 1} and groups under {report.min_cell} pupils "
            f"are hidden ({HIDDEN}); further cells are hidden so that none can be recomputed "
            "from totals.",
            "rate = percent; low/high = 95% Wilson interval"
            + (f" (weighted by {report.weight}, Kish effective n)" if report.weight else ""),
            "Screening results are not a diagnosis. 筛查结果不是诊断。"]})
        with pd.ExcelWriter(path, engine="openpyxl") as xw:
            for k, (name, table) in enumerate(report.waves.items()):
                sheet = f"{k + 1} {name}"[:31].replace("/", "-")
                table.to_excel(xw, sheet_name=sheet, index=False)
            report.comparison.to_excel(xw, sheet_name="comparison", index=False)
            notes.to_excel(xw, sheet_name="notes", index=False)
    elif suffix == ".json":
        import json

        doc = {"by": report.by, "min_cell": report.min_cell, "weight": report.weight,
               "waves": {k: v.to_dict(orient="records") for k, v in report.waves.items()},
               "comparison": report.comparison.to_dict(orient="records")}
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1, default=str),
                        encoding="utf-8")
    else:
        raise ValueError(f"unsupported report type {suffix!r}; use .html, .xlsx or .json")
    return path
