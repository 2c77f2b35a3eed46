"""``score`` with CSV on stdout (no ``-o``): nothing is printed when the run is refused.

Issue 17, check report H1: the batched in-memory run printed every row, scored on codes
shifted by one, before the code-offset judgement (made on the counts of every row) refused
the run with exit 1; a ``.partial`` file can be deleted, printed rows cannot. The oracle for
the rows printed on success is the CSV file the same command writes with ``-o`` and
``--no-bom`` (another writer: :class:`xinli_screen.io.stream.ChunkWriter`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import xinli_screen.cli.score_batched as batched

PHQ9 = [f"phq9_{k:02d}" for k in range(1, 10)]


def _sheets(path: Path, shift: int, n: int = 200) -> Path:
    """PHQ-9 sheets (ids ``S0000`` ...) coded 0-3, or 1-4 with ``shift=1``."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"学号": [f"S{i:04d}" for i in range(n)]})
    for item in PHQ9:
        frame[item] = rng.choice([0, 0, 1, 2, 3], size=n) + shift
    frame.loc[5, "phq9_03"] = None  # a blank cell: the column is read with nulls
    frame.to_csv(path, index=False, float_format="%g")
    return path


@pytest.mark.parametrize("chunk", [None, "7"])
def test_refused_run_prints_nothing(cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
                                    tmp_path: Path, chunk: str | None) -> None:
    path = _sheets(tmp_path / "shift.csv", shift=1)
    monkeypatch.setattr(batched, "BATCH_ROWS", 7)  # many batches, if the run were batched
    extra = [] if chunk is None else ["--chunk-size", chunk]
    run = cli("score", path, "-i", "phq9", "--id-column", "学号", *extra)
    assert run.code == 1
    assert "shifted by one" in run.err and "not scored" in run.err
    assert run.out == ""
    assert "S0" not in run.err  # no id in the message either


@pytest.mark.parametrize("chunk", [None, "7"])
def test_stdout_is_the_csv_file(cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
                                tmp_path: Path, chunk: str | None) -> None:
    path = _sheets(tmp_path / "ok.csv", shift=0)
    monkeypatch.setattr(batched, "BATCH_ROWS", 7)
    extra = [] if chunk is None else ["--chunk-size", chunk]
    printed = cli("score", path, "-i", "phq9", "--id-column", "学号", *extra)
    out = tmp_path / "out.csv"
    written = cli("score", path, "-i", "phq9", "--id-column", "学号", "-o", out, "--no-bom",
                  *extra)
    assert printed.code == written.code == 0, (printed.err, written.err)
    assert printed.out.encode("utf-8") == out.read_bytes()
    assert printed.out.count("S0199") == 1 and printed.out.startswith("学号,status,")
