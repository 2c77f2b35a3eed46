"""The declared scikit-learn bound keeps factor_analyzer working.

factor_analyzer 0.5.1 passes ``force_all_finite`` to ``sklearn.utils.check_array``; the keyword
was removed in scikit-learn 1.8 and ``FactorAnalyzer.fit`` then raises ``TypeError``. The project
declares ``scikit-learn<1.8``; this test fails if an environment resolves to a broken pair.
"""

from __future__ import annotations

import warnings
from importlib.metadata import requires, version

import numpy as np
from factor_analyzer import FactorAnalyzer


def test_declared_bound_excludes_broken_scikit_learn() -> None:
    spec = next(r for r in requires("xinli-screen") or [] if r.startswith("scikit-learn"))
    assert "<1.8" in spec


def test_factor_analyzer_fits_with_installed_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    factor = rng.normal(size=(300, 1))
    data = factor @ np.full((1, 6), 0.7) + rng.normal(scale=0.7, size=(300, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # sklearn 1.6-1.7 rename warning
        fa = FactorAnalyzer(n_factors=1, rotation=None, method="minres").fit(data)
    loadings = np.abs(fa.loadings_[:, 0])
    assert loadings.min() > 0.5, f"implausible loadings with scikit-learn {version('scikit-learn')}"
