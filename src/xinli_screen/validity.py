"""Careless-responding (insufficient-effort) indices and a protocol-validity screen.

Every index is computed for all respondents at once (no loop over respondents) and matches
R ``careless`` 1.2.2 (Yentes & Wilhelm) on every row of its simulated data sets; see
``tests/oracles/README.md`` ("R careless oracles") for the recorded R values and the few
documented differences (all-missing rows, the random re-sampling of ``psychsyn``).

Inputs are item responses as a DataFrame: rows = respondents, columns = items **in the order
they were presented**, numeric codes, NaN = missing. Every index returns one value per
respondent, aligned to the input index.

========================  =====================================  ===========================
function                  index                                  R careless
========================  =====================================  ===========================
:func:`longstring`        longest run of identical answers       ``longstring(x, avg)``
:func:`irv`               intra-individual response variability  ``irv(x)``
:func:`mahalanobis`       Mahalanobis D² (+ chi-square flag)     ``mahad(x, flag, confidence)``
:func:`even_odd`          even-odd consistency (higher = worse)  ``evenodd(x, factors)``
:func:`psychsyn`          psychometric synonyms                  ``psychsyn(x, critval)``
:func:`psychant`          psychometric antonyms                  ``psychant(x, critval)``
:func:`response_time`     completion time below a minimum        (not in careless)
:func:`careless_screen`   all of the above, thresholds, reasons  (not in careless)
========================  =====================================  ===========================

The indices are meant for long questionnaires with several scales and mixed content (e.g. a
100-item battery). On a short symptom scale where every item points the same way (PHQ-9),
identical answers ("0" nine times) and extreme profiles are plausible honest answers: do not
use these indices to invalidate such protocols.
"""

from __future__ import annotations

import math
import re
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse, stats
from scipy.linalg import blas

from xinli_screen.errors import ResponseDataError, XinliScreenError, XinliScreenWarning

__all__ = [
    "DEFAULT_THRESHOLDS",
    "THRESHOLD_SOURCES",
    "CarelessIndexError",
    "ItemMoments",
    "careless_screen",
    "even_odd",
    "irv",
    "longstring",
    "mahalanobis",
    "parse_duration",
    "psychant",
    "psychsyn",
    "psychsyn_critval",
    "response_time",
]

#: Rows per block in the blocked matrix products (bounds memory, not a per-row loop).
_BLOCK_ROWS = 32_768
#: Rows per block of the D² quadratic form and the pairwise moments: small products stay in
#: cache and on one OpenBLAS thread (threads cost more than they save on a shared 2-core
#: machine).
_QUAD_ROWS = 4_096


class CarelessIndexError(XinliScreenError, ValueError):
    """An index cannot be computed for this data set as a whole.

    Examples: no item pair correlates beyond the critical value (psychometric synonyms or
    antonyms), or the item covariance matrix is singular (Mahalanobis D², e.g. fewer
    respondents than items, or an item that nobody varied on).
    """


# --------------------------------------------------------------------------- input checks


def _matrix(items: pd.DataFrame, function: str) -> np.ndarray:
    """Items as a float matrix (NaN = missing); raises with the offending columns."""
    if not isinstance(items, pd.DataFrame):
        raise TypeError(f"the items parameter of {function} must be a pandas DataFrame "
                        f"(rows = respondents, columns = items); got {type(items).__name__}")
    if items.shape[1] == 0:
        raise ResponseDataError(f"{function}: items has no columns; give at least one item")
    bad = [str(c) for j, (c, dtype) in enumerate(items.dtypes.items())
           if not (pd.api.types.is_numeric_dtype(dtype) or items.iloc[:, j].isna().all())]
    if bad:
        raise ResponseDataError(
            f"{function}: item columns must be numeric codes (NaN = missing); column(s) "
            f"{bad[:5]} hold text. Convert the answers first (e.g. with "
            "xinli_screen.prepare_responses).")
    x = items.to_numpy(dtype=float, na_value=np.nan)
    if x.size and (np.isinf(np.fmax.reduce(x, axis=None))  # NaN ignored; no n x items mask
                   or np.isinf(np.fmin.reduce(x, axis=None))):
        cols = [str(items.columns[j]) for j in np.flatnonzero(np.isinf(x).any(axis=0))]
        raise ResponseDataError(f"{function}: item column(s) {cols[:5]} contain infinite "
                                "values; use NaN for a missing answer")
    return x


def _zero_filled(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x with NaN -> 0, answered mask as float)."""
    answered = ~np.isnan(x)
    return np.where(answered, x, 0.0), answered.astype(float)


def _mean(values: np.ndarray, missing: np.ndarray, axis: int) -> np.ndarray:
    """Mean of the answered values along ``axis`` (keepdims; NaN where nothing is answered).

    ``missing`` is ``np.isnan(values)``; the same arithmetic as ``np.nanmean`` (column means
    are summed in blocks of rows, so no zero-filled copy of the whole matrix is made).
    """
    count = values.shape[axis] - missing.sum(axis=axis, keepdims=True)
    if axis == 0:
        total = np.zeros((1, values.shape[1]))
        for lo in range(0, len(values), _QUAD_ROWS):
            block = values[lo:lo + _QUAD_ROWS]
            total += np.where(missing[lo:lo + _QUAD_ROWS], 0.0, block).sum(axis=0,
                                                                            keepdims=True)
    else:
        total = np.where(missing, 0.0, values).sum(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def _shift(mean: np.ndarray) -> np.ndarray:
    """The rounded ``mean`` (0 where nothing is answered).

    Subtracting it keeps integer codes integer (so the sums below are exact) and small.
    """
    centre = np.round(mean)
    return np.where(np.isnan(centre), 0.0, centre)


# --------------------------------------------------------------------------- longstring


def longstring(items: pd.DataFrame, average: bool = False) -> pd.Series:
    """Longest string of identical consecutive answers (LongString; Johnson 2005).

    Parameters
    ----------
    items : DataFrame, shape (n_respondents, n_items)
        Numeric codes, columns in presentation order, NaN = missing.
    average : bool, default False
        Return the average run length (R careless ``avgstr``) instead of the longest run.

    Returns
    -------
    Series, shape (n_respondents,), same index as ``items``
        ``average=False``: ``longstring`` (pandas ``Int64``), the length of the longest run of
        identical consecutive answers, 1 to n_items. ``average=True``: ``avgstr`` (float), the
        mean run length. <NA>/NaN for a respondent with no answer at all.

    Notes
    -----
    Runs are those of R's ``rle`` on the row, as in R careless ``longstring``: a missing answer
    ends a run and is itself a run of length 1 (two missing answers in a row are two runs).
    So the row (3, 3, NA, 3, 3, 3) has runs 2, 1, 3: ``longstring`` = 3 and
    ``avgstr`` = 6 / 3 = 2.

    .. math:: \\text{avgstr} = \\frac{n_{items}}{n_{runs}}, \\qquad
              n_{runs} = 1 + \\#\\{k : x_k \\ne x_{k-1} \\text{ or either is missing}\\}

    Difference from R: a row with no answer at all gives 1 in R (n_items runs of one NA);
    here it gives <NA>/NaN, because there is nothing to measure.

    References
    ----------
    .. [1] Johnson, J. A. (2005). Ascertaining the validity of individual protocols from
       web-based personality inventories. *Journal of Research in Personality, 39*,
       103-129. https://doi.org/10.1016/j.jrp.2004.09.009
    .. [2] Yentes, R. D., & Wilhelm, F. (2023). *careless: Procedures for computing indices of
       careless responding* (R package 1.2.2). https://github.com/ryentes/careless

    Examples
    --------
    >>> import pandas as pd
    >>> longstring(pd.DataFrame([[3, 3, None, 3, 3, 3]], dtype=float)).tolist()
    [3]
    >>> # R: careless::longstring(x, avg = TRUE)$avgstr
    >>> longstring(pd.DataFrame([[3, 3, None, 3, 3, 3]], dtype=float), average=True).tolist()
    [2.0]
    """
    # column-major, so each step of the loop over items reads one contiguous column
    x = np.asfortranarray(_matrix(items, "longstring"))
    n, p = x.shape
    none = np.isnan(x).all(axis=1)
    same = np.empty(n, dtype=bool)
    if average:
        n_same = np.zeros(n, dtype=np.int64)
        for j in range(1, p):
            np.equal(x[:, j], x[:, j - 1], out=same)  # NaN == anything is False
            n_same += same
        out = np.where(none, np.nan, p / (p - n_same))  # n_runs = 1 + (p - 1 - n_same)
        return pd.Series(out, index=items.index, name="avgstr")
    run = np.ones(n, dtype=np.int64)  # length of the run ending at the current item
    longest = np.ones(n, dtype=np.int64)
    for j in range(1, p):
        np.equal(x[:, j], x[:, j - 1], out=same)  # a missing answer breaks the run
        run *= same
        run += 1
        np.maximum(longest, run, out=longest)
    return pd.Series(pd.arrays.IntegerArray(longest, none), index=items.index,
                     name="longstring")


# --------------------------------------------------------------------------- irv


def irv(items: pd.DataFrame) -> pd.Series:
    """Intra-individual response variability (IRV, inter-item standard deviation).

    Parameters
    ----------
    items : DataFrame, shape (n_respondents, n_items)
        Numeric codes, NaN = missing.

    Returns
    -------
    Series ``irv`` (float), shape (n_respondents,), same index as ``items``
        Sample standard deviation of each respondent's answered items; NaN with fewer than
        two answers.

    Notes
    -----
    .. math:: \\text{IRV}_i = \\sqrt{\\frac{1}{m_i - 1}\\sum_{j \\in A_i}
              (x_{ij} - \\bar{x}_i)^2}

    with :math:`A_i` the answered items of respondent *i* and :math:`m_i = |A_i|`: the
    **sample** SD (denominator *m* - 1), as R careless ``irv`` (``apply(x, 1, sd,
    na.rm = TRUE)``). The Python package ``ier``/careless-py uses the population SD
    (denominator *m*); its values are smaller by a factor :math:`\\sqrt{(m-1)/m}`. Low IRV
    suggests straight-lining (Dunn et al. 2018), high IRV random answering (Marjanovic et al.
    2015); neither paper gives a general cut-off.

    References
    ----------
    .. [1] Dunn, A. M., Heggestad, E. D., Shanock, L. R., & Theilgard, N. (2018).
       Intra-individual response variability as an indicator of insufficient effort
       responding. *Journal of Business and Psychology, 33*(1), 105-121.
       https://doi.org/10.1007/s10869-016-9479-0
    .. [2] Marjanovic, Z., Holden, R., Struthers, W., Cribbie, R., & Greenglass, E. (2015).
       The inter-item standard deviation (ISD). *Personality and Individual Differences, 84*,
       79-83. https://doi.org/10.1016/j.paid.2014.08.021

    Examples
    --------
    >>> import pandas as pd
    >>> irv(pd.DataFrame([[1, 2, 3, 4, 5, 6]], dtype=float)).round(4).tolist()  # R: irv(x)
    [1.8708]
    """
    x = _matrix(items, "irv")
    missing = np.isnan(x)
    m = x.shape[1] - missing.sum(axis=1)
    sd = np.empty(len(x))
    with np.errstate(invalid="ignore", divide="ignore"):
        for lo in range(0, len(x), _QUAD_ROWS):  # blocks: the temporaries stay in cache
            rows = slice(lo, lo + _QUAD_ROWS)
            mean = np.where(missing[rows], 0.0, x[rows]).sum(axis=1) / m[rows]
            dev = x[rows] - mean[:, None]
            np.copyto(dev, 0.0, where=missing[rows])
            dev *= dev
            sd[rows] = np.sqrt(dev.sum(axis=1) / (m[rows] - 1))
    return pd.Series(np.where(m >= 2, sd, np.nan), index=items.index, name="irv")


# --------------------------------------------------------------------------- pairwise moments


def _pairwise_moments(x: np.ndarray, missing: np.ndarray,
                      mean: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairwise-complete column moments, R ``cov``/``cor(use = "pairwise.complete.obs")``.

    ``missing`` is ``np.isnan(x)`` and ``mean`` the column means, ``_mean(x, missing, 0)``.

    Returns (n, cov_n, var_x_n, var_y_n), each (p, p): for items j, k over the respondents who
    answered both, n = count, cov_n = n·Σxy − Σx·Σy, var_x_n = n·Σx² − (Σx)² (of item j),
    var_y_n likewise (of item k). Columns are shifted by their rounded mean first, so for
    integer codes every sum is an exact integer.
    """
    return _centred(*_pairwise_sums(x, missing, _shift(mean)))


def _centred(n: np.ndarray, sx: np.ndarray, sxx: np.ndarray, sxy: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(n, cov_n, var_x_n, var_y_n) of :func:`_pairwise_moments` from the pairwise sums."""
    return n, n * sxy - sx * sx.T, n * sxx - sx * sx, n * sxx.T - sx.T * sx.T


def _pairwise_sums(x: np.ndarray, missing: np.ndarray, shift: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Additive pairwise sums of ``x - shift``: (n, sx, sxx, sxy), each (p, p).

    For items j, k over the respondents who answered both: n[j, k] = count, sx[j, k] = Σ x_j,
    sxx[j, k] = Σ x_j², sxy[j, k] = Σ x_j x_k. Sums over disjoint row sets add up.

    With the shifted values zero-filled, Σxy is one Gram matrix; Σx and Σx² over the rows
    where the other item is answered are the column totals minus the values held in the rows
    where it is missing, summed through a sparse item x respondent matrix of the missing
    cells (cost: missing cells x items).
    """
    n_rows, p = x.shape
    cells = np.flatnonzero(missing.T)  # the missing cells, item by item: k * n_rows + i
    out = sparse.csr_array(  # out[k, i] = 1: item k missing for respondent i
        (np.ones(len(cells)), cells % n_rows,
         np.searchsorted(cells, np.arange(p + 1) * n_rows)), shape=(p, n_rows))
    n_out = out.sum(axis=1)
    n = n_rows - n_out[:, None] - n_out[None, :] + (out @ out.T).toarray()
    by_row = out.tocsc()  # column (respondent) slices for the blocks below
    total, total_sq = np.zeros(p), np.zeros(p)
    held, held_sq = np.zeros((p, p)), np.zeros((p, p))  # [k, j]: Σ x_j where k is missing
    sxy = np.zeros((p, p), order="F")  # upper triangle, filled by BLAS dsyrk
    xs = np.empty((min(n_rows, _QUAD_ROWS), p))  # row-major block buffers
    sq = np.empty_like(xs)
    for lo in range(0, n_rows, _QUAD_ROWS):
        hi = min(lo + _QUAD_ROWS, n_rows)
        block, block_sq = xs[:hi - lo], sq[:hi - lo]
        np.subtract(x[lo:hi], shift, out=block)
        np.copyto(block, 0.0, where=missing[lo:hi])
        np.multiply(block, block, out=block_sq)
        total += block.sum(axis=0)
        total_sq += block_sq.sum(axis=0)
        # Σ x_j x_k of the block: dsyrk on the (p, rows) Fortran view, no copy; numpy's
        # block.T @ block took 20x longer here (a general product, on a busy machine)
        sxy = blas.dsyrk(1.0, block.T, beta=1.0, c=sxy, trans=0, lower=0, overwrite_c=1)
        part = by_row[:, lo:hi]
        if part.nnz:
            held += part @ block
            held_sq += part @ block_sq
    sx = total[:, None] - held.T  # Σ x_j over the rows where k is answered
    sxx = total_sq[:, None] - held_sq.T
    sxy = np.triu(sxy) + np.triu(sxy, 1).T
    return np.asarray(n, dtype=float), sx, sxx, sxy


@dataclass(frozen=True)
class ItemMoments:
    """Pairwise-complete item moments that merge across batches (a streamed run's pass 1).

    Sums of ``x - centre`` (a fixed centre per item, e.g. the declared midpoint, the same in
    every batch) over the respondents who answered both items of each pair; sums over
    disjoint row sets add up, so merged batches give the moments of the whole sample (for
    integer codes exactly: every sum is an integer). This is Chan, Golub & LeVeque's (1979)
    pairwise update with a common centre, which needs no rescaling when merging.

    Attributes
    ----------
    columns : tuple of str
        Item ids, length p.
    centre : ndarray, shape (p,)
    n, sx, sxx, sxy : ndarray, shape (p, p)
        Count, Σx_j, Σx_j², Σx_j·x_k over the rows where items j and k are both answered.
    rows : int
        Respondents with at least one answer.
    """

    columns: tuple[str, ...]
    centre: np.ndarray
    n: np.ndarray
    sx: np.ndarray
    sxx: np.ndarray
    sxy: np.ndarray
    rows: int

    @classmethod
    def of(cls, items: pd.DataFrame, centre: np.ndarray | Sequence[float]) -> ItemMoments:
        """The moments of one batch.

        Parameters
        ----------
        items : DataFrame, shape (n_respondents, p)
            Numeric codes, NaN = missing.
        centre : array-like, shape (p,)
            Fixed centre per item.

        Raises
        ------
        ValueError
            ``centre`` does not have one value per item.
        ResponseDataError
            Non-numeric or infinite item values.
        """
        x = _matrix(items, "ItemMoments")
        centre = np.asarray(centre, dtype=float)
        if centre.shape != (x.shape[1],):
            raise ValueError(f"ItemMoments: centre has shape {centre.shape}; expected "
                             f"({x.shape[1]},)")
        missing = np.isnan(x)
        return cls(tuple(map(str, items.columns)), centre,
                   *_pairwise_sums(x, missing, centre),
                   rows=int((~missing).any(axis=1).sum()))

    def merge(self, other: ItemMoments) -> ItemMoments:
        """The moments of both row sets (a new object).

        Raises
        ------
        ValueError
            Other items or another centre.
        """
        if self.columns != other.columns or not np.array_equal(self.centre, other.centre):
            raise ValueError("ItemMoments.merge: the two batches have other items or centres")
        return ItemMoments(self.columns, self.centre, self.n + other.n, self.sx + other.sx,
                           self.sxx + other.sxx, self.sxy + other.sxy, self.rows + other.rows)

    def mean(self) -> np.ndarray:
        """Item means over the answered cells, shape (1, p) (NaN for an item never answered)."""
        count = np.diag(self.n)
        with np.errstate(invalid="ignore", divide="ignore"):
            return ((np.diag(self.sx) + self.centre * count) / count)[None, :]

    def check(self, items: pd.DataFrame, function: str) -> None:
        """Refuse moments of other items than ``items`` (ValueError naming ``function``)."""
        if tuple(map(str, items.columns)) != self.columns:
            raise ValueError(f"{function}: moments are of other items than the answers given")


def _cor_of(n: np.ndarray, cov_n: np.ndarray, vx: np.ndarray, vy: np.ndarray) -> np.ndarray:
    """Pairwise correlations from :func:`_pairwise_moments` (NaN where undefined)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov_n / np.sqrt(vx * vy)
    r[(n < 2) | (vx <= 0) | (vy <= 0)] = np.nan
    return np.clip(r, -1.0, 1.0)


def _pairwise_cor(x: np.ndarray, moments: ItemMoments | None = None) -> np.ndarray:
    if moments is not None:
        return _cor_of(*_centred(moments.n, moments.sx, moments.sxx, moments.sxy))
    missing = np.isnan(x)
    return _cor_of(*_pairwise_moments(x, missing, _mean(x, missing, axis=0)))


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


# --------------------------------------------------------------------------- row correlations


def _row_cor_two_pass(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-row Pearson r of a and b over the columns where both are present (NaN otherwise).

    NaN with fewer than two complete pairs or when a or b is constant over them (R ``cor``:
    zero standard deviation gives NA).
    """
    valid = ~np.isnan(a) & ~np.isnan(b)
    k = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma = np.where(valid, a, 0.0).sum(axis=1) / k
        mb = np.where(valid, b, 0.0).sum(axis=1) / k
        da = np.where(valid, a - ma[:, None], 0.0)
        db = np.where(valid, b - mb[:, None], 0.0)
        r = (da * db).sum(axis=1) / np.sqrt((da * da).sum(axis=1) * (db * db).sum(axis=1))
    const_a = (np.where(valid, a, -np.inf).max(axis=1) == np.where(valid, a, np.inf).min(axis=1))
    const_b = (np.where(valid, b, -np.inf).max(axis=1) == np.where(valid, b, np.inf).min(axis=1))
    r[(k < 2) | const_a | const_b] = np.nan
    return np.clip(r, -1.0, 1.0)


# --------------------------------------------------------------------------- even-odd


def even_odd(items: pd.DataFrame, factors: Sequence[int]) -> pd.Series:
    """Even-odd consistency index, R careless >= 1.2.1 sign (higher = more careless).

    Parameters
    ----------
    items : DataFrame, shape (n_respondents, n_items)
        Numeric codes, NaN = missing; the items of each scale in consecutive columns, in the
        order of ``factors``, each scale keyed in one direction (reverse-key first).
    factors : sequence of int
        Number of items of each scale (subscale lengths), e.g. ``[5] * 10``; at least two
        scales. Items beyond ``sum(factors)`` are ignored (with a warning, as R careless).

    Returns
    -------
    Series ``even_odd`` (float), shape (n_respondents,), same index as ``items``
        In [-1, 1]; +1 = as inconsistent as possible. NaN when the correlation is undefined
        (fewer than two scales with both halves answered, or no variation across scales in
        the even or in the odd half means, e.g. a straight-liner).

    Raises
    ------
    ValueError
        Fewer than two scales, a non-positive length, or more items in ``factors`` than
        columns.

    Warns
    -----
    XinliScreenWarning
        ``sum(factors)`` is smaller than the number of columns.

    Notes
    -----
    For each scale *s*, :math:`e_{is}` is respondent *i*'s mean of the answered items in even
    positions within the scale (2nd, 4th, ...) and :math:`o_{is}` the mean of the odd
    positions (1st, 3rd, ...). With *r* the Pearson correlation of :math:`(e_{is})_s` and
    :math:`(o_{is})_s` over the scales where both are defined, the Spearman-Brown corrected
    split-half value is :math:`r_{SB} = 2r / (1 + r)`, set to -1 when below -1, and

    .. math:: \\text{even\\_odd}_i = -\\max(r_{SB}, -1).

    R careless changed the sign in version 1.2.1 ("higher scores indicate higher levels of
    careless responding"); older cut-offs such as "consistency below .30" (Johnson 2005) read
    here as ``even_odd > -0.30``.

    References
    ----------
    .. [1] Johnson, J. A. (2005). Ascertaining the validity of individual protocols from
       web-based personality inventories. *Journal of Research in Personality, 39*,
       103-129. https://doi.org/10.1016/j.jrp.2004.09.009
    .. [2] Meade, A. W., & Craig, S. B. (2012). Identifying careless responses in survey data.
       *Psychological Methods, 17*(3), 437-455. https://doi.org/10.1037/a0028085

    Examples
    --------
    R: ``careless::evenodd(careless_dataset, rep(5, 10))`` gives 1.0000, -0.6410, -0.5561 for
    the first three respondents; ``even_odd(items, [5] * 10)`` gives the same.
    """
    sizes = list(factors) if not isinstance(factors, (str, bytes)) else []
    if len(sizes) < 2 or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool)
                                 and s >= 1 for s in sizes):
        raise ValueError("the factors parameter of even_odd must list the number of items of "
                         f"each scale (at least two positive integers); got {factors!r}")
    x = _matrix(items, "even_odd")
    p = x.shape[1]
    total = int(sum(sizes))
    if total > p:
        raise ValueError(f"even_odd: factors cover {total} items but items has {p} columns")
    if total < p:
        warnings.warn(f"even_odd: factors cover {total} of the {p} item columns; the last "
                      f"{p - total} columns are ignored", XinliScreenWarning, stacklevel=2)
    even = np.zeros((p, len(sizes)))
    odd = np.zeros((p, len(sizes)))
    start = 0
    for s, size in enumerate(sizes):
        pos = np.arange(size)  # 0-based: positions 1, 3, 5 ... (odd) are 0, 2, 4 ...
        odd[start + pos[pos % 2 == 0], s] = 1.0
        even[start + pos[pos % 2 == 1], s] = 1.0
        start += int(size)
    x0, answered = _zero_filled(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        e = (x0 @ even) / (answered @ even)
        o = (x0 @ odd) / (answered @ odd)
    r = _row_cor_two_pass(e, o)
    with np.errstate(invalid="ignore", divide="ignore"):
        sb = 2.0 * r / (1.0 + r)
    sb = np.where(sb < -1.0, -1.0, sb)
    return pd.Series(-sb + 0.0, index=items.index, name="even_odd")


# --------------------------------------------------------------------------- psychsyn


def psychsyn_critval(items: pd.DataFrame, anto: bool = False) -> pd.DataFrame:
    """All item pairs with their correlation, to help choose a critical value.

    Parameters
    ----------
    items : DataFrame, shape (n_respondents, n_items)
    anto : bool, default False
        Sort ascending (most negative first) for antonyms instead of descending.

    Returns
    -------
    DataFrame, one row per item pair, columns ``item_1``, ``item_2``, ``cor``
        Pairwise-complete Pearson correlations, sorted by ``cor`` (R careless
        ``psychsyn_critval``).
    """
    x = _matrix(items, "psychsyn_critval")
    r = _pairwise_cor(x)
    j, k = np.tril_indices(x.shape[1], -1)
    cols = np.asarray(items.columns, dtype=object)
    out = pd.DataFrame({"item_1": cols[k], "item_2": cols[j], "cor": r[j, k]})
    return out.sort_values("cor", ascending=anto, kind="stable").reset_index(drop=True)


def _synonym_pairs(x: np.ndarray, critval: float, anto: bool,
                   moments: ItemMoments | None = None) -> tuple[np.ndarray, np.ndarray]:
    r = _pairwise_cor(x, moments)
    j, k = np.tril_indices(x.shape[1], -1)
    rjk = r[j, k]
    with np.errstate(invalid="ignore"):
        keep = rjk < -abs(critval) if anto else rjk > abs(critval)
    return j[keep], k[keep]


def _psych_pairs_index(items: pd.DataFrame, critval: float, anto: bool,
                       function: str, moments: ItemMoments | None = None) -> pd.Series:
    if not isinstance(critval, (int, float)) or isinstance(critval, bool) or math.isnan(critval):
        raise ValueError(f"the critval parameter of {function} must be a number; "
                         f"got {critval!r}")
    x = _matrix(items, function)
    if moments is not None:
        moments.check(items, function)
    j, k = _synonym_pairs(x, critval, anto, moments)
    kind = "antonym" if anto else "synonym"
    if len(j) == 0:
        raise CarelessIndexError(
            f"{function}: no item pair correlates {'below' if anto else 'above'} "
            f"{-abs(critval) if anto else abs(critval)}, so there are no psychometric "
            f"{kind}s (R careless stops with 'No Psychometric {kind.capitalize()}s found.'). "
            "Use psychsyn_critval(items) to see the pair correlations and choose another "
            "critval, or leave this index out.")
    p = x.shape[1]
    # a-values from item j, b-values from item k; sparse, so the products cost n x n_pairs
    pairs = sparse.csr_array((np.ones(len(j)), (j, k)), shape=(p, p))
    n = len(x)
    r = np.empty(n)
    for lo in range(0, n, _BLOCK_ROWS):
        xb = x[lo:lo + _BLOCK_ROWS]
        xb = xb - _shift(_mean(xb, np.isnan(xb), axis=1))  # same shift for a and b: same r
        x0, m = _zero_filled(xb)
        x0p, mp = x0 @ pairs, m @ pairs  # (i, k): sums over the partners j of item k
        cnt = (mp * m).sum(axis=1)
        sa = (x0p * m).sum(axis=1)
        sb = (mp * x0).sum(axis=1)
        saa = (((x0 * x0) @ pairs) * m).sum(axis=1)
        sbb = (mp * x0 * x0).sum(axis=1)
        sab = (x0p * x0).sum(axis=1)
        cov = cnt * sab - sa * sb
        va = cnt * saa - sa * sa
        vb = cnt * sbb - sb * sb
        with np.errstate(invalid="ignore", divide="ignore"):
            rb = cov / np.sqrt(va * vb)
        # exact zero for integer codes; relative 1e-12 guards rounding with non-integer codes
        flat = (va <= 1e-12 * cnt * saa) | (vb <= 1e-12 * cnt * sbb)
        rb[(cnt <= 2) | flat] = np.nan
        r[lo:lo + _BLOCK_ROWS] = np.clip(rb, -1.0, 1.0)
    return pd.Series(r, index=items.index, name="psychant" if anto else "psychsyn")


def psychsyn(items: pd.DataFrame, critval: float = 0.60, *,
             moments: ItemMoments | None = None) -> pd.Series:
    """Psychometric synonyms index (Meade & Craig 2012; R careless ``psychsyn``).

    Parameters
    ----------
    items : DataFrame, shape (n_respondents, n_items)
        Numeric codes, NaN = missing.
    critval : float, default 0.60
        Item pairs whose sample correlation exceeds ``abs(critval)`` are synonyms (R careless
        default .60).
    moments : ItemMoments, optional
        Moments of the whole sample when ``items`` is one batch of it: the synonym pairs
        are chosen from the whole sample's correlations.

    Returns
    -------
    Series ``psychsyn`` (float), shape (n_respondents,), same index as ``items``
        Within-person correlation over the synonym pairs; **low** values suggest careless
        answering. NaN when the respondent answered both items of at most two pairs, or
        answered one side of all pairs identically (correlation undefined).

    Raises
    ------
    CarelessIndexError
        No pair of items correlates above ``critval`` in this data set (see
        :func:`psychsyn_critval`).

    Notes
    -----
    Pairs *(j, k)* are selected once from the pairwise-complete inter-item correlations
    (:math:`r_{jk} > |critval|`). For respondent *i*, with *P_i* the selected pairs where both
    answers are present (R requires :math:`|P_i| > 2`),

    .. math:: \\text{psychsyn}_i = \\operatorname{cor}\\big((x_{ij})_{(j,k) \\in P_i},
              (x_{ik})_{(j,k) \\in P_i}\\big).

    The sums over pairs are computed for all respondents at once as quadratic forms with the
    0/1 pair matrix. Difference from R: when the correlation is undefined, R careless
    (``resample_na = TRUE``) randomly swaps the two answers within pairs up to ten times and
    may then return a value; this function returns NaN (as R with ``resample_na = FALSE``),
    so results are reproducible. On careless_dataset no row is affected; on
    careless_dataset2 one of 1000.

    References
    ----------
    .. [1] Meade, A. W., & Craig, S. B. (2012). Identifying careless responses in survey data.
       *Psychological Methods, 17*(3), 437-455. https://doi.org/10.1037/a0028085
    .. [2] Curran, P. G. (2016). Methods for the detection of carelessly invalid responses in
       survey data. *Journal of Experimental Social Psychology, 66*, 4-19.
       https://doi.org/10.1016/j.jesp.2015.07.006

    Examples
    --------
    R: ``careless::psychsyn(careless_dataset, .60)`` gives 0.3320, 0.6206, 0.5351 for the
    first three respondents (53 synonym pairs); ``psychsyn(items)`` gives the same.
    """
    return _psych_pairs_index(items, critval, anto=False, function="psychsyn",
                              moments=moments)


def psychant(items: pd.DataFrame, critval: float = -0.60, *,
             moments: ItemMoments | None = None) -> pd.Series:
    """Psychometric antonyms index (R careless ``psychant``).

    As :func:`psychsyn`, but over item pairs whose correlation is below ``-abs(critval)``;
    a careful respondent has a **negative** within-person correlation, so high values
    (towards +1) suggest careless answering.

    Parameters
    ----------
    items : DataFrame, shape (n_respondents, n_items)
        Numeric codes, NaN = missing, **not** reverse keyed (antonyms need the raw direction).
    critval : float, default -0.60
        Pairs with a sample correlation below ``-abs(critval)`` are antonyms.
    moments : ItemMoments, optional
        As :func:`psychsyn`.

    Returns
    -------
    Series ``psychant`` (float), shape (n_respondents,), same index as ``items``

    Raises
    ------
    CarelessIndexError
        No pair correlates below ``-abs(critval)`` (e.g. R careless's ``careless_dataset``,
        whose inter-item correlations are all positive).

    Examples
    --------
    R: ``careless::psychant(careless_dataset2, -.50)`` (8 antonym pairs) gives -0.9919,
    -0.7804 for the first two respondents; ``psychant(items, -0.50)`` gives the same.
    """
    return _psych_pairs_index(items, critval, anto=True, function="psychant",
                              moments=moments)


# --------------------------------------------------------------------------- response time

_DURATION_UNITS = (
    (3600.0, r"(?:小时|時|时|h|hr|hrs|hour|hours)"),
    (60.0, r"(?:分钟|分鐘|分|m|min|mins|minute|minutes)"),
    (1.0, r"(?:秒钟|秒鐘|秒|s|sec|secs|second|seconds)"),
)
_NUMBER = r"(\d+(?:\.\d+)?)"
_UNIT_RE = re.compile(
    "^" + "".join(f"(?:{_NUMBER}{unit})?" for _, unit in _DURATION_UNITS) + "$",
    re.IGNORECASE)
_PLAIN_RE = re.compile(rf"^{_NUMBER}$")
_CLOCK_RE = re.compile(r"^(\d+):([0-5]?\d)(?::([0-5]?\d(?:\.\d+)?))?$")


def _parse_one(text: str) -> tuple[float, str | None]:
    s = unicodedata.normalize("NFKC", text).strip().replace(" ", "").replace(",", "")
    if not s:
        return math.nan, "time-missing"
    if (hit := _PLAIN_RE.match(s)) is not None:
        return float(hit.group(1)), None
    if (hit := _CLOCK_RE.match(s)) is not None:
        a, b, c = hit.groups()
        if c is None:  # m:ss
            return 60.0 * float(a) + float(b), None
        return 3600.0 * float(a) + 60.0 * float(b) + float(c), None
    hit = _UNIT_RE.match(s)
    if hit is not None and any(g is not None for g in hit.groups()):
        return sum(f * float(g) for (f, _), g in zip(_DURATION_UNITS, hit.groups(),
                                                      strict=True) if g is not None), None
    return math.nan, "time-unparseable"


def parse_duration(values: pd.Series) -> pd.DataFrame:
    """Completion times as seconds, e.g. the 问卷星 (Wenjuanxing) ``所用时间`` column.

    Parameters
    ----------
    values : Series, shape (n_respondents,)
        Numbers (seconds) or text: ``"120"``, ``"120秒"``, ``"2分3秒"``, ``"2分钟"``,
        ``"1小时2分3秒"``, ``"1h2m3s"``, ``"2:03"`` (m:ss), ``"1:02:03"`` (h:mm:ss); full-width
        digits and spaces are accepted.

    Returns
    -------
    DataFrame, shape (n_respondents, 2), same index as ``values``
        ``seconds`` (float, NaN when not available) and ``problem`` (object): None, or
        ``"time-missing"`` (empty cell), ``"time-unparseable"`` (text in no known format,
        including negative numbers) or ``"time-negative"`` (a negative number).

    Notes
    -----
    Each distinct text is parsed once, so a column of 100,000 times with a few hundred
    distinct values costs a few hundred parses.
    """
    if not isinstance(values, pd.Series):
        raise TypeError("the values parameter of parse_duration must be a pandas Series; "
                        f"got {type(values).__name__}")
    seconds = np.full(len(values), np.nan)
    problem = np.full(len(values), None, dtype=object)
    missing = values.isna().to_numpy()
    problem[missing] = "time-missing"
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        num = values.to_numpy(dtype=float, na_value=np.nan)
        seconds[~missing] = num[~missing]
    else:
        present = values[~missing]
        is_num = present.map(lambda v: isinstance(v, (int, float, np.integer, np.floating))
                             and not isinstance(v, bool)).to_numpy(dtype=bool)
        pos = np.flatnonzero(~missing)
        seconds[pos[is_num]] = present[is_num].to_numpy(dtype=float)
        texts = present[~is_num].astype(str)
        parsed = {t: _parse_one(t) for t in pd.unique(texts)}
        seconds[pos[~is_num]] = [parsed[t][0] for t in texts]
        problem[pos[~is_num]] = [parsed[t][1] for t in texts]
    negative = seconds < 0
    seconds[negative] = np.nan
    problem[negative] = "time-negative"
    return pd.DataFrame({"seconds": seconds,
                         "problem": pd.Series(problem, index=values.index, dtype=object)},
                        index=values.index)


def response_time(times: pd.Series, min_seconds: float) -> pd.DataFrame:
    """Flag protocols completed faster than a minimum time.

    Parameters
    ----------
    times : Series, shape (n_respondents,)
        Completion times, numbers in seconds or text as accepted by :func:`parse_duration`.
    min_seconds : float
        A protocol completed in fewer seconds is too fast. Huang et al. (2012) suggest about
        2 seconds per item (``min_seconds = 2 * n_items``).

    Returns
    -------
    DataFrame, shape (n_respondents, 3), same index as ``times``
        ``response_seconds`` (float, NaN when unavailable), ``too_fast`` (pandas ``boolean``,
        NA when the time is unavailable) and ``response_time_problem`` (None or a code from
        :func:`parse_duration`).

    References
    ----------
    .. [1] Huang, J. L., Curran, P. G., Keeney, J., Poposki, E. M., & DeShon, R. P. (2012).
       Detecting and deterring insufficient effort responding to surveys. *Journal of
       Business and Psychology, 27*(1), 99-114. https://doi.org/10.1007/s10869-011-9231-8
    """
    if isinstance(min_seconds, bool) or not isinstance(min_seconds, (int, float)) \
            or not min_seconds > 0:
        raise ValueError("the min_seconds parameter of response_time must be a positive "
                         f"number of seconds; got {min_seconds!r}")
    parsed = parse_duration(times)
    sec = parsed["seconds"].to_numpy()
    with np.errstate(invalid="ignore"):
        fast = sec < float(min_seconds)
    return pd.DataFrame({
        "response_seconds": sec,
        "too_fast": pd.array(np.where(np.isnan(sec), None, fast), dtype="boolean"),
        "response_time_problem": parsed["problem"],
    }, index=times.index)


# --------------------------------------------------------------------------- combined screen

#: Default thresholds of :func:`careless_screen`. ``None`` switches a check off (the index is
#: still reported). See :data:`THRESHOLD_SOURCES` for where each value comes from.
DEFAULT_THRESHOLDS: dict[str, float | None] = {
    "longstring_fraction": 0.5,
    "longstring_run": None,
    "irv_below": None,
    "irv_above": None,
    "mahalanobis_confidence": 0.99,
    "even_odd_above": None,
    "psychsyn_critval": 0.60,
    "psychsyn_below": None,
    "psychant_critval": -0.60,
    "psychant_above": None,
    "seconds_per_item": 2.0,
    "min_seconds": None,
}

#: Where each default comes from, and whether it is a published value or a choice of ours.
THRESHOLD_SOURCES: dict[str, str] = {
    "longstring_fraction": "invalid when longstring >= fraction x n_items; 0.5 follows the rule "
    "of thumb attributed to Curran (2016): a run of identical answers at least half as long "
    "as the questionnaire. A convention, not a validated cut-off: review it for your "
    "questionnaire.",
    "longstring_run": "invalid when longstring >= this many items (overrides the fraction). "
    "No default: Johnson (2005) derived run cut-offs from the distribution in his own sample.",
    "irv_below": "invalid when IRV < value (straight-lining; Dunn et al. 2018). No default: no "
    "published general cut-off.",
    "irv_above": "invalid when IRV > value (random answering; Marjanovic et al. 2015). No "
    "default: no published general cut-off.",
    "mahalanobis_confidence": "invalid when D² > chi-square(df = n_items) quantile at this "
    "confidence; 0.99 = R careless mahad default (Meade & Craig 2012 recommend D² among the "
    "indices to use).",
    "even_odd_above": "invalid when even_odd > value (higher = more careless, careless >= "
    "1.2.1). No default; the often-quoted consistency < .30 (Johnson 2005) is even_odd_above "
    "= -0.30.",
    "psychsyn_critval": "item pairs with r > critval are synonyms; 0.60 = R careless default "
    "(Meade & Craig 2012).",
    "psychsyn_below": "invalid when psychsyn < value. No default: no published general "
    "cut-off.",
    "psychant_critval": "item pairs with r < critval are antonyms; -0.60 = R careless default.",
    "psychant_above": "invalid when psychant > value. No default: no published general "
    "cut-off.",
    "seconds_per_item": "too fast when the completion time < seconds_per_item x n_items; 2 s "
    "per item after Huang et al. (2012). Used only when response times are given.",
    "min_seconds": "too fast when the completion time < this many seconds (overrides "
    "seconds_per_item).",
}

_TEXT = {
    "longstring": {
        "zh": "最长连续相同作答 {v} 题，达到阈值 {t} 题",
        "en": "longest run of identical answers {v} >= {t} items"},
    "irv_below": {"zh": "作答变异度 IRV {v} 低于 {t}", "en": "IRV {v} < {t}"},
    "irv_above": {"zh": "作答变异度 IRV {v} 高于 {t}", "en": "IRV {v} > {t}"},
    "mahalanobis": {
        "zh": "马氏距离 D²={v} 超过卡方({df}) 的 {c} 分位数 {t}",
        "en": "Mahalanobis D² {v} > chi-square({df}) {c} quantile {t}"},
    "even_odd": {"zh": "奇偶一致性指标 {v} 高于 {t}（越高越可能随意作答）",
                 "en": "even-odd index {v} > {t} (higher = more careless)"},
    "psychsyn": {"zh": "心理同义题一致性 {v} 低于 {t}", "en": "psychometric synonyms r {v} < {t}"},
    "psychant": {"zh": "心理反义题一致性 {v} 高于 {t}", "en": "psychometric antonyms r {v} > {t}"},
    "too_fast": {"zh": "作答用时 {v} 秒，少于 {t} 秒", "en": "completion time {v} s < {t} s"},
    "missing": {"zh": "无法计算{name}", "en": "{name} not computable"},
}
_NAMES = {
    "longstring": {"zh": "最长连续相同作答", "en": "longstring"},
    "irv_below": {"zh": "作答变异度 IRV", "en": "IRV"},
    "irv_above": {"zh": "作答变异度 IRV", "en": "IRV"},
    "mahalanobis": {"zh": "马氏距离", "en": "Mahalanobis D²"},
    "even_odd": {"zh": "奇偶一致性指标", "en": "even-odd index"},
    "psychsyn": {"zh": "心理同义题一致性", "en": "psychometric synonyms"},
    "psychant": {"zh": "心理反义题一致性", "en": "psychometric antonyms"},
    "too_fast": {"zh": "作答用时", "en": "completion time"},
}
_CODES = {
    "longstring": "careless-longstring", "irv_below": "careless-irv-low",
    "irv_above": "careless-irv-high", "mahalanobis": "careless-mahalanobis",
    "even_odd": "careless-even-odd", "psychsyn": "careless-psychsyn",
    "psychant": "careless-psychant", "too_fast": "careless-too-fast",
}


def _resolve_thresholds(thresholds: Mapping[str, Any] | None) -> dict[str, float | None]:
    given = dict(thresholds or {})
    unknown = sorted(set(given) - set(DEFAULT_THRESHOLDS))
    if unknown:
        raise ValueError(f"careless_screen: unknown threshold(s) {unknown}; known: "
                         f"{sorted(DEFAULT_THRESHOLDS)}")
    out = {**DEFAULT_THRESHOLDS, **given}
    for key, value in out.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise ValueError(f"careless_screen: threshold {key!r} must be a number or None; "
                             f"got {value!r}")
    fraction, confidence = out["longstring_fraction"], out["mahalanobis_confidence"]
    if fraction is not None and not 0.0 < fraction <= 1.0:
        raise ValueError("careless_screen: threshold 'longstring_fraction' must be in (0, 1]; "
                         f"got {fraction!r}")
    if confidence is not None and not 0.0 < confidence < 1.0:
        raise ValueError("careless_screen: threshold 'mahalanobis_confidence' must be in "
                         f"(0, 1); got {confidence!r}")
    for key in ("psychsyn_critval", "psychant_critval"):
        if out[key] is None:
            raise ValueError(f"careless_screen: {key!r} is a parameter of the index, not a "
                             "check, and cannot be None; switch the check off with "
                             f"{key.replace('critval', 'below' if 'syn' in key else 'above')!r}"
                             " = None")
    for key in ("seconds_per_item", "min_seconds", "longstring_run"):
        if out[key] is not None and not out[key] > 0:
            raise ValueError(f"careless_screen: threshold {key!r} must be positive; "
                             f"got {out[key]!r}")
    return out


def _fmt(values: np.ndarray, digits: int) -> np.ndarray:
    return np.array([f"{v:.{digits}f}" for v in values], dtype=object)


def careless_screen(
    items: pd.DataFrame,
    thresholds: Mapping[str, float | None] | None = None,
    *,
    factors: Sequence[int] | None = None,
    keyed: pd.DataFrame | None = None,
    response_times: pd.Series | None = None,
    lang: str = "zh",
    moments: ItemMoments | None = None,
) -> pd.DataFrame:
    """Careless-responding indices, per-check decisions and a protocol-validity verdict.

    Parameters
    ----------
    items : DataFrame, shape (n_respondents, n_items)
        Numeric codes in presentation order, NaN = missing, not reverse keyed.
    thresholds : mapping, optional
        Overrides of :data:`DEFAULT_THRESHOLDS` (unknown keys are an error); ``None``
        switches a check off. Defaults and their sources: :data:`THRESHOLD_SOURCES`.
    factors : sequence of int, optional
        Scale lengths for :func:`even_odd`; without it even-odd is not computed.
    keyed : DataFrame, optional
        The same answers after reverse keying (e.g. :func:`xinli_screen.reverse_key`), same
        index and columns as ``items``; used for even-odd only, which needs every scale keyed
        in one direction. Default: ``items`` (right only when no item is reverse keyed).
        The other indices use the answers as given: antonym pairs exist only before keying,
        and runs of identical answers are runs of identical marks on the form.
    response_times : Series, optional
        Completion times aligned to ``items.index`` (numbers in seconds or text such as
        ``"2分3秒"``, see :func:`parse_duration`); without it no time check is made.
    lang : {"zh", "en"}, default "zh"
        Language of ``validity_reasons``.
    moments : ItemMoments, optional
        Moments of the whole sample when ``items`` is one batch of it (a streamed run: pass 1
        merges :meth:`ItemMoments.of` over the batches, pass 2 screens each batch with the
        merged moments). D², the synonym and antonym pairs then come from the whole sample,
        so every row gets what it gets in one run; longstring, IRV, even-odd and the time
        check are per row anyway.

    Returns
    -------
    DataFrame, one row per respondent, same index as ``items``
        ``longstring`` (Int64), ``avgstr``, ``irv``, ``mahalanobis_d2`` (float), and when
        computable ``even_odd`` (with ``factors``), ``psychsyn``, ``psychant`` (float, all NaN
        when the data set has no synonym/antonym pairs); with response times
        ``response_seconds`` (float) and, unless the time check is off, ``too_fast``
        (boolean); then

        - ``protocol_valid`` (pandas ``boolean``): False when any active check fires; True
          when every active check was computed and none fired; NA when none fired but at
          least one active check could not be computed for the respondent (e.g. no answers,
          unparseable time).
        - ``validity_reasons`` (str): each fired check with its value and threshold, and each
          active check that could not be computed, joined with "; " ("" when none).
        - ``validity_reason_codes`` (str): ";"-joined stable codes (``careless-longstring``,
          ``careless-irv-low``, ``careless-irv-high``, ``careless-mahalanobis``,
          ``careless-even-odd``, ``careless-psychsyn``, ``careless-psychant``,
          ``careless-too-fast``; ``…:not-computable`` for an undecided check).

        ``result.attrs["thresholds"]`` holds the thresholds used and ``result.attrs["notes"]``
        the indices that could not be computed for the data set as a whole.

    Warns
    -----
    XinliScreenWarning
        An active check cannot be computed for the data set (no synonym pairs, singular
        covariance matrix); it is skipped and named in ``attrs["notes"]``.

    Notes
    -----
    Decisions (value compared with threshold *t*): longstring >= *t* (``longstring_run``,
    else ``longstring_fraction`` x n_items); IRV < ``irv_below``; IRV > ``irv_above``;
    D² > :math:`\\chi^2_{conf}(n_{items})`; even_odd > ``even_odd_above``; psychsyn <
    ``psychsyn_below``; psychant > ``psychant_above``; time < ``min_seconds`` (else
    ``seconds_per_item`` x n_items).

    A failed check means the protocol should be looked at or retaken, not that the pupil is
    well: critical items (self-harm) must still be acted on. The indices assume a long
    questionnaire with several scales; on a short one-directional symptom scale, all-equal
    answers are plausible and longstring/D² must not be used to discard protocols.

    References
    ----------
    .. [1] Curran, P. G. (2016). Methods for the detection of carelessly invalid responses in
       survey data. *Journal of Experimental Social Psychology, 66*, 4-19.
       https://doi.org/10.1016/j.jesp.2015.07.006
    .. [2] Meade, A. W., & Craig, S. B. (2012). Identifying careless responses in survey data.
       *Psychological Methods, 17*(3), 437-455. https://doi.org/10.1037/a0028085
    .. [3] Huang, J. L., Curran, P. G., Keeney, J., Poposki, E. M., & DeShon, R. P. (2012).
       Detecting and deterring insufficient effort responding to surveys. *Journal of
       Business and Psychology, 27*(1), 99-114. https://doi.org/10.1007/s10869-011-9231-8
    """
    if lang not in ("zh", "en"):
        raise ValueError(f"the lang parameter of careless_screen must be 'zh' or 'en'; "
                         f"got {lang!r}")
    t = _resolve_thresholds(thresholds)
    if t["even_odd_above"] is not None and factors is None:
        raise ValueError("careless_screen: threshold 'even_odd_above' is set but factors is "
                         "not given; pass the scale lengths (factors=[...]) or drop the "
                         "threshold")
    x = _matrix(items, "careless_screen")
    n, p = x.shape
    idx = items.index
    notes: list[str] = []
    out = pd.DataFrame(index=idx)
    out["longstring"] = longstring(items)
    out["avgstr"] = longstring(items, average=True)
    out["irv"] = irv(items)

    def attempt(name: str, active: bool, compute: Any) -> Any:
        try:
            return compute()
        except CarelessIndexError as exc:
            notes.append(str(exc))
            if active:
                warnings.warn(f"careless_screen: check {name!r} skipped: {exc}",
                              XinliScreenWarning, stacklevel=3)
            return None

    maha = attempt("mahalanobis", t["mahalanobis_confidence"] is not None,
                   lambda: mahalanobis(items, moments=moments))
    out["mahalanobis_d2"] = np.nan if maha is None else maha["mahalanobis_d2"]
    if factors is not None:
        if keyed is not None and not (isinstance(keyed, pd.DataFrame)
                                      and keyed.index.equals(idx)
                                      and list(keyed.columns) == list(items.columns)):
            raise ValueError("careless_screen: keyed must be a DataFrame with the same index "
                             "and columns as items")
        out["even_odd"] = even_odd(items if keyed is None else keyed, factors)
    syn = attempt("psychsyn", t["psychsyn_below"] is not None,
                  lambda: psychsyn(items, t["psychsyn_critval"], moments=moments))
    out["psychsyn"] = np.nan if syn is None else syn
    ant = attempt("psychant", t["psychant_above"] is not None,
                  lambda: psychant(items, t["psychant_critval"], moments=moments))
    out["psychant"] = np.nan if ant is None else ant
    times = None
    limit = t["min_seconds"] if t["min_seconds"] is not None else (
        t["seconds_per_item"] * p if t["seconds_per_item"] is not None else None)
    if response_times is not None:
        if not isinstance(response_times, pd.Series) or not response_times.index.equals(idx):
            raise ValueError("careless_screen: response_times must be a Series with the same "
                             "index as items")
        times = parse_duration(response_times)
        out["response_seconds"] = times["seconds"].to_numpy()
        if limit is not None:
            sec = out["response_seconds"].to_numpy()
            with np.errstate(invalid="ignore"):
                fast = sec < limit
            out["too_fast"] = pd.array(np.where(np.isnan(sec), None, fast), dtype="boolean")

    # (check, values, fired mask, threshold as shown, digits of the value, extra text fields)
    checks: list[tuple[str, np.ndarray, np.ndarray, str, int, dict[str, str]]] = []
    ls = out["longstring"].to_numpy(dtype=float, na_value=np.nan)
    run = t["longstring_run"] if t["longstring_run"] is not None else (
        t["longstring_fraction"] * p if t["longstring_fraction"] is not None else None)
    with np.errstate(invalid="ignore"):
        if run is not None:
            checks.append(("longstring", ls, ls >= run, f"{run:g}", 0, {}))
        v = out["irv"].to_numpy()
        if t["irv_below"] is not None:
            checks.append(("irv_below", v, v < t["irv_below"], f"{t['irv_below']:g}", 3, {}))
        if t["irv_above"] is not None:
            checks.append(("irv_above", v, v > t["irv_above"], f"{t['irv_above']:g}", 3, {}))
        if t["mahalanobis_confidence"] is not None and maha is not None:
            v = out["mahalanobis_d2"].to_numpy()
            cut = stats.chi2.ppf(t["mahalanobis_confidence"], df=p)
            checks.append(("mahalanobis", v, v > cut, f"{cut:.1f}", 1,
                           {"df": str(p), "c": f"{t['mahalanobis_confidence']:g}"}))
        if t["even_odd_above"] is not None and "even_odd" in out:
            v = out["even_odd"].to_numpy()
            checks.append(("even_odd", v, v > t["even_odd_above"], f"{t['even_odd_above']:g}",
                           2, {}))
        if t["psychsyn_below"] is not None and syn is not None:
            v = out["psychsyn"].to_numpy()
            checks.append(("psychsyn", v, v < t["psychsyn_below"], f"{t['psychsyn_below']:g}",
                           2, {}))
        if t["psychant_above"] is not None and ant is not None:
            v = out["psychant"].to_numpy()
            checks.append(("psychant", v, v > t["psychant_above"], f"{t['psychant_above']:g}",
                           2, {}))
        if times is not None and limit is not None:
            v = out["response_seconds"].to_numpy()
            checks.append(("too_fast", v, v < limit, f"{limit:g}", 0, {}))

    fired_any = np.zeros(n, dtype=bool)
    undecided = np.zeros(n, dtype=bool)
    reasons = np.full(n, "", dtype=object)
    codes = np.full(n, "", dtype=object)

    def append(target: np.ndarray, mask: np.ndarray, text: np.ndarray | str, sep: str) -> None:
        joined = np.where(target[mask] == "", text, target[mask] + sep + text)
        target[mask] = joined

    for key, value, fired, shown, digits, extra in checks:
        fired = np.asarray(fired, dtype=bool) & ~np.isnan(value)
        unknown = np.isnan(value)
        fired_any |= fired
        undecided |= unknown
        if fired.any():
            template = _TEXT[key][lang]
            vals = _fmt(value[fired], digits)
            text = np.array([template.format(v=v, t=shown, **extra) for v in vals], dtype=object)
            append(reasons, fired, text, "; ")
            append(codes, fired, _CODES[key], ";")
        if unknown.any():
            text = _TEXT["missing"][lang].format(name=_NAMES[key][lang])
            append(reasons, unknown, text, "; ")
            append(codes, unknown, _CODES[key] + ":not-computable", ";")
    valid = np.where(fired_any, False, np.where(undecided, None, True))
    out["protocol_valid"] = pd.array(valid, dtype="boolean")
    out["validity_reasons"] = reasons
    out["validity_reason_codes"] = codes
    out.attrs["thresholds"] = t
    out.attrs["notes"] = notes
    return out
