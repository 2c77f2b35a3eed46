"""Factor extraction (minres, ml) and rotation, shared by EFA and omega."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import optimize

from xinli_screen._analysis import (
    AnalysisError,
    smc,
)
from xinli_screen.factor._common import FactorFitWarning


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


