"""Write a :class:`~xinli_screen.result.ScreeningResult` as CSV, XLSX, Parquet, JSON or FHIR.

CSV is written as UTF-8 with BOM by default so that Excel on Chinese Windows shows Chinese text
correctly (``bom=False`` for tools that do not expect one). A name ending in ``.fhir.json`` or
``.fhir.ndjson`` (or plain ``.ndjson``) writes FHIR R4 Observations with the scales' LOINC codes
(:mod:`xinli_screen.io.fhir`).
Provenance goes into a ``provenance`` sheet (XLSX), into the JSON document, or into a sidecar
``<output>.provenance.json`` (CSV, Parquet). Text cells are never written as spreadsheet formulas
(:func:`csv_safe`, :func:`neutralise_formula`). XLSX is written with XlsxWriter, row by row
(``constant_memory``), with the same cells and types as pandas' openpyxl writer gave
(tests/test_results_roundtrip.py).

Every file is written to a hidden temporary file in the same folder and renamed to its name only
when complete, so an error never leaves a truncated file behind (the file is created
owner-read/write only, 0600). XLSX cannot store the C0 control characters other than tab, line
feed and carriage return: they are written in caret notation (``\\x01`` as ``^A``, ``\\x1b`` as
``^[``), and the non-characters U+FFFE, U+FFFF and lone surrogates as U+FFFD
(:func:`xlsx_text`). Error messages never quote a cell.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from xinli_screen.instrument.models import Instrument
from xinli_screen.io.fhir import result_observations, write_fhir
from xinli_screen.io.private_files import output_errors, replaced_on_success
from xinli_screen.result import ScreeningResult

__all__ = [
    "FAILURE_FORMATS",
    "OUTPUT_FORMATS",
    "arrow_table",
    "csv_safe",
    "is_fhir_output",
    "neutralise_formula",
    "sidecar_path",
    "write_csv",
    "write_failures",
    "write_result",
    "write_xlsx",
    "xlsx_text",
]

OUTPUT_FORMATS = (".csv", ".xlsx", ".parquet", ".json", ".ndjson")
FAILURE_FORMATS = (".csv", ".xlsx")
#: A cell starting like this is run as a formula by a spreadsheet (OWASP CSV injection).
_FORMULA_START = r"[=+\-@\t\r]"
#: ... unless it is a plain negative number (kept as it is, so that it stays a number).
_NEGATIVE_NUMBER = r"-(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_FORMULA_RE = re.compile(_FORMULA_START)
_NEGATIVE_RE = re.compile(_NEGATIVE_NUMBER)
#: Characters an XLSX (XML 1.0) cell cannot hold.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def is_fhir_output(path: Path) -> bool:
    """True for ``*.fhir.json``, ``*.fhir.ndjson`` and ``*.ndjson`` output names."""
    name = path.name.lower()
    return name.endswith((".fhir.json", ".fhir.ndjson", ".ndjson"))


def sidecar_path(path: Path) -> Path:
    """``results.csv`` -> ``results.csv.provenance.json``."""
    return path.with_name(path.name + ".provenance.json")


def write_sidecar(path: Path, provenance: dict[str, Any]) -> Path:
    """Write ``provenance`` as JSON beside the output ``path`` (:func:`sidecar_path`).

    Parameters
    ----------
    path : Path
        The results file the provenance describes.
    provenance : dict
        :attr:`xinli_screen.ScreeningResult.provenance` (no pupil data).

    Returns
    -------
    Path
        The sidecar written.

    Raises
    ------
    OutputWriteError
        The sidecar could not be written (names the file and the system's reason).
    """
    side = sidecar_path(path)
    with output_errors(side):
        side.write_text(json.dumps(provenance, ensure_ascii=False, indent=2), encoding="utf-8")
    return side


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(object)
    return out


def neutralise_formula(value: Any) -> Any:
    """One cell as :func:`csv_safe` writes it: formula-like text gets a leading apostrophe.

    Parameters
    ----------
    value : object
        A cell; anything but ``str`` is returned unchanged.

    Returns
    -------
    object
        ``"'" + value`` when ``value`` is text starting with ``=``, ``+``, ``-``, ``@``, tab or
        carriage return and is not a plain negative number (``-12``, ``-0.5``, ``-1e3``);
        otherwise ``value``.

    Examples
    --------
    >>> neutralise_formula("-2+3+cmd|' /C calc'!A0")
    "'-2+3+cmd|' /C calc'!A0"
    >>> neutralise_formula("-12")
    '-12'
    """
    if (isinstance(value, str) and _FORMULA_RE.match(value)
            and not _NEGATIVE_RE.fullmatch(value)):
        return "'" + value
    return value


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe.

    Applies to text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return (OWASP
    CSV-injection guidance), except a plain negative number such as ``-12`` or ``-0.5``, which
    stays a number; so ``-2+3+cmd|' /C calc'!A0`` is neutralised. Number columns are untouched.
    Use it for every CSV a user may open in a spreadsheet (results, failures, audit trail:
    ``csv_safe(table).to_csv(...)``). XLSX needs it not: :func:`write_xlsx` writes text cells
    as text.

    Parameters
    ----------
    frame : DataFrame

    Returns
    -------
    DataFrame
        A copy; categorical columns become plain object columns.
    """
    out = _plain(frame)
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            text = out[col]
            shown = text.astype(str)
            risky = (shown.str.match(_FORMULA_START).fillna(False).astype(bool)
                     & ~shown.str.fullmatch(_NEGATIVE_NUMBER).fillna(False).astype(bool)
                     & text.notna().to_numpy())
            if risky.any():
                out[col] = text.where(~risky, "'" + shown)
    return out


#: Rows formatted and written at a time by :func:`write_csv`.
CSV_BATCH_ROWS = 65_536


@functools.cache
def _needs_quotes() -> str:
    """Characters that make Python's :mod:`csv` (pandas' CSV writer) quote a cell: comma,
    quote and line feed; carriage return too on Python versions that quote it."""
    import csv
    import io

    probe = io.StringIO()
    csv.writer(probe, lineterminator="\n").writerow(["\r", "x"])
    return '[,"\n\r]' if probe.getvalue().startswith('"') else '[,"\n]'


def _arrow_text(values: Any) -> Any:
    """Text (``str``/``None``) as a large_string Arrow array, empty cells as ``""``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(
        values, type=pa.large_string(), from_pandas=True)
    return pc.fill_null(pc.cast(arr, pa.large_string()), "")


def _float_text(x: np.ndarray) -> Any:
    """Floats as pandas writes them (``numpy.astype(str)``, NaN empty), each distinct bit
    pattern formatted once (so ``-0.0`` stays ``-0.0``)."""
    import pyarrow as pa

    bits = x.view(np.int64 if x.itemsize == 8 else np.int32)
    missing = np.isnan(x)
    codes, uniques = pd.factorize(bits)
    codes = np.where(missing, -1, codes)
    # pa.string(): pyarrow 14 cannot convert numpy text straight to large_string (cast below)
    labels = pa.array(uniques.view(x.dtype).astype(str), type=pa.string())
    return _arrow_text(pa.DictionaryArray.from_arrays(
        pa.array(codes, mask=codes < 0, type=pa.int32()), labels).dictionary_decode())


def _bool_text(values: np.ndarray, missing: np.ndarray | None) -> Any:
    """Booleans as pandas writes them, ``True``/``False`` (missing empty)."""
    import pyarrow as pa

    codes = pa.array(values.astype(np.int8), mask=missing, type=pa.int8())
    labels = pa.array(["False", "True"], type=pa.large_string())
    return _arrow_text(pa.DictionaryArray.from_arrays(codes, labels).dictionary_decode())


def _csv_column(col: pd.Series) -> tuple[Any, bool] | None:
    """One column as the text pandas' ``to_csv`` writes (before quoting), and whether it is
    text that :func:`csv_safe` neutralises; None for a type this fast path does not format."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dtype = col.dtype
    if isinstance(dtype, np.dtype):
        if dtype.kind == "f":
            return _float_text(col.to_numpy()), False
        if dtype.kind in "iu":
            return _arrow_text(pc.cast(pa.array(col.to_numpy()), pa.large_string())), False
        if dtype.kind == "b":
            return _bool_text(col.to_numpy(), None), False
    if isinstance(dtype, pd.CategoricalDtype):
        if pd.api.types.infer_dtype(dtype.categories, skipna=True) not in {"string", "empty"}:
            return None
        codes = col.cat.codes.to_numpy()
        labels = pa.array(list(dtype.categories), type=pa.large_string())
        return _arrow_text(pa.DictionaryArray.from_arrays(
            pa.array(codes, mask=codes < 0, type=pa.int32()), labels).dictionary_decode()), True
    if isinstance(dtype, pd.BooleanDtype):
        return _bool_text(col.to_numpy(dtype=bool, na_value=False), col.isna().to_numpy()), False
    if pd.api.types.is_integer_dtype(dtype) and isinstance(dtype, pd.api.extensions.
                                                             ExtensionDtype):
        return _arrow_text(pc.cast(pa.array(col.array), pa.large_string())), False
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return _arrow_text(pa.array(col.array)), True
    if pd.api.types.is_object_dtype(dtype) and pd.api.types.infer_dtype(
            col, skipna=True) in {"string", "empty"}:
        return _arrow_text(col.to_numpy()), True
    return None


def _lit(text: str) -> Any:
    import pyarrow as pa

    return pa.scalar(text, pa.large_string())


def _escaped(text: Any, safe: bool) -> Any:
    """Text cells as :func:`csv_safe` and Python's :mod:`csv` (minimal quoting) write them."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if safe:
        first = pc.utf8_slice_codeunits(text, 0, 1)
        maybe = pc.is_in(first, value_set=pa.array(["=", "+", "-", "@", "\t", "\r"],
                                                   type=pa.large_string()))
        if pc.any(maybe).as_py():
            risky = pc.and_(maybe, pc.invert(pc.match_substring_regex(
                text, "^" + _NEGATIVE_NUMBER + "$")))
            text = pc.if_else(risky, pc.binary_join_element_wise(_lit("'"), text, _lit("")),
                              text)
    quote = None
    for char in ',"\n\r' if "\r" in _needs_quotes() else ',"\n':
        found = pc.match_substring(text, char)
        quote = found if quote is None else pc.or_(quote, found)
    if pc.any(quote).as_py():
        quoted = pc.binary_join_element_wise(
            _lit('"'), pc.replace_substring(text, '"', '""'), _lit('"'), _lit(""))
        text = pc.if_else(quote, quoted, text)
    return text


def _csv_lines(frame: pd.DataFrame, safe: bool) -> bytes | None:
    """The rows of ``frame`` as pandas' ``to_csv`` writes them (``\n`` line ends, minimal
    quoting), with :func:`csv_safe` applied; None when a column needs pandas itself.

    Text columns with few distinct values (bands, statuses, reasons) are escaped once per
    distinct value; formatted numbers and booleans never need quotes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = []
    for k in range(frame.shape[1]):
        done = _csv_column(frame.iloc[:, k])
        if done is None:
            return None
        text, textual = done
        if textual:
            text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
            coded = pc.dictionary_encode(text)
            if 4 * len(coded.dictionary) < len(text):
                text = pa.DictionaryArray.from_arrays(
                    coded.indices, _escaped(coded.dictionary, safe)).dictionary_decode()
            else:
                text = _escaped(text, safe)
        cells.append(text)
    empty = pa.array([""] * len(frame), type=pa.large_string())
    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*cells, _lit(",")), empty,
                                        _lit("\n"))
    lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset:][:len(lines) + 1]
    return bytes(memoryview(lines.buffers()[2])[offsets[0]:offsets[-1]])


def write_csv(frame: pd.DataFrame, fh: BinaryIO, *, header: bool = True,
              safe: bool = True, batch_rows: int = CSV_BATCH_ROWS) -> int:
    """Write ``frame`` to a binary file as ``csv_safe(frame).to_csv(fh, index=False)`` would,
    byte for byte, ``batch_rows`` rows at a time.

    Each batch is formatted by Arrow: floats as pandas writes them (numpy's shortest
    round-trip text, formatted once per distinct value), integers, booleans ``True``/
    ``False``, text with formula-like cells neutralised (:func:`csv_safe`), missing cells
    empty, minimal quoting as Python's :mod:`csv` (a cell holding ``,``, ``"`` or a line
    break is quoted, ``"`` doubled), ``\n`` line ends, UTF-8. A batch holding a column of
    another type (dates, mixed objects), or a one-column frame, is written by pandas itself.
    Peak memory is bounded by the batch, not the table. R equivalent:
    ``data.table::fwrite(x, file, na = "")``.

    Parameters
    ----------
    frame : DataFrame, shape (n_rows, n_columns)
    fh : binary file
        Written from its current position (write a BOM first for Excel if wanted).
    header : bool, default True
        Write the header row first.
    safe : bool, default True
        Neutralise formula-like text (:func:`csv_safe`); False writes text as it is.
    batch_rows : int, default :data:`CSV_BATCH_ROWS`

    Returns
    -------
    int
        Rows written (``n_rows``).
    """
    import csv
    import io

    if header:
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow([str(c) for c in frame.columns])
        fh.write(line.getvalue().encode("utf-8"))
    for start in range(0, len(frame), max(1, batch_rows)):
        part = frame.iloc[start:start + batch_rows]
        data = _csv_lines(part, safe) if part.shape[1] > 1 else None
        if data is None:
            text = (csv_safe(part) if safe else part).to_csv(
                index=False, header=False, lineterminator="\n")
            data = text.encode("utf-8")
        fh.write(data)
    return len(frame)


def _caret(match: re.Match[str]) -> str:
    code = ord(match.group())
    return "^" + chr(code + 64) if code < 0x20 else "\ufffd"


def xlsx_text(value: Any) -> Any:
    """A text cell as XLSX can store it.

    Parameters
    ----------
    value : object
        Anything but ``str`` is returned unchanged.

    Returns
    -------
    object
        ``value`` with each C0 control character other than tab, line feed and carriage return
        in caret notation (``"a\\x01b"`` -> ``"a^Ab"``, NUL -> ``^@``, ESC -> ``^[``), and
        U+FFFE, U+FFFF and lone surrogates replaced by U+FFFD.
    """
    if isinstance(value, str) and _NOT_XML.search(value):
        return _NOT_XML.sub(_caret, value)
    return value


#: The largest sheet XLSX can hold (rows including the header, columns).
XLSX_MAX_ROWS, XLSX_MAX_COLUMNS = 1_048_576, 16_384
#: The longest text an XLSX cell can hold (UTF-16 code units).
XLSX_MAX_TEXT = 32_767


def _xlsx_cells(frame: pd.DataFrame, k: int) -> tuple[str, list[Any]]:
    """Column ``k`` as ``(kind, values)`` for :func:`write_xlsx`: missing cells ``None``.

    ``kind`` is ``"bool"``, ``"number"``, ``"text"`` (every value ``str`` or ``None``, made
    storable by :func:`xlsx_text`) or ``"mixed"`` (written cell by cell by type).
    """
    col = frame.iloc[:, k]
    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        col = col.astype(object)
        dtype = col.dtype
    missing = col.isna().to_numpy(dtype=bool)
    if pd.api.types.is_bool_dtype(dtype):
        kind = "bool"
    elif pd.api.types.is_numeric_dtype(dtype):
        kind = "number"
    elif pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        kind = "text"
    else:
        kind = "text" if pd.api.types.infer_dtype(col, skipna=True) in {"string", "empty"} \
            else "mixed"
    values = col.astype(object).tolist()
    if missing.any():
        for i in np.flatnonzero(missing).tolist():
            values[i] = None
    if kind in ("text", "mixed"):
        for i, v in enumerate(values):
            if isinstance(v, str) and _NOT_XML.search(v):
                values[i] = xlsx_text(v)
    return kind, values


def _write_sheet(book: Any, name: str, frame: pd.DataFrame) -> None:
    """One sheet: header row, then the rows in order (XlsxWriter ``constant_memory``)."""
    n_rows, n_cols = frame.shape
    if n_rows + 1 > XLSX_MAX_ROWS or n_cols > XLSX_MAX_COLUMNS:
        raise ValueError(f"sheet {name!r}: {n_rows} rows x {n_cols} columns do not fit in an "
                         f"XLSX sheet ({XLSX_MAX_ROWS - 1} rows x {XLSX_MAX_COLUMNS} columns at "
                         "most); write CSV or Parquet instead")
    sheet = book.add_worksheet(name)
    for j, label in enumerate(frame.columns):
        header = xlsx_text(label if isinstance(label, str) else str(label))
        sheet.write_string(0, j, header)
    columns = [_xlsx_cells(frame, k) for k in range(n_cols)]
    for j, (kind, values) in enumerate(columns):
        if kind in ("text", "mixed") and any(
                isinstance(v, str) and len(v) > XLSX_MAX_TEXT // 2
                and len(v.encode("utf-16-le")) // 2 > XLSX_MAX_TEXT for v in values):
            raise ValueError(f"sheet {name!r}, column {j + 1}: a text cell is longer than "
                             f"the {XLSX_MAX_TEXT} characters an XLSX cell can hold")
    write = {"bool": sheet.write_boolean, "number": sheet.write_number,
             "text": sheet.write_string, "mixed": sheet.write}
    plan = [(j, write[kind], values) for j, (kind, values) in enumerate(columns)]
    for r in range(n_rows):
        row = r + 1
        for j, put, values in plan:
            value = values[r]
            if value is None or value == "":
                continue
            if put(row, j, value) == -1:  # pragma: no cover - sizes checked above
                raise ValueError(f"sheet {name!r}: a cell could not be stored")


def write_xlsx(sheets: Mapping[str, pd.DataFrame], path: str | Path) -> Path:
    """Write data frames as the sheets of one XLSX file, text cells as text.

    Written with XlsxWriter in ``constant_memory`` mode (rows streamed to the file in order,
    text stored inline), about ten times faster than pandas with openpyxl and with the same
    cells: numbers as numbers, booleans as booleans, text as text (ids keep their leading
    zeros), missing values (NaN, None, NA, NaT) and empty text as empty cells, dates with
    the format ``yyyy-mm-dd hh:mm:ss``; infinities become the error cell ``#DIV/0!``.
    Text that looks like a formula (``=HYPERLINK(...)``) is stored as text, never as a
    formula, and neither URLs nor numbers are recognised in text; characters XLSX cannot
    hold are replaced (:func:`xlsx_text`). The file appears under its name only when
    complete. R equivalent: ``writexl::write_xlsx(list(...), path)``.

    Parameters
    ----------
    sheets : mapping sheet name -> DataFrame
        Written in order, without the index; shape at most (1,048,575, 16,384) each.
    path : str or Path

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        A sheet is too large for XLSX, a text cell is longer than 32,767 characters, a
        sheet name is not allowed by Excel, or a cell holds a value XLSX cannot store (the
        message names the sheet and column, never the cell's value).
    """
    import xlsxwriter
    from xlsxwriter.exceptions import XlsxWriterException

    path = Path(path)
    options = {"constant_memory": True, "strings_to_formulas": False,
               "strings_to_urls": False, "strings_to_numbers": False,
               "nan_inf_to_errors": True, "default_date_format": "yyyy-mm-dd hh:mm:ss"}
    with replaced_on_success(path) as tmp:
        book = xlsxwriter.Workbook(str(tmp), options)
        try:
            for name, frame in sheets.items():
                try:
                    _write_sheet(book, name, frame)
                except (TypeError, UnicodeError):
                    raise ValueError(f"sheet {name!r}: a cell holds a value that XLSX cannot "
                                     "store") from None
                except XlsxWriterException as exc:  # sheet name too long, repeated ...
                    raise ValueError(f"sheet {name!r}: {type(exc).__name__}") from None
        finally:
            book.close()
    return path


def write_result(result: ScreeningResult, path: str | Path, *, bom: bool = True,
                 instruments: Sequence[Instrument] | None = None,
                 response_ids: Sequence[Any] | None = None) -> list[Path]:
    """Write the result table (and provenance) to ``path``; format from the extension.

    Parameters
    ----------
    result : ScreeningResult
    path : str or Path
        ``.csv``, ``.xlsx``, ``.parquet``, ``.json``; ``.fhir.json`` / ``.fhir.ndjson`` /
        ``.ndjson`` for FHIR Observations (needs ``instruments``).
    bom : bool, default True
        CSV only: start with a UTF-8 byte-order mark (Excel on Chinese Windows needs it).
    instruments : sequence of Instrument, optional
        The screened instruments (FHIR output: LOINC codes of the scales).
    response_ids : sequence, optional
        FHIR output: the input QuestionnaireResponse id of each row (``derivedFrom``).

    Returns
    -------
    list of Path
        Files written.

    Raises
    ------
    ValueError
        Unsupported extension (supported: :data:`OUTPUT_FORMATS`).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    fhir = is_fhir_output(path)
    if not fhir and suffix not in (".csv", ".xlsx", ".parquet", ".json"):
        raise ValueError(f"unsupported output type {suffix!r}; use one of {OUTPUT_FORMATS}")
    if fhir and instruments is None:
        raise ValueError("FHIR output needs the screened instruments")
    if suffix == ".xlsx":
        prov = pd.DataFrame({"key": list(result.provenance),
                             "value": [json.dumps(v, ensure_ascii=False)
                                       for v in result.provenance.values()]})
        write_xlsx({"results": result.table, "failures": result.failures,
                    "reasons": result.reasons, "provenance": prov}, path)
        return [path]
    with replaced_on_success(path) as tmp:
        if fhir:
            write_fhir(result_observations(result.table, instruments or (),
                                           id_column=result.provenance.get("id_column"),
                                           response_ids=response_ids), tmp)
        elif suffix == ".csv":
            _write_csv_file(result.table, tmp, bom)
        elif suffix == ".parquet":
            arrow_table(result.table).to_parquet(tmp, index=False)
        else:
            tmp.write_text(result.to_json(indent=1), encoding="utf-8")
    if suffix == ".json" and not fhir:
        return [path]
    return [path, write_sidecar(path, result.provenance)]


def _write_csv_file(frame: pd.DataFrame, path: Path, bom: bool) -> None:
    with path.open("wb") as fh:
        if bom:
            fh.write(b"\xef\xbb\xbf")
        write_csv(frame, fh)


def write_failures(result: ScreeningResult, path: str | Path, *, bom: bool = True) -> Path:
    """Write the failures table as CSV (UTF-8, with BOM unless ``bom=False``) or XLSX.

    Like :func:`write_result`, the file appears under its name only when complete.
    """
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        write_xlsx({"failures": result.failures}, path)
    else:
        with replaced_on_success(path) as tmp:
            _write_csv_file(result.failures, tmp, bom)
    return path


def arrow_table(table: pd.DataFrame) -> pd.DataFrame:
    """The result table with the column types Parquet output uses.

    ``warning_tier`` as text, and every text column as nullable string, so that a column that
    happens to be all-empty in one chunk gets the same type as in the whole table (streamed
    Parquet output has one schema).
    """
    out = table.copy()
    out["warning_tier"] = out["warning_tier"].astype(str)
    for col in out.columns:
        dtype = out[col].dtype
        textual = pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)
        if textual and pd.api.types.infer_dtype(out[col], skipna=True) in {"string", "empty"}:
            out[col] = out[col].astype("string[pyarrow]")
    return out
