"""Where the batch kernel runs: in memory, in chunks, on Dask or Spark.

:mod:`xinli_screen.backends.kernel` holds the one batch kernel; every other module here is a
thin adapter around it:

============================  =================================================================
module                        runs the kernel on
============================  =================================================================
:mod:`.memory`                an in-memory Arrow table or DataFrame, batch by batch
:mod:`.streamed`              the chunks of a CSV or Parquet file larger than memory
:mod:`.dask`                  the partitions of a dask DataFrame or of files read by the workers
:mod:`.spark`                 Spark DataFrames (``mapInArrow``)
============================  =================================================================

:func:`xinli_screen.screen` imports no adapter. A frame of another engine (a dask DataFrame
or a Spark DataFrame) is handed to the adapter registered for the engine's top-level package
name (:func:`adapter_for`), imported only then; an adapter module registers itself with
:func:`register_adapter` or is named in :data:`ADAPTERS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from xinli_screen.backends.kernel import BatchKernel, BatchStats, KernelOutput

__all__ = ["ADAPTERS", "BatchKernel", "BatchStats", "KernelOutput", "adapter_for",
           "register_adapter"]

#: Engine package (the top-level module of a frame's type) -> "module:function" that screens
#: such a frame with the arguments of :func:`xinli_screen.screen`.
#: A dask DataFrame gives a pandas :class:`~xinli_screen.ScreeningResult`; a Spark DataFrame a
#: lazy :class:`~xinli_screen.backends.spark.SparkScreeningResult`.
ADAPTERS: dict[str, str] = {"dask": "xinli_screen.backends.dask:screen_dask",
                            "pyspark": "xinli_screen.backends.spark:screen"}


def register_adapter(engine: str, target: str) -> None:
    """Screen frames of ``engine`` (top-level package name) with ``target``
    (``"package.module:function"``, imported on first use)."""
    if ":" not in target:
        raise ValueError(f"an adapter is named 'module:function', not {target!r}")
    ADAPTERS[engine] = target


def adapter_for(data: Any) -> Callable[..., Any] | None:
    """The screening function registered for ``data``'s engine, or None (pandas, Arrow).

    Parameters
    ----------
    data : object
        A table; its type's top-level package (``dask`` for a dask DataFrame, ``pyspark``
        for a Spark DataFrame) is looked up in :data:`ADAPTERS` without importing that
        package.

    Returns
    -------
    callable or None
    """
    engine = type(data).__module__.split(".")[0]
    target = ADAPTERS.get(engine)
    if target is None:
        return None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
