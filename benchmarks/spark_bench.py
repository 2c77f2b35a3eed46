"""Spark local[2] against the pandas path on 10^6 x 100 (run on demand; never a unit test).

Usage::

    python benchmarks/spark_bench.py                      # n = 10^6, 100 items, 10 scales
    python benchmarks/spark_bench.py --n 100000 --out benchmarks/spark_results.json

The synthetic data of ``benchmarks/synthetic.py`` (100 items coded 0-4, 1% missing, reverse
keys, a policy using every scale) is written once to Parquet. Then, in this one process:

* **pandas**: ``pyarrow.parquet.read_table(...).to_pandas()`` (the read floor) and
  ``xs.screen`` of that frame;
* **Spark floor**: ``spark.read.parquet`` with an identity ``mapInArrow`` (every column
  shipped to Python and back, nothing computed), counted: what any Python-in-Spark step costs;
* **Spark**: :func:`xinli_screen.backends.spark.screen` until its output is computed and cached
  (row counts, duplicate-id pass, the screening map), then the summary (merged batch counts);
* the equality check: the Spark table, failures and reasons collected to the driver, sorted
  by ``row`` and compared with the pandas result column by column (NaN equal to NaN). The
  collection time is reported separately; it is not part of a cluster run.

Prints one JSON object (wall seconds, rows per second, the ratios, ``equal``); nothing is
asserted about time. Spark's own start-up (JVM) is reported apart.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic

import xinli_screen as xs


def _same(a: pd.Series, b: pd.Series) -> bool:
    """Equal values, missing equal to missing (NaN, NA, None), categories as their text."""
    if len(a) != len(b):
        return False
    if pd.api.types.is_float_dtype(a.dtype) and pd.api.types.is_float_dtype(b.dtype):
        return bool(np.array_equal(a.to_numpy(), b.to_numpy(), equal_nan=True))
    left = pa.array(a.astype(object), from_pandas=True)
    right = pa.array(b.astype(object), from_pandas=True)
    return left.equals(right) or left.cast(pa.string()).equals(right.cast(pa.string()))


def _frames_equal(got: pd.DataFrame, want: pd.DataFrame) -> dict[str, Any]:
    """Columns, then every column's values; the names of the columns that differ."""
    if list(got.columns) != list(want.columns):
        return {"equal": False, "columns_differ": True}
    bad = [c for c in want.columns if not _same(got[c].reset_index(drop=True),
                                                want[c].reset_index(drop=True))]
    return {"equal": not bad, "differing_columns": bad}


def _session(cores: int, max_partition_bytes: str) -> Any:
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master(f"local[{cores}]").appName("xinli-screen-bench")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", str(cores))
             .config("spark.sql.execution.arrow.pyspark.enabled", "true")
             .config("spark.sql.files.maxPartitionBytes", max_partition_bytes)
             .config("spark.driver.memory", "6g")
             .config("spark.driver.maxResultSize", "4g")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _identity(batches: Any) -> Any:
    """The Spark floor: every batch to Python and back unchanged."""
    yield from batches


def _collect(sdf: Any) -> pd.DataFrame:
    return sdf.toArrow().to_pandas() if hasattr(sdf, "toArrow") else sdf.toPandas()


def run(n: int, cores: int, batch_rows: int, max_partition_bytes: str) -> dict[str, Any]:
    """One benchmark run; returns the figures (seconds, ratios, equality)."""
    from xinli_screen.backends import spark as xsp

    out: dict[str, Any] = {"n": n, "items": synthetic.N_ITEMS, "cores": cores,
                           "batch_rows": batch_rows, "python": platform.python_version(),
                           "cpu_count": os.cpu_count(), "load_avg_start": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inst, pol = synthetic.write_definitions(folder)
        path = synthetic.write_parquet(folder / "answers.parquet", n)
        out["parquet_mb"] = round(path.stat().st_size / 2**20, 1)

        t = time.perf_counter()
        frame = pq.read_table(path).to_pandas()
        out["pandas_read_s"] = time.perf_counter() - t
        t = time.perf_counter()
        want = xs.screen(frame, [inst], id_column="sid", policy=pol)
        out["pandas_screen_s"] = time.perf_counter() - t
        del frame

        t = time.perf_counter()
        spark = _session(cores, max_partition_bytes)
        out["spark_session_start_s"] = time.perf_counter() - t
        sdf = spark.read.parquet(str(path))
        out["spark_partitions"] = sdf.rdd.getNumPartitions()
        t = time.perf_counter()
        sdf.mapInArrow(_identity, sdf.schema).count()
        out["spark_floor_identity_map_s"] = time.perf_counter() - t

        t = time.perf_counter()
        result = xsp.screen(sdf, [inst], id_column="sid", policy=pol, batch_rows=batch_rows)
        out["spark_bind_and_prepasses_s"] = time.perf_counter() - t
        result._combined.count()  # the screening map, cached
        out["spark_screen_s"] = time.perf_counter() - t
        t = time.perf_counter()
        summary = result.summary()
        out["spark_summary_s"] = time.perf_counter() - t

        t = time.perf_counter()
        table = _collect(result.table).sort_values("row", kind="stable")
        failures = _collect(result.failures).sort_values("row", kind="stable")
        reasons = _collect(result.reasons).sort_values("row", kind="stable")
        out["spark_collect_to_driver_s"] = time.perf_counter() - t
        result.unpersist()
        spark.stop()

    check = {
        "rows_once": bool((table["row"].to_numpy() == np.arange(n)).all()),
        "table": _frames_equal(table.drop(columns="row").reset_index(drop=True), want.table),
        "failures": _frames_equal(failures.reset_index(drop=True), want.failures),
        "reasons": _frames_equal(reasons.reset_index(drop=True), want.reasons),
        "summary": summary == want.summary(),
    }
    out["check"] = check
    out["equal"] = bool(check["rows_once"] and check["summary"] and all(
        check[k]["equal"] for k in ("table", "failures", "reasons")))
    out["spark_over_pandas_screen"] = out["spark_screen_s"] / out["pandas_screen_s"]
    out["spark_over_pandas_read_and_screen"] = out["spark_screen_s"] / (
        out["pandas_read_s"] + out["pandas_screen_s"])
    out["spark_screen_over_spark_floor"] = (out["spark_screen_s"]
                                            / out["spark_floor_identity_map_s"])
    out["load_avg_end"] = os.getloadavg()
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="respondents")
    parser.add_argument("--cores", type=int, default=2, help="Spark local[cores]")
    parser.add_argument("--batch-rows", type=int, default=50_000)
    parser.add_argument("--max-partition-bytes", default="32m",
                        help="spark.sql.files.maxPartitionBytes (input split size)")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    figures = run(args.n, args.cores, args.batch_rows, args.max_partition_bytes)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
