"""Return sheets and the follow-up list on a small archive: what a hurried psychologist does
with a sheet (issue 13 fresh-user findings).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

import xinli_screen as xs
from xinli_screen.archive import ArchiveStore
from xinli_screen.followup import (
    ReturnSheetError,
    follow_up,
    import_return_sheets,
    read_return_sheet,
    write_return_sheets,
)
from xinli_screen.wave.warning_list import warning_list

ITEMS = [f"phq9_{i:02d}" for i in range(1, 10)]
#: item answers; totals 12 (class), 16 (school), 0 and 8 (not listed) under the default policy
ANSWERS = {"001": [2, 2, 2, 2, 1, 1, 1, 1, 0], "002": [2, 2, 2, 2, 2, 2, 2, 2, 0],
           "003": [0] * 9, "004": [1, 1, 1, 1, 1, 1, 1, 1, 0]}


@pytest.fixture
def archive(tmp_path: Path) -> tuple[ArchiveStore, Path]:
    rows = [{"sid": k, **dict(zip(ITEMS, v, strict=True))} for k, v in ANSWERS.items()]
    roster = pd.DataFrame({"sid": list(ANSWERS), "school": "一中", "grade": "初一",
                           "class": "1班"})
    result = xs.screen(pd.DataFrame(rows), ["phq9"], id_column="sid")
    store = ArchiveStore(str(tmp_path / "a.db"))
    store.import_wave(result.table, result.provenance, "w1", by="me", roster=roster)
    table, _ = warning_list(store, "w1")
    write_return_sheets(table, tmp_path / "lists", wave="w1",
                        labels=store.labels)
    yield store, tmp_path / "lists" / "复核回执_一中.xlsx"
    store.close()


def _fill(path: Path, values: dict[str, dict[str, object]], out: Path,
          *, first_tab: str | None = None) -> Path:
    book = load_workbook(path)
    ws = book["复核回执"]
    heads = {c.value: c.column for c in ws[2]}
    for r in range(3, ws.max_row + 1):
        pid = ws.cell(r, heads["学号"]).value
        for name, value in values.get(str(pid), {}).items():
            ws.cell(r, heads[name]).value = value
    if first_tab:
        book.move_sheet(first_tab, offset=-1)
    book.save(out)
    return out


def test_a_review_that_raises_the_tier_brings_its_deadlines(archive, tmp_path) -> None:
    store, sheet = archive
    today = dt.date.today()
    filled = _fill(sheet, {"001": {"复核结果": "复核调整级别", "调整后级别": "区级预警",
                                   "复核人": "王老师", "复核日期": today}}, tmp_path / "f.xlsx")
    import_return_sheets(store, [filled], by="区中心")
    fu = follow_up(store, "w1", as_of=today + dt.timedelta(days=3))
    row = fu.table.set_index("pupil_id").loc["001"]
    assert row["effective_tier"] == "district" and row["tier"] == "district"
    assert row["action_state"] == "overdue" and row["todo"]


def test_another_outcome_later_is_counted_and_reported(archive, tmp_path) -> None:
    store, sheet = archive
    today = dt.date.today()
    first = _fill(sheet, {"002": {"复核结果": "复核确认", "复核人": "王老师",
                                  "复核日期": today}}, tmp_path / "a.xlsx")
    second = _fill(sheet, {"002": {"复核结果": "复核未确认", "复核人": "王老师",
                                   "复核日期": today}}, tmp_path / "b.xlsx")
    assert import_return_sheets(store, [first], by="x").replaced == 0
    again = import_return_sheets(store, [second], by="x")
    assert again.reviews == 1 and again.replaced == 1
    assert store.wave_table("w1").set_index("pupil_id").loc["002", "review_status"] == \
        "not_confirmed"


def test_the_return_tab_is_found_when_not_first(archive, tmp_path) -> None:
    _, sheet = archive
    moved = _fill(sheet, {}, tmp_path / "m.xlsx", first_tab="填写说明")
    assert load_workbook(moved).sheetnames[0] == "填写说明"
    rows = read_return_sheet(moved)
    assert set(rows["pupil_id"].dropna()) == {"001", "002"}   # 004: total 8, not listed


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf\xe5\xad\xa6\xe5\x8f\xb7,x\n1,2\n",
                                     b"PK\x03\x04 not really a zip"])
def test_a_file_that_is_not_xlsx_is_named_not_a_traceback(tmp_path, content) -> None:
    path = tmp_path / "复核回执.xlsx"
    path.write_bytes(content)
    with pytest.raises(ReturnSheetError, match="cannot be read as an XLSX"):
        read_return_sheet(path)


def test_return_sheet_keeps_ids_as_text_and_measures_open(archive) -> None:
    _, sheet = archive
    ws = load_workbook(sheet)["复核回执"]
    heads = {c.value: c.column_letter for c in ws[2]}
    assert ws.column_dimensions[heads["学号"]].number_format == "@"
    # every cell of the column, written and spare, is text itself: a cell's own format wins
    # over its column's, so a re-typed 04260624 must stay text in Excel (user check, issue 18)
    ids = [row[0] for row in ws[f"{heads['学号']}3:{heads['学号']}{ws.max_row}"]]
    assert len(ids) > 30 and {c.number_format for c in ids} == {"@"}
    assert all(c.data_type == "s" for c in ids if c.value is not None)
    styles = {str(v.sqref).split(":")[0][0]: v.errorStyle
              for v in ws.data_validations.dataValidation if v.type == "list"}
    assert styles[heads["干预措施"]] == "warning"
    assert styles[heads["复核结果"]] in (None, "stop")          # Excel's default: stop


def test_cli_refuses_a_missing_archive(cli, tmp_path) -> None:
    missing = tmp_path / "nope.db"
    run = cli("followup", "list", "--archive", missing, "--wave", "w1")
    assert run.code == 2 and "no archive" in run.err and not missing.exists()
    run = cli("review", "import", tmp_path / "x.xlsx", "--archive", missing, "--by", "me")
    assert run.code == 2 and not missing.exists()


def test_a_pupil_listed_before_a_retest_can_still_be_reviewed(archive, tmp_path) -> None:
    """The sheet was handed out while 001 was listed; a retest then lowered the tier."""
    store, sheet = archive
    rows = [{"sid": "001", **dict.fromkeys(ITEMS, 0)}]
    retest = xs.screen(pd.DataFrame(rows), ["phq9"], id_column="sid")
    store.import_wave(retest.table, retest.provenance, "w1", by="me", part="retest",
                      retest=True)
    assert store.wave_table("w1").set_index("pupil_id").loc["001", "warning_tier"] == "none"
    filled = _fill(sheet, {"001": {"复核结果": "复核未确认", "复核人": "王老师",
                                   "复核日期": dt.date.today()}}, tmp_path / "r.xlsx")
    assert import_return_sheets(store, [filled], by="x").reviews == 1


def test_truth_driven_filling_refuses_sheets_it_cannot_match(archive, tmp_path) -> None:
    """Return sheets whose ids are not in the truth file (a pseudonymised archive) are
    refused rather than filled with meaningless outcomes."""
    import shutil

    from xinli_screen.demo.returns import fill_return_sheets

    _, sheet = archive
    folder = tmp_path / "sheets"
    folder.mkdir()
    shutil.copy(sheet, folder / sheet.name)
    truth = pd.DataFrame({"学号": ["p_aa", "p_bb"], "学校": ["一中"] * 2,
                          "absent": [False, False], "latent": [2.0, 0.0]})
    with pytest.raises(ValueError, match="truth file"):
        fill_return_sheets(folder, truth=truth)
    matching = truth.assign(学号=["001", "002"])
    assert len(fill_return_sheets(folder, truth=matching, invalid=False)) >= 2
