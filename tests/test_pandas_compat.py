"""pandas 2.2+ and 3.x alike: text columns, missing bands and ids, the readers' text dtype.

pandas 3 gives text columns the ``str`` dtype (Arrow storage, NaN for missing); pandas 2 reads
``dtype="str"`` as numpy text and turns a missing value into the text ``"None"`` or ``"nan"``.
These tests pin the behaviour that broke on pandas 2 (phq9's own test vector 4 failed its load
check); ``.ci/run`` runs them with the oldest supported pandas and numpy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen._text import TEXT_DTYPE
from xinli_screen.responses import normalise_ids
from xinli_screen.scoring import score_instrument

PHQ9_ITEMS = [f"phq9_{k:02d}" for k in range(1, 10)]


def test_text_dtype_holds_missing_as_nan_in_arrow() -> None:
    s = pd.Series(["a", None, np.nan], dtype=TEXT_DTYPE)
    assert s.isna().tolist() == [False, True, True]
    assert "None" not in s.tolist() and "nan" not in s.tolist()
    assert isinstance(s[1], float) and np.isnan(s[1])  # NaN semantics, not pd.NA
    assert TEXT_DTYPE.storage in {"pyarrow", "pyarrow_numpy"}


@pytest.mark.skipif(int(pd.__version__.split(".")[0]) < 3, reason="pandas 3 text default")
def test_text_dtype_is_the_pandas_3_default() -> None:
    # the oracle is pandas' own inference for a column of text
    assert TEXT_DTYPE == pd.Series(["a", None]).dtype == "str"


def test_unscored_band_is_missing_not_the_text_none() -> None:
    # PHQ-9 severity bands 0/5/10/15/20 (Kroenke, Spitzer & Williams 2001); NHANES scores the
    # total only when all nine items are answered, so one missing item leaves no band
    inst = xs.load_instrument("phq9")
    rows = [[0] * 9, [1] * 9, [2] * 5 + [0] * 4, [3] * 9, [np.nan, *[3] * 8], [np.nan] * 9]
    frame = pd.DataFrame(rows, columns=PHQ9_ITEMS, dtype=float).reindex(
        columns=list(inst.item_ids))  # item 10 (functioning) unanswered: not in the total
    band = score_instrument(frame, inst)["phq9.total.band"]
    assert band.dtype == TEXT_DTYPE
    assert band.tolist()[:4] == ["minimal", "mild", "moderate", "severe"]  # 0, 9, 10, 27
    assert band.isna().tolist() == [False] * 4 + [True] * 2


def test_screen_keeps_missing_bands_and_ids_missing() -> None:
    data = pd.DataFrame([[f"{k:03d}", *[k % 4] * 9] for k in range(4)],
                        columns=["学号", *PHQ9_ITEMS], dtype=object)
    data.loc[1, "phq9_03"] = None
    data.loc[2, "学号"] = None
    table = xs.screen(data, ["phq9"], id_column="学号").table
    assert len(table) == len(data)  # every input row comes out once
    assert table["phq9.total.band"].isna().tolist() == [False, True, False, False]
    assert not table["phq9.total.band"].isin(["None", "nan", "<NA>"]).any()
    assert table["学号"].isna().tolist() == [False, False, True, False]
    assert table["学号"].tolist()[0] == "000"  # leading zeros kept


@pytest.mark.parametrize("ids, expected", [
    (pd.Series(["007", None, np.nan, " 8 ", "93705.0"], dtype=object),
     ["007", None, None, "8", "93705"]),
    (pd.Series([93705.0, np.nan, 2.5]), ["93705", None, "2.5"]),
    (pd.Series([7, 12], dtype="int64"), ["7", "12"]),
])
def test_normalised_ids_are_text_with_missing_kept(ids: pd.Series, expected: list) -> None:
    out = normalise_ids(ids)
    assert out.dtype == TEXT_DTYPE
    assert out.isna().tolist() == [e is None for e in expected]
    assert [v for v in out.tolist() if isinstance(v, str)] == [e for e in expected if e]


def test_both_csv_readers_give_text_columns(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from xinli_screen.io import readers

    path = tmp_path / "a.csv"
    path.write_text("学号,phq9_01,备注\n007,1,\n,2,x\n", encoding="utf-8")
    fast, _ = readers.read_table(path)
    monkeypatch.setattr(readers, "_read_csv_fast", lambda *a, **k: None)
    text, _ = readers.read_table(path)
    pd.testing.assert_frame_equal(fast, text)
    assert fast["学号"].dtype == TEXT_DTYPE and fast["学号"].isna().tolist() == [False, True]
    assert fast["备注"].isna().tolist() == [True, False]


def test_xlsx_is_read_column_wise_as_text(tmp_path: Path) -> None:
    from xinli_screen.io.excel import _calamine_text, read_excel

    book = openpyxl.Workbook()
    book.active.append(["学号", "phq9_01"])
    book.active.append(["007", 1])
    book.active.append([None, 2])
    path = tmp_path / "a.xlsx"
    book.save(path)
    assert _calamine_text(path) is not None  # the fast path, not a silent fallback
    frame = read_excel(path)
    assert (frame.dtypes == TEXT_DTYPE).all()
    assert frame["学号"].isna().tolist() == [False, True]
    assert frame["phq9_01"].tolist() == ["1", "2"]
