r"""Standard scores: z, linear and normalised T, percentile rank, stanine, sten.

Every function is vectorised (numpy arrays in, arrays of the same shape out) and propagates
NaN: a missing raw score gives missing standard scores. Nothing is clipped except where the
scale itself is bounded by definition (stanine 1-9, sten 1-10, percentile 0-100).

Definitions (Crocker & Algina 1986, ch. 19; Lenhard, Lenhard & Gary 2019 for the ranking):

- z score: :math:`z = (x - \bar{x}) / s`.
- Linear T: :math:`T = 50 + 10 z` (keeps the shape of the raw-score distribution).
- Percentile rank, mid-point definition (used for every table built from a sample):
  :math:`PR = 100 \cdot (n_{<x} + \tfrac12 n_{=x}) / n`. Equivalently
  :math:`100 \cdot (\bar{r} - 0.5)/n` with :math:`\bar{r}` the average rank of the tied
  values, the rankit convention of cNORM's ``rankByGroup``. It is never 0 or 100 for an
  observed score, so the normalised T is always finite.
- Percentile rank from a mean/SD table: :math:`PR = 100\,\Phi(z)` (assumes normality).
- Normalised T: :math:`T = 50 + 10\,\Phi^{-1}(PR/100)` (area transformation).
- Stanine (mean 5, SD 2, bands of 0.5 SD, 5 = ``|z| < 0.25``):
  :math:`\min(9, \max(1, \lfloor 2z + 5.5 \rfloor))`.
- Sten (mean 5.5, SD 2, bands of 0.5 SD, 6 = ``0 <= z < 0.5``):
  :math:`\min(10, \max(1, \lfloor 2z + 6 \rfloor))`.

For percentile tables stanine and sten are computed from the normalised z, so their bands fall
at the normal-curve percentiles (stanine 1 below 4.0 %, 9 above 96.0 %).

References
----------
1. Crocker L, Algina J. Introduction to Classical and Modern Test Theory. New York: Holt,
   Rinehart and Winston; 1986. Ch. 19 (norms and standard scores).
2. Lenhard A, Lenhard W, Gary S. Continuous norming of psychometric tests: a simulation study
   of parametric and semi-parametric approaches. PLoS ONE. 2019;14(9):e0222279.
   doi:10.1371/journal.pone.0222279
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = [
    "linear_t",
    "normalised_t",
    "normalised_z",
    "percentile_from_points",
    "percentile_from_z",
    "percentile_ranks",
    "stanine",
    "sten",
    "z_score",
]

#: Stanine and sten need a finite z; the extreme normal score used for PR 0 or 100.
_Z_LIMIT = 8.0


def _arr(x: object) -> np.ndarray:
    return np.asarray(x, dtype=float)


def z_score(raw: object, mean: object, sd: object) -> np.ndarray:
    """z score of raw scores against a mean and SD.

    Parameters
    ----------
    raw, mean, sd : array_like, broadcastable
        Raw scores (scale units), norm mean (scale units), norm SD (scale units, > 0).

    Returns
    -------
    ndarray of float
        :math:`(x - mean) / sd`, unbounded; NaN where any input is NaN.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return (_arr(raw) - _arr(mean)) / _arr(sd)


def linear_t(z: object) -> np.ndarray:
    """Linear T score :math:`50 + 10 z` (mean 50, SD 10 in the norm group), unbounded."""
    return 50.0 + 10.0 * _arr(z)


def percentile_from_z(z: object) -> np.ndarray:
    """Percentile rank 0-100 under a normal distribution, :math:`100\\,\\Phi(z)`."""
    from scipy.special import ndtr  # scipy loads in 0.2-0.4 s: on first use

    return 100.0 * ndtr(_arr(z))


def normalised_z(percentile: object) -> np.ndarray:
    """Normal score :math:`\\Phi^{-1}(PR/100)` of a percentile rank 0-100 (inf at 0 and 100)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        from scipy.special import ndtri

        return ndtri(_arr(percentile) / 100.0)


def normalised_t(percentile: object) -> np.ndarray:
    """Normalised T score :math:`50 + 10\\,\\Phi^{-1}(PR/100)` of a percentile rank 0-100."""
    return linear_t(normalised_z(percentile))


def stanine(z: object) -> np.ndarray:
    """Stanine 1-9 of a z score (float array, NaN where z is NaN).

    :math:`\\min(9, \\max(1, \\lfloor 2z + 5.5 \\rfloor))`: stanine 5 covers
    :math:`-0.25 \\le z < 0.25`, each band is 0.5 SD wide, 1 and 9 are open-ended.
    """
    zz = np.clip(_arr(z), -_Z_LIMIT, _Z_LIMIT)
    return np.clip(np.floor(2.0 * zz + 5.5), 1.0, 9.0)


def sten(z: object) -> np.ndarray:
    """Sten 1-10 of a z score (float array, NaN where z is NaN).

    :math:`\\min(10, \\max(1, \\lfloor 2z + 6 \\rfloor))`: sten 6 covers
    :math:`0 \\le z < 0.5`, each band is 0.5 SD wide, 1 and 10 are open-ended.
    """
    zz = np.clip(_arr(z), -_Z_LIMIT, _Z_LIMIT)
    return np.clip(np.floor(2.0 * zz + 6.0), 1.0, 10.0)


def percentile_ranks(
    sample: object,
    values: object | None = None,
    definition: Literal["mid_point", "at_or_below"] = "mid_point",
) -> np.ndarray:
    """Percentile ranks of ``values`` within a reference ``sample``.

    Parameters
    ----------
    sample : array_like, shape (n,)
        Reference raw scores; NaN are ignored.
    values : array_like, optional
        Scores to rank (default: the sample itself, in its order).
    definition : {"mid_point", "at_or_below"}
        ``mid_point``: :math:`100 (n_{<x} + n_{=x}/2)/n`; ``at_or_below``:
        :math:`100\\, n_{\\le x}/n`.

    Returns
    -------
    ndarray of float, shape of ``values``
        Percentile ranks 0-100; NaN where the value is NaN or the sample is empty.

    Examples
    --------
    >>> percentile_ranks([1, 2, 2, 3]).tolist()
    [12.5, 50.0, 50.0, 87.5]
    """
    ref = np.sort(_arr(sample).ravel())
    ref = ref[~np.isnan(ref)]
    x = _arr(sample if values is None else values)
    out = np.full(x.shape, np.nan)
    if ref.size == 0:
        return out
    ok = ~np.isnan(x)
    below = np.searchsorted(ref, x[ok], side="left")
    at_or_below = np.searchsorted(ref, x[ok], side="right")
    if definition == "mid_point":
        out[ok] = 100.0 * (below + 0.5 * (at_or_below - below)) / ref.size
    else:
        out[ok] = 100.0 * at_or_below / ref.size
    return out


def percentile_from_points(
    points: object, raw: object
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile ranks read from a raw-score table, with linear interpolation.

    Parameters
    ----------
    points : array_like, shape (m, 2)
        ``[raw score, percentile rank 0-100]`` rows, raw scores strictly increasing and
        percentiles non-decreasing.
    raw : array_like
        Raw scores to look up.

    Returns
    -------
    (percentile, beyond)
        ``percentile``: float array; a raw score between two table rows is interpolated
        linearly (a non-integer, e.g. prorated, score). A score below the first row or above
        the last gets the percentile of that row, which is then only a bound (the true rank
        is at most / at least that), and ``beyond`` is True for it. NaN stays NaN (``beyond``
        False).
    """
    pts = _arr(points)
    x = _arr(raw)
    pr = np.interp(x, pts[:, 0], pts[:, 1])
    with np.errstate(invalid="ignore"):
        beyond = (x < pts[0, 0]) | (x > pts[-1, 0])
    pr = np.where(np.isnan(x), np.nan, pr)
    return pr, beyond
