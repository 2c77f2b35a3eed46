"""Screen a file larger than memory: the batch kernel chunk by chunk, same output as in memory.

:func:`screen_stream` reads the input in chunks (:func:`xinli_screen.io.stream.iter_chunks`),
runs the :class:`~xinli_screen.backends.kernel.BatchKernel` (bound once) on each and hands the
chunk's result (failure and reason row numbers global) to a callback that appends it to the
outputs. Every stage of the per-respondent path is row-wise, so a chunk's rows get exactly
what they would get in one run. The facts that need every row are found first and bound into
the kernel:

* duplicate ids across chunks: a pre-pass reads only the id column (hashing each normalised
  id to 8 bytes; candidates are confirmed on their text), and a row whose id occurs anywhere
  else in the file gets status ``duplicate_id`` and a ``duplicate-id`` failure;
* with ``careless``: pass 1 reads the file once more and merges the pairwise item moments
  of every chunk (:class:`~xinli_screen.validity.ItemMoments`); pass 2 screens each chunk
  with them, so Mahalanobis D² and the psychometric synonym/antonym pairs are those of the
  whole file (longstring, IRV and the time check are per row anyway).

The summary (rows per status, tier, failure code) and :class:`~xinli_screen.runstats.
RunStatistics` are merged from each chunk's :class:`~xinli_screen.backends.kernel.BatchStats`.
Peak memory is about one chunk's input and result plus 8 bytes per row for the id hashes
(and 4 p² floats for the moments of p items).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from xinli_screen.backends.kernel import BatchKernel, BatchStats, merge_summaries
from xinli_screen.errors import XinliScreenWarning
from xinli_screen.instrument.models import Instrument
from xinli_screen.instrument.registry import load_instrument
from xinli_screen.io.column_map import ColumnMap
from xinli_screen.io.source import InputPlan, _typed_items, apply_plan, plan_input
from xinli_screen.io.stream import iter_chunks, read_column, sniff_encoding
from xinli_screen.responses import normalise_ids
from xinli_screen.result import ScreeningResult
from xinli_screen.runstats import RunStatistics

__all__ = ["StreamOutcome", "duplicate_ids", "merge_summaries", "screen_stream"]


@dataclass
class StreamOutcome:
    """What a streamed run produced besides the files its callbacks wrote.

    Attributes
    ----------
    summary : dict
        As :meth:`ScreeningResult.summary`, merged over chunks.
    provenance : dict
        The first chunk's provenance with whole-run row counts and the chunking.
    plan : InputPlan
    stats : RunStatistics or None
    chunks : int
    warnings : list of str
        Distinct warning messages raised while screening.
    """

    summary: dict[str, Any]
    provenance: dict[str, Any]
    plan: InputPlan
    stats: RunStatistics | None = None
    chunks: int = 0
    warnings: list[str] = field(default_factory=list)


def _hashes(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    norm = normalise_ids(ids)
    present = norm.notna().to_numpy()
    values = norm.to_numpy(dtype=object)[present]
    return pd.util.hash_array(values.astype(object)), values


def duplicate_ids(path: Path, column: str, chunk_rows: int = 100_000) -> set[str]:
    """Normalised ids that occur on more than one row of ``path`` (reads only that column).

    Pass 1 keeps an 8-byte hash per row; ids whose hash repeats are confirmed on their text in
    pass 2 (only when a hash repeats), so a hash collision never makes a false duplicate.

    Parameters
    ----------
    path : Path
        ``.csv`` or ``.parquet``.
    column : str
        The id column.
    chunk_rows : int
        Rows per read.

    Returns
    -------
    set of str
    """
    parts = [_hashes(s)[0] for s in read_column(path, column, chunk_rows)]
    if not parts:
        return set()
    hashes = np.concatenate(parts)
    del parts
    uniq, counts = np.unique(hashes, return_counts=True)
    candidates = uniq[counts > 1]
    del hashes, uniq, counts
    if len(candidates) == 0:
        return set()
    seen: dict[str, int] = {}
    for s in read_column(path, column, chunk_rows):
        h, values = _hashes(s)
        for v in values[np.isin(h, candidates)]:
            seen[v] = seen.get(v, 0) + 1
    return {v for v, c in seen.items() if c > 1}


def screen_stream(
    path: str | Path,
    instruments: Sequence[str | Path | Instrument],
    *,
    chunk_rows: int = 200_000,
    column_map: ColumnMap | None = None,
    id_column: str | None = None,
    answer_values: str | Mapping[str, str] | None = None,
    missing_codes: Sequence[float] = (),
    policy: str | Path = "default",
    lang: Literal["zh", "en"] = "zh",
    norms: Sequence[str | Path] = (),
    group_columns: Mapping[str, str] | None = None,
    careless: bool | Mapping[str, float | None] = False,
    time_column: str | None = None,
    stats: RunStatistics | None = None,
    stats_by: str | None = None,
    on_chunk: Callable[[ScreeningResult, int], None] | None = None,
    chunks: Iterator[pd.DataFrame] | None = None,
) -> StreamOutcome:
    """Screen ``path`` chunk by chunk; see the module docstring.

    Parameters
    ----------
    path : str or Path
        ``.csv`` or ``.parquet``.
    instruments, policy, lang, norms, group_columns, careless, time_column
        As :func:`xinli_screen.screen`; ``careless`` reads the file twice (module docstring).
    chunk_rows : int
        Rows per chunk (peak memory grows with it).
    column_map, id_column, answer_values, missing_codes
        As :func:`xinli_screen.io.source.plan_input`; the plan is made on the first chunk.
    stats : RunStatistics, optional
        Filled with every chunk (``stats_by``: the input column to group by).
    on_chunk : callable(result, row_offset), optional
        Receives each chunk's result; its ``failures``/``reasons`` ``row`` numbers (and the
        failures' ``file_row``) are already global (``table`` keeps a 0-based index per
        chunk).
    chunks : iterator of DataFrame, optional
        Chunks to use instead of reading ``path`` (tests; read into a list for ``careless``).

    Returns
    -------
    StreamOutcome

    Raises
    ------
    ResponseDataError
        As the in-memory run (unreadable file, absent columns ...), raised when the chunk
        that shows the problem is read.
    """
    path = Path(path)
    insts = [i if isinstance(i, Instrument) else load_instrument(i) for i in instruments]
    given = None if chunks is None or not careless else list(chunks)
    wjx_values = answer_values if answer_values in ("auto", "text", "sequence", "code") else None
    typed = _typed_items(insts, column_map or ColumnMap({}), id_column,
                         wjx_values, missing_codes)  # type: ignore[arg-type]

    def read() -> Iterator[pd.DataFrame]:
        if given is not None:
            return iter(given)
        return chunks if chunks is not None else iter_chunks(path, chunk_rows, typed=typed)

    stream = read()
    first = next(stream, None)
    if first is None:  # a header-only file: the in-memory reader gives the empty table
        from xinli_screen.io.readers import read_table

        first, _ = read_table(path)
    info: dict[str, Any] = {"format": path.suffix.lower().lstrip(".")}
    if path.suffix.lower() != ".parquet" and chunks is None:
        info["encoding"] = sniff_encoding(path)
    plan = plan_input(first, info, insts, column_map=column_map, id_column=id_column,
                      answer_values=wjx_values,  # type: ignore[arg-type]
                      missing_codes=missing_codes)
    kernel = BatchKernel.bind(
        list(instruments), policy, norms, id_column=plan.id_column,
        columns=plan.columns or None, missing_codes=plan.missing_codes, lang=lang,
        group_columns=group_columns, careless=careless, time_column=time_column,
        answer_values=answer_values,  # code offsets are judged chunk by chunk
        run_stats=stats is not None, stats_by=stats_by)
    if plan.id_column and chunks is None:
        kernel = kernel.with_duplicates(duplicate_ids(path, plan.id_column, chunk_rows))
    if careless:
        kernel = kernel.with_moments(kernel.merged_moments(
            apply_plan(raw, plan) for raw in itertools.chain((first,), stream)))
        stream = read()
        next(stream, None)
    messages: dict[str, None] = {}
    provenance: dict[str, Any] = {}
    merged: BatchStats | None = None
    offset = 0
    count = 0
    all_chunks = itertools.chain((first,), stream)
    del first  # the first chunk is not kept once it has been screened
    for raw in all_chunks:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = kernel.run(apply_plan(raw, plan), offset)
        for w in caught:
            if issubclass(w.category, XinliScreenWarning):
                messages.setdefault(str(w.message), None)
        merged = out.stats if merged is None else merged.merge(out.stats)
        if not provenance:
            provenance = dict(out.provenance)
        if on_chunk is not None:
            on_chunk(out.result(), offset)
        offset += len(out.table)
        count += 1
    if stats is not None and merged is not None and merged.run is not None:
        stats.merge(merged.run)
    provenance.update({"rows_in": offset, "rows_out": offset, "input": plan.provenance,
                       "streamed": {"chunk_rows": chunk_rows, "chunks": count}})
    summary = merge_summaries([] if merged is None else [merged.summary])
    return StreamOutcome(summary=summary, provenance=provenance, plan=plan, stats=stats,
                         chunks=count, warnings=list(messages))
