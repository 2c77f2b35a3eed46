"""Quoted line breaks and blank lines in a CSV stay on the typed pyarrow read (issue 17, item
3; check report M1): the same table, rows and failures as the pandas text reader gives.

Oracles: the pandas text reader (``_read_csv_fast`` switched off, the path such files took
before), and the cell texts and ids written into each file here. A spy on ``_read_csv_fast``
shows which reader read the file, so an equality cannot come from both runs being pandas'.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen.instrument.registry import load_instrument
from xinli_screen.io import load_answers, readers

PHQ9 = load_instrument("phq9")
ITEMS = [f"phq9_{k:02d}" for k in range(1, 10)]
HEADER = ",".join(["学号", *ITEMS, "备注"])
NOTE = "第一行{nl}第二行"


def _file(path: Path, n: int, *, nl: str = "\n", breaks: tuple[int, ...] = (3,),
          blank_after: tuple[int, ...] = (), item_break: int | None = None,
          bad: int | None = None) -> Path:
    """``n`` PHQ-9 sheets, ids ``S00000`` ...; 备注 holds a quoted line break in the rows
    ``breaks``; a blank line after the rows ``blank_after``; ``item_break``: phq9_02 of that
    row is ``"1<nl>2"``; ``bad``: phq9_04 of that row is 5 (out of range, a failure)."""
    lines = [HEADER]
    for i in range(n):
        codes = [str((i * 7 + k) % 4) for k in range(9)]
        if item_break == i:
            codes[1] = f'"1{nl}2"'
        if bad == i:
            codes[3] = "5"
        note = f'"{NOTE.format(nl=nl)}"' if i in breaks else "好"
        lines.append(",".join([f"S{i:05d}", *codes, note]))
        if i in blank_after:
            lines.append("")
    path.write_bytes((nl.join(lines) + nl).encode("utf-8"))
    return path


def _both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The data through the typed read (asserted to be taken) and the pandas text reader."""
    taken: list[bool] = []
    fast_read = readers._read_csv_fast

    def spy(*args: Any, **kwargs: Any) -> Any:
        out = fast_read(*args, **kwargs)
        taken.append(out is not None)
        return out

    with monkeypatch.context() as m:
        m.setattr(readers, "_read_csv_fast", spy)
        fast = load_answers(path, [PHQ9], id_column="学号").data
    assert taken == [True], "the file left the pyarrow read"
    with monkeypatch.context() as m:
        m.setattr(readers, "_read_csv_fast", lambda *a, **k: None)
        old = load_answers(path, [PHQ9], id_column="学号").data
    return fast, old


@pytest.mark.parametrize("nl", ["\n", "\r\n"])
def test_line_break_in_a_text_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     nl: str) -> None:
    path = _file(tmp_path / "a.csv", 40, nl=nl, breaks=(0, 3, 39), bad=20)
    fast, old = _both(path, monkeypatch)
    pd.testing.assert_frame_equal(fast, old)
    assert fast["学号"].tolist() == [f"S{i:05d}" for i in range(40)]
    assert fast["备注"].iloc[3] == NOTE.format(nl=nl)  # the line break kept, as written
    assert fast["备注"].iloc[4] == "好"
    assert str(fast["phq9_01"].dtype) == "float64"  # the item columns read as numbers


def test_blank_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _file(tmp_path / "a.csv", 30, breaks=(5,), blank_after=(2, 10, 29))
    fast, old = _both(path, monkeypatch)
    pd.testing.assert_frame_equal(fast, old)
    assert fast["学号"].tolist() == [f"S{i:05d}" for i in range(30)]


def test_line_break_in_an_item_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _file(tmp_path / "a.csv", 30, breaks=(1,), item_break=7)
    fast, old = _both(path, monkeypatch)
    pd.testing.assert_frame_equal(fast, old)
    assert fast["phq9_02"].iloc[7] == "1\n2"  # that column read as text, the cell whole
    assert str(fast["phq9_01"].dtype) == "float64"
    result = xs.screen(fast, ["phq9"], id_column="学号", answer_values="code")
    bad = result.failures[result.failures["column"] == "phq9_02"]
    assert bad["row"].tolist() == [7]


def test_line_breaks_across_pyarrow_blocks(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Over 1 MiB (pyarrow reads blocks of 1 MiB in parallel, split at a line break): with
    a quoted line break in every other row, a block edge falls inside a cell; each break
    must stay inside its cell."""
    n = 30_000  # 1.5 MB
    breaks = tuple(range(1, n, 2))
    path = _file(tmp_path / "a.csv", n, breaks=breaks, bad=n - 2)
    fast, old = _both(path, monkeypatch)
    pd.testing.assert_frame_equal(fast, old)
    assert len(fast) == n and fast["学号"].iloc[-1] == f"S{n - 1:05d}"
    assert (fast["备注"] == NOTE.format(nl="\n")).sum() == len(breaks)


def test_stray_quote_still_refused(tmp_path: Path) -> None:
    """A quote that swallows whole rows into one cell is refused on the pyarrow path too,
    with the file line and without the cell's text."""
    rows = [HEADER] + [",".join([f"S{i:05d}", *["1"] * 9, "好"]) for i in range(6)]
    rows[2] = rows[2].replace(",好", ',"好')  # opened in line 3 ...
    rows[5] = rows[5].replace(",好", ',好"')  # ... closed in line 6
    path = tmp_path / "a.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(xs.ResponseDataError, match="line 3") as err:
        load_answers(path, [PHQ9], id_column="学号")
    assert "S0000" not in str(err.value)


@pytest.mark.parametrize("nl", ["\n", "\r\n"])
def test_score_files_are_the_same(cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
                                  tmp_path: Path, nl: str) -> None:
    """``score`` results and failures, byte for byte, on the typed read and the text reader
    (a failure after the line breaks: its ``row`` and ``file_row`` would move with a shift)."""
    path = _file(tmp_path / "a.csv", 50, nl=nl, breaks=(2, 9), blank_after=(4,),
                 item_break=12, bad=30)
    got = []
    for mode in ("fast", "pandas"):
        out, fails = tmp_path / f"{mode}.csv", tmp_path / f"{mode}_f.csv"
        with monkeypatch.context() as m:
            if mode == "pandas":
                m.setattr(readers, "_read_csv_fast", lambda *a, **k: None)
            run = cli("score", path, "-i", "phq9", "--id-column", "学号", "-o", out,
                      "--failures", fails, "--chunk-size", "0", "--answer-values", "code")
        got.append((run.code, out.read_bytes(), fails.read_bytes()))
    assert got[0] == got[1]
    failures = pd.read_csv(tmp_path / "fast_f.csv", dtype=str)
    assert set(failures["row"]) == {"12", "30"}
    assert got[0][1].count(b"\nS000") == 50  # every row once
