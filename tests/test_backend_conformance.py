"""Every backend of the batch kernel gives the same result as the in-memory run, exactly.

One fixture holds what could differ between a batch and the whole input: four instruments
(PHQ-9 and SDS with their critical items, GAD-7, RSES and SDS with reverse keys and codes
1-4), missing answers, option text, codes outside the scale and
text that is no answer, ids with leading zeros, missing ids, and ids repeated far apart (in
other chunks and partitions). The in-memory result (:func:`xinli_screen.screen` of the file
read by :func:`xinli_screen.io.read_table`) is the reference; the streamed adapter (chunks of
1, 97 and 4,096 rows, Parquet and CSV), the kernel on Arrow record batches, and the Dask
adapter on a LocalCluster (a dask DataFrame, and files read and written by the workers), and
the Spark adapter in local mode (``local[2]``; skipped, saying why, without pyspark or Java)
must give equal tables, failures and reasons (``assert_frame_equal`` with exact values and
dtypes; the written Parquet read back where workers wrote it; Spark's output collected,
sorted by ``row`` and written to Parquet and CSV byte for byte as the in-memory result).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from spark_local import local_session

import xinli_screen as xs
from xinli_screen.backends.kernel import BatchKernel, merge_summaries
from xinli_screen.backends.streamed import screen_stream
from xinli_screen.instrument.registry import load_instrument
from xinli_screen.io import read_table
from xinli_screen.io.stream import ChunkWriter
from xinli_screen.responses import normalise_ids

INSTRUMENTS = ["phq9", "gad7", "rses", "sds"]
N = 150
#: Options as the code, as option text, blank, out of range or not an answer.
ARGS = {"id_column": "sid", "answer_values": "code", "lang": "en"}


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(17)
    messy = rng.random(N) < 0.3  # the rows with unanswered, out-of-range or non-answers
    cells: dict[str, np.ndarray] = {}
    for name in INSTRUMENTS:
        inst = load_instrument(name)
        lo, hi = inst.item_bounds
        for j, item in enumerate(inst.item_ids):
            codes = rng.integers(int(lo[j]), int(hi[j]) + 1, N)
            col = codes.astype(str).astype(object)
            u = np.where(messy, rng.random(N), 1.0)
            col[u < 0.04] = None  # unanswered
            col[(u >= 0.04) & (u < 0.05)] = str(int(hi[j]) + 5)  # outside the scale
            col[(u >= 0.05) & (u < 0.055)] = "不知道"  # not an answer
            cells[item] = col
    ids = np.array([f"{i:06d}" for i in range(N)], dtype=object)
    ids[[3, 100, 145]] = "000003"  # one id on three rows, in other chunks and partitions
    ids[[40, 120]] = "000040"
    ids[[77, 149]] = None  # missing ids
    frame = pd.DataFrame({"sid": ids, "school": np.where(np.arange(N) % 2, "甲", "乙"),
                          **cells})
    frame.loc[[5, 6, 90], "phq9_09"] = "3"  # the critical item answered
    frame.loc[[8], "phq9_09"] = None
    return frame


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("conformance")
    frame = _frame()
    csv = folder / "answers.csv"
    frame.to_csv(csv, index=False, encoding="utf-8")
    parquet = folder / "answers.parquet"  # every column text, as the CSV is read
    pq.write_table(pa.Table.from_pandas(read_table(csv)[0], preserve_index=False), parquet,
                   row_group_size=64)
    return {"csv": csv, "parquet": parquet, "folder": folder}


@pytest.fixture(scope="module")
def expected(files) -> xs.ScreeningResult:
    return xs.screen(read_table(files["csv"])[0], INSTRUMENTS, **ARGS)


def _same(table: pd.DataFrame, failures: pd.DataFrame, reasons: pd.DataFrame,
          expected: xs.ScreeningResult) -> None:
    pd.testing.assert_frame_equal(table.reset_index(drop=True), expected.table,
                                  check_exact=True)
    pd.testing.assert_frame_equal(failures.reset_index(drop=True), expected.failures,
                                  check_exact=True)
    pd.testing.assert_frame_equal(reasons.reset_index(drop=True), expected.reasons,
                                  check_exact=True)


def test_the_fixture_has_what_could_differ(expected):
    status = expected.table["status"].value_counts()
    assert {"duplicate_id", "missing_id", "invalid", "scored", "incomplete"} <= set(
        status.index)
    assert (expected.table["critical_items"] != "").sum() >= 3
    codes = set(expected.failures["code"])
    assert {"duplicate-id", "missing-id"} <= codes and len(expected.reasons) > N


@pytest.mark.parametrize(("fmt", "chunk"), [("parquet", 1), ("parquet", 97),
                                            ("parquet", 4096), ("csv", 97), ("csv", 4096)])
def test_streamed_equals_in_memory(files, expected, fmt, chunk):
    tables, failures, reasons = [], [], []

    def keep(result: xs.ScreeningResult, offset: int) -> None:
        tables.append(result.table)
        failures.append(result.failures)
        reasons.append(result.reasons)

    outcome = screen_stream(files[fmt], INSTRUMENTS, chunk_rows=chunk, on_chunk=keep,
                            id_column="sid", answer_values="code", lang="en")
    if chunk == 1:
        assert outcome.chunks == N
    _same(pd.concat(tables, ignore_index=True), pd.concat(failures, ignore_index=True),
          pd.concat(reasons, ignore_index=True), expected)
    assert outcome.summary == merge_summaries([expected.summary()])


def test_kernel_on_arrow_record_batches(files, expected):
    """The kernel run on Arrow record batches (as Spark's mapInArrow hands them) with the
    duplicate ids bound; merged batch statistics equal the in-memory summary."""
    kernel = BatchKernel.bind(INSTRUMENTS, "default", id_column="sid",
                              answer_values="code", lang="en")
    ids = normalise_ids(read_table(files["csv"])[0]["sid"])
    kernel = kernel.with_duplicates(set(ids[ids.duplicated(keep=False) & ids.notna()]))
    outs, offset = [], 0
    for batch in pq.ParquetFile(files["parquet"]).iter_batches(batch_size=50):
        outs.append(kernel.run(batch, offset))
        offset += batch.num_rows
    _same(*(pd.concat([getattr(o, name) for o in outs], ignore_index=True)
            for name in ("table", "failures", "reasons")), expected)
    stats = outs[0].stats
    for out in outs[1:]:
        stats = stats.merge(out.stats)
    assert stats.summary == merge_summaries([expected.summary()])


def _written_file(table: pd.DataFrame, path: Path) -> Path:
    """``table`` written as the workers and the streamed path write it (ChunkWriter)."""
    writer = ChunkWriter(path, bom=False)
    writer.write_table(table)
    writer.close()
    return path


def _written(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``table`` as the workers write it (ChunkWriter), read back."""
    return pd.read_parquet(_written_file(table, path))


def test_dask_equals_in_memory(files, expected):
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("dask.distributed")
    from xinli_screen.backends.dask import screen_files

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    with distributed.Client(cluster):
        frame = read_table(files["csv"])[0]
        got = xs.screen(dd.from_pandas(frame, npartitions=3), INSTRUMENTS, **ARGS)
        _same(got.table, got.failures, got.reasons, expected)
        out, fails = files["folder"] / "dask_out", files["folder"] / "dask_failures"
        done = screen_files(str(files["parquet"]), INSTRUMENTS, out, failures=fails,
                            blocksize=None, **ARGS)
    cluster.close()
    assert done["summary"] == merge_summaries([expected.summary()])
    parts = sorted(out.glob("part-*.parquet"))
    assert len(parts) == done["partitions"]
    written = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(
        written, _written(expected.table, files["folder"] / "mem.parquet"), check_exact=True)
    failures = pd.concat([pd.read_parquet(p) for p in sorted(fails.glob("part-*"))],
                         ignore_index=True)
    pd.testing.assert_frame_equal(failures, expected.failures, check_exact=True)


@pytest.mark.parametrize(("kind", "rows"), [("pandas", 97), ("pandas", 4096), ("arrow", 37)])
def test_in_memory_batches_equal_one_batch(files, expected, kind, rows):
    from xinli_screen.backends.memory import screen_batches

    frame = read_table(files["csv"])[0]
    data = frame if kind == "pandas" else pa.Table.from_pandas(frame, preserve_index=False)
    got, stats = screen_batches(data, INSTRUMENTS, batch_rows=rows, **ARGS)
    _same(got.table, got.failures, got.reasons, expected)
    assert stats.summary == merge_summaries([expected.summary()])


@pytest.fixture(scope="module")
def spark():
    session = local_session("xinli-screen-conformance", files__maxPartitionBytes="16k",
                            execution__arrow__maxRecordsPerBatch="41")
    yield session
    session.stop()


def _collected(sdf, like: pd.DataFrame) -> pd.DataFrame:
    """A Spark result DataFrame in pandas, in ``row`` order, with the dtypes of ``like``
    (Spark has no categorical or nullable-integer type; a value that does not fit fails)."""
    frame = sdf.toArrow().to_pandas() if hasattr(sdf, "toArrow") else sdf.toPandas()
    frame = frame.sort_values("row", kind="stable").reset_index(drop=True)
    return frame.astype(dict(like.dtypes))


@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_spark_equals_in_memory(files, expected, spark):
    from xinli_screen.backends.spark import screen as spark_screen

    sdf = spark.read.parquet(str(files["parquet"]))
    assert sdf.rdd.getNumPartitions() >= 2
    got = spark_screen(sdf, INSTRUMENTS, batch_rows=29, **ARGS)
    try:
        table = _collected(got.table, expected.table.assign(row=0))
        assert table["row"].tolist() == list(range(N))
        table = table.drop(columns="row")
        _same(table, _collected(got.failures, expected.failures),
              _collected(got.reasons, expected.reasons), expected)
        assert got.summary() == merge_summaries([expected.summary()])
    finally:
        got.unpersist()
    folder = files["folder"]
    for suffix in (".parquet", ".csv"):
        mine = _written_file(expected.table, folder / f"mem_table{suffix}")
        theirs = _written_file(table, folder / f"spark_table{suffix}")
        assert theirs.read_bytes() == mine.read_bytes(), suffix
