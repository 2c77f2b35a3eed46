"""Factor analysis of item responses: KMO, Bartlett's test, EFA and CFA with fit indices.

Every function takes a response table (rows = respondents, columns = items, NaN = missing), or
an instrument whose item columns are used, and an explicit missing-data policy that the result
states. ``by="school"`` repeats the analysis per group and returns a tidy
:class:`~xinli_screen.reliability.ScaleResults` table.

Implementation choices
----------------------
- **Extraction and rotation** (EFA, and the Schmid-Leiman solution behind
  :func:`xinli_screen.reliability.mcdonald_omega`) are computed here with numpy and scipy
  (:mod:`xinli_screen.factor.extraction`, :mod:`xinli_screen.factor.rotation`): minres and ML
  uniquenesses by L-BFGS-B with analytic gradients (psych ``fit.residuals``/``FAgr.minres`` and
  ``FAfn``/``FAgr``), varimax as ``stats::varimax``, promax as psych ``kaiser(Promax)``, oblimin
  as ``GPArotation::oblimin``. The correlation matrix is computed here, pairwise or listwise as
  requested, so pairwise results match R ``psych::fa`` (which uses ``cor(use = "pairwise")``).
  Signs, factor order and the fit statistics follow ``psych::fa`` / ``psych::fa.stats``
  (psych 2.2.9) so that the numbers can be checked against R. (Up to version 0.1 this used
  ``factor_analyzer`` 0.5.1, which breaks on scikit-learn >= 1.8; nothing here needs
  scikit-learn now.)
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

from xinli_screen._analysis import AnalysisError, InsufficientDataWarning, MiskeyedItemsWarning
from xinli_screen._analysis_results import ScaleResults
from xinli_screen.factor._common import EXTRACTION_METHODS, ROTATIONS, FactorFitWarning
from xinli_screen.factor.adequacy import BartlettResult, KMOResult, bartlett_sphericity, kmo
from xinli_screen.factor.cfa import CFAResult, cfa
from xinli_screen.factor.efa import EFAResult, efa
from xinli_screen.factor.extraction import extract, rotate
from xinli_screen.factor.schmid import schmid_leiman

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
    "extract",
    "kmo",
    "rotate",
    "schmid_leiman",
]
