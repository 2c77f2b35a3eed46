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
