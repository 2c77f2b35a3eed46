"""问卷星 exports: both download styles of the same PHQ-9 answers give identical scores.

The files are built as a 问卷星 download looks: metadata columns (序号 ... 来自IP), the PHQ-9
symptoms as one matrix question (``2、(sub-row)``), item 10 as its own question, the id in a
fill-in question or the custom link parameter (自定义字段); option text with assorted letter
prefixes and full-width punctuation (按选项文本) or option positions with -2/-3 for skipped
questions (按序号).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from io_builders import IDS, ITEM_ZH, PHQ9, frame_of_codes, write_wjx

import xinli_screen as xs
from xinli_screen.io import read_column_map
from xinli_screen.io.readers import read_table
from xinli_screen.io.source import load_answers
from xinli_screen.io.wjx import (
    guess_columns,
    is_wjx,
    normalise_answers,
    parse_header,
)


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    table = xs.screen(frame_of_codes(), ["phq9"], id_column="sid").table
    return table.drop(columns=["sid"])


def _score(cli, path: Path, tmp_path: Path, *extra: object) -> tuple[pd.DataFrame, str]:
    out = tmp_path / (path.stem + ".out.csv")
    run = cli("score", path, "-i", "phq9", "-o", out, *extra)
    assert run.code in (0, 1), run.err
    return pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig"), run.err


def _same_cause(table: pd.DataFrame) -> pd.DataFrame:
    """The table with the cause of a missing critical answer (问卷星 -2 skipped, -3 not
    shown, blank) set aside in the reasons: exports differ only in saying why."""
    out = table.copy()
    for cause in ("问卷星跳过 -2", "问卷星未显示 -3"):
        out["reasons"] = out["reasons"].str.replace(cause, "空白未作答", regex=False)
    return out


@pytest.mark.parametrize("suffix", [".xlsx", ".xls", ".csv"])
@pytest.mark.parametrize("style,id_mode", [("text", "fill-in"), ("sequence", "fill-in"),
                                           ("text", "link"), ("sequence", "link")])
def test_both_export_styles_give_identical_scores(cli, tmp_path, expected, suffix, style,
                                                  id_mode):
    path = write_wjx(tmp_path / f"wjx_{style}_{id_mode}{suffix}", style, id_mode)
    table, err = _score(cli, path, tmp_path)
    id_column = "1、你的学号：" if id_mode == "fill-in" else "自定义字段"
    assert table.columns[0] == id_column
    assert table[id_column].tolist() == IDS
    got = table.drop(columns=[id_column])
    ref = pd.read_csv(_csv(expected, tmp_path), dtype=str, keep_default_na=False,
                      encoding="utf-8-sig")
    # the export says why item 9 is missing (问卷星 -2 skipped / -3 not shown); the plain
    # table only that it is blank: the reasons agree once the cause is set aside
    pd.testing.assert_frame_equal(_same_cause(got), ref)
    assert "IP" in err and "10.0.0.1" not in err  # IP column named as dropped, never shown


def _csv(table: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "expected.csv"
    from xinli_screen.io.writers import csv_safe

    csv_safe(table).to_csv(path, index=False, encoding="utf-8-sig")
    return path


def test_ip_never_reaches_any_output(cli, tmp_path):
    path = write_wjx(tmp_path / "wjx.xlsx", "text")
    for out in ("r.csv", "r.xlsx", "r.json", "r.parquet"):
        run = cli("score", path, "-i", "phq9", "-o", tmp_path / out,
                  "--failures", tmp_path / "f.csv")
        assert run.code in (0, 1)
        for written in tmp_path.glob("r.*"):
            data = written.read_bytes()
            assert b"10.1.0.1" not in data and "北京-北京".encode() not in data
        assert b"10.1.0.1" not in (tmp_path / "f.csv").read_bytes()
    with pytest.raises(xs.ResponseDataError, match="IP"):
        load_answers(path, [PHQ9], id_column="来自IP")


def test_columns_guess_writes_a_reusable_map(cli, tmp_path, expected):
    text = write_wjx(tmp_path / "text.xlsx", "text")
    seq = write_wjx(tmp_path / "seq.xlsx", "sequence", "link")
    map_text, map_seq = tmp_path / "text.yaml", tmp_path / "seq.yaml"
    run = cli("columns", "guess", text, "-i", "phq9", "-o", map_text)
    assert run.code == 0, run.err
    assert cli("columns", "guess", seq, "-i", "phq9", "-o", map_seq).code == 0
    cmap = read_column_map(map_text)
    assert cmap.columns["phq9_01"] == f"2、({ITEM_ZH[0]})"
    assert cmap.columns["phq9_10"].startswith("3、")
    assert cmap.id_column == "1、你的学号：" and cmap.answer_values == "text"
    seq_map = read_column_map(map_seq)
    assert seq_map.id_column == "自定义字段" and seq_map.answer_values == "sequence"
    a, _ = _score(cli, text, tmp_path, "--columns", map_text)
    b, _ = _score(cli, seq, tmp_path, "--columns", map_seq)
    # the builder writes (跳过) in the text export and -2 or -3 in the numeric one
    pd.testing.assert_frame_equal(_same_cause(a.iloc[:, 1:]), _same_cause(b.iloc[:, 1:]))
    # to stdout
    run = cli("columns", "guess", text, "-i", "phq9")
    assert run.out.startswith("# column map guessed") and "columns:" in run.out


def test_matrix_sub_columns_without_wording_are_taken_in_order(tmp_path):
    header = ["序号", "提交答卷时间", "所用时间", "来源", "来自IP", "学号",
              *[f"Q5_{k}" for k in range(1, 10)], "第6题"]
    frame = pd.DataFrame([["1", "2026/09/03 12:00:00", "80秒", "微信", "1.2.3.4", "0001",
                           *["2"] * 8, "4", "1"]], columns=header)  # 4: only a position
    guess = guess_columns(frame, [PHQ9])
    assert [guess.columns[f"phq9_{k:02d}"] for k in range(1, 10)] == header[6:15]
    assert guess.how["phq9_01"] == "matrix order"
    assert guess.unmatched == ["phq9_10"]
    assert guess.id_column == "学号" and guess.answer_values == "sequence"


def test_unmatched_item_exits_1_and_lists_it(cli, tmp_path):
    path = tmp_path / "partial.csv"
    path.write_text("序号,提交答卷时间,所用时间,来自IP,学号,1、(做事时提不起劲或没有兴趣)\n"
                    "1,2026/09/03 12:00:00,80秒,1.2.3.4,0001,A.完全不会\n", encoding="utf-8")
    run = cli("columns", "guess", path, "-i", "phq9")
    assert run.code == 1
    assert "NO COLUMN FOUND for: phq9_02" in run.out


def test_sequence_download_with_a_zero_is_refused_with_advice(tmp_path):
    frame = pd.DataFrame({"序号": ["1", "2"], "提交答卷时间": ["x", "y"], "所用时间": ["1", "2"],
                          "col": ["1", "0"]})
    scale = PHQ9.response_scales[0]
    with pytest.raises(xs.ResponseDataError, match="answer_values: code"):
        normalise_answers(frame, {"col": scale}, "sequence")
    out, mode = normalise_answers(frame, {"col": scale}, "auto")
    assert mode == "code" and out["col"].tolist() == ["1", "0"]


def test_skip_codes_and_out_of_range_positions(tmp_path):
    frame = pd.DataFrame({"col": ["-2", "-3", "4", "5", "(跳过)", None, "1"]})
    out, mode = normalise_answers(frame, {"col": PHQ9.response_scales[0]}, "sequence")
    assert mode == "sequence"
    values = out["col"].tolist()
    # -2 (skipped) and -3 (not shown) are kept as codes that the plan declares missing,
    # so that the reason an answer is missing reaches the failures/notes table
    assert values[:2] == [-2.0, -3.0] and values[4] == -2.0 and pd.isna(values[5])
    assert values[2] == "3" and values[6] == "0"
    assert values[3] == "序号 5"  # reported as a failure by scoring


def test_wjx_recognised_only_with_metadata():
    assert is_wjx(["序号", "提交答卷时间", "所用时间", "x"])
    assert not is_wjx(["序号", "学号", "phq9_01"])


@pytest.mark.parametrize("header,number,sub,index", [
    ("2、(做事时提不起劲)", 2, "做事时提不起劲", None),
    ("第2题(做事时提不起劲)", 2, "做事时提不起劲", None),
    ("2、（做事时提不起劲）", 2, "做事时提不起劲", None),
    ("Q12_3", 12, None, 3),
    ("12.3", 12, None, 3),
    ("4、过去两周—做事时提不起劲", 4, "做事时提不起劲", None),
    ("5、您的学号：", 5, None, None),
    ("学号", None, None, None),
])
def test_parse_header(header, number, sub, index):
    h = parse_header(header)
    assert (h.number, h.sub, h.index) == (number, sub, index)


@settings(max_examples=60, deadline=None)
@given(code=st.integers(0, 3), letter=st.sampled_from(["A", "B", "C", "D", "Ａ", "ｃ"]),
       punct=st.sampled_from([".", "、", "．", ":", "：", ")", "）"]),
       space=st.sampled_from(["", " ", "　"]))
def test_option_text_with_any_prefix_is_read(code, letter, punct, space):
    label = PHQ9.response_scales[0].options[code].label.zh
    frame = pd.DataFrame({"phq9_09": [f"{letter}{punct}{space}{label}", f"{label}"]})
    out, mode = normalise_answers(frame, {"phq9_09": PHQ9.response_scales[0]}, "auto")
    assert mode == "text"
    responses = xs.prepare_responses(out, [PHQ9])
    assert responses.failures.empty
    assert responses.responses["phq9_09"].tolist() == [float(code), float(code)]


def test_read_table_of_a_wjx_xls_keeps_columns(tmp_path):
    frame, info = read_table(write_wjx(tmp_path / "a.xls", "sequence"))
    assert info["format"] == "xls" and "来自IP" in frame.columns  # dropped later, by the plan
    loaded = load_answers(tmp_path / "a.xls", [PHQ9])
    assert "来自IP" not in loaded.data.columns
    assert loaded.plan.answer_values == "sequence"
    assert np.all(loaded.data.index == np.arange(len(IDS)))
