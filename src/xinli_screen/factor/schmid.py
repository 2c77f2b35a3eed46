"""Schmid-Leiman orthogonalisation (psych::schmid), behind McDonald's omega."""

from __future__ import annotations

import math

import numpy as np

from xinli_screen.factor.extraction import extract, rotate


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


