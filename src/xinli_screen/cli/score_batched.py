"""``xinli-screen score`` in memory, results written batch by batch.

The input is read once and whole (``--chunk-size 0`` or a file below the streaming size), its
item columns kept as small integers (``int_codes``, :func:`xinli_screen.io.load_answers`);
:func:`xinli_screen.backends.memory.screen_batches` then runs the batch kernel on
:data:`BATCH_ROWS` rows at a time and each batch's results are appended to the outputs
(:class:`xinli_screen.io.stream.ChunkWriter`). So neither a float64 copy of the whole answer
matrix nor the whole result table is ever held, and the files are those of the whole-table run
(tests/test_cli_score_batched.py): duplicate ids are found on the whole id column, the
careless moments merged over every batch, code offsets judged once on the counts of every
row. Outputs that need the whole table at once (XLSX, JSON, FHIR) keep the whole-table run,
and so does CSV on stdout, which must stay empty when the run is refused (:func:`batchable`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from xinli_screen.cli.console import fail, stderr
from xinli_screen.cli.exit_codes import ExitCode
from xinli_screen.cli.score_common import (
    exit_codes,
    print_summary,
    raise_on_sigterm,
    restore_sigterm,
    write_stats,
)
from xinli_screen.errors import XinliScreenWarning

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BATCH_ROWS", "BatchedRun", "batchable", "score_batched", "score_in_batches"]

#: Rows per batch (10^6 x 100 items: peak RSS 0.6-0.9 GB, docs/performance.md; tests set it
#: small).
BATCH_ROWS = 50_000


def batchable(output: Path | None, failures: Path | None, scheduler: str | None) -> bool:
    """Whether the in-memory run can write its outputs batch by batch: CSV or Parquet out,
    ``--failures`` absent or CSV, no ``--scheduler``.

    CSV on stdout is never batched: a refused code offset is known only after the last
    batch, and rows already printed cannot be taken back (the ``.partial`` files can). The
    whole-table run prints nothing until every row is scored.

    Parameters
    ----------
    output, failures : Path or None
        ``--output`` and ``--failures`` as given.
    scheduler : str or None
        ``--scheduler``.

    Returns
    -------
    bool
    """
    if scheduler is not None or output is None:
        return False
    if (output.suffix.lower() not in (".csv", ".parquet")
            or output.name.lower().endswith(".fhir.json")):
        return False
    return failures is None or failures.suffix.lower() == ".csv"


@dataclass
class BatchedRun:
    """What :func:`score_batched` did besides writing its files.

    Attributes
    ----------
    summary : dict
        As :meth:`xinli_screen.ScreeningResult.summary`, merged over the batches.
    written : list of Path
        The files written (output, its provenance sidecar, failures, statistics).
    warnings : list of str
        Distinct warning messages, in the order first raised.
    """

    summary: dict[str, Any]
    written: list[Path]
    warnings: list[str]


def _write_batch(out: Any, fails: Any, table: pd.DataFrame, failures: pd.DataFrame) -> None:
    """Append one batch's results and its failures."""
    out.write_table(table)
    if fails is not None and len(failures):
        fails.write_table(failures)


def score_batched(data: pd.DataFrame, instruments: Sequence[str], *, output: Path,
                  failures: Path | None, bom: bool,
                  stats: Path | None, stats_by: str | None, input_provenance: dict[str, Any],
                  progress: Any = None, **options: Any) -> BatchedRun:
    """Screen ``data`` in batches and write each batch's results as soon as it is ready.

    Parameters
    ----------
    data : DataFrame, shape (n_rows, n_columns)
        The input with its plan applied (:func:`xinli_screen.io.source.apply_plan`).
    instruments : sequence of str
        The ``-i`` values (bundled ids or YAML paths).
    output : Path
        ``.csv`` or ``.parquet`` (never stdout: :func:`batchable`).
    failures : Path or None
        ``.csv``.
    bom : bool
        CSV files start with a UTF-8 byte-order mark.
    stats : Path or None
        Run statistics (JSON), grouped by the input column ``stats_by``.
    input_provenance : dict
        The input plan's provenance (``input`` of the sidecar).
    progress : callable(batches_done, batches), optional
        Called after each batch.
    **options
        ``id_column``, ``columns``, ``policy``, ``missing_codes``, ``lang``, ``norms``,
        ``group_columns``, ``careless``, ``time_column``, ``answer_values`` as
        :func:`xinli_screen.screen` takes them.

    Returns
    -------
    BatchedRun

    Raises
    ------
    ResponseDataError, ValueError, InstrumentDefinitionError, PolicyDefinitionError,
    NormDefinitionError, NormMismatchError
        As the whole-table run; the partial outputs are deleted first (a refused code offset
        is known only after the last batch).
    """
    from xinli_screen.backends.memory import screen_batches
    from xinli_screen.io.stream import ChunkWriter
    from xinli_screen.io.writers import write_sidecar

    out = ChunkWriter(output, bom=bom)
    fails = None if failures is None else ChunkWriter(failures, bom=bom)
    last_failures: list[pd.DataFrame] = []
    batches = max(1, -(-len(data) // BATCH_ROWS))

    pending: list[Future[None]] = []

    def on_batch(kernel_out: Any, offset: int) -> None:
        if pending:  # one batch written at a time, in order
            pending.pop().result()
        pending.append(pool.submit(_write_batch, out, fails, kernel_out.table,
                                   kernel_out.failures))
        last_failures[:] = [kernel_out.failures.iloc[:0]]
        if progress is not None:
            progress(offset // BATCH_ROWS + 1, batches)

    provenance: dict[str, Any] = {}
    messages: dict[str, None] = {}
    try:
        # a batch is written on a second thread while the next one is screened (Arrow's
        # CSV formatting and Parquet encoding release the GIL); the pool's exit waits for it
        with ThreadPoolExecutor(max_workers=1) as pool, warnings.catch_warnings(
                record=True) as caught:
            warnings.simplefilter("always", XinliScreenWarning)
            _, merged = screen_batches(
                data, list(instruments), batch_rows=BATCH_ROWS, on_batch=on_batch,
                provenance=provenance, run_stats=stats is not None, stats_by=stats_by,
                **options)
            if pending:
                pending.pop().result()
        for w in caught:
            if issubclass(w.category, XinliScreenWarning):
                messages.setdefault(str(w.message), None)
        written: list[Path] = []
        provenance["input"] = input_provenance
        written.append(out.close())
        written.append(write_sidecar(out.path, provenance))
        if fails is not None:
            if fails.rows == 0 and last_failures:  # no failure at all: the header alone
                fails.write_table(last_failures[0])
            written.append(fails.close())
    except BaseException:
        out.abort()
        if fails is not None:
            fails.abort()
        raise
    if stats is not None and merged is not None and merged.run is not None:
        written.append(write_stats(merged.run, stats))
    summary = merged.summary if merged is not None else {}
    return BatchedRun(summary=summary, written=written, warnings=list(messages))


def score_in_batches(data: Any, plan: Any, input_file: Path, instrument: list[str], *,
                     output: Path, failures: Path | None, bom: bool,
                     stats: Path | None, stats_by: str | None, progress: bool | None,
                     options: dict[str, Any], large_rows: int) -> None:
    """``score`` in memory with its outputs written batch by batch: :func:`score_batched`
    with the command's progress bar, warnings, summary and exit codes.

    Parameters
    ----------
    data : DataFrame
        The input with its plan applied.
    plan : xinli_screen.io.source.InputPlan
    input_file : Path
        Named in data-problem messages.
    instrument : list of str
        The ``-i`` values.
    output, failures, bom, stats, stats_by
        As :func:`score_batched`.
    progress : bool or None
        ``--progress/--no-progress``; None shows the bar from ``large_rows`` rows.
    options : dict
        The screening options (:func:`score_batched` ``**options``).
    large_rows : int

    Raises
    ------
    typer.Exit
        Exit code 1 when data problems were found; the documented exit codes for errors
        (docs/errors.md).
    """
    if stats_by is not None and stats_by not in data.columns:
        fail(f"--stats-by column {stats_by!r} is not in the input", ExitCode.DATA_PROBLEMS)
    show = progress if progress is not None else len(data) >= large_rows
    previous = raise_on_sigterm()  # the .partial files (which hold ids) go on SIGTERM too
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                      console=stderr, transient=True, disable=not show) as bar:
            task = bar.add_task("scoring", total=None)
            with exit_codes(input_file):
                run = score_batched(
                    data, instrument, output=output, failures=failures, bom=bom, stats=stats,
                    stats_by=stats_by, input_provenance=plan.provenance,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                    **options)
    finally:
        restore_sigterm(previous)
    for message in run.warnings:
        stderr.print(f"warning: {message}", markup=False)
    print_summary(run.summary, run.written)
    if sum(run.summary["failures"].values()):
        raise typer.Exit(int(ExitCode.DATA_PROBLEMS))
