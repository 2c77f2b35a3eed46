"""Read answer tables, every cell as text: the entry point that dispatches on the extension.

CSV (encoding sniffed: UTF-8, UTF-8 with BOM, GB18030/GBK) is read here; XLSX/XLS by
:mod:`~xinli_screen.io.excel`, SPSS ``.sav`` by :mod:`~xinli_screen.io.spss`, JSON lines by
:mod:`~xinli_screen.io.jsonl`, FHIR QuestionnaireResponse (Bundle or NDJSON) by
:mod:`~xinli_screen.io.fhir`, Parquet by pyarrow.

Reading everything as text keeps ids intact (leading zeros, long numbers) and leaves the parsing
of answers to :mod:`xinli_screen.responses`, which reports bad cells instead of guessing.
(SPSS and Parquet numeric columns stay numeric: they carry no formatting to lose.)

CSV is parsed by pyarrow (multi-threaded, no Python object per cell). Answer columns named by
the caller (``typed``, from :func:`xinli_screen.io.load_answers`: the item columns of a file
that is not a 问卷星 export) are parsed as small integers and come back as float columns when
every filled cell is one of the item's codes or declared missing codes -- exactly the columns
:func:`~xinli_screen.io.source.numeric_codes` would have converted from text. A column that
holds anything else (a label like ``A.好几天``, ``1.0``, a number out of range, a hexadecimal
``0x1``) is read as text, and only that column. Every other column is text, ids keep their
leading zeros, only empty cells are missing.

A quoted cell holding a line break (问卷星 open answers, 备注) and blank lines stay on the
pyarrow path: the text keeps its line break, the rows their places, and the stray-quote check
(:func:`merged_rows`) runs on the table pyarrow read, as it does on the pandas one.
Short rows (fewer cells than the header) are not changed by this: the file is read by the
pandas text reader as before, which fills the missing trailing cells as empty, so every row
comes out once; the same holds for a row with more cells than the header (refused, as before),
a quote left open to the end of the file, an empty or repeated header name. Only such files
leave the fast path; the result is the same table either way (tests/test_io_formats.py and
tests/test_csv_line_breaks.py compare both readers on the same files).
"""

from __future__ import annotations

import csv
import io
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen._text import TEXT_DTYPE
from xinli_screen.errors import ResponseDataError
from xinli_screen.io.csv_typed import (  # noqa: F401 (re-exported for io.stream)
    _CONVERSION_ERROR,
    _HEXADECIMAL,
    _TYPED_RETRIES,
    TypedColumns,
    _all_allowed,
    _arrow_csv,
    _float_block,
    _int_type,
    _MalformedRow,
    _read_csv_fast,
    _typed_plan,
    _with_text_columns,
    int_code_column,
)
from xinli_screen.io.excel import read_excel
from xinli_screen.io.fhir import is_fhir_json, read_fhir
from xinli_screen.io.headers import (
    DUPLICATES,
    dedupe_names,
    duplicate_headers,
    duplicate_message,
)
from xinli_screen.io.jsonl import (
    cell_text,
    iter_json_lines,
    loads_bounded,
    read_json_lines,
)
from xinli_screen.io.spss import read_sav

__all__ = ["DUPLICATES", "ENCODINGS", "INPUT_FORMATS", "SIDE_TABLE_FORMATS", "TypedColumns",
           "decode_bytes",
           "dedupe_names", "duplicate_headers", "duplicate_message",
           "read_side_table", "read_table", "refuse_nested_parquet", "sniff_delimiter"]

#: Input extensions read by :func:`read_table`.
INPUT_FORMATS = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".sav", ".zsav", ".parquet",
                 ".jsonl", ".ndjson", ".json")

#: Extensions read by :func:`read_side_table` (rosters and other tables beside the answers).
SIDE_TABLE_FORMATS = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls")

#: CSV encodings tried in order: UTF-8 (with or without BOM), then GB18030 (a superset of GBK,
#: what Excel on Chinese Windows writes as "CSV").
ENCODINGS = ("utf-8-sig", "gb18030")


def decode_bytes(raw: bytes, source: str) -> tuple[str, str]:
    """Decode file bytes with the first encoding of :data:`ENCODINGS` that fits.

    Returns
    -------
    (text, encoding)

    Raises
    ------
    ResponseDataError
        No encoding fits; the message gives the byte offset of the first undecodable byte.
    """
    first_error: UnicodeDecodeError | None = None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a byte-order mark
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    head = raw[:4096]
    if len(head) >= 4 and head.count(b"\x00") * 4 >= len(head):
        raise ResponseDataError(
            f"{source}: the file looks like UTF-16 text without a byte-order mark (every "
            "other byte is zero); save it as 'CSV UTF-8' or as .xlsx "
            "(see docs/errors.md#encoding)")
    for enc in ENCODINGS:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError as exc:
            first_error = first_error or exc
    offset = first_error.start if first_error else 0
    raise ResponseDataError(
        f"{source}: cannot decode the file as UTF-8 or GB18030/GBK (first bad byte at offset "
        f"{offset}). Save it as 'CSV UTF-8' or as .xlsx (see docs/errors.md#encoding).")


def sniff_delimiter(sample: str) -> str:
    """The delimiter (comma, semicolon or tab) of a CSV sample; comma when unclear."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def _read_json(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``.json``: a FHIR resource (Bundle, QuestionnaireResponse) or an array of flat objects."""
    try:
        doc = loads_bounded(path.read_text(encoding="utf-8-sig"), str(path))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResponseDataError(f"{path}: cannot read as JSON ({type(exc).__name__}) "
                                "(see docs/cli.md#input-formats)") from None
    if is_fhir_json(doc):
        return read_fhir(path)
    if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
        raise ResponseDataError(f"{path}: expected a FHIR resource or an array of objects "
                                "(see docs/cli.md#input-formats)")
    columns: dict[str, None] = {}
    rows = []
    for k, obj in enumerate(doc):
        for key, value in obj.items():
            if isinstance(value, (dict, list)):
                raise ResponseDataError(f"{path}: object {k}, key {key!r}: nested values are "
                                        "not read (see docs/cli.md#input-formats)")
            columns.setdefault(str(key), None)
        rows.append({str(key): cell_text(v) for key, v in obj.items()})
    frame = pd.DataFrame.from_records(rows, columns=list(columns)).astype(object)
    return frame.where(frame.notna(), np.nan), {"format": "json"}


def refuse_nested_parquet(path: Path, schema: Any) -> None:
    """Refuse a Parquet file with a column of lists, records, maps or bytes, by column name.

    Shared by the in-memory reader and the streamed one (:mod:`xinli_screen.io.stream`), so
    both give the message of docs/errors.md#parquet-nested.

    Parameters
    ----------
    path : Path
        The file, for the message.
    schema : pyarrow.Schema
        Its schema (``pq.read_schema`` or ``ParquetFile.schema_arrow``).

    Raises
    ------
    ResponseDataError
        Naming up to ten such columns and their types (never a value).
    """
    import pyarrow as pa

    nested = [f"{f.name!r} ({f.type})" for f in schema
              if pa.types.is_nested(f.type) or pa.types.is_binary(f.type)
              or pa.types.is_large_binary(f.type) or pa.types.is_fixed_size_binary(f.type)]
    if nested:
        raise ResponseDataError(
            f"{path}: Parquet column(s) {', '.join(nested[:10])} hold lists, records, maps or "
            "bytes, which are not read; write one answer per column as numbers or text "
            "(see docs/errors.md#parquet-nested)")


def _read_parquet(path: Path, typed: TypedColumns | None = None) -> pd.DataFrame:
    """Parquet; a column of lists, records or maps is refused by name (not a cell value).
    With ``typed``, those columns as small integers where they fit (:func:`read_table`,
    ``int_codes``)."""
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError ...
        raise ResponseDataError(f"{path}: cannot read as Parquet "
                                f"({type(exc).__name__})") from None
    refuse_nested_parquet(path, schema)
    dups = duplicate_headers(list(schema.names))
    try:
        if not dups and typed is not None:
            return _parquet_codes(path, list(schema.names), typed)
        if not dups:
            return pd.read_parquet(path)
        # a repeated name: renamed NAME.1 ... as for CSV; scoring it is refused by name
        frame = pq.ParquetFile(path).read().rename_columns(
            dedupe_names([str(n).strip() for n in schema.names])).to_pandas()
        frame.attrs[DUPLICATES] = dups
        return frame
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError ...
        raise ResponseDataError(f"{path}: cannot read as Parquet "
                                f"({type(exc).__name__})") from None


def _parquet_codes(path: Path, names: list[str], typed: TypedColumns) -> pd.DataFrame:
    """The Parquet file as :func:`pandas.read_parquet` reads it, except the ``typed`` columns
    that it would make float64: small integers where every value fits (:func:`read_table`,
    ``int_codes``). The typed columns are read one row group at a time (no float64 copy of
    the whole answer block); the others once, by pandas."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    kinds = {n: _int_type(a) for n, a in typed(names).items()}
    parts: dict[str, list[Any]] = {n: [] for n, k in kinds.items() if k is not None}
    source = pq.ParquetFile(path)
    floating = set()
    for group in range(source.num_row_groups if parts else 0):
        table = source.read_row_group(group, columns=list(parts))
        for name in table.column_names:
            column = table.column(name)
            if pa.types.is_floating(column.type):
                floating.add(name)
            try:  # a safe cast: NaN, a fraction or a number too large: as pandas reads it
                parts[name].extend(pc.cast(column, kinds[name]).chunks)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                del parts[name]
        del table
    small = {n: int_code_column(pa.chunked_array(c, type=kinds[n])) for n, c in parts.items()}
    # an integer column without missing cells: pandas keeps it as it is (no float64 to save)
    small = {n: c for n, c in small.items() if n in floating or c.isna().any()}
    rest = pd.read_parquet(path, columns=[n for n in names if n not in small])
    return pd.DataFrame({n: small[n] if n in small else rest[n] for n in names
                         if n in small or n in rest.columns}, index=rest.index, copy=False)


def _first_json_line(path: Path) -> Any:
    for _number, obj in iter_json_lines(path):
        return obj
    return None


def merged_rows(frame: pd.DataFrame, sep: str, first_line: int = 2) -> list[tuple[int, int]]:
    """Cells where a stray quote swallowed whole rows: ``(file line, line breaks)`` each.

    A quote that opens a cell (``"1``) and is closed only lines later turns the rows between
    into one cell, and those pupils vanish. A cell is taken as merged rows when it holds a
    line break and a line after the first break holds at least half as many delimiters as a
    row (and at least two): free text rarely does. ``first_line`` is the file line of the
    first row of ``frame`` (2 after the header); the line breaks inside cells of earlier rows
    are counted, so the line given is where the record starts.

    Returns
    -------
    list of (int, int)
        Empty for a well-formed file; never a cell's text.
    """
    need = max(2, (frame.shape[1] - 1) // 2)
    hits: set[int] = set()
    breaks = np.zeros(len(frame), dtype=np.int64)
    for k in range(frame.shape[1]):
        col = frame.iloc[:, k]
        if not (pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(
                col.dtype)):
            continue
        if pd.api.types.is_string_dtype(col.dtype) and not pd.api.types.is_object_dtype(
                col.dtype):
            has = col.str.contains("\n", regex=False, na=False).to_numpy(dtype=bool)
        else:
            has = col.map(lambda v: isinstance(v, str) and "\n" in v).to_numpy(dtype=bool)
        if not has.any():
            continue
        text = col.astype(object)
        for r in np.flatnonzero(has):
            value = text.iat[r]
            breaks[r] += value.count("\n")
            if any(line.count(sep) >= need for line in value.split("\n")[1:]):
                hits.add(int(r))
    if not hits:
        return []
    before = np.concatenate([[0], np.cumsum(breaks)[:-1]])
    return [(first_line + r + int(before[r]), int(breaks[r])) for r in sorted(hits)]


def merged_rows_message(source: str, found: list[tuple[int, int]]) -> str:
    """The data problem for :func:`merged_rows` (file lines only)."""
    line, n = found[0]
    more = f" (and {len(found) - 1} more place(s))" if len(found) > 1 else ""
    return (f"{source}: malformed CSV: a quote (\") opens a cell in line {line} and is closed "
            f"only {n} line break(s) later, so the rows in between would be read as one cell "
            f"and lost{more}; remove the stray quote or save the file as .xlsx "
            "(see docs/errors.md#stray-quote)")


def _refuse_merged_rows(path: Path, frame: pd.DataFrame, sep: str, quoted: bool,
                        lines: int) -> None:
    """The stray-quote check of both CSV readers: a file holding a quote whose ``lines``
    (line breaks, plus one for a last line without one) are not one per row and the header
    (a cell holds a line break, or blank lines) is refused when :func:`merged_rows` finds
    rows swallowed into a cell; raises ResponseDataError (file lines only)."""
    if quoted and lines != len(frame) + 1:
        found = merged_rows(frame, sep)
        if found:
            raise ResponseDataError(merged_rows_message(str(path), found))


def _read_csv(path: Path, typed: TypedColumns | None = None, int_codes: bool = False
              ) -> tuple[pd.DataFrame, str]:
    raw = path.read_bytes()
    if not raw or raw.isspace():
        raise ResponseDataError(f"{path}: the file is empty (see docs/errors.md#empty-file)")
    text, encoding = decode_bytes(raw, str(path))
    sep = sniff_delimiter(text[:20000])
    first_line = text[:text.find("\n") + 1 or len(text)]
    try:
        first = next(csv.reader(io.StringIO(first_line), delimiter=sep), [])
    except csv.Error:
        first = []
    if first:
        wanted = typed([h.strip() for h in first]) if typed is not None else {}
        if encoding == "utf-8-sig":  # pyarrow reads the file's own bytes: the text can go
            data, start, text = raw, 3 if raw.startswith(b"\xef\xbb\xbf") else 0, ""
        else:
            data, start = text.encode("utf-8"), 0
        fast = _read_csv_fast(data, start, first_line, first, sep, wanted, int_codes)
        if fast is not None:
            lines = data.count(b"\n", start) + (0 if data.endswith(b"\n") else 1)
            _refuse_merged_rows(path, fast, sep, data.find(b'"', start) >= 0, lines)
            return fast, encoding
        del data
        text = text or decode_bytes(raw, str(path))[0]
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=sep), [])
    except csv.Error:
        header = []
    dups = duplicate_headers(list(header))
    try:
        # index_col=False: a row with one cell more than the header (a trailing comma) is
        # an error, never a silent shift of every column into the index
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=TEXT_DTYPE, keep_default_na=False,
                                na_values=[""], skip_blank_lines=True, index_col=False)
        if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
            raise ResponseDataError(
                f"{path}: malformed CSV: a data row has more filled cells than the header row "
                "(an unquoted comma in an answer?) (see docs/errors.md#csv)")
    except pd.errors.ParserError as exc:
        raise ResponseDataError(f"{path}: malformed CSV: {exc} (see docs/errors.md#csv)") from None
    except pd.errors.EmptyDataError:
        raise ResponseDataError(f"{path}: the file has no header row "
                                "(see docs/errors.md#empty-file)") from None
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    _refuse_merged_rows(path, frame, sep, '"' in text, lines)
    if dups:
        frame.attrs[DUPLICATES] = dups
    return frame, encoding


def read_table(path: str | Path, *, typed: TypedColumns | None = None,
               int_codes: bool = False) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read an answer file; every column as text (missing cells as NaN).

    Parameters
    ----------
    path : str or Path
        ``.csv``/``.txt``/``.tsv`` (UTF-8, UTF-8 with BOM or GB18030/GBK, delimiter sniffed
        among comma, semicolon, tab), ``.xlsx``/``.xlsm``/``.xls`` (first sheet), ``.sav``/
        ``.zsav`` (SPSS), ``.parquet``, ``.jsonl``/``.ndjson`` (JSON lines: flat objects or
        FHIR QuestionnaireResponse resources) or ``.json`` (FHIR Bundle or an array of flat
        objects).
    typed : callable, optional
        CSV only: called with the header (names stripped), returns the answer columns to
        parse as numbers, each with its allowed values (codes and missing codes). Such a
        column comes back as float64 (missing as NaN) when every filled cell is an allowed
        whole number, else as text like every other column (see the module docstring).
    int_codes : bool, default False
        CSV and Parquet: the ``typed`` columns that hold whole numbers come back as pandas
        Arrow integer columns (:func:`~xinli_screen.io.csv_typed.int_code_column`, 1 byte a
        cell for int8) instead of float64 (8 bytes); :func:`xinli_screen.screen` scores them
        the same. Parquet: float or integer item columns with missing cells (which pandas
        would turn into float64) when every value fits the smallest integer type of the
        allowed values; NaN or a fraction keeps the column as pandas reads it.
    Returns
    -------
    (DataFrame, info)
        Rows in file order; ``info`` records ``format`` and, for CSV, ``encoding``; for SPSS
        ``value_labels`` (column -> {value: label}); for FHIR the item codes (see
        :func:`xinli_screen.io.fhir.read_fhir`).

    Raises
    ------
    ResponseDataError
        Missing, empty, undecodable or malformed file, or an unsupported extension; the
        message names the file (and line for malformed CSV / JSON), never cell contents.
    """
    path = Path(path)
    if not path.is_file():
        raise ResponseDataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    info: dict[str, Any]
    if suffix in {".csv", ".txt", ".tsv"}:
        frame, encoding = _read_csv(path, typed, int_codes)
        info = {"format": "csv", "encoding": encoding}
    elif suffix in {".xlsx", ".xlsm", ".xls"}:
        frame = read_excel(path)
        info = {"format": suffix.lstrip(".")}
    elif suffix in {".sav", ".zsav"}:
        frame, labels = read_sav(path)
        info = {"format": "sav", "value_labels": labels}
    elif suffix == ".parquet":
        frame = _read_parquet(path, typed if int_codes else None)
        info = {"format": "parquet"}
    elif suffix in {".jsonl", ".ndjson"}:
        if is_fhir_json(_first_json_line(path)):
            frame, info = read_fhir(path)
        else:
            frame, info = read_json_lines(path), {"format": "jsonl"}
    elif suffix == ".json":
        frame, info = _read_json(path)
    else:
        raise ResponseDataError(f"{path}: unsupported file type {suffix!r}; use "
                                f"{', '.join(INPUT_FORMATS)} (see docs/errors.md#formats)")
    if frame.shape[1] == 0:
        raise ResponseDataError(f"{path}: the file has no columns "
                                "(see docs/errors.md#empty-file)")
    dups = {**duplicate_headers(list(frame.columns)), **frame.attrs.get(DUPLICATES, {})}
    frame.columns = dedupe_names([str(c).strip() for c in frame.columns])
    if dups:
        frame.attrs[DUPLICATES] = info[DUPLICATES] = dups
        info["source"] = str(path)
    return frame, info


def _text_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as pandas text (``str``), empty and blank-only cells missing (NaN)."""
    import pyarrow as pa

    from xinli_screen._text import decode_text

    out = {}
    for k in range(frame.shape[1]):
        codes, uniques = pd.factorize(frame.iloc[:, k], use_na_sentinel=True)
        labels = [None if (t := str(u)).strip() == "" else t for u in uniques]
        out[k] = decode_text(np.asarray(codes), labels) if len(labels) else pd.array(
            pa.array([None] * len(frame), type=pa.large_string()), dtype=TEXT_DTYPE)
    table = pd.DataFrame(out, index=pd.RangeIndex(len(frame)), copy=False)
    table.columns = [str(c).strip() for c in frame.columns]
    return table


def read_side_table(path: str | Path) -> pd.DataFrame:
    """Read a table that goes beside the answers (a roster: id, school, grade, class ...).

    CSV is read exactly as answer files are (:func:`read_table`): encoding sniffed (UTF-8,
    UTF-8 with BOM, GB18030/GBK as Excel on Chinese Windows saves "CSV"), delimiter sniffed
    (comma, semicolon, tab); XLSX/XLSM/XLS: the first sheet.

    Parameters
    ----------
    path : str or Path
        One of :data:`SIDE_TABLE_FORMATS`.

    Returns
    -------
    DataFrame, shape (n_rows, n_columns)
        Every cell as text (pandas ``str``; leading zeros kept, a whole number stored by
        Excel as ``7.0`` given as ``"7"``), empty cells missing (NaN); header names
        stripped; rows in file order. The same roster saved as GBK CSV, UTF-8 CSV (with or
        without BOM) or XLSX gives the same frame.

    Raises
    ------
    ResponseDataError
        Missing, empty, undecodable or malformed file, or another extension; the message
        names the file, never cell contents.
    """
    path = Path(path)
    if not path.is_file():
        raise ResponseDataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt", ".tsv"}:
        frame, _encoding = _read_csv(path)
    elif suffix in {".xlsx", ".xlsm", ".xls"}:
        frame = read_excel(path)
    else:
        raise ResponseDataError(f"{path}: unsupported file type {suffix!r} for a roster or "
                                f"other side table; use {', '.join(SIDE_TABLE_FORMATS)} "
                                "(see docs/errors.md#formats)")
    if frame.shape[1] == 0:
        raise ResponseDataError(f"{path}: the file has no columns "
                                "(see docs/errors.md#empty-file)")
    return _text_cells(frame)
