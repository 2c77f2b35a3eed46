"""Failure rows as a person finds them in the input file: ``file_row`` and ``source_ref``.

``row`` stays the 0-based position in the result table (API compatibility); ``file_row`` is
the row a spreadsheet shows (header = row 1, first answer sheet = row 2) and ``source_ref`` the
问卷星 ``序号`` of the sheet. In-memory, streamed (``--chunk-size``) and dask runs give the
same numbers.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen.responses import RESULT_FAILURE_COLUMNS, locate_failures, source_refs

ITEMS = [f"phq9_{i:02d}" for i in range(1, 11)]
HEADER = ["序号", "提交答卷时间", "所用时间", "学号", *ITEMS]
BAD = {3: ("phq9_02", "不好说"), 7: ("phq9_09", "5"), 12: ("phq9_01", "x"),
       13: ("phq9_10", "9")}  # data-row position -> (item, cell)


def _rows(n: int = 15) -> list[list[str]]:
    rng = np.random.default_rng(11)
    rows = []
    for r in range(n):
        cells = [str(c) for c in rng.integers(0, 4, len(ITEMS))]
        if r in BAD:
            item, value = BAD[r]
            cells[ITEMS.index(item)] = value
        if r == 5:
            cells[3] = "(跳过)"  # 问卷星: skipped, not a failure
        # 问卷星 序号 after deleted sheets: not the row number
        rows.append([str(10 + 3 * r), "2026/09/03 12:00:00", f"{100 + r}秒",
                     "" if r == 9 else f"{r:05d}", *cells])
    return rows


def _write_csv(path: Path) -> Path:
    with path.open("w", encoding="gb18030", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows(_rows())
    return path


def _write_xlsx(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in _rows():
        sheet.append([c if c != "" else None for c in row])
    book.save(path)
    return path


def _failures(cli, src: Path, tmp_path: Path, *extra: object) -> pd.DataFrame:
    out, fails = tmp_path / f"{src.stem}.r.csv", tmp_path / f"{src.stem}{len(extra)}.f.csv"
    run = cli("score", src, "-i", "phq9", "--id-column", "学号", "-o", out, "--failures",
              fails, *extra)
    assert run.code == 1, run.err
    return pd.read_csv(fails, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_file_row_is_the_csv_record_and_source_ref_the_wjx_number(cli, tmp_path: Path) -> None:
    src = _write_csv(tmp_path / "wjx.csv")
    failures = _failures(cli, src, tmp_path, "--chunk-size", "0")
    assert list(failures.columns) == RESULT_FAILURE_COLUMNS
    with src.open(encoding="gb18030", newline="") as fh:
        records = list(csv.reader(fh))  # records[k] is spreadsheet row k + 1
    cells = failures[failures["item"] != ""]
    assert len(cells) == len(BAD)
    for _, f in cells.iterrows():
        record = records[int(f["file_row"]) - 1]
        assert record[HEADER.index(f["column"])] == f["value"]
        assert f["source_ref"] == f"序号 {record[0]}"
        assert int(f["file_row"]) == int(f["row"]) + 2
    missing = failures[failures["code"] == "missing-id"]
    assert missing["file_row"].tolist() == ["11"] and missing["source_ref"].tolist() == ["序号 37"]


def test_streamed_run_numbers_rows_as_the_in_memory_run(cli, tmp_path: Path) -> None:
    src = _write_csv(tmp_path / "wjx.csv")
    whole = _failures(cli, src, tmp_path, "--chunk-size", "0")
    streamed = _failures(cli, src, tmp_path, "--chunk-size", "4")
    pd.testing.assert_frame_equal(streamed, whole)
    assert streamed["file_row"].nunique() > 2


def test_file_row_is_the_spreadsheet_row_of_an_xlsx_input(cli, tmp_path: Path) -> None:
    src = _write_xlsx(tmp_path / "wjx.xlsx")
    failures = _failures(cli, src, tmp_path)
    sheet = openpyxl.load_workbook(src).active
    cells = failures[failures["item"] != ""]
    assert len(cells) == len(BAD)
    for _, f in cells.iterrows():
        row = int(f["file_row"])
        assert str(sheet.cell(row=row, column=HEADER.index(f["column"]) + 1).value) == f["value"]
        assert f["source_ref"] == f"序号 {sheet.cell(row=row, column=1).value}"


def test_api_gives_the_same_failures_as_the_cli(cli, tmp_path: Path) -> None:
    src = _write_csv(tmp_path / "wjx.csv")
    from_cli = _failures(cli, src, tmp_path, "--chunk-size", "0")
    frame = pd.read_csv(src, encoding="gb18030", dtype=str)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        api = xs.screen(frame, ["phq9"], id_column="学号").failures
    assert list(api.columns) == RESULT_FAILURE_COLUMNS
    assert api["file_row"].dtype == np.int64
    got = api.astype(object).where(api.notna(), "").astype(str)
    pd.testing.assert_frame_equal(got, from_cli, check_dtype=False)


def test_without_a_wjx_number_source_ref_is_empty() -> None:
    frame = pd.DataFrame({"sid": ["1", "2"], **{i: ["1", "x"] for i in ITEMS}})
    failures = xs.screen(frame, ["phq9"], id_column="sid").failures
    assert failures["file_row"].tolist() == [3] * len(ITEMS)
    assert failures["source_ref"].isna().all()


def test_locate_failures_recomputes_after_an_offset() -> None:
    refs = source_refs(pd.DataFrame({"序号": [7, 8.0, None]}))
    assert refs.iloc[0] == "序号 7" and refs.iloc[1] == "序号 8" and pd.isna(refs.iloc[2])
    failures = pd.DataFrame({"row": [0, 2], "id": ["a", None], "item": ["i", None],
                             "column": ["c", "sid"], "code": ["x", "missing-id"],
                             "value": ["v", None]})
    out = locate_failures(failures, refs)
    assert list(out.columns) == RESULT_FAILURE_COLUMNS
    assert out["file_row"].tolist() == [2, 4]
    assert out["source_ref"].iloc[0] == "序号 7" and pd.isna(out["source_ref"].iloc[1])
    assert locate_failures(out, refs).equals(out)  # idempotent


def test_dask_run_numbers_rows_as_the_pandas_run() -> None:
    dd = pytest.importorskip("dask.dataframe")
    rows = _rows()
    frame = pd.DataFrame([[r[0], r[3], *r[4:]] for r in rows],
                         columns=["序号", "学号", *ITEMS])  # not a 问卷星 header: as given
    frame["学号"] = frame["学号"].replace("", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = xs.screen(frame, ["phq9"], id_column="学号").failures
        got = xs.screen(dd.from_pandas(frame, npartitions=3), ["phq9"],
                        id_column="学号").failures
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)
    assert want["file_row"].max() > 10 and want["source_ref"].notna().all()
