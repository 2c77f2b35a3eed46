"""Suppression that holds across every group report one user can request on a wave.

A single suppressed table (:func:`~xinli_screen.report.group_counts.suppress`) is safe on its
own, but two groupings of the same wave are linked: the school rows of ``--by school`` are the
school subtotals of ``--by school,class``. Suppressed separately, the two patterns differ and
a cell hidden in one is recomputed from the other (issue 15: 8 cells in three trials).

The method here makes every request a *view of one protected table*:

1. the **cube** of a wave is the counts table over the school-grade-class hierarchy present in
   the data (:data:`HIERARCHY`, the columns the table has, always in that order), with every
   subtotal: each class, each school's grade, each school, each grade across the district,
   the unmatched sheets and the district total
   (:func:`~xinli_screen.report.group_counts.group_counts`). It depends on the wave's data
   only, never on the request;
2. the cube is suppressed once (:func:`~xinli_screen.report.group_counts.suppress`, primary,
   secondary and the LP audit over all its relations);
3. a requested grouping (any of ``school``, ``grade``, ``class`` in any order: ``--by school``,
   ``--by grade``, ``--by school,grade``, ``--by grade,school``...) is published as a
   projection: each of its rows holds exactly the pupils of one cube cell, and its cells are
   hidden exactly where that cube cell is. A row whose pupils are not one cube cell (``--by
   school,class`` when a school has a 1班 in several grades, ``--by class`` across schools)
   is refused (:class:`SuppressionError`).

So all reports of a wave show cells of one table with one pattern; what any set of them shows
together is what the cube shows, and the cube's audit covers it. Patterns for different
``min_cell`` values are nested (:func:`nested_suppress`): a larger value hides a superset, so
requests with different values together show what the smallest one shows. Waves are
suppressed each on its own cube; no published figure adds pupils of two waves (the comparison
shows rates and their differences, hidden wherever a rate is).

Columns outside the hierarchy (``sex``, ...) form a one-way table of their own: ``--by sex``
alone is protected (its cells link to the hierarchy only through the shown district total);
mixing one with the hierarchy (``--by school,sex``) or two of them is refused, since their
cross would need a cube of its own that other requests do not share.

The minimum cell size (:func:`check_min_cell`) is 5 by default; a district may raise it, not
lower it below :data:`SAFE_MIN_CELL` without ``allow_unsafe_min_cell=True``; below 1 never.

References
----------
Hundepool, A. et al. (2012). *Statistical Disclosure Control*, sections 4.2-4.4 (sensitivity
rules, secondary suppression, linked tables: a cell shared by several published tables must be
suppressed consistently in all of them; protection intervals and auditing by linear
programming). Wiley.
de Wolf, P.-P. & Giessing, S. (2009). Adjusting the tau-ARGUS modular approach to deal with
linked tables. *Data & Knowledge Engineering* 68(11), 1160-1174 (protect the cover table, of
which the linked tables are sub-tables).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from xinli_screen.errors import XinliScreenError
from xinli_screen.report.group_counts import MISSING, group_counts, suppress

__all__ = ["HIERARCHY", "SAFE_MIN_CELL", "SuppressionError", "check_min_cell", "cube",
           "nested_suppress", "protected_counts"]

#: The nested grouping columns, coarsest first; any request over them is a view of one cube.
HIERARCHY = ("school", "grade", "class")
#: Smallest ``min_cell`` allowed without ``allow_unsafe_min_cell``.
SAFE_MIN_CELL = 3


class SuppressionError(XinliScreenError, ValueError):
    """A minimum cell size or a grouping that the suppression cannot protect."""


def check_min_cell(min_cell: int, allow_unsafe_min_cell: bool = False) -> bool:
    """Validate a minimum cell size.

    Parameters
    ----------
    min_cell : int
        Counts from 1 to ``min_cell - 1`` are hidden.
    allow_unsafe_min_cell : bool
        Allow 1 or 2 (a report that then says so on every page).

    Returns
    -------
    bool
        True when the value is below :data:`SAFE_MIN_CELL` (allowed by the flag).

    Raises
    ------
    SuppressionError
        ``min_cell`` is not an integer, is below 1, or below 3 without the flag.

    Notes
    -----
    With ``min_cell`` 1 nothing is hidden; with 2 a single pupil is hidden but two are shown.
    Hundepool et al. (2012, section 4.2.1) give threshold rules of 3 or more as usual practice.
    """
    if isinstance(min_cell, bool) or not isinstance(min_cell, (int, np.integer)):
        raise SuppressionError(f"the minimum cell size must be a whole number; got {min_cell!r}")
    if min_cell < 1:
        raise SuppressionError(f"the minimum cell size must be at least 1; got {min_cell}")
    if min_cell < SAFE_MIN_CELL:
        if not allow_unsafe_min_cell:
            raise SuppressionError(
                f"a minimum cell size below {SAFE_MIN_CELL} ({min_cell}) shows counts of "
                f"{'one' if min_cell == 1 else 'two'} pupil(s); pass --unsafe-min-cell "
                "(allow_unsafe_min_cell=True) if the report must show them")
        return True
    return False


def _hierarchy(table: pd.DataFrame) -> list[str]:
    return [c for c in HIERARCHY if c in table.columns]


def _plan(table: pd.DataFrame, by: Sequence[str]) -> list[str]:
    """The cube's columns for a request, or :class:`SuppressionError`."""
    by = list(by)
    if len(set(by)) != len(by):
        raise SuppressionError(f"a grouping column is repeated in {by}")
    if not by:
        raise SuppressionError("give at least one grouping column")
    extra = [c for c in by if c not in HIERARCHY]
    if not extra:
        return _hierarchy(table)
    if len(by) == 1:
        return by
    raise SuppressionError(
        f"grouping by {', '.join(by)} is refused: {', '.join(extra)} is outside the "
        f"{'/'.join(HIERARCHY)} hierarchy, and its cross with other columns cannot be kept "
        "consistent with the other reports of the wave, so hidden cells could be recomputed "
        f"by differencing. Request --by {extra[0]} alone, or the {'/'.join(HIERARCHY)} "
        "grouping alone")


def _filled(table: pd.DataFrame, by: Sequence[str], base: Sequence[str]) -> pd.DataFrame:
    """``table`` with a missing ``by`` value marked :data:`MISSING` on every sheet that carries
    a ``base`` value, so that its unmatched sheets are the cube's."""
    matched = table[list(base)].notna().any(axis=1) if base else pd.Series(True, table.index)
    lost = matched & table[list(by)].isna().all(axis=1)
    if not lost.any():
        return table
    out = table.copy()
    for c in by:
        out[c] = out[c].astype(object).where(~lost, MISSING)
    return out


def cube(table: pd.DataFrame, by: Sequence[str], *, min_cell: int = 5,
         tier_column: str = "warning_tier") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The protected cover table of a wave for a request (see the module docstring).

    Parameters
    ----------
    table : DataFrame
        One row per pupil.
    by : sequence of str
        The requested grouping.
    min_cell : int
    tier_column : str

    Returns
    -------
    (counts, hidden) : DataFrames
        The cube (:func:`~xinli_screen.report.group_counts.group_counts` over the hierarchy
        present, or the single column outside it) and its suppression mask.

    Raises
    ------
    SuppressionError
        A grouping that cannot be protected together with the other reports.
    """
    dims = _plan(table, by)
    base = dims if dims and dims[0] in HIERARCHY else []
    if not base:  # a one-way table outside the hierarchy: a missing value is a group
        table = table.assign(**{dims[0]: table[dims[0]].astype(object).where(
            table[dims[0]].notna(), MISSING)})
    counts = group_counts(table, dims, tier_column=tier_column)
    return counts, nested_suppress(counts, min_cell)


def nested_suppress(counts: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Suppression for ``min_cell`` that hides a superset of the one for any smaller value.

    A user may request the same table with ``--min-cell 3`` and ``--min-cell 8``; if the two
    patterns were computed apart, a cell hidden as secondary in one could be shown in the
    other. The pattern for ``m`` is built up through every threshold ``k <= m`` at which the
    primary cells change (``k - 1`` is a count in the table), each step extending the
    previous pattern (:func:`~xinli_screen.report.group_counts.suppress` with ``start``), so
    the patterns are nested and what two of them show together is what the smaller one shows.

    Parameters
    ----------
    counts : DataFrame
        A :func:`~xinli_screen.report.group_counts.group_counts` table.
    min_cell : int

    Returns
    -------
    DataFrame of bool
    """
    cols = ["n", *[c for c in counts.columns if c.startswith("count:")]]
    present = set(np.unique(counts[cols].to_numpy()).tolist())
    mask = None
    for k in [k for k in range(2, min_cell) if k - 1 in present] + [min_cell]:
        mask = suppress(counts, min_cell=k, start=mask)
    return mask


def _cell_keys(counts: pd.DataFrame, by: Sequence[str]) -> list[object]:
    """Per row: the frozenset of (column, value) the row fixes, or ``"unmatched"``."""
    keys: list[object] = []
    gpos = list(by).index("grade") if "grade" in by else -1
    for row in counts[[*by, "level", "depth"]].itertuples(index=False, name=None):
        *values, level, depth = row
        if level == "unmatched":
            keys.append("unmatched")
        elif level == "total":
            keys.append(frozenset())
        elif level == "grade_total":
            keys.append(frozenset({("grade", str(values[gpos]))}))
        else:
            keys.append(frozenset(zip(by[:depth], map(str, values[:depth]), strict=True)))
    return keys


def _project(keys: list[object], cube_keys: list[object], cube_n: np.ndarray,
             n: np.ndarray) -> np.ndarray:
    """Row of the cube holding exactly the pupils of each requested row."""
    where: dict[object, int] = {k: i for i, k in enumerate(cube_keys)}
    margins: dict[frozenset[str], list[int]] = {}
    for i, k in enumerate(cube_keys):
        if isinstance(k, frozenset):
            margins.setdefault(frozenset(c for c, _ in k), []).append(i)
    out = np.empty(len(keys), dtype=int)
    for r, key in enumerate(keys):
        if key in where:
            out[r] = where[key]
        else:
            cols = frozenset(c for c, _ in key)  # type: ignore[union-attr]
            above = sorted((m for m in margins if cols <= m), key=len)
            hits = [i for i in margins[above[0]] if key <= cube_keys[i]] if above else []
            if len(hits) != 1:
                what = ", ".join(f"{c}={v}" for c, v in sorted(key))  # type: ignore[union-attr]
                raise SuppressionError(
                    f"the group {what} spans several groups of the "
                    f"{'/'.join(HIERARCHY)} hierarchy (e.g. classes of the same name in "
                    "different grades or schools); its counts could undo the suppression of "
                    "the finer report. Group by the coarser levels too "
                    "(e.g. --by school,grade,class)")
            out[r] = hits[0]
        if cube_n[out[r]] != n[r]:  # pragma: no cover - the same pupils by construction
            raise AssertionError("group report: a projected row differs from its cube cell")
    return out


def protected_counts(table: pd.DataFrame, by: Sequence[str], *, weight: str | None = None,
                     min_cell: int = 5, subtotals: bool = True,
                     tier_column: str = "warning_tier") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Counts for a grouping and the mask that keeps it consistent with all other groupings.

    Parameters
    ----------
    table : DataFrame
        One row per pupil of one wave.
    by : sequence of str
        Requested grouping, coarsest first (any order of ``school``, ``grade``, ``class``; or
        one column outside them).
    weight : str, optional
        Survey-weight column (rates only).
    min_cell : int
        Validated by the caller (:func:`check_min_cell`).
    subtotals : bool
    tier_column : str

    Returns
    -------
    (counts, hidden) : DataFrames
        ``counts`` as :func:`~xinli_screen.report.group_counts.group_counts` for ``by``;
        ``hidden`` (columns ``n`` and every ``count:*``) is the cube's mask on the cube cell
        holding the same pupils as each row.

    Raises
    ------
    SuppressionError
        A grouping the suppression cannot protect together with the others.
    KeyError
        A grouping or weight column is absent.

    Notes
    -----
    Reusable by any module that publishes counts of a wave per school, grade or class (the
    panels of :mod:`xinli_screen.evaluation`): publishing ``counts`` masked by ``hidden``
    keeps them consistent with every group report of the same wave.
    """
    by = list(by)
    missing = [c for c in by if c not in table.columns]
    if missing:
        raise KeyError(f"group report: no column(s) {missing} in the table")
    full, mask = cube(table, by, min_cell=min_cell, tier_column=tier_column)
    dims = list(full.columns[:list(full.columns).index("level")])
    base = dims if dims[0] in HIERARCHY else []
    view = _filled(table, by, base) if base else table.assign(
        **{by[0]: table[by[0]].astype(object).where(table[by[0]].notna(), MISSING)})
    counts = group_counts(view, by, weight=weight, tier_column=tier_column,
                          subtotals=subtotals)
    rows = _project(_cell_keys(counts, by), _cell_keys(full, dims),
                    full["n"].to_numpy(), counts["n"].to_numpy())
    cols = list(mask.columns)
    hidden = pd.DataFrame(mask[cols].to_numpy()[rows], columns=cols, index=counts.index)
    return counts, hidden
