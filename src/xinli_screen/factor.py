"""Factor analysis of item responses: KMO, Bartlett's test, EFA and CFA with fit indices.

Every function takes a response table (rows = respondents, columns = items, NaN = missing), or
an instrument whose item columns are used, and an explicit missing-data policy that the result
states. ``by="school"`` repeats the analysis per group and returns a tidy
:class:`~xinli_screen.reliability.ScaleResults` table.

Implementation choices
----------------------
- **Extraction and rotation** (EFA, and the Schmid-Leiman solution behind
  :func:`xinli_screen.reliability.mcdonald_omega`) use ``factor_analyzer`` 0.5.1
  (``FactorAnalyzer`` with ``is_corr_matrix=True`` and ``Rotator``). For minres its objective
  is minimised here with the analytic gradient (:func:`_minres_fit`), because its
  finite-difference gradient costs seconds per fit at 100 items. Its own missing-data
  handling (median imputation by default) is bypassed: the correlation matrix is computed here,
  pairwise or listwise as requested, so pairwise results match R ``psych::fa`` (which uses
  ``cor(use = "pairwise")``). Signs, factor order and the fit statistics follow
  ``psych::fa`` / ``psych::fa.stats`` (psych 2.2.9) so that the numbers can be checked against R.
- **CFA** is estimated here (normal-theory maximum likelihood, latent variances fixed to 1,
  L-BFGS with the analytic gradient, about 60 lines in :func:`_ml_cfa`), not with
  ``factor_analyzer.ConfirmatoryFactorAnalyzer``, for three reasons found on the bfi data:
  (1) its ``ModelSpecificationParser.parse_model_specification_from_dict`` fails under
  pandas >= 3 (it writes into the read-only array that ``DataFrame.values`` returns under
  copy-on-write: ``ValueError: assignment destination is read-only``; building the
  ``ModelSpecification`` from an integer array works around that); (2) it optimises with
  finite-difference gradients from fixed start values (all loadings +1) and, for the 25-item
  five-factor model, stops with ``ABNORMAL`` line-search termination at chi-square 12016
  where lavaan finds 4165.47; (3) it reports only a log-likelihood, AIC and BIC. semopy would
  give the indices but adds a dependency. The estimator here agrees with lavaan 0.6.14 within
  1e-5 on the loadings and 1e-6 (relative) on the chi-square for both bfi models in
  ``tests/test_factor.py``. Fit indices follow lavaan's conventions (``likelihood =
  "normal"``: sample covariance with divisor N, chi-square = N x F_ML; CFI, TLI, RMSEA with N;
  SRMR as lavaan's ``srmr``).
- ``factor_analyzer`` 0.5.1 calls scikit-learn's ``check_array(force_all_finite=...)``, which
  scikit-learn 1.8 removed; the project pins ``scikit-learn<1.8``. The resulting
  ``FutureWarning`` is silenced inside these functions.

Missing data
------------
``missing="pairwise"`` (default for KMO, Bartlett and EFA, as in psych): each correlation uses
the respondents who answered both items; ``n_obs`` = respondents with at least one answer
(psych uses all rows; the two agree when no row is empty). A pairwise matrix need not be
positive definite; when it is not, the functions raise :class:`AnalysisError` and suggest
``missing="listwise"``, rather than returning NaN. ``missing="listwise"`` drops every
respondent with a missing item first. CFA supports only listwise deletion (full-information
ML is not implemented).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from xinli_screen._analysis import (
    AnalysisError,
    InsufficientDataWarning,
    ItemSet,
    MiskeyedItemsWarning,
    ResultMixin,
    ScaleResults,
    check_missing,
    pairwise_moments,
    prepare,
    run_sets,
    smc,
)
from xinli_screen.errors import XinliScreenWarning
from xinli_screen.instrument.models import Instrument

__all__ = [
    "EXTRACTION_METHODS",
    "ROTATIONS",
    "AnalysisError",
    "BartlettResult",
    "CFAResult",
    "EFAResult",
    "FactorFitWarning",
    "InsufficientDataWarning",
    "KMOResult",
    "MiskeyedItemsWarning",
    "ScaleResults",
    "bartlett_sphericity",
    "cfa",
    "efa",
    "kmo",
]

EXTRACTION_METHODS = ("minres", "ml")
ROTATIONS = ("oblimin", "varimax", "promax", None)
_OBLIQUE = ("oblimin", "promax")


class FactorFitWarning(XinliScreenWarning):
    """A factor solution needs care: the optimiser did not converge, a Heywood case
    (communality >= 1 or uniqueness at its lower bound), or more parameters than the
    correlations can identify."""


# --------------------------------------------------------------------------------------------
# correlation input


def _correlation(s: ItemSet, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Correlation matrix and pairwise counts of an item set; raises if unusable."""
    n_pair, cov, cor = pairwise_moments(s.x)
    if s.n_obs < 3:
        raise AnalysisError(f"{what} for {s.label}: needs at least 3 respondents; got "
                            f"{s.n_obs}")
    low = np.argwhere(np.triu(n_pair < 3, 1))
    if len(low):
        pairs = [f"{s.items[i]}/{s.items[j]}" for i, j in low[:5]]
        raise AnalysisError(f"{what} for {s.label}: item pair(s) {pairs} were answered together "
                            "by fewer than 3 respondents; use missing='listwise' or drop an item")
    const = [s.items[j] for j in range(s.n_items) if not np.diag(cov)[j] > 0]
    if const:
        raise AnalysisError(f"{what} for {s.label}: item(s) {const[:5]} have no variance")
    eig = np.linalg.eigvalsh(cor)
    if eig[0] <= 1e-10 * max(eig[-1], 1.0):
        hint = ("a pairwise correlation matrix need not be positive definite: try "
                "missing='listwise'" if s.missing == "pairwise" else
                "some items are linear combinations of others (duplicates, or a total score "
                "among the items): drop them")
        raise AnalysisError(f"{what} for {s.label}: the correlation matrix is singular or not "
                            f"positive definite (smallest eigenvalue {eig[0]:.3g}); {hint}")
    return cor, n_pair


# --------------------------------------------------------------------------------------------
# KMO and Bartlett


@dataclass(frozen=True, eq=False)
class KMOResult(ResultMixin):
    """Kaiser-Meyer-Olkin measure of sampling adequacy.

    Attributes
    ----------
    msa : float
        Overall MSA, 0-1 (Kaiser 1974: >= .9 marvellous, .8 meritorious, .7 middling,
        .6 mediocre, .5 miserable, < .5 unacceptable).
    n_obs, n_items : int
    missing : {"pairwise", "listwise"}
    group, scale : optional labels of a grouped / instrument analysis
    items : DataFrame
        One row per item: ``item`` (str), ``msa`` (float, per-item MSA).
    """

    msa: float
    n_obs: int
    n_items: int
    missing: str
    group: Any = None
    scale: str | None = None
    items: pd.DataFrame = field(default_factory=pd.DataFrame)

    _title = "Kaiser-Meyer-Olkin MSA"


@dataclass(frozen=True, eq=False)
class BartlettResult(ResultMixin):
    """Bartlett's test that the population correlation matrix is the identity.

    Attributes
    ----------
    chi_square : float
        :math:`-\\left(n - 1 - \\frac{2p + 5}{6}\\right) \\ln |R|`.
    df : int
        :math:`p(p - 1)/2`.
    p_value : float
    n_obs, n_items : int
    missing : {"pairwise", "listwise"}
    """

    chi_square: float
    df: int
    p_value: float
    n_obs: int
    n_items: int
    missing: str
    group: Any = None
    scale: str | None = None

    _title = "Bartlett's test of sphericity"


def kmo(items: Any, *, missing: str = "pairwise", instrument: str | Path | Instrument |
        None = None, scales: Sequence[str] | None = None, by: str | None = None
        ) -> KMOResult | ScaleResults:
    """Kaiser-Meyer-Olkin measure of sampling adequacy (overall and per item).

    Parameters
    ----------
    items : DataFrame, shape (n_respondents, n_items)
        Numeric codes, NaN = missing. Every column except ``by`` is an item (with an
        instrument: its item columns; other columns are ignored).
    missing : {"pairwise", "listwise"}
        Correlations from pair-complete respondents (as psych) or complete respondents only.
    instrument : str, Path or Instrument, optional
        Use the instrument's items (all of them, or those of ``scales``), reverse keyed as
        declared (the MSA itself does not depend on keying).
    scales : sequence of str, optional
        Scale ids of ``instrument`` whose items are analysed together.
    by : str, optional
        Column to group by; one row per group in the returned table.

    Returns
    -------
    KMOResult, or ScaleResults when ``by`` or ``instrument`` is given.

    Raises
    ------
    AnalysisError
        Fewer than 2 items or 3 respondents, an item without variance, a pair never answered
        together, or a singular / non-positive-definite correlation matrix (psych silently
        falls back to the correlation matrix itself; this function refuses instead).
    ResponseDataError
        Non-numeric item columns, answers outside an instrument's declared range.

    Notes
    -----
    With :math:`r_{ij}` the correlations and :math:`q_{ij}` the partial correlations (from
    :math:`R^{-1}`, scaled to unit diagonal),

    .. math:: \\mathrm{MSA} = \\frac{\\sum_{i \\ne j} r_{ij}^2}
              {\\sum_{i \\ne j} r_{ij}^2 + \\sum_{i \\ne j} q_{ij}^2},

    and the per-item MSA restricts both sums to column *j* (Kaiser 1970; psych::KMO).

    References
    ----------
    .. [1] Kaiser HF. A second generation little jiffy. Psychometrika. 1970;35(4):401-415.
       doi:10.1007/BF02291817
    .. [2] Kaiser HF. An index of factorial simplicity. Psychometrika. 1974;39(1):31-36.
       doi:10.1007/BF02291575

    Examples
    --------
    >>> # R: psych::KMO(cor(bfi[1:25], use = "pairwise"))$MSA  # 0.8459
    >>> # kmo(bfi[items]).msa                                 # 0.84590
    """
    prepared = prepare(items, instrument=instrument, scales=scales, by=by, missing=missing,
                       per_scale=False)

    def compute(s: ItemSet) -> KMOResult:
        r, _ = _correlation(s, "KMO")
        q = np.linalg.inv(r)
        d = 1 / np.sqrt(np.diag(q))
        q = q * np.outer(d, d)
        np.fill_diagonal(q, 0.0)
        r0 = r.copy()
        np.fill_diagonal(r0, 0.0)
        r2, q2 = r0 ** 2, q ** 2
        msa = float(r2.sum() / (r2.sum() + q2.sum()))
        per = r2.sum(axis=0) / (r2.sum(axis=0) + q2.sum(axis=0))
        return KMOResult(msa=msa, n_obs=s.n_obs, n_items=s.n_items, missing=s.missing,
                         group=s.group, scale=s.scale,
                         items=pd.DataFrame({"item": list(s.items), "msa": per}))

    return run_sets(prepared, compute, "kmo")


def bartlett_sphericity(items: Any, *, missing: str = "pairwise",
                        instrument: str | Path | Instrument | None = None,
                        scales: Sequence[str] | None = None, by: str | None = None
                        ) -> BartlettResult | ScaleResults:
    """Bartlett's test of sphericity (are the items correlated at all?).

    Parameters
    ----------
    items, missing, instrument, scales, by
        As :func:`kmo`.

    Returns
    -------
    BartlettResult, or ScaleResults when ``by`` or ``instrument`` is given.

    Raises
    ------
    AnalysisError
        As :func:`kmo` (a non-positive-definite pairwise matrix would make
        :math:`\\ln|R|` undefined; it is refused, never returned as NaN).

    Notes
    -----
    .. math:: \\chi^2 = -\\left(n - 1 - \\frac{2p + 5}{6}\\right) \\ln |R|, \\quad
              df = \\frac{p(p-1)}{2}

    with *p* items and *n* = ``n_obs`` respondents (Bartlett 1950; psych::cortest.bartlett).
    With pairwise correlations *n* is the number of respondents with any answer, so the test
    is approximate when many answers are missing.

    References
    ----------
    .. [1] Bartlett MS. Tests of significance in factor analysis. Br J Stat Psychol.
       1950;3(2):77-85. doi:10.1111/j.2044-8317.1950.tb00285.x
    """
    prepared = prepare(items, instrument=instrument, scales=scales, by=by, missing=missing,
                       per_scale=False)

    def compute(s: ItemSet) -> BartlettResult:
        r, _ = _correlation(s, "Bartlett's test")
        p = s.n_items
        _, logdet = np.linalg.slogdet(r)
        chi = float(-logdet * (s.n_obs - 1 - (2 * p + 5) / 6))
        df = p * (p - 1) // 2
        return BartlettResult(chi_square=chi, df=df, p_value=float(stats.chi2.sf(chi, df)),
                              n_obs=s.n_obs, n_items=p, missing=s.missing, group=s.group,
                              scale=s.scale)

    return run_sets(prepared, compute, "bartlett_sphericity")


# --------------------------------------------------------------------------------------------
# EFA core (shared with reliability.mcdonald_omega)


def _quiet_fit(est: Any, x: np.ndarray) -> Any:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(x)
    for w in caught:
        if issubclass(w.category, FutureWarning) and "force_all_finite" in str(w.message):
            continue
        if "converge" in str(w.message).lower():
            warnings.warn(FactorFitWarning(f"factor_analyzer: {w.message}"), stacklevel=4)
        elif not issubclass(w.category, (FutureWarning, DeprecationWarning)):
            warnings.warn(FactorFitWarning(str(w.message)), stacklevel=4)
    return est


def _minres_fit(r: np.ndarray, n_factors: int) -> np.ndarray:
    """Minres uniquenesses: factor_analyzer's ULS objective with its analytic gradient.

    ``FactorAnalyzer`` minimises :math:`f(\\psi) = \\lVert R^* - LL' \\rVert^2` (:math:`R^*` = R
    with diagonal 1 - psi, *L* from its first m eigenpairs) by L-BFGS-B with finite-difference
    gradients, about k + 1 eigendecompositions per step: seconds for 100 items. The gradient
    is :math:`\\partial f / \\partial\\psi_i = -2\\,(R^* - LL')_{ii}` (the derivative of an
    eigenvalue is :math:`-v_{ij}^2`), the same stationarity condition as psych's
    ``FAgr.minres``; supplying it gives the same solution in one eigendecomposition per step.
    """
    k = r.shape[0]
    work = np.array(r, dtype=float, copy=True)

    def fun(psi: np.ndarray) -> tuple[float, np.ndarray]:
        np.fill_diagonal(work, 1 - psi)
        values, vectors = np.linalg.eigh(work)
        values, vectors = values[::-1], vectors[:, ::-1]
        top = np.maximum(values[:n_factors], np.finfo(float).eps * 100)
        loadings = vectors[:, :n_factors] * np.sqrt(top)
        residual = work - loadings @ loadings.T
        return float((residual ** 2).sum()), -2 * np.diag(residual)

    start = 1 - smc(r)
    res = optimize.minimize(fun, np.clip(start, 0.005, 1), jac=True, method="L-BFGS-B",
                            bounds=[(0.005, 1)] * k, options={"maxiter": 1000})
    if not res.success:
        warnings.warn(FactorFitWarning(f"minres did not converge: {res.message}"),
                      stacklevel=4)
    return res.x


def extract(r: np.ndarray, n_factors: int, method: str = "minres") -> np.ndarray:
    """Unrotated loadings, shape (k, n_factors), from a correlation matrix.

    minres: uniquenesses by :func:`_minres_fit` (factor_analyzer's objective, analytic
    gradient), loadings by ``FactorAnalyzer._normalize_uls``; ml: ``FactorAnalyzer``
    (``method="ml"``). Uniquenesses are bounded to [0.005, 1] and start from 1 - SMC, as
    psych::fa. Columns are signed so that each sums to >= 0.
    """
    from factor_analyzer import FactorAnalyzer

    if method == "minres":
        psi = _minres_fit(r, n_factors)
        loadings = FactorAnalyzer._normalize_uls(psi, np.array(r, dtype=float, copy=True),
                                                 n_factors)
    else:
        fa = FactorAnalyzer(n_factors=n_factors, rotation=None, method=method,
                            is_corr_matrix=True, use_smc=True, bounds=(0.005, 1))
        _quiet_fit(fa, np.array(r, dtype=float, copy=True))
        loadings = fa.loadings_
    loadings = np.asarray(loadings, dtype=float).reshape(r.shape[0], n_factors)
    signs = np.sign(loadings.sum(axis=0))
    signs[signs == 0] = 1
    return loadings * signs


def rotate(loadings: np.ndarray, rotation: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Rotated loadings and factor correlations (None for orthogonal rotations).

    ``factor_analyzer.Rotator``: varimax and promax (power 4) with Kaiser normalisation as R
    ``stats::varimax`` / psych ``kaiser(Promax)``; oblimin (gamma 0) without normalisation,
    as GPArotation::oblimin. Nothing to rotate with one factor.
    """
    if rotation is None or loadings.shape[1] < 2:
        return loadings, None
    from factor_analyzer import Rotator

    rot = Rotator(method=rotation)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        new = np.asarray(rot.fit_transform(loadings), dtype=float)
    phi = None if rot.phi_ is None else np.asarray(rot.phi_, dtype=float)
    return new, phi


def _align(loadings: np.ndarray, phi: np.ndarray | None
           ) -> tuple[np.ndarray, np.ndarray | None]:
    """psych::fa conventions: columns summing >= 0, ordered by variance accounted for."""
    signs = np.sign(loadings.sum(axis=0))
    signs[signs == 0] = 1
    loadings = loadings * signs
    if phi is not None:
        phi = phi * np.outer(signs, signs)
        ev = np.diag(phi @ loadings.T @ loadings)
    else:
        ev = (loadings ** 2).sum(axis=0)
    order = np.argsort(-ev, kind="stable")
    loadings = loadings[:, order]
    if phi is not None:
        phi = phi[np.ix_(order, order)]
    return loadings, phi


def _check_factors(n_factors: int, k: int, what: str) -> None:
    if isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer)) \
            or n_factors < 1:
        raise AnalysisError(f"{what}: n_factors must be a positive integer; got {n_factors!r}")
    if n_factors >= k:
        raise AnalysisError(f"{what}: n_factors={n_factors} needs more than {n_factors} items; "
                            f"got {k}")


def degrees_of_freedom(k: int, n_factors: int) -> float:
    """Degrees of freedom of an exploratory k-item, m-factor model (psych::fa)."""
    return k * (k - 1) / 2 - k * n_factors + n_factors * (n_factors - 1) / 2


# --------------------------------------------------------------------------------------------
# EFA


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


# --------------------------------------------------------------------------------------------
# Schmid-Leiman (used by reliability.mcdonald_omega)


def schmid_leiman(r: np.ndarray, n_factors: int, method: str = "minres"
                  ) -> dict[str, np.ndarray]:
    """Schmid-Leiman orthogonalisation as psych::schmid (oblimin, option "equal").

    Parameters
    ----------
    r : ndarray, shape (k, k)
        Correlation matrix of keyed items.
    n_factors : int
        Number of group factors.

    Returns
    -------
    dict with ndarray values
        ``g`` (k,) general-factor loadings; ``group`` (k, m) residualised group-factor
        loadings; ``h2``, ``u2`` (k,) communalities and uniquenesses of the first-order
        solution; ``oblique`` (k, m) oblimin pattern; ``phi`` (m, m) factor correlations;
        ``gload`` (m,) loadings of the first-order factors on g.

    Notes
    -----
    First-order factors: minres, varimax, then oblimin (GPArotation, no normalisation), as
    psych::schmid. Second order: one minres factor of ``phi`` (m > 2), equal loadings
    :math:`\\sqrt{|\\phi_{12}|}` (m = 2), or 1 (m = 1). Then :math:`g = F\\,\\gamma` and the
    group loadings :math:`\\mathrm{sign}(f_{ij})\\sqrt{f_{ij}^2 (1 - \\gamma_j^2)}`
    (Schmid & Leiman 1957).
    """
    orth = extract(r, n_factors, method)
    h2 = (orth ** 2).sum(axis=1)
    if n_factors == 1:
        fload, phi, gload = orth, np.ones((1, 1)), np.ones(1)
    else:
        fload, _ = rotate(orth, "varimax")
        fload, phi_or_none = rotate(fload, "oblimin")
        phi = np.eye(n_factors) if phi_or_none is None else phi_or_none
        if n_factors == 2:
            g = math.sqrt(abs(phi[0, 1]))
            gload = np.array([g, math.copysign(g, phi[0, 1])])
        else:
            gload = extract(phi, 1, method)[:, 0]
    g = fload @ gload
    if g.sum() < 0:
        g, gload = -g, -gload
    group = np.sign(fload) * np.sqrt(np.clip(fload ** 2 * (1 - gload ** 2), 0, None))
    return {"g": g, "group": group, "h2": h2, "u2": 1 - h2, "oblique": fload, "phi": phi,
            "gload": gload}


# --------------------------------------------------------------------------------------------
# CFA


@dataclass(frozen=True, eq=False)
class CFAResult(ResultMixin):
    """Confirmatory factor analysis (normal-theory ML, latent variances fixed to 1).

    Attributes
    ----------
    chi_square : float
        :math:`N F_{ML}`, with
        :math:`F_{ML} = \\ln|\\Sigma| + \\mathrm{tr}(S\\Sigma^{-1}) - \\ln|S| - p`,
        *S* the sample covariance with divisor *N* (lavaan ``likelihood = "normal"``).
    df : int
        :math:`p(p+1)/2` minus the free parameters.
    p_value, cfi, tli, rmsea : float
        :math:`CFI = 1 - \\max(\\chi^2 - df, 0) / \\max(\\chi^2_0 - df_0, \\chi^2 - df, 0)`;
        :math:`TLI = (\\chi^2_0/df_0 - \\chi^2/df) / (\\chi^2_0/df_0 - 1)`;
        :math:`RMSEA = \\sqrt{\\max(\\chi^2 - df, 0) / (df\\,N)}`.
    rmsea_ci : (float, float)
        90 % interval (noncentral chi-square, as lavaan).
    srmr : float
        Standardised root mean square residual over the :math:`p(p+1)/2` variances and
        covariances, residuals in correlation metric (lavaan ``srmr``).
    baseline_chi_square, baseline_df : float
        Independence model (free variances).
    log_likelihood, aic, bic : float
        With a saturated mean structure, as lavaan ``logl``, ``aic``, ``bic``.
    n_parameters, n_obs, n_items : int
    missing : "listwise"
    loadings : DataFrame
        One row per (factor, item) with a free loading: ``factor``, ``item``, ``loading``
        (unstandardised), ``std_loading`` (item and factor standardised).
    error_variances : DataFrame
        ``item``, ``error_variance``, ``r2`` (explained share of the item's implied variance).
    factor_correlations : DataFrame
        ``factor_1``, ``factor_2``, ``r``, one row per pair.
    """

    chi_square: float
    df: int
    p_value: float
    cfi: float
    tli: float
    rmsea: float
    rmsea_ci: tuple[float, float]
    srmr: float
    baseline_chi_square: float
    baseline_df: int
    log_likelihood: float
    aic: float
    bic: float
    n_parameters: int
    n_obs: int
    n_items: int
    missing: str
    group: Any = None
    scale: str | None = None
    loadings: pd.DataFrame = field(default_factory=pd.DataFrame)
    error_variances: pd.DataFrame = field(default_factory=pd.DataFrame)
    factor_correlations: pd.DataFrame = field(default_factory=pd.DataFrame)

    _title = "Confirmatory factor analysis"


def _cfa_model(model: Mapping[str, Sequence[str]] | None, inst: Instrument | None,
               columns: Sequence[str]) -> dict[str, list[str]]:
    if model is None:
        if inst is None:
            raise AnalysisError("cfa needs a model: a mapping {factor: [item, ...]} (or an "
                                "instrument, whose scales become the factors)")
        model = {s.id: list(s.items) for s in inst.scales
                 if not s.is_composite and s.role == "scale" and len(s.items) >= 3}
        if not model:
            raise AnalysisError(f"instrument {inst.id!r} has no item scale with >= 3 items to "
                                "use as a factor; pass model=")
    if not isinstance(model, Mapping) or not model:
        raise AnalysisError("model must be a non-empty mapping {factor: [item, ...]}")
    out = {}
    for f, its in model.items():
        its = [its] if isinstance(its, str) else list(its)
        unknown = [i for i in its if i not in columns]
        if unknown:
            raise AnalysisError(f"factor {f!r} names item(s) {unknown[:5]} that are not item "
                                "columns")
        if len(its) < 2:
            raise AnalysisError(f"factor {f!r} needs at least 2 items; got {its}")
        out[str(f)] = its
    return out


def _srmr(s_cov: np.ndarray, sigma: np.ndarray) -> float:
    sd_s = np.sqrt(np.diag(s_cov))
    sd_m = np.sqrt(np.diag(sigma))
    res = s_cov / np.outer(sd_s, sd_s) - sigma / np.outer(sd_m, sd_m)
    res[np.diag_indices_from(res)] = (np.diag(s_cov) - np.diag(sigma)) / np.diag(s_cov)
    low = res[np.tril_indices_from(res)]
    return float(math.sqrt(np.mean(low ** 2)))


def _cfa_rmsea_ci(chisq: float, df: int, n: int, level: float = 0.90) -> tuple[float, float]:
    """lavaan's interval: lambda with P(chi2_df(lambda) <= X2) = 1 - a/2 and a/2."""
    tail = (1 - level) / 2

    def lam_for(target: float) -> float:
        f = lambda lam: stats.ncx2.cdf(chisq, df, lam) - target  # noqa: E731
        if f(1e-12) < 0:
            return 0.0
        hi = max(chisq, 1.0) * 4 + 100
        while f(hi) > 0:
            hi *= 2
        return optimize.brentq(f, 1e-12, hi, xtol=1e-10)

    lower = math.sqrt(lam_for(1 - tail) / (n * df))
    upper = math.sqrt(lam_for(tail) / (n * df))
    return (lower, upper)


def cfa(items: Any, model: Mapping[str, Sequence[str]] | None = None, *,
        missing: str = "listwise", keys: Any = None,
        scale_range: tuple[float, float] | None = None,
        instrument: str | Path | Instrument | None = None, by: str | None = None
        ) -> CFAResult | ScaleResults:
    """Confirmatory factor analysis with chi-square, CFI, TLI, RMSEA and SRMR.

    Parameters
    ----------
    items : DataFrame, shape (n_respondents, n_items)
        Numeric codes, NaN = missing; items not named in ``model`` are ignored.
    model : mapping of str to sequence of str, optional
        ``{factor: [item, ...]}``; an item may load on several factors. Default with an
        instrument: one factor per item scale with at least 3 items (validity scales and
        composites excluded).
    missing : "listwise"
        Only listwise deletion is supported; anything else raises :class:`AnalysisError`.
    keys, scale_range
        Optional reverse keys as in :func:`xinli_screen.reliability.cronbach_alpha` (they
        change only the signs of loadings).
    instrument : str, Path or Instrument, optional
        Items reverse keyed as declared; default model from its scales.
    by : str, optional
        Fit the model per group.

    Returns
    -------
    CFAResult, or ScaleResults when ``by`` or ``instrument`` is given.

    Raises
    ------
    AnalysisError
        No model, unknown items, a factor with fewer than 2 items, ``missing`` other than
        ``"listwise"``, fewer respondents than items, a singular sample covariance matrix, or
        a model with negative degrees of freedom.

    Warns
    -----
    FactorFitWarning
        The optimiser did not converge (largest gradient element >= 1e-6), or an error
        variance is negative (Heywood case).

    Notes
    -----
    Maximum likelihood with the analytic gradient (see the module docstring for why not
    ``factor_analyzer.ConfirmatoryFactorAnalyzer``); fit indices from the implied covariance,
    as lavaan. Each factor is signed so that its loadings sum to >= 0.

    References
    ----------
    .. [1] Bentler PM. Comparative fit indexes in structural models. Psychol Bull.
       1990;107(2):238-246. doi:10.1037/0033-2909.107.2.238
    .. [2] Hu L, Bentler PM. Cutoff criteria for fit indexes in covariance structure analysis.
       Struct Equ Modeling. 1999;6(1):1-55. doi:10.1080/10705519909540118
    .. [3] Rosseel Y. lavaan: An R package for structural equation modeling. J Stat Softw.
       2012;48(2):1-36. doi:10.18637/jss.v048.i02

    Examples
    --------
    >>> # R: lavaan::cfa("agree =~ A1 + ... ; consc =~ C1 + ...", bfi, std.lv = TRUE)
    >>> # cfa(bfi, {"agree": ["A1", ...], "consc": ["C1", ...]})  # chi2 503.34, df 34
    """
    if missing != "listwise":
        raise AnalysisError("cfa supports only missing='listwise' (maximum likelihood on the "
                            "complete cases; full-information ML is not implemented); got "
                            f"{missing!r}")
    inst = None
    if instrument is not None:
        from xinli_screen._analysis import _load_instrument

        inst = _load_instrument(instrument)
    frame = items if isinstance(items, pd.DataFrame) else pd.DataFrame(np.asarray(items))
    columns = list(inst.item_ids) if inst is not None else [c for c in frame.columns if c != by]
    spec = _cfa_model(model, inst, columns)
    used = list(dict.fromkeys(i for its in spec.values() for i in its))
    if inst is None:
        sub = frame.loc[:, used + ([by] if by is not None else [])]
        prepared = prepare(sub, keys=_restrict_keys(keys, used), scale_range=scale_range,
                           by=by, missing="listwise")
    else:
        present = [c for c in inst.item_ids if c in frame.columns]
        sub = frame.loc[:, present + ([by] if by is not None else [])]
        scale_ids = [s.id for s in inst.scales if set(inst.scale_items(s)) & set(used)]
        prepared = prepare(sub, instrument=inst, scales=scale_ids, by=by, missing="listwise",
                           per_scale=False)

    def compute(s: ItemSet) -> CFAResult:
        pos = {i: j for j, i in enumerate(s.items)}
        x = s.x[:, [pos[i] for i in used]]
        return _fit_cfa(x, used, spec, s)

    return run_sets(prepared, compute, "cfa")


def _cfa_start(s_cov: np.ndarray, pattern: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start values: per factor the first principal axis of its items, factor correlations of
    the weighted composites, error variances = remaining variance (at least 5 %)."""
    p, m = pattern.shape
    lam = np.zeros((p, m))
    weights = np.zeros((p, m))
    for f in range(m):
        idx = np.flatnonzero(pattern[:, f])
        vals, vecs = np.linalg.eigh(s_cov[np.ix_(idx, idx)])
        v = vecs[:, -1] * (1 if vecs[:, -1].sum() >= 0 else -1)
        lam[idx, f] = v * math.sqrt(max(vals[-1] - vals[:-1].mean(), 1e-3))
        weights[idx, f] = v
    comp = weights.T @ s_cov @ weights
    d = np.sqrt(np.diag(comp))
    phi = np.clip(comp / np.outer(d, d), -0.9, 0.9)
    np.fill_diagonal(phi, 1.0)
    theta = np.maximum(np.diag(s_cov) - (lam ** 2).max(axis=1), 0.05 * np.diag(s_cov))
    return lam, phi, theta


def _ml_cfa(s_cov: np.ndarray, pattern: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool, str]:
    """Normal-theory ML estimates (latent variances 1) by L-BFGS with the analytic gradient.

    Minimises :math:`F = \\ln|\\Sigma| + \\mathrm{tr}(S\\Sigma^{-1})` over the free loadings,
    factor correlations and error variances (unbounded, so a Heywood case shows up as a
    negative error variance, as in lavaan). With
    :math:`G = \\Sigma^{-1} - \\Sigma^{-1}S\\Sigma^{-1}` the gradient is
    :math:`2G\\Lambda\\Phi` (loadings), :math:`2\\Lambda'G\\Lambda` (factor correlations,
    off-diagonal) and :math:`\\mathrm{diag}(G)` (error variances).
    """
    p, m = pattern.shape
    lam0, phi0, theta0 = _cfa_start(s_cov, pattern)
    low = np.tril_indices(m, -1)
    n_lam = int(pattern.sum())
    n_phi = len(low[0])

    def unpack(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lam = np.zeros((p, m))
        lam[pattern] = v[:n_lam]
        phi = np.eye(m)
        phi[low] = v[n_lam:n_lam + n_phi]
        phi[(low[1], low[0])] = phi[low]
        return lam, phi, v[n_lam + n_phi:]

    def objective(v: np.ndarray) -> tuple[float, np.ndarray]:
        lam, phi, theta = unpack(v)
        sigma = lam @ phi @ lam.T + np.diag(theta)
        try:
            chol = np.linalg.cholesky(sigma)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros_like(v)
        inv = np.linalg.inv(sigma)
        f = 2 * float(np.log(np.diag(chol)).sum()) + float(np.sum(s_cov * inv))
        g = inv - inv @ s_cov @ inv
        d_lam = 2 * g @ lam @ phi
        d_phi = 2 * lam.T @ g @ lam
        return f, np.concatenate([d_lam[pattern], d_phi[low], np.diag(g)])

    v0 = np.concatenate([lam0[pattern], phi0[low], theta0])
    res = optimize.minimize(objective, v0, jac=True, method="L-BFGS-B",
                            options={"maxiter": 20000, "maxcor": 50, "ftol": 1e-15,
                                     "gtol": 1e-10})
    lam, phi, theta = unpack(res.x)
    _, grad = objective(res.x)
    converged = bool(np.abs(grad).max() < 1e-6)
    return lam, phi, theta, converged, str(res.message)


def _restrict_keys(keys: Any, used: Sequence[str]) -> Any:
    if keys is None or isinstance(keys, str):
        return keys
    if isinstance(keys, Mapping):
        return {k: v for k, v in keys.items() if k in used}
    return [k for k in keys if k in used]


def _fit_cfa(x: np.ndarray, used: list[str], spec: dict[str, list[str]], s: ItemSet
             ) -> CFAResult:
    n, p = x.shape
    m = len(spec)
    if n <= p:
        raise AnalysisError(f"cfa for {s.label}: needs more complete respondents ({n}) than "
                            f"items ({p})")
    s_cov = np.cov(x, rowvar=False, ddof=0)
    sign_s, logdet_s = np.linalg.slogdet(s_cov)
    if sign_s <= 0 or np.min(np.linalg.eigvalsh(s_cov)) <= 1e-10 * np.max(np.diag(s_cov)):
        raise AnalysisError(f"cfa for {s.label}: the sample covariance matrix is singular "
                            "(an item is constant or a linear combination of others)")
    pattern = np.zeros((p, m), dtype=bool)
    pos = {i: j for j, i in enumerate(used)}
    for f, its in enumerate(spec.values()):
        for i in its:
            pattern[pos[i], f] = True
    n_free = int(pattern.sum()) + p + m * (m - 1) // 2
    df = p * (p + 1) // 2 - n_free
    if df < 0:
        raise AnalysisError(f"cfa for {s.label}: the model has {n_free} free parameters for "
                            f"{p * (p + 1) // 2} variances and covariances (df = {df})")
    lam, phi, theta, converged, message = _ml_cfa(s_cov, pattern)
    if not converged:
        warnings.warn(FactorFitWarning(f"cfa for {s.label}: the ML fit did not converge "
                                       f"({message}); fit indices may be wrong"), stacklevel=3)
    signs = np.sign(lam.sum(axis=0))
    signs[signs == 0] = 1
    lam = lam * signs
    phi = phi * np.outer(signs, signs)
    sigma = lam @ phi @ lam.T + np.diag(theta)
    sign_m, logdet_m = np.linalg.slogdet(sigma)
    if sign_m <= 0:
        raise AnalysisError(f"cfa for {s.label}: the fitted covariance matrix is not positive "
                            "definite; the model may not be identified")
    f_ml = logdet_m + np.trace(s_cov @ np.linalg.inv(sigma)) - logdet_s - p
    chisq = float(max(n * f_ml, 0.0))
    base = float(n * (np.log(np.diag(s_cov)).sum() - logdet_s))
    base_df = p * (p - 1) // 2
    denom = max(base - base_df, chisq - df, 0.0)
    cfi = 1 - max(chisq - df, 0.0) / denom if denom > 0 else 1.0
    tli = ((base / base_df - chisq / df) / (base / base_df - 1)) if df > 0 else math.nan
    rmsea = math.sqrt(max(chisq - df, 0.0) / (df * n)) if df > 0 else math.nan
    logl = float(-n / 2 * (p * math.log(2 * math.pi) + logdet_m
                           + np.trace(s_cov @ np.linalg.inv(sigma))))
    if (theta < 0).any():
        bad = [used[j] for j in np.flatnonzero(theta < 0)]
        warnings.warn(FactorFitWarning(f"cfa for {s.label}: negative error variance for "
                                       f"{bad[:5]} (Heywood case)"), stacklevel=3)
    sd_item = np.sqrt(np.diag(sigma))
    rows = [{"factor": f, "item": used[i], "loading": lam[i, j],
             "std_loading": lam[i, j] / sd_item[i]}
            for j, f in enumerate(spec) for i in np.flatnonzero(pattern[:, j])]
    ev = pd.DataFrame({"item": used, "error_variance": theta,
                       "r2": 1 - theta / np.diag(sigma)})
    names = list(spec)
    fc = pd.DataFrame([{"factor_1": names[a], "factor_2": names[b], "r": phi[a, b]}
                       for a in range(m) for b in range(a + 1, m)],
                      columns=["factor_1", "factor_2", "r"])
    return CFAResult(
        chi_square=chisq, df=df,
        p_value=float(stats.chi2.sf(chisq, df)) if df > 0 else math.nan,
        cfi=float(cfi), tli=float(tli), rmsea=float(rmsea),
        rmsea_ci=_cfa_rmsea_ci(chisq, df, n) if df > 0 else (math.nan, math.nan),
        srmr=_srmr(s_cov, sigma), baseline_chi_square=base, baseline_df=base_df,
        log_likelihood=logl, aic=-2 * logl + 2 * n_free, bic=-2 * logl + n_free * math.log(n),
        n_parameters=n_free, n_obs=n, n_items=p, missing="listwise", group=s.group,
        scale=s.scale, loadings=pd.DataFrame(rows), error_variances=ev,
        factor_correlations=fc)
