"""Results files read back with the types and values of ``ScreeningResult.table``.

Every output format (CSV, XLSX, Parquet, JSON) written by :func:`xinli_screen.io.write_result`
and read by :func:`xinli_screen.archive.read_results_file` gives the same table: cut-off flags
as nullable booleans (blank cells NA, never floats or 'True' strings), scores as floats, ids as
text with their leading zeros, ``tier_settled`` and ``protocol_valid`` as booleans, and the
ordered ``warning_tier`` categorical.

The one normalisation: XLSX stores floats to 16 significant digits (openpyxl writes ``%.16g``;
Excel itself keeps 15), so XLSX floats are compared to a relative 1e-15; everything else, and
every other format, is compared exactly.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xinli_screen as xs
from xinli_screen.archive import ArchiveStore, read_results_file
from xinli_screen.archive.results_file import restore_result_types, result_column_type
from xinli_screen.io import write_result
from xinli_screen.report.pupil import _positive, build_pupil_report

INSTRUMENTS = ["phqa", "scared", "mht"]
FORMATS = [".csv", ".xlsx", ".parquet", ".json"]


def _answers(n: int, seed: int, missing: float = 0.08) -> pd.DataFrame:
    """Codes of PHQ-A, SCARED and MHT for ``n`` pupils, some answers missing, ids with
    leading zeros, one missing and one repeated id, one unreadable cell, one blank sheet."""
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    for inst_id in INSTRUMENTS:
        inst = xs.load_instrument(inst_id)
        for item in inst.items:
            codes = list(inst.response_scale_of(item).codes)
            cols[item.id] = rng.choice(codes, size=n).astype(float)
    frame = pd.DataFrame(cols)
    frame = frame.mask(rng.random(frame.shape) < missing)
    text = frame.astype(object).where(frame.notna(), None).map(
        lambda v: v if v is None else str(int(v)))
    ids: list[str | None] = [f"{k:07d}" for k in range(1, n + 1)]
    if n >= 6:
        ids[2] = None  # missing id
        ids[4] = ids[3]  # repeated id
        text.iloc[1, 5] = "不知道"  # unreadable answer -> failure, status invalid
        text.iloc[5, :] = None  # a pupil who answered nothing
    text.insert(0, "学号", ids)
    text.insert(1, "sex", rng.choice(["男", "女"], size=n))
    return text


def _screen(frame: pd.DataFrame, **kwargs: object) -> xs.ScreeningResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return xs.screen(frame, INSTRUMENTS, id_column="学号", **kwargs)


@pytest.fixture(scope="module")
def result() -> xs.ScreeningResult:
    return _screen(_answers(60, 20250901))


@pytest.fixture(scope="module")
def normed() -> xs.ScreeningResult:
    """With norm columns (z, T, percentile, stanine, sten, norm status) and careless indices."""
    frame = _answers(60, 7)
    frame["用时"] = np.random.default_rng(3).choice(["900", "30", "5分3秒"], size=len(frame))
    return _screen(frame, norms=["scared_12cities_sex"], group_columns={"sex": "sex"},
                   careless=True, time_column="用时")


def _assert_same(got: pd.DataFrame, want: pd.DataFrame, suffix: str) -> None:
    if suffix == ".xlsx":
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-15, atol=0)
    else:
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def _round_trip(r: xs.ScreeningResult, path: Path) -> tuple[pd.DataFrame, dict]:
    write_result(r, path)
    return read_results_file(path)


def test_the_table_has_blank_flags(result: xs.ScreeningResult) -> None:
    """The fixture exercises what broke: boolean cut-off columns with missing cells."""
    table = result.table
    flags = [c for c in table.columns if result_column_type(c) == "boolean"
             and c != "protocol_valid"]
    assert len(flags) >= 10
    assert all(isinstance(table[c].dtype, pd.BooleanDtype) for c in flags)
    assert any(table[c].isna().any() for c in flags)
    assert any(table[c].fillna(False).any() for c in flags)
    assert table["protocol_valid"].isna().any() or (~table["protocol_valid"]).any()
    assert {"invalid", "missing_id", "duplicate_id", "no_answers"} <= set(table["status"])


@pytest.mark.parametrize("suffix", FORMATS)
def test_round_trip_gives_the_same_table(result: xs.ScreeningResult, tmp_path: Path,
                                         suffix: str) -> None:
    table, prov = _round_trip(result, tmp_path / f"results{suffix}")
    _assert_same(table, result.table, suffix)
    assert prov["id_column"] == "学号"
    assert table["学号"].iloc[0] == "0000001"


@pytest.mark.parametrize("suffix", FORMATS)
def test_round_trip_with_norms_and_careless_indices(normed: xs.ScreeningResult,
                                                    tmp_path: Path, suffix: str) -> None:
    assert {"scared.total.stanine", "careless.too_fast", "scared.norm_group"} <= set(
        normed.table.columns)
    table, _ = _round_trip(normed, tmp_path / f"normed{suffix}")
    _assert_same(table, normed.table, suffix)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_without_the_provenance_sidecar_the_rules_still_type_every_column(
        result: xs.ScreeningResult, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"results{suffix}"
    write_result(result, path)
    path.with_name(path.name + ".provenance.json").unlink()
    table, prov = read_results_file(path)
    assert prov == {}
    pd.testing.assert_frame_equal(table, result.table, check_exact=True)


def test_csv_saved_again_by_excel_keeps_its_types(result: xs.ScreeningResult,
                                                  tmp_path: Path) -> None:
    """Excel on Chinese Windows re-saves as GBK and writes flags as TRUE/FALSE."""
    path = tmp_path / "results.csv"
    write_result(result, path)
    text = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    flags = [c for c in text.columns if result_column_type(c) in ("boolean", "bool")]
    for c in flags:
        text[c] = text[c].str.upper()
    again = tmp_path / "again.csv"
    again.write_bytes(text.to_csv(index=False).encode("gb18030"))
    table, _ = read_results_file(again)
    pd.testing.assert_frame_equal(table, result.table, check_exact=True)


def test_formula_like_text_comes_back_as_written(tmp_path: Path) -> None:
    ids = ["=1+2", "-x", "@sum", "+86", "-12", "007", "'quoted"]
    frame = _answers(len(ids), 1, missing=0.0)
    frame["学号"] = ids
    r = _screen(frame)
    table, _ = _round_trip(r, tmp_path / "results.csv")
    assert table["学号"].tolist() == ids
    raw = pd.read_csv(tmp_path / "results.csv", dtype=str, encoding="utf-8-sig")
    assert raw["学号"].tolist()[:3] == ["'=1+2", "'-x", "'@sum"]  # still neutralised on disk


def test_restore_leaves_cells_that_do_not_fit_as_text() -> None:
    table = pd.DataFrame({"warning_tier": ["none", "class"], "phq9.total": ["3", "n/a"],
                          "phq9.total.screen_positive": ["True", "maybe"],
                          "sid": ["007", None]})
    out = restore_result_types(table, {"id_column": "sid"})
    assert out["phq9.total"].tolist() == ["3", "n/a"]
    assert out["phq9.total.screen_positive"].tolist() == ["True", "maybe"]
    assert out["sid"].tolist()[0] == "007" and pd.isna(out["sid"].iloc[1])
    assert out["warning_tier"].cat.categories.tolist() == ["none", "class", "school",
                                                            "district"]


@pytest.mark.parametrize("name,kind", [
    ("phq9.total", "float"), ("phq9.total.n_answered", "int"), ("phq9.total.prorated", "bool"),
    ("phq9.total.band", "text"), ("phq9.total.screen_positive", "boolean"),
    ("mht.total.high", "boolean"), ("scared.total.stanine", "Int64"),
    ("scared.norm_group", "text"), ("careless.longstring", "Int64"),
    ("careless.too_fast", "boolean"), ("careless.irv", "float"), ("reasons", "text0"),
    ("tier_settled", "bool"), ("protocol_valid", "boolean"), ("warning_tier", "tier"),
    ("学号", "text"), ("school.class", "float"),
])
def test_column_types_from_names(name: str, kind: str) -> None:
    assert result_column_type(name) == kind


def test_instrument_ids_of_the_provenance_narrow_the_rules() -> None:
    assert result_column_type("school.class", {"phq9"}) == "text"
    assert result_column_type("phq9.total", {"phq9"}) == "float"
    assert result_column_type("phq9.total", {"phq9"}, id_column="phq9.total") == "text"


@pytest.mark.parametrize("value,positive", [
    (True, True), (np.True_, True), (1, True), (1.0, True), ("TRUE", True), ("1", True),
    (False, False), (np.False_, False), (0.0, False), (float("nan"), False), (None, False),
    (pd.NA, False), ("False", False), ("", False),
])
def test_pupil_report_reads_flags_in_any_stored_form(value: object, positive: bool) -> None:
    assert _positive(value) is positive


def test_pupil_report_from_an_xlsx_results_file_keeps_the_flags(
        result: xs.ScreeningResult, tmp_path: Path) -> None:
    path = tmp_path / "results.xlsx"
    write_result(result, path)
    table, prov = read_results_file(path)
    flags = result.table["phqa.total.screen_positive"]
    pupil = result.table.loc[flags.fillna(False).to_numpy(bool)
                             & (result.table["status"] != "duplicate_id").to_numpy()
                             & result.table["学号"].notna().to_numpy(), "学号"].iloc[0]
    with ArchiveStore(tmp_path / "a.db") as store:
        store.import_wave(table, prov, "w1", by="test")
        report = build_pupil_report(store, pupil, view="psychologist")
    scales = {s["scale"]: s for s in report["waves"][0]["scales"]}
    assert "screen_positive" in scales["phqa.total"]["screen_positive"]


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 12), seed=st.integers(0, 2**16), missing=st.floats(0.0, 0.6),
       suffix=st.sampled_from(FORMATS))
def test_round_trip_property(tmp_path: Path, n: int, seed: int, missing: float,
                             suffix: str) -> None:
    r = _screen(_answers(n, seed, missing))
    table, _ = _round_trip(r, tmp_path / f"p{seed}{suffix}")
    _assert_same(table, r.table, suffix)


# -- XLSX written by XlsxWriter: the same cells as pandas' openpyxl writer (the old path) -----
def _openpyxl_workbook(sheets: dict[str, pd.DataFrame], path: Path) -> Path:
    """The results XLSX as xinli-screen wrote it before issue 17: pandas + openpyxl, text made
    storable cell by cell, formula-like text forced back to text."""
    from xinli_screen.io.writers import xlsx_text

    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            plain = frame.copy()
            for col in plain.columns:
                if isinstance(plain[col].dtype, pd.CategoricalDtype):
                    plain[col] = plain[col].astype(object)
            plain = plain.map(xlsx_text).rename(columns=xlsx_text)
            plain.to_excel(writer, sheet_name=name, index=False)
            for row in writer.sheets[name].iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        cell.data_type = "s"
    return path


def _cells(path: Path) -> dict[str, list[list[tuple[str, object]]]]:
    """Every cell as (kind, value): kind n (number), b (boolean), s (text), empty."""
    from openpyxl import load_workbook

    out = {}
    for sheet in load_workbook(path).worksheets:
        rows = []
        for row in sheet.iter_rows():
            kinds = []
            for cell in row:
                value = cell.value
                if value is None or value == "":
                    kinds.append(("empty", None))
                elif cell.data_type == "b" or isinstance(value, bool):
                    kinds.append(("b", bool(value)))
                elif cell.data_type == "n":
                    kinds.append(("n", float(value)))
                else:
                    kinds.append(("s", value))
            rows.append(kinds)
        out[sheet.title] = rows
    return out


@pytest.mark.parametrize("which", ["result", "normed"])
def test_xlsx_cells_equal_the_openpyxl_writer(which: str, request: pytest.FixtureRequest,
                                              tmp_path: Path) -> None:
    r: xs.ScreeningResult = request.getfixturevalue(which)
    new = tmp_path / "new.xlsx"
    write_result(r, new)
    prov = pd.DataFrame({"key": list(r.provenance), "value": [
        json.dumps(v, ensure_ascii=False) for v in r.provenance.values()]})
    old = _openpyxl_workbook({"results": r.table, "failures": r.failures,
                              "reasons": r.reasons, "provenance": prov}, tmp_path / "old.xlsx")
    got, want = _cells(new), _cells(old)
    assert list(got) == list(want) == ["results", "failures", "reasons", "provenance"]
    for name in want:
        width = max(len(row) for row in want[name])
        pad = [row + [("empty", None)] * (width - len(row)) for row in got[name]]
        assert len(pad) == len(want[name]), name
        for k, (a, b) in enumerate(zip(pad, want[name], strict=True)):
            assert a == b, f"{name} row {k}"
    ids = [row[0] for row in got["results"][1:]]
    assert ("s", "0000001") in ids and ("empty", None) in ids  # text, leading zeros; blank
    kinds = {kind for row in got["results"][1:] for kind, _ in row}
    assert kinds == {"n", "b", "s", "empty"}


# -- CSV written by Arrow in batches: the bytes pandas' to_csv wrote (the old path) ------------
def _old_csv(frame: pd.DataFrame, path: Path) -> bytes:
    from xinli_screen.io.writers import csv_safe

    csv_safe(frame).to_csv(path, index=False, encoding="utf-8-sig")
    return path.read_bytes()


@pytest.mark.parametrize("which", ["result", "normed"])
def test_csv_bytes_equal_the_pandas_writer(which: str, request: pytest.FixtureRequest,
                                           tmp_path: Path) -> None:
    from xinli_screen.io.writers import write_failures

    r: xs.ScreeningResult = request.getfixturevalue(which)
    write_result(r, tmp_path / "new.csv")
    assert (tmp_path / "new.csv").read_bytes() == _old_csv(r.table, tmp_path / "old.csv")
    write_failures(r, tmp_path / "f.csv", bom=False)
    assert b"\xef\xbb\xbf" + (tmp_path / "f.csv").read_bytes() == _old_csv(
        r.failures, tmp_path / "old_f.csv")


TEXT = st.one_of(st.none(), st.text(alphabet=st.sampled_from(
    list("ab学号,\"\n\r\t=+-@ 0123456789.'eE\x01")), max_size=8))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.one_of(st.none(), st.floats(allow_nan=True, width=64)),
                          st.integers(-10**12, 10**12), st.booleans(), TEXT, TEXT),
                min_size=1, max_size=20),
       st.integers(1, 7))
def test_csv_writer_property(tmp_path_factory, rows, batch) -> None:
    import io

    from xinli_screen.io.writers import _csv_lines, csv_safe, write_csv

    frame = pd.DataFrame(rows, columns=["x", "n", "b", "t", "u"])
    frame["x"] = frame["x"].astype(float)
    frame["t"] = frame["t"].astype("str")
    frame["u"] = pd.Categorical(frame["u"])
    assert _csv_lines(frame, True) is not None  # Arrow formats it, not pandas
    out = io.BytesIO()
    write_csv(frame, out, batch_rows=batch)
    assert out.getvalue() == csv_safe(frame).to_csv(index=False).encode("utf-8")
