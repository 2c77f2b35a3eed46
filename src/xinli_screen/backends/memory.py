"""The batch kernel on a table already in memory, batch by batch.

:func:`xinli_screen.screen` runs the kernel once on the whole table. :func:`screen_batches`
runs it on slices of ``batch_rows`` rows (an Arrow table is sliced without a copy), so the
stages' temporaries (parsed answers, score matrices, reason texts) exist for one batch at a
time, and each batch's result can be written as soon as it is ready (``on_batch``) instead of
being gathered. Ids repeated across batches are found once on the whole id column and bound
into the kernel; with ``careless`` the item moments of every batch are merged first; code
offsets are counted per batch and judged once on the merged counts (refused or warned about
after the last batch, before the caller closes its outputs). So the result equals
:func:`xinli_screen.screen` row for row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xinli_screen.backends.kernel import BatchKernel, BatchStats, KernelOutput
from xinli_screen.code_offsets import judge_code_offsets
from xinli_screen.instrument.models import Instrument
from xinli_screen.responses import normalise_ids
from xinli_screen.result import ScreeningResult

__all__ = ["screen_batches"]


def _slices(data: Any, batch_rows: int) -> Iterator[tuple[int, Any]]:
    """(offset, batch) over ``data`` (DataFrame or Arrow table), without copying an Arrow
    table."""
    for lo in range(0, max(len(data), 1), batch_rows):
        if hasattr(data, "slice") and not isinstance(data, pd.DataFrame):
            yield lo, data.slice(lo, batch_rows)
        else:
            yield lo, data.iloc[lo:lo + batch_rows]


def _column(data: Any, name: str) -> pd.Series | None:
    if isinstance(data, pd.DataFrame):
        return data[name] if name in data.columns else None
    return data.column(name).to_pandas() if name in data.column_names else None


def screen_batches(
    data: Any,
    instruments: Sequence[str | Path | Instrument],
    *,
    batch_rows: int = 100_000,
    on_batch: Callable[[KernelOutput, int], None] | None = None,
    policy: Any = "default",
    norms: Sequence[Any] = (),
    id_column: str | None = None,
    careless: bool | Mapping[str, float | None] = False,
    provenance: dict[str, Any] | None = None,
    **options: Any,
) -> tuple[ScreeningResult | None, BatchStats | None]:
    """Screen an in-memory table in batches of ``batch_rows`` rows.

    Parameters
    ----------
    data : DataFrame or pyarrow.Table, shape (n_rows, n_columns)
        Answer sheets as :func:`xinli_screen.screen` takes them (a 问卷星 download prepared
        by :func:`xinli_screen.io.source.apply_plan` first).
    instruments, policy, norms, id_column, careless
        As :func:`xinli_screen.screen`.
    batch_rows : int, default 100,000
        Rows per batch (at least 1).
    on_batch : callable(output, offset), optional
        Receives each batch's :class:`~xinli_screen.backends.kernel.KernelOutput` (row
        numbers of failures and reasons global; ``provenance["code_offsets"]`` empty: the
        judgement comes after the last batch). When given, nothing is gathered and the
        result returned is None.
    provenance : dict, optional
        Filled with the run's provenance (as :attr:`ScreeningResult.provenance` of the
        gathered result: whole-run row counts, ``batches`` and the code offsets judged on
        every row), with or without ``on_batch``.
    **options
        The other keyword arguments of :meth:`BatchKernel.bind` (``columns``,
        ``missing_codes``, ``lang``, ``group_columns``, ``time_column``, ``answer_values``,
        ``run_stats``, ``stats_by``).

    Returns
    -------
    (ScreeningResult or None, BatchStats or None)
        The gathered result (equal to :func:`xinli_screen.screen`; None with ``on_batch``)
        and the merged statistics of every batch (None for an empty table).

    Raises
    ------
    ValueError
        ``batch_rows`` below 1; as :meth:`BatchKernel.bind`.
    ResponseDataError
        As :func:`xinli_screen.screen`; a
        :class:`~xinli_screen.code_offsets.CodeOffsetError` after the last batch (so a
        caller writing batches must drop what it wrote).

    Warns
    -----
    XinliScreenWarning
        As :func:`xinli_screen.screen`; a warning of the per-row stages once per batch.
    """
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    kernel = BatchKernel.bind(instruments, policy, norms, id_column=id_column,
                              careless=careless, **options).deferring_offsets()
    ids = None if id_column is None else _column(data, id_column)
    if ids is not None:
        norm = normalise_ids(ids.reset_index(drop=True))
        kernel = kernel.with_duplicates(norm[norm.duplicated(keep=False) & norm.notna()])
    if careless:
        kernel = kernel.with_moments(kernel.merged_moments(
            b for _, b in _slices(data, batch_rows)))
    outs: list[KernelOutput] = []
    stats: BatchStats | None = None
    run: dict[str, Any] = {}
    count = 0
    for offset, batch in _slices(data, batch_rows):
        out = kernel.run(batch, offset)
        stats = out.stats if stats is None else stats.merge(out.stats)
        run = run or dict(out.provenance)
        count += 1
        if on_batch is not None:
            on_batch(out, offset)
        else:
            outs.append(out)
    if stats is not None and stats.offsets is not None:  # judged once, on every row
        found = judge_code_offsets(stats.offsets, kernel.modes, stacklevel=2)
        run["code_offsets"] = [o.to_dict() for o in found]
    rows = len(data)
    run.update({"rows_in": rows, "rows_out": rows,
                "batches": {"batch_rows": batch_rows, "batches": count}})
    if provenance is not None:
        provenance.update(run)
    if on_batch is not None or not outs:
        return None, stats
    return ScreeningResult(
        table=pd.concat([o.table for o in outs], ignore_index=True),
        failures=pd.concat([o.failures for o in outs], ignore_index=True),
        reasons=pd.concat([o.reasons for o in outs], ignore_index=True),
        provenance=run), stats
