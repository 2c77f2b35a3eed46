"""Readers: the same PHQ-9 answers in every input format give identical scores.

GBK CSV (option text), UTF-8-BOM CSV, XLSX, XLS, SPSS .sav (coded 1-4 with value labels and a
declared user-missing code), Parquet and JSON lines are each written as a real file and scored
through the command line; the result tables must be equal cell for cell (the id column aside,
whose header differs).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from io_builders import (
    CODES,
    IDS,
    ITEMS,
    frame_of_codes,
    write_csv,
    write_jsonl,
    write_parquet,
    write_sav,
    write_xls,
    write_xlsx,
)

import xinli_screen as xs
from xinli_screen.io import read_table
from xinli_screen.io.jsonl import read_json_lines
from xinli_screen.io.source import load_answers
from xinli_screen.io.spss import read_sav, resolve_value_labels

PHQ9 = xs.load_instrument("phq9")


def score_file(cli, path: Path, tmp_path: Path, id_column: str, *extra: object) -> pd.DataFrame:
    out = tmp_path / f"{path.stem}.{path.suffix.lstrip('.')}.out.csv"
    run = cli("score", path, "-i", "phq9", "--id-column", id_column, "-o", out, *extra)
    assert run.code in (0, 1), run.err
    table = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert table[id_column].tolist() == IDS  # every row once, in order, ids as text
    return table.drop(columns=[id_column])


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    result = xs.screen(frame_of_codes(), ["phq9"], id_column="sid")
    return result.table.drop(columns=["sid"])


@pytest.fixture
def expected(cli, tmp_path) -> pd.DataFrame:
    path = write_csv(tmp_path / "plain.csv", "utf-8", id_column="sid")
    return score_file(cli, path, tmp_path, "sid")


BUILDERS = {
    "gbk-csv-labels": (lambda p: write_csv(p / "gbk.csv", "gbk", labels=True), "学号"),
    "gb18030-csv": (lambda p: write_csv(p / "gb.csv", "gb18030", labels=True), "学号"),
    "utf8-bom-csv": (lambda p: write_csv(p / "bom.csv", "utf-8-sig"), "学号"),
    "xlsx": (lambda p: write_xlsx(p / "a.xlsx"), "sid"),
    "xls": (lambda p: write_xls(p / "a.xls"), "sid"),
    # 问卷星's SPSS download is coded 1-4 with labels: read through them (codes are the default)
    "sav-value-labels": (lambda p: write_sav(p / "a.sav"), "sid", "--spss-values", "labels"),
    "parquet": (lambda p: write_parquet(p / "a.parquet"), "sid"),
    "jsonl": (lambda p: write_jsonl(p / "a.jsonl"), "sid"),
}


@pytest.mark.parametrize("fmt", list(BUILDERS))
def test_every_format_gives_identical_scores(cli, tmp_path, expected, fmt):
    build, id_column, *extra = BUILDERS[fmt]
    table = score_file(cli, build(tmp_path), tmp_path, id_column, *extra)
    pd.testing.assert_frame_equal(table, expected)


def test_cli_matches_the_api(expected, reference):
    scores = [c for c in reference.columns if c.startswith("phq9.") and "." not in c[5:]]
    got = expected[scores].replace("", np.nan).astype(float)
    pd.testing.assert_frame_equal(got, reference[scores].astype(float))


def test_encodings_are_reported(tmp_path):
    for encoding, expected_name in (("gbk", "gb18030"), ("utf-8-sig", "utf-8-sig"),
                                    ("utf-8", "utf-8-sig")):
        _, info = read_table(write_csv(tmp_path / f"{encoding}.csv", encoding, labels=True))
        assert info["encoding"] == expected_name


def test_sav_user_missing_becomes_missing_and_labels_become_codes(tmp_path):
    frame, labels = read_sav(write_sav(tmp_path / "a.sav"))
    assert frame["sid"].tolist() == IDS
    raw = frame[ITEMS].to_numpy(dtype=float)
    assert np.array_equal(np.isnan(raw), np.isnan(CODES))  # 9 (declared missing) -> NaN
    scales = {item: PHQ9.response_scale_of(PHQ9.items[j]) for j, item in enumerate(ITEMS)}
    recoded, cols = resolve_value_labels(frame, labels, scales)
    assert cols == ITEMS
    np.testing.assert_array_equal(recoded[ITEMS].to_numpy(dtype=float), CODES)


def test_sav_labels_that_do_not_name_options_keep_the_stored_codes(tmp_path):
    import pyreadstat

    frame = pd.DataFrame({"sid": ["1", "2"], "phq9_01": [0.0, 3.0]})
    path = tmp_path / "codes.sav"
    pyreadstat.write_sav(frame, str(path),
                         variable_value_labels={"phq9_01": {0.0: "zero", 3.0: "three"}})
    loaded = load_answers(path, [PHQ9])
    assert loaded.data["phq9_01"].tolist() == [0.0, 3.0]


def test_sav_value_without_label_in_a_recoded_column_is_a_failure(tmp_path):
    import pyreadstat

    frame = pd.DataFrame({"sid": ["1", "2"], **{i: [1.0, 2.0] for i in ITEMS[:9]}})
    frame.loc[1, "phq9_01"] = 7.0  # no label
    path = tmp_path / "stray.sav"
    labels = {i: {1.0: "完全不会", 2.0: "好几天", 3.0: "一半以上的天数", 4.0: "几乎每天"}
              for i in ITEMS[:9]}
    pyreadstat.write_sav(frame, str(path), variable_value_labels=labels)
    loaded = load_answers(path, [PHQ9], id_column="sid", spss_values="labels")
    result = xs.screen(loaded.data, ["phq9"], id_column="sid")
    assert result.table["status"].tolist() == ["scored", "invalid"]
    assert result.failures["code"].tolist() == ["unrecognised-text"]
    assert result.table.loc[0, "phq9.total"] == 0.0


def test_xls_keeps_text_ids_and_whole_numbers(tmp_path):
    frame, info = read_table(write_xls(tmp_path / "a.xls"))
    assert info["format"] == "xls"
    assert frame["sid"].tolist() == IDS
    assert set(frame["phq9_01"].dropna()) <= {"0", "1", "2", "3"}


def test_json_lines_errors_name_the_line_not_the_value(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"sid": "SECRET-1", "phq9_01": 1}\n{"sid": "SECRET-2", \n',
                    encoding="utf-8")
    with pytest.raises(xs.ResponseDataError, match="line 2") as info:
        read_table(path)
    assert "SECRET" not in str(info.value)
    path.write_text('{"sid": "SECRET-1", "phq9_01": [1, 2]}\n', encoding="utf-8")
    with pytest.raises(xs.ResponseDataError, match="nested") as info:
        read_table(path)
    assert "SECRET" not in str(info.value)


def test_json_lines_missing_keys_and_nulls(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"sid": "001", "phq9_01": 2}\n\n{"sid": "002", "phq9_02": null, "x": 1.5}\n',
                    encoding="utf-8")
    frame = read_json_lines(path)
    assert frame.columns.tolist() == ["sid", "phq9_01", "phq9_02", "x"]
    assert frame["sid"].tolist() == ["001", "002"]
    assert frame["phq9_01"].tolist()[0] == "2" and pd.isna(frame["phq9_01"].tolist()[1])
    assert frame["x"].tolist()[1] == "1.5"


def test_corrupt_sav_is_a_clean_error(tmp_path, cli):
    path = tmp_path / "bad.sav"
    path.write_bytes(b"$FL2" + b"SECRET-ID" + b"\0" * 100)
    with pytest.raises(xs.ResponseDataError, match="cannot read as an SPSS"):
        read_table(path)
    run = cli("score", path, "-i", "phq9")
    assert run.code == 1 and "SECRET" not in run.err


def test_csv_output_bom_option(cli, tmp_path):
    path = write_csv(tmp_path / "a.csv", "utf-8", id_column="sid")
    with_bom, without = tmp_path / "bom.csv", tmp_path / "plain.csv"
    assert cli("score", path, "-i", "phq9", "--id-column", "sid", "-o", with_bom).code in (0, 1)
    assert cli("score", path, "-i", "phq9", "--id-column", "sid", "-o", without,
               "--no-bom").code in (0, 1)
    assert with_bom.read_bytes().startswith(b"\xef\xbb\xbf")
    assert not without.read_bytes().startswith(b"\xef\xbb\xbf")
    assert with_bom.read_bytes()[3:] == without.read_bytes()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=9, max_size=9),
       st.sampled_from(["gbk", "utf-8-sig", "utf-8"]))
def test_csv_encodings_round_trip_property(tmp_path_factory, answers, encoding):
    folder = tmp_path_factory.mktemp("enc")
    labels = [o.label.zh for o in PHQ9.response_scales[0].options]
    path = folder / "a.csv"
    with path.open("w", encoding=encoding, newline="") as fh:
        fh.write("学号," + ",".join(ITEMS[:9]) + "\n")
        fh.write("000042," + ",".join("" if a is None else labels[a] for a in answers) + "\n")
    frame, _ = read_table(path)
    result = xs.screen(frame, ["phq9"], id_column="学号")
    total = result.table.loc[0, "phq9.total"]
    if any(a is None for a in answers):
        assert np.isnan(total)
    else:
        assert total == sum(answers)
    assert result.table.loc[0, "学号"] == "000042"


CELLS = st.sampled_from(["0", "1", "2", "3", "01", "3.0", "-0", "1e0", "+2", " 1", "１", "4",
                         "7", "9", "1.5", "nan", "NA", "", "好几天", "A.几乎每天", "x", "inf"])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(CELLS, min_size=3, max_size=3), min_size=1, max_size=12),
       st.booleans())
def test_numeric_fast_path_changes_nothing(rows, declare_nine):
    from xinli_screen.io.source import numeric_codes

    frame = pd.DataFrame(rows, columns=ITEMS[:3], dtype=object).replace("", np.nan)
    codes = [9.0] if declare_nine else []
    scales = {c: PHQ9.response_scales[0] for c in ITEMS[:3]}
    fast = numeric_codes(frame, scales, codes)
    # answer_values="code": random sheets may look shifted (issue 14); not what is tested here
    a = xs.screen(frame, ["phq9"], missing_codes=codes, answer_values="code")
    b = xs.screen(fast, ["phq9"], missing_codes=codes, answer_values="code")
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.failures, b.failures)


# -- CSV: pyarrow's typed read gives the table the pandas text reader gave (issue 17) ---------
def _both_readers(path: Path, monkeypatch: pytest.MonkeyPatch, **kwargs: object
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``load_answers`` data through the fast reader and through the pandas text reader."""
    from xinli_screen.io import readers

    fast = load_answers(path, [PHQ9], **kwargs).data
    with monkeypatch.context() as m:
        m.setattr(readers, "_read_csv_fast", lambda *a, **k: None)
        old = load_answers(path, [PHQ9], **kwargs).data
    return fast, old


def _write_rows(path: Path, rows: list[list[str]], *, sep: str = ",", encoding: str = "utf-8",
                ids: list[str] | None = None, header: list[str] | None = None) -> Path:
    names = header or ["学号", *ITEMS[:3]]
    ids = ids or [f"{k:06d}" for k in range(len(rows))]
    lines = [sep.join(names)] + [sep.join([i, *r]) for i, r in zip(ids, rows, strict=True)]
    path.write_bytes(("\r\n" if sep == ";" else "\n").join(lines).encode(encoding) + b"\n")
    return path


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(CELLS, min_size=3, max_size=3), min_size=1, max_size=12),
       st.sampled_from([(",", "utf-8"), (";", "utf-8-sig"), ("\t", "gb18030")]),
       st.booleans())
def test_typed_csv_read_changes_nothing(tmp_path_factory, rows, dialect, declare_nine):
    sep, encoding = dialect
    path = _write_rows(tmp_path_factory.mktemp("typed") / "a.csv", rows, sep=sep,
                       encoding=encoding)
    codes = [9.0] if declare_nine else []
    with pytest.MonkeyPatch.context() as mp:
        fast, old = _both_readers(path, mp, id_column="学号", missing_codes=codes)
    pd.testing.assert_frame_equal(fast, old)
    assert fast["学号"].tolist() == [f"{k:06d}" for k in range(len(rows))]
    a = xs.screen(old, ["phq9"], id_column="学号", missing_codes=codes, answer_values="code")
    b = xs.screen(fast, ["phq9"], id_column="学号", missing_codes=codes, answer_values="code")
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.failures, b.failures)


def test_typed_csv_columns_are_numbers_where_the_codes_allow(tmp_path, monkeypatch):
    n = 60_000  # past the first MiB that decides which columns are read as numbers
    rows = [["1", "2", "3"]] * n
    rows[-1] = ["A.好几天", "0x1", "7"]  # a label, hexadecimal, out of range: all stay text
    path = _write_rows(tmp_path / "a.csv", rows)
    fast, old = _both_readers(path, monkeypatch, id_column="学号")
    pd.testing.assert_frame_equal(fast, old)
    clean = _write_rows(tmp_path / "b.csv", rows[:-1])
    fast, old = _both_readers(clean, monkeypatch, id_column="学号")
    pd.testing.assert_frame_equal(fast, old)
    assert [str(t) for t in fast.dtypes] == ["str", "float64", "float64", "float64"]


@pytest.mark.parametrize("text,n_rows", [
    ("学号,phq9_01,phq9_02\n001,1,2\n002,1\n003,,\n", 3),          # a short row
    ("学号,phq9_01,phq9_02\n001,1,2\n002,\"1\n2\",3\n", 2),         # a line break in a cell
    ("学号,phq9_01,phq9_02\n\"001\",1,2\n\n\"002\",0,0\n", 2),      # a blank line
    ("学号,备注,备注,phq9_01\n001,a,b,2\n", 1),                      # a repeated header name
    ("学号,,phq9_02\n001,1,2\n", 1),                                # an empty header name
    ("\ufeff学号,phq9_01,phq9_02\r\n001,3,0\r\n", 1),                # BOM and CRLF
])
def test_csv_that_the_text_reader_decides(tmp_path, monkeypatch, text, n_rows):
    path = tmp_path / "a.csv"
    path.write_text(text, encoding="utf-8")
    fast, old = _both_readers(path, monkeypatch, id_column="学号")
    pd.testing.assert_frame_equal(fast, old)
    assert len(fast) == n_rows  # every row once


def test_csv_row_longer_than_the_header_is_still_refused(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("学号,phq9_01\n001,1\n002,1,2\n", encoding="utf-8")
    with pytest.raises(xs.ResponseDataError, match="malformed CSV"):
        load_answers(path, [PHQ9], id_column="学号")
