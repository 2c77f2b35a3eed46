"""Consistency indices: even-odd, psychometric synonyms and antonyms (R careless)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from xinli_screen.errors import XinliScreenWarning
from xinli_screen.validity._common import (
    _BLOCK_ROWS,
    CarelessIndexError,
    _matrix,
    _mean,
    _shift,
    _zero_filled,
)
from xinli_screen.validity.moments import ItemMoments, _pairwise_cor

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
