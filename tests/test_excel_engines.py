"""The XLSX reader (calamine) gives the same text cells as openpyxl, its fallback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd

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
