"""Issue 15 leftovers: repeated Parquet column names, concurrent imports on PostgreSQL, the
streamed archive import (same rows and hash as the table in memory)."""

from __future__ import annotations

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
