"""Issue 15 leftovers: repeated Parquet column names, concurrent imports on PostgreSQL, the
streamed archive import (same rows and hash as the table in memory)."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import xinli_screen as xs
from tests.archive_db import fresh_target

SENTINEL = "Zq7SENTINELid"


def _phq_parquet(path: Path, names: list[str], n: int = 4) -> Path:
    rng = np.random.default_rng(5)
    columns = [pa.array([f"{SENTINEL}{i}" for i in range(n)])]
    columns += [pa.array(rng.integers(0, 4, n)) for _ in names[1:]]
    pq.write_table(pa.table(columns, names=names), path)
    return path


ITEMS = [f"phq9_{i:02d}" for i in range(1, 10)]


@pytest.mark.parametrize("streamed", [False, True])
def test_parquet_with_a_repeated_item_column_is_the_named_error(cli, tmp_path, streamed):
    path = _phq_parquet(tmp_path / "dup.parquet", ["sid", *ITEMS, "phq9_09"])
    extra = ["--chunk-size", "2"] if streamed else []
    run = cli("score", path, "-i", "phq9", "--id-column", "sid", "-o", tmp_path / "o.csv",
              *extra)
    assert run.code == 1, run.err
    assert "more than once ('phq9_09' in columns 10, 11)" in run.err
    assert "duplicate-columns" in run.err
    assert "Traceback" not in run.err + run.out and SENTINEL not in run.err + run.out
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("streamed", [False, True])
def test_parquet_with_a_repeated_unscored_column_is_scored_with_a_note(cli, tmp_path,
                                                                       streamed):
    path = _phq_parquet(tmp_path / "dup.parquet", ["sid", "note", *ITEMS, "note"], n=5)
    extra = ["--chunk-size", "2"] if streamed else []
    out = tmp_path / "o.csv"
    run = cli("score", path, "-i", "phq9", "--id-column", "sid", "-o", out, *extra)
    assert run.code == 0, run.err
    assert len(pd.read_csv(out)) == 5


# --- concurrent imports ------------------------------------------------------------------------

def _wave_result(n: int, seed: int) -> xs.ScreeningResult:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"sid": [f"P{seed}-{i:05d}" for i in range(n)]}
                         | {item: rng.integers(0, 4, n) for item in ITEMS})
    return xs.screen(frame, ["phq9"], id_column="sid")


@pytest.mark.parametrize("backend", ["postgresql"])
def test_concurrent_imports_of_new_waves_get_distinct_sequence_numbers(backend, tmp_path):
    from xinli_screen.archive import ArchiveStore

    target = fresh_target(backend, tmp_path)
    results = [_wave_result(3000, seed) for seed in (1, 2, 3)]
    stores = [ArchiveStore(target) for _ in results]  # opened (schema made) before the race
    barrier = threading.Barrier(len(results), timeout=120)
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            barrier.wait()
            stores[k].import_wave(results[k].table, results[k].provenance, f"w{k}", by="t")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            stores[k].close()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, [type(e).__name__ for e in errors]
    with ArchiveStore(target) as store:
        waves = store.waves()
        audit = store.verify_audit()
    assert sorted(waves["name"]) == ["w0", "w1", "w2"]
    assert sorted(waves["seq"]) == [1, 2, 3]
    assert audit.ok, audit.problems


# --- SIGTERM during a score that is not streamed ---------------------------------------------

def test_sigterm_while_writing_removes_the_temporary_file(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    n = 60_000
    rng = np.random.default_rng(9)
    frame = pd.DataFrame({"sid": [f"{SENTINEL}{i}" for i in range(n)]}
                         | {item: rng.integers(0, 4, n) for item in ITEMS})
    frame.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out" / "results.xlsx"
    out.parent.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "xinli_screen", "score", "in.csv", "-i",
                             "phq9", "--id-column", "sid", "-o", str(out)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not any(out.parent.iterdir()) and proc.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.01)
    temporary = [p.name for p in out.parent.iterdir()]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert temporary and temporary[0].startswith(".results."), "the write was not caught"
    assert proc.returncode == 128 + signal.SIGTERM, err.decode()[-500:]
    assert os.listdir(out.parent) == []  # no temporary file (it held the ids), no result
    assert SENTINEL.encode() not in err


# --- the streamed archive import --------------------------------------------------------------

@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    """Chunks of 50 rows, so that a small file is read in several (and a Parquet row group
    of 7 rows never lines up with a chunk)."""
    import xinli_screen.archive.result_chunks as rc

    monkeypatch.setattr(rc, "HASH_CHUNK", 50)
    return 50


def _with_school(result: xs.ScreeningResult) -> xs.ScreeningResult:
    table = result.table.copy()
    table.insert(1, "school", [f"第{k % 3}中学" for k in range(len(table))])
    return dataclasses.replace(result, table=table)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_streamed_file_import_equals_the_table_import(tmp_path, small_chunks, suffix):
    from xinli_screen.archive import ArchiveStore, read_results_file
    from xinli_screen.io.writers import write_result

    result = _with_school(_wave_result(173, 4))
    path = tmp_path / f"r{suffix}"
    write_result(result, path)
    if suffix == ".parquet":  # row groups of 7 rows
        pq.write_table(pq.read_table(path), path, row_group_size=7)
    table, prov = read_results_file(path)
    with ArchiveStore(tmp_path / "a.db") as a, ArchiveStore(tmp_path / "b.db") as b:
        whole = a.import_wave(table, prov, "w", by="t", source_name=path.name)
        streamed = b.import_results_file(path, "w", by="t")
        assert whole.imported == streamed.imported == 173
        sheets = [s.sheets("w").drop(columns=["part"]) for s in (a, b)]
        pd.testing.assert_frame_equal(sheets[0], sheets[1])
        tables = [s.wave_table("w") for s in (a, b)]
        pd.testing.assert_frame_equal(tables[0], tables[1])
        assert (a.parts("w")["content_sha256"].tolist()
                == b.parts("w")["content_sha256"].tolist())
        # the same content by the other path changes nothing (the hash is the same)
        assert not a.import_results_file(path, "w", by="t").changed
        assert not b.import_wave(table, prov, "w", by="t").changed
        assert sorted(tables[1]["attr.school"].unique()) == ["第0中学", "第1中学", "第2中学"]


def test_streamed_import_of_a_changed_file_is_a_correction(tmp_path, small_chunks):
    from xinli_screen.archive import ArchiveStore
    from xinli_screen.io.writers import write_result

    result = _with_school(_wave_result(120, 6))
    path = tmp_path / "r.parquet"
    write_result(result, path)
    with ArchiveStore(tmp_path / "a.db") as store:
        assert store.import_results_file(path, "w", by="t").parts[0].outcome == "new"
        changed = result.table.copy()
        changed.loc[101, "school"] = "第9中学"  # one cell in the third chunk
        write_result(dataclasses.replace(result, table=changed), path)
        again = store.import_results_file(path, "w", by="t")
        assert (again.parts[0].outcome, again.imported) == ("corrected", 120)
        parts = store.parts("w")
        assert parts["n_rows"].tolist() == [120, 120]
        assert parts["superseded_at"].notna().tolist() == [True, False]
        assert len(store.wave_table("w")) == 120


def test_a_results_file_that_breaks_mid_stream_is_a_named_error(cli, tmp_path, small_chunks):
    from xinli_screen.io.writers import write_result

    result = _with_school(_wave_result(120, 7))
    path = tmp_path / "r.csv"
    write_result(result, path)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    lines[90] = lines[90] + ',"extra cell ' + SENTINEL + '"'  # a row with one cell too many
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "a.db"
    run = cli("archive", "import", path, "--wave", "w", "--archive", db)
    assert run.code == 2, run.err
    assert "cannot read the results file" in run.err
    assert SENTINEL not in run.out + run.err and "Traceback" not in run.err
    from xinli_screen.archive import ArchiveStore

    with ArchiveStore(db) as store:
        assert store.waves().empty  # nothing stored
