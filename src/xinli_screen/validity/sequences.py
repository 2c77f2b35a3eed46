"""Answer-sequence indices: longstring (Johnson 2005) and IRV (Dunn et al. 2018)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xinli_screen.validity._common import (
    _QUAD_ROWS,
    _matrix,
)

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
