"""A results file (or table) as typed chunks of rows, for the streamed archive import.

A Parquet file is read with :meth:`pyarrow.parquet.ParquetFile.iter_batches` and a CSV file
with :func:`pyarrow.csv.open_csv` (every cell as text, ``""`` kept), so that a wave of 10^6
sheets is never one pandas frame: each chunk of :data:`~xinli_screen.archive.encoding.HASH_CHUNK`
rows is turned into pandas and given the result types by
:func:`~xinli_screen.archive.results_file.restore_result_types` on its own. The chunks have
exactly ``HASH_CHUNK`` rows (the last one fewer) whatever the file's row groups or CSV blocks,
so the streamed content hash does not depend on how the file was written. JSON and XLSX
results (small by nature) and a CSV whose header repeats a name are read whole by
:func:`~xinli_screen.archive.results_file.read_results_file` and then cut into chunks.

A cell a type does not fit stays text, decided per chunk. No message raised here quotes a
cell (an id or an answer): a file pyarrow cannot parse is named with the kind of error only.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from xinli_screen.archive.encoding import HASH_CHUNK
from xinli_screen.archive.results_file import (
    NOT_RESULTS,
    RESULT_FILE_TYPES,
    _sidecar,
    read_results_file,
    restore_result_types,
)
from xinli_screen.errors import ResponseDataError

__all__ = ["ResultChunks", "open_result_chunks", "table_chunks"]


@dataclass(frozen=True)
class ResultChunks:
    """A results table that can be read (again) chunk by chunk.

    Attributes
    ----------
    columns : list of str
        Column names, in file order.
    provenance : dict
        The run's provenance (empty when the file carries none).
    read : callable
        ``read()`` starts a new pass over the rows: an iterator of ``(offset, chunk)``, where
        ``chunk`` is a DataFrame of at most :data:`HASH_CHUNK` rows (exactly that many except
        the last) with the types of :func:`restore_result_types` and a RangeIndex from 0,
        and ``offset`` is the 0-based position of its first row in the table.
    """

    columns: list[str]
    provenance: dict[str, Any]
    read: Callable[[], Iterator[tuple[int, pd.DataFrame]]]


def table_chunks(table: pd.DataFrame, provenance: Mapping[str, Any]) -> ResultChunks:
    """A table already in memory (``ScreeningResult.table``) as :class:`ResultChunks`.

    Parameters
    ----------
    table : DataFrame, shape (n, ...)
        Typed as ``ScreeningResult.table`` (used as given, not converted again).
    provenance : mapping

    Returns
    -------
    ResultChunks
    """
    frame = table.reset_index(drop=True)

    def read() -> Iterator[tuple[int, pd.DataFrame]]:
        for start in range(0, len(frame), HASH_CHUNK):
            yield start, frame.iloc[start:start + HASH_CHUNK].reset_index(drop=True)

    return ResultChunks([str(c) for c in frame.columns], dict(provenance), read)


def _exact(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.Table]:
    """Record batches of any size -> tables of exactly :data:`HASH_CHUNK` rows (the last
    fewer; none for an empty input)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    schema = None
    for batch in batches:
        schema = batch.schema
        pending.append(batch)
        count += batch.num_rows
        while count >= HASH_CHUNK:
            table = pa.Table.from_batches(pending, schema)
            yield table.slice(0, HASH_CHUNK)
            rest = table.slice(HASH_CHUNK)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending, schema)


def _typed(tables: Iterator[pa.Table], provenance: Mapping[str, Any], csv_escaped: bool,
           name: str) -> Iterator[tuple[int, pd.DataFrame]]:
    offset = 0
    try:
        for table in tables:
            frame = table.to_pandas().reset_index(drop=True)
            yield offset, restore_result_types(frame, provenance, csv_escaped=csv_escaped)
            offset += table.num_rows
    except (pa.ArrowException, UnicodeDecodeError) as exc:  # never quote the cell
        raise ResponseDataError(f"{name}: cannot read the results file past row "
                                f"{offset + 1} ({type(exc).__name__}); is it a results file "
                                "written by `xinli-screen score`?") from None


def _csv_encoding(path: Path) -> str:
    """``utf8`` when the whole file decodes as UTF-8 (streamed, 1 MB at a time), else
    ``gb18030`` (a results file saved again by Excel on Chinese Windows)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as f:
            while block := f.read(1 << 20):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf8"


def _csv_header(path: Path, encoding: str) -> list[str]:
    python = "utf-8-sig" if encoding == "utf8" else encoding
    with path.open(encoding=python, newline="") as f:
        return next(csv.reader(io.StringIO(f.readline())), [])


def _parquet(path: Path) -> ResultChunks | None:
    import pyarrow.parquet as pq

    try:
        names = pq.ParquetFile(path).schema_arrow.names
    except (pa.ArrowException, OSError) as exc:
        raise ResponseDataError(f"{path.name}: not a readable Parquet file "
                                f"({type(exc).__name__})") from None
    if len(set(names)) != len(names):
        return None
    provenance = _sidecar(path)

    def read() -> Iterator[tuple[int, pd.DataFrame]]:
        batches = pq.ParquetFile(path).iter_batches(batch_size=HASH_CHUNK)
        return _typed(_exact(batches), provenance, False, path.name)

    return ResultChunks(names, provenance, read)


def _csv(path: Path) -> ResultChunks | None:
    import pyarrow.csv as pacsv

    encoding = _csv_encoding(path)
    names = _csv_header(path, encoding)
    if not names or len(set(names)) != len(names):
        return None  # read whole: pandas names repeated headers as it always did
    provenance = _sidecar(path)
    read_options = pacsv.ReadOptions(encoding=encoding, block_size=1 << 22)
    parse_options = pacsv.ParseOptions(newlines_in_values=True)
    convert_options = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names}, null_values=[],
        strings_can_be_null=False, quoted_strings_can_be_null=False)

    def read() -> Iterator[tuple[int, pd.DataFrame]]:
        try:
            reader = pacsv.open_csv(path, read_options=read_options,
                                    parse_options=parse_options,
                                    convert_options=convert_options)
        except pa.ArrowException as exc:
            raise ResponseDataError(f"{path.name}: cannot read the results file "
                                    f"({type(exc).__name__})") from None
        return _typed(_exact(iter(reader)), provenance, True, path.name)

    return ResultChunks(names, provenance, read)


def open_result_chunks(path: str | Path) -> ResultChunks:
    """Open a results file written by ``xinli-screen score`` for reading chunk by chunk.

    Parameters
    ----------
    path : str or Path
        ``.parquet`` or ``.csv`` (streamed), ``.json`` or ``.xlsx`` (read whole).

    Returns
    -------
    ResultChunks
        Nothing but the header (and the provenance sidecar) is read until
        :attr:`ResultChunks.read` is called.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ResponseDataError
        Unsupported type, not a results table (no ``warning_tier`` column), or a file
        pyarrow cannot read (also while the chunks are read).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"results file not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in RESULT_FILE_TYPES:
        raise ResponseDataError(f"unsupported results file type {suffix!r}; use one of "
                                f"{', '.join(RESULT_FILE_TYPES)}")
    chunks = {".parquet": _parquet, ".csv": _csv}.get(suffix, lambda p: None)(path)
    if chunks is None:
        table, provenance = read_results_file(path)
        return table_chunks(table, provenance)
    if "warning_tier" not in chunks.columns:
        raise ResponseDataError(NOT_RESULTS.format(name=path.name))
    return chunks
