"""Streamed CSV with typed item columns (issue 17): the same files as the in-memory run.

The streamed reader parses item columns as integers when the first MiB of rows holds only codes
(the in-memory reader's rule). Everything that could make that reading wrong is put in a chunk
after the first MiB: a label, a code out of range and ``1.0`` in item columns, empty cells, a
short row (fewer cells than the header, docs/errors.md#csv), a quoted line break in a free-text
column, ids with leading zeros, a short row as the very last line. The oracle is the in-memory
run (``--chunk-size 0``, which reads such a file with the pandas text reader): results and
failures must be byte-identical, so a misread cell (a label taken as a number, ``09`` written as
``9``, a short row dropped or moved) fails the test.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xinli_screen.instrument.registry import load_instrument
from xinli_screen.io.column_map import ColumnMap
from xinli_screen.io.source import _typed_items
from xinli_screen.io.stream import iter_chunks

ITEMS = [f"phq9_{i:02d}" for i in range(1, 10)] + [f"gad7_{i:02d}" for i in range(1, 8)]
N = 30_000
#: First data row of the odd rows: well past the first MiB (about 9,500 rows of 110 bytes) and
#: the first 2 MiB.
LATE = 26_000


def _write(path: Path, odd: bool, hexadecimal: bool = False) -> Path:
    rng = np.random.default_rng(17)
    codes = rng.integers(0, 4, (N, len(ITEMS)))
    lines: list[list[str]] = []
    for r in range(N):
        cells = [str(c) for c in codes[r]]
        if r % 50 == 0:
            cells[r % len(ITEMS)] = ""  # a missing answer
        lines.append([f"{r:08d}", f"学校{r % 3}", "无" * 20, *cells])
    if odd:
        lines[LATE][3 + 2] = "好几天"  # a label in an item column
        lines[LATE + 5][3 + 4] = "9"  # a code out of range
        lines[LATE + 9][3 + 11] = "1.0"  # not an integer code
        lines[LATE + 13][2] = "第一行\n第二行, 有逗号"  # a quoted line break
        lines[LATE + 21] = lines[LATE + 21][:3 + 6]  # a short row
        lines[LATE + 22][0] = "0000"  # an id of zeros
        lines[-1] = lines[-1][:3 + 10]  # a short last row
    if hexadecimal:
        lines[LATE + 30][3 + 1] = "0x1"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["sid", "school", "note", *ITEMS])
        writer.writerows(lines)
    return path


def _run(cli, path: Path, out: Path, chunk: int):
    return cli("score", path, "-i", "phq9", "-i", "gad7", "--id-column", "sid", "-o", out,
               "--failures", out.with_suffix(".failures.csv"), "--chunk-size", chunk,
               "--no-progress")


@pytest.mark.parametrize(("odd", "hexadecimal"), [(True, False), (False, False),
                                                  (True, True)])
def test_streamed_typed_csv_equals_in_memory(cli, tmp_path, odd, hexadecimal):
    path = _write(tmp_path / "answers.csv", odd, hexadecimal)
    assert path.stat().st_size > 3 * 2**20
    mem = tmp_path / "mem.csv"
    a = _run(cli, path, mem, 0)
    for chunk in (997, 7000):
        out = tmp_path / f"s{chunk}.csv"
        b = _run(cli, path, out, chunk)
        assert (a.code, "streamed" in b.err) == (b.code, True), b.err
        assert out.read_bytes() == mem.read_bytes()
        assert out.with_suffix(".failures.csv").read_bytes() == \
            mem.with_suffix(".failures.csv").read_bytes()
    text = mem.read_text(encoding="utf-8-sig")
    assert text.count("\n") == N + 1  # every row once (none merged, none dropped)
    if odd:
        assert "\n0000," in text and "\n00026001," in text


def test_item_columns_are_read_typed_then_as_text_where_a_cell_is_not_a_code(tmp_path):
    """The fast path is taken (else the test above would compare text with text): the first
    chunks hold the item columns as float64; the label's column is text from its chunk on and
    the short rows come back in their places with empty trailing cells."""
    path = _write(tmp_path / "answers.csv", odd=True)
    insts = [load_instrument("phq9"), load_instrument("gad7")]
    typed = _typed_items(insts, ColumnMap({}), "sid", None, ())
    chunks = list(iter_chunks(path, 2000, typed=typed))
    assert sum(len(c) for c in chunks) == N
    starts = np.cumsum([0, *(len(c) for c in chunks)])
    first, late = chunks[0], chunks[int(np.searchsorted(starts, LATE, side="right")) - 1]
    assert all(first[c].dtype == np.float64 for c in ITEMS)
    assert first["sid"].iloc[1] == "00000001"
    label = ITEMS[2]
    assert late[label].dtype != np.float64 and (late[label] == "好几天").sum() == 1
    assert all(late[c].dtype == np.float64 for c in ITEMS[:2])
    whole = pd.concat(chunks, ignore_index=True)
    short = whole.iloc[LATE + 21]
    assert short["sid"] == f"{LATE + 21:08d}"
    assert short[ITEMS[6:]].isna().all() and not short[ITEMS[:6]].isna().all()
    assert whole.iloc[-1][ITEMS[10:]].isna().all() and whole["sid"].iloc[-1] == f"{N - 1:08d}"
    assert whole["note"].iloc[LATE + 13] == "第一行\n第二行, 有逗号"
