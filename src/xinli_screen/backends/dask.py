"""The batch kernel on a dask.distributed cluster (optional: ``pip install 'xinli-screen[dask]'``).

Two entry points:

* :func:`screen_dask` screens a dask DataFrame the caller built and returns one pandas
  :class:`~xinli_screen.result.ScreeningResult` equal to the pandas path row for row
  (:func:`xinli_screen.screen` hands a dask DataFrame here through
  :func:`xinli_screen.backends.adapter_for`).
* :func:`screen_files` is for data that lives where the workers are: each worker reads its
  own partitions of Parquet or CSV files (``dd.read_parquet``; ``dd.read_csv`` with every
  column as text and only empty cells missing, the rules of
  :func:`xinli_screen.io.read_table`), screens them with the kernel and writes its results
  beside them (one ``part-NNNNN`` file per partition, result and failures); only the
  partition summaries travel back and are merged on the client.

In both, the kernel is bound once on the client and shipped to the workers. Facts that need
every row are computed on the cluster first: partition lengths (row offsets), ids repeated
across partitions (a distributed ``value_counts``; only the repeated ids reach the client)
and, with ``careless``, the merged pairwise item moments (pass 1), so Mahalanobis D² and the
synonym pairs are those of the whole input.

Running on an existing cluster: start a scheduler and workers where xinli-screen (same
version) is installed (``dask scheduler`` / ``dask worker tcp://HOST:8786``); the files must
be readable by every worker under the same path (a shared file system, or ``s3://`` /
``hdfs://`` URLs with the fsspec driver installed). Then, in Python::

    from dask.distributed import Client
    from xinli_screen.backends.dask import screen_files
    Client("tcp://HOST:8786")
    summary = screen_files("/data/wave/*.parquet", ["phq9", "gad7"], "/data/out",
                           id_column="学号")

or ``xinli-screen score '/data/wave/*.parquet' -i phq9 --scheduler tcp://HOST:8786 -o
/data/out``: with Parquet or CSV in and a folder out the CLI calls :func:`screen_files`; with a
result file out (``-o out.parquet``) it reads the input on the client and gathers one file.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xinli_screen.backends.kernel import BatchKernel, BatchStats, KernelOutput
from xinli_screen.instrument.models import Instrument
from xinli_screen.responses import normalise_ids
from xinli_screen.result import ScreeningResult

__all__ = ["connect", "screen_dask", "screen_files", "to_dask"]

_CLIENTS: list[Any] = []


def connect(scheduler: str) -> Any:
    """A dask.distributed Client.

    Parameters
    ----------
    scheduler : str
        ``"local"`` starts a LocalCluster (one worker process per core, up to 8, one thread
        each); anything else is a scheduler address (``tcp://host:8786``).

    Returns
    -------
    dask.distributed.Client
    """
    from dask.distributed import Client, LocalCluster

    if scheduler == "local":
        cluster = LocalCluster(n_workers=max(1, min(os.cpu_count() or 1, 8)),
                               threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    _CLIENTS.append(client)
    return client


def to_dask(frame: pd.DataFrame, npartitions: int | None = None) -> Any:
    """A pandas table as a dask DataFrame (default: one partition per worker core).

    Parameters
    ----------
    frame : DataFrame, shape (n_rows, n_columns)
    npartitions : int, optional

    Returns
    -------
    dask.dataframe.DataFrame
    """
    import dask.dataframe as dd

    if npartitions is None:
        try:
            from dask.distributed import default_client

            npartitions = max(1, sum(default_client().nthreads().values()))
        except ValueError:
            npartitions = 1
    return dd.from_pandas(frame, npartitions=max(1, min(npartitions, max(len(frame), 1))))


def _prepared(kernel: BatchKernel, data: Any) -> BatchKernel:
    """The kernel with the facts of the whole frame bound: repeated ids, item moments."""
    import dask

    if kernel.id_column is not None and kernel.id_column in data.columns:
        counts = data[kernel.id_column].map_partitions(
            normalise_ids, meta=(kernel.id_column, object)).value_counts()
        kernel = kernel.with_duplicates(counts[counts > 1].index.compute())
    if kernel.careless:
        parts = dask.compute(*[dask.delayed(kernel.item_moments)(p)
                               for p in data.to_delayed()])
        kernel = kernel.with_moments(functools.reduce(lambda a, b: a.merge(b), parts))
    return kernel


def _offsets(data: Any) -> list[int]:
    """Row offset of each partition (a pass over the partitions' lengths)."""
    lengths = data.map_partitions(len).compute()
    out, total = [], 0
    for n in lengths:
        out.append(total)
        total += int(n)
    return out


def screen_dask(
    data: Any,
    instruments: Sequence[str | Path | Instrument],
    *,
    id_column: str | None = None,
    columns: Mapping[str, str] | None = None,
    policy: Any = "default",
    missing_codes: Sequence[float] = (),
    lang: str = "zh",
    norms: Sequence[Any] = (),
    group_columns: Mapping[str, str] | None = None,
    careless: bool | Mapping[str, float | None] = False,
    time_column: str | None = None,
    answer_values: str | Mapping[str, str] | None = None,
) -> ScreeningResult:
    """:func:`xinli_screen.screen` of a dask DataFrame, partition by partition.

    Parameters
    ----------
    data : dask.dataframe.DataFrame, shape (n_rows, n_columns)
        Rows in partition order are the input order.
    instruments, id_column, columns, policy, missing_codes, lang, norms, group_columns,
    careless, time_column, answer_values
        As :func:`xinli_screen.screen`; ``careless`` costs one more pass (item moments).

    Returns
    -------
    ScreeningResult
        pandas tables, one row per input row in order; equal to the pandas path.

    Raises
    ------
    As :func:`xinli_screen.screen`.
    """
    import dask

    kernel = _prepared(BatchKernel.bind(
        instruments, policy, norms, id_column=id_column, columns=columns,
        missing_codes=missing_codes, lang=lang,  # type: ignore[arg-type]
        group_columns=group_columns, careless=careless, time_column=time_column,
        answer_values=answer_values), data)
    tasks = [dask.delayed(kernel.run)(part, offset)
             for part, offset in zip(data.to_delayed(), _offsets(data), strict=True)]
    outs: list[KernelOutput] = list(dask.compute(*tasks))
    provenance = dict(outs[0].provenance)
    rows = sum(len(o.table) for o in outs)
    provenance.update({"rows_in": rows, "rows_out": rows, "dask": {"partitions": len(outs)}})
    return ScreeningResult(table=pd.concat([o.table for o in outs], ignore_index=True),
                           failures=pd.concat([o.failures for o in outs], ignore_index=True),
                           reasons=pd.concat([o.reasons for o in outs], ignore_index=True),
                           provenance=provenance)


def _write_part(kernel: BatchKernel, part: pd.DataFrame, offset: int, index: int,
                plan: Any, output: str, failures: str | None, suffix: str
                ) -> tuple[BatchStats, dict[str, Any]]:
    """On a worker: screen one partition and write its result (and failures) files; returns
    the partition's statistics and provenance."""
    from xinli_screen.io.source import apply_plan
    from xinli_screen.io.stream import ChunkWriter

    out = kernel.run(apply_plan(part.reset_index(drop=True), plan), offset)
    name = f"part-{index:05d}{suffix}"
    writer = ChunkWriter(Path(output) / name, bom=False)
    writer.write_table(out.table)
    writer.close()
    if failures is not None:
        _write_failures(out.failures, Path(failures) / name)
    return out.stats, out.provenance


def _write_failures(frame: pd.DataFrame, path: Path) -> None:
    """A failures part: CSV as the streamed run writes it, or Parquet (owner-only file,
    renamed into place when complete)."""
    from xinli_screen.io.stream import ChunkWriter

    if path.suffix == ".csv":
        writer = ChunkWriter(path, bom=False)
        writer.write_table(frame)
        writer.close()
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = path.with_name(path.name + ".partial")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
    os.replace(tmp, path)


def _read(source: str | Sequence[str], blocksize: int | str | None = "64MiB") -> Any:
    """A dask DataFrame over Parquet or CSV files (CSV: every column text, only empty cells
    missing, as :func:`xinli_screen.io.read_table`)."""
    import dask.dataframe as dd

    first = str(source if isinstance(source, str) else source[0])
    if first.lower().endswith(".parquet") or first.rstrip("/").lower().endswith("parquet"):
        return dd.read_parquet(source, blocksize=blocksize if blocksize is not None
                               else "default")
    return dd.read_csv(source, dtype=str, keep_default_na=False, na_values=[""],
                       encoding="utf-8-sig", blocksize=blocksize)


def screen_files(
    source: str | Sequence[str],
    instruments: Sequence[str | Path | Instrument],
    output: str | Path,
    *,
    failures: str | Path | None = None,
    suffix: str = ".parquet",
    id_column: str | None = None,
    columns: Mapping[str, str] | None = None,
    policy: Any = "default",
    missing_codes: Sequence[float] = (),
    lang: str = "zh",
    norms: Sequence[Any] = (),
    group_columns: Mapping[str, str] | None = None,
    careless: bool | Mapping[str, float | None] = False,
    time_column: str | None = None,
    answer_values: str | Mapping[str, str] | None = None,
    blocksize: int | str | None = "64MiB",
) -> dict[str, Any]:
    """Screen Parquet or CSV files where they are: workers read, screen and write.

    Parameters
    ----------
    source : str or sequence of str
        Paths or glob patterns readable by every worker (``/data/wave/*.parquet``,
        ``s3://bucket/wave/*.csv``); ``.parquet`` files or a Parquet folder, else CSV
        (UTF-8; every column as text).
    instruments, id_column, columns, policy, missing_codes, lang, norms, group_columns,
    careless, time_column, answer_values
        As :func:`xinli_screen.screen` (the input plan, e.g. for a 问卷星 export, is made
        from the first partition on the client and applied on the workers).
    output : str or Path
        Folder (created) for the result parts ``part-00000.parquet`` ... in input order.
    failures : str or Path, optional
        Folder for the failures parts (global ``row``/``file_row``).
    suffix : {".parquet", ".csv"}
        Format of the parts.
    blocksize : int or str, optional
        Partition size (dask ``read_csv``/``read_parquet`` ``blocksize``; CSV default
        64 MiB). A CSV is cut into partitions at line ends found by bytes, so a file whose
        answers hold line breaks inside quotes must be read with ``blocksize=None`` (one
        partition per file).

    Returns
    -------
    dict
        ``summary`` (as :meth:`ScreeningResult.summary`, merged over partitions),
        ``provenance`` (also written as ``output/provenance.json``) and ``partitions``.

    Raises
    ------
    ValueError
        ``suffix`` is not ``.parquet`` or ``.csv``.
    ResponseDataError
        As :func:`xinli_screen.screen` (raised on the worker that meets the problem).
    """
    import dask

    from xinli_screen.instrument.registry import load_instrument
    from xinli_screen.io.column_map import ColumnMap
    from xinli_screen.io.source import plan_input

    if suffix not in (".parquet", ".csv"):
        raise ValueError(f"suffix must be '.parquet' or '.csv', not {suffix!r}")
    data = _read(source, blocksize)
    insts = [i if isinstance(i, Instrument) else load_instrument(i) for i in instruments]
    plan = plan_input(data.partitions[0].compute(), {"format": "dask"}, insts,
                      column_map=ColumnMap(columns=dict(columns or {})), id_column=id_column,
                      missing_codes=missing_codes)
    kernel = _prepared(BatchKernel.bind(
        instruments, policy, norms, id_column=plan.id_column, columns=plan.columns or None,
        missing_codes=plan.missing_codes, lang=lang,  # type: ignore[arg-type]
        group_columns=group_columns, careless=careless, time_column=time_column,
        answer_values=answer_values), data)
    for folder in (output, failures):
        if folder is not None:
            Path(folder).mkdir(parents=True, exist_ok=True)
    tasks = [dask.delayed(_write_part)(kernel, part, offset, i, plan, str(output),
                                       None if failures is None else str(failures), suffix)
             for i, (part, offset) in enumerate(zip(data.to_delayed(), _offsets(data),
                                                    strict=True))]
    done: list[tuple[BatchStats, dict[str, Any]]] = list(dask.compute(*tasks))
    merged = functools.reduce(lambda a, b: a.merge(b), (s for s, _ in done))
    provenance = {**done[0][1], "rows_in": merged.summary["rows"],
                  "rows_out": merged.summary["rows"], "input": plan.provenance,
                  "dask": {"partitions": len(done)}}
    (Path(output) / "provenance.json").write_text(
        json.dumps(provenance, ensure_ascii=False, indent=2), encoding="utf-8")
    return {"summary": merged.summary, "provenance": provenance, "partitions": len(done)}
