"""Input guards of issue 15: no silent misreads of exports, options or definitions.

Each test fails on the commit before its fix: an ambiguous 问卷星 download read as 按序号,
a missing code equal to a valid code, duplicated item headers, a stray quote merging rows,
unbounded YAML/JSON, a NaN band bound, a positive critical item hidden behind ``retest``.
No pupil id, name or answer may appear in any message.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

import xinli_screen as xs

SECRET = "S3CRET9"
PHQ9_STEMS = ["做事时提不起劲或没有兴趣", "感到心情低落、沮丧或绝望",
              "入睡困难、睡不安稳或睡眠过多",
              "感觉疲倦或没有活力", "食欲不振或吃太多",
              "觉得自己很糟或觉得自己很失败，或让自己或家人失望",
              "对事物专注有困难，例如阅读报纸或看电视时",
              "动作或说话速度缓慢到别人已经觉察？或正好相反——烦躁或坐立不安、动来动去的情况更胜于平常",
              "有不如死掉或用某种方式伤害自己的念头"]


def _wjx_score_download(path: Path, rows: list[list[int]]) -> Path:
    """A 问卷星 按分数 download of PHQ-9 (codes 0-3) as CSV; ids SECRET0, SECRET1 ..."""
    header = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "1、学号",
              *[f"2、({t})" for t in PHQ9_STEMS]]
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for r, answers in enumerate(rows):
            writer.writerow([r + 1, "2026/09/15 10:00:00", "300秒", "微信", "直接访问",
                             "10.0.0.1", f"{SECRET}{r}", *answers])
    return path


# A small retest file where nobody chose option A (code 0): 按分数 numbers 1-3 only.
# The second pupil answered item 9 with 1 (几天): read as 按序号 that becomes 0.
NOBODY_CHOSE_A = [[1] * 9, [1, 2, 1, 3, 1, 2, 1, 1, 1], [2, 1, 1, 1, 3, 1, 2, 1, 2]]


def _no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text


def test_ambiguous_wjx_download_is_refused_not_read_as_positions(cli, tmp_path):
    src = _wjx_score_download(tmp_path / "retest.csv", NOBODY_CHOSE_A)
    run = cli("score", src, "-i", "phq9", "-o", tmp_path / "out.csv")
    assert run.code == 1, run.err
    assert "fit both readings" in run.err and "--answer-values" in run.err
    assert "wjx-undecided" in run.err
    assert not (tmp_path / "out.csv").exists()
    _no_secret(run.out, run.err)
    # said how it was downloaded: every answer as coded, item 9 = 1 is a critical answer
    run = cli("score", src, "-i", "phq9", "-o", tmp_path / "out.csv", "--answer-values", "code")
    assert run.code == 0, run.err
    out = pd.read_csv(tmp_path / "out.csv", dtype=str)
    assert out["phq9.total"].astype(float).tolist() == [9.0, 13.0, 14.0]
    assert out["critical_items"].notna().all()
    assert (out["review_status"] == "pending_review").all()


def test_ambiguous_wjx_download_is_refused_by_the_python_api(tmp_path):
    src = _wjx_score_download(tmp_path / "retest.csv", NOBODY_CHOSE_A)
    frame = pd.read_csv(src, dtype=str)
    with pytest.raises(xs.ResponseDataError, match="fit both readings") as info:
        xs.screen(frame, ["phq9"])
    _no_secret(str(info.value))
    r = xs.screen(frame, ["phq9"], answer_values="code")
    assert r.table["phq9.total"].tolist() == [9.0, 13.0, 14.0]


def test_columns_guess_does_not_save_positions_for_an_ambiguous_download(cli, tmp_path):
    src = _wjx_score_download(tmp_path / "retest.csv", NOBODY_CHOSE_A)
    run = cli("columns", "guess", src, "-i", "phq9", "-o", tmp_path / "map.yaml")
    text = (tmp_path / "map.yaml").read_text(encoding="utf-8")
    assert not [line for line in text.splitlines() if line.startswith("answer_values")]
    assert "NOT DECIDED" in text and "NOT DECIDED" in run.err
    assert run.code == 1
    _no_secret(run.out, run.err, text)


def test_unambiguous_wjx_downloads_are_still_recognised(tmp_path):
    from xinli_screen.instrument.registry import load_instrument
    from xinli_screen.io.wjx import detect_answer_values

    scale = load_instrument("phq9").response_scales[0]
    frame = pd.DataFrame({"a": ["1", "2", "4"], "b": ["0", "1", "3"], "c": ["1", "2", "3"]})
    assert detect_answer_values(frame[["a"]], {"a": scale}) == "sequence"  # 4: a position
    assert detect_answer_values(frame[["b"]], {"b": scale}) == "code"  # 0: a code
    assert detect_answer_values(frame[["c"]], {"c": scale}) == "undecided"
    # one column's evidence decides the download
    assert detect_answer_values(frame[["a", "c"]], {"a": scale, "c": scale}) == "sequence"


# --- bounded YAML, JSON, key files, Parquet ---------------------------------------------

def _billion_laughs() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
        prev = name
    return "\n".join(lines) + "\n"


HOSTILE_YAML = {
    "laughs": _billion_laughs(),
    "deep": "a: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "compact": "a:\n" + "- " * 5_000 + "x\n",
    "bigint": "id: x\nversion: " + "9" * 5_000 + "\n",
    "aliases": "a: &a 1\nb: [" + ", ".join(["*a"] * 500) + "]\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_YAML))
def test_hostile_yaml_is_a_bounded_definition_error(name):
    import tracemalloc

    from xinli_screen.yaml_source import read_yaml

    assert len(HOSTILE_YAML["laughs"]) < 1024
    tracemalloc.start()
    try:
        doc = read_yaml(HOSTILE_YAML[name], is_text=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert doc.data is None
    assert [i.code for i in doc.issues] == ["yaml-limit"]
    assert peak < 150 * 2**20


@pytest.mark.parametrize("name", ["laughs", "deep", "bigint"])
@pytest.mark.parametrize("where", ["-i", "--policy", "--columns"])
def test_cli_hostile_yaml_exits_3(cli, tmp_path, name, where):
    src = tmp_path / "a.csv"
    src.write_text("sid,phq9_01\nS3CRET90,1\n", encoding="utf-8")
    bad = tmp_path / f"{name}.yaml"
    bad.write_text(HOSTILE_YAML[name], encoding="utf-8")
    args = ["-i", bad] if where == "-i" else ["-i", "phq9", where, bad]
    run = cli("score", src, *args, "--id-column", "sid", "-o", tmp_path / "out.csv")
    assert run.code == 3, run.err
    assert "yaml-limit" in run.err or "yaml-limits" in run.err
    assert "Traceback" not in run.err
    _no_secret(run.out, run.err)


def test_oversized_yaml_file_is_refused_unread(tmp_path):
    from xinli_screen.yaml_source import MAX_YAML_BYTES, read_yaml

    big = tmp_path / "big.yaml"
    with big.open("wb") as fh:
        fh.truncate(MAX_YAML_BYTES + 1)
    doc = read_yaml(big)
    assert doc.data is None and doc.issues[0].code == "yaml-limit"


def test_huge_key_file_is_refused_without_reading_it(cli, tmp_path):
    from xinli_screen.privacy import KeyFileTooLargeError, load_key

    key = tmp_path / "huge.key"
    with key.open("wb") as fh:
        fh.truncate(70 * 2**20)
    with pytest.raises(KeyFileTooLargeError, match="larger than"):
        load_key(key)
    results = tmp_path / "r.csv"
    src = tmp_path / "a.csv"
    src.write_text("sid," + ",".join(f"phq9_{k:02d}" for k in range(1, 10)) + "\n"
                   f"{SECRET}," + ",".join(["1"] * 9) + "\n", encoding="utf-8")
    assert cli("score", src, "-i", "phq9", "--id-column", "sid", "-o", results).code == 0
    run = cli("archive", "import", results, "--wave", "w1", "--archive", tmp_path / "a.db",
              "--pseudonymise", "--key-file", key)
    assert run.code == 3 and "key-file" in run.err
    _no_secret(run.out, run.err)


@pytest.mark.parametrize("suffix,text", [
    (".json", "[" * 100_000 + "]" * 100_000),
    (".json", '[{"sid": "S3CRET91", "phq9_01": ' + "9" * 5_000 + "}]"),
    (".jsonl", '{"sid": "S3CRET92", "phq9_01": ' + "[" * 100_000 + "]" * 100_000 + "}\n"),
    (".jsonl", '{"sid": "S3CRET93", "phq9_01": ' + "7" * 5_000 + "}\n"),
], ids=["deep-json", "bigint-json", "deep-jsonl", "bigint-jsonl"])
def test_hostile_json_is_a_named_data_problem(cli, tmp_path, suffix, text):
    src = tmp_path / f"hostile{suffix}"
    src.write_text(text, encoding="utf-8")
    run = cli("score", src, "-i", "phq9", "--id-column", "sid", "-o", tmp_path / "o.csv")
    assert run.code == 1 and "json-limits" in run.err
    _no_secret(run.out, run.err)
    with pytest.raises(xs.ResponseDataError, match="json-limits"):
        from xinli_screen.io import read_table
        read_table(src)


def test_parquet_list_column_is_named(cli, tmp_path):
    src = tmp_path / "list.parquet"
    pd.DataFrame({"sid": [f"{SECRET}a", f"{SECRET}b"], "phq9_01": [[1, 2], [0]],
                  "phq9_02": [{"x": 1}, {"x": 2}]}).to_parquet(src)
    run = cli("score", src, "-i", "phq9", "--id-column", "sid", "-o", tmp_path / "o.csv")
    assert run.code == 1 and "'phq9_01'" in run.err and "parquet-nested" in run.err
    _no_secret(run.out, run.err)


# --- a positive critical item on an invalid protocol ------------------------------------

def test_positive_critical_item_on_an_invalid_protocol_is_pending_review():
    row = {"sid": "a", **{f"phq9_{k:02d}": 0 for k in range(1, 10)}, "secs": "2"}
    frame = pd.DataFrame([{**row, "phq9_09": 2}, {**row, "sid": "b"},
                          {**row, "sid": "c", "phq9_09": "x"}])
    with pytest.warns(xs.XinliScreenWarning):
        r = xs.screen(frame, ["phq9"], id_column="sid", time_column="secs")
    t = r.table.set_index("sid")
    assert not t["protocol_valid"].any()  # all too fast (2 s)
    assert t.loc["a", "critical_items"] == "phq9.self_harm_thoughts"
    assert t["review_status"].tolist() == ["pending_review", "retest", "pending_review"]


# --- duplicated item headers ---------------------------------------------------------------

def _dup_table() -> pd.DataFrame:
    cols = ["sid", *[f"phq9_{k:02d}" for k in range(1, 10)], "phq9_09"]
    return pd.DataFrame([[f"{SECRET}a", *["0"] * 9, "3"], [f"{SECRET}b", *["1"] * 10]],
                        columns=cols)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize("chunk", [[], ["--chunk-size", "1"]])
def test_duplicated_item_header_is_a_named_error(cli, tmp_path, suffix, chunk):
    src = tmp_path / f"dup{suffix}"
    if suffix == ".csv":
        _dup_table().to_csv(src, index=False)
    else:
        if chunk:
            pytest.skip("XLSX is not streamed")
        _dup_table().to_excel(src, index=False)
    run = cli("score", src, "-i", "phq9", "--id-column", "sid", "-o", tmp_path / "o.csv",
              *chunk)
    assert run.code == 1, run.err
    assert "'phq9_09' in columns 10, 11" in run.err and f"dup{suffix}" in run.err
    assert "duplicate-columns" in run.err
    _no_secret(run.out, run.err)
    with pytest.raises(xs.ResponseDataError, match="more than once"):
        from xinli_screen.instrument.registry import load_instrument
        from xinli_screen.io.source import load_answers
        load_answers(src, [load_instrument("phq9")], id_column="sid")


def test_duplicated_header_that_is_not_scored_is_renamed_and_noted(tmp_path):
    from xinli_screen.instrument.registry import load_instrument
    from xinli_screen.io.source import load_answers

    src = tmp_path / "ok.csv"
    frame = _dup_table().drop(columns=["phq9_09"]).assign(phq9_09="1")
    frame.insert(1, "备注", "x")
    frame.insert(2, "备注 ", "y")
    frame.to_csv(src, index=False)
    loaded = load_answers(src, [load_instrument("phq9")], id_column="sid")
    assert "备注.1" in loaded.data.columns
    assert any("repeated" in n for n in loaded.plan.notes)


# --- stray quotes, streamed line numbers, SIGTERM, file modes ------------------------------

def _phq_csv(path: Path, n: int, edit: dict[tuple[int, int], str] | None = None) -> Path:
    rows = ["sid," + ",".join(f"phq9_{k:02d}" for k in range(1, 10))]
    for r in range(n):
        cells = [str((r + k) % 4) for k in range(9)]
        for (row, k), value in (edit or {}).items():
            if row == r:
                cells[k] = value
        rows.append(f"{SECRET}{r}," + ",".join(cells))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("chunk", [[], ["--chunk-size", "4"]])
def test_stray_quote_merging_rows_is_a_named_error(cli, tmp_path, chunk):
    src = _phq_csv(tmp_path / "quote.csv", 12, {(3, 0): '"1', (6, 2): '1"'})
    run = cli("score", src, "-i", "phq9", "--id-column", "sid", "-o", tmp_path / "o.csv",
              *chunk)
    assert run.code == 1, run.err
    assert "line 5" in run.err and "quote.csv" in run.err
    assert run.err.count("quote.csv") == 1
    assert not (tmp_path / "o.csv").exists()
    _no_secret(run.out, run.err)


def test_free_text_with_a_line_break_is_not_a_stray_quote(tmp_path):
    from xinli_screen.io import read_table

    src = tmp_path / "ok.csv"
    src.write_text('sid,note,phq9_01\n1,"第一行\n第二行, 还好",1\n2,x,0\n', encoding="utf-8")
    frame, _ = read_table(src)
    assert len(frame) == 2


def test_streamed_ragged_row_names_its_line_not_its_text(cli, tmp_path):
    src = _phq_csv(tmp_path / "rag.csv", 40, {(25, 8): "1,2"})
    run = cli("score", src, "-i", "phq9", "--id-column", "sid", "-o", tmp_path / "o.csv",
              "--chunk-size", "5")
    assert run.code == 1
    assert "line 27" in run.err and "11 cell(s)" in run.err
    _no_secret(run.out, run.err)


def test_sigterm_while_streaming_removes_partial_files(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    src = _phq_csv(tmp_path / "big.csv", 60_000)
    out = tmp_path / "out.csv"
    proc = subprocess.Popen([sys.executable, "-m", "xinli_screen", "score", str(src), "-i",
                             "phq9", "--id-column", "sid", "-o", str(out), "--failures",
                             str(tmp_path / "f.csv"), "--chunk-size", "200"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    partial = tmp_path / "out.csv.partial"
    deadline = time.monotonic() + 60
    while not partial.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert partial.exists(), "the run ended before it could be stopped"
    assert (partial.stat().st_mode & 0o777) == 0o600
    os.kill(proc.pid, signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode in (143, -signal.SIGTERM)
    assert proc.returncode == 143, err.decode()
    assert not list(tmp_path.glob("*.partial")) and not out.exists()
    assert b"Traceback" not in err


def test_results_and_failures_are_private(cli, tmp_path):
    src = _phq_csv(tmp_path / "a.csv", 3, {(1, 0): "x"})
    for suffix, chunk in ((".csv", []), (".xlsx", []), (".csv", ["--chunk-size", "1"]),
                          (".parquet", ["--chunk-size", "1"])):
        out = tmp_path / f"r{len(chunk)}{suffix}"
        fails = tmp_path / f"f{len(chunk)}{suffix}.csv"
        run = cli("score", src, "-i", "phq9", "--id-column", "sid", "-o", out,
                  "--failures", fails, *chunk)
        assert run.code == 1, run.err
        for path in (out, fails):
            assert (path.stat().st_mode & 0o777) == 0o600, path


# --- missing codes that are valid answers -----------------------------------------------

def test_missing_code_equal_to_a_critical_answer_is_refused(cli, tmp_path):
    src = _phq_csv(tmp_path / "a.csv", 12)
    run = cli("score", src, "-i", "phq9", "--id-column", "sid", "-o", tmp_path / "o.csv",
              "--missing-code", "1")
    assert run.code == 2 and "phq9_09" in run.err and "missing-code-clash" in run.err
    _no_secret(run.out, run.err)
    cmap = tmp_path / "map.yaml"
    cmap.write_text("columns: {}\nmissing_codes: [2]\n", encoding="utf-8")
    run = cli("score", src, "-i", "phq9", "--id-column", "sid", "-o", tmp_path / "o.csv",
              "--columns", cmap)
    assert run.code == 2 and "critical item" in run.err
    frame = pd.read_csv(src, dtype=str)
    with pytest.raises(ValueError, match="critical item"):
        xs.screen(frame, ["phq9"], id_column="sid", missing_codes=[3])
    # codes outside the answers are fine (NHANES 7 and 9)
    r = xs.screen(frame, ["phq9"], id_column="sid", missing_codes=[7, 9])
    assert len(r.table) == 12


def test_missing_code_equal_to_another_answer_warns():
    frame = pd.DataFrame({"sid": ["a"], **{f"gad7_0{k}": ["1"] for k in range(1, 8)}})
    with pytest.warns(xs.XinliScreenWarning, match="also valid answers"):
        xs.screen(frame, ["gad7"], id_column="sid", missing_codes=[1])


# --- encodings ------------------------------------------------------------------------------

def test_utf16_and_big5_are_named(cli, tmp_path):
    text = "學號,姓名,phq9_01\nS3CRET9x,王小明,1\n"
    (tmp_path / "u16.csv").write_bytes(text.encode("utf-16"))
    (tmp_path / "u16le.csv").write_bytes(text.encode("utf-16-le"))
    (tmp_path / "big5.csv").write_bytes(text.encode("big5"))
    run = cli("score", tmp_path / "u16.csv", "-i", "phq9", "--id-column", "學號", "-o",
              tmp_path / "o.csv")
    assert run.code == 0, run.err  # a byte-order mark says UTF-16: read
    run = cli("score", tmp_path / "u16le.csv", "-i", "phq9", "--id-column", "學號", "-o",
              tmp_path / "o.csv")
    assert run.code == 1 and "UTF-16" in run.err and "byte-order mark" in run.err
    run = cli("score", tmp_path / "big5.csv", "-i", "phq9", "--id-column", "學號", "-o",
              tmp_path / "o.csv")
    assert run.code == 1 and "Big5" in run.err
    run = cli("score", tmp_path / "u16.csv", "-i", "phq9", "--id-column", "學號", "-o",
              tmp_path / "o.csv", "--chunk-size", "5")
    assert run.code == 1 and "UTF-16" in run.err


# --- a band or cut-off that is not a finite number ------------------------------------

@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_band_min_and_cutoff_must_be_finite(value):
    import yaml
    from pydantic import ValidationError

    from xinli_screen.instrument.models import Band, Cutoff

    number = yaml.safe_load(value)
    with pytest.raises(ValidationError, match="finite"):
        Band(id="mild", min=number, label={"zh": "轻度", "en": "Mild"})
    with pytest.raises(ValidationError, match="finite"):
        Cutoff(id="c", value=number, label={"zh": "阳性", "en": "Positive"}, source="x")


# --- concurrent imports ---------------------------------------------------------------------

def test_locked_archive_is_a_clear_retryable_message(cli, tmp_path):
    import sqlite3

    src = _phq_csv(tmp_path / "a.csv", 12)
    results = tmp_path / "r.csv"
    assert cli("score", src, "-i", "phq9", "--id-column", "sid", "-o", results).code == 0
    db = tmp_path / "a.db"
    assert cli("archive", "import", results, "--wave", "w1", "--archive", db).code == 0
    other = sqlite3.connect(db, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another import writing
        run = cli("archive", "import", results, "--wave", "w2", "--archive", db)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert run.code == 2, run.err
    assert "in use by another command" in run.err and "again" in run.err
    assert "Traceback" not in run.err and "OperationalError" not in run.err
    _no_secret(run.out, run.err)
    assert cli("archive", "import", results, "--wave", "w2", "--archive", db).code == 0
