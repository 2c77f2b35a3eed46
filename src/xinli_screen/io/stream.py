"""Read answer files in chunks (CSV blocks, Parquet row groups) and write results chunk by chunk.

Peak memory is bounded by the chunk size: a CSV is parsed by pyarrow's streaming reader in
blocks of about ``chunk_rows`` rows (item columns that hold only codes as integers, every other
column as text, only empty cells missing, as :func:`~xinli_screen.io.readers.read_table`; short
rows put back with empty trailing cells); a Parquet file is read in record batches of
``chunk_rows`` rows. Writers append each chunk's result: CSV (header once, BOM once, formatted
by :func:`~xinli_screen.io.writers.write_csv` as the in-memory writer), Parquet
(one schema, fixed by the first chunk), NDJSON (FHIR Observations). Output goes to a temporary
file beside the target, renamed when the run completes, so an interrupted run never leaves a
half-written result under the final name.
"""

from __future__ import annotations

import codecs
import contextlib
import io as _io
import itertools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from xinli_screen.errors import ResponseDataError
from xinli_screen.io.csv_typed import (
    _HEXADECIMAL,
    _TYPED_RETRIES,
    TypedColumns,
    _all_allowed,
    _float_block,
    _typed_plan,
    _with_text_columns,
)
from xinli_screen.io.private_files import create_private, output_errors
from xinli_screen.io.readers import (
    DUPLICATES,
    dedupe_names,
    duplicate_headers,
    merged_rows,
    merged_rows_message,
    refuse_nested_parquet,
    sniff_delimiter,
)

__all__ = [
    "STREAM_INPUTS",
    "STREAM_OUTPUTS",
    "ChunkWriter",
    "iter_chunks",
    "read_column",
    "sniff_encoding",
]

#: Input extensions that can be streamed.
STREAM_INPUTS = (".csv", ".txt", ".tsv", ".parquet")
#: Output extensions that can be written chunk by chunk.
STREAM_OUTPUTS = (".csv", ".parquet", ".ndjson")
_SNIFF_BYTES = 1 << 20
#: Bytes read at a time by the hexadecimal scan.
_SCAN_BYTES = 1 << 26
#: CSV blocks per chunk (pyarrow reads several blocks ahead; smaller blocks bound that).
_BLOCKS_PER_CHUNK = 8
#: pyarrow's streaming reader names the row too ("In CSV column #3: Row #9: CSV conversion ...").
_CONVERSION_ERROR = re.compile(r"In CSV column #(\d+): (?:Row #\d+: )?CSV conversion error")


def sniff_encoding(path: Path) -> str:
    """``utf-8`` (BOM or valid UTF-8 in the first MiB) or ``gb18030``.

    Raises
    ------
    ResponseDataError
        Neither fits the first MiB.
    """
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (
            len(head) >= 4 and head[:4096].count(b"\x00") * 4 >= len(head[:4096])):
        raise ResponseDataError(f"{path}: the file is UTF-16 text, which is not streamed; "
                                "save it as 'CSV UTF-8' (or run with --chunk-size 0) "
                                "(see docs/errors.md#encoding)")
    for enc in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(enc)().decode(head, final=False)
            return enc
        except UnicodeDecodeError:
            continue
    raise ResponseDataError(f"{path}: cannot decode the file as UTF-8 or GB18030/GBK "
                            "(see docs/errors.md#encoding)")


def _csv_header(path: Path, encoding: str) -> tuple[list[str], str]:
    with path.open("r", encoding="utf-8-sig" if encoding == "utf-8" else encoding,
                   newline="") as fh:
        sample = fh.read(20000)
    if not sample.strip():
        raise ResponseDataError(f"{path}: the file is empty (see docs/errors.md#empty-file)")
    sep = sniff_delimiter(sample)
    import csv

    lines = [ln for ln in sample.splitlines() if ln.strip()]
    header = next(csv.reader(_io.StringIO(lines[0] + "\n"), delimiter=sep))
    return dedupe_names([h.strip() for h in header]), sep


def _csv_duplicates(path: Path) -> dict[str, list[int]]:
    encoding = sniff_encoding(path)
    with path.open("r", encoding="utf-8-sig" if encoding == "utf-8" else encoding,
                   newline="") as fh:
        sample = fh.read(20000)
    import csv

    lines = [ln for ln in sample.splitlines() if ln.strip()]
    if not lines:
        return {}
    header = next(csv.reader(_io.StringIO(lines[0] + "\n"), delimiter=sniff_delimiter(sample)))
    return duplicate_headers(list(header))




class _Retype(Exception):
    """A typed item column holds a cell that is not one of its codes: read it as text."""

    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


def _block_size(path: Path, chunk_rows: int) -> int:
    """CSV block bytes: about ``chunk_rows / _BLOCKS_PER_CHUNK`` rows of the file's start."""
    with path.open("rb") as fh:
        fh.readline()
        second = fh.read(1 << 16)
    lines = max(second.count(b"\n"), 1)
    row_bytes = max(len(second) // lines, 16)
    longest = max((len(ln) for ln in second.split(b"\n")), default=0)
    # pyarrow's streaming CSV reader decodes several blocks ahead; small blocks, gathered
    # into chunks of chunk_rows rows here, keep that read-ahead small
    return int(min(max(chunk_rows * row_bytes // _BLOCKS_PER_CHUNK, 1 << 14, 8 * longest),
                   1 << 30))


def _has_hexadecimal(path: Path) -> bool:
    """``0x1``-like text anywhere in the file (pyarrow reads it as a number, the text reader
    refuses it: the in-memory reader then reads no column typed, and neither does this)."""
    tail = b""
    with path.open("rb") as fh:  # read in blocks: a memory map would count the whole file
        while block := fh.read(_SCAN_BYTES):  # in the peak RSS
            # one byte is found at memory speed; "0x" costs ten times that
            if (((b"x" in block or b"X" in block) and _HEXADECIMAL.search(block))
                    or _HEXADECIMAL.search(tail + block[:2])):
                return True
            tail = block[-2:]
    return False


def _initial_types(path: Path, header: list[str], sep: str, encoding: str,
                   typed: TypedColumns | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The item columns to read as integers, decided on the first MiB of rows as the in-memory
    reader decides them (:func:`~xinli_screen.io.readers.read_table` with ``typed``), and
    their allowed values. None for a GB18030 file, a repeated or empty header name, or
    hexadecimal text anywhere in the file."""
    if typed is None or encoding != "utf-8" or not all(header):
        return {}, {}
    wanted = dict(typed(header))
    if not wanted:
        return {}, {}
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES + (1 << 16))  # the header and 1 MiB of rows
    bom = 3 if head.startswith(codecs.BOM_UTF8) else 0
    first = head.find(b"\n", bom) + 1
    if first == 0 or head[bom:first].count(b'"') % 2 or _has_hexadecimal(path):
        return {}, {}
    return _typed_plan(head, first, header, sep, wanted), wanted


def _csv_batches(path: Path, chunk_rows: int, columns: list[str] | None = None,
                 typed: TypedColumns | None = None) -> Iterator[pd.DataFrame]:
    """Chunks of a CSV file in order; the item columns named by ``typed`` as float64 (see
    :func:`iter_chunks`). A typed column found to hold a cell that is not one of its codes
    is read as text from the chunk that holds it on (the file is re-read, the rows already
    given skipped); after ``_TYPED_RETRIES`` such columns, every column is text."""
    encoding = sniff_encoding(path)
    header, sep = _csv_header(path, encoding)
    types, wanted = ({}, {}) if columns is not None else _initial_types(
        path, header, sep, encoding, typed)
    given, line, retypes = 0, 2, 0  # rows yielded; file line of the next chunk's first row
    while True:
        try:
            for table, breaks in _csv_tables(path, header, sep, encoding, chunk_rows, columns,
                                             types, wanted, given):
                frame = _to_frame(table, header if columns is None else columns, types)
                if breaks:  # only then can a stray quote have merged rows (checked in C first)
                    found = merged_rows(frame, sep, line)
                    if found:
                        raise ResponseDataError(merged_rows_message(str(path), found))
                line += len(frame) + breaks
                given += len(frame)
                yield frame
            return
        except _Retype as retype:
            retypes += 1
            types.pop(retype.column, None)
            if retypes > _TYPED_RETRIES:
                types = {}


def _to_frame(table: Any, names: list[str], types: dict[str, Any]) -> pd.DataFrame:
    """An Arrow chunk as pandas: the typed columns as one float64 block (as the in-memory
    reader gives them), every other column as text."""
    numbers = [n for n in names if n in types]
    if not numbers:
        return table.to_pandas()
    return _with_text_columns(_float_block(table, numbers), names, table, table, [])


def _csv_tables(path: Path, header: list[str], sep: str, encoding: str, chunk_rows: int,
                columns: list[str] | None, types: dict[str, Any], wanted: dict[str, Any],
                skip: int) -> Iterator[tuple[Any, int]]:
    """Arrow tables of about ``chunk_rows`` rows from data row ``skip`` on, short rows put
    back in their places with empty trailing cells, each with its count of line breaks in
    cells.

    Raises
    ------
    _Retype
        A typed column holds a cell that is not one of its codes.
    ResponseDataError
        A row longer than the header; a file pyarrow cannot parse or decode.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    read = pcsv.ReadOptions(column_names=header, skip_rows=1,
                            block_size=_block_size(path, chunk_rows),
                            encoding="utf8" if encoding == "utf-8" else encoding,
                            use_threads=False)
    bad_rows: list[tuple[int, int, int | None]] = []
    short: list[tuple[int, int, str]] = []  # (data row, cells, text) of rows with too few cells

    def on_invalid(row: Any) -> str:
        # a short row is put back with empty cells, as the in-memory reader reads it; a long
        # one stops the run (where and how, never the row's text, go into the message)
        if row.actual_columns < row.expected_columns and row.number is not None:
            short.append((row.number - 2, row.actual_columns, row.text))
            return "skip"
        bad_rows.append((row.expected_columns, row.actual_columns, row.number))
        return "error"

    parse = pcsv.ParseOptions(delimiter=sep, newlines_in_values=True,
                              invalid_row_handler=on_invalid)
    convert = pcsv.ConvertOptions(column_types={h: types.get(h, pa.string()) for h in header},
                                  strings_can_be_null=True, null_values=[""],
                                  quoted_strings_can_be_null=True,
                                  include_columns=columns)

    def short_row(text: str, cells: int) -> Any:
        padded = (text + sep * (len(header) - cells) + "\n").encode("utf-8")
        return pcsv.read_csv(pa.py_buffer(padded), read_options=pcsv.ReadOptions(
            column_names=header, use_threads=False), parse_options=pcsv.ParseOptions(
            delimiter=sep, newlines_in_values=True), convert_options=convert)

    def with_short_rows(batch: Any, at: int, end: bool) -> Any:
        # batch's first row is data row ``at``; a short row goes before the valid row that
        # would otherwise take its place (all that are left, at the end of the file)
        pieces, done = [], 0
        while short and (end or short[0][0] < at + batch.num_rows - done):
            row, cells, text = short.pop(0)
            take = min(max(row - at, 0), batch.num_rows - done)
            pieces.extend([batch.slice(done, take), short_row(text, cells)])
            done, at = done + take, at + take + 1
        if not pieces:
            return pa.Table.from_batches([batch])
        pieces.append(batch.slice(done))
        return pa.Table.from_batches([b for p in pieces for b in (
            p.to_batches() if isinstance(p, pa.Table) else [p])], schema=batch.schema)

    try:
        reader = pcsv.open_csv(path, read_options=read, parse_options=parse,
                               convert_options=convert)
        pending: list[Any] = []
        rows, at, breaks = 0, 0, 0  # rows pending; data row of the next batch's first row
        for batch in itertools.chain(reader, [None]):
            if batch is None:
                if not short:
                    break
                batch = pa.RecordBatch.from_pylist([], schema=reader.schema)
            table = with_short_rows(batch, at, batch.num_rows == 0)
            at += table.num_rows
            if at <= skip:
                continue
            table = table.slice(max(skip - (at - table.num_rows), 0))
            for name, kind in types.items():
                if not _all_allowed(table.column(name), wanted[name], kind):
                    raise _Retype(name)
            pending.append(table)
            rows += table.num_rows
            breaks += _line_breaks(table)
            if rows >= chunk_rows:
                yield pa.concat_tables(pending), breaks
                pending, rows, breaks = [], 0, 0
        if pending:
            yield pa.concat_tables(pending), breaks
    except pa.ArrowInvalid as exc:
        # pyarrow's message quotes the row's text: only where and how are reported
        found = _CONVERSION_ERROR.search(str(exc))
        names = columns or header
        if found is not None and int(found.group(1)) < len(names) and \
                names[int(found.group(1))] in types:
            raise _Retype(names[int(found.group(1))]) from None
        if bad_rows:
            expected, actual, number = bad_rows[0]
            where = f"line {number}" if number is not None else "a row"
            text = (f"{where} has {actual} cell(s) where the header has {expected} (an "
                    "unquoted comma or a stray quote in an answer?)")
        else:
            text = str(exc).split(":")[0]
        raise ResponseDataError(f"{path}: malformed CSV: {text} (see docs/errors.md#csv)"
                                ) from None
    except UnicodeDecodeError as exc:
        raise ResponseDataError(f"{path}: cannot decode the file as {encoding} past its "
                                f"start (byte {exc.start} of a block); save it as 'CSV UTF-8' "
                                "(see docs/errors.md#encoding)") from None


def _line_breaks(table: Any) -> int:
    """Line breaks inside the text cells of an Arrow table (to keep file line numbers)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = 0
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            total += int(pc.sum(pc.count_substring(col, "\n")).as_py() or 0)
    return total


def _parquet_batches(path: Path, chunk_rows: int, columns: list[str] | None = None
                     ) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # pre_buffer=False: with pre-buffering, pyarrow keeps the buffers of every row group
        # read so far (memory grew by ~4 MB per 100,000-row batch of 100 columns)
        handle = pq.ParquetFile(path, pre_buffer=False)
    except Exception as exc:  # ArrowInvalid, OSError
        raise ResponseDataError(f"{path}: cannot read as Parquet ({type(exc).__name__})"
                                ) from None
    refuse_nested_parquet(path, handle.schema_arrow)  # as the in-memory reader
    names = [str(c).strip() for c in columns or handle.schema_arrow.names]
    dups = duplicate_headers(list(names))  # renamed NAME.1 ..., refused by name when scored
    for batch in handle.iter_batches(batch_size=chunk_rows, columns=columns):
        if dups:  # renamed first: pyarrow 14's to_pandas refuses a repeated column name
            batch = pa.RecordBatch.from_arrays(batch.columns, names=dedupe_names(names))
        frame = batch.to_pandas()
        frame.columns = dedupe_names(names) if dups else names
        if dups:
            frame.attrs[DUPLICATES] = dups
        yield frame


def iter_chunks(path: str | Path, chunk_rows: int = 200_000, *,
                typed: TypedColumns | None = None) -> Iterator[pd.DataFrame]:
    """Yield the rows of ``path`` in order, as DataFrames of about ``chunk_rows`` rows.

    Parameters
    ----------
    path : str or Path
        ``.csv``/``.txt``/``.tsv`` or ``.parquet``.
    chunk_rows : int
        Target rows per chunk (CSV chunks follow byte blocks, so sizes vary a little).
    typed : callable, optional
        CSV only, as in :func:`~xinli_screen.io.readers.read_table` (from
        :func:`xinli_screen.io.source.load_answers`): header -> the item columns to parse as
        integer codes, each with its allowed values. The columns whose first MiB of rows holds
        only allowed codes are parsed by pyarrow as integers (no Python string per cell) and
        come back as float64, missing as NaN; a column found later to hold anything else
        (a label, ``1.0``, a code out of range) is text from the chunk that holds it on (the
        file is re-read from the start and the rows already given skipped). No column is
        typed in a GB18030 file, one with a repeated header name, or one holding
        hexadecimal text such as ``0x1`` anywhere (the in-memory reader's rules).

    Yields
    ------
    DataFrame, shape (n_chunk_rows, n_columns)
        CSV: every column as text but the typed ones; Parquet: the stored types. A row with
        fewer cells than the header comes back once, in its place, with its missing trailing
        cells empty (docs/errors.md#csv). Chunks concatenated equal the whole file read by
        :func:`~xinli_screen.io.readers.read_table` (the same ``typed``), up to the columns
        typed in one and text in the other, which score the same
        (:func:`~xinli_screen.io.source.numeric_codes`).

    Raises
    ------
    ResponseDataError
        Missing, empty, undecodable or malformed file; an extension that cannot stream.
    """
    path = Path(path)
    if not path.is_file():
        raise ResponseDataError(f"{path}: no such file")
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        yield from _parquet_batches(path, chunk_rows)
    elif suffix in {".csv", ".txt", ".tsv"}:
        dups = _csv_duplicates(path)
        for chunk in _csv_batches(path, chunk_rows, typed=None if dups else typed):
            if dups:
                chunk.attrs[DUPLICATES] = dups
            yield chunk
    else:
        raise ResponseDataError(f"{path}: only {', '.join(STREAM_INPUTS)} can be read in "
                                "chunks (see docs/performance.md)")


def read_column(path: str | Path, column: str, chunk_rows: int = 100_000
                ) -> Iterator[pd.Series]:
    """Yield one column of ``path`` chunk by chunk (the id pre-pass of a streamed run)."""
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        names = [str(n) for n in pq.ParquetFile(path).schema_arrow.names]
        stored = next((n for n in names if n.strip() == column), None)
        if stored is None:
            return
        for frame in _parquet_batches(path, chunk_rows, [stored]):
            yield frame.iloc[:, 0]
    else:
        encoding = sniff_encoding(path)
        header, _ = _csv_header(path, encoding)
        if column not in header:
            return
        for frame in _csv_batches(path, chunk_rows, [column]):
            yield frame[column]


@dataclass
class ChunkWriter:
    """Append result chunks to one output file (CSV, Parquet or FHIR NDJSON).

    Attributes
    ----------
    path : Path
        The final file; chunks go to ``path.partial`` until :meth:`close`.
    bom : bool
        CSV: start with a UTF-8 byte-order mark.
    """

    path: Path
    bom: bool = True
    _tmp: Path = field(init=False)
    _handle: Any = field(default=None, init=False)
    _parquet: Any = field(default=None, init=False)
    _schema: Any = field(default=None, init=False)
    rows: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._tmp = self.path.with_name(self.path.name + ".partial")

    def write_table(self, table: pd.DataFrame) -> None:
        """Append a chunk of the result table (CSV or Parquet); an OSError (a full disk)
        becomes OutputWriteError naming :attr:`path`."""
        with output_errors(self.path):
            self._write_table(table)

    def _write_table(self, table: pd.DataFrame) -> None:
        from xinli_screen.io.writers import arrow_table, write_csv

        suffix = self.path.suffix.lower()
        if self.rows == 0 and self._handle is None and self._parquet is None:
            create_private(self._tmp)
        if suffix == ".csv":
            first = self._handle is None
            if first:
                self._handle = self._tmp.open("wb")
                if self.bom:
                    self._handle.write(codecs.BOM_UTF8)
            write_csv(table, self._handle, header=first)  # as the in-memory writer
        elif suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            frame = arrow_table(table)
            if self._parquet is None:
                self._schema = pa.Schema.from_pandas(frame, preserve_index=False)
                self._parquet = pq.ParquetWriter(self._tmp, self._schema)
            self._parquet.write_table(pa.Table.from_pandas(frame, schema=self._schema,
                                                           preserve_index=False))
        else:
            raise ValueError(f"cannot stream a result table to {suffix!r}")
        self.rows += len(table)

    def write_lines(self, lines: Iterator[str]) -> None:
        """Append text lines (NDJSON)."""
        with output_errors(self.path):
            if self._handle is None:
                create_private(self._tmp)
                self._handle = self._tmp.open("w", encoding="utf-8")
            for line in lines:
                self._handle.write(line + "\n")

    def close(self) -> Path:
        """Finish the file and move it to its final name."""
        with output_errors(self.path):
            if self._parquet is not None:
                self._parquet.close()
            if self._handle is not None:
                self._handle.close()
            if not self._tmp.exists():
                create_private(self._tmp)
            os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the partial file (after an error)."""
        for closer in (self._parquet, self._handle):
            if closer is not None:
                with contextlib.suppress(Exception):  # the file is deleted anyway
                    closer.close()
        self._tmp.unlink(missing_ok=True)
