"""Mahalanobis D² with a chi-square flag (R careless ``mahad``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.linalg import blas

from xinli_screen.validity._common import (
    _QUAD_ROWS,
    CarelessIndexError,
    _matrix,
    _mean,
)
from xinli_screen.validity.moments import ItemMoments, _centred, _pairwise_moments

# --------------------------------------------------------------------------- mahalanobis


def _quadratic_form(x: np.ndarray, mean: np.ndarray, inv: np.ndarray) -> np.ndarray:
    r"""Row-wise :math:`(x_i - \bar{x})^\top S^{-1} (x_i - \bar{x})`, missing cells as 0.

    With the Cholesky factor :math:`S^{-1} = L L^\top` this is :math:`\lVert (x_i -
    \bar{x}) L \rVert^2`, a triangular product (BLAS ``dtrmm``: half the work of a full
    one), in blocks of rows. A pairwise covariance matrix need not be positive definite;
    then the full product is used (and D² may be negative, as in R).
    """
    d2 = np.empty(len(x))
    try:
        factor = np.asfortranarray(np.linalg.cholesky(inv))
    except np.linalg.LinAlgError:
        factor = None

    for lo in range(0, len(x), _QUAD_ROWS):
        hi = min(lo + _QUAD_ROWS, len(x))
        centred = np.asfortranarray(x[lo:hi] - mean)
        np.copyto(centred, 0.0, where=np.isnan(centred))  # a missing answer = the item mean
        if factor is None:
            d2[lo:hi] = ((centred @ inv) * centred).sum(axis=1)
        else:
            y = blas.dtrmm(1.0, factor, centred, side=1, lower=1, overwrite_b=1)
            d2[lo:hi] = np.einsum("ij,ij->i", y, y)
    return d2


def mahalanobis(items: pd.DataFrame, confidence: float | None = None, *,
                moments: ItemMoments | None = None) -> pd.DataFrame:
    """Squared Mahalanobis distance D² of each response pattern (R careless ``mahad``).

    Parameters
    ----------
    items : DataFrame, shape (n_respondents, n_items)
        Numeric codes, NaN = missing.
    confidence : float in (0, 1), optional
        When given, add a flag: D² above the ``confidence`` quantile of a chi-square
        distribution with df = n_items (R careless default 0.99).
    moments : ItemMoments, optional
        Moments of the whole sample when ``items`` is one batch of it (a streamed run): the
        means and covariance matrix come from them, so each batch's D² equals the D² of the
        same rows in one run over the whole sample.

    Returns
    -------
    DataFrame, shape (n_respondents, 1 or 2), same index as ``items``
        ``mahalanobis_d2`` (float): D² (squared distance, not D); NaN for a respondent with no
        answer. ``mahalanobis_flag`` (pandas ``boolean``, only with ``confidence``): True when
        D² > :math:`\\chi^2_{confidence}(n_{items})`; NA where D² is NaN.

    Raises
    ------
    CarelessIndexError
        The item covariance matrix is singular or undefined (fewer respondents than items, an
        item nobody varied on, two items never answered together).

    Notes
    -----
    .. math:: D^2_i = (x_i - \\bar{x})^\\top S^{-1} (x_i - \\bar{x})

    computed as R ``psych::outlier`` (which ``careless::mahad`` calls): :math:`\\bar{x}` are the
    item means over the answered cells, *S* the pairwise-complete covariance matrix
    (``cov(x, use = "pairwise")``), and a missing answer contributes 0 to the quadratic
    form (its centred value is dropped, i.e. treated as the item mean). Respondents with no
    answer are left out of the means and get NaN. The chi-square reference uses
    df = n_items for every respondent, also for one with missing answers (as R careless).

    D² depends on the sample: the same answers get another D² in another school. A genuinely
    extreme but honest profile (e.g. every symptom at its maximum) is also far from the mean.

    References
    ----------
    .. [1] Meade, A. W., & Craig, S. B. (2012). Identifying careless responses in survey data.
       *Psychological Methods, 17*(3), 437-455. https://doi.org/10.1037/a0028085
    .. [2] Revelle, W. *psych*: ``outlier`` (R package, version 2.2.9).

    Examples
    --------
    R: ``careless::mahad(careless_dataset, plot = FALSE, flag = TRUE, confidence = 0.99)``
    flags 23 of the 200 respondents; ``mahalanobis(items, confidence=0.99)`` flags the same 23.
    """
    if confidence is not None and not (isinstance(confidence, (int, float))
                                       and 0.0 < float(confidence) < 1.0):
        raise ValueError("the confidence parameter of mahalanobis must be a number in (0, 1) "
                         f"or None; got {confidence!r}")
    x = _matrix(items, "mahalanobis")
    p = x.shape[1]
    missing = np.isnan(x)
    rows = ~missing.all(axis=1)
    if moments is None:
        mean = _mean(x, missing, axis=0)
        n, cov_n, _, _ = _pairwise_moments(x, missing, mean)  # rows without answers add 0
        answered = int(rows.sum())
    else:
        moments.check(items, "mahalanobis")
        mean = moments.mean()
        n, cov_n, _, _ = _centred(moments.n, moments.sx, moments.sxx, moments.sxy)
        answered = moments.rows
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = cov_n / (n * (n - 1))
    if not np.isfinite(cov).all():
        raise CarelessIndexError(
            "mahalanobis: the item covariance matrix is undefined (a pair of items answered "
            "together by fewer than two respondents); D² needs every pair answered by >= 2")
    try:
        inv = np.linalg.inv(cov)
        # R solve() refuses a matrix whose reciprocal condition number is below machine eps
        rcond = 1.0 / (np.linalg.norm(cov, 1) * np.linalg.norm(inv, 1))
    except np.linalg.LinAlgError:
        rcond = 0.0
    if not rcond >= np.finfo(float).eps:
        raise CarelessIndexError(
            f"mahalanobis: the {p} x {p} item covariance matrix is singular ({answered} "
            "respondents with answers); D² needs more respondents than items and no item "
            "without variance")
    d2 = _quadratic_form(x, mean, inv)
    d2[~rows] = np.nan
    out = pd.DataFrame({"mahalanobis_d2": d2}, index=items.index)
    if confidence is not None:
        cut = stats.chi2.ppf(float(confidence), df=p)
        with np.errstate(invalid="ignore"):
            flag = d2 > cut
        out["mahalanobis_flag"] = pd.array(np.where(np.isnan(d2), None, flag), dtype="boolean")
    return out
