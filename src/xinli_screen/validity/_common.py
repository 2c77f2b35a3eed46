"""Shared pieces of the careless indices: the error, block sizes, input checks, masked means."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xinli_screen.errors import ResponseDataError, XinliScreenError

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
