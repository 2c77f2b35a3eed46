"""Shared pieces of the factor analyses: the fit warning and the checked correlation input."""

from __future__ import annotations

import numpy as np

from xinli_screen._analysis import AnalysisError, ItemSet, check_answered
from xinli_screen._moments import pairwise_moments
from xinli_screen.errors import XinliScreenWarning

EXTRACTION_METHODS = ("minres", "ml")
ROTATIONS = ("oblimin", "varimax", "promax", None)
_OBLIQUE = ("oblimin", "promax")


class FactorFitWarning(XinliScreenWarning):
    """A factor solution needs care: the optimiser did not converge, a Heywood case
    (communality >= 1 or uniqueness at its lower bound), or more parameters than the
    correlations can identify."""


def _correlation(s: ItemSet, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Correlation matrix and pairwise counts of an item set; raises if unusable."""
    check_answered(s, what)
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


