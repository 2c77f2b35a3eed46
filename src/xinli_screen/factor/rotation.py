"""Factor rotations as R computes them for ``psych::fa``: varimax, promax and oblimin.

Written from the published algorithms and checked against R (``tests/test_factor.py``, bfi
oracles from psych 2.2.9 / GPArotation 2022.10-2), so that no scikit-learn-bound package is
needed:

- **varimax**: Kaiser (1958) with Kaiser row normalisation, the SVD iteration of R
  ``stats::varimax(x, normalize = TRUE, eps = 1e-5)``.
- **promax**: Hendrickson & White (1964), power 4, on Kaiser-normalised rows as psych
  ``kaiser(f, rotate = "Promax")`` (what ``fa(..., rotate = "promax")`` calls): varimax, then
  the least-squares fit of the loadings to their cubed-sign target, columns rescaled.
- **oblimin** (quartimin, gamma = 0), no row normalisation: the gradient-projection algorithm
  for oblique rotations of Jennrich (2002) and Bernaards & Jennrich (2005), as
  ``GPArotation::oblimin`` / ``GPFoblq(eps = 1e-5, maxit = 1000)``.
"""

from __future__ import annotations

import warnings

import numpy as np

from xinli_screen.factor._common import FactorFitWarning

__all__ = ["oblimin", "promax", "varimax"]


def varimax(loadings: np.ndarray, normalize: bool = True, eps: float = 1e-5
            ) -> tuple[np.ndarray, np.ndarray]:
    """Varimax rotation (Kaiser 1958), as R ``stats::varimax``.

    Parameters
    ----------
    loadings : ndarray, shape (k, m)
    normalize : bool
        Kaiser normalisation: rows scaled to unit length before rotating, back after.
    eps : float
        Stop when the criterion grows by a relative amount below ``eps``.

    Returns
    -------
    (rotated, rotmat) : ndarrays of shape (k, m) and (m, m)
        ``rotated = loadings @ rotmat``.

    Notes
    -----
    Each step maximises :math:`\\mathrm{tr}(T' B)` with
    :math:`B = X'(Z^{3} - Z\\,\\mathrm{diag}(\\mathbf 1' Z^{2})/p)`, :math:`Z = X T`, by
    :math:`T = U V'` from the SVD :math:`B = U D V'` (R ``stats::varimax``).
    """
    x = np.asarray(loadings, dtype=float)
    k, m = x.shape
    if m < 2:
        return x.copy(), np.eye(m)
    scale = np.sqrt((x ** 2).sum(axis=1)) if normalize else np.ones(k)
    scale = np.where(scale > 0, scale, 1.0)
    xs = x / scale[:, None]
    rot = np.eye(m)
    d = 0.0
    for _ in range(1000):
        z = xs @ rot
        b = xs.T @ (z ** 3 - z * (z ** 2).sum(axis=0) / k)
        u, s, vt = np.linalg.svd(b)
        rot = u @ vt
        d_past, d = d, float(s.sum())
        if d < d_past * (1 + eps):
            break
    return (xs @ rot) * scale[:, None], rot


def promax(loadings: np.ndarray, power: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Promax rotation with Kaiser normalisation, as psych ``kaiser(f, rotate = "Promax")``.

    Parameters
    ----------
    loadings : ndarray, shape (k, m)
    power : int
        Power of the target (psych ``pro.m = 4``).

    Returns
    -------
    (rotated, phi) : ndarrays of shape (k, m) and (m, m)
        Pattern loadings and factor correlations.

    Notes
    -----
    Rows are divided by :math:`\\sqrt{h^2}`; varimax gives *X* and its rotation :math:`T_v`;
    the target :math:`Q = X \\circ |X|^{p-1}`; :math:`U = (X'X)^{-1} X' Q` (R ``lm.fit``),
    columns rescaled by :math:`\\sqrt{\\mathrm{diag}((U'U)^{-1})}`; pattern :math:`XU` (rows
    multiplied back by :math:`\\sqrt{h^2}`), :math:`\\Phi = (T_v U)^{-1}(T_v U)^{-T}`
    (Hendrickson & White 1964; psych ``Promax``).
    """
    f = np.asarray(loadings, dtype=float)
    if f.shape[1] < 2:
        return f.copy(), np.eye(f.shape[1])
    h = np.sqrt((f ** 2).sum(axis=1))
    h = np.where(h > 0, h, 1.0)
    x, rot_v = varimax(f / h[:, None])
    target = x * np.abs(x) ** (power - 1)
    u = np.linalg.lstsq(x, target, rcond=None)[0]
    d = np.diag(np.linalg.inv(u.T @ u))
    u = u * np.sqrt(d)[None, :]
    pattern = (x @ u) * h[:, None]
    ui = np.linalg.inv(rot_v @ u)
    return pattern, ui @ ui.T


def oblimin(loadings: np.ndarray, gamma: float = 0.0, eps: float = 1e-5, maxit: int = 1000
            ) -> tuple[np.ndarray, np.ndarray]:
    """Oblimin rotation by gradient projection, as ``GPArotation::oblimin`` (no normalisation).

    Parameters
    ----------
    loadings : ndarray, shape (k, m)
    gamma : float
        0 = quartimin (the psych and GPArotation default).
    eps, maxit : float, int
        Stop when the projected gradient's norm is below ``eps``; at most ``maxit`` steps
        (a :class:`FactorFitWarning` says so when reached, as GPArotation warns).

    Returns
    -------
    (rotated, phi) : ndarrays of shape (k, m) and (m, m)
        Pattern :math:`L = A (T')^{-1}` and factor correlations :math:`\\Phi = T'T`.

    Notes
    -----
    Criterion :math:`Q(L) = \\tfrac14 \\sum (L^{2} \\circ (L^{2} N))`, *N* = ones with a zero
    diagonal (gamma = 0), gradient :math:`L \\circ (L^{2} N)`; the gradient with respect to
    *T* is :math:`G = -(L' G_q T^{-1})'`, projected onto the unit-column manifold and followed
    with step halving (Bernaards & Jennrich 2005, ``GPFoblq``).
    """
    a = np.asarray(loadings, dtype=float)
    k, m = a.shape
    if m < 2:
        return a.copy(), np.eye(m)
    n_off = 1.0 - np.eye(m)
    centre = np.eye(k) - gamma / k if gamma else None

    def criterion(lam: np.ndarray) -> tuple[np.ndarray, float]:
        x = (lam ** 2) @ n_off
        if centre is not None:
            x = centre @ x
        return lam * x, float((lam ** 2 * x).sum() / 4)

    t = np.eye(m)
    alpha = 1.0
    lam = a @ np.linalg.inv(t).T
    gq, f = criterion(lam)
    g = -(lam.T @ gq @ np.linalg.inv(t)).T
    converged = False
    for _ in range(maxit + 1):
        gp = g - t * (t * g).sum(axis=0)[None, :]
        s = float(np.sqrt((gp ** 2).sum()))
        if s < eps:
            converged = True
            break
        alpha *= 2
        for _ in range(11):
            x = t - alpha * gp
            t_new = x / np.sqrt((x ** 2).sum(axis=0))[None, :]
            lam = a @ np.linalg.inv(t_new).T
            gq_new, f_new = criterion(lam)
            if f - f_new > 0.5 * s ** 2 * alpha:
                break
            alpha /= 2
        t, f = t_new, f_new
        g = -(lam.T @ gq_new @ np.linalg.inv(t)).T
    if not converged:
        warnings.warn(FactorFitWarning(f"oblimin rotation did not converge in {maxit} "
                                       "iterations"), stacklevel=3)
    return lam, t.T @ t
