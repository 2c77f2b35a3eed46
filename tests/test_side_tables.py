"""Rosters and other side tables: read like answer files (encoding and delimiter sniffed).

The same roster saved as GBK CSV (Excel on Chinese Windows), UTF-8 CSV with BOM (Excel's
"CSV UTF-8"), plain UTF-8 CSV, semicolon CSV, XLSX and XLS gives the same frame: every cell
text, leading zeros kept, empty cells missing.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from xinli_screen.errors import ResponseDataError
from xinli_screen.io import read_side_table

HEADER = ["学号", "学校", "年级", "班级", "姓名"]
ROWS = [
    ["0012", "第一中学", "初一", "1班", "张三"],
    ["0100", "第二中学", "初二", "", "李四"],
    ["20250001", "第一中学", "高一", "3班", "王五"],
]


def _csv(path: Path, encoding: str, sep: str = ",") -> Path:
    text = "\r\n".join(sep.join(r) for r in [HEADER, *ROWS]) + "\r\n"
    path.write_bytes(text.encode(encoding))
    return path


def _xlsx(path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in [HEADER, *ROWS]:
        sheet.append([c if c else None for c in row])  # ids stored as text cells
    book.save(path)
    return path


def _xls(path: Path) -> Path:
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    sheet = book.add_sheet("Sheet1")
    for r, row in enumerate([HEADER, *ROWS]):
        for j, value in enumerate(row):
            if value:
                sheet.write(r, j, value)
    book.save(str(path))
    return path


@pytest.fixture
def expected() -> pd.DataFrame:
    import pyarrow as pa

    columns = {name: pd.array(pa.array([r[j] or None for r in ROWS], type=pa.large_string()),
                              dtype="str")  # pandas text, as every reader gives it
               for j, name in enumerate(HEADER)}
    return pd.DataFrame(columns)


@pytest.mark.parametrize("name,make", [
    ("gbk.csv", lambda p: _csv(p, "gbk")),
    ("gb18030.csv", lambda p: _csv(p, "gb18030")),
    ("bom.csv", lambda p: _csv(p, "utf-8-sig")),
    ("plain.csv", lambda p: _csv(p, "utf-8")),
    ("semicolon.csv", lambda p: _csv(p, "utf-8-sig", ";")),
    ("tab.txt", lambda p: _csv(p, "gbk", "\t")),
    ("roster.xlsx", _xlsx),
    ("roster.xls", _xls),
])
def test_every_format_gives_the_same_frame(tmp_path: Path, expected: pd.DataFrame, name: str,
                                           make) -> None:
    table = make(tmp_path / name)
    got = read_side_table(table)
    pd.testing.assert_frame_equal(got, expected)
    assert got["学号"].tolist()[:2] == ["0012", "0100"]
    assert pd.isna(got.loc[1, "班级"])


def test_header_names_are_stripped_and_blank_cells_missing(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(" 学号 ,班级\n007,  \n", encoding="utf-8")
    got = read_side_table(path)
    assert list(got.columns) == ["学号", "班级"]
    assert got["学号"].tolist() == ["007"] and got["班级"].isna().all()


@pytest.mark.parametrize("name,content,message", [
    ("absent.csv", None, "no such file"),
    ("empty.csv", b"", "empty"),
    ("bad.xlsx", b"not a workbook", "cannot read as an Excel workbook"),
    ("roster.pdf", b"%PDF", "unsupported file type"),
    ("binary.csv", b"\x81\x30\xff\xfe\xff\x00,a\n", "cannot decode"),
])
def test_unreadable_input_is_a_clear_error_naming_the_file(tmp_path: Path, name: str,
                                                           content: bytes | None,
                                                           message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ResponseDataError, match=message) as info:
        read_side_table(path)
    assert name in str(info.value)
