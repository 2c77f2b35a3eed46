"""Pairwise item moments (mergeable :class:`ItemMoments`) and the pairwise correlations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.linalg import blas

from xinli_screen.validity._common import (
    _QUAD_ROWS,
    _matrix,
    _mean,
    _shift,
)

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
