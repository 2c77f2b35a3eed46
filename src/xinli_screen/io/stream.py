"""Read answer files in chunks (CSV blocks, Parquet row groups) and write results chunk by chunk.

Peak memory is bounded by the chunk size: a CSV is parsed by pyarrow's streaming reader in
blocks of about ``chunk_rows`` rows (every column as text, only empty cells missing, as
:func:`~xinli_screen.io.readers.read_table`); a Parquet file is read in record batches of
``chunk_rows`` rows. Writers append each chunk's result: CSV (header once, BOM once), Parquet
(one schema, fixed by the first chunk), NDJSON (FHIR Observations). Output goes to a temporary
file beside the target, renamed when the run completes, so an interrupted run never leaves a
half-written result under the final name.
"""

from __future__ import annotations

import codecs
import contextlib
import io as _io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from xinli_screen.errors import ResponseDataError
from xinli_screen.io.readers import (
    DUPLICATES,
    dedupe_names,
    duplicate_headers,
    merged_rows,
    merged_rows_message,
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
#: CSV blocks per chunk (pyarrow reads several blocks ahead; smaller blocks bound that).
_BLOCKS_PER_CHUNK = 8


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




def _csv_batches(path: Path, chunk_rows: int, columns: list[str] | None = None
                 ) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    encoding = sniff_encoding(path)
    header, sep = _csv_header(path, encoding)
    with path.open("rb") as fh:
        fh.readline()
        second = fh.read(1 << 16)
    lines = max(second.count(b"\n"), 1)
    row_bytes = max(len(second) // lines, 16)
    longest = max((len(ln) for ln in second.split(b"\n")), default=0)
    # pyarrow's streaming CSV reader decodes several blocks ahead; small blocks, gathered
    # into chunks of chunk_rows rows here, keep that read-ahead small
    block = int(min(max(chunk_rows * row_bytes // _BLOCKS_PER_CHUNK, 1 << 14, 8 * longest),
                    1 << 30))
    read = pcsv.ReadOptions(column_names=header, skip_rows=1, block_size=block,
                            encoding="utf8" if encoding == "utf-8" else encoding,
                            use_threads=False)
    bad_rows: list[tuple[int, int, int | None]] = []

    def on_invalid(row: Any) -> str:
        # keep where and how (never the row's text) for the message; then stop
        bad_rows.append((row.expected_columns, row.actual_columns, row.number))
        return "error"

    parse = pcsv.ParseOptions(delimiter=sep, newlines_in_values=True,
                              invalid_row_handler=on_invalid)
    convert = pcsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                  strings_can_be_null=True, null_values=[""],
                                  quoted_strings_can_be_null=True,
                                  include_columns=columns)
    try:
        reader = pcsv.open_csv(path, read_options=read, parse_options=parse,
                               convert_options=convert)
        pending: list[Any] = []
        rows = 0
        line = 2  # file line of the next chunk's first row

        def checked(table: Any) -> pd.DataFrame:
            nonlocal line
            breaks = _line_breaks(table)
            frame = table.to_pandas()
            if breaks:  # only then can a stray quote have merged rows (checked in C first)
                found = merged_rows(frame, sep, line)
                if found:
                    raise ResponseDataError(merged_rows_message(str(path), found))
            line += len(frame) + breaks
            return frame

        for batch in reader:
            pending.append(batch)
            rows += batch.num_rows
            if rows >= chunk_rows:
                yield checked(pa.Table.from_batches(pending))
                pending, rows = [], 0
        if pending:
            yield checked(pa.Table.from_batches(pending))
    except pa.ArrowInvalid as exc:
        # pyarrow's message quotes the row's text: only where and how are reported
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


def iter_chunks(path: str | Path, chunk_rows: int = 200_000) -> Iterator[pd.DataFrame]:
    """Yield the rows of ``path`` in order, as DataFrames of about ``chunk_rows`` rows.

    Parameters
    ----------
    path : str or Path
        ``.csv``/``.txt``/``.tsv`` or ``.parquet``.
    chunk_rows : int
        Target rows per chunk (CSV chunks follow byte blocks, so sizes vary a little).

    Yields
    ------
    DataFrame, shape (n_chunk_rows, n_columns)
        CSV: every column as text; Parquet: the stored types. Chunks concatenated equal the
        whole file read by :func:`~xinli_screen.io.readers.read_table` (well-formed files).

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
        for chunk in _csv_batches(path, chunk_rows):
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


def _create_private(path: Path) -> None:
    """Create ``path`` empty, readable and writable by the owner only (0600): results and
    failures hold pupil ids (as :mod:`xinli_screen.io.writers` writes whole files)."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


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
        """Append a chunk of the result table (CSV or Parquet)."""
        from xinli_screen.io.writers import arrow_table, csv_safe

        suffix = self.path.suffix.lower()
        if self.rows == 0 and self._handle is None and self._parquet is None:
            _create_private(self._tmp)
        if suffix == ".csv":
            if self._handle is None:
                self._handle = self._tmp.open("w", encoding="utf-8-sig" if self.bom
                                              else "utf-8", newline="")
            csv_safe(table).to_csv(self._handle, index=False, header=self.rows == 0)
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
        if self._handle is None:
            _create_private(self._tmp)
            self._handle = self._tmp.open("w", encoding="utf-8")
        for line in lines:
            self._handle.write(line + "\n")

    def close(self) -> Path:
        """Finish the file and move it to its final name."""
        if self._parquet is not None:
            self._parquet.close()
        if self._handle is not None:
            self._handle.close()
        if not self._tmp.exists():
            self._tmp.touch()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the partial file (after an error)."""
        for closer in (self._parquet, self._handle):
            if closer is not None:
                with contextlib.suppress(Exception):  # the file is deleted anyway
                    closer.close()
        self._tmp.unlink(missing_ok=True)
