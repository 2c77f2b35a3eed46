"""Exploratory factor analysis with fit statistics as psych::fa / psych::fa.stats."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from xinli_screen._analysis import AnalysisError, ItemSet, check_missing, prepare
from xinli_screen._analysis_results import ResultMixin, ScaleResults, run_sets
from xinli_screen.factor._common import (
    EXTRACTION_METHODS,
    ROTATIONS,
    FactorFitWarning,
    _correlation,
)
from xinli_screen.factor.extraction import (
    _align,
    _check_factors,
    degrees_of_freedom,
    extract,
    rotate,
)
from xinli_screen.instrument.models import Instrument


@dataclass(frozen=True, eq=False)
class EFAResult(ResultMixin):
    """Exploratory factor analysis: loadings, factor correlations and fit.

    Attributes
    ----------
    n_factors : int
    method : {"minres", "ml"}
    rotation : {"oblimin", "varimax", "promax"} or None
    n_obs, n_items : int
    missing : {"pairwise", "listwise"}
    objective : float
        ML discrepancy of the fitted correlation matrix
        :math:`F = \\mathrm{tr}(\\hat\\Sigma^{-1}R) - \\ln|\\hat\\Sigma^{-1}R| - p`.
    chi_square, df, p_value : float
        Bartlett-corrected likelihood-ratio test
        :math:`\\chi^2 = F\\,(n - 1 - (2p + 5)/6 - 2m/3)` (psych ``STATISTIC``).
    tli : float
        Tucker-Lewis index (psych ``TLI``).
    rmsea : float
        :math:`\\sqrt{\\max(\\chi^2/(df\\,n) - 1/(n-1), 0)}` (psych).
    rmsea_ci : (float, float)
        90 % interval from the noncentral chi-square (psych).
    bic : float
        :math:`\\chi^2 - df \\ln n`.
    rms, crms : float
        Root mean square off-diagonal residual (weighted by pairwise counts), and corrected for
        df (psych ``rms``, ``crms``).
    empirical_chi_square : float
        :math:`\\sum_{i \\ne j} n_{ij} (r_{ij} - \\hat r_{ij})^2` (psych ``chi``).
    null_chi_square, null_df : float
        Independence model.
    fit, fit_off : float
        1 - residual / observed sum of squared correlations (all / off-diagonal; psych).
    group, scale : optional labels
    loadings : DataFrame
        One row per item: ``item``, ``F1`` ... ``Fm`` (pattern loadings), ``h2``
        (communality), ``u2`` (uniqueness), ``complexity`` (Hofmann).
    factor_correlations : DataFrame
        ``factor`` then ``F1`` ... ``Fm`` (identity for orthogonal or no rotation).
    variance : DataFrame
        One row per factor: ``factor``, ``ss_loadings`` (diag(Phi L'L)), ``proportion_var``,
        ``cumulative_var``, ``proportion_explained``.
    """

    n_factors: int
    method: str
    rotation: str | None
    n_obs: int
    n_items: int
    missing: str
    objective: float
    chi_square: float
    df: float
    p_value: float
    tli: float
    rmsea: float
    rmsea_ci: tuple[float, float]
    bic: float
    rms: float
    crms: float
    empirical_chi_square: float
    null_chi_square: float
    null_df: float
    fit: float
    fit_off: float
    group: Any = None
    scale: str | None = None
    loadings: pd.DataFrame = field(default_factory=pd.DataFrame)
    factor_correlations: pd.DataFrame = field(default_factory=pd.DataFrame)
    variance: pd.DataFrame = field(default_factory=pd.DataFrame)

    _title = "Exploratory factor analysis"

    def loading_matrix(self) -> pd.DataFrame:
        """Loadings as a matrix: index = items, columns = F1 ... Fm."""
        cols = [f"F{j + 1}" for j in range(self.n_factors)]
        return self.loadings.set_index("item")[cols]


def _rmsea_interval(chisq: float, df: float, n: float, level: float = 0.90
                    ) -> tuple[float, float]:
    """psych::fa.stats interval: noncentrality roots, divided by (n - 1) df."""
    tail = (1 - level) / 2
    if not (df > 0 and math.isfinite(chisq)):
        return (math.nan, math.nan)
    upper_end = max(n, chisq) + 2 * n

    def root(target: float) -> float:
        f = lambda lam: stats.ncx2.cdf(chisq, df, lam) - target  # noqa: E731
        if f(1e-12) * f(upper_end) > 0:
            return math.nan
        return optimize.brentq(f, 1e-12, upper_end, xtol=1e-10)

    upper = 0.0
    if stats.chi2.cdf(chisq, df) > tail:
        lam = root(tail)
        upper = math.sqrt(lam / (n - 1) / df) if math.isfinite(lam) else math.nan
    lower = 0.0
    if stats.chi2.cdf(chisq, df) > 1 - tail:
        lam = root(1 - tail)
        lower = math.sqrt(lam / (n - 1) / df) if math.isfinite(lam) else math.nan
    return (lower, upper)


def _fa_stats(r: np.ndarray, loadings: np.ndarray, phi: np.ndarray | None, n_obs: int,
              n_pair: np.ndarray) -> dict[str, Any]:
    """Fit statistics exactly as psych::fa.stats (psych 2.2.9) with pairwise counts."""
    p, m = loadings.shape
    model = loadings @ (np.eye(m) if phi is None else phi) @ loadings.T
    residual = r - model
    r2 = float((r * r).sum())
    rstar2 = float((residual * residual).sum())
    dof = degrees_of_freedom(p, m)
    res_off = residual.copy()
    np.fill_diagonal(res_off, 0.0)
    rstar_off = float((res_off ** 2 * n_pair).sum())
    rr = r * r * n_pair
    r2_off = float(rr.sum() - np.trace(rr))
    nh = float(1 / np.mean(1 / n_pair))
    out: dict[str, Any] = {
        "empirical_chi_square": rstar_off,
        "rms": math.sqrt(rstar_off / (nh * p * (p - 1))),
        "crms": math.sqrt(rstar_off / (2 * nh * dof)) if dof > 0 else math.nan,
        "fit": 1 - rstar2 / r2,
        "fit_off": 1 - rstar_off / r2_off,
        "df": dof,
    }
    fitted = model.copy()
    np.fill_diagonal(fitted, np.diag(r))
    m_inv_r = np.linalg.solve(fitted, r)
    sign, logdet = np.linalg.slogdet(m_inv_r)
    objective = float(np.trace(m_inv_r) - logdet - p) if sign > 0 else math.nan
    nm = (n_obs - 1) - (2 * p + 5) / 6 - (2 * m) / 3
    chisq = max(objective * nm, 0.0)
    f0 = float(-np.linalg.slogdet(r)[1])
    m0 = f0 * 2 / (p * (p - 1))
    mm = objective / dof if dof != 0 else math.nan
    out.update({
        "objective": objective,
        "chi_square": chisq,
        "p_value": float(stats.chi2.sf(chisq, dof)) if dof > 0 else math.nan,
        "null_chi_square": f0 * ((n_obs - 1) - (2 * p + 5) / 6),
        "null_df": p * (p - 1) / 2,
        "tli": (m0 - mm) / (m0 - 1 / nm),
        "rmsea": (math.sqrt(max(chisq / (dof * n_obs) - 1 / (n_obs - 1), 0.0))
                  if dof > 0 else math.nan),
        "rmsea_ci": _rmsea_interval(chisq, dof, n_obs),
        "bic": chisq - dof * math.log(n_obs) if dof > 0 else math.nan,
    })
    return out


def efa(items: Any, n_factors: int, *, method: str = "minres",
        rotation: str | None = "oblimin", missing: str = "pairwise",
        instrument: str | Path | Instrument | None = None,
        scales: Sequence[str] | None = None, by: str | None = None
        ) -> EFAResult | ScaleResults:
    """Exploratory factor analysis (minres or ML; oblimin, varimax, promax or no rotation).

    Parameters
    ----------
    items : DataFrame, shape (n_respondents, n_items)
        Numeric codes, NaN = missing; every column except ``by`` is an item.
    n_factors : int
        Number of factors, 1 <= n_factors < n_items.
    method : {"minres", "ml"}
        Minimum residual (unweighted least squares) or maximum likelihood extraction.
    rotation : {"oblimin", "varimax", "promax", None}
        Oblique rotations also give the factor correlations.
    missing : {"pairwise", "listwise"}
    instrument, scales, by
        As :func:`kmo`; with an instrument the items are reverse keyed as declared, which
        changes only the signs of their loadings.

    Returns
    -------
    EFAResult, or ScaleResults when ``by`` or ``instrument`` is given.

    Raises
    ------
    AnalysisError
        Unknown method or rotation, ``n_factors`` out of range, or an unusable correlation
        matrix (see :func:`kmo`).

    Warns
    -----
    FactorFitWarning
        The optimiser did not converge, a Heywood case (communality >= .995), or a negative
        number of degrees of freedom (more parameters than correlations).

    Notes
    -----
    Factors are signed so that their loadings sum to >= 0 and ordered by the variance they
    account for (``diag(Phi L'L)``), as psych::fa. Fit statistics follow psych::fa.stats; the
    chi-square uses Bartlett's correction :math:`n - 1 - (2p+5)/6 - 2m/3`.

    References
    ----------
    .. [1] Revelle W. psych: Procedures for Psychological, Psychometric, and Personality
       Research. R package version 2.2.9. Northwestern University; 2022 (``fa``).
    .. [2] Jennrich RI. A simple general method for oblique rotation. Psychometrika.
       2002;67(1):7-19. doi:10.1007/BF02294706
    .. [3] Tucker LR, Lewis C. A reliability coefficient for maximum likelihood factor
       analysis. Psychometrika. 1973;38(1):1-10. doi:10.1007/BF02291170

    Examples
    --------
    >>> # R: psych::fa(bfi[1:25], 5, fm = "minres", rotate = "oblimin")  # TLI 0.867, RMSEA 0.056
    >>> # efa(bfi[items], 5).tli, .rmsea                                 # 0.8673, 0.0560
    """
    if method not in EXTRACTION_METHODS:
        raise AnalysisError(f"method must be one of {EXTRACTION_METHODS}; got {method!r}")
    if rotation not in ROTATIONS:
        raise AnalysisError(f"rotation must be one of {ROTATIONS}; got {rotation!r}")
    check_missing(missing)
    prepared = prepare(items, instrument=instrument, scales=scales, by=by, missing=missing,
                       per_scale=False)

    def compute(s: ItemSet) -> EFAResult:
        _check_factors(n_factors, s.n_items, "efa")
        r, n_pair = _correlation(s, "efa")
        dof = degrees_of_freedom(s.n_items, n_factors)
        if dof < 0:
            warnings.warn(FactorFitWarning(
                f"efa for {s.label}: {n_factors} factors for {s.n_items} items leave "
                f"{dof:g} degrees of freedom; the solution is not identified"), stacklevel=3)
        unrotated = extract(r, n_factors, method)
        h2 = (unrotated ** 2).sum(axis=1)
        loadings, phi = _align(*rotate(unrotated, rotation))
        heywood = [s.items[j] for j in np.flatnonzero(h2 >= 0.995)]
        if heywood:
            warnings.warn(FactorFitWarning(
                f"efa for {s.label}: Heywood case, communality >= .995 for {heywood[:5]}; "
                "consider fewer factors"), stacklevel=3)
        fit = _fa_stats(r, loadings, phi, s.n_obs, n_pair)
        names = [f"F{j + 1}" for j in range(n_factors)]
        table = pd.DataFrame(loadings, columns=names)
        table.insert(0, "item", list(s.items))
        table["h2"] = h2
        table["u2"] = 1 - h2
        with np.errstate(invalid="ignore", divide="ignore"):
            table["complexity"] = (loadings ** 2).sum(axis=1) ** 2 / (loadings ** 4).sum(axis=1)
        phi_full = np.eye(n_factors) if phi is None else phi
        fc = pd.DataFrame(phi_full, columns=names)
        fc.insert(0, "factor", names)
        ss = np.diag(phi_full @ loadings.T @ loadings)
        var = pd.DataFrame({"factor": names, "ss_loadings": ss,
                            "proportion_var": ss / s.n_items,
                            "cumulative_var": np.cumsum(ss) / s.n_items,
                            "proportion_explained": ss / ss.sum()})
        return EFAResult(n_factors=n_factors, method=method, rotation=rotation, n_obs=s.n_obs,
                         n_items=s.n_items, missing=s.missing, group=s.group, scale=s.scale,
                         loadings=table, factor_correlations=fc, variance=var, **fit)

    return run_sets(prepared, compute, "efa")


