"""Issue 12 end to end: the generated district scenario run with the documented commands only.

4 schools, 2 forms (小学版 / 初中版) in one wave, a GBK roster, messy 问卷星 XLSX exports (double
submissions, a mistyped and an empty 学号, absent pupils, lie-scale-high and too-fast pupils,
critical answers), a correction and a retest inside wave 1, and wave 2 with history.

Oracles are independent of the engine: ``benchmarks/district_recount.py`` (plain pandas, its
own arithmetic and rules, see its docstring) and the generator's truth files.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from xinli_screen.archive import ArchiveStore
from xinli_screen.cli.app import app
from xinli_screen.demo.district import write_district_scenario

TIERS = ["none", "class", "school", "district"]
RANK = {t: k for k, t in enumerate(TIERS)}
LABELS = {"区级预警": "district", "校级预警": "school", "班级关注": "class"}


def _recount_module():  # a script beside the tests, loaded by path
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "district_recount.py"
    spec = importlib.util.spec_from_file_location("district_recount", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["district_recount"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _cli(*args: object) -> str:
    run = CliRunner().invoke(app, [str(a) for a in args])
    assert run.exit_code == 0, run.output
    return run.output


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("district")
    files = write_district_scenario(folder, seed=2026, n_pupils=3000)
    db = folder / "district.db"
    out: dict = {"folder": folder, "files": files, "db": db}
    out["check"] = _cli("wave", "check", files.wave1)
    out["run1"] = _cli("wave", "run", files.wave1, "--archive", db, "--by", "王老师",
                       "--keep-names")
    _cli("wave", "list", "--archive", db, "--wave", "2026-autumn", "-o", folder / "list1",
         "--with-names")
    with ArchiveStore(db) as store:
        out["table1"] = store.wave_table("2026-autumn")
        out["sheets1"] = store.sheets("2026-autumn")
    out["recount"] = _recount_module().recount_wave(files.wave1)
    return out


def test_wave_check_finds_every_item_column(scenario: dict) -> None:
    assert "小学版" in scenario["check"] and "159/159 item columns" in scenario["check"]
    assert "154/154 item columns" in scenario["check"] and "PROBLEM" not in scenario["check"]


def test_both_forms_in_one_wave_every_row_once(scenario: dict) -> None:
    truth = pd.read_csv(scenario["files"].truth["submissions"], dtype=str)
    w1 = truth[truth["file"].isin(["exports/w1_小学版.xlsx", "exports/w1_初中版.xlsx"])]
    sheets = scenario["sheets1"]
    assert len(sheets) == len(w1)                          # every input row stored once
    counted = sheets[sheets["active"]]
    assert counted["pupil_key"].is_unique
    assert set(scenario["table1"]["pupil_id"]) == set(counted["pupil_key"])
    # nobody is scored incomplete for the other form's instruments
    status = scenario["table1"]["status"].value_counts()
    assert status.get("scored", 0) > 0.9 * len(scenario["table1"])
    assert "duplicate_id" not in status and "missing_id" not in status


def test_school_tier_counts_equal_the_independent_recount(scenario: dict) -> None:
    """Per-school counts of the warning list = recount, plus what the recount leaves out by
    design: a critical answer in a copy not kept is carried over (at least 校级), and the
    sheet without 学号 is matched to its pupil by name, school and class."""
    rec = scenario["recount"]
    rows = rec.rows.copy()
    kept = rows[rows["kept"] | (rows["id"] == "")].copy()
    truth = pd.read_csv(scenario["files"].truth["pupils_w1"], dtype=str)
    carried = set(truth.loc[truth["critical_dropped_only"] == "True", "学号"])
    typed = dict(zip(truth["typed_id"].fillna(""), truth["学号"], strict=True))
    key = kept["id"].map(lambda i: typed.get(i, i))
    bump = key.isin(carried).to_numpy()
    tier = kept["tier"].map(RANK).to_numpy()
    kept["tier"] = np.array(TIERS)[np.where(bump, np.maximum(tier, RANK["school"]), tier)]
    expected = (kept.groupby(["school", "tier"]).size().unstack(fill_value=0)
                .reindex(columns=TIERS[1:], fill_value=0))
    summary = pd.read_excel(scenario["folder"] / "list1" / "预警名单_区级汇总.xlsx", header=1)
    ours = summary.set_index("学校").rename(columns=LABELS)[TIERS[1:]]
    assert set(ours.index) == set(expected.index)        # every school, no unmatched row
    pd.testing.assert_frame_equal(ours.loc[expected.index].astype(int),
                                  expected.astype(int), check_names=False)
    scenario["expected_w1"] = expected


def test_every_critical_answer_is_on_the_list(scenario: dict) -> None:
    truth = pd.read_csv(scenario["files"].truth["pupils_w1"], dtype=str)
    critical = set(truth.loc[truth["critical_any"].fillna("") != "", "学号"])
    assert len(critical) >= 20
    files = sorted((scenario["folder"] / "list1").glob("预警名单_绿园区*.xlsx"))
    assert len(files) == 4
    listed = pd.concat([pd.read_excel(f, sheet_name="预警名单", header=1, dtype=str)
                        for f in files])
    assert critical <= set(listed["学号"])
    on_list = listed[listed["学号"].isin(critical)]
    assert (on_list["关键题"].fillna("") != "").all()
    assert on_list["预警级别"].isin(["校级预警", "区级预警"]).all()
    # names from the roster, Chinese headers, sorted 区级 -> 校级 -> 班级
    assert on_list["姓名"].notna().all()
    first = pd.read_excel(files[0], sheet_name="预警名单", header=1, dtype=str)
    order = first["预警级别"].map({"区级预警": 0, "校级预警": 1, "班级关注": 2}).fillna(3)
    assert order.is_monotonic_increasing


def test_reconciliation_file_lists_unmatched_absent_and_duplicates(scenario: dict) -> None:
    path = scenario["files"].wave1.with_name("2026-autumn_名册核对.xlsx")
    book = pd.read_excel(path, sheet_name=None, dtype=str)
    assert {"汇总", "未匹配名册", "缺测名单", "重复提交"} <= set(book)
    truth = pd.read_csv(scenario["files"].truth["pupils_w1"], dtype=str)
    assert len(book["缺测名单"]) == int((truth["absent"] == "True").sum())
    assert len(book["未匹配名册"]) == 2                      # the mistyped and the empty 学号
    dups = book["重复提交"]
    assert dups["档案学号"].nunique() == int((truth["copies"].astype(int) > 1).sum())
    assert (dups.groupby("档案学号")["采用"].apply(lambda s: (s == "True").sum()) == 1).all()


def test_group_report_shows_every_school(scenario: dict) -> None:
    out = scenario["folder"] / "group.json"
    _cli("report", "group", "--archive", scenario["db"], "--wave", "2026-autumn",
         "--by", "school", "-o", out)
    import json

    table = json.loads(out.read_text(encoding="utf-8"))["waves"]["2026-autumn"]
    schools = [r for r in table if r["school"] != "合计 total"]
    assert len(schools) == 4 and all(r["n"] != "*" for r in schools)


def test_correction_and_retest_inside_wave_1_then_wave_2(scenario: dict) -> None:
    files, db = scenario["files"], scenario["db"]
    before = scenario["table1"]
    _cli("wave", "run", files.wave1_corrected, "--archive", db, "--by", "王老师",
         "--keep-names")
    _cli("wave", "run", files.wave1_retest, "--archive", db, "--by", "王老师", "--keep-names")
    with ArchiveStore(db) as store:
        waves = store.waves()
        parts = store.parts("2026-autumn")
        after = store.wave_table("2026-autumn")
        sheets = store.sheets("2026-autumn")
    assert waves["name"].tolist() == ["2026-autumn"]                 # still one wave
    junior = parts[parts["name"] == "初中版"]
    assert junior["version"].tolist() == [1, 2]
    assert junior["superseded_at"].notna().tolist() == [True, False]
    truth = pd.read_csv(files.truth["pupils_w1"], dtype=str)
    mistyped = truth.loc[truth["typed_id"].fillna("") != "", "学号"]
    fixed = sheets[sheets["pupil_key"].isin(mistyped)]
    assert (fixed["roster_match"] == "roster").any()                  # matched by id now
    retested = set(truth.loc[truth["retested"] == "True", "学号"])
    counted = sheets[sheets["active"] & sheets["pupil_key"].isin(retested)]
    assert len(retested) > 0 and counted["retest"].all()
    # the correction did not escalate anybody: history counts waves, not imports
    assert not after["history_codes"].astype(str).str.contains("persistent").any()
    assert len(after) == len(before)
    # wave 2 a semester later: persistence and "lower only after a review" apply
    _cli("wave", "run", files.wave2, "--archive", db, "--by", "王老师", "--keep-names")
    with ArchiveStore(db) as store:
        w1 = store.wave_table("2026-autumn").set_index("pupil_id")
        w2 = store.wave_table("2027-spring").set_index("pupil_id")
    both = w2.index.intersection(w1.index)
    prev = w1.loc[both, "warning_tier"].astype(str).map(RANK)
    screen = w2.loc[both, "screen_tier"].astype(str).map(RANK)
    eff = w2.loc[both, "warning_tier"].astype(str).map(RANK)
    critical = w2.loc[both, "critical_items"].fillna("") != ""
    expect = np.where((prev >= 2) & (screen >= 2), np.maximum(screen, 3), screen)
    expect = np.where(prev > expect, prev, expect)
    assert (eff.to_numpy() == expect).mean() == 1.0 or (
        eff.to_numpy()[~critical.to_numpy()] == expect[~critical.to_numpy()]).all()
    held = w2["history_codes"].astype(str).str.contains("held_until_review").sum()
    escalated = w2["history_codes"].astype(str).str.contains("persistent_tier").sum()
    assert held > 0 and escalated > 0
