"""End-to-end tests of the ``xinli-screen`` command (typer CliRunner, stdout and stderr apart)."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen.instrument.registry import bundled_dir

PHQ9_SYMPTOMS = [f"phq9_{i:02d}" for i in range(1, 10)]
BUNDLED = ("cesd", "gad7", "phq9")
SECRET_ID = "SECRET-ID-4711"
SECRET_ANSWER = "SECRET-ANSWER"


# ---------------------------------------------------------------- helpers


def _one_line(text: str) -> str:
    """Help text without rich box characters, whitespace collapsed."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def _line_of(text: str, needle: str, start: int = 0) -> int:
    """1-based number of the first line at or after line ``start`` containing ``needle``."""
    for n, line in enumerate(text.splitlines(), start=1):
        if n > start and needle in line:
            return n
    raise AssertionError(f"{needle!r} not in text")


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"fixture text changed: {old!r}"
    return text.replace(old, new)


def _unorder_functioning_bands(text: str) -> str:
    """Swap the minimums of two phq9 'functioning' bands so they no longer ascend."""
    text = _replace_once(text, "{id: somewhat_difficult, min: 1,",
                         "{id: somewhat_difficult, min: 2,")
    return _replace_once(text, "{id: very_difficult, min: 2,", "{id: very_difficult, min: 1,")


def _phq9_text() -> str:
    return (bundled_dir() / "phq9.yaml").read_text(encoding="utf-8")


def _example_args(example_dir: Path) -> list[str]:
    return ["score", str(example_dir / "nhanes_dpq_j.csv"), "-i", "phq9",
            "--columns", str(example_dir / "nhanes_columns.yaml"), "--id-column", "SEQN"]


def _example_ids(example_dir: Path) -> list[str]:
    with (example_dir / "nhanes_dpq_j.csv").open(encoding="utf-8-sig", newline="") as fh:
        return [row["SEQN"] for row in csv.DictReader(fh)]


def _small_csv(path: Path, rows: list[list[str]]) -> Path:
    lines = [",".join(["sid", *PHQ9_SYMPTOMS]), *(",".join(r) for r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _read_csv_text(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


# ---------------------------------------------------------------- version and help


def test_version(cli):
    run = cli("--version")
    assert run.code == 0
    assert run.out.strip() == f"xinli-screen {xs.__version__}"


def test_python_m_version():
    proc = subprocess.run([sys.executable, "-m", "xinli_screen", "--version"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"xinli-screen {xs.__version__}"


def test_no_arguments_shows_help(cli):
    run = cli()
    assert "score" in run.out + run.err
    assert "instruments" in run.out + run.err


@pytest.mark.parametrize("command", [
    ["score"],
    ["example-data"],
    ["instruments", "list"],
    ["instruments", "show"],
    ["instruments", "validate"],
    ["instruments", "schema"],
])
def test_help_of_each_command_has_an_example(cli, command):
    run = cli(*command, "--help")
    assert run.code == 0
    text = _one_line(run.out)
    assert "Example" in text
    assert "xinli-screen " + " ".join(command) in text


# ---------------------------------------------------------------- instruments


def test_instruments_list_text(cli):
    run = cli("instruments", "list")
    assert run.code == 0
    first_words = [line.split()[0] for line in run.out.splitlines() if line.strip()]
    assert set(BUNDLED) <= set(first_words)
    assert first_words == sorted(first_words)
    assert "Patient Health Questionnaire-9" in run.out


def test_instruments_list_json(cli):
    run = cli("instruments", "list", "--json")
    assert run.code == 0
    summaries = json.loads(run.out)
    by_id = {s["id"]: s for s in summaries}
    assert set(BUNDLED) <= set(by_id)
    assert by_id["phq9"]["n_items"] == 10
    assert by_id["gad7"]["n_items"] == 7
    assert by_id["cesd"]["n_items"] == 20
    assert by_id["phq9"]["critical_items"] == ["phq9_09"]


def test_instruments_show_text(cli):
    run = cli("instruments", "show", "phq9")
    assert run.code == 0
    assert re.match(r"phq9 v\d+\.\d+\.\d+: ", run.out)
    assert "scale total: sum of 9 items, needs 9 answered, range 0-27" in run.out
    assert re.search(r"band moderate\s+>= 10", run.out)
    assert "cut-off screen_positive: >= 10" in run.out
    assert ("critical item phq9.self_harm_thoughts (on by default): phq9_09 (#9) >= 1"
            in run.out)


def test_instruments_show_json_is_the_full_definition(cli):
    run = cli("instruments", "show", "phq9", "--json")
    assert run.code == 0
    shown = json.loads(run.out)
    expected = json.loads(xs.load_instrument("phq9").model_dump_json(exclude_none=True))
    assert shown == expected
    assert [i["id"] for i in shown["items"]] == [*PHQ9_SYMPTOMS, "phq9_10"]


def test_instruments_show_by_path(cli):
    run = cli("instruments", "show", bundled_dir() / "gad7.yaml")
    assert run.code == 0
    assert run.out.startswith("gad7 v")


def test_instruments_show_unknown_id_is_usage_error(cli):
    run = cli("instruments", "show", "nope")
    assert run.code == 2
    assert "'nope'" in run.err
    assert all(name in run.err for name in BUNDLED)


def test_instruments_show_broken_file_is_definition_error(cli, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: broken\nitems: [a, b\n", encoding="utf-8")
    run = cli("instruments", "show", broken)
    assert run.code == 3
    assert "broken.yaml:" in run.err
    assert "yaml-syntax" in run.err


def test_instruments_schema(cli):
    run = cli("instruments", "schema")
    assert run.code == 0
    schema = json.loads(run.out)
    assert {"id", "items", "scales", "response_scales"} <= set(schema["properties"])
    assert schema == xs.instrument_json_schema()


def test_instruments_schema_policy(cli):
    run = cli("instruments", "schema", "--policy")
    assert run.code == 0
    schema = json.loads(run.out)
    assert {"rules", "tiers"} <= set(schema["properties"])
    assert "items" not in schema["properties"]


def test_validate_bundled_files_ok(cli):
    paths = [bundled_dir() / f"{name}.yaml" for name in BUNDLED]
    run = cli("instruments", "validate", *paths)
    assert run.code == 0, run.err
    for name, path in zip(BUNDLED, paths, strict=True):
        assert f"{path}: ok ({name} v" in run.out


def test_validate_yaml_syntax_error_names_file_and_line(cli, tmp_path):
    broken = tmp_path / "syntax.yaml"
    broken.write_text("id: syntax\nversion: '1'\nitems: [a, b\nscales: []\n", encoding="utf-8")
    run = cli("instruments", "validate", broken)
    assert run.code == 3
    assert re.search(re.escape(str(broken)) + r":\d+", run.err)
    assert "(yaml-syntax)" in run.err
    assert "ok" not in run.out


def test_validate_reports_every_semantic_problem(cli, tmp_path):
    text = _replace_once(_phq9_text(), "phq9_08, phq9_09]", "phq9_08, phq9_99]")
    text = _unorder_functioning_bands(text)
    path = tmp_path / "semantic.yaml"
    path.write_text(text, encoding="utf-8")
    run = cli("instruments", "validate", path)
    assert run.code == 3
    assert run.out == ""
    item_line = _line_of(text, "phq9_99]")
    bands_line = _line_of(text, "bands:", start=_line_of(text, "- id: functioning"))
    assert (f"{path}:{item_line} [scales.0.items.8]: error: scale 'total' lists item 'phq9_99'"
            in run.err)
    assert "(unknown-item-in-scale)" in run.err
    assert f"{path}:{bands_line} [scales.1.bands]: error:" in run.err
    assert "(bands-not-ascending)" in run.err


def test_validate_reports_every_schema_problem(cli, tmp_path):
    text = _replace_once(_phq9_text(), "short_name: PHQ-9\n",
                         "short_name: PHQ-9\nfavourite_colour: blue\n")
    text = _replace_once(text, "    optional: true\n", "    optional: sometimes\n")
    path = tmp_path / "schema.yaml"
    path.write_text(text, encoding="utf-8")
    run = cli("instruments", "validate", path)
    assert run.code == 3
    assert f"{path}:{_line_of(text, 'favourite_colour')} [favourite_colour]:" in run.err
    assert f"{path}:{_line_of(text, 'optional: sometimes')} [scales.1.optional]:" in run.err


def test_validate_reports_schema_and_semantic_problems_together(cli, tmp_path):
    text = _replace_once(_phq9_text(), "short_name: PHQ-9\n",
                         "short_name: PHQ-9\nfavourite_colour: blue\n")
    text = _replace_once(text, "phq9_08, phq9_09]", "phq9_08, phq9_99]")
    text = _unorder_functioning_bands(text)
    path = tmp_path / "three_problems.yaml"
    path.write_text(text, encoding="utf-8")
    run = cli("instruments", "validate", path)
    assert run.code == 3
    assert f"{path}:{_line_of(text, 'favourite_colour')} [favourite_colour]:" in run.err
    assert "(unknown-item-in-scale)" in run.err
    assert "(bands-not-ascending)" in run.err


def test_validate_good_and_bad_file_together(cli, tmp_path):
    good = bundled_dir() / "gad7.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n", encoding="utf-8")
    run = cli("instruments", "validate", good, bad)
    assert run.code == 3
    assert f"{good}: ok" in run.out
    assert f"{bad}:1" in run.err
    assert "(not-a-mapping)" in run.err


def test_validate_missing_file(cli, tmp_path):
    run = cli("instruments", "validate", tmp_path / "absent.yaml")
    assert run.code == 3
    assert "absent.yaml" in run.err
    assert "(unreadable-file)" in run.err


# ---------------------------------------------------------------- example-data


def test_example_data_writes_the_three_files(cli, tmp_path):
    folder = tmp_path / "new" / "sample"
    run = cli("example-data", folder)
    assert run.code == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["nhanes_dpq_j.csv", "nhanes_columns.yaml", "README.md"])
    header = (folder / "nhanes_dpq_j.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("SEQN,DPQ010,")
    assert "DPQ090" in (folder / "nhanes_columns.yaml").read_text(encoding="utf-8")
    assert (folder / "README.md").stat().st_size > 0
    assert f"xinli-screen score {folder}/nhanes_dpq_j.csv" in run.err


# ---------------------------------------------------------------- score: example data


def test_score_example_to_csv(cli, example_dir, tmp_path):
    out = tmp_path / "results.csv"
    run = cli(*_example_args(example_dir), "-o", out)
    assert run.code == 0, run.err
    assert run.out == ""
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM for Excel
    table = _read_csv_text(out)
    ids = _example_ids(example_dir)
    assert table["SEQN"].tolist() == ids
    assert {"status", "phq9.total", "phq9.total.band", "warning_tier", "reasons"} <= set(table)
    first = table.iloc[0]
    assert (first["SEQN"], first["phq9.total"], first["phq9.total.band"]) == (
        "93705", "0.0", "minimal")
    side = json.loads((tmp_path / "results.csv.provenance.json").read_text(encoding="utf-8"))
    assert side["instruments"][0]["id"] == "phq9"
    assert side["rows_in"] == side["rows_out"] == len(ids)
    assert f"rows read {len(ids)}" in run.err
    assert f"wrote {out}" in run.err
    assert "not a diagnosis" in run.err


def test_score_example_to_xlsx(cli, example_dir, tmp_path):
    out = tmp_path / "results.xlsx"
    run = cli(*_example_args(example_dir), "-o", out)
    assert run.code == 0, run.err
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == ["results", "failures", "reasons", "provenance"]
    book.close()
    sheets = pd.read_excel(out, sheet_name=None, dtype=str)
    ids = _example_ids(example_dir)
    assert sheets["results"]["SEQN"].tolist() == ids
    assert list(sheets["failures"].columns) == ["row", "file_row", "source_ref", "id", "item",
                                                "column", "code", "value"]
    # no bad cell; only notes on why item 9 has no answer (NHANES 7/9 codes, blanks)
    assert set(sheets["failures"]["code"]) <= {"critical-blank", "critical-missing-code"}
    reasons = sheets["reasons"]
    assert {"row", "id", "rule", "reason_zh", "reason_en"} <= set(reasons.columns)
    assert len(reasons) > 0
    assert set(reasons["id"]) <= set(ids)
    prov = dict(zip(sheets["provenance"]["key"], sheets["provenance"]["value"], strict=True))
    assert json.loads(prov["instruments"])[0]["id"] == "phq9"
    assert json.loads(prov["rows_out"]) == len(ids)


def test_score_example_to_parquet(cli, example_dir, tmp_path):
    out = tmp_path / "results.parquet"
    run = cli(*_example_args(example_dir), "-o", out, "--lang", "en")
    assert run.code == 0, run.err
    table = pd.read_parquet(out)
    assert table["SEQN"].tolist() == _example_ids(example_dir)
    assert set(table["warning_tier"]) <= set(xs.TIER_ORDER)
    assert set(table["warning_label"]) <= {"No warning", "Class-level attention",
                                           "School-level warning", "District-level warning"}
    side = json.loads((tmp_path / "results.parquet.provenance.json").read_text(encoding="utf-8"))
    assert side["lang"] == "en"
    assert side["missing_codes"] == [7.0, 9.0]


def test_score_example_to_json(cli, example_dir, tmp_path):
    out = tmp_path / "results.json"
    run = cli(*_example_args(example_dir), "-o", out)
    assert run.code == 0, run.err
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert set(doc) == {"table", "failures", "reasons", "provenance"}
    assert [r["SEQN"] for r in doc["table"]] == _example_ids(example_dir)
    # no bad cell; only notes on why item 9 has no answer (NHANES 7/9 codes, blanks)
    assert {f["code"] for f in doc["failures"]} <= {"critical-blank", "critical-missing-code"}
    assert doc["provenance"]["column_map"]["phq9_09"] == "DPQ090"
    assert not (tmp_path / "results.json.provenance.json").exists()


def test_score_example_to_stdout(cli, example_dir):
    run = cli(*_example_args(example_dir))
    assert run.code == 0, run.err
    table = pd.read_csv(io.StringIO(run.out), dtype=str, keep_default_na=False)
    assert table["SEQN"].tolist() == _example_ids(example_dir)
    assert "rows read" not in run.out  # the summary goes to stderr only
    assert "rows read" in run.err


def test_score_formats_agree(cli, example_dir, tmp_path):
    run_csv = cli(*_example_args(example_dir), "-o", tmp_path / "r.csv")
    run_pq = cli(*_example_args(example_dir), "-o", tmp_path / "r.parquet")
    assert run_csv.code == run_pq.code == 0
    from_csv = pd.read_csv(tmp_path / "r.csv", encoding="utf-8-sig")
    from_pq = pd.read_parquet(tmp_path / "r.parquet")
    pd.testing.assert_series_equal(from_csv["phq9.total"], from_pq["phq9.total"])
    assert from_csv["warning_tier"].tolist() == from_pq["warning_tier"].tolist()


# ---------------------------------------------------------------- score: exit codes


def test_exit_1_on_bad_cells_and_failures_file(cli, tmp_path):
    data = _small_csv(tmp_path / "answers.csv", [
        ["007", *["0"] * 9],
        [SECRET_ID, *["1"] * 8, SECRET_ANSWER],
        ["009", *["2"] * 8, "5"],
    ])
    out, fails = tmp_path / "r.csv", tmp_path / "f.csv"
    run = cli("score", data, "-i", "phq9", "--id-column", "sid", "-o", out, "--failures", fails)
    assert run.code == 1
    assert _read_csv_text(out)["sid"].tolist() == ["007", SECRET_ID, "009"]
    failures = _read_csv_text(fails)
    assert failures[["row", "id", "item", "code", "value"]].values.tolist() == [
        ["1", SECRET_ID, "phq9_09", "unrecognised-text", SECRET_ANSWER],
        ["2", "009", "phq9_09", "out-of-range", "5"],
    ]
    assert "data problems: " in run.err
    assert f"wrote {fails}" in run.err
    assert SECRET_ID not in run.err
    assert SECRET_ANSWER not in run.err


def test_exit_0_clean_small_file(cli, tmp_path):
    data = _small_csv(tmp_path / "answers.csv", [["007", *["0"] * 9], ["008", *["3"] * 9]])
    run = cli("score", data, "-i", "phq9", "--id-column", "sid", "-o", tmp_path / "r.csv")
    assert run.code == 0, run.err
    assert _read_csv_text(tmp_path / "r.csv")["warning_tier"].tolist() == ["none", "district"]


def test_missing_codes_without_map_are_failures(cli, example_dir, tmp_path):
    plain_map = tmp_path / "map.yaml"
    plain_map.write_text("".join(f"phq9_{i:02d}: DPQ0{i}0\n" for i in range(1, 10)),
                         encoding="utf-8")
    args = ["score", example_dir / "nhanes_dpq_j.csv", "-i", "phq9", "--columns", plain_map,
            "--id-column", "SEQN"]
    fails = tmp_path / "f.csv"
    run = cli(*args, "-o", tmp_path / "r.csv", "--failures", fails)
    assert run.code == 1
    failures = _read_csv_text(fails)
    failures = failures[~failures["code"].str.startswith("critical-")]  # notes, not problems
    assert set(failures["code"]) == {"out-of-range"}
    assert set(failures["value"]) == {"7", "9"}
    rerun = cli(*args, "-o", tmp_path / "r2.csv", "--missing-code", "7", "--missing-code", "9")
    assert rerun.code == 0, rerun.err


@pytest.mark.parametrize(("extra", "expected"), [
    (["-i", "nope"], "'nope' is neither a file nor a bundled id"),
    (["-i", "phq9", "--lang", "fr"], "--lang must be zh or en"),
    (["-i", "phq9", "-o", "{tmp}/results.txt"], "must end in one of .csv, .xlsx"),
    (["-i", "phq9", "--policy", "nope"], "'nope' is neither a file nor a bundled id"),
    (["-i", "phq9", "-i", "phq9"], "selected twice: phq9"),
    (["-i", "{tmp}/absent.yaml"], "definition file not found"),
])
def test_exit_2_usage_errors(cli, tmp_path, extra, expected):
    data = _small_csv(tmp_path / "answers.csv", [["007", *["0"] * 9]])
    args = [a.replace("{tmp}", str(tmp_path)) for a in extra]
    run = cli("score", data, *args, "--id-column", "sid")
    assert run.code == 2
    assert expected in run.err
    assert run.out == ""
    assert not (tmp_path / "results.txt").exists()


def _broken_instrument(tmp_path: Path) -> tuple[Path, int]:
    text = _replace_once(_phq9_text(), "phq9_08, phq9_09]", "phq9_08, phq9_99]")
    path = tmp_path / "my_phq9.yaml"
    path.write_text(text, encoding="utf-8")
    return path, _line_of(text, "phq9_99]")


def test_exit_3_broken_instrument_path(cli, tmp_path):
    data = _small_csv(tmp_path / "answers.csv", [["007", *["0"] * 9]])
    path, line = _broken_instrument(tmp_path)
    run = cli("score", data, "-i", path, "--id-column", "sid", "-o", tmp_path / "r.csv")
    assert run.code == 3
    assert f"my_phq9.yaml:{line}" in run.err
    assert "unknown-item-in-scale" in run.err
    assert not (tmp_path / "r.csv").exists()


def test_score_accepts_bundled_yaml_path(cli, tmp_path):
    data = _small_csv(tmp_path / "answers.csv", [["007", *["1"] * 9]])
    run = cli("score", data, "-i", bundled_dir() / "phq9.yaml", "--id-column", "sid",
              "-o", tmp_path / "r.csv")
    assert run.code == 0, run.err
    assert _read_csv_text(tmp_path / "r.csv")["phq9.total"].tolist() == ["9.0"]


def test_exit_3_message_names_the_field(cli, tmp_path):
    data = _small_csv(tmp_path / "answers.csv", [["007", *["0"] * 9]])
    path, _ = _broken_instrument(tmp_path)
    run = cli("score", data, "-i", path, "--id-column", "sid")
    assert run.code == 3
    assert "[scales.0.items.8]" in run.err


def _policy_text() -> str:
    return (bundled_dir() / "policies" / "default.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", ["syntax", "schema", "reference"])
def test_exit_3_broken_policy(cli, tmp_path, kind):
    data = _small_csv(tmp_path / "answers.csv", [["007", *["0"] * 9]])
    text = _policy_text()
    if kind == "syntax":
        text = _replace_once(text, "critical_item_tier: school", "critical_item_tier: [school")
        needle, code = "critical_item_tier", "(yaml-syntax)"
    elif kind == "schema":
        text = _replace_once(text, "critical_item_tier: school", "critical_item_tier: galaxy")
        needle, code = "critical_item_tier", "(schema)"
    else:
        text = _replace_once(text, "    when: {cutoff: phq9.total.screen_positive}",
                             "    when: {cutoff: phq9.total.no_such_cutoff}")
        needle, code = "no_such_cutoff", "(unknown-reference)"
    policy = tmp_path / "district.yaml"
    policy.write_text(text, encoding="utf-8")
    run = cli("score", data, "-i", "phq9", "--id-column", "sid", "--policy", policy)
    assert run.code == 3
    assert "policy definition" in run.err
    assert code in run.err
    found = re.search(r"district\.yaml:(\d+)", run.err)
    assert found, run.err
    # a syntax error is reported where the parser notices it (at or after the bad line)
    assert int(found.group(1)) >= _line_of(text, needle)
    if kind != "syntax":
        assert int(found.group(1)) == _line_of(text, needle)


@pytest.mark.parametrize(("content", "code", "line"), [
    ("phq9_01: phq9_01\n  oops: [\n", "(yaml-syntax)", 2),
    ("phq9_01: phq9_01\nphq9_02: [a, b]\n", "(bad-column)", 2),
    ("columns:\n  phq9_01: phq9_01\nmissing_codes: [seven]\n", "(bad-missing-codes)", 3),
    ("columns:\n  phq9_01: phq9_01\nmising_codes: [7]\n", "(unknown-key)", 3),
    ("- phq9_01\n- phq9_02\n", "(not-a-mapping)", 1),
])
def test_exit_3_broken_column_map(cli, tmp_path, content, code, line):
    data = _small_csv(tmp_path / "answers.csv", [["007", *["0"] * 9]])
    cmap = tmp_path / "cols.yaml"
    cmap.write_text(content, encoding="utf-8")
    run = cli("score", data, "-i", "phq9", "--id-column", "sid", "--columns", cmap)
    assert run.code == 3
    assert f"cols.yaml:{line}" in run.err
    assert code in run.err


# ---------------------------------------------------------------- output paths


def test_output_path_with_brackets_is_reported_verbatim(cli, tmp_path):
    data = _small_csv(tmp_path / "answers.csv", [["007", *["0"] * 9]])
    out = tmp_path / "results[draft].csv"
    run = cli("score", data, "-i", "phq9", "--id-column", "sid", "-o", out)
    assert run.code == 0, run.err
    assert out.exists()
    assert f"wrote {out}" in run.err


def test_example_data_folder_with_brackets(cli, tmp_path):
    folder = tmp_path / "a[" / "x]"  # printed as '.../a[/x]/'
    run = cli("example-data", folder)
    assert run.code == 0
    assert f"to {folder}/" in run.err


def test_output_into_missing_folder_is_usage_error(cli, tmp_path):
    data = _small_csv(tmp_path / "answers.csv", [["007", *["0"] * 9]])
    run = cli("score", data, "-i", "phq9", "--id-column", "sid",
              "-o", tmp_path / "no_such_folder" / "r.csv")
    assert run.code == 2
    assert "no_such_folder" in run.err


def test_failures_with_unsupported_extension_is_usage_error(cli, tmp_path):
    data = _small_csv(tmp_path / "answers.csv", [["007", *["0"] * 8, "5"]])
    fails = tmp_path / "failures.parquet"
    run = cli("score", data, "-i", "phq9", "--id-column", "sid", "--failures", fails)
    assert run.code == 2
    assert not fails.exists()


def test_policy_copy_then_validate(cli, tmp_path):
    target = tmp_path / "district.yaml"
    run = cli("policy", "copy", target)
    assert run.code == 0 and target.is_file()
    run = cli("policy", "validate", target, "-i", "phq9")
    assert run.code == 0 and "ok" in run.out
    text = target.read_text(encoding="utf-8").replace("phq9.total.screen_positive}",
                                                      "phq9.total.no_such_cutoff}", 1)
    target.write_text(text, encoding="utf-8")
    run = cli("policy", "validate", target, "-i", "phq9")
    assert run.code == 3
    assert "no_such_cutoff" in run.err and "district.yaml" in run.err
    assert cli("policy", "copy", target).code == 2  # never overwrites


def test_reliability_command(cli, example_dir, tmp_path):
    out = tmp_path / "rel.xlsx"
    run = cli("reliability", example_dir / "nhanes_dpq_j.csv", "-i", "phq9", "--columns",
              example_dir / "nhanes_columns.yaml", "-o", out)
    assert run.code == 0, run.err
    assert "alpha" in run.err
    sheets = pd.read_excel(out, sheet_name=None)
    summary = sheets["reliability"]
    # SOURCE.md (computed for this project): alpha 0.8310 on DPQ_J complete cases (listwise)
    assert summary.loc[0, "scale"] == "total"
    assert 0.82 < summary.loc[0, "alpha"] < 0.84
    assert len(sheets["items"]) == 9
    run = cli("reliability", example_dir / "nhanes_dpq_j.csv", "-i", "phq9", "--columns",
              example_dir / "nhanes_columns.yaml", "--missing", "listwise", "-o",
              tmp_path / "rel.json")
    assert run.code == 0
    data = json.loads((tmp_path / "rel.json").read_text(encoding="utf-8"))
    assert round(data["reliability"][0]["alpha"], 4) == 0.8310
    assert cli("reliability", example_dir / "nhanes_dpq_j.csv", "-i", "phq9", "--by",
               "school").code == 2


def test_score_with_careless_checks(cli, example_dir, tmp_path):
    out = tmp_path / "r.csv"
    run = cli("score", example_dir / "nhanes_dpq_j.csv", "-i", "phq9", "--columns",
              example_dir / "nhanes_columns.yaml", "--careless", "-o", out)
    assert run.code == 0, run.err
    table = pd.read_csv(out)
    assert {"careless.longstring", "careless.mahalanobis_d2", "protocol_valid"} <= set(
        table.columns)
    assert "retest" in run.err


def test_reliability_with_a_constant_item_reports_instead_of_crashing(cli, tmp_path):
    rng = np.random.default_rng(0)
    data = pd.DataFrame(rng.integers(0, 4, size=(40, 9)),
                        columns=[f"phq9_0{k}" for k in range(1, 10)])
    data["phq9_09"] = 0  # nobody in the class endorsed item 9
    path = tmp_path / "class.csv"
    data.to_csv(path, index=False)
    run = cli("reliability", path, "-i", "phq9")
    assert run.code == 0
    assert "no variance" in run.err
    assert cli("reliability", path, "-i", "phq9", "-o", path).code == 2  # never overwrite input


def test_score_never_overwrites_its_input(cli, example_dir, tmp_path):
    data = tmp_path / "answers.csv"
    data.write_bytes((example_dir / "nhanes_dpq_j.csv").read_bytes())
    before = data.read_bytes()
    args = ["score", data, "-i", "phq9", "--columns", example_dir / "nhanes_columns.yaml"]
    assert cli(*args, "-o", data).code == 2
    assert cli(*args, "-o", tmp_path / "r.csv", "--failures", data).code == 2
    assert cli(*args, "-o", tmp_path / "r.csv", "--failures", tmp_path / "r.csv").code == 2
    assert cli(*args, "-o", tmp_path).code == 2
    assert data.read_bytes() == before
    assert cli("score", tmp_path / "missing.csv", "-i", "phq9").code == 2
