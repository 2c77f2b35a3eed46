"""Writers under hostile cells (issue 15): control characters in XLSX, formula injection in CSV,
no truncated file after an error, no cell value in an error message."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen.io import writers
from xinli_screen.io.writers import (
    csv_safe,
    neutralise_formula,
    write_failures,
    write_result,
    write_xlsx,
    xlsx_text,
)

ITEMS = [f"phq9_{i:02d}" for i in range(1, 11)]
ATTACK = "-2+3+cmd|' /C calc'!A0"


def _answers() -> pd.DataFrame:
    rows = [["SECRET\x01ID"] + ["1"] * 10,          # control character in the id
            ["esc\x1b[31m"] + ["0"] * 10,          # ANSI escape in the id
            ["nul\x00x"] + ["0"] * 9 + ["1\x02"],  # and in an answer (a failure row)
            [ATTACK] + ["0"] * 10,
            ["-12"] + ["0"] * 10]
    return pd.DataFrame(rows, columns=["sid", *ITEMS])


def _result() -> xs.ScreeningResult:
    return xs.screen(_answers(), ["phq9"], id_column="sid")


# -- XLSX: control characters ----------------------------------------------------------------
def test_xlsx_text_caret_notation() -> None:
    assert xlsx_text("a\x01b") == "a^Ab"
    assert xlsx_text("\x00\x1b\x1f") == "^@^[^_"
    assert xlsx_text("tab\tlf\ncr\r") == "tab\tlf\ncr\r"  # legal in XML: kept
    assert xlsx_text("x\ufffey\uffff\ud800") == "x\ufffdy\ufffd\ufffd"
    assert xlsx_text("学号\x7f") == "学号\x7f"
    assert xlsx_text(3) == 3 and xlsx_text(None) is None


def test_control_characters_reach_the_xlsx_escaped(tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    assert write_result(_result(), out) == [out]
    sheets = pd.read_excel(out, sheet_name=None, dtype=str, engine="openpyxl")
    ids = sheets["results"]["sid"].tolist()
    assert ids[:3] == ["SECRET^AID", "esc^[[31m", "nul^@x"]
    assert ids[3] == ATTACK and ids[4] == "-12"  # XLSX keeps text as text, untouched
    assert "1^B" in sheets["failures"]["value"].tolist()
    assert [p.name for p in tmp_path.iterdir()] == ["r.xlsx"]  # no temporary file left


def test_control_characters_in_headers_and_categoricals(tmp_path: Path) -> None:
    frame = pd.DataFrame({"col\x01": pd.Categorical(["a\x02", "b"]), "n": [1, -2]})
    write_xlsx({"s": frame, "t": frame.astype({"col\x01": "string"})}, tmp_path / "x.xlsx")
    back = pd.read_excel(tmp_path / "x.xlsx", sheet_name=None, engine="openpyxl")
    for sheet in back.values():
        assert sheet.columns.tolist() == ["col^A", "n"]
        assert sheet["col^A"].tolist() == ["a^B", "b"] and sheet["n"].tolist() == [1, -2]


def test_xlsx_formula_text_stays_text(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    frame = pd.DataFrame({"school": ['=HYPERLINK("http://x","y")', ATTACK, "@SUM(1)"]})
    write_xlsx({"s": frame}, tmp_path / "f.xlsx")
    cells = [c for row in load_workbook(tmp_path / "f.xlsx")["s"].iter_rows(min_row=2)
             for c in row]
    assert [c.data_type for c in cells] == ["s", "s", "s"]
    assert [c.value for c in cells] == frame["school"].tolist()


def test_cli_xlsx_with_control_characters(cli, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    with src.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["sid", *ITEMS], *_answers().to_numpy().tolist()])
    run = cli("score", src, "-i", "phq9", "--id-column", "sid", "-o", tmp_path / "r.xlsx",
              "--failures", tmp_path / "f.xlsx")
    assert run.code == 1  # the bad answer is a data problem, reported, not a crash
    for text in (run.out, run.err):
        assert "Traceback" not in text and "SECRET" not in text
    results = pd.read_excel(tmp_path / "r.xlsx", dtype=str, engine="openpyxl")
    failures = pd.read_excel(tmp_path / "f.xlsx", dtype=str, engine="openpyxl")
    assert results["sid"].iloc[0] == "SECRET^AID" and failures["value"].tolist() == ["1^B"]


# -- no truncated file, no value in the error ------------------------------------------------
def test_failed_xlsx_leaves_no_file_and_keeps_the_old_one(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    out = tmp_path / "r.xlsx"
    write_result(_result(), out)
    before = out.read_bytes()
    calls = {"n": 0}
    real = writers._write_sheet

    def fail_on_third_sheet(book: object, name: str, frame: pd.DataFrame) -> None:
        calls["n"] += 1
        if calls["n"] % 4 == 3:  # the third of the four sheets, in every call
            raise OSError("disk full")
        real(book, name, frame)

    monkeypatch.setattr(writers, "_write_sheet", fail_on_third_sheet)
    with pytest.raises(OSError, match="disk full"):
        write_result(_result(), out)
    assert out.read_bytes() == before  # the previous complete file, not a truncated one
    with pytest.raises(OSError):
        write_result(_result(), tmp_path / "new.xlsx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx"]


def test_unstorable_cell_error_names_no_value(tmp_path: Path) -> None:
    result = _result()
    table = result.table.astype({"sid": object})
    table.iat[0, 0] = {"SECRET"}  # a Python set: XLSX has no cell type for it
    result = xs.ScreeningResult(table=table, failures=result.failures,
                                reasons=result.reasons, provenance=result.provenance)
    with pytest.raises(ValueError, match="sheet 'results'") as err:
        write_result(result, tmp_path / "r.xlsx")
    assert "SECRET" not in str(err.value) and err.value.__cause__ is None
    assert err.value.__suppress_context__
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text", ["x" * 32_768, "学" * 20_000 + "😀" * 6_400])
def test_overlong_text_cell_is_refused_not_cut(tmp_path: Path, text: str) -> None:
    frame = pd.DataFrame({"id": ["a", "b"], "note": ["ok", text]})
    with pytest.raises(ValueError, match="sheet 's', column 2") as err:
        write_xlsx({"s": frame}, tmp_path / "long.xlsx")
    assert "xxx" not in str(err.value) and "学" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["r.csv", "r.json", "r.parquet"])
def test_other_formats_replace_on_success(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          name: str) -> None:
    out = tmp_path / name
    out.write_text("previous")

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    monkeypatch.setattr(writers, "write_csv", boom)
    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    monkeypatch.setattr(xs.ScreeningResult, "to_json", boom)
    with pytest.raises(OSError):
        write_result(_result(), out)
    assert out.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == [name]
    monkeypatch.undo()
    written = write_result(_result(), out)
    assert written[0] == out and out.read_bytes() != b"previous"


def test_failures_csv_is_neutralised_and_complete(tmp_path: Path) -> None:
    result = _result()
    result.failures.loc[0, "value"] = ATTACK
    write_failures(result, tmp_path / "f.csv")
    back = pd.read_csv(tmp_path / "f.csv", dtype=str, encoding="utf-8-sig")
    assert back["value"].tolist() == ["'" + ATTACK]
    assert [p.name for p in tmp_path.iterdir()] == ["f.csv"]


# -- CSV formula injection -------------------------------------------------------------------
@pytest.mark.parametrize("text", [ATTACK, "-1+1", "-A1", "-", "--1", "-1-1", "-1e3+cmd",
                                  "-12 ", "=1", "+1", "@SUM(A1)", "\t=1", "\r=1",
                                  '=HYPERLINK("http://x")'])
def test_formula_like_text_is_neutralised(text: str) -> None:
    assert neutralise_formula(text) == "'" + text
    assert csv_safe(pd.DataFrame({"c": [text]}))["c"].tolist() == ["'" + text]


@pytest.mark.parametrize("text", ["-12", "-0.5", "-.5", "-3.", "-1e3", "-2.5E-2", "007",
                                  "1-2", "a=b", "", "学号"])
def test_plain_text_and_negative_numbers_are_kept(text: str) -> None:
    assert neutralise_formula(text) == text
    assert csv_safe(pd.DataFrame({"c": [text]}))["c"].tolist() == [text]


def test_neutraliser_on_every_text_dtype_and_numbers_untouched() -> None:
    frame = pd.DataFrame({"obj": pd.Series([ATTACK, "-1", None, 5], dtype=object),
                          "str": pd.Series([ATTACK, "-1", None, "x"], dtype="string"),
                          "cat": pd.Categorical([ATTACK, "-1", None, "x"]),
                          "num": [-2.0, -1.0, None, 3.0]})
    out = csv_safe(frame)
    for col in ("obj", "str", "cat"):
        assert out[col].iloc[0] == "'" + ATTACK and out[col].iloc[1] == "-1"
        assert pd.isna(out[col].iloc[2])
    assert out["obj"].iloc[3] == 5
    pd.testing.assert_series_equal(out["num"], frame["num"])
    assert neutralise_formula(-2) == -2 and neutralise_formula(None) is None


def test_results_csv_neutralised_end_to_end(tmp_path: Path) -> None:
    write_result(_result(), tmp_path / "r.csv")
    ids = pd.read_csv(tmp_path / "r.csv", dtype=str, encoding="utf-8-sig")["sid"].tolist()
    assert ids[3] == "'" + ATTACK and ids[4] == "-12"
