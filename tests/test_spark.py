"""Spark adapter: ``xinli_screen.backends.spark.screen`` in local mode (local[2]) equals
``xs.screen`` of the same rows in pandas, row for row and value for value.

The oracle is the pandas path on the same frame; the 10^5-row fixture has three instruments
(PHQ-9 with option labels and its critical item, GAD-7, MHT with its lie scale and two critical
items), missing answers, blank sheets, invalid codes (out of range, not a whole number,
unrecognised text), missing ids and ids repeated within and across partitions. Skips, saying
why, when pyspark or a Java runtime is absent; ``.ci/run`` installs both.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from spark_local import local_session

import xinli_screen as xs
from xinli_screen.errors import ResponseDataError

pytest.importorskip("pyspark", reason="pyspark is not installed: pip install '.[spark]'")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("no Java runtime (apt-get install openjdk-17-jre-headless)",
                allow_module_level=True)

from pyspark.sql import SparkSession
from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

from xinli_screen.backends import spark as xsp
from xinli_screen.backends.kernel import BatchKernel

# pyspark's own notice about pandas 3 (its pandas conversions are not used here: Arrow only)
pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas:FutureWarning")

INSTRUMENTS = ["phq9", "gad7", "mht"]
N = 100_000
_PHQ_LABELS = np.array(["完全不会", "好几天", "一半以上的天数", "几乎每天"], dtype=object)


def _frame(n: int, seed: int = 17) -> pd.DataFrame:
    """Answer sheets with every kind of problem the pandas path handles (vectorised)."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("S", np.char.zfill(np.arange(n).astype(str), 6)).astype(object)
    copies = rng.choice(n, size=2 * max(n // 1000, 2), replace=False)
    half = len(copies) // 2
    ids[copies[half:]] = ids[copies[:half]]  # repeats, mostly in another partition
    ids[1], ids[2] = ids[0], " " + str(ids[0]) + " "  # within one batch; normalised alike
    ids[rng.random(n) < 0.001] = None
    blank = rng.random(n) < 0.001  # sheets with no answer at all
    cells: dict[str, np.ndarray] = {"学号": ids}
    for k in range(1, 10):
        codes = rng.integers(0, 4, n)
        col = codes.astype(str).astype(object)
        text = rng.random(n) < 0.2
        col[text] = _PHQ_LABELS[codes[text]]
        col[(rng.random(n) < 0.03) | blank] = None
        bad = rng.random(n)
        col[bad < 0.002] = "9"
        col[(bad >= 0.002) & (bad < 0.003)] = "有时"
        cells[f"phq9_{k:02d}"] = col
    cells["phq9_10"] = np.where(blank, np.nan, rng.integers(0, 4, n).astype(float))
    for k in range(1, 8):
        v = rng.integers(0, 4, n).astype(float)
        v[(rng.random(n) < 0.02) | blank] = np.nan
        v[rng.random(n) < 0.001] = 1.5
        cells[f"gad7_{k:02d}"] = v
    for k in range(1, 101):
        v = (rng.random(n) < 0.1 + 0.003 * k).astype(float)
        v[(rng.random(n) < 0.002) | blank] = np.nan
        v[rng.random(n) < 0.0005] = 3.0
        cells[f"mht_{k:03d}"] = v
    return pd.DataFrame(cells)


def _arrow(frame: pd.DataFrame) -> pa.Table:
    """The input as Arrow with text columns as plain strings (what a Hive table holds)."""
    return pa.Table.from_pandas(frame, preserve_index=False)


def _parquet(session: SparkSession, frame: pd.DataFrame, path: Path, groups: int = 4):
    """``frame`` as a one-file Parquet table read by Spark, several partitions in file order
    (row groups split by ``spark.sql.files.maxPartitionBytes``), as a Hive table is read."""
    pq.write_table(_arrow(frame), path, row_group_size=max(1, -(-len(frame) // groups)))
    return session.read.parquet(str(path))


def _collect(sdf) -> pd.DataFrame:
    return sdf.toArrow().to_pandas() if hasattr(sdf, "toArrow") else sdf.toPandas()


def _plain(frame: pd.DataFrame) -> list[list[object]]:
    """Rows as Python values with every missing value (NaN, NA, None) as None."""
    cols = [frame[c].astype(object) for c in frame.columns]
    return [[None if pd.isna(v) else v for v in col] for col in cols]


@pytest.fixture(scope="module")
def session():
    spark = local_session("xinli-screen-tests", execution__arrow__pyspark__enabled="true",
                          files__maxPartitionBytes="1m",
                          execution__arrow__maxRecordsPerBatch="1000")
    yield spark
    spark.stop()


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _frame(N)


@pytest.fixture(scope="module")
def expected(frame):
    return xs.screen(frame, INSTRUMENTS, id_column="学号")


@pytest.fixture(scope="module")
def got(session, frame, tmp_path_factory):
    sdf = _parquet(session, frame, tmp_path_factory.mktemp("spark") / "answers.parquet")
    assert sdf.rdd.getNumPartitions() >= 2
    result = xsp.screen(sdf, INSTRUMENTS, id_column="学号", batch_rows=9_973)
    yield result, _collect(result.table), _collect(result.failures), _collect(result.reasons)
    result.unpersist()


def test_fixture_has_every_status_and_failure(expected):
    counts = expected.summary()
    assert all(v > 0 for v in counts["status"].values()), counts["status"]
    assert set(counts["failures"]) >= {"out-of-range", "not-a-code", "unrecognised-text",
                                       "duplicate-id", "missing-id"}
    assert counts["warning_tier"]["district"] > 0 and counts["critical_unknown"] > 0


def test_table_equals_pandas_row_for_row(got, expected):
    _, table, _, _ = got
    assert table["row"].is_unique and table["row"].min() == 0 and table["row"].max() == N - 1
    table = table.sort_values("row").drop(columns="row").reset_index(drop=True)
    assert list(table.columns) == list(expected.table.columns)
    want = expected.table.assign(warning_tier=expected.table["warning_tier"].astype(str))
    for col in want.columns:  # one column at a time, so a failure names it
        assert _plain(table[[col]]) == _plain(want[[col]]), col


def test_scores_are_typed_as_pandas(got, expected):
    _, table, _, _ = got
    for col, dtype in expected.table.dtypes.items():
        if pd.api.types.is_float_dtype(dtype):
            assert pd.api.types.is_float_dtype(table[col].dtype), col
            np.testing.assert_array_equal(table.sort_values("row")[col].to_numpy(),
                                          expected.table[col].to_numpy())


def test_failures_and_reasons_equal_pandas(got, expected):
    _, _, failures, reasons = got
    failures = failures.sort_values("row", kind="stable").reset_index(drop=True)
    reasons = reasons.sort_values("row", kind="stable").reset_index(drop=True)
    assert list(failures.columns) == list(expected.failures.columns)
    assert _plain(failures) == _plain(expected.failures)
    assert list(reasons.columns) == list(expected.reasons.columns)
    assert _plain(reasons) == _plain(expected.reasons)


def test_summary_and_provenance(got, expected):
    result, _, _, _ = got
    assert result.summary() == expected.summary()
    prov = result.provenance
    assert prov["rows_in"] == prov["rows_out"] == N
    assert prov["instruments"] == expected.provenance["instruments"]
    assert prov["policy"] == expected.provenance["policy"]
    assert prov["spark"]["row_order"] == "partition order"


def test_output_schema_is_explicit(got, session, frame):
    result, _, _, _ = got
    kernel = BatchKernel.bind(INSTRUMENTS, id_column="学号")
    sdf = session.createDataFrame(_arrow(frame.head(3)))
    table, failures, reasons = xsp.output_schemas(kernel, to_arrow_schema(sdf.schema))
    assert result.table.schema == from_arrow_schema(table)
    assert result.failures.schema == from_arrow_schema(failures)
    assert result.reasons.schema == from_arrow_schema(reasons)
    types = {f.name: f.type for f in table}
    assert types["phq9.total"] == pa.float64() and types["warning_tier"] == pa.string()
    assert types["phq9.total.n_answered"] == pa.int64() and types["row"] == pa.int64()
    assert types["protocol_valid"] == pa.bool_()


def test_order_column_numbers_rows_by_it(session, tmp_path):
    frame = _frame(3_000, seed=5)
    frame.insert(0, "提交序号", np.random.default_rng(1).permutation(len(frame)))
    ordered = frame.sort_values("提交序号").reset_index(drop=True)
    expected = xs.screen(ordered, ["phq9"], id_column="学号", lang="en")
    result = xsp.screen(_parquet(session, frame, tmp_path / "a.parquet"), ["phq9"],
                        id_column="学号",
                        lang="en", order_column="提交序号", batch_rows=97)
    table = _collect(result.table).sort_values("row").drop(columns="row")
    want = expected.table.assign(warning_tier=expected.table["warning_tier"].astype(str))
    assert _plain(table.reset_index(drop=True)) == _plain(want)
    failures = _collect(result.failures).sort_values("row", kind="stable")
    assert _plain(failures.reset_index(drop=True)) == _plain(expected.failures)
    assert result.summary() == expected.summary()
    result.unpersist()


def test_order_column_must_be_unique(session):
    frame = _frame(50).assign(wave=1)
    with pytest.raises(ValueError, match="unique order"):
        xsp.screen(session.createDataFrame(_arrow(frame)), ["phq9"], id_column="学号",
                   order_column="wave")


def test_norms_and_careless_two_passes(session, tmp_path):
    rng = np.random.default_rng(8)
    n = 2_000
    frame = pd.DataFrame({"sid": [f"{i:05d}" for i in range(n)],
                          "sex": rng.choice(["男", "女"], n),
                          **{f"cesd_{k:02d}": rng.integers(0, 4, n).astype(float)
                             for k in range(1, 21)}})
    frame.loc[frame.sample(frac=0.01, random_state=1).index, "cesd_05"] = np.nan
    options = {"norms": ["cesd_zhang2010_urban_sex"], "careless": True, "lang": "en"}
    expected = xs.screen(frame, ["cesd"], id_column="sid", **options)
    assert expected.table["careless.mahalanobis_d2"].notna().all()
    result = xsp.screen(_parquet(session, frame, tmp_path / "c.parquet"), ["cesd"],
                        id_column="sid",
                        batch_rows=250, **options)
    table = _collect(result.table).sort_values("row").drop(columns="row")
    want = expected.table.assign(warning_tier=expected.table["warning_tier"].astype(str))
    assert list(table.columns) == list(want.columns)
    for col in want.columns:
        assert _plain(table[[col]].reset_index(drop=True)) == _plain(want[[col]]), col
    result.unpersist()


def test_definition_and_column_errors_on_the_driver(session):
    sdf = session.createDataFrame(_arrow(_frame(20)))
    with pytest.raises(ResponseDataError):
        xsp.screen(sdf, ["phq9"], id_column="no_such_column")
    with pytest.raises(FileNotFoundError):
        xsp.screen(sdf, ["no_such_instrument"], id_column="学号")
    with pytest.raises(TypeError, match="Spark DataFrame"):
        xsp.screen(_frame(5), ["phq9"], id_column="学号")
    with pytest.raises(ValueError, match="row_column"):
        xsp.screen(sdf.withColumnRenamed("学号", "row"), ["phq9"], id_column="row")


def test_empty_input_gives_empty_tables(session, tmp_path):
    frame = _frame(20).iloc[:0]
    expected = xs.screen(frame, ["phq9"], id_column="学号")
    result = xsp.screen(_parquet(session, frame, tmp_path / "e.parquet", groups=1), ["phq9"],
                        id_column="学号")
    assert result.table.count() == 0 and result.failures.count() == 0
    assert result.provenance["rows_in"] == 0
    assert result.summary() == expected.summary()
    assert result.table.columns == ["row", *expected.table.columns]


def test_hive_column_types_decimal_codes_and_timestamps(session):
    """Decimal answer codes and timestamp/date columns (common in Hive tables) are read as
    the pandas path reads ``toPandas()`` of the same table."""
    import datetime as dt
    from decimal import Decimal

    from pyspark.sql import types as T

    schema = T.StructType(
        [T.StructField("sid", T.StringType()), T.StructField("submitted", T.TimestampType()),
         T.StructField("day", T.DateType())]
        + [T.StructField(f"phq9_{k:02d}", T.DecimalType(2, 0)) for k in range(1, 11)])
    rows = [(f"{i:03d}", dt.datetime(2026, 11, 2, 8, i % 60), dt.date(2026, 11, 2),
             *[None if (i + k) % 13 == 0 else Decimal((i * k) % 4) for k in range(1, 11)])
            for i in range(40)]
    sdf = session.createDataFrame(rows, schema)
    expected = xs.screen(pd.DataFrame(rows, columns=schema.fieldNames()), ["phq9"],
                         id_column="sid")
    result = xsp.screen(sdf, ["phq9"], id_column="sid")
    table = _collect(result.table).sort_values("row").drop(columns="row")
    want = expected.table.assign(warning_tier=expected.table["warning_tier"].astype(str))
    assert _plain(table.reset_index(drop=True)) == _plain(want)
    assert result.summary() == expected.summary()
    result.unpersist()


def test_xs_screen_dispatches_a_spark_dataframe(session):
    """``xs.screen`` hands a Spark DataFrame to the registered adapter (imported only then)
    and returns its lazy SparkScreeningResult, equal to the pandas path."""
    from xinli_screen.backends import adapter_for

    frame = _frame(300, seed=11)
    sdf = session.createDataFrame(_arrow(frame))
    assert adapter_for(sdf) is xsp.screen
    result = xs.screen(sdf, ["phq9", "gad7"], id_column="学号", lang="en")
    assert isinstance(result, xsp.SparkScreeningResult)
    expected = xs.screen(frame, ["phq9", "gad7"], id_column="学号", lang="en")
    table = _collect(result.table).sort_values("row").drop(columns="row")
    want = expected.table.assign(warning_tier=expected.table["warning_tier"].astype(str))
    assert _plain(table.reset_index(drop=True)) == _plain(want)
    assert result.summary() == expected.summary()
    result.unpersist()
