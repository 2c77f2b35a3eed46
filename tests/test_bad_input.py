"""Bad and awkward input, through the CLI and through ``xs.screen`` / ``xs.prepare_responses``.

Every case checks that rows come out exactly once, in input order, and that no respondent id
and no answer ever appears in a message (stderr, exception or warning text). Sentinel values
make a leak easy to spot; they must still reach the failures table where that applies.
"""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen.io import read_table

SECRET_ID = "SECRET-ID-4711"
SECRET_ID_2 = "SECRET-ID-0815"
SECRET_ANSWER = "SECRET-ANSWER"
SECRETS = (SECRET_ID, SECRET_ID_2, SECRET_ANSWER)
PHQ9_SYMPTOMS = [f"phq9_{i:02d}" for i in range(1, 10)]
HEADER = ["sid", *PHQ9_SYMPTOMS]
FAILURE_COLUMNS = ["row", "id", "item", "column", "code", "value"]


# ---------------------------------------------------------------- helpers


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"{secret} leaked into a message: {text!r}"


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER,
              encoding: str = "utf-8", delimiter: str = ",") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_results(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def score(cli, data: Path, tmp_path: Path, *extra: object, id_column: str | None = "sid"):
    """Run ``score`` writing results and failures to CSV; returns (run, results, failures)."""
    out, fails = tmp_path / "out.csv", tmp_path / "failures.csv"
    id_args = ["--id-column", id_column] if id_column else []
    run = cli("score", data, "-i", "phq9", *id_args, *extra, "-o", out, "--failures", fails)
    assert run.out == ""  # data goes to the files, messages to stderr
    assert_no_secret(run.err)
    results = read_results(out) if out.exists() else None
    failures = read_results(fails) if fails.exists() else None
    return run, results, failures


def screen_quietly(data: pd.DataFrame, **kwargs) -> tuple[xs.ScreeningResult, list[str]]:
    """``xs.screen`` recording warning messages (which must not leak data either)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = xs.screen(data, ["phq9"], **kwargs)
    messages = [str(w.message) for w in caught]
    assert_no_secret(*messages)
    return result, messages


def frame(rows: list[list[object]], header: list[str] = HEADER) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=header, dtype=object)


def phq9() -> xs.Instrument:
    return xs.load_instrument("phq9")


# ---------------------------------------------------------------- cell values

#: (cell in phq9_01, parsed code or NaN, failure code or None)
CELLS: list[tuple[str, float, str | None]] = [
    ("0", 0, None),
    ("3", 3, None),
    (" 1 ", 1, None),
    ("2.0", 2, None),
    ("4", math.nan, "out-of-range"),
    ("-1", math.nan, "out-of-range"),
    ("99", math.nan, "out-of-range"),
    ("1.5", math.nan, "not-a-code"),
    ("０.５", math.nan, "not-a-code"),
    (SECRET_ANSWER, math.nan, "unrecognised-text"),
    ("maybe", math.nan, "unrecognised-text"),
    ("好几天", 1, None),
    ("有几天", 1, None),
    ("A.完全不会", 0, None),
    ("B、好几天", 1, None),
    ("C. 一半以上的天数", 2, None),
    ("几乎每天", 3, None),
    ("Several days", 1, None),
    ("NEARLY EVERY DAY", 3, None),
    ("２", 2, None),
    ("３", 3, None),
    ("", math.nan, None),
]


def _cell_rows() -> tuple[list[str], list[list[str]]]:
    ids = [SECRET_ID if cell == SECRET_ANSWER else f"R{n:03d}" for n, (cell, _, _) in
           enumerate(CELLS)]
    rows = [[rid, cell, *["0"] * 8] for rid, (cell, _, _) in zip(ids, CELLS, strict=True)]
    return ids, rows


def _expected_failures(ids: list[str]) -> list[list[object]]:
    return [[n, ids[n], "phq9_01", code, cell]
            for n, (cell, _, code) in enumerate(CELLS) if code is not None]


def test_cells_api_prepare_responses():
    ids, rows = _cell_rows()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepared = xs.prepare_responses(frame(rows), [phq9()], id_column="sid")
    assert_no_secret(*(str(w.message) for w in caught))
    got = prepared.responses["phq9_01"].tolist()
    want = [value for _, value, _ in CELLS]
    assert len(got) == len(want)
    for cell, g, w in zip(CELLS, got, want, strict=True):
        assert (math.isnan(g) and math.isnan(w)) or g == w, cell
    assert prepared.ids.tolist() == ids
    failures = prepared.failures
    assert list(failures.columns) == FAILURE_COLUMNS
    assert failures[["row", "id", "item", "code", "value"]].values.tolist() == \
        _expected_failures(ids)
    assert (failures["column"] == "phq9_01").all()


def test_cells_api_screen():
    ids, rows = _cell_rows()
    result, _ = screen_quietly(frame(rows), id_column="sid", lang="en")
    assert result.table["sid"].tolist() == ids
    invalid = [n for n, (_, _, code) in enumerate(CELLS) if code is not None]
    assert [n for n, s in enumerate(result.table["status"]) if s == "invalid"] == invalid
    assert result.failures[["row", "id", "item", "code", "value"]].values.tolist() == \
        _expected_failures(ids)
    secret_row = ids.index(SECRET_ID)
    assert "phq9_01" in result.table.loc[secret_row, "status_detail"]
    # an unusable cell is left unscored, never turned into a number
    assert math.isnan(result.table.loc[secret_row, "phq9.total"])
    # the label rows were scored: "几乎每天" on item 1 gives total 3
    assert result.table.loc[ids.index("R016"), "phq9.total"] == 3


def test_cells_cli(cli, tmp_path):
    ids, rows = _cell_rows()
    data = write_csv(tmp_path / "answers.csv", rows)
    run, results, failures = score(cli, data, tmp_path)
    assert run.code == 1
    assert results["sid"].tolist() == ids
    want = [[str(r), i, item, code, value] for r, i, item, code, value in _expected_failures(ids)]
    assert failures[["row", "id", "item", "code", "value"]].values.tolist() == want
    assert SECRET_ANSWER in failures["value"].tolist()
    assert SECRET_ID in failures["id"].tolist()
    assert "out-of-range 3" in run.err
    assert "not-a-code 2" in run.err
    assert "unrecognised-text 2" in run.err


def test_numeric_dtypes_api():
    data = pd.DataFrame({
        "sid": ["a", "b", "c", "d"],
        "phq9_01": pd.Series([0, 3, 4, -1], dtype="int64"),
        "phq9_02": pd.Series([1.5, np.nan, 2.0, 3.0], dtype="float64"),
        "phq9_03": pd.Series([1, None, 5, 2], dtype="Int64"),
    })
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = xs.prepare_responses(data, [phq9()], id_column="sid")
    responses = prepared.responses
    assert responses["phq9_01"].tolist()[:2] == [0, 3]
    assert responses["phq9_01"].iloc[2:].isna().all()
    assert responses["phq9_02"].iloc[:2].isna().all()
    assert responses["phq9_02"].iloc[2:].tolist() == [2, 3]
    assert prepared.failures[["row", "item", "code"]].values.tolist() == [
        [0, "phq9_02", "not-a-code"],
        [2, "phq9_01", "out-of-range"],
        [2, "phq9_03", "out-of-range"],
        [3, "phq9_01", "out-of-range"],
    ]
    assert len(responses) == 4


def test_missing_codes_are_not_failures_api():
    rows = [["a", "7", *["0"] * 8], ["b", "9", *["0"] * 8], ["c", "8", *["0"] * 8]]
    result, _ = screen_quietly(frame(rows), id_column="sid", missing_codes=[7, 9])
    assert result.table["sid"].tolist() == ["a", "b", "c"]
    assert result.table["status"].tolist() == ["incomplete", "incomplete", "invalid"]
    assert result.failures[["row", "code", "value"]].values.tolist() == [
        [2, "out-of-range", "8"]]


# ---------------------------------------------------------------- ids


def test_duplicate_ids_api():
    ids = [SECRET_ID, "007", SECRET_ID, SECRET_ID_2, SECRET_ID]
    rows = [[rid, *[str(n % 4)] * 9] for n, rid in enumerate(ids)]
    result, _ = screen_quietly(frame(rows), id_column="sid")
    table = result.table
    assert table["sid"].tolist() == ids
    assert table["status"].tolist() == ["duplicate_id", "scored", "duplicate_id", "scored",
                                        "duplicate_id"]
    # every copy is still scored, each with its own answers
    assert table["phq9.total"].tolist() == [0, 9, 18, 27, 0]
    dups = result.failures[result.failures["code"] == "duplicate-id"]
    assert dups[["row", "id", "column"]].values.tolist() == [
        [0, SECRET_ID, "sid"], [2, SECRET_ID, "sid"], [4, SECRET_ID, "sid"]]
    assert result.summary()["status"]["duplicate_id"] == 3


def test_duplicate_ids_cli(cli, tmp_path):
    ids = [SECRET_ID, "007", SECRET_ID, SECRET_ID_2, SECRET_ID]
    data = write_csv(tmp_path / "answers.csv", [[rid, *["1"] * 9] for rid in ids])
    run, results, failures = score(cli, data, tmp_path)
    assert run.code == 1
    assert results["sid"].tolist() == ids
    assert results["status"].tolist().count("duplicate_id") == 3
    assert failures[["row", "id", "code"]].values.tolist() == [
        ["0", SECRET_ID, "duplicate-id"], ["2", SECRET_ID, "duplicate-id"],
        ["4", SECRET_ID, "duplicate-id"]]
    assert "duplicate id 3" in run.err


def test_missing_ids_api():
    rows = [["007", *["0"] * 9], [None, *["0"] * 9], ["  ", *["0"] * 9], ["", *["0"] * 9],
            [SECRET_ID, *["0"] * 9]]
    result, _ = screen_quietly(frame(rows), id_column="sid")
    assert len(result.table) == 5
    assert result.table["status"].tolist() == ["scored", "missing_id", "missing_id",
                                               "missing_id", "scored"]
    assert result.table["sid"].iloc[0] == "007"
    assert result.table["sid"].iloc[4] == SECRET_ID
    assert result.table["sid"].iloc[1:4].isna().all()
    missing = result.failures[result.failures["code"] == "missing-id"]
    assert missing["row"].tolist() == [1, 2, 3]


def test_missing_ids_cli(cli, tmp_path):
    rows = [["007", *["0"] * 9], ["", *["0"] * 9], [SECRET_ID, *["0"] * 9]]
    data = write_csv(tmp_path / "answers.csv", rows)
    run, results, failures = score(cli, data, tmp_path)
    assert run.code == 1
    assert results["sid"].tolist() == ["007", "", SECRET_ID]
    assert results["status"].tolist() == ["scored", "missing_id", "scored"]
    assert failures[["row", "code"]].values.tolist() == [["1", "missing-id"]]
    assert "missing id 1" in run.err


def test_ids_keep_leading_zeros_api():
    rows = [["007", *["0"] * 9], ["0042", *["0"] * 9], ["00", *["0"] * 9],
            ["００９", *["0"] * 9], [" 010 ", *["0"] * 9]]
    result, _ = screen_quietly(frame(rows), id_column="sid")
    assert result.table["sid"].tolist() == ["007", "0042", "00", "009", "010"]
    assert (result.table["status"] == "scored").all()


def test_float_ids_lose_only_the_trailing_zero_api():
    data = pd.DataFrame({"sid": [93705.0, np.nan, 12.5],
                         **{item: [0, 0, 0] for item in PHQ9_SYMPTOMS}})
    result, _ = screen_quietly(data, id_column="sid")
    assert result.table["sid"].iloc[0] == "93705"
    assert pd.isna(result.table["sid"].iloc[1])
    assert result.table["sid"].iloc[2] == "12.5"
    assert result.table["status"].tolist() == ["scored", "missing_id", "scored"]


def test_ids_keep_leading_zeros_cli(cli, tmp_path):
    ids = ["007", "0042", "000123456789012345678", SECRET_ID]
    data = write_csv(tmp_path / "answers.csv", [[rid, *["2"] * 9] for rid in ids])
    run, results, _ = score(cli, data, tmp_path)
    assert run.code == 0, run.err
    assert results["sid"].tolist() == ids


# ---------------------------------------------------------------- columns


def test_column_map_names_absent_column(cli, tmp_path):
    rows = [[SECRET_ID, *["0"] * 9]]
    data = write_csv(tmp_path / "answers.csv", rows)
    cmap = tmp_path / "cols.yaml"
    cmap.write_text("phq9_01: ITEM_ONE_TYPO\nphq9_02: phq9_02\n", encoding="utf-8")
    run, results, _ = score(cli, data, tmp_path, "--columns", cmap)
    assert run.code == 1
    assert "ITEM_ONE_TYPO" in run.err
    assert "answers.csv" in run.err
    assert results is None
    with pytest.raises(xs.ResponseDataError, match="ITEM_ONE_TYPO") as info:
        xs.screen(frame(rows), ["phq9"], id_column="sid",
                  columns={"phq9_01": "ITEM_ONE_TYPO"})
    assert_no_secret(str(info.value))


def test_id_column_absent(cli, tmp_path):
    rows = [[SECRET_ID, *["0"] * 9]]
    data = write_csv(tmp_path / "answers.csv", rows)
    run, results, _ = score(cli, data, tmp_path, id_column="student_no")
    assert run.code == 1
    assert "'student_no'" in run.err
    assert results is None
    with pytest.raises(xs.ResponseDataError, match="student_no") as info:
        xs.prepare_responses(frame(rows), [phq9()], id_column="student_no")
    assert_no_secret(str(info.value))


def test_instrument_without_any_column_suggests_columns(cli, tmp_path):
    header = ["sid", *[f"Q{i}" for i in range(1, 10)]]
    rows = [[SECRET_ID, *["1"] * 8, SECRET_ANSWER]]
    data = write_csv(tmp_path / "answers.csv", rows, header=header)
    run, results, _ = score(cli, data, tmp_path)
    assert run.code == 1
    assert "'phq9'" in run.err
    assert "--columns" in run.err
    assert results is None
    with pytest.raises(xs.ResponseDataError, match="--columns") as info:
        xs.prepare_responses(frame(rows, header=header), [phq9()], id_column="sid")
    assert_no_secret(str(info.value))


def test_partly_missing_and_unknown_columns(cli, tmp_path):
    header = ["sid", "class", *PHQ9_SYMPTOMS[:7]]  # phq9_08, phq9_09 absent
    rows = [[SECRET_ID, "3-2", *["1"] * 7], ["007", "3-1", *["0"] * 7]]
    result, messages = screen_quietly(frame(rows, header=header), id_column="sid")
    assert result.table["sid"].tolist() == [SECRET_ID, "007"]
    assert result.table["status"].tolist() == ["incomplete", "incomplete"]
    assert any("phq9_08" in m and "phq9_09" in m for m in messages)
    assert result.provenance["unused_input_columns"] == ["class"]
    assert result.provenance["missing_item_columns"] == ["phq9_08", "phq9_09", "phq9_10"]
    data = write_csv(tmp_path / "answers.csv", rows, header=header)
    run, results, failures = score(cli, data, tmp_path)
    assert run.code == 0, run.err
    assert results["sid"].tolist() == [SECRET_ID, "007"]
    assert len(failures) == 0
    assert "phq9_08" in run.err


def test_columns_matched_case_insensitively(cli, tmp_path):
    header = ["SID", *[c.upper() for c in PHQ9_SYMPTOMS]]
    data = write_csv(tmp_path / "answers.csv", [["007", *["1"] * 9]], header=header)
    run, results, _ = score(cli, data, tmp_path, id_column="SID")
    assert run.code == 0, run.err
    assert results["phq9.total"].tolist() == ["9.0"]


def test_headerless_file_does_not_leak_first_row(cli, tmp_path):
    path = tmp_path / "no_header.csv"
    path.write_text(f"{SECRET_ID},1,2,3,0,0,0,0,0,{SECRET_ANSWER}\n007,0,0,0,0,0,0,0,0,0\n",
                    encoding="utf-8")
    for id_args in (["--id-column", "sid"], []):
        run = cli("score", path, "-i", "phq9", *id_args)
        assert run.code == 1
        assert_no_secret(run.err)
        assert "header" in run.err
    data, _ = read_table(path)
    for kwargs in ({"id_column": "sid"}, {}):
        with pytest.raises(xs.ResponseDataError) as info:
            xs.prepare_responses(data, [phq9()], **kwargs)
        assert_no_secret(str(info.value))


def test_brackets_in_names_are_printed_verbatim(cli, tmp_path):
    """Column and file names are data, not rich markup: printed as they are, never a crash."""
    data = write_csv(tmp_path / "answers[draft].csv", [[SECRET_ID, *["0"] * 9]])
    cmap = tmp_path / "cols.yaml"
    cmap.write_text('phq9_01: "[/x]"\nphq9_02: "[bold]Q2"\n', encoding="utf-8")
    run, results, _ = score(cli, data, tmp_path, "--columns", cmap)
    assert run.code == 1
    assert "[/x]" in run.err
    assert "[bold]Q2" in run.err
    assert "answers[draft].csv" in run.err
    assert results is None


# ---------------------------------------------------------------- files


def test_header_only_csv(cli, tmp_path):
    data = write_csv(tmp_path / "answers.csv", [])
    run, results, failures = score(cli, data, tmp_path)
    assert run.code == 0, run.err
    assert len(results) == 0
    assert {"sid", "status", "phq9.total", "warning_tier"} <= set(results.columns)
    assert len(failures) == 0
    assert "rows read 0" in run.err
    result, _ = screen_quietly(frame([]), id_column="sid")
    assert len(result.table) == 0
    assert len(result.failures) == 0


def test_gbk_csv_with_chinese_headers_and_labels(cli, tmp_path):
    header = ["学号", *[f"第{i}题" for i in range(1, 10)]]
    ids = [SECRET_ID, "007", "张三0042"]
    rows = [
        [ids[0], *["好几天"] * 9],
        [ids[1], *["完全不会"] * 8, SECRET_ANSWER],
        [ids[2], *["几乎每天"] * 8, "A.完全不会"],
    ]
    data = write_csv(tmp_path / "answers.csv", rows, header=header, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        data.read_bytes().decode("utf-8")  # really not UTF-8
    cmap = tmp_path / "cols.yaml"
    cmap.write_text("".join(f"phq9_{i:02d}: 第{i}题\n" for i in range(1, 10)), encoding="utf-8")
    run, results, failures = score(cli, data, tmp_path, "--columns", cmap, id_column="学号")
    assert run.code == 1
    assert results["学号"].tolist() == ids
    assert results["phq9.total"].tolist() == ["9.0", "", "24.0"]
    assert failures[["row", "id", "item", "column", "value"]].values.tolist() == [
        ["1", "007", "phq9_09", "第9题", SECRET_ANSWER]]
    table, info = read_table(data)
    assert info["encoding"] == "gb18030"
    assert list(table.columns) == header


def test_utf8_bom_csv(cli, tmp_path):
    ids = ["007", SECRET_ID]
    data = write_csv(tmp_path / "answers.csv", [[i, *["1"] * 9] for i in ids],
                     encoding="utf-8-sig")
    assert data.read_bytes().startswith(b"\xef\xbb\xbf")
    run, results, _ = score(cli, data, tmp_path)
    assert run.code == 0, run.err
    assert results["sid"].tolist() == ids
    table, _ = read_table(data)
    assert table.columns[0] == "sid"


def test_semicolon_csv(cli, tmp_path):
    ids = ["007", SECRET_ID, "0042"]
    rows = [[ids[0], *["A.完全不会"] * 9], [ids[1], *["2"] * 8, SECRET_ANSWER],
            [ids[2], *["Several days"] * 9]]
    data = write_csv(tmp_path / "answers.csv", rows, delimiter=";")
    run, results, failures = score(cli, data, tmp_path)
    assert run.code == 1
    assert results["sid"].tolist() == ids
    assert results["phq9.total"].tolist() == ["0.0", "", "9.0"]
    assert failures["value"].tolist() == [SECRET_ANSWER]


def test_tab_separated_tsv(cli, tmp_path):
    ids = ["007", SECRET_ID]
    data = write_csv(tmp_path / "answers.tsv", [[i, *["3"] * 9] for i in ids], delimiter="\t")
    run, results, _ = score(cli, data, tmp_path)
    assert run.code == 0, run.err
    assert results["sid"].tolist() == ids


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    return path


def _blank(tmp_path: Path) -> Path:
    path = tmp_path / "blank.csv"
    path.write_text("\n  \n\n", encoding="utf-8")
    return path


def _binary(tmp_path: Path) -> Path:
    path = tmp_path / "binary.csv"
    path.write_bytes(b"sid," + SECRET_ID.encode() + b"\n" + bytes(range(256)) * 8
                     + SECRET_ANSWER.encode())
    return path


def _ragged(tmp_path: Path) -> Path:
    path = tmp_path / "ragged.csv"
    path.write_text(",".join(HEADER) + "\n" + ",".join(["007", *["1"] * 9]) + "\n"
                    + ",".join([SECRET_ID, *["1"] * 9, "2", SECRET_ANSWER]) + "\n",
                    encoding="utf-8")
    return path


def _legacy_xls(tmp_path: Path) -> Path:
    path = tmp_path / "answers.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + SECRET_ID.encode() + b"\0" * 512)
    return path


def _corrupt_xlsx(tmp_path: Path) -> Path:
    path = tmp_path / "answers.xlsx"
    path.write_bytes(b"PK\x03\x04" + SECRET_ID.encode() + b"\0" * 64)
    return path


def _docx(tmp_path: Path) -> Path:
    path = tmp_path / "answers.docx"
    path.write_bytes(SECRET_ID.encode())
    return path


def _absent(tmp_path: Path) -> Path:
    return tmp_path / "absent.csv"


#: (builder, fragments every message must contain)
UNREADABLE: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    "empty": (_empty, ("empty.csv", "empty")),
    "blank-lines-only": (_blank, ("blank.csv", "empty")),
    "binary": (_binary, ("binary.csv", "cannot decode", "offset")),
    "ragged-row": (_ragged, ("ragged.csv", "malformed CSV", "line 3")),
    "corrupt-xls": (_legacy_xls, ("answers.xls", "cannot read as an Excel 97-2003",
                                   "save as .xlsx")),
    "corrupt-xlsx": (_corrupt_xlsx, ("answers.xlsx", "cannot read as an Excel workbook")),
    "unsupported-type": (_docx, ("answers.docx", "unsupported file type", ".docx")),
    "no-such-file": (_absent, ("absent.csv", "no such file")),
}


@pytest.mark.parametrize("case", list(UNREADABLE))
def test_unreadable_file_cli(cli, tmp_path, case):
    build, fragments = UNREADABLE[case]
    path = build(tmp_path)
    run, results, failures = score(cli, path, tmp_path)
    assert run.code == (2 if case == "no-such-file" else 1)  # a missing file is a usage error
    for fragment in fragments:
        assert fragment in run.err
    assert results is None
    assert failures is None


@pytest.mark.parametrize("case", list(UNREADABLE))
def test_unreadable_file_api(tmp_path, case):
    build, fragments = UNREADABLE[case]
    path = build(tmp_path)
    with pytest.raises(xs.ResponseDataError) as info:
        read_table(path)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message
    assert_no_secret(message)


def test_xlsx_input_with_text_ids(cli, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["007", *[1] * 9])
    sheet.append(["0042", *["好几天"] * 8, SECRET_ANSWER])
    sheet.append([SECRET_ID, *[2] * 9])
    sheet.append([93705, *["A.完全不会"] * 9])
    path = tmp_path / "answers.xlsx"
    book.save(path)
    out = tmp_path / "out.xlsx"
    run = cli("score", path, "-i", "phq9", "--id-column", "sid", "-o", out)
    assert run.code == 1
    assert_no_secret(run.err)
    results = openpyxl.load_workbook(out)["results"]
    ids = [row[0] for row in results.iter_rows(min_row=2, max_col=1, values_only=True)]
    assert ids == ["007", "0042", SECRET_ID, "93705"]
    failures = pd.read_excel(out, sheet_name="failures", dtype=str)
    assert failures[["row", "id", "item", "value"]].values.tolist() == [
        ["1", "0042", "phq9_09", SECRET_ANSWER]]
    data, info = read_table(path)
    assert info["format"] == "xlsx"
    assert data["sid"].tolist() == ["007", "0042", SECRET_ID, "93705"]


def test_formula_like_id_is_written_as_text(cli, tmp_path):
    formula = '=HYPERLINK("x")'
    rows = [["007", *["0"] * 9], [formula, *["0"] * 8, "5"], ["@SUM(1)", *["1"] * 9]]
    data = write_csv(tmp_path / "answers.csv", rows)
    out, fails = tmp_path / "out.xlsx", tmp_path / "failures.xlsx"
    run = cli("score", data, "-i", "phq9", "--id-column", "sid", "-o", out, "--failures", fails)
    assert run.code == 1
    assert "HYPERLINK" not in run.err
    book = openpyxl.load_workbook(out)
    id_cells = [row[0] for row in book["results"].iter_rows(min_row=2, max_col=1)]
    assert [c.value for c in id_cells] == ["007", formula, "@SUM(1)"]
    assert all(c.data_type == "s" for c in id_cells)
    for sheet in (book["failures"], openpyxl.load_workbook(fails)["failures"]):
        header = [c.value for c in next(sheet.iter_rows(max_row=1))]
        id_cell = sheet.cell(row=2, column=header.index("id") + 1)
        assert id_cell.value == formula
        assert id_cell.data_type == "s"


@pytest.mark.parametrize("text", ["B好几天", "(B)好几天", "（B）好几天", "好几天（3-6天）",
                                  "B.好几天(1分)", "Ｂ．好几天", "b) Several days"])
def test_decorated_option_labels_are_read(text):
    """问卷星 / transcription decorations around a label: a letter, a note in brackets."""
    data = pd.DataFrame([{f"phq9_0{k}": "完全不会" for k in range(1, 9)} | {"phq9_09": text}])
    result, _ = screen_quietly(data)
    assert result.failures.empty
    assert result.table.loc[0, "critical_items"] == "phq9.self_harm_thoughts"


@pytest.mark.parametrize("text", ["B", "好幾天", "好几"])
def test_undecorated_guesses_stay_failures(text):
    data = pd.DataFrame([{f"phq9_0{k}": 0 for k in range(1, 9)} | {"phq9_09": text}])
    result, _ = screen_quietly(data)
    assert result.failures["code"].tolist() == ["unrecognised-text"]


def test_trailing_comma_does_not_shift_columns(cli, tmp_path):
    header = ["sid", *PHQ9_SYMPTOMS]
    path = tmp_path / "trail.csv"
    path.write_text(",".join(header) + "\n00501,0,0,0,0,0,0,0,3,3,\n00502,0,0,0,0,0,0,0,0,0,\n",
                    encoding="utf-8")
    _, results, _ = score(cli, path, tmp_path, id_column="sid")
    assert results["sid"].tolist() == ["00501", "00502"]
    assert results["warning_tier"].tolist() == ["district", "none"]


def test_extra_filled_cell_is_a_malformed_csv(cli, tmp_path):
    path = tmp_path / "extra.csv"
    path.write_text("sid," + ",".join(PHQ9_SYMPTOMS) + "\n1,0,0,0,0,0,0,0,0,0,7\n",
                    encoding="utf-8")
    run = cli("score", path, "-i", "phq9", "--id-column", "sid")
    assert run.code == 1 and "more filled cells than the header" in run.err


def test_column_map_giving_one_column_to_two_items_is_refused():
    data = pd.DataFrame({"sid": ["1"], "q1": ["0"], **{c: ["0"] for c in PHQ9_SYMPTOMS[2:]}})
    with pytest.raises(xs.ResponseDataError, match="same column to several items"):
        xs.screen(data, ["phq9"], columns={"phq9_01": "q1", "phq9_02": "q1"})
    with pytest.raises(xs.ResponseDataError, match="both the id column and an item"):
        xs.screen(data, ["phq9"], id_column="sid", columns={"phq9_01": "sid", "phq9_02": "q1"})


def test_wjx_numbered_id_header_is_found():
    """问卷星 numbers fill-in questions: the header is '1、学号' for the id column '学号'."""
    data = pd.DataFrame({"1、学号": ["007"], **{c: ["0"] for c in PHQ9_SYMPTOMS}})
    result, _ = screen_quietly(data, id_column="学号")
    assert result.table["学号"].tolist() == ["007"]


def test_a_repeated_item_or_id_column_name_is_named_not_a_crash():
    items = [f"phq9_{i:02d}" for i in range(1, 10)]
    df = pd.DataFrame({"sid": [SECRET_ID, "b"], **{c: [1, 2] for c in items}})
    for column in ("phq9_01", "sid"):
        with pytest.raises(xs.errors.ResponseDataError, match=repr(column)) as caught:
            xs.screen(pd.concat([df, df[[column]]], axis=1), ["phq9"], id_column="sid")
        assert_no_secret(str(caught.value))
    # a repeated column that nothing is read from does not stop the run
    notes = pd.concat([df, pd.DataFrame({"note": [1, 2]}), pd.DataFrame({"note": [3, 4]})],
                      axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", xs.errors.XinliScreenWarning)
        assert xs.screen(notes, ["phq9"], id_column="sid").table["phq9.total"].tolist() == [9, 18]


def test_missing_codes_must_be_numbers():
    df = pd.DataFrame({"phq9_01": [1]})
    with pytest.raises(ValueError, match="missing_codes must be numbers"):
        xs.prepare_responses(df, ["phq9"], missing_codes=["x"])
