"""Polychoric correlations of ordinal items, as R ``psych::polychoric`` (psych 2.2.9).

Each pair of items is taken to be two cut-up standard normal variables with correlation rho:
the thresholds (cut points) of an item are the normal quantiles of its cumulative answer
proportions, and rho maximises the likelihood of the pair's contingency table given the
thresholds (Olsson 1979, two-step estimator). The matrix feeds ordinal alpha (Zumbo,
Gadermann & Zeisser 2007: alpha of the polychoric matrix, R ``alpha(polychoric(x)$rho)``) and
ordinal omega (R ``omega(x, poly = TRUE)``) through ``ordinal=True`` of
:func:`xinli_screen.cronbach_alpha` and :func:`xinli_screen.mcdonald_omega`.

Choices, all as psych:

- **Thresholds.** When every item uses the same number of categories (``global``), each item's
  thresholds come from all its answers, and each pair's table only from the respondents who
  answered both (pairwise). Otherwise (R: "The items do not have an equal number of response
  alternatives, global set to FALSE") thresholds come from each pair's own table, after
  dropping empty rows and columns and replacing empty cells by 0.5 (``correct = 0.5``), with
  R's warning that cells were adjusted.
- **Estimation.** rho by Brent's bounded minimisation on (-1, 1) with R ``optimize``'s
  tolerance (``.Machine$double.eps^0.25``); cell probabilities from the bivariate normal
  distribution function, computed exactly with Owen's T function (R psych uses
  ``mnormt::sadmvn``, a numerical integration to 1e-6).
- **Smoothing.** A matrix that is not positive definite is smoothed as ``psych::cor.smooth``
  (eigenvalues below 1e-12 set to 1e-10, rescaled to sum k, back to a correlation matrix),
  with R's warning.
- **Categories.** Answers must be category codes: the instrument's declared codes, or (without
  an instrument) whole numbers, at most 8 distinct values (R ``max.cat = 8``). Anything else is
  refused, naming the item, the row and the value.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

from xinli_screen._analysis import (
    AnalysisError,
    ItemSet,
    SmallSampleWarning,
    _as_frame,
    _load_instrument,
    check_answered,
    check_missing,
    prepare,
)
from xinli_screen._analysis_results import ResultMixin, ScaleResults, run_sets
from xinli_screen.errors import ResponseDataError
from xinli_screen.instrument.models import Instrument
from xinli_screen.reliability.keys import InstrumentArg

__all__ = ["MAX_CATEGORIES", "PolychoricResult", "check_categories", "cor_smooth",
           "ordinal_categories", "polychoric", "polychoric_matrix"]

#: R psych ``polychoric(max.cat = 8)``: more categories are not treated as ordinal.
MAX_CATEGORIES = 8
#: R ``optimize``'s default tolerance, ``.Machine$double.eps^0.25``.
_R_OPTIMIZE_TOL = float(np.finfo(float).eps ** 0.25)


@dataclass(frozen=True, eq=False)
class PolychoricResult(ResultMixin):
    """Polychoric correlation matrix of one item set.

    Attributes
    ----------
    rho : DataFrame, shape (k, k)
        Polychoric correlations (smoothed when ``smoothed``), items as index and columns.
    tau : DataFrame
        Thresholds: one row per item, one column per cut point (``t1`` ... ``t{c-1}``); from
        all the item's answers when ``global_thresholds``.
    n_obs, n_rows, n_items : int
    missing : {"pairwise", "listwise"}
    items, reversed_items : tuple of str
    categories : tuple of float
        The category codes (after keying).
    global_thresholds : bool
        psych ``global``: every item has the same number of categories in use.
    n_corrected_cells : int
        Empty cells replaced by 0.5 (only without global thresholds, as psych).
    smoothed : bool
        The matrix was not positive definite and was smoothed (``psych::cor.smooth``).
    group, scale : optional labels
    warnings : tuple of str
    """

    rho: pd.DataFrame
    tau: pd.DataFrame
    n_obs: int
    n_rows: int
    n_items: int
    missing: str
    items: tuple[str, ...]
    reversed_items: tuple[str, ...]
    categories: tuple[float, ...]
    global_thresholds: bool
    n_corrected_cells: int
    smoothed: bool
    group: Any = None
    scale: str | None = None
    warnings: tuple[str, ...] = field(default=())

    _title = "Polychoric correlations"
    _not_scalars = ("items", "categories")


# --------------------------------------------------------------------------------------------
# bivariate normal


def _phi2(h: np.ndarray, k: np.ndarray, rho: float) -> np.ndarray:
    """Bivariate standard normal distribution function P(X <= h, Y <= k), corr ``rho``.

    Owen (1956): :math:`\\Phi_2(h,k;\\rho) = \\tfrac12\\Phi(h) + \\tfrac12\\Phi(k) - T(h, a_h)
    - T(k, a_k) - \\beta`, :math:`a_h = (k - \\rho h)/(h\\sqrt{1-\\rho^2})`, :math:`a_k` alike,
    :math:`\\beta = \\tfrac12` when :math:`hk < 0` (or one is 0 and :math:`h + k < 0`), else 0;
    :math:`\\Phi_2(0,0;\\rho) = \\tfrac14 + \\arcsin(\\rho)/(2\\pi)`. Infinite limits give the
    margins (or 0).
    """
    h, k = np.broadcast_arrays(np.asarray(h, dtype=float), np.asarray(k, dtype=float))
    out = np.zeros(h.shape)
    lo = np.isneginf(h) | np.isneginf(k)
    h_inf, k_inf = np.isposinf(h), np.isposinf(k)
    out[h_inf & ~lo] = special.ndtr(k[h_inf & ~lo])
    out[k_inf & ~lo] = special.ndtr(h[k_inf & ~lo])
    out[h_inf & k_inf] = 1.0
    fin = np.isfinite(h) & np.isfinite(k)
    hh, kk = h[fin], k[fin]
    s = math.sqrt(max(1.0 - rho * rho, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        a_h = np.where(hh == 0, np.copysign(np.inf, kk - rho * hh), (kk - rho * hh) / (hh * s))
        a_k = np.where(kk == 0, np.copysign(np.inf, hh - rho * kk), (hh - rho * kk) / (kk * s))
    beta = np.where((hh * kk > 0) | ((hh * kk == 0) & (hh + kk >= 0)), 0.0, 0.5)
    val = (0.5 * special.ndtr(hh) + 0.5 * special.ndtr(kk) - special.owens_t(hh, a_h)
           - special.owens_t(kk, a_k) - beta)
    both0 = (hh == 0) & (kk == 0)
    val[both0] = 0.25 + math.asin(rho) / (2 * math.pi)
    out[fin] = val
    return out


def _cell_probs(rho: float, rc: np.ndarray, cc: np.ndarray) -> np.ndarray:
    """Cell probabilities of the table cut at ``rc`` (rows) and ``cc`` (columns)
    (psych ``polyBinBvn``): rectangle probabilities by inclusion-exclusion."""
    rcuts = np.concatenate([[-np.inf], rc, [np.inf]])
    ccuts = np.concatenate([[-np.inf], cc, [np.inf]])
    grid = _phi2(rcuts[:, None], ccuts[None, :], rho)
    return grid[1:, 1:] - grid[:-1, 1:] - grid[1:, :-1] + grid[:-1, :-1]


def _fit_rho(tab: np.ndarray, rc: np.ndarray, cc: np.ndarray) -> float:
    """rho maximising sum(tab * log P) (psych ``polyF``: cells with P <= 0 are left out)."""

    def neg_loglik(rho: float) -> float:
        p = _cell_probs(rho, rc, cc)
        ok = p > 0
        return -float((tab[ok] * np.log(p[ok])).sum())

    res = optimize.minimize_scalar(neg_loglik, bounds=(-1.0, 1.0), method="bounded",
                                   options={"xatol": _R_OPTIMIZE_TOL})
    return float(res.x)


def _quantiles(p: np.ndarray) -> np.ndarray:
    return special.ndtri(np.clip(p, 0.0, 1.0))


# --------------------------------------------------------------------------------------------
# matrix


def cor_smooth(r: np.ndarray, eig_tol: float = 1e-12) -> tuple[np.ndarray, bool]:
    """``psych::cor.smooth``: make a correlation matrix positive definite.

    Eigenvalues below ``eig_tol`` become ``100 * eig_tol``, all are rescaled to sum to k, the
    matrix is rebuilt and rescaled to a unit diagonal (``cov2cor``). Applied only when the
    smallest eigenvalue is below machine epsilon, as psych.

    Returns
    -------
    (matrix, smoothed)
    """
    values, vectors = np.linalg.eigh(r)
    if values.min() >= np.finfo(float).eps:
        return r, False
    values = np.where(values < eig_tol, 100 * eig_tol, values)
    values = values * r.shape[0] / values.sum()
    x = (vectors * values) @ vectors.T
    d = np.sqrt(np.diag(x))
    x = x / np.outer(d, d)
    np.fill_diagonal(x, 1.0)
    return x, True


def polychoric_matrix(x: np.ndarray, categories: Sequence[float], smooth: bool = True
                      ) -> dict[str, Any]:
    """Polychoric correlations of the columns of ``x`` (codes in ``categories``, NaN missing).

    Parameters
    ----------
    x : ndarray, shape (n, k)
        Category codes; NaN = missing (pairs use the respondents who answered both).
    categories : sequence of float
        The ordered category codes.
    smooth : bool
        Smooth a non-positive-definite result (``psych::cor.smooth``).

    Returns
    -------
    dict
        ``rho`` (k, k), ``tau`` (k, c-1), ``global`` (bool), ``corrected`` (int, empty cells
        replaced), ``smoothed`` (bool).

    Notes
    -----
    R: ``psych::polychoric(x, smooth = TRUE, global = TRUE, correct = 0.5)$rho``. Category
    positions run over the observed range of codes (R shifts by the global minimum and
    tabulates up to the global maximum), so a category nobody used at either end is dropped.
    """
    cats = np.asarray(sorted(categories), dtype=float)
    k = x.shape[1]
    idx = np.full(x.shape, -1, dtype=int)
    for c, code in enumerate(cats):
        idx[x == code] = c
    used = idx[idx >= 0]
    lo, hi = int(used.min()), int(used.max())
    idx = np.where(idx >= 0, idx - lo, -1)
    n_cat = hi - lo + 1
    answered = idx >= 0
    freq = np.stack([(idx == c).sum(axis=0) for c in range(n_cat)])  # (n_cat, k)
    item_max = np.array([idx[answered[:, j], j].max() for j in range(k)])
    global_ = bool((item_max == item_max.max()).all())
    with np.errstate(invalid="ignore", divide="ignore"):
        prop = freq / freq.sum(axis=0)
    tau = _quantiles(np.cumsum(prop, axis=0)[:-1]).T  # (k, n_cat - 1)
    rho = np.eye(k)
    corrected = 0
    for i in range(1, k):
        for j in range(i):
            both = answered[:, i] & answered[:, j]
            tab = np.bincount(idx[both, i] * n_cat + idx[both, j],
                              minlength=n_cat * n_cat).reshape(n_cat, n_cat).astype(float)
            tot = tab.sum()
            if tot == 0:
                rho[i, j] = rho[j, i] = np.nan
                continue
            tab = tab / tot
            if global_:
                value = _fit_rho(tab, tau[i], tau[j])
            else:
                tab = tab[tab.any(axis=1)][:, tab.any(axis=0)]
                if (tab == 0).any():
                    corrected += 1
                    tab[tab == 0] = 0.5 / tot
                if min(tab.shape) < 2:
                    value = np.nan
                else:
                    rc = _quantiles(np.cumsum(tab.sum(axis=1))[:-1])
                    cc = _quantiles(np.cumsum(tab.sum(axis=0))[:-1])
                    value = _fit_rho(tab, rc, cc)
            rho[i, j] = rho[j, i] = value
    smoothed = False
    if smooth and np.isfinite(rho).all():
        rho, smoothed = cor_smooth(rho)
    return {"rho": rho, "tau": tau, "global": global_, "corrected": corrected,
            "smoothed": smoothed, "n_cat": n_cat}


# --------------------------------------------------------------------------------------------
# categories


def describe_value(value: Any) -> str:
    """A cell for a message without echoing what a pupil or a clerk typed: small numbers
    (below 1,000 in size, the range of answer codes and scores) are shown; a larger number
    only by its digit count (it may be a student number or a phone number); anything else
    by its kind and length (a text cell may hold a name).

    >>> describe_value(7.0), describe_value("3"), describe_value("张三 电话")
    ('value 7', 'value 3', 'a text value (5 characters)')
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return "a true/false value"
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return f"a text value ({len(value)} characters)"
    elif isinstance(value, int | float):
        number = float(value)
    else:
        return f"a {type(value).__name__} value"
    if not np.isfinite(number):
        return f"value {number}"
    if abs(number) < 1000:
        return f"value {number:g}"
    return f"a number with {len(str(int(abs(number))))} digits"


def check_categories(items: Any, *, instrument: InstrumentArg = None,
                     columns: Sequence[str] | None = None) -> tuple[float, ...]:
    """The category codes of ordinal items; refuse any other value.

    Parameters
    ----------
    items : DataFrame
        Raw answers (before reverse keying).
    instrument : optional
        Its declared response codes are the categories (per item).
    columns : sequence of str, optional
        The item columns to check (default: all, or the instrument's item columns present).

    Returns
    -------
    tuple of float
        The categories (declared codes, or the whole numbers observed).

    Raises
    ------
    ResponseDataError
        A value that is not a category: names the item, the row (0-based position in the
        table, as ``row`` in the failures table) and the value if it is a number (text only
        by its kind and length, :func:`describe_value`: never echoed).
    AnalysisError
        Without an instrument, more than :data:`MAX_CATEGORIES` distinct values.
    """
    frame = _as_frame(items)
    if instrument is not None:
        inst: Instrument = _load_instrument(instrument)
        by_id = {i.id: i for i in inst.items}
        cols = list(columns) if columns is not None else [c for c in inst.item_ids
                                                           if c in frame.columns]
        allowed = {c: inst.response_scale_of(by_id[c]).codes for c in cols}
    else:
        cols = list(columns) if columns is not None else list(frame.columns)
        allowed = None
    cats: set[float] = set()
    for col in cols:
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        raw_missing = frame[col].isna().to_numpy()
        codes = (np.asarray(allowed[col], dtype=float) if allowed is not None else None)
        bad = (~raw_missing & np.isnan(values)) | (
            ~np.isnan(values) & (~np.isin(values, codes) if codes is not None
                                 else (values != np.round(values))))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            expect = (f"one of the categories {[int(c) for c in codes]}" if codes is not None
                      else "a whole-number category code")
            raise ResponseDataError(
                f"polychoric correlations need ordinal categories: item {col!r}, row {row} "
                f"(0-based, as 'row' in the failures table; file row {row + 2} with one "
                f"header row): {describe_value(frame[col].iloc[row])} is not {expect} "
                f"({int(bad.sum())} such value(s) in this item)")
        cats.update(np.unique(values[~np.isnan(values)]).tolist() if codes is None
                    else codes.tolist())
    if allowed is None and len(cats) > MAX_CATEGORIES:
        raise AnalysisError(
            f"polychoric correlations: the items take {len(cats)} different values; ordinal "
            f"items have at most {MAX_CATEGORIES} categories (R psych max.cat = "
            f"{MAX_CATEGORIES}): use Pearson correlations")
    return tuple(sorted(cats))


def ordinal_categories(items: Any, instrument: InstrumentArg, by: str | None
                       ) -> tuple[float, ...]:
    """Categories of the item columns of ``items`` (all but ``by`` without an instrument)."""
    frame = _as_frame(items)
    cols = None if instrument is not None else [c for c in frame.columns if c != by]
    return check_categories(frame, instrument=instrument, columns=cols)


def keyed_categories(categories: Sequence[float], s: ItemSet) -> tuple[float, ...]:
    """Categories after reverse keying ``lo + hi - x`` (a set symmetric in the range)."""
    cats = sorted(categories)
    if any(k < 0 for k in s.keys):
        return tuple(sorted({*cats, *(cats[0] + cats[-1] - c for c in cats)}))
    return tuple(cats)


def polychoric_of(s: ItemSet, categories: Sequence[float], what: str) -> dict[str, Any]:
    """Polychoric matrix of an item set, with psych's warnings (used by ordinal alpha/omega)."""
    check_answered(s, what)
    if s.n_obs < 3:
        raise AnalysisError(f"{what} for {s.label}: needs at least 3 respondents; got "
                            f"{s.n_obs}")
    const = [s.items[j] for j in range(s.n_items)
             if np.unique(s.x[~np.isnan(s.x[:, j]), j]).size < 2]
    if const:
        raise AnalysisError(f"{what} for {s.label}: item(s) {const[:5]} use a single category "
                            "(no variance); a polychoric correlation needs two")
    out = polychoric_matrix(s.x, keyed_categories(categories, s))
    msgs = []
    if not out["global"]:
        msgs.append(f"{what} for {s.label}: the items do not use the same number of "
                    "categories, so thresholds come from each pair's table (R psych: 'global "
                    "set to FALSE')")
    if out["corrected"]:
        msgs.append(f"{what} for {s.label}: {out['corrected']} item pair(s) had empty cells, "
                    "replaced by 0.5 (R psych: 'cells were adjusted for 0 values using the "
                    "correction for continuity')")
    if out["smoothed"]:
        msgs.append(f"{what} for {s.label}: the polychoric matrix was not positive definite "
                    "and was smoothed (psych::cor.smooth; R: 'Matrix was not positive "
                    "definite, smoothing was done'); more respondents would help")
    if not np.isfinite(out["rho"]).all():
        raise AnalysisError(f"{what} for {s.label}: some item pairs were never answered "
                            "together; use missing='listwise' or drop an item")
    for msg in msgs:
        warnings.warn(SmallSampleWarning(msg), stacklevel=5)
    out["warnings"] = tuple(msgs)
    return out


def polychoric(items: Any, keys: Any = None, missing: str = "pairwise", *,
               scale_range: tuple[float, float] | None = None,
               instrument: InstrumentArg = None, scales: Sequence[str] | None = None,
               by: str | None = None) -> PolychoricResult | ScaleResults:
    """Polychoric correlations of ordinal items, as R ``psych::polychoric``.

    Parameters
    ----------
    items : DataFrame, shape (n_respondents, n_items)
        Category codes (whole numbers, or an instrument's declared codes), NaN = missing.
    keys, missing, scale_range, instrument, scales, by
        As :func:`xinli_screen.cronbach_alpha`. Reverse keying maps codes onto codes.

    Returns
    -------
    PolychoricResult, or ScaleResults when ``by`` or ``instrument`` is given.

    Raises
    ------
    ResponseDataError
        A value that is not a category code (names item, row and value).

    Notes
    -----
    Two-step estimator (Olsson 1979): thresholds
    :math:`\\tau_{jc} = \\Phi^{-1}(P(X_j \\le c))`, then for each pair
    :math:`\\hat\\rho = \\arg\\max_\\rho \\sum_{ab} p_{ab} \\ln \\pi_{ab}(\\rho, \\tau)`, with
    :math:`\\pi_{ab}` the bivariate normal rectangle probabilities. R:
    ``psych::polychoric(x)$rho`` (psych 2.2.9); see the module notes for the details it
    follows (global thresholds, 0.5 correction, ``cor.smooth``).

    References
    ----------
    .. [1] Olsson U. Maximum likelihood estimation of the polychoric correlation coefficient.
       Psychometrika. 1979;44(4):443-460. doi:10.1007/BF02296207

    Examples
    --------
    >>> import pandas as pd
    >>> from xinli_screen.reliability import polychoric
    >>> df = pd.DataFrame({"a": [0, 1, 2, 3, 1, 2, 0, 3, 2, 1],
    ...                    "b": [0, 1, 3, 3, 1, 2, 1, 2, 2, 0]})
    >>> round(float(polychoric(df).rho.loc["a", "b"]), 2)
    0.89
    """
    check_missing(missing)
    frame = _as_frame(items)
    categories = ordinal_categories(frame, instrument, by)
    prepared = prepare(frame, keys=keys, scale_range=scale_range, instrument=instrument,
                       scales=scales, by=by, missing=missing)

    def compute(s: ItemSet) -> PolychoricResult:
        out = polychoric_of(s, categories, "polychoric")
        names = list(s.items)
        tau = pd.DataFrame(out["tau"], columns=[f"t{c + 1}" for c in range(out["n_cat"] - 1)])
        tau.insert(0, "item", names)
        return PolychoricResult(
            rho=pd.DataFrame(out["rho"], index=names, columns=names), tau=tau,
            n_obs=s.n_obs, n_rows=s.n_rows, n_items=s.n_items, missing=s.missing,
            items=s.items,
            reversed_items=tuple(i for i, kk in zip(s.items, s.keys, strict=True) if kk < 0),
            categories=keyed_categories(categories, s), global_thresholds=out["global"],
            n_corrected_cells=out["corrected"], smoothed=out["smoothed"], group=s.group,
            scale=s.scale, warnings=out["warnings"])

    return run_sets(prepared, compute, "polychoric")
