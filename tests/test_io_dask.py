"""Dask: ``xs.screen`` of a dask DataFrame on a LocalCluster with 2 workers equals the pandas
path row for row; ``score --scheduler`` gives the same file as the in-memory run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen.backends.kernel import merge_summaries

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("dask.distributed")


def _frame(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    labels = ["完全不会", "好几天", "一半以上的天数", "几乎每天"]
    cells = {}
    for k in range(1, 11):
        codes = rng.integers(0, 4, n)
        col = np.array([str(c) for c in codes], dtype=object)
        text = rng.random(n) < 0.1
        col[text] = np.array(labels, dtype=object)[codes[text]]
        col[rng.random(n) < 0.03] = None
        col[rng.random(n) < 0.005] = "9"
        cells[f"phq9_{k:02d}"] = col
    for k in range(1, 8):
        cells[f"gad7_{k:02d}"] = rng.integers(0, 4, n).astype(float)
    ids = np.array([f"{i:05d}" for i in range(n)], dtype=object)
    ids[[50, n - 150]] = "00007"  # repeats an id in another partition
    ids[99] = None
    return pd.DataFrame({"sid": ids, **cells})


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def test_local_cluster_equals_pandas_row_for_row(client):
    frame = _frame()
    expected = xs.screen(frame, ["phq9", "gad7"], id_column="sid")
    ddf = dd.from_pandas(frame, npartitions=4)
    got = xs.screen(ddf, ["phq9", "gad7"], id_column="sid")
    assert len(client.scheduler_info()["workers"]) == 2
    pd.testing.assert_frame_equal(got.table, expected.table)
    pd.testing.assert_frame_equal(got.failures, expected.failures)
    pd.testing.assert_frame_equal(got.reasons, expected.reasons)
    assert got.summary() == expected.summary()
    assert set(got.table.loc[[7, 50, 450], "status"]) == {"duplicate_id"}


def test_cli_scheduler_local_equals_in_memory(cli, tmp_path):
    path = tmp_path / "a.csv"
    _frame(300).to_csv(path, index=False)
    mem, dist = tmp_path / "mem.csv", tmp_path / "dask.csv"
    a = cli("score", path, "-i", "phq9", "--id-column", "sid", "-o", mem)
    b = cli("score", path, "-i", "phq9", "--id-column", "sid", "-o", dist,
            "--scheduler", "local")
    assert a.code == b.code
    assert mem.read_bytes() == dist.read_bytes()


def test_careless_on_dask_equals_pandas(client):
    """Mahalanobis D² and the synonym pairs come from the merged moments of every partition."""
    frame = _frame(400)
    expected = xs.screen(frame, ["phq9", "gad7"], id_column="sid", careless=True)
    got = xs.screen(dd.from_pandas(frame, npartitions=3), ["phq9", "gad7"], id_column="sid",
                    careless=True)
    d2 = "careless.mahalanobis_d2"
    np.testing.assert_allclose(got.table[d2], expected.table[d2], rtol=1e-9, atol=0)
    pd.testing.assert_frame_equal(got.table.drop(columns=[d2]),
                                  expected.table.drop(columns=[d2]))


def test_workers_read_and_write_their_own_csv_partitions(client, tmp_path):
    """screen_files: every column read as text by dd.read_csv (as read_table reads it), one
    result part per partition written by the workers, in input order, equal to the
    in-memory result; the summary merged on the client."""
    from xinli_screen.distributed import screen_files
    from xinli_screen.io import read_table

    path = tmp_path / "a.csv"
    _frame(300).to_csv(path, index=False)
    expected = xs.screen(read_table(path)[0], ["phq9", "gad7"], id_column="sid")
    done = screen_files(str(path), ["phq9", "gad7"], tmp_path / "out", suffix=".csv",
                        failures=tmp_path / "fails", id_column="sid", blocksize=4000)
    parts = sorted((tmp_path / "out").glob("part-*.csv"))
    assert done["partitions"] == len(parts) > 2
    got = pd.concat([pd.read_csv(p, dtype={"sid": str}) for p in parts], ignore_index=True)
    want = pd.read_csv(_written_csv(expected.table, tmp_path / "mem.csv"), dtype={"sid": str})
    pd.testing.assert_frame_equal(got, want)
    fails = pd.concat([pd.read_csv(p) for p in sorted((tmp_path / "fails").glob("*.csv"))],
                      ignore_index=True)
    assert fails["row"].tolist() == expected.failures["row"].tolist()
    assert done["summary"] == merge_summaries([expected.summary()])
    assert done["provenance"]["rows_in"] == 300


def _written_csv(table: pd.DataFrame, path):
    from xinli_screen.io.stream import ChunkWriter

    writer = ChunkWriter(path, bom=False)
    writer.write_table(table)
    return writer.close()


def _parts(folder) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in sorted(folder.glob("part-*.parquet"))],
                     ignore_index=True)


@pytest.mark.parametrize("layout", ["csv", "parquet", "parquet-folder", "csv-glob"])
def test_cli_scheduler_workers_read_and_write_parts(cli, client, tmp_path, layout):
    """With a cluster address, Parquet/CSV in and a folder out, the workers read their own
    partitions and write part files; their rows equal the in-memory run's file."""
    frame = _frame(300)
    single = tmp_path / "a.csv"
    frame.to_csv(single, index=False)
    mem = tmp_path / "mem.parquet"
    a = cli("score", single, "-i", "phq9", "--id-column", "sid", "-o", mem, "--lang", "en")
    parts = tmp_path / "in"
    parts.mkdir()
    for i, chunk in enumerate((frame.iloc[:170], frame.iloc[170:])):
        if layout.startswith("csv"):
            chunk.to_csv(parts / f"p{i}.csv", index=False)
        else:
            chunk.astype({"sid": "string"}).to_parquet(parts / f"p{i}.parquet", index=False)
    source = {"csv": single, "parquet": parts / "p0.parquet", "parquet-folder": parts,
              "csv-glob": parts / "*.csv"}[layout]
    out, fails = tmp_path / "out", tmp_path / "fails"
    b = cli("score", source, "-i", "phq9", "--id-column", "sid", "-o", out, "--lang", "en",
            "--failures", fails, "--scheduler", client.scheduler.address)
    assert b.code == a.code, b.err
    assert (out / "provenance.json").is_file() and "wrote" in b.err
    want = pd.read_parquet(mem)
    if layout == "parquet":  # one part of two
        want = want.iloc[:170]
    got = _parts(out)
    assert len(got) == len(want)
    pd.testing.assert_frame_equal(got, want, check_dtype=False, check_categorical=False)
    assert len(_parts(fails)) > 0


def test_cli_folder_output_without_scheduler_is_refused(cli, tmp_path):
    path = tmp_path / "a.csv"
    _frame(300).to_csv(path, index=False)
    (tmp_path / "out").mkdir()
    got = cli("score", path, "-i", "phq9", "--id-column", "sid", "-o", tmp_path / "out")
    assert got.code == 2 and "folder" in got.err


def test_cli_scheduler_input_that_matches_nothing(cli, client, tmp_path):
    for missing in (tmp_path / "none.parquet", tmp_path / "none" / "*.csv"):
        got = cli("score", missing, "-i", "phq9", "-o", tmp_path / "out",
                  "--scheduler", client.scheduler.address)
        assert got.code == 2 and "no such file" in got.err
