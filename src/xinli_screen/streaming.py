"""Screen a file larger than memory: chunk by chunk, with the same output as the in-memory run.

:func:`screen_stream` reads the input in chunks (:func:`xinli_screen.io.stream.iter_chunks`),
screens each with :func:`xinli_screen.pipeline.screen_with_responses` and hands the chunk's
table and failures (row numbers made global) to callbacks that append them to the outputs.
Every stage of the per-respondent path is row-wise, so a chunk's rows get exactly what they
would get in one run, with one exception handled here: duplicate ids across chunks. A
pre-pass reads only the id column (hashing each normalised id to 8 bytes; candidates are
confirmed on their text), and a row whose id occurs anywhere else in the file gets status
``duplicate_id`` and a ``duplicate-id`` failure, as in the in-memory run.

The summary (rows per status, tier, failure code) and :class:`~xinli_screen.runstats.
RunStatistics` (per-group counts, score moments, alpha from merged pairwise sufficient
statistics) are merged across chunks. Peak memory is about one chunk's input and result plus
8 bytes per row for the id hashes. Careless-responding indices that need the whole sample
(Mahalanobis distance) are not available in a streamed run.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from xinli_screen.errors import ResponseDataError, XinliScreenWarning
from xinli_screen.instrument.models import Instrument
from xinli_screen.instrument.registry import load_instrument
from xinli_screen.io.column_map import ColumnMap
from xinli_screen.io.source import InputPlan, apply_plan, plan_input
from xinli_screen.io.stream import iter_chunks, read_column, sniff_encoding
from xinli_screen.pipeline import screen_with_responses
from xinli_screen.policy.models import TIER_ORDER
from xinli_screen.responses import FAILURE_COLUMNS, locate_failures, normalise_ids, source_refs
from xinli_screen.result import STATUSES, ScreeningResult
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


def merge_summaries(parts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Add up :meth:`ScreeningResult.summary` dicts of disjoint row sets."""
    out: dict[str, Any] = {"rows": 0, "status": dict.fromkeys(STATUSES, 0),
                           "warning_tier": dict.fromkeys(TIER_ORDER, 0), "failures": {},
                           "notes": {}, "critical_unknown": 0, "tier_not_settled": 0}
    for s in parts:
        out["rows"] += s["rows"]
        out["tier_not_settled"] += s["tier_not_settled"]
        out["critical_unknown"] += s.get("critical_unknown", 0)
        for k, v in s.get("notes", {}).items():
            out["notes"][k] = out["notes"].get(k, 0) + v
        for k, v in s["status"].items():
            out["status"][k] = out["status"].get(k, 0) + v
        for k, v in s["warning_tier"].items():
            out["warning_tier"][k] = out["warning_tier"].get(k, 0) + v
        for k, v in s["failures"].items():
            out["failures"][k] = out["failures"].get(k, 0) + v
    out["failures"] = dict(sorted(out["failures"].items(), key=lambda kv: -kv[1]))
    return out


def _hashes(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    norm = normalise_ids(ids)
    present = norm.notna().to_numpy()
    values = norm.to_numpy(dtype=object)[present]
    return pd.util.hash_array(values.astype(object)), values


def duplicate_ids(path: Path, column: str, chunk_rows: int = 100_000) -> set[str]:
    """Normalised ids that occur on more than one row of ``path`` (reads only that column).

    Pass 1 keeps an 8-byte hash per row; ids whose hash repeats are confirmed on their text in
    pass 2 (only when a hash repeats), so a hash collision never makes a false duplicate.
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


def _mark_duplicates(result: ScreeningResult, id_column: str, dups: set[str]) -> None:
    """Rows whose id repeats elsewhere in the file: status and failure as in one run."""
    table = result.table
    ids = table[id_column]
    status = table["status"].to_numpy(dtype=object)
    new = ids.isin(dups).to_numpy() & (status != "duplicate_id") & (status != "missing_id")
    if not new.any():
        return
    status = status.copy()
    status[new] = "duplicate_id"
    table["status"] = status
    rows = np.nonzero(new)[0]
    extra = pd.DataFrame({"row": rows.astype("int64"),
                          "id": ids.to_numpy(dtype=object)[rows], "item": None,
                          "column": id_column, "code": "duplicate-id", "value": None},
                         columns=FAILURE_COLUMNS)
    failures = pd.concat([extra, result.failures], ignore_index=True) if len(
        result.failures) else extra
    failures = failures.sort_values(["row", "item"], kind="stable", na_position="first")
    object.__setattr__(result, "failures", failures.reset_index(drop=True))


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
    instruments, policy, lang, norms, group_columns, time_column
        As :func:`xinli_screen.screen`.
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
        Chunks to use instead of reading ``path`` (tests).

    Returns
    -------
    StreamOutcome

    Raises
    ------
    ResponseDataError
        As the in-memory run (unreadable file, absent columns ...), raised when the chunk
        that shows the problem is read.
    """
    import warnings

    path = Path(path)
    insts = [i if isinstance(i, Instrument) else load_instrument(i) for i in instruments]
    stream = chunks if chunks is not None else iter_chunks(path, chunk_rows)
    first = next(stream, None)
    if first is None:  # a header-only file: the in-memory reader gives the empty table
        from xinli_screen.io.readers import read_table

        first, _ = read_table(path)
    info: dict[str, Any] = {"format": path.suffix.lower().lstrip(".")}
    if path.suffix.lower() != ".parquet" and chunks is None:
        info["encoding"] = sniff_encoding(path)
    wjx_values = answer_values if answer_values in ("auto", "text", "sequence", "code") else None
    plan = plan_input(first, info, insts, column_map=column_map, id_column=id_column,
                      answer_values=wjx_values,  # type: ignore[arg-type]
                      missing_codes=missing_codes)
    dups = (duplicate_ids(path, plan.id_column, chunk_rows) if plan.id_column and chunks is None
            else set())
    summaries: list[dict[str, Any]] = []
    messages: dict[str, None] = {}
    provenance: dict[str, Any] = {}
    offset = 0
    count = 0

    all_chunks = itertools.chain((first,), stream)
    del first  # the first chunk is not kept once it has been screened
    for raw in all_chunks:
        data = apply_plan(raw, plan).reset_index(drop=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result, prepared = screen_with_responses(
                data, list(instruments), id_column=plan.id_column,
                columns=plan.columns or None, policy=policy,
                missing_codes=plan.missing_codes, lang=lang, norms=norms,
                group_columns=group_columns, time_column=time_column,
                answer_values=answer_values)  # code offsets are judged chunk by chunk
        for w in caught:
            if issubclass(w.category, XinliScreenWarning):
                messages.setdefault(str(w.message), None)
        if dups and plan.id_column:
            _mark_duplicates(result, plan.id_column, dups)
        failures = locate_failures(result.failures, source_refs(data))
        failures["row"] += offset
        failures["file_row"] += offset
        object.__setattr__(result, "failures", failures)
        if len(result.reasons):
            result.reasons["row"] += offset
        if stats is not None:
            groups = None
            if stats_by is not None:
                groups = data[stats_by] if stats_by in data.columns else None
                if groups is None:
                    raise ResponseDataError(f"--stats-by column {stats_by!r} is not in the "
                                            "input")
            stats.update(result.table, prepared.responses, groups)
        summaries.append(result.summary())
        if not provenance:
            provenance = dict(result.provenance)
        if on_chunk is not None:
            on_chunk(result, offset)
        offset += len(result.table)
        count += 1
    provenance.update({"rows_in": offset, "rows_out": offset, "input": plan.provenance,
                       "streamed": {"chunk_rows": chunk_rows, "chunks": count}})
    return StreamOutcome(summary=merge_summaries(summaries), provenance=provenance,
                         plan=plan, stats=stats, chunks=count, warnings=list(messages))
