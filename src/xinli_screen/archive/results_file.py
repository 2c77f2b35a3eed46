"""Read a results file written by ``xinli-screen score`` back into a typed table and its provenance.

Supported: ``.json`` (the document of :meth:`ScreeningResult.to_json`), ``.xlsx`` (sheets
``results`` and ``provenance``), ``.csv`` and ``.parquet`` (with the sidecar
``<file>.provenance.json`` when present).

Every format gives back the column types of :attr:`ScreeningResult.table
<xinli_screen.result.ScreeningResult.table>` (:func:`restore_result_types`), decided by the
column name (and the instrument ids of the provenance when there is one), never guessed from
the values alone:

=====================================================  ========================================
column                                                 type
=====================================================  ========================================
the id column, ``status``, ``.band``, labels, norms    text (leading zeros kept), missing = NaN
``status_detail``, ``critical_items``, ``reasons`` …   text, never missing (``""`` for none)
``{inst}.{scale}``, ``.z``, ``.t``, ``.percentile``    float
``.n_answered``                                        int64
``.stanine``, ``.sten``, ``careless.longstring``       Int64 (nullable)
``.prorated``, ``tier_settled``                        bool
cut-offs ``{inst}.{scale}.{cutoff}``,                  boolean (nullable: a blank cell is NA)
``protocol_valid``, ``careless.too_fast``
``warning_tier``                                       ordered categorical none < … < district
=====================================================  ========================================

A column whose cells do not fit its type (a file edited by hand) is left as text rather than
guessed; columns the rules do not know are text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen._text import decode_text
from xinli_screen.errors import ResponseDataError
from xinli_screen.io.writers import neutralise_formula
from xinli_screen.policy.models import TIER_ORDER

__all__ = ["NOT_RESULTS", "RESULT_FILE_TYPES", "read_results_file", "restore_result_types",
           "result_column_type"]

RESULT_FILE_TYPES = (".json", ".xlsx", ".csv", ".parquet")

#: Fixed result columns and their type (see the module docstring).
_FIXED = {
    "status": "text", "status_detail": "text0", "critical_items": "text0",
    "critical_unknown": "text0",
    "protocol_valid": "boolean", "validity_reasons": "text0", "warning_tier": "tier",
    "warning_label": "text", "review_status": "text", "tier_settled": "bool",
    "reasons": "text0", "reason_codes": "text0",
}
#: ``{inst}.{scale}.{suffix}``; any other suffix is a cut-off (boolean).
_SCALE_SUFFIX = {
    "n_answered": "int", "prorated": "bool", "band": "text", "z": "float", "t": "float",
    "percentile": "float", "stanine": "Int64", "sten": "Int64", "norm_status": "text",
}
#: ``{inst}.{name}`` columns that are not scale scores (norm lookup per instrument).
_INSTRUMENT_TEXT = {"norm_group", "norm_status", "norm_table"}
#: ``careless.{index}``; any other index is a float.
_CARELESS = {"longstring": "Int64", "too_fast": "boolean"}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
#: The message for a file without a ``warning_tier`` column (``{name}``: the file name).
NOT_RESULTS = ("{name}: not a results table (no 'warning_tier' column); write one with "
               "`xinli-screen score ... -o FILE`")
_TRUE = {"true", "1", "1.0"}
_FALSE = {"false", "0", "0.0"}


def result_column_type(name: str, instruments: set[str] | None = None,
                       id_column: str | None = None) -> str:
    """The type of a results-table column, from its name.

    Parameters
    ----------
    name : str
        Column name.
    instruments : set of str, optional
        Instrument ids of the run (from the provenance). When given, only ``{id}.…`` columns
        of these instruments count as scale columns; otherwise any lower-case prefix does.
    id_column : str, optional
        The pupil id column (always text).

    Returns
    -------
    str
        ``text``, ``text0`` (text, ``""`` when empty), ``float``, ``int``, ``Int64``,
        ``bool``, ``boolean`` or ``tier``.
    """
    if name == id_column:
        return "text"
    if name in _FIXED:
        return _FIXED[name]
    parts = name.split(".")
    if not all(_NAME.match(p) for p in parts) or len(parts) not in (2, 3):
        return "text"
    if parts[0] == "careless":
        return _CARELESS.get(parts[1], "float") if len(parts) == 2 else "text"
    if instruments is not None and parts[0] not in instruments:
        return "text"
    if len(parts) == 2:
        return "text" if parts[1] in _INSTRUMENT_TEXT else "float"
    return _SCALE_SUFFIX.get(parts[2], "boolean")


def _bool_of(value: Any) -> bool | None:
    """One distinct cell -> True / False / None (missing); ValueError when not a flag."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        if np.isnan(value):
            return None
        if value in (0, 1):
            return bool(value)
        raise ValueError(value)
    text = str(value).strip().casefold()
    if text == "":
        return None
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError(value)


def _as_boolean(series: pd.Series, nullable: bool) -> Any:
    """A flag column as ``boolean`` (or numpy ``bool`` when not nullable and complete)."""
    if pd.api.types.is_bool_dtype(series.dtype) and not isinstance(
            series.dtype, pd.BooleanDtype):
        values = series.to_numpy(dtype=bool)
        return values if not nullable else pd.arrays.BooleanArray(
            values, np.zeros(len(values), dtype=bool))
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    flags = [_bool_of(u) for u in uniques]
    table = np.array([bool(f) for f in flags] + [False], dtype=bool)
    absent = np.array([f is None for f in flags] + [True], dtype=bool)
    values, mask = table[codes], absent[codes]  # code -1 (missing) takes the last entry
    if not nullable and not mask.any():
        return values
    return pd.arrays.BooleanArray(values, mask)


def _as_number(series: pd.Series) -> pd.Series:
    """Numbers; blank text is missing. ValueError when a non-blank cell is not a number."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        raise ValueError("flags in a number column")
    if pd.api.types.is_numeric_dtype(dtype):
        return series
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        blank = series.isna() | (series.str.strip() == "")
    else:  # object: spreadsheet or JSON values, or text
        kind = pd.api.types.infer_dtype(series, skipna=True)
        if kind in ("floating", "integer", "mixed-integer-float", "empty", "decimal"):
            return pd.to_numeric(series, errors="raise")
        if kind == "boolean" or any(isinstance(u, (bool, np.bool_))
                                    for u in pd.unique(series.dropna())):
            raise ValueError("flags in a number column")
        blank = series.isna() | series.map(lambda v: isinstance(v, str) and v.strip() == "")
    return pd.to_numeric(series.where(~blank, np.nan), errors="raise")


def _as_float(series: pd.Series) -> Any:
    return _as_number(series).to_numpy(dtype=float, na_value=np.nan)


def _as_int(series: pd.Series, nullable: bool) -> Any:
    numbers = _as_number(series).astype("Float64")
    if (numbers.dropna() % 1 != 0).any():
        raise ValueError("not whole numbers")
    if not nullable and not numbers.isna().any():
        return numbers.to_numpy(dtype="int64")
    return numbers.astype("Int64").array


def _as_text(series: pd.Series, empty: bool, unescape: bool) -> Any:
    """Text per distinct value; ``empty``: missing -> "" (else "" -> missing)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)

    def one(value: Any) -> str | None:
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            return None
        text = value if isinstance(value, str) else str(value)
        if unescape and text.startswith("'") and neutralise_formula(text[1:]) != text[1:]:
            text = text[1:]  # the apostrophe csv_safe put before formula-like text
        return text if text != "" else None

    labels = [one(u) for u in uniques]
    if empty:
        labels = [t if t is not None else "" for t in labels]
        codes = np.where(codes < 0, len(labels), codes)
        labels.append("")
    return decode_text(np.asarray(codes), labels)


def _as_tier(series: pd.Series) -> Any:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    names = [str(u).strip() for u in uniques]
    if not set(names) <= set(TIER_ORDER):
        raise ValueError("unknown tier")
    lookup = np.array([TIER_ORDER.index(n) for n in names] + [-1], dtype=np.int64)
    return pd.Categorical.from_codes(lookup[codes], categories=TIER_ORDER, ordered=True)


def restore_result_types(table: pd.DataFrame, provenance: Mapping[str, Any] | None = None,
                         *, csv_escaped: bool = False) -> pd.DataFrame:
    """Give a results table read from a file the column types of ``ScreeningResult.table``.

    Parameters
    ----------
    table : DataFrame, shape (n_rows, n_columns)
        As read (text cells from CSV, spreadsheet values from XLSX, JSON values ...).
    provenance : mapping, optional
        The run's provenance: ``id_column`` and the ``instruments`` ids sharpen the rules.
    csv_escaped : bool
        The table was written as CSV by :func:`xinli_screen.io.writers.csv_safe`: the
        apostrophe put before text a spreadsheet would run as a formula is taken off again.

    Returns
    -------
    DataFrame
        A new table, same columns and rows; types as listed in the module docstring. A column
        whose cells do not fit its type is kept as text.
    """
    prov = provenance or {}
    ids = {i.get("id") for i in prov.get("instruments") or [] if isinstance(i, Mapping)}
    instruments = {str(i) for i in ids if i} or None
    id_column = prov.get("id_column")
    converters: dict[str, Callable[[pd.Series], Any]] = {
        "text": lambda s: _as_text(s, False, csv_escaped),
        "text0": lambda s: _as_text(s, True, csv_escaped),
        "float": _as_float,
        "int": lambda s: _as_int(s, False),
        "Int64": lambda s: _as_int(s, True),
        "bool": lambda s: _as_boolean(s, False),
        "boolean": lambda s: _as_boolean(s, True),
        "tier": _as_tier,
    }
    out: dict[str, Any] = {}
    for position, name in enumerate(table.columns):
        column = table.iloc[:, position]
        kind = result_column_type(str(name), instruments, id_column)
        try:
            out[name] = converters[kind](column)
        except (ValueError, TypeError):
            out[name] = _as_text(column, False, csv_escaped)
    frame = pd.DataFrame(out, index=pd.RangeIndex(len(table)), copy=False)
    frame.columns = table.columns
    return frame


def _sidecar(path: Path) -> dict[str, Any]:
    side = path.with_name(path.name + ".provenance.json")
    if side.exists():
        return json.loads(side.read_text(encoding="utf-8"))
    return {}


def _read_csv(path: Path) -> pd.DataFrame:
    """Every cell as text ("" when empty); UTF-8 (with or without BOM), else GB18030 (a
    results file saved again by Excel on Chinese Windows)."""
    try:
        return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    except UnicodeDecodeError:
        return pd.read_csv(path, encoding="gb18030", dtype=str, keep_default_na=False)


def read_results_file(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a scored results file with the column types of ``ScreeningResult.table``.

    Parameters
    ----------
    path : str or Path
        ``.json``, ``.xlsx``, ``.csv`` or ``.parquet`` written by ``xinli-screen score`` (or
        :func:`xinli_screen.io.write_result`).

    Returns
    -------
    (table, provenance)
        ``table``: DataFrame, one row per scored answer sheet, columns and types as in
        :class:`~xinli_screen.result.ScreeningResult` (see :func:`restore_result_types`):
        the id column as text, cut-off flags as ``boolean`` (a blank cell is NA),
        ``warning_tier`` as an ordered categorical. ``provenance``: dict (empty when the file
        carries none).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ResponseDataError
        Unsupported type, or the file is not a results table (no ``warning_tier`` column).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"results file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".json":
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or "table" not in doc:
            raise ResponseDataError(f"{path.name}: not a results document (no 'table')")
        provenance = doc.get("provenance") or {}
        table = pd.DataFrame.from_records(doc["table"])
    elif suffix == ".xlsx":
        sheets = pd.ExcelFile(path).sheet_names
        if "results" not in sheets:
            raise ResponseDataError(f"{path.name}: no sheet named 'results'")
        provenance = {}
        if "provenance" in sheets:
            prov = pd.read_excel(path, sheet_name="provenance", dtype=str,
                                 keep_default_na=False)
            provenance = {str(k): json.loads(v) if v else None
                          for k, v in zip(prov["key"], prov["value"], strict=True)}
        # cells as stored (text stays text, so ids keep leading zeros; flags stay booleans)
        table = pd.read_excel(path, sheet_name="results", dtype=object)
    elif suffix == ".csv":
        provenance = _sidecar(path)
        table = _read_csv(path)
    elif suffix == ".parquet":
        provenance = _sidecar(path)
        table = pd.read_parquet(path)
    else:
        raise ResponseDataError(f"unsupported results file type {suffix!r}; use one of "
                                f"{', '.join(RESULT_FILE_TYPES)}")
    if "warning_tier" not in table.columns:
        raise ResponseDataError(NOT_RESULTS.format(name=path.name))
    return restore_result_types(table, provenance, csv_escaped=suffix == ".csv"), provenance
