"""The XLSX reader (calamine) gives the same text cells as openpyxl, its fallback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from xinli_screen.io.excel import read_excel


def test_calamine_cells_equal_openpyxl(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["序号", "1、学号", "a", "b", "提交答卷时间", "flag", "empty", "文本"])
    sheet.append([1, "007", 3, 2.5, dt.datetime(2026, 9, 14, 9, 2, 30), True, None, "A.是"])
    sheet.append([2, 12345678901234, 7.0, -1, dt.date(2026, 9, 1), False, "", "(跳过)"])
    path = tmp_path / "mixed.xlsx"
    book.save(path)
    ours = read_excel(path)
    reference = pd.read_excel(path, sheet_name=0, dtype=str, engine="openpyxl")
    pd.testing.assert_frame_equal(ours, reference)
    assert ours["1、学号"].tolist() == ["007", "12345678901234"]
    assert ours["a"].tolist() == ["3", "7"]


def test_unreadable_workbook_names_the_file(tmp_path: Path) -> None:
    import pytest

    from xinli_screen.errors import ResponseDataError

    bad = tmp_path / "broken.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(ResponseDataError, match=r"broken\.xlsx"):
        read_excel(bad)


def _pandas_calamine(path: Path) -> pd.DataFrame:
    return pd.read_excel(path, sheet_name=0, dtype=str, engine="calamine", header=None)


def test_column_wise_calamine_equals_pandas(tmp_path: Path) -> None:
    from xinli_screen.io.excel import _calamine_text

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["序号", "1、学号", "a", "b", "flag", "empty", "文本", "NA"])
    sheet.append([1, "007", 3, 2.5, True, None, "A.是", "null"])
    sheet.append([2, 12345678901234, 7.0, -1, False, "", "N/A", "None"])
    sheet.append([3, "0012", 1e20, 0.1, True, "NA", "(跳过)", "nan "])
    path = tmp_path / "plain.xlsx"
    book.save(path)
    ours = _calamine_text(path)
    assert ours is not None  # no date cell: the column-wise path
    pd.testing.assert_frame_equal(ours, _pandas_calamine(path))
    assert ours[1].tolist()[1:] == ["007", "12345678901234", "0012"]
    assert ours[6].isna().tolist() == [False, False, True, False]  # pandas' missing words


def test_column_wise_calamine_leaves_dates_to_pandas(tmp_path: Path) -> None:
    from xinli_screen.io.excel import _calamine_text

    book = openpyxl.Workbook()
    book.active.append(["时间", "a"])
    book.active.append([dt.datetime(2026, 9, 14, 9, 2, 30), 1])
    path = tmp_path / "dates.xlsx"
    book.save(path)
    assert _calamine_text(path) is None
    assert read_excel(path)["时间"].tolist() == ["2026-09-14 09:02:30"]


def test_wjx_download_reads_the_same_either_way(tmp_path: Path) -> None:
    from xinli_screen.demo._xlsx import write_xlsx
    from xinli_screen.io.excel import _calamine_text

    header = ["序号", "提交答卷时间", "所用时间", "1、学号", "2、PHQ第1题", "3、PHQ第2题"]
    rows = [[k + 1, f"2026/9/14 08:{k:02d}:00", f"{100 + k}秒", f"{k:08d}",
             ["完全不会", "好几天", "-2"][k % 3], "几乎每天" if k % 4 else ""]
            for k in range(40)]
    path = tmp_path / "wjx.xlsx"
    write_xlsx(path, header, rows)
    pd.testing.assert_frame_equal(_calamine_text(path), _pandas_calamine(path))
    assert read_excel(path)["1、学号"].tolist()[:2] == ["00000000", "00000001"]


def test_column_wise_calamine_batches_and_offset_sheets(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    from xinli_screen.io import excel

    monkeypatch.setattr(excel, "_ROWS_PER_BATCH", 3)  # several batches
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["C3"], sheet["D3"] = "学号", "a"  # the table starts at C3, as some exports do
    for r in range(4, 15):
        sheet.cell(r, 3, f"{r:05d}")
        sheet.cell(r, 4, r / 2)
    path = tmp_path / "offset.xlsx"
    book.save(path)
    ours = excel._calamine_text(path)
    assert ours is not None and ours.shape == (14, 4)
    pd.testing.assert_frame_equal(ours, _pandas_calamine(path))
