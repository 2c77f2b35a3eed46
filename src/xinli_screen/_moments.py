"""Moments and matrix algebra of the sample-level analyses, as R psych computes them.

Pairwise-complete counts, covariances and correlations (R ``cov``/``cor`` with
``use = "pairwise"``), ``cov2cor``, psych's SVD pseudo-inverse ``Pinv`` and the squared multiple
correlations ``smc`` built on it, and the singularity test behind psych's "not positive
definite" warning. Plain arrays in and out; used by :mod:`xinli_screen.reliability` and
:mod:`xinli_screen.factor`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cov2cor", "is_singular", "pairwise_moments", "pinv", "smc"]


def pairwise_moments(x: np.ndarray, weights: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairwise-complete counts, covariances and correlations.

    Parameters
    ----------
    x : ndarray, shape (n, k)
        NaN = missing.
    weights : ndarray, shape (n,), optional
        Integer frequency weights (bootstrap resampling counts).

    Returns
    -------
    n_pair : ndarray, shape (k, k)
        Respondents who answered both items.
    cov : ndarray, shape (k, k)
        Covariance of each pair over the respondents who answered both (divisor n_pair - 1),
        as R ``cov(use = "pairwise")``.
    cor : ndarray, shape (k, k)
        Pearson correlation of each pair over the same respondents, using that pair's own
        standard deviations, as R ``cor(use = "pairwise")`` (not ``cov2cor(cov)``).

    Notes
    -----
    Vectorised as matrix products over the answered mask (no loop over pairs); columns are
    centred at their answered means first, which leaves every pairwise moment unchanged and
    avoids cancellation.
    """
    answered = ~np.isnan(x)
    if answered.all() and weights is None and x.shape[0] > 0:
        n = x.shape[0]
        xc = x - x.mean(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = xc.T @ xc / (n - 1)
        sd = np.sqrt(np.diag(cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            cor = cov / np.outer(sd, sd)
        np.fill_diagonal(cor, np.where(sd > 0, 1.0, np.nan))
        return np.full(cov.shape, float(n)), cov, cor
    m = answered.astype(float)
    n_answered = m.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):  # an all-empty column: centre 0
        centre = np.where(n_answered > 0, np.where(answered, x, 0.0).sum(axis=0) / n_answered,
                          0.0)
    xc = np.where(answered, x - centre, 0.0)
    mw = m if weights is None else m * weights[:, None]
    xw = xc if weights is None else xc * weights[:, None]
    n = mw.T @ m
    sx = xw.T @ m              # sum of x_i over respondents answering i and j
    sxx = (xw * xc).T @ m      # sum of x_i^2 over the same respondents
    sxy = xw.T @ xc
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = (sxy - sx * sx.T / n) / (n - 1)
        var_i = (sxx - sx * sx / n) / (n - 1)
        cor = cov / np.sqrt(var_i * var_i.T)
    cov[n < 2] = np.nan
    cor[n < 2] = np.nan
    diag_ok = np.diag(cov) > 0
    np.fill_diagonal(cor, np.where(diag_ok, 1.0, np.nan))
    return n, cov, cor


def cov2cor(c: np.ndarray) -> np.ndarray:
    """R ``cov2cor``: c_ij / sqrt(c_ii c_jj), unit diagonal."""
    sd = np.sqrt(np.diag(c))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = c / np.outer(sd, sd)
    np.fill_diagonal(r, 1.0)
    return r


def pinv(r: np.ndarray) -> np.ndarray:
    """Pseudo-inverse as psych ``Pinv``: SVD, singular values below sqrt(machine eps) times
    the largest dropped.

    On a positive-definite matrix this is the inverse. On a singular one (fewer respondents
    than items) a plain inverse is dominated by rounding error (SMCs of 1, lambda-6 = 1);
    psych's tolerance gives R's values (``tests/oracles/make_warning_oracles.R``).
    """
    u, d, vt = np.linalg.svd(r)
    keep = d > max(np.sqrt(np.finfo(float).eps) * d[0], 0.0)
    return (vt[keep].T / d[keep]) @ u[:, keep].T


def smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations 1 - 1/diag(R^+) (R^+ = :func:`pinv`, clipped to [0, 1]),
    as psych::smc. NaN when R holds NaN (an item without variance)."""
    if not np.isfinite(r).all():
        return np.full(r.shape[0], np.nan)
    with np.errstate(divide="ignore"):
        out = 1 - 1 / np.diag(pinv(r))
    return np.clip(out, 0.0, 1.0)


def is_singular(r: np.ndarray) -> bool:
    """True when the correlation matrix is not positive definite (R psych then warns)."""
    if not np.isfinite(r).all():
        return False
    eig = np.linalg.eigvalsh(r)
    return bool(eig[0] <= 1e-10 * max(eig[-1], 1.0))
