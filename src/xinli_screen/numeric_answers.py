"""Numeric answer columns: the fast path of :func:`xinli_screen.responses.prepare_responses`.

Item columns that are numbers already (float64 from a typed CSV read or Parquet, or small
Arrow integers read with ``int_codes``, :func:`xinli_screen.io.readers.read_table`) are checked
block by block against their codes instead of being parsed value by value; shifts chosen with
``answer_values`` are applied here. Split out of :mod:`xinli_screen.responses`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen.instrument.labels import norm_text
from xinli_screen.instrument.models import ResponseScale

__all__ = ["cell_values", "float_codes"]


def float_codes(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its Arrow integer columns (answer codes read with ``int_codes``) as one
    float64 block, missing as NaN; the other columns shared, not copied.

    The batch kernel does this per batch (:meth:`xinli_screen.backends.kernel.BatchKernel.run`),
    so a table held as 1-byte codes is checked and scored through the same float64 view as
    a float table, and only one batch at a time exists as float64.

    Parameters
    ----------
    frame : DataFrame, shape (n, n_columns)

    Returns
    -------
    DataFrame, shape (n, n_columns)
        Same columns in the same order and index; ``frame`` itself when it has no Arrow
        integer column.
    """
    import warnings

    import pyarrow as pa

    ints = [j for j, t in enumerate(frame.dtypes)
            if isinstance(t, pd.ArrowDtype) and pa.types.is_integer(t.pyarrow_dtype)]
    if not ints:
        return frame
    block = np.empty((len(ints), len(frame)), dtype=np.float64)
    for k, j in enumerate(ints):
        at = 0
        column = pa.array(frame.iloc[:, j].array)  # the Arrow data itself, no copy
        for chunk in column.chunks if isinstance(column, pa.ChunkedArray) else [column]:
            block[k, at:at + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
            at += len(chunk)
    names = list(frame.columns)
    out = pd.DataFrame(block.T, columns=[names[j] for j in ints], index=frame.index,
                       copy=False)
    with warnings.catch_warnings():  # one insert per other column; the float block stays
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
        coded = set(ints)
        for j, name in enumerate(names):
            if j not in coded:
                out.insert(j, name, frame.iloc[:, j], allow_duplicates=True)
    out.attrs = dict(frame.attrs)
    return out


def cell_values(column: pd.Series, rows: np.ndarray) -> np.ndarray:
    """The cells ``rows`` of an answer column as the objects a failure shows as text.

    Parameters
    ----------
    column : Series, length n
    rows : int array
        Positions.

    Returns
    -------
    object array, length len(rows)
        The cells as they are, except that an Arrow integer column of codes (read with
        ``int_codes``) gives floats (``2.0``, missing NaN): the float64 column it stands for
        would, so a failures table does not depend on how the answers were held.
    """
    part = column.iloc[rows]
    dtype = part.dtype
    if isinstance(dtype, pd.ArrowDtype) and pd.api.types.is_integer_dtype(dtype):
        return part.to_numpy(dtype=float, na_value=np.nan).astype(object)
    return part.to_numpy(dtype=object)


def _split_columns(
    data: pd.DataFrame, item_ids: list[str], mapping: Mapping[str, Any],
    scales: Mapping[str, ResponseScale], extra: frozenset[float],
) -> tuple[dict[tuple[tuple[float, ...], tuple[float, ...]], list[str]], list[str]]:
    """Present item columns split into numeric ones, grouped by (codes, missing codes), and
    the others (text, mixed, boolean), which are parsed value by value."""
    numeric: dict[tuple[tuple[float, ...], tuple[float, ...]], list[str]] = {}
    text: list[str] = []
    for item in item_ids:
        column = mapping.get(item)
        if column is None:
            continue
        dtype = data[column].dtype
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            rs = scales[item]
            key = (tuple(float(c) for c in rs.codes),
                   tuple(sorted({float(c) for c in rs.missing_codes} | extra)))
            numeric.setdefault(key, []).append(item)
        else:
            text.append(item)
    return numeric, text


def _as_block(data: pd.DataFrame, item_ids: list[str], mapping: Mapping[str, Any],
              numeric: Mapping[Any, list[str]]) -> pd.DataFrame | None:
    """The item columns themselves, renamed to item ids, when every item has a float column
    (no copy: pandas copies on write); None when the answers must be assembled."""
    if sum(len(v) for v in numeric.values()) != len(item_ids):
        return None
    frame = data[[mapping[i] for i in item_ids]]
    if not all(pd.api.types.is_float_dtype(t) and isinstance(t, np.dtype)
               for t in frame.dtypes):
        return None
    return frame.set_axis(item_ids, axis=1).reset_index(drop=True)


#: Rows per block when checking numeric answers (keeps the temporaries small).
_BLOCK = 4_096


def _parse_numeric(
    data: pd.DataFrame, columns: list[Any], codes: tuple[float, ...],
    missing: tuple[float, ...],
) -> tuple[np.ndarray, tuple[list[np.ndarray], list[int]], list[str], bool]:
    """Check numeric answer columns that share their codes, block by block.

    Returns
    -------
    (values, (rows, column positions), failure codes, changed)
        ``values``: float matrix (n, len(columns)), declared missing codes and bad cells set
        to NaN (the input's own values when nothing had to change, then ``changed`` is
        False); one entry per column with bad cells of one kind: their rows, the column's
        position and the failure code (``not-a-code`` for a number that is not whole,
        ``out-of-range`` for a whole number that is not a declared code).
    """
    frame = data[columns]
    plain = all(isinstance(t, np.dtype) for t in frame.dtypes)  # no pd.NA to fill
    x = frame.to_numpy(dtype=float) if plain else frame.to_numpy(dtype=float, na_value=np.nan)
    valid = np.array(codes)
    contiguous = bool(np.all(np.diff(valid) == 1)) and float(valid[0]).is_integer()
    not_whole = np.zeros(x.shape, dtype=bool)
    out_of_range = np.zeros(x.shape, dtype=bool)
    is_missing = np.zeros(x.shape, dtype=bool)
    changed = False
    with np.errstate(invalid="ignore"):
        for r in range(0, x.shape[0], _BLOCK):
            b = x[r:r + _BLOCK]
            skip = np.isin(b, missing) if missing else None
            frac = b > np.floor(b)  # NaN compares false
            outside = ((b < valid[0]) | (b > valid[-1]) if contiguous
                       else ~np.isin(b, valid) & ~np.isnan(b))
            if skip is not None and skip.any():
                is_missing[r:r + _BLOCK] = skip
                frac &= ~skip
                outside &= ~skip
                changed = True
            if frac.any() or outside.any():
                not_whole[r:r + _BLOCK] = frac
                out_of_range[r:r + _BLOCK] = outside & ~frac
                changed = True
    if changed:
        x = np.array(x, dtype=float, order="F")
        x[is_missing | not_whole | out_of_range] = np.nan
    rows: list[np.ndarray] = []
    pos: list[int] = []
    kinds: list[str] = []
    for mask, code in ((not_whole, "not-a-code"), (out_of_range, "out-of-range")):
        if not mask.any():
            continue
        for j in np.flatnonzero(mask.any(axis=0)):
            rows.append(np.flatnonzero(mask[:, j]))
            pos.append(int(j))
            kinds.append(code)
    return x, (rows, pos), kinds, changed


def _cell_number(value: Any) -> float:
    """One raw cell as a number (NaN for empty cells and text that is not a number)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    try:
        return float(norm_text(str(value)))
    except ValueError:
        return np.nan


def _shifted(data: pd.DataFrame,
             shifts: Mapping[Any, tuple[float, frozenset[float]]]) -> pd.DataFrame:
    """``data`` with ``shift`` added to the numbers of some columns (missing codes, text
    labels and empty cells unchanged); a shallow copy, the other columns shared."""
    out = data.copy(deep=False)
    for column, (shift, missing) in shifts.items():
        col = data[column]
        if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col):
            x = col.to_numpy(dtype=float, na_value=np.nan)
            keep = np.isnan(x) | np.isin(x, list(missing))
            out[column] = np.where(keep, x, x + shift)
            continue
        uniques = pd.unique(col.dropna())
        moved = {}
        for u in uniques:
            number = _cell_number(u)
            moved[u] = u if np.isnan(number) or number in missing else number + shift
        out[column] = col.map(moved).astype(object).where(col.notna(), None)
    return out
