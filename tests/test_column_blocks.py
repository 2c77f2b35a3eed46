"""Column maps by 问卷星 question number (``blocks:``) and ``columns guess`` blocks (issue 12).

The exports are built here as 问卷星 downloads look: the metadata columns, six fill-in
questions (学号, 姓名, 学校, 年级, 班级, 性别), then the items of instruments shipped without
wording (MHT 100 是/否 questions, DSRSC, SCARED, PHQ-A), one question per item, headed
``N、stem`` (or ``QN`` / ``第N题``), cells holding the option text (按选项文本) or the option
position (按序号).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from io_builders import WJX_META

import xinli_screen as xs
from xinli_screen.io import read_column_map
from xinli_screen.io.column_map import (
    ColumnMap,
    QuestionBlock,
    column_map_from_mapping,
    format_column_map,
    resolve_column_map,
)
from xinli_screen.io.wjx import parse_header
from xinli_screen.io.wjx_guess import guess_blocks
from xinli_screen.yaml_source import read_yaml

SECRET_ID = "SECRET-4711"
FILL_IN = ["1、学号", "2、姓名", "3、学校", "4、年级", "5、班级", "6、性别"]
INSTRUMENTS = {name: xs.load_instrument(name) for name in ("mht", "phqa", "dsrsc", "scared")}
N_ROWS = 60


def _stem(q: int, style: str) -> str:
    return {"stem": f"{q}、最近你有这样的情况吗（{q}）", "dot": f"{q}.最近的情况{q}",
            "school": f"{q}、你在学校里常常担心考试成绩不好吗（{q}）",
            "q": f"Q{q}", "ti": f"第{q}题"}[style]


def build_export(names: Sequence[str], *, answers: str = "text", header: str = "stem",
                 n: int = N_ROWS, seed: int = 7, before: Sequence[str] = (),
                 ) -> tuple[pd.DataFrame, dict[str, str], dict[str, int]]:
    """A 问卷星 download: metadata, six fill-in questions, ``before`` extra questions, then
    one question per item of each instrument in ``names``.

    Returns the frame (text cells), the explicit item -> column map, and the first question
    of each instrument.
    """
    rng = np.random.default_rng(seed)
    data: dict[str, list[object]] = {
        "序号": [str(r + 1) for r in range(n)],
        "提交答卷时间": ["2026/09/15 10:00:00"] * n, "所用时间": [f"{300 + r}秒" for r in range(n)],
        "来源": ["微信"] * n, "来源详情": ["直接访问"] * n,
        "来自IP": [f"10.0.{r}.1(吉林-长春)" for r in range(n)],
        FILL_IN[0]: [SECRET_ID if r == 0 else f"{20260000 + r:08d}" for r in range(n)],
        FILL_IN[1]: [f"学生{r}" for r in range(n)], FILL_IN[2]: ["绿园小学"] * n,
        FILL_IN[3]: ["五年级"] * n, FILL_IN[4]: [f"{r % 3 + 1}班" for r in range(n)],
        FILL_IN[5]: [["男", "女"][r % 2] for r in range(n)],
    }
    q = 7
    for stem, cells in before:
        data[f"{q}、{stem}"] = [cells[r % len(cells)] for r in range(n)]
        q += 1
    explicit: dict[str, str] = {}
    first: dict[str, int] = {}
    for name in names:
        inst = INSTRUMENTS[name]
        first[name] = q
        for item in inst.items:
            scale = inst.response_scale_of(item)
            k = rng.integers(0, len(scale.options), n)
            if answers == "text":
                cells = [scale.options[i].label.zh for i in k]
            else:
                cells = [str(i + 1) for i in k]
            for r in rng.choice(n, size=2, replace=False):  # a skipped question now and then
                cells[r] = "(跳过)" if answers == "text" else "-2"
            col = _stem(q, header)
            data[col] = cells
            explicit[item.id] = col
            q += 1
    assert list(data)[:6] == WJX_META
    return pd.DataFrame(data), explicit, first


def write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def _insts(*names: str) -> list:
    return [INSTRUMENTS[n] for n in names]


def _map(tmp_path: Path, text: str, name: str = "map.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _line(text: str, needle: str) -> int:
    return next(n for n, ln in enumerate(text.splitlines(), start=1) if needle in ln)


# ---------------------------------------------------------------- reading blocks


def test_blocks_are_read_with_their_lines(tmp_path):
    text = ('# map\ncolumns:\n  mht_001: "7、x"\nblocks:\n  mht: {first_question: 7}\n'
            '  dsrsc:\n    questions: "107-124"\n  scared: {question: 125}\n'
            'answer_values: text\n')
    cmap = read_column_map(_map(tmp_path, text))
    assert cmap.blocks == {"mht": QuestionBlock("first_question", 7),
                           "dsrsc": QuestionBlock("questions", 107, 124),
                           "scared": QuestionBlock("question", 125)}
    assert [b.line for b in cmap.blocks.values()] == [5, 6, 8]
    assert cmap.columns == {"mht_001": "7、x"} and cmap.answer_values == "text"
    assert cmap.source == str(tmp_path / "map.yaml")


def test_a_map_with_only_blocks_and_full_width_range(tmp_path):
    cmap = read_column_map(_map(tmp_path, 'blocks:\n  mht: {questions: "７－１０６"}\n'))
    assert cmap.columns == {} and cmap.blocks["mht"] == QuestionBlock("questions", 7, 106)
    assert read_column_map(_map(tmp_path, "columns:\nblocks:\n  mht: {questions: 9}\n")
                           ).blocks["mht"] == QuestionBlock("questions", 9, 9)


@pytest.mark.parametrize(("blocks", "needle", "code"), [
    ("  mht: {first_question: 0}\n", "mht:", "(bad-question-number)"),
    ("  mht: {first_question: seven}\n", "mht:", "(bad-question-number)"),
    ("  mht: {first_question: true}\n", "mht:", "(bad-question-number)"),
    ("  mht: {question: 7.5}\n", "mht:", "(bad-question-number)"),
    ("  mht: {first_question: 7, question: 8}\n", "mht:", "(bad-block)"),
    ("  mht: {}\n", "mht:", "(bad-block)"),
    ("  mht: 7\n", "mht:", "(bad-block)"),
    ('  mht: {questions: "106-7"}\n', "mht:", "(bad-question-range)"),
    ('  mht: {questions: "7 to 106"}\n', "mht:", "(bad-question-range)"),
    ("  mht:\n    first_question: 7\n    frist: 8\n", "frist", "(unknown-key)"),
])
def test_bad_block_names_file_line_and_field(tmp_path, blocks, needle, code):
    text = "columns:\n  phq9_01: a\nblocks:\n" + blocks
    path = _map(tmp_path, text)
    with pytest.raises(xs.ResponseDataError) as info:
        read_column_map(path)
    message = str(info.value)
    assert f"map.yaml:{_line(text, needle)}" in message, message
    assert code in message and "[blocks.mht" in message


def test_blocks_not_a_mapping_and_unknown_top_key(tmp_path):
    text = "blocks: [mht, 7]\nblokcs: {}\n"
    with pytest.raises(xs.ResponseDataError) as info:
        read_column_map(_map(tmp_path, text))
    assert "map.yaml:1 [blocks]" in str(info.value) and "(not-a-mapping)" in str(info.value)
    assert "map.yaml:2 [blokcs]" in str(info.value) and "(unknown-key)" in str(info.value)


def test_exit_3_for_a_bad_block_in_score(cli, tmp_path):
    frame, _explicit, _first = build_export(["mht"], n=5)
    data = write(frame, tmp_path / "w.csv")
    text = "blocks:\n  mht: {first_question: -1}\n"
    run = cli("score", data, "-i", "mht", "--columns", _map(tmp_path, text))
    assert run.code == 3 and "map.yaml:2" in run.err and "bad-question-number" in run.err


def test_column_map_from_mapping_with_and_without_lines():
    text = ("forms:\n  primary:\n    columns:\n      blocks:\n        mht: {first_question: 7}\n"
            "        dsrsc: {first_question: x}\n")
    doc = read_yaml(text, is_text=True)
    inline = doc.data["forms"]["primary"]["columns"]
    prefix = ["forms", "primary", "columns"]
    with pytest.raises(xs.ResponseDataError) as info:
        column_map_from_mapping(inline, "wave.yaml forms.primary.columns",
                                line_of=lambda p: doc.line_of([*prefix, *p]))
    assert "wave.yaml forms.primary.columns:6 [blocks.dsrsc.first_question]" in str(info.value)
    cmap = column_map_from_mapping({"blocks": {"mht": {"first_question": 7}},
                                    "id_column": "学号"}, "wave.yaml")
    assert cmap.blocks == {"mht": QuestionBlock("first_question", 7)}
    assert cmap.id_column == "学号" and cmap.source == "wave.yaml"
    plain = column_map_from_mapping({"phq9_01": "DPQ010"}, "inline")
    assert plain == ColumnMap({"phq9_01": "DPQ010"})
    with pytest.raises(xs.ResponseDataError, match=r"inline \[blocks.mht.question\]"):
        column_map_from_mapping({"blocks": {"mht": {"question": 0}}}, "inline")


def test_format_column_map_round_trip(tmp_path):
    cmap = ColumnMap({"phq9_01": "8、(做事时提不起劲)"}, (7.0,), "学号", "text",
                     {"mht": QuestionBlock("first_question", 7),
                      "dsrsc": QuestionBlock("questions", 107, 124),
                      "scared": QuestionBlock("question", 125)})
    text = format_column_map(cmap, block_comments={"mht": ["found from the answers"]})
    assert "  # found from the answers\n  mht: {first_question: 7}\n" in text
    assert read_column_map(_map(tmp_path, text)) == cmap
    only = ColumnMap({}, blocks={"mht": QuestionBlock("first_question", 7)})
    assert read_column_map(_map(tmp_path, format_column_map(only), "b.yaml")) == only


# ---------------------------------------------------------------- resolving blocks


@pytest.mark.parametrize("header", ["stem", "dot", "q", "ti"])
def test_first_question_block_gives_the_explicit_map(header):
    frame, explicit, first = build_export(["mht", "phqa"], header=header, n=3)
    cmap = ColumnMap({}, blocks={k: QuestionBlock("first_question", v)
                                 for k, v in first.items()})
    assert first == {"mht": 7, "phqa": 107}
    assert resolve_column_map(cmap, list(frame.columns), _insts("mht", "phqa")) == explicit


def test_questions_range_and_matrix_question():
    frame, explicit, _first = build_export(["mht"], n=3)
    matrix = [f"Q107_{k}" for k in range(1, 14)]
    header = [*frame.columns, *matrix[::-1]]  # sub-columns are put in order by their index
    cmap = ColumnMap({}, blocks={"mht": QuestionBlock("questions", 7, 106),
                                 "phqa": QuestionBlock("question", 107)})
    got = resolve_column_map(cmap, header, _insts("mht", "phqa"))
    assert got == {**explicit, **{f"phqa_{k:02d}": c for k, c in enumerate(matrix, 1)}}


def test_explicit_columns_win_and_other_blocks_are_ignored():
    frame, explicit, _first = build_export(["mht"], n=3)
    header = [*frame.columns, "额外列"]
    cmap = ColumnMap({"mht_100": "额外列", "phq9_01": "x"},
                     blocks={"mht": QuestionBlock("first_question", 7),
                             "scared": QuestionBlock("first_question", 500)})
    got = resolve_column_map(cmap, header, _insts("mht"))
    assert got == {**explicit, "mht_100": "额外列", "phq9_01": "x"}
    assert resolve_column_map(ColumnMap({"a": "b"}), [], []) == {"a": "b"}


def _resolve_error(text: str, tmp_path: Path, header: Sequence[object], names: Sequence[str]
                   ) -> str:
    cmap = read_column_map(_map(tmp_path, text))
    with pytest.raises(xs.ResponseDataError) as info:
        resolve_column_map(cmap, header, _insts(*names))
    message = str(info.value)
    assert "map.yaml:" in message and SECRET_ID not in message and "是" not in message
    return message


def test_block_errors_name_instrument_question_and_counts(tmp_path):
    frame, _explicit, _first = build_export(["mht", "phqa"], n=3)
    header = list(frame.columns)
    text = "blocks:\n  phqa: {first_question: 108}\n  mht: {first_question: 30}\n"
    message = _resolve_error(text, tmp_path, header, ["mht", "phqa"])
    assert "map.yaml:2 [blocks.phqa]" in message and "map.yaml:3 [blocks.mht]" in message
    assert ("phqa has 13 items, so first_question 108 needs questions 108-120; question(s) "
            "120 not in the header (its last question is 119)") in message
    assert "question(s) 120-129 not in the header" in message
    assert "(question-not-found)" in message and "does not fit the header" in message
    text = 'blocks:\n  mht: {questions: "7-105"}\n'
    message = _resolve_error(text, tmp_path, header, ["mht"])
    assert "mht has 100 items but questions 7-105 give 99 column(s)" in message
    assert "(block-length)" in message
    message = _resolve_error("blocks:\n  phqa: {question: 107}\n", tmp_path, header, ["phqa"])
    assert "phqa has 13 items but question 107 has 1 column(s)" in message
    message = _resolve_error("blocks:\n  phqa: {question: 300}\n", tmp_path, header, ["phqa"])
    assert "phqa: question 300 is not in the header" in message


def test_matrix_question_inside_first_question_block(tmp_path):
    header = [*FILL_IN, *[f"{q}、题{q}" for q in range(7, 20)], "20_1", "20_2",
              *[f"{q}、题{q}" for q in range(21, 108)]]
    message = _resolve_error("blocks:\n  mht: {first_question: 7}\n", tmp_path, header,
                             ["mht"])
    assert "question 20 has 2 columns (a matrix question)" in message
    assert "(matrix-in-block)" in message


def test_block_column_also_given_to_another_item(tmp_path):
    frame, _explicit, _first = build_export(["mht"], n=3)
    text = ('columns:\n  mht_001: "8、最近你有这样的情况吗（8）"\n'
            'blocks:\n  mht: {first_question: 7}\n')
    message = _resolve_error(text, tmp_path, list(frame.columns), ["mht"])
    assert "map.yaml:4 [blocks.mht]" in message and "(column-used-twice)" in message
    assert "question 8" in message and "mht_001" in message


def test_parse_header_reads_bare_question_numbers():
    assert parse_header("Q7").number == 7 and parse_header("第7题").number == 7
    assert parse_header("7.最近").number == 7 and parse_header("7").number is None


# ---------------------------------------------------------------- scoring with blocks


def _explicit_map(explicit: dict[str, str]) -> str:
    return format_column_map(ColumnMap(explicit))


def _score(cli, data: Path, out: Path, cmap: Path, names: Sequence[str], *extra: object
           ) -> pd.DataFrame:
    args = [a for n in names for a in ("-i", n)]
    run = cli("score", data, *args, "--columns", cmap, "--id-column", "1、学号", "-o", out,
              *extra)
    assert run.code in (0, 1), run.err
    return pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")


@pytest.mark.parametrize("answers", ["text", "sequence"])
def test_block_map_scores_identically_to_the_item_by_item_map(cli, tmp_path, answers):
    frame, explicit, _first = build_export(["mht", "phqa"], answers=answers)
    data = write(frame, tmp_path / "export.xlsx")
    blocks = _map(tmp_path, "blocks:\n  mht: {first_question: 7}\n  phqa: {first_question: 107}\n")
    items = _map(tmp_path, _explicit_map(explicit), "items.yaml")
    a = _score(cli, data, tmp_path / "a.csv", blocks, ["mht", "phqa"])
    b = _score(cli, data, tmp_path / "b.csv", items, ["mht", "phqa"])
    pd.testing.assert_frame_equal(a, b)
    assert a["1、学号"].tolist()[:2] == [SECRET_ID, "20260001"]
    assert not a["status"].isin(["no_answers"]).any()  # every row's answers were found
    answered = [c for c in a.columns if c.endswith(".n_answered")]
    assert {c.split(".")[0] for c in answered} == {"mht", "phqa"}
    assert all(pd.to_numeric(a[c]).max() > 0 for c in answered)
    # the same through the API: resolve, then screen with the plain map
    columns = resolve_column_map(read_column_map(blocks), list(frame.columns),
                                 _insts("mht", "phqa"))
    assert columns == explicit


def test_streamed_score_with_blocks(cli, tmp_path):
    frame, explicit, _first = build_export(["mht", "phqa"])
    data = write(frame, tmp_path / "export.csv")
    blocks = _map(tmp_path, "blocks:\n  mht: {first_question: 7}\n  phqa: {first_question: 107}\n")
    items = _map(tmp_path, _explicit_map(explicit), "items.yaml")
    a = _score(cli, data, tmp_path / "a.csv", blocks, ["mht", "phqa"], "--chunk-size", "25")
    b = _score(cli, data, tmp_path / "b.csv", items, ["mht", "phqa"], "--chunk-size", "0")
    pd.testing.assert_frame_equal(a, b)


def test_score_with_a_block_that_does_not_fit_exits_1(cli, tmp_path):
    frame, _explicit, _first = build_export(["mht"], n=5)
    text = "columns: {}\nblocks:\n  mht: {first_question: 9}\n"
    cmap = _map(tmp_path, text)
    for suffix, extra in ((".xlsx", ()), (".csv", ("--chunk-size", "2"))):
        data = write(frame, tmp_path / f"w{suffix}")
        run = cli("score", data, "-i", "mht", "--columns", cmap, *extra)
        assert run.code == 1, run.err
        assert "map.yaml:3 [blocks.mht]" in run.err and "107-108 not in the header" in run.err
        assert SECRET_ID not in run.err and "10.0.1.1" not in run.err


# ---------------------------------------------------------------- columns guess


@pytest.mark.parametrize("answers", ["text", "sequence"])
def test_guess_blocks_for_mht_dsrsc_scared(answers):
    frame, _explicit, first = build_export(["mht", "dsrsc", "scared"], answers=answers)
    found = guess_blocks(frame, _insts("mht", "dsrsc", "scared"), taken={"1、学号"})
    assert {k: b.block for k, b in found.blocks.items()} == {
        k: QuestionBlock("first_question", v) for k, v in first.items()}
    assert first == {"mht": 7, "dsrsc": 107, "scared": 125}
    assert found.unplaced == []
    assert any("dsrsc and scared share their answer labels" in n for n in found.notes)
    assert found.blocks["mht"].how.startswith("found from the answers")
    assert ("(否/是)" in found.blocks["mht"].how) == (answers == "text")
    assert "CONFIRM" in found.blocks["mht"].how


def test_guess_blocks_in_another_order_and_with_a_gap():
    extra = [("你住校吗（单选）", ["A.住校", "B.走读"])]  # not an item: breaks nothing
    frame, _explicit, first = build_export(["scared", "mht", "phqa"], before=extra)
    found = guess_blocks(frame, _insts("mht", "phqa", "scared"))
    assert {k: b.block.start for k, b in found.blocks.items()} == {
        "mht": first["mht"], "phqa": first["phqa"], "scared": first["scared"]}


def test_fill_in_question_is_skipped_but_item_wording_naming_school_is_not():
    """按序号: a single-choice 性别 question (1/2) just before MHT would fit MHT's scale; its
    short header marks it as a fill-in question. Item wording mentioning 学校 is longer."""
    extra = [("性别", ["1", "2"])]
    frame, _explicit, first = build_export(["mht"], answers="sequence", header="school",
                                           before=extra)
    found = guess_blocks(frame, _insts("mht"))
    assert first == {"mht": 8} and found.blocks["mht"].block.start == 8, found.notes


def test_ambiguous_run_is_not_proposed():
    extra = [("你喜欢上学吗", ["是", "否"])]  # a yes/no question just before MHT's 100
    frame, _explicit, _first = build_export(["mht", "dsrsc"], before=extra)
    found = guess_blocks(frame, _insts("mht", "dsrsc"))
    assert "mht" not in found.blocks and "mht" in found.unplaced
    assert any(n.startswith("mht: 100 consecutive questions fit at more than one place "
                            "(first question 7, 8)") for n in found.notes)
    assert found.blocks["dsrsc"].block.start == 108


def test_columns_guess_writes_blocks_and_the_map_scores(cli, tmp_path):
    names = ["mht", "dsrsc", "scared"]
    frame, explicit, first = build_export(names)
    data = write(frame, tmp_path / "export.xlsx")
    out = tmp_path / "guessed.yaml"
    run = cli("columns", "guess", data, *[a for n in names for a in ("-i", n)], "-o", out)
    assert run.code == 0, run.err
    text = out.read_text(encoding="utf-8")
    assert "  mht: {first_question: 7}\n" in text and "  scared: {first_question: 125}\n" in text
    assert "CONFIRM before use" in text and "columns: {}" in text
    assert "proposed block mht: {first_question: 7}" in run.err
    assert "159 of 159 items found" in run.err and "dsrsc and scared share" in run.err
    assert SECRET_ID not in run.err + text
    cmap = read_column_map(out)
    assert {k: b.start for k, b in cmap.blocks.items()} == first
    assert cmap.id_column == "1、学号" and cmap.answer_values == "text"
    items = _map(tmp_path, _explicit_map(explicit), "items.yaml")
    a = _score(cli, data, tmp_path / "a.csv", out, names)
    b = _score(cli, data, tmp_path / "b.csv", items, names)
    pd.testing.assert_frame_equal(a, b)


def test_columns_guess_leaves_matched_instruments_alone(cli, tmp_path):
    """PHQ-9 is found by its wording; MHT by its answers, in the same export."""
    frame, _explicit, _first = build_export(["mht"], answers="sequence")
    phq9 = xs.load_instrument("phq9")
    for k, item in enumerate(phq9.items):
        frame[f"{107 + k}、{item.text.zh}"] = "1"
    data = write(frame, tmp_path / "export.csv")
    run = cli("columns", "guess", data, "-i", "phq9", "-i", "mht")
    assert run.code == 0, run.err
    cmap = column_map_from_mapping(__import__("yaml").safe_load(run.out), "stdout")
    assert cmap.blocks == {"mht": QuestionBlock("first_question", 7)}
    assert cmap.columns["phq9_01"].startswith("107、") and cmap.answer_values == "sequence"
