"""Split-half reliability over all or sampled splits (psych::splitHalf)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xinli_screen._analysis import (
    AnalysisError,
    ItemSet,
    check_missing,
    check_usable,
    prepare,
    warn_singular,
)
from xinli_screen._analysis_results import ResultMixin, ScaleResults, run_sets
from xinli_screen._moments import cov2cor, is_singular, pairwise_moments, smc
from xinli_screen.reliability.keys import InstrumentArg


@dataclass(frozen=True, eq=False)
class SplitHalfResult(ResultMixin):
    """Split-half reliabilities over all (or sampled) splits into two halves.

    Attributes
    ----------
    max_split : float
        Largest split-half reliability (Guttman's lambda-4; psych ``maxrb``).
    min_split : float
        Smallest (Revelle's beta estimate; psych ``minrb``).
    mean_split : float
        Mean over the splits (psych ``meanr``).
    n_splits : int
        Splits evaluated.
    exhaustive : bool
        True when every distinct split was evaluated (else ``n_sample`` random splits).
    alpha : float
        Alpha of the same (standardised or raw) matrix.
    lambda2, lambda6 : float
        Guttman's lambda-2 and lambda-6.
    average_r, median_r : float
        Inter-item correlations (or covariances when ``standardized=False``).
    standardized : bool
        Computed on correlations (default, psych ``covar = FALSE``) or covariances.
    n_obs, n_rows, n_items : int
    missing : {"pairwise", "listwise"}
    reversed_items : tuple of str
    max_split_items, min_split_items : tuple of str
        Items of the first half of the best and worst split.
    group, scale : optional labels
    warnings : tuple of str
        Messages of the warnings issued (a singular correlation matrix: fewer respondents
        than items; R psych::splitHalf warns "Matrix was not positive definite").
    """

    max_split: float
    min_split: float
    mean_split: float
    n_splits: int
    exhaustive: bool
    alpha: float
    lambda2: float
    lambda6: float
    average_r: float
    median_r: float
    standardized: bool
    n_obs: int
    n_rows: int
    n_items: int
    missing: str
    reversed_items: tuple[str, ...]
    max_split_items: tuple[str, ...] = ()
    min_split_items: tuple[str, ...] = ()
    group: Any = None
    scale: str | None = None
    warnings: tuple[str, ...] = ()

    _title = "Split-half reliability"


def _splits(k: int, n_sample: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    m = k // 2
    # even k: only halves containing item 0, so that each split is counted once
    count = math.comb(k - 1, m - 1) if k % 2 == 0 else math.comb(k, m)
    if count <= n_sample:
        if k % 2 == 0:
            combos = [(0, *c) for c in itertools.combinations(range(1, k), m - 1)]
        else:
            combos = list(itertools.combinations(range(k), m))
        a = np.zeros((len(combos), k))
        for row, c in enumerate(combos):
            a[row, list(c)] = 1.0
        return a, True
    a = np.zeros((n_sample, k))
    for row in range(n_sample):
        a[row, rng.choice(k, size=m, replace=False)] = 1.0
    return a, False


def _split_one(s: ItemSet, standardized: bool, n_sample: int, rng: np.random.Generator
               ) -> SplitHalfResult:
    k = s.n_items
    if k < 2:
        raise AnalysisError(f"split_half for {s.label}: needs at least 2 items")
    n_pair, c, _ = pairwise_moments(s.x)
    check_usable(s, c, n_pair, "split_half")
    msgs: tuple[str, ...] = ()
    if s.n_obs <= k or is_singular(cov2cor(c)):
        msgs = (warn_singular(s, "split_half"),)
    r = cov2cor(c) if standardized else c
    total = float(r.sum())
    off = r.copy()
    np.fill_diagonal(off, 0.0)
    sum_off = total - float(np.trace(r))
    low = r[np.tril_indices(k, -1)]
    item_smc = smc(cov2cor(r))
    tsmc = float(item_smc.sum()) if standardized else float((item_smc * np.diag(r)).sum())
    a, exhaustive = _splits(k, n_sample, rng)
    ar = a @ r
    cab = (ar * (1 - a)).sum(axis=1)
    rab = 4 * cab / total
    i_max, i_min = int(np.argmax(rab)), int(np.argmin(rab))
    names = np.array(s.items)
    return SplitHalfResult(
        max_split=float(rab[i_max]), min_split=float(rab[i_min]), mean_split=float(rab.mean()),
        n_splits=len(rab), exhaustive=exhaustive, alpha=sum_off / total * k / (k - 1),
        lambda2=(sum_off + math.sqrt(float((off ** 2).sum()) * k / (k - 1))) / total,
        lambda6=(sum_off + tsmc) / total, average_r=float(low.mean()),
        median_r=float(np.median(low)), standardized=standardized, n_obs=s.n_obs,
        n_rows=s.n_rows, n_items=k, missing=s.missing,
        reversed_items=tuple(i for i, kk in zip(s.items, s.keys, strict=True) if kk < 0),
        max_split_items=tuple(names[a[i_max] == 1]), min_split_items=tuple(names[a[i_min] == 1]),
        group=s.group, scale=s.scale, warnings=msgs)


def split_half(items: Any, keys: Any = None, missing: str = "pairwise", *,
               scale_range: tuple[float, float] | None = None, standardized: bool = True,
               n_sample: int = 10000, random_state: int | np.random.Generator | None = None,
               instrument: InstrumentArg = None, scales: Sequence[str] | None = None,
               by: str | None = None) -> SplitHalfResult | ScaleResults:
    """Split-half reliability: maximum (lambda-4), minimum (beta) and mean over splits.

    Parameters
    ----------
    items, keys, missing, scale_range, instrument, scales, by
        As :func:`cronbach_alpha`.
    standardized : bool
        Use the correlation matrix (psych's default) or the covariance matrix.
    n_sample : int
        Evaluate every split when there are at most this many, else this many random splits
        (then max/min are estimates and ``exhaustive`` is False).
    random_state : int or numpy Generator, optional
        Seed for sampled splits.

    Returns
    -------
    SplitHalfResult, or ScaleResults when ``by`` or ``instrument`` is given.

    Raises
    ------
    AnalysisError, ResponseDataError
        As :func:`cronbach_alpha`.

    Notes
    -----
    A split puts :math:`\\lfloor k/2 \\rfloor` items in half *A* and the rest in *B*; its
    reliability is the Flanagan-Rulon / Guttman coefficient
    :math:`4\\,C_{AB} / V_t` (:math:`C_{AB}` the covariance of the half sums, :math:`V_t` the
    variance of the total), as psych::splitHalf. For even *k* each split is counted once; for
    odd *k* all :math:`\\binom{k}{\\lfloor k/2 \\rfloor}` splits are distinct and all are used.
    psych 2.2.9 evaluates only the first half of them for odd *k* (so its mean, and possibly
    its minimum and maximum, differ; e.g. bfi agreeableness: mean 0.6715 in psych, 0.6845 over
    all ten splits).

    References
    ----------
    .. [1] Guttman L. A basis for analyzing test-retest reliability. Psychometrika.
       1945;10(4):255-282. doi:10.1007/BF02288892
    .. [2] Revelle W. Hierarchical cluster analysis and the internal structure of tests.
       Multivariate Behav Res. 1979;14(1):57-74. doi:10.1207/s15327906mbr1401_4

    Examples
    --------
    >>> # R: psych::splitHalf(bfi[1:5], key = c(-1, 1, 1, 1, 1))  # max 0.7553, min 0.6156
    >>> # split_half(bfi[["A1", ..., "A5"]], keys=["A1"], scale_range=(1, 6))
    """
    check_missing(missing)
    if not (isinstance(n_sample, int) and n_sample >= 1):
        raise AnalysisError(f"n_sample must be a positive integer; got {n_sample!r}")
    rng = (random_state if isinstance(random_state, np.random.Generator)
           else np.random.default_rng(random_state))
    prepared = prepare(items, keys=keys, scale_range=scale_range, instrument=instrument,
                       scales=scales, by=by, missing=missing)
    return run_sets(prepared, lambda s: _split_one(s, standardized, n_sample, rng),
                    "split_half")
