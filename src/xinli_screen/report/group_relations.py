"""The additive relations of a group counts table and the exact audit of a suppression.

Split from :mod:`xinli_screen.report.group_counts` (whose docstring describes the method):
:func:`relations` lists which cells add up to which (row tiers to ``n``, each subtotal to its
rows), :func:`recomputable` finds every hidden cell that the shown cells, these relations and
the bounds pin to one value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from xinli_screen.policy.models import TIER_ORDER

__all__ = ["Relations", "recomputable", "relations"]


@dataclass(frozen=True)
class Relations:
    """The additive relations of a :func:`group_counts` table.

    Attributes
    ----------
    columns : list of str
        Count columns: ``n`` and every ``count:*`` (the cell grid's columns).
    tiers : list of int
        Positions in ``columns`` of the tier counts (they add up to ``n`` in every row).
    parents : list of (int, list of int)
        Row of a subtotal and the rows that add up to it (same in every count column).
    exempt : ndarray of bool, shape (rows,)
        Rows outside suppression (the unmatched sheets).
    """

    columns: list[str]
    tiers: list[int]
    parents: list[tuple[int, list[int]]]
    exempt: np.ndarray


def relations(counts: pd.DataFrame) -> Relations:
    """The additive relations between the rows and count columns of a counts table.

    Parameters
    ----------
    counts : DataFrame
        Output of :func:`group_counts` (with ``level`` and ``depth``).

    Returns
    -------
    Relations
    """
    columns = ["n", *[c for c in counts.columns if c.startswith("count:")]]
    tiers = [columns.index(f"count:{t}") for t in TIER_ORDER if f"count:{t}" in columns]
    by = list(counts.columns[:list(counts.columns).index("level")])
    level = counts["level"].to_numpy()
    depth = counts["depth"].to_numpy()
    values = counts[by].astype(str).to_numpy()
    total = int(np.flatnonzero(level == "total")[-1])
    index = {(int(depth[r]), tuple(values[r, :depth[r]])): r for r in range(len(counts))
             if level[r] in ("group", "subtotal")}
    children: dict[int, list[int]] = {}
    for r in range(len(counts)):
        if level[r] in ("group", "subtotal"):
            parent = total if depth[r] == 1 else index[(int(depth[r]) - 1,
                                                        tuple(values[r, :depth[r] - 1]))]
            children.setdefault(parent, []).append(r)
        elif level[r] == "unmatched":
            children.setdefault(total, []).append(r)
    parents = sorted(children.items())
    grade_rows = np.flatnonzero(level == "grade_total")
    if len(grade_rows):
        gpos = by.index("grade")
        for g in grade_rows:
            kids = [r for r in range(len(counts)) if level[r] in ("group", "subtotal")
                    and depth[r] == gpos + 1 and values[r, gpos] == values[g, gpos]]
            parents.append((int(g), kids))
        parents.append((total, [*map(int, grade_rows),
                                *map(int, np.flatnonzero(level == "unmatched"))]))
    return Relations(columns, tiers, parents, level == "unmatched")


def _equations(rel: Relations, cols: Sequence[int]) -> list[list[tuple[int, int, int]]]:
    """Relations among the given columns as lists of (row, column, sign); parent first."""
    eqs: list[list[tuple[int, int, int]]] = []
    cols = list(cols)
    if rel.tiers and all(j in cols for j in [0, *rel.tiers]):
        for r in range(len(rel.exempt)):
            eqs.append([(r, 0, 1), *[(r, j, -1) for j in rel.tiers]])
    for j in cols:
        for p, kids in rel.parents:
            eqs.append([(p, j, 1), *[(k, j, -1) for k in kids]])
    return eqs


def _blocks(rel: Relations) -> list[list[int]]:
    """Independent systems: ``n`` with the tiers, then each cut-off column alone."""
    first = [0, *rel.tiers]
    return [first, *[[j] for j in range(len(rel.columns)) if j not in first]]


def recomputable(values: np.ndarray, hidden: np.ndarray, rel: Relations,
                 upper: np.ndarray | None = None) -> np.ndarray:
    """Hidden cells that a reader can pin from the shown cells, the relations and the bounds.

    Parameters
    ----------
    values : ndarray of float, shape (rows, len(rel.columns))
        The true counts.
    hidden : ndarray of bool, same shape
    rel : Relations
    upper : ndarray of float, same shape, optional
        Known upper bounds (NaN where none; e.g. a cut-off count <= its shown ``n:``).

    Returns
    -------
    ndarray of bool, same shape
        True where a hidden cell's value follows from what is shown: its range over all
        tables with the shown cells, the relations and ``0 <= x <= upper`` is one point.

    Notes
    -----
    The set of tables consistent with what is shown is ``{x : A x = b, 0 <= x <= u}``; the
    true table ``x*`` is in it. A cell is pinned unless some direction ``d`` with ``A d = 0``
    that stays feasible (``d_i >= 0`` where ``x*_i = 0``, ``d_i <= 0`` where ``x*_i = u_i``)
    moves it. One linear programme (maximise the number of bound cells a feasible direction
    moves off their bound; cone directions add up, so one optimum frees them all) finds the
    bound cells that must stay; with those fixed, the feasible directions span the null space
    of the relations, whose rows show which other cells can move (a dense SVD for up to
    :data:`_DENSE_LIMIT` hidden cells, else the projection of fixed pseudo-random vectors onto
    the null space by sparse least squares, which agrees with it and scales to thousands of
    classes).
    """
    out = np.zeros(hidden.shape, dtype=bool)
    for cols in _blocks(rel):
        for (r, j), pinned in _audit_block(values, hidden, rel, upper, cols).items():
            out[r, j] = pinned
    return out


#: Above this many hidden cells in one system the null space is sampled (sparse least squares)
#: instead of computed by a dense SVD.
_DENSE_LIMIT = 400


def _moving(a: sparse.csr_matrix, m: int) -> np.ndarray:
    """Which coordinates some vector of the null space of ``a`` (shape (q, m)) moves.

    Coordinate j is fixed iff e_j lies in the row space of ``a``, i.e. iff the orthogonal
    projection onto the null space maps e_j to 0. Small systems: the null space from a dense
    SVD. Large ones: the projections of two fixed pseudo-random vectors, each computed by
    sparse least squares (LSQR); a fixed coordinate projects to 0 for every vector, a moving
    one almost never does.
    """
    from scipy.linalg import null_space
    from scipy.sparse.linalg import lsqr

    if a.shape[0] == 0:
        return np.ones(m, dtype=bool)
    if m <= _DENSE_LIMIT:
        free = null_space(a.toarray(), lapack_driver="gesvd")
        return np.abs(free).max(axis=1) > 1e-9 if free.size else np.zeros(m, dtype=bool)
    rng = np.random.default_rng(20260)
    moving = np.zeros(m, dtype=bool)
    at = a.T.tocsr()
    for _ in range(2):
        r = rng.uniform(1.0, 2.0, m) * rng.choice([-1.0, 1.0], m)
        y = lsqr(at, r, atol=1e-14, btol=1e-14, iter_lim=20 * (m + a.shape[0]))[0]
        moving |= np.abs(r - at @ y) > 1e-6
    return moving


def _audit_block(values: np.ndarray, hidden: np.ndarray, rel: Relations,
                 upper: np.ndarray | None, cols: list[int]) -> dict[tuple[int, int], bool]:
    """:func:`recomputable` for one independent system: hidden cell -> pinned."""
    from scipy.optimize import linprog

    cells = [(r, j) for j in cols for r in range(hidden.shape[0]) if hidden[r, j]]
    if not cells:
        return {}
    m = len(cells)
    pos = {c: i for i, c in enumerate(cells)}
    ri: list[int] = []
    ci: list[int] = []
    data: list[float] = []
    q = 0
    for eq in _equations(rel, cols):
        coef = [(pos[(r, j)], s) for r, j, s in eq if (r, j) in pos]
        if coef:
            for i, sign in coef:
                ri.append(q)
                ci.append(i)
                data.append(float(sign))
            q += 1
    a = sparse.csr_matrix((data, (ri, ci)), shape=(q, m))
    val = np.array([values[c] for c in cells], dtype=float)
    ub = np.array([np.nan if upper is None else upper[c] for c in cells], dtype=float)
    at_zero = np.flatnonzero(val <= 0)
    at_top = np.flatnonzero(np.isfinite(ub) & (val >= ub))
    bound = [(i, -1.0) for i in at_zero] + [(i, 1.0) for i in at_top]
    fixed: list[int] = []
    if bound:
        k = len(bound)
        # variables: d (m, free), t (k, in [0, 1]); sign * d_i + t_j <= 0; A d = 0
        a_ub = sparse.hstack([
            sparse.csr_matrix(([s for _, s in bound], (range(k), [i for i, _ in bound])),
                              shape=(k, m)),
            sparse.identity(k, format="csr")], format="csr")
        res = linprog(np.r_[np.zeros(m), -np.ones(k)], A_ub=a_ub, b_ub=np.zeros(k),
                      A_eq=sparse.hstack([a, sparse.csr_matrix((q, k))], format="csr")
                      if q else None, b_eq=np.zeros(q) if q else None,
                      bounds=[(None, None)] * m + [(0, 1)] * k, method="highs")
        t = res.x[m:] if res.status == 0 else np.zeros(k)
        fixed = sorted({bound[j][0] for j in range(k) if t[j] < 0.5})
    if fixed:
        pin = sparse.csr_matrix((np.ones(len(fixed)), (range(len(fixed)), fixed)),
                                shape=(len(fixed), m))
        a = sparse.vstack([a, pin], format="csr")
    moves = _moving(a, m)
    return {c: not moves[i] for i, c in enumerate(cells)}
