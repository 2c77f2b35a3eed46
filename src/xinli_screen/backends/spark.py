"""Screen a Spark DataFrame: the batch kernel inside ``DataFrame.mapInArrow`` (Spark >= 3.3).

Optional: ``pip install 'xinli-screen[spark]'`` (pyspark) and a Java runtime. The
instruments, the warning policy and the norm tables are loaded, checked and bound once on the
driver (:meth:`xinli_screen.backends.kernel.BatchKernel.bind`); the bound kernel is pickled
into the Arrow function that Spark runs on the executors, so an executor needs the package
installed but never the YAML files. Each executor screens its Arrow record batches with
:meth:`~xinli_screen.backends.kernel.BatchKernel.run`, the same per-batch code as the pandas,
streamed and Dask paths.

What needs more than one batch is settled before the map, as Spark jobs:

* **Row numbers.** ``row`` is the 0-based position of the input row in the DataFrame's
  partition order, the order ``df.toArrow()`` / ``df.toPandas()`` / ``df.collect()`` return
  (for one file, the file's order; Spark orders the splits of several files by size, so pass
  ``order_column`` when the order of a many-file table matters). It is taken
  from :func:`pyspark.sql.functions.monotonically_increasing_id` (partition index in the upper
  31 bits, position in the partition below) and the row count of each partition (one
  aggregation), so no row is moved between executors. With ``order_column``, the rows are
  first sorted by that column (which must be unique) and numbered in that order. The input
  is evaluated more than once (row counts, duplicate ids, the screening), so it must give the
  same rows in the same partitions each time: a table or files do; after a shuffle without a
  total order (``join``, ``groupBy``, ``repartition``) pass ``order_column`` or persist or
  checkpoint the input first. A mismatch between the passes is detected and refused.
* **Duplicate ids.** The id column alone is normalised as the pandas path normalises it
  (:func:`xinli_screen.responses.normalise_ids`, in a small ``mapInArrow``), then grouped and
  counted by Spark; the ids that occur on more than one row are bound into the kernel
  (:meth:`~xinli_screen.backends.kernel.BatchKernel.with_duplicates`), so every copy gets the
  status ``duplicate_id`` and a ``duplicate-id`` failure, as in one pandas run.
* **Careless-responding indices** that need the whole sample (Mahalanobis D², psychometric
  synonyms/antonyms) take two passes: the pairwise item moments of each batch
  (:meth:`~xinli_screen.backends.kernel.BatchKernel.item_moments`) are merged on the driver
  and bound (:meth:`~xinli_screen.backends.kernel.BatchKernel.with_moments`) before the map.
* **The summary** adds up the per-batch counts of the kernel
  (:func:`~xinli_screen.backends.kernel.merge_summaries`).

One ``mapInArrow`` produces the result table with each row's failures and reasons nested in
it; :class:`SparkScreeningResult` exposes three flat DataFrames (``table``, ``failures``,
``reasons``) selected from it, persisted by default so that writing all three runs the
screening once. The output schemas are explicit: built on the driver from a run of the kernel
on an empty batch with the input's columns (:func:`output_schemas`).

Not available here: reading a 问卷星 download directly (prepare it with
:func:`xinli_screen.io.source.apply_plan` or read it with ``xinli-screen score``); warnings
raised on the executors (e.g. a suspected code offset under ``answer_values="code"``) stay in
the executor logs. Code offsets under ``auto`` are judged batch by batch, as in a streamed run.
Decimal columns are cast to double before the map (answer codes in Hive tables often are).

Examples
--------
>>> from xinli_screen.backends.spark import screen  # doctest: +SKIP
>>> result = screen(spark.table("edu.psy_answers"), ["phq9"], id_column="学号")  # doctest: +SKIP
>>> result.table.write.saveAsTable("edu.psy_results")  # doctest: +SKIP
>>> result.summary()["warning_tier"]  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import pickle
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from xinli_screen.backends.kernel import BatchKernel, merge_summaries
from xinli_screen.instrument.models import Instrument
from xinli_screen.norms import NormTable
from xinli_screen.policy.models import Policy
from xinli_screen.policy.reasons import REASON_COLUMNS
from xinli_screen.responses import RESULT_FAILURE_COLUMNS, normalise_ids

__all__ = ["REASON_COLUMNS", "SparkScreeningResult", "output_schemas", "screen"]

#: Rows screened in one kernel call: consecutive Arrow batches of a partition are joined up
#: to this many rows (Spark hands them over in batches of
#: ``spark.sql.execution.arrow.maxRecordsPerBatch``, default 10,000).
DEFAULT_BATCH_ROWS = 50_000

_MID = "__xinli_mid"  # monotonically_increasing_id of the input row
_FAILURES, _REASONS, _SUMMARY = "__xinli_failures", "__xinli_reasons", "__xinli_summary"
_PART_SHIFT = 33  # monotonically_increasing_id: partition index << 33 | position


def _pyspark() -> Any:
    """``pyspark.sql.functions``, or an ImportError naming the extra that installs it."""
    try:
        from pyspark.sql import functions
    except ImportError as exc:  # pragma: no cover - exercised only without pyspark
        raise ImportError("the Spark adapter needs pyspark (and a Java runtime): "
                          "pip install 'xinli-screen[spark]'") from exc
    return functions


def _quoted(name: str) -> str:
    """A column name as a Spark SQL identifier (dots in ``phq9.total`` are not struct access)."""
    return "`" + name.replace("`", "``") + "`"


def _arrow_type(dtype: Any) -> pa.DataType:
    """The Arrow type of a result column of this pandas dtype (categories and text: string)."""
    if pd.api.types.is_bool_dtype(dtype):
        return pa.bool_()
    if pd.api.types.is_integer_dtype(dtype):
        return pa.int64()
    if pd.api.types.is_float_dtype(dtype):
        return pa.float64()
    return pa.string()


def _input_schema(spark_schema: Any) -> pa.Schema:
    """The Arrow schema of an input batch, as far as the kernel's empty run needs it.

    Whole numbers -> int64, other numbers (decimals are cast to double before the map) ->
    float64, booleans -> bool, everything else -> string: only the names and the kind of each
    column matter to the output columns.
    """
    from pyspark.sql.types import BooleanType, IntegralType, NumericType

    def kind(dtype: Any) -> pa.DataType:
        if isinstance(dtype, BooleanType):
            return pa.bool_()
        if isinstance(dtype, IntegralType):
            return pa.int64()
        return pa.float64() if isinstance(dtype, NumericType) else pa.string()

    return pa.schema([pa.field(f.name, kind(f.dataType)) for f in spark_schema.fields])


def _decimals_as_double(data: Any) -> Any:
    """Decimal columns (common in Hive tables) as double: codes are read as numbers."""
    from pyspark.sql.types import DecimalType

    F = _pyspark()
    if not any(isinstance(f.dataType, DecimalType) for f in data.schema.fields):
        return data
    return data.select(*[F.col(_quoted(f.name)).cast("double").alias(f.name)
                         if isinstance(f.dataType, DecimalType) else F.col(_quoted(f.name))
                         for f in data.schema.fields])


def _text_fields(names: Iterable[str], ints: Sequence[str]) -> list[pa.Field]:
    return [pa.field(n, pa.int64() if n in ints else pa.string()) for n in names]


def output_schemas(kernel: BatchKernel, input_schema: pa.Schema,
                   row_column: str = "row") -> tuple[pa.Schema, pa.Schema, pa.Schema]:
    """The Arrow schemas of the result table, failures and reasons for this kernel and input.

    The table's columns and types come from a run of ``kernel`` on an empty batch with the
    input's columns, so they are those of :func:`xinli_screen.screen` on the same input:
    float64 -> double, int64/Int64 -> long, bool/boolean -> boolean, text and the ordered
    ``warning_tier`` categorical -> string; ``row_column`` (long) comes first.

    Parameters
    ----------
    kernel : BatchKernel
        The bound kernel.
    input_schema : pyarrow.Schema
        The input's columns (names and types of an Arrow batch of the input).
    row_column : str, default "row"
        Name of the row-number column of the table.

    Returns
    -------
    (table, failures, reasons) : tuple of pyarrow.Schema
        Failures: :data:`~xinli_screen.responses.RESULT_FAILURE_COLUMNS` (``row``,
        ``file_row`` long, the rest string); reasons: :data:`REASON_COLUMNS`.

    Raises
    ------
    ResponseDataError
        As :meth:`BatchKernel.run` (absent id, mapped, policy or norm-group column ...).
    ValueError
        ``row_column`` is also a result column (e.g. the id column).
    """
    return _schemas(_empty_run(kernel, input_schema).table, row_column)


def _empty_run(kernel: BatchKernel, input_schema: pa.Schema) -> Any:
    """The kernel's output for an empty batch with these columns (checks them, too)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an empty batch: nothing to warn about
        return kernel.run(input_schema.empty_table())


def _schemas(empty: pd.DataFrame, row_column: str) -> tuple[pa.Schema, pa.Schema, pa.Schema]:
    """Table, failures and reasons schemas from the result table of an empty batch."""
    if row_column in empty.columns:
        raise ValueError(f"row_column {row_column!r} is also a result column; choose "
                         "another name")
    table = pa.schema([pa.field(row_column, pa.int64())] + [
        pa.field(str(c), _arrow_type(t)) for c, t in empty.dtypes.items()])
    return (table, pa.schema(_text_fields(RESULT_FAILURE_COLUMNS, ("row", "file_row"))),
            pa.schema(_text_fields(REASON_COLUMNS, ("row",))))


def _column(values: pd.Series, type_: pa.DataType) -> pa.Array:
    """One pandas column as an Arrow array of ``type_`` (NaN and NA become null)."""
    array = pa.array(values, from_pandas=True)  # Arrow-backed text: no copy into Python
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array if array.type == type_ else array.cast(type_)


def _nested(frame: pd.DataFrame, schema: pa.Schema, first: int, n: int) -> pa.Array:
    """Rows of a long table (``row`` global) as one list per result row, order kept."""
    local = frame["row"].to_numpy(dtype=np.int64) - first
    order = np.argsort(local, kind="stable")
    frame = frame.iloc[order]
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(local, minlength=n), out=offsets[1:])
    items = pa.StructArray.from_arrays([_column(frame[f.name], f.type) for f in schema],
                                       fields=list(schema))
    return pa.ListArray.from_arrays(pa.array(offsets), items)


@dataclass(frozen=True)
class _ScreenBatches:
    """The function Spark runs on each partition: Arrow batches in, result batches out."""

    kernel: BatchKernel
    offsets: Mapping[int, int]
    schemas: tuple[pa.Schema, pa.Schema, pa.Schema]
    batch_rows: int

    def _run(self, batches: list[pa.RecordBatch]) -> pa.RecordBatch:
        data = pa.Table.from_batches(batches)
        mid = data.column(_MID).to_numpy()
        part = int(mid[0]) >> _PART_SHIFT
        if part not in self.offsets:
            raise RuntimeError("the input gave other partitions than when its rows were "
                               "counted; persist it or pass order_column")
        first = int(mid[0]) - (part << _PART_SHIFT) + self.offsets[part]
        n = data.num_rows
        if int(mid[-1]) - int(mid[0]) != n - 1:
            raise RuntimeError("rows of one partition are not consecutive")
        out = self.kernel.run(data.drop_columns([_MID]), offset=first)
        table_schema, failure_schema, reason_schema = self.schemas
        arrays = [pa.array(np.arange(first, first + n, dtype=np.int64))]
        arrays += [_column(out.table[f.name], f.type) for f in list(table_schema)[1:]]
        arrays.append(_nested(out.failures, failure_schema, first, n))
        arrays.append(_nested(out.reasons, reason_schema, first, n))
        summary = [None] * n
        summary[0] = pickle.dumps(out.stats.summary)
        arrays.append(pa.array(summary, type=pa.binary()))
        return pa.RecordBatch.from_arrays(arrays, schema=_combined_schema(self.schemas))

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        pending: list[pa.RecordBatch] = []
        rows = 0
        for batch in batches:
            if batch.num_rows:
                pending.append(batch)
                rows += batch.num_rows
            if rows >= self.batch_rows:
                yield self._run(pending)
                pending, rows = [], 0
        if pending:
            yield self._run(pending)


def _combined_schema(schemas: tuple[pa.Schema, pa.Schema, pa.Schema]) -> pa.Schema:
    """The mapInArrow output: table columns, nested failures and reasons, batch summary."""
    table, failures, reasons = schemas
    return pa.schema([*table, pa.field(_FAILURES, pa.list_(pa.struct(list(failures)))),
                      pa.field(_REASONS, pa.list_(pa.struct(list(reasons)))),
                      pa.field(_SUMMARY, pa.binary())])


@dataclass(frozen=True)
class _NormaliseIds:
    """Normalised ids of one column (as the pandas path normalises them), batch by batch."""

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            ids = normalise_ids(batch.column(0).to_pandas())
            yield pa.RecordBatch.from_arrays(
                [pa.array(ids.to_numpy(dtype=object, na_value=None), type=pa.string())],
                names=["id"])


@dataclass(frozen=True)
class _ItemMoments:
    """Pass 1 of the whole-sample careless indices: pickled item moments per batch."""

    kernel: BatchKernel

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows:
                moments = self.kernel.item_moments(batch.drop_columns([_MID]))
                yield pa.RecordBatch.from_arrays([pa.array([pickle.dumps(moments)])],
                                                 names=["moments"])


@dataclass(frozen=True)
class SparkScreeningResult:
    """What :func:`screen` returns: three Spark DataFrames, the provenance and the summary.

    Attributes
    ----------
    table : pyspark.sql.DataFrame, one row per input row
        ``row`` (long, the input position; see the module docstring) followed by the columns
        of :attr:`xinli_screen.ScreeningResult.table` with the same values; ``warning_tier``
        is its text (``none`` ... ``district``), missing values are null. Spark keeps no row
        order: sort by ``row`` where order matters.
    failures : pyspark.sql.DataFrame
        :data:`~xinli_screen.responses.RESULT_FAILURE_COLUMNS`, ``row`` and ``file_row``
        counted over the whole input. Sort by ``row`` where order matters; the failures of
        one row come in the order of the pandas path.
    reasons : pyspark.sql.DataFrame
        :data:`REASON_COLUMNS`, ``row`` global.
    provenance : dict
        As :attr:`xinli_screen.ScreeningResult.provenance`, with ``rows_in``/``rows_out`` of
        the whole input and a ``spark`` entry (partitions, rows per kernel call, row order).
    """

    table: Any
    failures: Any
    reasons: Any
    provenance: dict[str, Any]
    _combined: Any

    def summary(self) -> dict[str, Any]:
        """Counts per status, tier and failure code, merged from every batch.

        Returns
        -------
        dict
            As :meth:`xinli_screen.ScreeningResult.summary` (equal to it for the same input).

        Raises
        ------
        RuntimeError
            The batches do not add up to the input's row count (an input that changed
            between the passes; see the module docstring).
        """
        F = _pyspark()
        blobs = (self._combined.where(F.col(_SUMMARY).isNotNull()).select(_SUMMARY)
                 .toLocalIterator())
        merged = merge_summaries(pickle.loads(r[0]) for r in blobs)
        if merged["rows"] != self.provenance["rows_in"]:
            raise RuntimeError(f"{merged['rows']} result rows for {self.provenance['rows_in']} "
                               "input rows: the input changed between passes; persist it or "
                               "pass order_column")
        return merged

    def unpersist(self) -> None:
        """Release the cached screening output (see ``persist`` of :func:`screen`)."""
        self._combined.unpersist()


def _row_offsets(indexed: Any) -> tuple[dict[int, int], int]:
    """Row number of each partition's first row (partition index -> rows before it), and
    the number of rows."""
    F = _pyspark()
    counts = (indexed.select(F.shiftright(F.col(_MID), _PART_SHIFT).alias("p"))
              .groupBy("p").count().collect())
    offsets, total = {}, 0
    for p, c in sorted((int(r["p"]), int(r["count"])) for r in counts):
        offsets[p] = total
        total += c
    return offsets, total


def _duplicate_ids(data: Any, id_column: str) -> list[str]:
    """Normalised ids on more than one row (computed by Spark; never logged)."""
    F = _pyspark()
    ids = data.select(F.col(_quoted(id_column))).mapInArrow(_NormaliseIds(), "id string")
    repeated = ids.where(F.col("id").isNotNull()).groupBy("id").count().where(
        F.col("count") > 1)
    return [r["id"] for r in repeated.select("id").toLocalIterator()]


def _whole_sample_moments(kernel: BatchKernel, indexed: Any) -> Any:
    """Item moments of the whole input (careless pass 1), merged on the driver."""
    parts = indexed.mapInArrow(_ItemMoments(kernel), "moments binary").toLocalIterator()
    moments = [pickle.loads(r["moments"]) for r in parts]
    return functools.reduce(lambda a, b: a.merge(b), moments) if moments else None


def _refuse_duplicated_order(data: Any, order_column: str) -> None:
    F = _pyspark()
    if data.groupBy(F.col(_quoted(order_column))).count().where(
            F.col("count") > 1).limit(1).count():
        raise ValueError(f"order_column {order_column!r} holds a value on more than one row; "
                         "rows need a unique order")


def screen(
    spark_df: Any,
    instruments: Sequence[str | Path | Instrument],
    *,
    id_column: str | None = None,
    columns: Mapping[str, str] | None = None,
    policy: str | Path | Policy = "default",
    missing_codes: Iterable[float] = (),
    lang: Literal["zh", "en"] = "zh",
    norms: Sequence[str | Path | NormTable] = (),
    group_columns: Mapping[str, str] | None = None,
    careless: bool | Mapping[str, float | None] = False,
    time_column: str | None = None,
    answer_values: str | Mapping[str, str] | None = None,
    order_column: str | None = None,
    row_column: str = "row",
    batch_rows: int = DEFAULT_BATCH_ROWS,
    persist: bool = True,
) -> SparkScreeningResult:
    """:func:`xinli_screen.screen` of a Spark DataFrame, batch by batch on the executors.

    Parameters
    ----------
    spark_df : pyspark.sql.DataFrame, shape (n_rows, n_columns)
        One row per answer sheet, columns as :func:`xinli_screen.screen` takes them (item
        columns named like the item ids or mapped with ``columns``; codes, numeric text or
        option labels).
    instruments, id_column, columns, policy, missing_codes, lang, norms, group_columns,
    careless, time_column, answer_values
        As :func:`xinli_screen.screen` (R has no equivalent). Paths are read on the driver
        only. ``careless`` with whole-sample indices costs one more pass over the input.
    order_column : str, optional
        Number the rows in ascending order of this column (unique values) instead of the
        DataFrame's partition order.
    row_column : str, default "row"
        Name of the row-number column of ``table``.
    batch_rows : int, default 50,000
        Rows per kernel call (consecutive Arrow batches of a partition are joined up to
        this; memory per executor task grows with it).
    persist : bool, default True
        Cache the screening output (memory and disk) so that ``table``, ``failures``,
        ``reasons`` and :meth:`SparkScreeningResult.summary` run the screening once.

    Returns
    -------
    SparkScreeningResult
        Lazy Spark DataFrames; equal to :func:`xinli_screen.screen` of the same rows in
        pandas (row for row after sorting by ``row``, value for value, missing as null).

    Raises
    ------
    ImportError
        pyspark is not installed.
    TypeError
        ``spark_df`` is not a Spark DataFrame with ``mapInArrow``.
    ValueError
        ``batch_rows`` < 1, ``row_column`` clashes with a result column, ``order_column``
        is absent or not unique, or as :meth:`BatchKernel.bind`.
    FileNotFoundError, InstrumentDefinitionError, PolicyDefinitionError,
    NormDefinitionError, NormMismatchError, ResponseDataError
        As :func:`xinli_screen.screen`, raised on the driver before any job runs (those that
        depend on cell values, e.g. a code offset under ``auto``, fail the Spark job).
    """
    F = _pyspark()
    from pyspark.sql.pandas.types import from_arrow_schema

    if not hasattr(spark_df, "mapInArrow"):
        raise TypeError(f"expected a Spark DataFrame (Spark >= 3.3), not "
                        f"{type(spark_df).__name__}; screen a pandas table with xs.screen")
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    kernel = BatchKernel.bind(instruments, policy, norms, id_column=id_column,
                              columns=columns, missing_codes=missing_codes, lang=lang,
                              group_columns=group_columns, careless=careless,
                              time_column=time_column, answer_values=answer_values)
    data = _decimals_as_double(spark_df)
    empty = _empty_run(kernel, _input_schema(data.schema))
    schemas = _schemas(empty.table, row_column)
    if order_column is not None:
        if order_column not in data.columns:
            raise ValueError(f"order_column {order_column!r} is not in the input")
        _refuse_duplicated_order(data, order_column)
        data = data.orderBy(F.col(_quoted(order_column)).asc_nulls_first())
    indexed = data.withColumn(_MID, F.monotonically_increasing_id())
    if order_column is not None:  # a sort's partitions may differ between jobs: fix them
        indexed = indexed.localCheckpoint(eager=True)
    offsets, n = _row_offsets(indexed)
    if id_column is not None:
        kernel = kernel.with_duplicates(_duplicate_ids(data, id_column))
    if careless:
        kernel = kernel.with_moments(_whole_sample_moments(kernel, indexed))
    combined = indexed.mapInArrow(_ScreenBatches(kernel, offsets, schemas, batch_rows),
                                  from_arrow_schema(_combined_schema(schemas)))
    if persist:
        from pyspark import StorageLevel

        combined = combined.persist(StorageLevel.MEMORY_AND_DISK)
    table_schema, failure_schema, reason_schema = schemas
    table = combined.select(*[F.col(_quoted(f.name)) for f in table_schema])

    def flat(column: str, schema: pa.Schema) -> Any:
        exploded = combined.select(F.explode(F.col(column)).alias("x"))
        return exploded.select(*[F.col("x")[f.name].alias(f.name) for f in schema])

    provenance = empty.provenance
    provenance.update({"rows_in": n, "rows_out": n, "spark": {
        "nonempty_partitions": len(offsets), "batch_rows": batch_rows,
        "row_order": f"ascending {order_column}" if order_column else "partition order",
        "duplicate_ids": len(kernel.duplicates)}})
    return SparkScreeningResult(table=table, failures=flat(_FAILURES, failure_schema),
                                reasons=flat(_REASONS, reason_schema), provenance=provenance,
                                _combined=combined)
