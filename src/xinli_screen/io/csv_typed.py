"""The typed CSV read: item columns parsed by pyarrow as small integers (see
:mod:`xinli_screen.io.readers` for when it is used and what falls back to the text reader).

Split out of :mod:`xinli_screen.io.readers`, which re-exports these names (the streamed reader
in :mod:`xinli_screen.io.stream` uses them too).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen._text import TEXT_DTYPE

__all__ = ["TypedColumns", "int_code_column"]


#: ``typed`` argument of :func:`read_table`: the header (names stripped) -> the columns to read
#: as numbers, each with the values allowed in it (item codes and declared missing codes).
TypedColumns = Callable[[Sequence[str]], Mapping[str, Collection[float]]]
#: How many times a column found to hold text after all is taken out and the file re-read.
_TYPED_RETRIES = 4
_CONVERSION_ERROR = re.compile(r"In CSV column #(\d+): CSV conversion error")
_HEXADECIMAL = re.compile(rb"0[xX][0-9a-fA-F]")


def _int_type(allowed: Collection[float]) -> Any:
    """The smallest Arrow integer type holding every allowed value; None if one is not whole."""
    import pyarrow as pa

    values = [float(v) for v in allowed]
    if not values or not all(v.is_integer() for v in values):
        return None
    lo, hi = min(values), max(values)
    for kind, bits in ((pa.int8(), 7), (pa.int16(), 15), (pa.int32(), 31)):
        if -(2 ** bits) <= lo and hi < 2 ** bits:
            return kind
    return None


def _arrow_csv(data: bytes, start: int, names: list[str], sep: str,
               types: Mapping[str, Any], include: list[str] | None = None) -> Any:
    """pyarrow's CSV read of ``data[start:]`` (UTF-8, header row skipped; no copy); every
    column not in ``types`` as text, only empty cells null. A quoted cell may hold line
    breaks (kept in the text, ``\r\n`` as written) when ``data`` holds a quote at all:
    ``newlines_in_values`` then keeps pyarrow's parallel reader from splitting the file
    inside such a cell.

    Raises
    ------
    _MalformedRow
        A row has more or fewer cells than the header.
    pyarrow.ArrowInvalid
        A cell does not convert to its column's type.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    malformed: list[int] = []

    def invalid(row: Any) -> str:
        malformed.append(1)
        return "skip"

    table = pcsv.read_csv(
        pa.BufferReader(pa.py_buffer(data).slice(start)),
        read_options=pcsv.ReadOptions(column_names=names, skip_rows=1),
        parse_options=pcsv.ParseOptions(delimiter=sep,
                                        newlines_in_values=data.find(b'"', start) >= 0,
                                        ignore_empty_lines=True, invalid_row_handler=invalid),
        convert_options=pcsv.ConvertOptions(
            column_types={n: types.get(n, pa.string()) for n in names},
            null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True,
            include_columns=include))
    if malformed:
        raise _MalformedRow
    return table


class _MalformedRow(Exception):
    """A row with more or fewer cells than the header: the pandas text reader decides."""


def _all_allowed(column: Any, allowed: Collection[float], kind: Any) -> bool:
    """Every non-null cell of an integer column is one of ``allowed``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = sorted(allowed)
    lo, hi = pc.min_max(column).values()
    if lo.as_py() is None:  # every cell empty
        return True
    if values == list(range(int(values[0]), int(values[-1]) + 1)):  # contiguous codes
        return values[0] <= lo.as_py() and hi.as_py() <= values[-1]
    found = pc.is_in(column.drop_null(), value_set=pa.array(values, kind))
    return pc.all(found).as_py() is not False


def _typed_plan(data: bytes, start: int, names: list[str], sep: str,
                typed: Mapping[str, Collection[float]]) -> dict[str, Any]:
    """Typed columns whose first rows (up to 1 MiB) hold only allowed whole numbers."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kinds = {n: _int_type(a) for n, a in typed.items() if n in names}
    kinds = {n: k for n, k in kinds.items() if k is not None}
    hexadecimal = ((data.find(b"0x", start) >= 0 or data.find(b"0X", start) >= 0)
                   and _HEXADECIMAL.search(data, start))
    if not kinds or hexadecimal:  # pyarrow reads 0x1 as 1, where the text reader refuses it
        return {}
    head = data[start:data.rfind(b"\n", start, start + (1 << 20)) + 1] or data[start:]
    try:
        sample = _arrow_csv(head, 0, names, sep, {}, include=list(kinds))
    except (pa.ArrowInvalid, _MalformedRow):
        return {}
    out = {}
    for name, kind in kinds.items():
        try:
            values = pc.cast(sample.column(name), kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        if _all_allowed(values, typed[name], kind):
            out[name] = kind
    return out


def _read_csv_fast(data: bytes, start: int, first_line: str, header: list[str], sep: str,
                   typed: Mapping[str, Collection[float]], int_codes: bool = False
                   ) -> pd.DataFrame | None:
    """A well-formed CSV (UTF-8 ``data`` from ``start``, after a BOM) read by pyarrow (see the
    module docstring); None when the pandas text reader must decide (short or long rows, a
    quote left open, odd header names). The typed columns as one float64 block, or with
    ``int_codes`` each as it was read (:func:`int_code_column`). Quoted line breaks in cells
    and blank lines are read as pandas reads them; the stray-quote check on such files
    (:func:`xinli_screen.io.readers.merged_rows`) is the caller's, on the frame returned."""
    import pyarrow as pa

    names = [h.strip() for h in header]
    if not all(names) or len(set(names)) != len(names) or first_line.count('"') % 2:
        return None
    types = _typed_plan(data, start, names, sep, typed)
    for _ in range(_TYPED_RETRIES + 1):
        try:
            table = _arrow_csv(data, start, names, sep, types)
            break
        except _MalformedRow:
            return None
        except pa.ArrowInvalid as exc:
            found = _CONVERSION_ERROR.search(str(exc))
            if found is None or names[int(found.group(1))] not in types:
                return None
            types.pop(names[int(found.group(1))])
    else:
        return None
    texts = [n for n, kind in types.items()
             if not _all_allowed(table.column(n), typed[n], kind)]
    again = _arrow_csv(data, start, names, sep, {}, include=texts) if texts else table
    numbers = [n for n in names if n in types and n not in texts]
    if not numbers:
        return pd.DataFrame({n: pd.array((again if n in texts else table).column(n),
                                         dtype=TEXT_DTYPE)
                             for n in names}, index=pd.RangeIndex(table.num_rows), copy=False)
    block = (pd.DataFrame({n: int_code_column(table.column(n)) for n in numbers},
                          index=pd.RangeIndex(table.num_rows), copy=False) if int_codes
             else _float_block(table, numbers))
    return _with_text_columns(block, names, table, again, texts)


def int_code_column(column: Any) -> pd.api.extensions.ExtensionArray:
    """An Arrow integer column of answer codes as a pandas array.

    Parameters
    ----------
    column : pyarrow.ChunkedArray or Array of an integer type, length n
        Missing cells null.

    Returns
    -------
    pandas.arrays.ArrowExtensionArray (``pd.ArrowDtype``), length n
        One contiguous piece (chunks combined: one copy of 1 byte per cell for int8, plus
        the null bitmap, where a float64 column takes 8).
        :mod:`xinli_screen.responses` reads it as the float64 column it stands for: the
        same codes, failures and cell texts (``2.0``).

    Raises
    ------
    TypeError
        ``column`` is not of an integer type.
    """
    import pyarrow as pa

    if not pa.types.is_integer(column.type):
        raise TypeError(f"an answer-code column must be of an integer type, not {column.type}")
    if isinstance(column, pa.ChunkedArray):  # one piece: a batch of rows is then one slice
        column = column.combine_chunks()
    return pd.arrays.ArrowExtensionArray(column)


def _float_block(table: Any, numbers: list[str]) -> pd.DataFrame:
    """The integer columns as one float64 block (missing as NaN), filled chunk by chunk:
    :func:`xinli_screen.screen` then takes the answers as a view, not a copy."""
    block = np.empty((len(numbers), table.num_rows), dtype=np.float64)
    for j, name in enumerate(numbers):
        at = 0
        for chunk in table.column(name).chunks:
            block[j, at:at + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
            at += len(chunk)
    return pd.DataFrame(block.T, columns=numbers, index=pd.RangeIndex(table.num_rows),
                        copy=False)


def _with_text_columns(frame: pd.DataFrame, names: list[str], table: Any, again: Any,
                       texts: list[str]) -> pd.DataFrame:
    """``frame`` with the text columns inserted at their places in ``names``."""
    with warnings.catch_warnings():  # one insert per text column; the float block stays
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
        for at, name in enumerate(names):
            if name not in frame.columns:
                col = (again if name in texts else table).column(name)
                frame.insert(at, name, pd.array(col, dtype=TEXT_DTYPE))
    return frame
