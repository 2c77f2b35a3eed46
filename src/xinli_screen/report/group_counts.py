"""Group counts with subtotals, and small-cell suppression that subtotals cannot undo.

Counts (:func:`group_counts`)
-----------------------------
For grouping columns ``by`` (e.g. ``["school", "grade", "class"]``) the table has one row per
group (``level == "group"``), a subtotal row for every prefix of ``by`` (``"subtotal"``: each
school's grade, each school), one row per grade across all schools when ``grade`` is in
``by`` below the first level (``"grade_total"``), the row of sheets that carry none of the
grouping values (``"unmatched"``) and the district total (``"total"``, last). Rows are in
school order: schools by name, grades as a school counts them (一年级 ... 六年级, 初一/七年级
... 高三; :func:`xinli_screen.wave.labels.grade_rank`), classes by number, each subtotal after
its rows. Per row: ``n`` and, for every warning tier and every screen-positive cut-off,
``count:``, ``rate:`` (percent), ``low:`` / ``high:`` (95% Wilson interval, percent); for a
cut-off also ``n:`` (pupils with a value for it: the rate's denominator, so that a scale a
school's form did not include reads as "not given", not as 0%). With survey weights the rates
are weighted and the intervals use the Kish effective sample size; counts stay unweighted.

Suppression (:func:`suppress`)
------------------------------
The published table is a system of additive relations: in every row the tier counts add up
to ``n``; in every count column each subtotal is the sum of the rows below it (a school's
classes add up to each grade subtotal, the grades to the school subtotal, the schools and the
unmatched row to the district total, and each school's grade to the district's grade row).
A subtotal is itself a group, so a hidden cell could be recomputed by subtracting shown cells
from a shown subtotal. The method:

1. *primary*: every row but the district total is a group: a count from 1 to ``min_cell - 1``
   is hidden, and a row of fewer than ``min_cell`` pupils is hidden whole;
2. *secondary* (line rule): each relation (a row's tiers and ``n``; a subtotal and the rows it
   adds up, i.e. each school's classes + grade subtotal, each school's grade subtotals + school
   subtotal, the school subtotals + district total, each district grade row and its schools)
   is a small table; while a relation holds exactly one hidden cell a further cell of it is
   hidden: the smallest shown row cell (a tier, never ``n``; a lower row before its subtotal,
   a non-zero count when the hidden ones are all zero). A row whose ``n`` is hidden is hidden
   whole. Repeated until no relation holds a single hidden cell;
3. *audit*: a reader who knows every shown cell, the relations and that counts are never
   negative (and that a cut-off count is at most its row's shown ``n:``) may still pin a
   hidden cell by combining relations. :func:`recomputable` finds every such cell exactly:
   one linear programme finds the hidden cells that the bounds force to their bound, then the
   null space of the relations (with those cells fixed) shows which hidden cells are
   determined. For each one holding a count of one or more, a further cell in one of its
   relations is hidden and steps 2-3 repeat until the audit finds nothing. (A hidden 0 that
   the shown cells force to 0, e.g. the classes of a school whose shown 区级 subtotal is 0,
   says only what the shown zero says: it is left alone rather than hiding the total.)
4. 无预警 (``count:none``) is "the rest" of its row: during steps 2-3 it is an unknown (so a
   hidden 区级 count is protected within its row by it, not by hiding 校级), protected like
   any cell only when it is small itself or was hidden to protect another; at the end it is
   shown wherever it follows from what is shown, which reveals nothing new.

The tier columns with ``n`` form one system (the row relation links them); each cut-off
column is its own system. Rates and intervals are hidden wherever their count or ``n`` is.

Answer sheets that carry none of the grouping values (a pupil whose id is not on the roster
and whose sheet names no school) form their own row, :data:`UNMATCHED`, counted in the
total. That row describes no school, grade or class, so it is shown in full and never takes
part in suppression: it is never hidden and never chosen to protect another cell (a mistyped
学号 once hid a whole school that way); its published counts are simply known values in the
relations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from xinli_screen.policy.models import TIER_ORDER
from xinli_screen.report.group_relations import (
    Relations,
    _audit_block,
    _blocks,
    _equations,
    recomputable,
    relations,
)
from xinli_screen.wave.labels import grade_rank, natural_key

__all__ = ["HIDDEN", "LEVELS", "MISSING", "UNMATCHED", "Relations", "cutoff_candidate",
           "group_counts", "recomputable", "relations", "screen_positive_columns", "suppress",
           "wilson_interval"]

#: What a suppressed cell shows.
HIDDEN = "*"
#: Label of the row of sheets that carry none of the grouping values.
UNMATCHED = "（未匹配名册）unmatched"
#: Label of a missing grouping value (a sheet with a school but no class, ...).
MISSING = "（未填）"
#: Row kinds of a :func:`group_counts` table, in the order they appear.
LEVELS = ("group", "subtotal", "unmatched", "grade_total", "total")
_NOT_CUTOFF = {"n_answered", "prorated", "band", "t", "percentile", "z", "stanine", "sten",
               "norm_status"}


def wilson_interval(count: np.ndarray, n: np.ndarray, z: float = 1.959964) -> tuple[
        np.ndarray, np.ndarray]:
    """Wilson score interval for proportions ``count / n`` (vectorised).

    Parameters
    ----------
    count, n : ndarray of float, shape (k,)
        Successes and (effective) sample sizes; n = 0 gives NaN.
    z : float
        Normal quantile (1.96 for 95%).

    Returns
    -------
    (low, high) : ndarrays of float, shape (k,), in [0, 1]

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. *JASA* 22(158), 209-212. Brown, Cai & DasGupta (2001), *Statistical Science*
    16(2), 101-133, recommend it for small n.
    """
    count = np.asarray(count, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = count / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def cutoff_candidate(column: str) -> bool:
    """Whether a column's name has the shape of a cut-off, ``{instrument}.{scale}.{cutoff}``
    (not a band, norm or careless-responding column, nor a roster attribute).

    Parameters
    ----------
    column : str

    Returns
    -------
    bool
        True for a name that :func:`screen_positive_columns` keeps when its values are
        booleans.
    """
    parts = column.split(".")
    return len(parts) == 3 and parts[0] not in ("careless", "attr") and parts[2] not in _NOT_CUTOFF


def screen_positive_columns(table: pd.DataFrame) -> list[str]:
    """Boolean cut-off columns ``{instrument}.{scale}.{cutoff}`` of a results table.

    Parameters
    ----------
    table : DataFrame
        A results table (:attr:`ScreeningResult.table` or an archive wave table).

    Returns
    -------
    list of str
        Column names whose non-missing values are all booleans, in table order.
    """
    out = []
    for col in table.columns:
        if not cutoff_candidate(str(col)):
            continue
        values = table[col].dropna()
        if len(values) and values.map(lambda v: isinstance(v, (bool, np.bool_))).all():
            out.append(str(col))
    return out


def _sums(x: pd.DataFrame, valid: pd.DataFrame, w: np.ndarray | None,
          keys: pd.DataFrame | None) -> pd.DataFrame:
    """Per group of ``keys`` (or all rows): n, and per indicator the count, the number with
    a value and the weighted sums the rates need (``w`` None: every weight 1, whose sums are
    the count and the number with a value, so they are copied rather than summed again)."""
    parts = {"n": np.ones(len(x))}
    for name in x.columns:
        parts[f"count:{name}"] = x[name].to_numpy(float)
        parts[f"n:{name}"] = valid[name].to_numpy(float)
        if w is not None:
            v = parts[f"n:{name}"]
            parts[f"wx:{name}"] = w * parts[f"count:{name}"]
            parts[f"wv:{name}"] = w * v
            parts[f"wv2:{name}"] = w * w * v
    frame = pd.DataFrame(parts, index=x.index)
    if keys is None:
        out = frame.sum().to_frame().T
    else:
        out = frame.groupby([keys[c] for c in keys.columns], sort=False).sum().reset_index()
    if w is None:
        for name in x.columns:
            out[f"wx:{name}"] = out[f"count:{name}"]
            out[f"wv:{name}"] = out[f"wv2:{name}"] = out[f"n:{name}"]
    return out


def _rates(sums: pd.DataFrame, names: Sequence[str]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name in names:
        wx, wv, wv2 = (sums[f"{k}:{name}"].to_numpy(float) for k in ("wx", "wv", "wv2"))
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.where(wv > 0, wx / np.where(wv > 0, wv, 1), np.nan)
            n_eff = np.where(wv2 > 0, wv**2 / np.where(wv2 > 0, wv2, 1), 0.0)
        lo, hi = wilson_interval(p * n_eff, n_eff)
        out[f"rate:{name}"] = 100 * p
        out[f"low:{name}"] = 100 * lo
        out[f"high:{name}"] = 100 * hi
    return out


def _rank(column: str, value: str) -> tuple[int, str]:
    if column == "grade":
        return grade_rank(value)
    if column == "class":
        return natural_key(value)
    return (0, value)


def group_counts(table: pd.DataFrame, by: Sequence[str], *, weight: str | None = None,
                 tier_column: str = "warning_tier", subtotals: bool = True) -> pd.DataFrame:
    """Counts and rates per group, with subtotals and the district total.

    Parameters
    ----------
    table : DataFrame, shape (n, ...)
        One row per pupil: the grouping columns, ``tier_column`` and the boolean cut-off
        columns (:func:`screen_positive_columns`).
    by : sequence of str
        Grouping columns, coarsest first (e.g. ``["school", "grade", "class"]``).
    weight : str, optional
        Survey-weight column (positive numbers); rates become weighted, intervals use the Kish
        effective sample size. Counts stay unweighted.
    tier_column : str
        Column of warning tier ids (:data:`~xinli_screen.policy.models.TIER_ORDER`).
    subtotals : bool, default True
        Add the subtotal rows (per prefix of ``by``) and the rows per grade across groups.

    Returns
    -------
    DataFrame, shape (rows, ...)
        The ``by`` columns (text; ``""`` below a subtotal's level; the total row has
        ``"合计 total"`` in the first), ``level`` (:data:`LEVELS`), ``depth`` (number of
        ``by`` columns the row fixes; 0 for the total), ``n``, and for each tier and cut-off
        ``count:{name}``, ``rate:{name}`` (percent), ``low:{name}``, ``high:{name}`` (95% CI,
        percent); for cut-offs also ``n:{name}``. The total row is last.

    Raises
    ------
    KeyError
        A grouping or weight column is absent.

    References
    ----------
    Kish, L. (1965). *Survey Sampling*, section 8.2 (effective sample size of a weighted
    mean). Wiley. Intervals: :func:`wilson_interval`.
    """
    by = list(by)
    missing = [c for c in [*by, *([weight] if weight else [])] if c not in table.columns]
    if missing:
        raise KeyError(f"group report: no column(s) {missing} in the table")
    keys = pd.DataFrame(index=table.index)
    nothing = np.ones(len(table), dtype=bool)
    for c in by:
        nothing &= table[c].isna().to_numpy()
        keys[c] = table[c].astype(object).where(table[c].notna(), MISSING).astype(str)
    tiers = table[tier_column].astype(object)
    x = pd.DataFrame({t: (tiers == t).to_numpy(dtype=float) for t in TIER_ORDER},
                     index=table.index)
    valid = pd.DataFrame(1.0, index=table.index, columns=list(TIER_ORDER))
    for col in screen_positive_columns(table):
        present = table[col].notna().to_numpy()
        x[col] = np.where(present, table[col].astype(object).where(present, False)
                          .astype(bool).to_numpy(float), 0.0)
        valid[col] = present.astype(float)
    cutoffs = [c for c in x.columns if c not in TIER_ORDER]
    w = table[weight].astype(float).to_numpy() if weight else None
    matched = ~nothing
    xm, vm, km = x[matched], valid[matched], keys[matched]
    wm = None if w is None else w[matched]
    blocks = []
    depths = range(1, len(by) + 1) if subtotals else [len(by)]
    for d in depths:
        if not matched.any():
            break
        s = _sums(xm, vm, wm, km[by[:d]])
        for c in by[d:]:
            s[c] = ""
        s["level"] = "group" if d == len(by) else "subtotal"
        s["depth"] = d
        blocks.append(s)
    gpos = by.index("grade") if "grade" in by else -1
    if subtotals and gpos >= 1 and matched.any():
        s = _sums(xm, vm, wm, km[["grade"]])
        for c in by:
            if c != "grade":
                s[c] = ""
        s["level"] = "grade_total"
        s["depth"] = gpos + 1
        blocks.append(s)
    if nothing.any():
        s = _sums(x[nothing], valid[nothing], None if w is None else w[nothing], None)
        for c in by:
            s[c] = UNMATCHED if c == by[0] else ""
        s["level"] = "unmatched"
        s["depth"] = 1
        blocks.append(s)
    s = _sums(x, valid, w, None)
    for c in by:
        s[c] = "合计 total" if c == by[0] else ""
    s["level"] = "total"
    s["depth"] = 0
    blocks.append(s)
    rows = pd.concat(blocks, ignore_index=True)
    names = list(x.columns)
    rates = _rates(rows, names)
    section = {"group": 0, "subtotal": 0, "unmatched": 1, "grade_total": 2, "total": 3}
    sort_keys = []
    for r in rows[[*by, "level", "depth"]].itertuples(index=False, name=None):
        *values, level, depth = r
        key: list[object] = [section[level]]
        for i, (c, v) in enumerate(zip(by, values, strict=True)):
            fixed = i < depth and (level != "grade_total" or c == "grade")
            key.append((0, *_rank(c, v)) if fixed else (1, 0, ""))
        sort_keys.append(tuple(key))
    order = sorted(range(len(rows)), key=lambda i: sort_keys[i])
    cols: dict[str, np.ndarray] = {c: rows[c].to_numpy()[order] for c in by}
    cols["level"] = rows["level"].to_numpy()[order]
    cols["depth"] = rows["depth"].to_numpy()[order].astype(int)
    cols["n"] = rows["n"].to_numpy()[order].astype(int)
    for name in names:
        cols[f"count:{name}"] = rows[f"count:{name}"].to_numpy()[order].astype(int)
        if name in cutoffs:
            cols[f"n:{name}"] = rows[f"n:{name}"].to_numpy()[order].astype(int)
        for pre in ("rate", "low", "high"):
            cols[f"{pre}:{name}"] = rates[f"{pre}:{name}"][order]
    out = pd.DataFrame(cols)
    return out


def _upper(counts: pd.DataFrame, rel: Relations) -> np.ndarray:
    """Known upper bounds: a cut-off count is at most its row's ``n:`` (published)."""
    up = np.full((len(counts), len(rel.columns)), np.nan)
    for j, col in enumerate(rel.columns):
        den = "n:" + col.split(":", 1)[-1]
        if col.startswith("count:") and den in counts.columns:
            up[:, j] = counts[den].to_numpy(float)
    return up


def suppress(counts: pd.DataFrame, *, min_cell: int = 5,
             start: pd.DataFrame | None = None) -> pd.DataFrame:
    """Primary and secondary small-cell suppression of a :func:`group_counts` table.

    See the module docstring for the method; the result passes :func:`recomputable`.

    Parameters
    ----------
    counts : DataFrame
        Output of :func:`group_counts` (last row = total).
    min_cell : int
        Counts from 1 to ``min_cell - 1``, and groups smaller than ``min_cell``, are hidden.
        At least 1 (:class:`ValueError`); reports ask for 3 or more
        (:func:`xinli_screen.report.group_protect.check_min_cell`).
    start : DataFrame of bool, optional
        A pattern to extend (e.g. the one for a smaller ``min_cell``): its hidden cells stay
        hidden, so the result hides a superset of it.

    Returns
    -------
    DataFrame of bool, columns ``n`` and every ``count:*``, same index as ``counts``
        True = hidden.

    References
    ----------
    Hundepool, A. et al. (2012). *Statistical Disclosure Control*, ch. 4 (tabular data:
    primary and secondary cell suppression, linked and hierarchical tables, auditing a
    suppression pattern by linear programming). Wiley.
    de Wolf, P.-P. (2002). HiTaS: a heuristic approach to cell suppression in hierarchical
    tables. In *Inference Control in Statistical Databases*, LNCS 2316, 74-82 (each subtotal
    and the rows under it treated as one small table).
    """
    if isinstance(min_cell, bool) or not isinstance(min_cell, (int, np.integer)) or min_cell < 1:
        raise ValueError(f"the minimum cell size must be a whole number >= 1; got {min_cell!r}")
    rel = relations(counts)
    values = counts[rel.columns].to_numpy(dtype=float)
    level = counts["level"].to_numpy()
    upper = _upper(counts, rel)
    # a count pinned by a shown bound of 0 (scale not given in that group) is known anyway
    known = rel.exempt[:, None] | (upper == 0)
    hidden = np.zeros(values.shape, dtype=bool)
    body = (level != "total") & ~rel.exempt
    hidden[body] = (values[body] > 0) & (values[body] < min_cell)
    hidden[body & (values[:, 0] < min_cell), :] = True
    if start is not None:
        hidden |= start[rel.columns].to_numpy(dtype=bool)
    hidden &= ~known
    # 无预警 is "the rest" of a row: kept as an unknown while suppressing and shown at the end
    # wherever it follows from what is shown (e.g. the row's n and other tiers are shown); it
    # is protected like any count only when it is small itself or hidden to protect another
    none = rel.columns.index("count:none") if "count:none" in rel.columns else None
    slack = np.zeros(values.shape, dtype=bool)
    if none is not None:
        slack[:, none] = ~hidden[:, none] & ~known[:, none]
        hidden |= slack
    eqs = [eq for cols in _blocks(rel) for eq in _equations(rel, cols)]
    by_cell: dict[tuple[int, int], list[list[tuple[int, int, int]]]] = {}
    for eq in eqs:
        for r, j, _ in eq:
            by_cell.setdefault((r, j), []).append(eq)
    total = int(np.flatnonzero(level == "total")[-1])

    def pick(eq: list[tuple[int, int, int]]) -> tuple[int, int] | None:
        """The cell of ``eq`` to hide next: a row's smallest tier, a lower row before its
        subtotal (the district total last), non-zero when what is hidden is all zero."""
        free = [(r, j) for r, j, _ in eq if not hidden[r, j] and not known[r, j]]
        row_eq = eq[0][1] == 0 and len({r for r, _, _ in eq}) == 1
        if row_eq:
            free = [(r, j) for r, j in free if j != 0]
        else:
            kids = [(r, j) for r, j in free if (r, j) != eq[0][:2]]
            free = kids or [c for c in free if c[0] != total] or free
        if not free:
            return None
        all_zero = all(values[r, j] == 0 for r, j, _ in eq if hidden[r, j])
        return min(free, key=lambda c: (all_zero and values[c] == 0, values[c], c))

    def spread() -> None:
        for _ in range(10 * values.size + 10):
            changed = False
            whole = hidden[:, 0] & (~hidden & ~known).any(axis=1)
            if whole.any():
                hidden[whole] = ~known[whole]
                changed = True
            for eq in eqs:
                cells = [(r, j) for r, j, _ in eq if hidden[r, j]]
                if len(cells) == 1 and not slack[cells[0]]:
                    cell = pick(eq)
                    if cell is not None:
                        hidden[cell] = True
                        slack[cell] = False
                        changed = True
            if not changed:
                return

    cache: dict[tuple[tuple[int, ...], bytes], dict[tuple[int, int], bool]] = {}

    def audit() -> np.ndarray:
        out = np.zeros(hidden.shape, dtype=bool)
        for cols in _blocks(rel):
            key = (tuple(cols), hidden[:, cols].tobytes())
            if key not in cache:
                cache[key] = _audit_block(values, hidden, rel, upper, cols)
            for cell, pinned in cache[key].items():
                out[cell] = pinned
        return out

    for _ in range(values.size + 1):
        spread()
        pinned = audit()
        leaks = np.argwhere(pinned & ~slack & (values > 0))
        if not len(leaks):
            hidden &= ~(pinned & slack)  # 无预警 that follows from what is shown: shown
            break
        touched: set[int] = set()
        for r, j in map(tuple, leaks.tolist()):
            if r in touched:  # a cell was just hidden in this row: audit again first
                continue
            options = [pick(eq) for eq in by_cell.get((r, j), ())]
            options = [c for c in options if c is not None]
            if not options:  # nothing left to hide around it: hide everything
                hidden[:] = ~known
                break
            cell = min(options, key=lambda c: (values[c] == 0, values[c], c))
            hidden[cell] = True
            slack[cell] = False
            touched |= {r, cell[0]}
        if hidden[~known].all():
            break
    else:  # pragma: no cover - the loop hides at least one cell per round
        hidden[:] = ~known
    return pd.DataFrame(hidden, columns=rel.columns, index=counts.index)
