"""Differential item functioning by ordinal logistic regression, as R lordif does.

For each item of a scale and a grouping (sex, grade ...), three proportional-odds models of
the item's answer on a matching variable ``theta`` (the pupils' trait level) are fitted::

    model 1:  logit P(Y >= k) = a_k + b1 theta
    model 2:  logit P(Y >= k) = a_k + b1 theta + b2 group
    model 3:  logit P(Y >= k) = a_k + b1 theta + b2 group + b3 theta x group

and compared by likelihood-ratio chi-square tests: 1 vs 2 (uniform DIF, df = g - 1), 2 vs 3
(non-uniform DIF, df = g - 1) and 1 vs 3 (any DIF, df = 2 (g - 1)), with the change in
pseudo R² (McFadden ``1 - D/D0``, Cox-Snell ``1 - exp((D - D0)/n)``, Nagelkerke
``CoxSnell / (1 - exp(-D0/n))``, D = -2 log-likelihood, D0 of the intercept-only model) and
the relative change of b1 from model 1 to 2 (``beta12``). An item is flagged by lordif's
criteria: ``chisqr`` (default): any of the three p-values <= ``alpha`` (0.01); ``r2``: the
1-vs-3 pseudo-R² change >= ``r2_change`` (0.02); ``beta``: beta12 >= ``beta_change`` (0.1).

Sources: Swaminathan & Rogers (1990), J Educ Meas 27:361-370; Zumbo (1999), A handbook on the
theory and methods of DIF (pseudo R² effect size); Crane, Gibbons, Jolley & van Belle (2006),
Med Care 44:S115-S123; Choi, Gibbons & Crane (2011), lordif, J Stat Softw 39(8) (the models,
statistics, the ``minCell`` collapsing of sparse categories and the criteria above follow
lordif 0.4.2, ``runolr.R``, ``rundif.R``, ``collapse.R``). The models are fitted here by
Newton-Raphson on the exact log-likelihood, as ``rms::lrm`` does; R equivalent per item::

    m1 <- rms::lrm(y ~ theta); m2 <- rms::lrm(y ~ theta + group)
    m3 <- rms::lrm(y ~ theta * group)
    chi12 <- m1$deviance[2] - m2$deviance[2]       # and so on

Difference from lordif: lordif matches on an IRT (graded response model) trait estimate with
group-specific item parameters for flagged items; here ``theta`` is the observed sum score
(or any trait estimate you pass), and purification re-computes the sum over the items not
flagged (anchor items) until the flagged set is stable (``purify=True``), as
``difR::difLogistic(purify = TRUE)`` does for binary items.

A flagged item says that pupils of different groups with the same trait level answer it
differently; it is a reason to look at the item's wording, not a verdict on the pupils.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["DifResult", "OrdinalFit", "collapse_categories", "dif_item", "dif_scale",
           "fit_proportional_odds"]


@dataclass(frozen=True)
class OrdinalFit:
    """A fitted proportional-odds model.

    ``intercepts`` (k - 1,) are the a_k of ``logit P(Y >= k)``, ``coef`` (p,) the slopes,
    ``deviance`` = -2 log-likelihood, ``null_deviance`` of the intercept-only model.
    """

    intercepts: np.ndarray
    coef: np.ndarray
    deviance: float
    null_deviance: float
    n: int
    iterations: int
    converged: bool


def _loglik_parts(theta: np.ndarray, y: np.ndarray, x: np.ndarray, k: int
                  ) -> tuple[float, np.ndarray, np.ndarray]:
    """Log-likelihood, gradient and Hessian of the cumulative logit model."""
    n, p = x.shape
    m = k - 1
    alpha, beta = theta[:m], theta[m:]
    lin = x @ beta
    # F_j = P(Y >= j), j = 0..k with F_0 = 1, F_k = 0; observed y in 0..k-1 uses F_y, F_{y+1}
    up = y  # index of the upper cumulative (0 means F_0 = 1)
    lo = y + 1  # index of the lower one (k means F_k = 0)

    def cum(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        inner = (idx >= 1) & (idx <= m)
        eta = np.where(inner, alpha[np.clip(idx - 1, 0, m - 1)] + lin, 0.0)
        f = np.where(inner, 1.0 / (1.0 + np.exp(-eta)), np.where(idx == 0, 1.0, 0.0))
        dens = np.where(inner, f * (1 - f), 0.0)
        curv = np.where(inner, dens * (1 - 2 * f), 0.0)
        return f, dens, curv

    fa, da, ca = cum(up)
    fb, db, cb = cum(lo)
    prob = fa - fb
    if np.any(prob <= 0):
        return -np.inf, np.zeros(m + p), np.zeros((m + p, m + p))
    ua = np.zeros((n, m + p))
    ub = np.zeros((n, m + p))
    rows = np.arange(n)
    ia = (up >= 1) & (up <= m)
    ib = (lo >= 1) & (lo <= m)
    ua[rows[ia], up[ia] - 1] = 1.0
    ub[rows[ib], lo[ib] - 1] = 1.0
    ua[ia, m:] = x[ia]
    ub[ib, m:] = x[ib]
    g_i = (da[:, None] * ua - db[:, None] * ub) / prob[:, None]
    grad = g_i.sum(axis=0)
    hess = (np.einsum("i,ij,ik->jk", ca / prob, ua, ua)
            - np.einsum("i,ij,ik->jk", cb / prob, ub, ub)
            - g_i.T @ g_i)
    return float(np.log(prob).sum()), grad, hess


def fit_proportional_odds(y: np.ndarray, x: np.ndarray, *, tol: float = 1e-10,
                          max_iter: int = 100) -> OrdinalFit:
    """Fit ``logit P(Y >= k) = a_k + x b`` by maximum likelihood (Newton-Raphson).

    Parameters
    ----------
    y : array of int, shape (n,)
        Categories coded 0 .. k-1, every one observed (see :func:`collapse_categories`).
    x : array, shape (n, p)
        Covariates (no intercept column).
    tol : float
        Convergence: the largest absolute Newton step.
    max_iter : int

    Returns
    -------
    OrdinalFit

    Raises
    ------
    ValueError
        Fewer than two categories, or a category without observations.

    Notes
    -----
    Same model and parameterisation as ``rms::lrm(y ~ x)`` (McCullagh 1980); its
    ``deviance`` equals ``lrm``'s ``deviance[2]``, ``null_deviance`` its ``deviance[1]``.
    """
    y = np.asarray(y, dtype=np.int64)
    x = np.asarray(x, dtype=float).reshape(len(y), -1)
    k = int(y.max()) + 1 if len(y) else 0
    counts = np.bincount(y, minlength=k)
    if k < 2 or np.any(counts == 0):
        raise ValueError("the answers need at least two categories, each observed")
    n = len(y)
    cum = counts[::-1].cumsum()[::-1][1:] / n  # P(Y >= j), j = 1..k-1
    alpha0 = np.log(cum / (1 - cum))
    null_dev = float(-2 * np.sum(counts * np.log(counts / n)))
    theta = np.concatenate([alpha0, np.zeros(x.shape[1])])
    ll, grad, hess = _loglik_parts(theta, y, x, k)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - reported
        try:
            step = np.linalg.solve(hess, -grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hess, -grad, rcond=None)[0]
        t = 1.0
        while True:
            cand = theta + t * step
            ll_new, g_new, h_new = _loglik_parts(cand, y, x, k)
            if ll_new >= ll - 1e-12 or t < 1e-8:
                break
            t /= 2
        theta, ll, grad, hess = cand, ll_new, g_new, h_new
        if np.max(np.abs(t * step)) < tol:
            converged = True
            break
    m = k - 1
    return OrdinalFit(theta[:m], theta[m:], float(-2 * ll), null_dev, n, it, converged)


def collapse_categories(answers: np.ndarray, group: np.ndarray, min_cell: int = 5
                        ) -> np.ndarray:
    """Merge answer categories with fewer than ``min_cell`` pupils in some group.

    Parameters
    ----------
    answers : array, shape (n,)
        One item's answers (no missing values).
    group : array, shape (n,)
    min_cell : int

    Returns
    -------
    ndarray of int, shape (n,)
        Categories 0 .. k-1: a sparse category joins the sufficient one below it (the lowest
        joins the one above), as lordif's ``collapse(resp, group, minCell)``.

    Raises
    ------
    ValueError
        Fewer than two categories or groups, or fewer than two categories left.
    """
    table = pd.crosstab(pd.Series(group), pd.Series(answers))
    if table.shape[1] < 2 or table.shape[0] < 2:
        raise ValueError("DIF needs at least two answer categories and two groups")
    ok = (table >= min_cell).all(axis=0).to_numpy().astype(int)
    new = np.cumsum(ok)
    new[new == 0] = 1
    if new.max() < 2:
        raise ValueError(f"fewer than two answer categories with {min_cell} or more pupils "
                         "in every group")
    mapping = dict(zip(table.columns.tolist(), (new - 1).tolist(), strict=True))
    return pd.Series(answers).map(mapping).to_numpy(dtype=np.int64)


def _pseudo(dev: float, dev0: float, n: int) -> dict[str, float]:
    cox = 1 - np.exp((dev - dev0) / n)
    return {"mcfadden": 1 - dev / dev0, "coxsnell": cox,
            "nagelkerke": cox / (1 - np.exp(-dev0 / n))}


def dif_item(answers: np.ndarray, theta: np.ndarray, group: np.ndarray, *,
             min_cell: int = 5) -> dict[str, float]:
    """Lordif's three models for one item.

    Parameters
    ----------
    answers : array, shape (n,)
        Item answers (no missing values).
    theta : array, shape (n,)
        Matching variable (sum score or trait estimate).
    group : array, shape (n,)
        Group labels (>= 2 levels; the first in sorted order is the reference).
    min_cell : int
        lordif ``minCell``.

    Returns
    -------
    dict
        ``n``, ``ncat`` (after collapsing), ``chi12``, ``chi13``, ``chi23`` (LR chi-square),
        ``df12``, ``df13``, ``df23``, ``p12``, ``p13``, ``p23``, ``beta12``,
        ``r2_{mcfadden,nagelkerke,coxsnell}_{1,2,3}`` and their changes ``_12``, ``_13``,
        ``_23`` (not rounded; lordif rounds to 4 decimals).
    """
    y = collapse_categories(np.asarray(answers), np.asarray(group), min_cell)
    th = np.asarray(theta, dtype=float)
    levels = sorted(pd.unique(np.asarray(group)).tolist(), key=str)
    dummies = np.column_stack([(np.asarray(group) == lv).astype(float) for lv in levels[1:]])
    x1 = th[:, None]
    x2 = np.column_stack([th, dummies])
    x3 = np.column_stack([th, dummies, dummies * th[:, None]])
    f1, f2, f3 = (fit_proportional_odds(y, x) for x in (x1, x2, x3))
    g = len(levels)
    n = len(y)
    out: dict[str, float] = {"n": n, "ncat": int(y.max()) + 1,
                             "chi12": f1.deviance - f2.deviance,
                             "chi13": f1.deviance - f3.deviance,
                             "chi23": f2.deviance - f3.deviance,
                             "df12": g - 1, "df13": 2 * (g - 1), "df23": g - 1,
                             "beta12": abs((f2.coef[0] - f1.coef[0]) / f1.coef[0]),
                             "converged": f1.converged and f2.converged and f3.converged}
    for pair in ("12", "13", "23"):
        out[f"p{pair}"] = float(stats.chi2.sf(max(out[f"chi{pair}"], 0.0), out[f"df{pair}"]))
    r2 = [_pseudo(f.deviance, f1.null_deviance, n) for f in (f1, f2, f3)]
    for kind in ("mcfadden", "nagelkerke", "coxsnell"):
        for i in range(3):
            out[f"r2_{kind}_{i + 1}"] = r2[i][kind]
        out[f"r2_{kind}_12"] = r2[1][kind] - r2[0][kind]
        out[f"r2_{kind}_13"] = r2[2][kind] - r2[0][kind]
        out[f"r2_{kind}_23"] = r2[2][kind] - r2[1][kind]
    return out


@dataclass
class DifResult:
    """DIF of a scale's items for one grouping.

    ``table``: one row per item (:func:`dif_item` statistics, ``flagged``); ``flagged``: the
    items flagged; ``n``: pupils analysed; ``excluded``: reasons -> counts; ``iterations``
    of purification; ``settings``: the criterion and thresholds, the matching variable and
    ``stable`` (False when purification cycled or reached ``max_iter``).
    """

    table: pd.DataFrame
    flagged: list[str]
    n: int
    excluded: dict[str, int]
    iterations: int
    settings: dict[str, object] = field(default_factory=dict)


def _flags(table: pd.DataFrame, criterion: str, alpha: float, r2_change: float,
           pseudo_r2: str, beta_change: float) -> pd.Series:
    if criterion == "chisqr":
        return (table["p12"] <= alpha) | (table["p13"] <= alpha) | (table["p23"] <= alpha)
    if criterion == "r2":
        return table[f"r2_{pseudo_r2}_13"] >= r2_change
    return table["beta12"] >= beta_change


def dif_scale(
    items: pd.DataFrame,
    group: pd.Series | Sequence[object],
    *,
    theta: np.ndarray | None = None,
    criterion: str = "chisqr",
    alpha: float = 0.01,
    r2_change: float = 0.02,
    pseudo_r2: str = "mcfadden",
    beta_change: float = 0.1,
    min_cell: int = 5,
    min_group: int = 10,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    purify: bool = True,
    max_iter: int = 10,
) -> DifResult:
    """DIF of every item of a scale for one grouping, lordif style.

    Parameters
    ----------
    items : DataFrame, shape (n, m)
        Keyed item answers (rows = pupils, columns = item ids), numeric codes.
    group : Series or sequence, length n
        Group of each pupil (sex, grade ...); missing = excluded.
    theta : array, shape (n,), optional
        Matching variable; default the sum of the (anchor) items.
    criterion : {"chisqr", "r2", "beta"}
        lordif's ``criterion``; ``alpha``, ``r2_change``, ``pseudo_r2``
        (``mcfadden`` / ``nagelkerke`` / ``coxsnell``) and ``beta_change`` as in lordif.
    min_cell : int
        Categories with fewer pupils in a group are merged (lordif ``minCell``).
    min_group : int
        Groups with fewer pupils (after the other exclusions) are left out, counted in
        ``excluded`` and listed in ``settings["groups_dropped"]``; every group's n is in
        ``settings["group_n"]``. A logistic model per item with a group of 3 pupils is not
        estimable (lordif has no such rule: it fails on the whole analysis instead).
    bounds : mapping item -> (min code, max code), optional
        Declared codes (``Instrument.item_bounds``): a row with an answer outside them or not
        a whole number is excluded and counted, as the scoring engine refuses it.
    purify : bool
        Re-compute the sum score on the items not flagged until the flags are stable
        (ignored when ``theta`` is given).
    max_iter : int

    Returns
    -------
    DifResult
        Rows with a missing answer or group are excluded (counted in ``excluded``).

    Raises
    ------
    ValueError
        Unknown criterion, fewer than two groups of ``min_group`` pupils or more, or fewer
        than two items.
    """
    criterion, pseudo_r2 = criterion.lower(), pseudo_r2.lower()
    if criterion not in ("chisqr", "r2", "beta"):
        raise ValueError(f"unknown criterion {criterion!r}; use chisqr, r2 or beta")
    if pseudo_r2 not in ("mcfadden", "nagelkerke", "coxsnell"):
        raise ValueError(f"unknown pseudo R2 {pseudo_r2!r}")
    if items.shape[1] < 2:
        raise ValueError("DIF needs a scale of two items or more")
    grp = pd.Series(list(group), index=items.index, dtype=object)
    miss_group = grp.isna() | (grp.astype(str).str.strip() == "")
    miss_item = items.isna().any(axis=1) & ~miss_group
    bad = pd.Series(False, index=items.index)
    for item, (lo, hi) in (bounds or {}).items():
        if item in items:
            v = pd.to_numeric(items[item], errors="coerce")
            bad |= v.notna() & ((v < lo) | (v > hi) | (v != np.round(v)))
    bad &= ~(miss_group | miss_item)
    keep = ~(miss_group | miss_item | bad)
    if theta is not None:
        th_all = pd.Series(np.asarray(theta, dtype=float), index=items.index)
        miss_theta = th_all.isna() & keep
        keep &= ~miss_theta
    sizes = grp[keep].astype(str).value_counts()
    small = sizes[sizes < min_group]
    keep &= ~grp.astype(str).isin(small.index)
    data = items[keep].astype(float)
    g = grp[keep].astype(str).to_numpy()
    if len(pd.unique(g)) < 2:
        detail = ", ".join(f"{k}: n = {v}" for k, v in sizes.sort_index().items())
        raise ValueError(f"DIF needs at least two groups of {min_group} pupils or more "
                         f"(groups: {detail or 'none'})")
    excluded = {"group missing": int(miss_group.sum()),
                "an item unanswered": int(miss_item.sum())}
    if bounds:
        excluded["an answer outside the declared codes"] = int(bad.sum())
    if theta is not None:
        excluded["matching score missing"] = int(miss_theta.sum())
    if len(small):
        excluded[f"group under {min_group} pupils"] = int(small.sum())
    flagged: list[str] = []
    seen: list[list[str]] = []
    stable = False
    iterations = 0
    table = pd.DataFrame()
    for iterations in range(1, max_iter + 1):  # noqa: B007 - reported
        anchors = [c for c in data.columns if c not in flagged] or list(data.columns)
        th = (th_all[keep].to_numpy() if theta is not None
              else data[anchors].sum(axis=1).to_numpy())
        rows = []
        for item in data.columns:
            try:
                res = dif_item(data[item].to_numpy(), th, g, min_cell=min_cell)
                rows.append({"item": item, **res, "note": ""})
            except (ValueError, np.linalg.LinAlgError) as exc:
                rows.append({"item": item, "note": str(exc)})
        table = pd.DataFrame(rows)
        for col in ("p12", "p13", "p23", f"r2_{pseudo_r2}_13", "beta12"):
            if col not in table:
                table[col] = np.nan
        table["flagged"] = _flags(table, criterion, alpha, r2_change, pseudo_r2,
                                  beta_change).fillna(False).astype(bool)
        new = table.loc[table["flagged"], "item"].tolist()
        if theta is not None or not purify or new == flagged:
            flagged, stable = new, True
            break
        if new in seen:  # the flags cycle: stop, say so
            flagged = new
            break
        seen.append(new)
        flagged = new
    return DifResult(table, flagged, int(keep.sum()), excluded, iterations, {
        "criterion": criterion, "alpha": alpha, "r2_change": r2_change,
        "pseudo_r2": pseudo_r2, "beta_change": beta_change, "min_cell": min_cell,
        "matching": "given theta" if theta is not None else (
            "sum score of anchor items (purified)" if purify else "sum score"),
        "stable": stable, "min_group": min_group,
        "groups": sorted(pd.unique(g).tolist()),
        "group_n": {str(k): int(v) for k, v in sizes.sort_index().items()
                    if k not in small.index},
        "groups_dropped": {str(k): int(v) for k, v in small.sort_index().items()}})
