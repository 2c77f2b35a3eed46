"""Read answer tables from CSV (encoding sniffed), XLSX and Parquet, every cell as text.

Reading everything as text keeps ids intact (leading zeros, long numbers) and leaves the parsing
of answers to :mod:`xinli_screen.responses`, which reports bad cells instead of guessing.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from xinli_screen.errors import ResponseDataError

__all__ = ["ENCODINGS", "decode_bytes", "read_table"]

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
    for enc in ENCODINGS:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError as exc:
            first_error = first_error or exc
    offset = first_error.start if first_error else 0
    raise ResponseDataError(
        f"{source}: cannot decode the file as UTF-8 or GB18030/GBK (first bad byte at offset "
        f"{offset}). Save it as 'CSV UTF-8' or as .xlsx (see docs/errors.md#encoding).")


def _read_csv(path: Path) -> tuple[pd.DataFrame, str]:
    raw = path.read_bytes()
    if not raw.strip():
        raise ResponseDataError(f"{path}: the file is empty (see docs/errors.md#empty-file)")
    text, encoding = decode_bytes(raw, str(path))
    try:
        dialect = csv.Sniffer().sniff(text[:20000], delimiters=",;\t")
        sep = dialect.delimiter
    except csv.Error:
        sep = ","
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                            na_values=[""], skip_blank_lines=True)
    except pd.errors.ParserError as exc:
        raise ResponseDataError(f"{path}: malformed CSV: {exc} (see docs/errors.md#csv)") from None
    except pd.errors.EmptyDataError:
        raise ResponseDataError(f"{path}: the file has no header row "
                                "(see docs/errors.md#empty-file)") from None
    return frame, encoding


def read_table(path: str | Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """Read an answer file; every column as text (missing cells as NaN).

    Parameters
    ----------
    path : str or Path
        ``.csv``/``.txt``/``.tsv`` (UTF-8, UTF-8 with BOM or GB18030/GBK, delimiter sniffed
        among comma, semicolon, tab), ``.xlsx``/``.xlsm`` (first sheet) or ``.parquet``.

    Returns
    -------
    (DataFrame, info)
        Rows in file order; ``info`` records ``format`` and, for CSV, ``encoding``.

    Raises
    ------
    ResponseDataError
        Missing, empty, undecodable or malformed file, or an unsupported extension; the
        message names the file (and line for malformed CSV), never cell contents.
    """
    path = Path(path)
    if not path.is_file():
        raise ResponseDataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt", ".tsv"}:
        frame, encoding = _read_csv(path)
        info = {"format": "csv", "encoding": encoding}
    elif suffix in {".xlsx", ".xlsm"}:
        try:
            frame = pd.read_excel(path, sheet_name=0, dtype=str, engine="openpyxl")
        except Exception as exc:  # openpyxl raises many types for corrupt files
            raise ResponseDataError(f"{path}: cannot read as an Excel workbook "
                                    f"({type(exc).__name__})") from None
        info = {"format": "xlsx"}
    elif suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError ...
            raise ResponseDataError(f"{path}: cannot read as Parquet "
                                    f"({type(exc).__name__})") from None
        info = {"format": "parquet"}
    elif suffix == ".xls":
        raise ResponseDataError(f"{path}: legacy .xls is not read; open it in Excel or WPS and "
                                "save as .xlsx (see docs/errors.md#formats)")
    else:
        raise ResponseDataError(f"{path}: unsupported file type {suffix!r}; use .csv, .xlsx or "
                                ".parquet (see docs/errors.md#formats)")
    if frame.shape[1] == 0:
        raise ResponseDataError(f"{path}: the file has no columns "
                                "(see docs/errors.md#empty-file)")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, info
