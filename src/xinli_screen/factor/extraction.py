"""Factor extraction (minres, ml) and rotation, shared by EFA and omega."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import optimize

from xinli_screen._analysis import AnalysisError
from xinli_screen._moments import smc
from xinli_screen.factor._common import FactorFitWarning
from xinli_screen.factor.rotation import oblimin, promax, varimax


def _minres_fit(r: np.ndarray, n_factors: int) -> np.ndarray:
    """Minres uniquenesses: the ULS objective with its analytic gradient.

    Minimises :math:`f(\\psi) = \\lVert R^* - LL' \\rVert^2` (:math:`R^*` = R with diagonal
    1 - psi, *L* from its first m eigenpairs) by L-BFGS-B. The gradient is
    :math:`\\partial f / \\partial\\psi_i = -2\\,(R^* - LL')_{ii}` (the derivative of an
    eigenvalue is :math:`-v_{ij}^2`), the same stationarity condition as psych's
    ``FAgr.minres`` (R: ``psych::fa(r, nfactors, fm = "minres")``).
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


def _uls_loadings(r: np.ndarray, psi: np.ndarray, n_factors: int) -> np.ndarray:
    """Loadings from the first eigenpairs of R with diagonal 1 - psi (psych ``FAout.wls``)."""
    work = np.array(r, dtype=float, copy=True)
    np.fill_diagonal(work, 1 - psi)
    values, vectors = np.linalg.eigh(work)
    values, vectors = values[::-1][:n_factors], vectors[:, ::-1][:, :n_factors]
    return vectors * np.sqrt(np.maximum(values, 0))


def _ml_fit(r: np.ndarray, n_factors: int) -> np.ndarray:
    """Maximum-likelihood uniquenesses, as psych ``fit.ml`` (and ``stats::factanal``).

    Minimises the concentrated ML discrepancy
    :math:`F(\\psi) = -\\sum_{j>m} (\\ln e_j - e_j) - m + k`, :math:`e_j` the eigenvalues of
    :math:`\\Psi^{-1/2} R \\Psi^{-1/2}` beyond the first *m*, with the gradient
    :math:`\\partial F/\\partial\\psi_i = (LL' + \\Psi - R)_{ii} / \\psi_i^2` (psych ``FAfn`` and
    ``FAgr``; Joreskog 1967; Lawley & Maxwell 1971), by L-BFGS-B on [0.005, 1] from 1 - SMC.
    R: ``psych::fa(r, nfactors, fm = "ml")``.
    """
    k = r.shape[0]

    def fun(psi: np.ndarray) -> tuple[float, np.ndarray]:
        sc = 1 / np.sqrt(psi)
        values, vectors = np.linalg.eigh(r * np.outer(sc, sc))
        values, vectors = values[::-1], vectors[:, ::-1]
        rest = np.maximum(values[n_factors:], np.finfo(float).tiny)
        value = -float(np.sum(np.log(rest) - rest) - n_factors + k)
        load = vectors[:, :n_factors] * np.sqrt(np.maximum(values[:n_factors] - 1, 0))
        load = load * np.sqrt(psi)[:, None]
        grad = np.diag(load @ load.T + np.diag(psi) - r) / psi ** 2
        return value, grad

    start = np.clip(1 - smc(r), 0.005, 1)
    res = optimize.minimize(fun, start, jac=True, method="L-BFGS-B",
                            bounds=[(0.005, 1)] * k, options={"maxiter": 1000})
    if not res.success:
        warnings.warn(FactorFitWarning(f"ml did not converge: {res.message}"), stacklevel=4)
    return res.x


def _ml_loadings(r: np.ndarray, psi: np.ndarray, n_factors: int) -> np.ndarray:
    """ML loadings from the uniquenesses (psych ``FAout``)."""
    sc = 1 / np.sqrt(psi)
    values, vectors = np.linalg.eigh(r * np.outer(sc, sc))
    values, vectors = values[::-1][:n_factors], vectors[:, ::-1][:, :n_factors]
    return vectors * np.sqrt(np.maximum(values - 1, 0)) * np.sqrt(psi)[:, None]


def extract(r: np.ndarray, n_factors: int, method: str = "minres") -> np.ndarray:
    """Unrotated loadings, shape (k, n_factors), from a correlation matrix.

    minres: uniquenesses by :func:`_minres_fit`, loadings from the reduced matrix; ml:
    :func:`_ml_fit`. Uniquenesses are bounded to [0.005, 1] and start from 1 - SMC, as
    psych::fa (R: ``psych::fa(r, nfactors, fm = "minres" | "ml", rotate = "none")``). Columns
    are signed so that each sums to >= 0.
    """
    if method == "minres":
        loadings = _uls_loadings(r, _minres_fit(r, n_factors), n_factors)
    else:
        loadings = _ml_loadings(r, _ml_fit(r, n_factors), n_factors)
    loadings = np.asarray(loadings, dtype=float).reshape(r.shape[0], n_factors)
    signs = np.sign(loadings.sum(axis=0))
    signs[signs == 0] = 1
    return loadings * signs


def rotate(loadings: np.ndarray, rotation: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Rotated loadings and factor correlations (None for orthogonal rotations).

    varimax and promax (power 4) with Kaiser normalisation as R ``stats::varimax`` / psych
    ``kaiser(Promax)``; oblimin (gamma 0) without normalisation, as GPArotation::oblimin
    (see :mod:`xinli_screen.factor.rotation`). Nothing to rotate with one factor.
    """
    if rotation is None or loadings.shape[1] < 2:
        return loadings, None
    if rotation == "varimax":
        return varimax(loadings)[0], None
    if rotation == "promax":
        return promax(loadings)
    if rotation == "oblimin":
        return oblimin(loadings)
    raise AnalysisError(f"unknown rotation {rotation!r}")


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


