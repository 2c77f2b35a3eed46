"""Screen a dask DataFrame on a dask.distributed cluster (optional: ``pip install
'xinli-screen[dask]'``).

Each partition is screened on a worker with :func:`xinli_screen.pipeline.screen_with_responses`;
the client gathers the partition results in order, makes the failure and reason row numbers
global, and marks ids repeated across partitions as duplicates (the id column is gathered once
to find them), so the result equals the pandas path row for row. Careless-responding checks
that need the whole sample (Mahalanobis distance) are not available here.

Running on an existing cluster: start a scheduler and workers where xinli-screen (same
version) is installed (``dask scheduler`` / ``dask worker tcp://HOST:8786``), then
``xinli-screen score FILE -i phq9 --scheduler tcp://HOST:8786 -o out.parquet`` or, in Python,
``Client("tcp://HOST:8786")`` followed by ``xs.screen(dd.read_parquet(...), ["phq9"])``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xinli_screen.instrument.models import Instrument
from xinli_screen.responses import normalise_ids
from xinli_screen.result import ScreeningResult

__all__ = ["connect", "screen_dask", "to_dask"]

_CLIENTS: list[Any] = []


def connect(scheduler: str) -> Any:
    """A dask.distributed Client: ``"local"`` starts a LocalCluster (one worker process per
    core, one thread each); anything else is a scheduler address (``tcp://host:8786``)."""
    from dask.distributed import Client, LocalCluster

    if scheduler == "local":
        import os

        cluster = LocalCluster(n_workers=max(1, min(os.cpu_count() or 1, 8)),
                               threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    _CLIENTS.append(client)
    return client


def to_dask(frame: pd.DataFrame, npartitions: int | None = None) -> Any:
    """A pandas table as a dask DataFrame (default: one partition per worker core)."""
    import dask.dataframe as dd

    if npartitions is None:
        try:
            from dask.distributed import default_client

            npartitions = max(1, sum(default_client().nthreads().values()))
        except ValueError:
            npartitions = 1
    return dd.from_pandas(frame, npartitions=max(1, min(npartitions, max(len(frame), 1))))


def _screen_part(part: pd.DataFrame, instruments: Sequence[Any], kwargs: dict[str, Any]
                 ) -> ScreeningResult:
    from xinli_screen.pipeline import screen_with_responses

    return screen_with_responses(part.reset_index(drop=True), instruments, **kwargs)[0]


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
    careless: Any = False,
    time_column: str | None = None,
) -> ScreeningResult:
    """:func:`xinli_screen.screen` of a dask DataFrame, partition by partition.

    Parameters
    ----------
    data : dask.dataframe.DataFrame, shape (n_rows, n_columns)
        Rows in partition order are the input order.
    instruments, id_column, columns, policy, missing_codes, lang, norms, group_columns,
    time_column
        As :func:`xinli_screen.screen`.
    careless : False
        Whole-sample careless checks are not available on partitions.

    Returns
    -------
    ScreeningResult
        pandas tables, one row per input row in order; equal to the pandas path.

    Raises
    ------
    ValueError
        ``careless`` was requested.
    """
    import dask

    from xinli_screen.streaming import _mark_duplicates

    if careless:
        raise ValueError("careless-responding checks need the whole sample; screen a pandas "
                         "DataFrame for them")
    kwargs = {"id_column": id_column, "columns": dict(columns) if columns else None,
              "policy": policy, "missing_codes": tuple(missing_codes), "lang": lang,
              "norms": tuple(norms), "group_columns": dict(group_columns) if group_columns
              else None, "time_column": time_column}
    names = list(instruments)  # ids or paths (reachable from the workers) or models
    parts = data.to_delayed()
    tasks = [dask.delayed(_screen_part)(p, names, kwargs) for p in parts]
    dups: set[str] = set()
    if id_column is not None:
        ids = normalise_ids(data[id_column].compute().reset_index(drop=True))
        dups = set(ids[ids.duplicated(keep=False) & ids.notna()])
    results: list[ScreeningResult] = list(dask.compute(*tasks))
    tables, failures, reasons = [], [], []
    offset = 0
    for res in results:
        if dups and id_column is not None:
            _mark_duplicates(res, id_column, dups)
        res.failures["row"] += offset
        if len(res.reasons):
            res.reasons["row"] += offset
        tables.append(res.table)
        failures.append(res.failures)
        reasons.append(res.reasons)
        offset += len(res.table)
    table = pd.concat(tables, ignore_index=True)
    provenance = dict(results[0].provenance)
    provenance.update({"rows_in": offset, "rows_out": offset,
                       "dask": {"partitions": len(results)}})
    return ScreeningResult(table=table,
                           failures=pd.concat(failures, ignore_index=True),
                           reasons=pd.concat(reasons, ignore_index=True),
                           provenance=provenance)
