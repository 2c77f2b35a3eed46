"""The generated district scenario of issue 12 (``xinli_screen.demo.district``).

The generator must be reproducible and write every file in the form a district really gets it
(GBK roster, 问卷星 按选项文本 downloads); the truth files must describe the mess that was put
in. The independent check: ``benchmarks/district_recount.py`` (plain pandas, no xinli_screen
scoring, policy or pipeline) recounts wave 1 from the exports, and ``xs.screen`` must give
the same tier and review status on every row.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml

import xinli_screen as xs
import xinli_screen.demo
from xinli_screen.demo import DistrictScenario, write_district_scenario
from xinli_screen.demo.district import FILL_INS, WJX_METADATA
from xinli_screen.io.column_map import ColumnMap
from xinli_screen.io.source import load_answers

RECOUNT = Path(__file__).resolve().parents[1] / "benchmarks" / "district_recount.py"
FORMS = {"primary": ["mht", "dsrsc", "scared"], "junior": ["mht", "phqa", "scared"]}
EXPORT_FORM = {"w1_小学版": "primary", "w1_初中版": "junior", "w1_初中版_更正": "junior",
               "w1_重测": "junior", "w2_小学版": "primary", "w2_初中版": "junior"}
GRADES = {"primary": {"四年级", "五年级", "六年级"}, "junior": {"初一", "初二", "初三"}}


def _recount_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("district_recount", RECOUNT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["district_recount"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> DistrictScenario:
    return write_district_scenario(tmp_path_factory.mktemp("district") / "lvyuan")


@pytest.fixture(scope="module")
def truth(scenario: DistrictScenario) -> dict[str, pd.DataFrame]:
    return {k: pd.read_csv(p, dtype=str, keep_default_na=False)
            for k, p in scenario.truth.items()}


@pytest.fixture(scope="module")
def recount(scenario: DistrictScenario):  # a Recount of the module loaded from its path
    return _recount_module().recount_wave(scenario.wave1)


def _sheet_xml(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read("xl/worksheets/sheet1.xml")


def _header(path: Path) -> list[str]:
    """The first row's cells (text held inline, as openpyxl's write-only sheets hold it)."""
    first = re.search(rb"<row [^>]*>(.*?)</row>", _sheet_xml(path), re.S)
    assert first is not None
    return [t.decode() for t in re.findall(rb"<t>([^<]*)</t>", first.group(1))]


def _engine(scenario: DistrictScenario, export: str, form: str) -> pd.DataFrame:
    """``xs.screen`` on one export, with a column map built by question number."""
    insts = [xs.load_instrument(i) for i in FORMS[form]]
    number = {int(m.group(1)): col for col in _header(scenario.exports[export])
              if (m := re.match(r"^(\d+)、", col))}
    columns, question = {}, 7
    for inst in insts:
        for item in inst.items:
            columns[item.id] = number[question]
            question += 1
    loaded = load_answers(scenario.exports[export], insts,
                          column_map=ColumnMap(columns=columns), id_column="1、学号")
    return xs.screen(loaded.data, insts, id_column="1、学号", columns=loaded.plan.columns,
                     policy=scenario.policy, time_column="所用时间").table


# ---------------------------------------------------------------- files


def test_every_file_is_written(scenario):
    book = openpyxl.load_workbook(scenario.exports["w1_小学版"], read_only=True)
    first = next(book.active.iter_rows(max_row=2, values_only=True))
    book.close()
    assert list(first) == _header(scenario.exports["w1_小学版"])
    names = sorted(p.relative_to(scenario.folder).as_posix() for p in scenario.files)
    assert names == sorted([
        "roster.csv", "policy.yaml", "wave1.yaml", "wave1_retest.yaml", "wave1_corrected.yaml",
        "wave2.yaml", *(f"exports/{k}.xlsx" for k in EXPORT_FORM),
        "truth/pupils_w1.csv", "truth/pupils_w2.csv", "truth/submissions.csv"])
    assert all(p.is_file() and p.stat().st_size > 0 for p in scenario.files)


def test_same_seed_same_bytes(tmp_path):
    def digests(folder: Path, seed: int) -> dict[str, str]:
        s = write_district_scenario(folder, seed=seed, n_pupils=240)
        return {p.relative_to(s.folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in s.files}

    first = digests(tmp_path / "a", 7)
    assert digests(tmp_path / "b", 7) == first
    other = digests(tmp_path / "c", 8)
    assert other["roster.csv"] != first["roster.csv"]
    assert other["exports/w1_初中版.xlsx"] != first["exports/w1_初中版.xlsx"]


def test_roster_is_gbk_with_text_ids(scenario):
    raw = scenario.roster.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    roster = pd.read_csv(scenario.roster, encoding="gbk", dtype=str)
    assert list(roster.columns) == ["学号", "姓名", "学校", "年级", "班级", "性别"]
    assert len(roster) == 3000 and roster["学号"].is_unique
    assert roster["学号"].str.fullmatch(r"0\d{7}").all()
    assert roster["姓名"].str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all()
    sizes = roster.groupby("学校").size()
    assert len(sizes) == 4 and sizes.max() > 1.2 * sizes.drop(sizes.idxmax()).max()
    for school, grades in roster.groupby("学校")["年级"]:
        assert set(grades) in GRADES.values(), school
    per_class = roster.groupby(["学校", "年级", "班级"]).size()
    assert per_class.between(32, 46).all()
    assert set(roster["性别"]) == {"男", "女"}


def test_exports_have_the_wjx_header_and_the_rows_of_the_truth(scenario, truth):
    rows = truth["submissions"].groupby("file").size()
    for name, path in scenario.exports.items():
        header = _header(path)
        n_items = sum(len(xs.load_instrument(i).items) for i in FORMS[EXPORT_FORM[name]])
        assert header[:6] == list(WJX_METADATA)
        assert header[6:12] == [f"{k}、{q}" for k, q in enumerate(FILL_INS, start=1)]
        assert [int(h.split("、")[0]) for h in header[12:]] == list(range(7, 7 + n_items))
        assert header[12] == "7、MHT第1题" and header[111] == "106、MHT第100题"
        assert header[112] == ("107、DSRSC第1题" if EXPORT_FORM[name] == "primary"
                               else "107、PHQ-A第1题")
        assert _sheet_xml(path).count(b"<row ") == rows[f"exports/{name}.xlsx"] + 1, name


def test_corrected_download_changes_only_the_mistyped_id(scenario, truth):
    pupils = truth["pupils_w1"]
    wrong = pupils[pupils["typed_id"].str.fullmatch(r"\d{8}")]
    assert len(wrong) == 1 and wrong["form"].iloc[0] == "junior"
    typed, right = wrong["typed_id"].iloc[0], wrong["学号"].iloc[0]
    assert typed not in set(pupils["学号"])
    assert sum(a != b for a, b in zip(typed, right, strict=True)) == 1
    before = _sheet_xml(scenario.exports["w1_初中版"])
    after = _sheet_xml(scenario.exports["w1_初中版_更正"])
    assert before.replace(f"<t>{typed}</t>".encode(), f"<t>{right}</t>".encode()) == after
    assert before != after


def test_wave_definitions_follow_the_spec(scenario):
    wave1 = yaml.safe_load(scenario.wave1.read_text(encoding="utf-8"))
    assert wave1["id"] == "2026-autumn" and wave1["duplicates"] == "first_complete"
    assert wave1["policy"] == "policy.yaml" and wave1["roster"]["file"] == "roster.csv"
    assert wave1["forms"]["primary"]["columns"]["blocks"] == {
        "mht": {"first_question": 7}, "dsrsc": {"first_question": 107},
        "scared": {"first_question": 125}}
    assert wave1["forms"]["junior"]["columns"]["blocks"] == {
        "mht": {"first_question": 7}, "phqa": {"first_question": 107},
        "scared": {"first_question": 120}}
    assert [p["name"] for p in wave1["parts"]] == ["小学版", "初中版"]
    retest = yaml.safe_load(scenario.wave1_retest.read_text(encoding="utf-8"))
    assert retest["parts"][2] == {"name": "重测", "file": "exports/w1_重测.xlsx",
                                  "form": "junior", "kind": "retest"}
    corrected = yaml.safe_load(scenario.wave1_corrected.read_text(encoding="utf-8"))
    assert corrected["parts"][1]["file"] == "exports/w1_初中版_更正.xlsx"
    wave2 = yaml.safe_load(scenario.wave2.read_text(encoding="utf-8"))
    assert wave2["id"] != wave1["id"] and len(wave2["parts"]) == 2
    for wave, path in ((wave1, scenario.wave1), (wave2, scenario.wave2)):
        assert all((path.parent / p["file"]).is_file() for p in wave["parts"])


def test_district_policy_validates(scenario, cli):
    run = cli("policy", "validate", scenario.policy)
    assert run.code == 0, run.err
    policy = xs.load_policy(scenario.policy).policy
    assert policy.id == "lvyuan_2026"
    assert set(policy.enable_critical_items) == {
        "mht.death_wish", "mht.jump_from_height", "dsrsc.life_not_worth_living"}


# ---------------------------------------------------------------- the mess, from the truth


def test_truth_records_the_mess_of_wave_1(truth):
    pupils = truth["pupils_w1"]
    present = pupils[pupils["absent"] == "False"]
    assert 0.02 < (pupils["absent"] == "True").mean() < 0.04
    assert (pupils["copies"].astype(int) == 2).sum() == 20
    dropped = pupils[pupils["critical_dropped_only"] == "True"]
    assert len(dropped) >= 1
    assert dropped["critical_any"].str.contains(r"mht_085|mht_097|phqa_09").all()
    assert (pupils["typed_id"] == "(空)").sum() == 1
    assert 50 <= (present["lie_high"] == "True").sum() <= 70
    assert 50 <= (present["too_fast"] == "True").sum() <= 75
    critical = present["critical_any"] != ""
    assert 30 <= critical.sum() <= 120
    assert present.loc[present["form"] == "junior", "critical_any"].str.contains(
        "phqa_09").sum() >= 20
    assert 5 <= (present["skipped"].astype(int) > 0).sum() <= 40
    retested = pupils[pupils["retested"] == "True"]
    assert set(retested["form"]) == {"junior"} and set(retested["careless"]) == {"lie", "fast"}


def test_truth_records_the_changes_of_wave_2(truth):
    w1, w2 = truth["pupils_w1"], truth["pupils_w2"]
    changes = w2["change"].value_counts()
    assert {"improved", "deteriorated", "stays_high", "new_critical", "recovered"} <= set(
        changes.index)
    recovered = w2[w2["change"] == "recovered"]
    assert (recovered["critical_any"] == "").all()
    assert w1.set_index("学号").loc[recovered["学号"], "critical_any"].str.contains(
        r"phqa_09=[23]").all()
    assert 3 <= (w2["copies"].astype(int) == 2).sum() < (w1["copies"].astype(int) == 2).sum()


# ---------------------------------------------------------------- independent recount


@pytest.mark.parametrize(("part", "export", "form"), [
    ("小学版", "w1_小学版", "primary"), ("初中版", "w1_初中版", "junior")])
def test_recount_agrees_with_the_engine_row_by_row(scenario, recount, truth, part, export,
                                                   form):
    table = _engine(scenario, export, form)
    mine = recount.rows[recount.rows["part"] == part].reset_index(drop=True)
    assert len(table) == len(mine)
    assert (table["1、学号"].fillna("").astype(str).to_numpy() == mine["id"].to_numpy()).all()
    tier = table["warning_tier"].astype(str).to_numpy()
    review = table["review_status"].astype(str).to_numpy()
    differ = np.flatnonzero((tier != mine["tier"].to_numpy())
                            | (review != mine["review_status"].to_numpy()))
    assert len(differ) == 0, mine.iloc[differ[:5]].assign(
        engine_tier=tier[differ[:5]], engine_review=review[differ[:5]]).to_string()
    # the engine flags both copies of a double submission, the recount keeps one
    doubles = mine.groupby("id")["id"].transform("size").gt(1) & (mine["id"] != "")
    assert (table["status"].astype(str) == "duplicate_id").to_numpy().tolist() == \
        doubles.tolist()
    # the truth's first_complete choice is the recount's
    sub = truth["submissions"]
    sub = sub[sub["file"] == f"exports/{export}.xlsx"]
    assert sub["typed_id"].tolist() == mine["id"].tolist()
    has_id = (mine["id"] != "").to_numpy()
    assert ((sub["kept_first_complete"] == "True").to_numpy()[has_id]
            == mine["kept"].to_numpy()[has_id]).all()


def test_recount_tiers_of_wave_1(recount, truth):
    pupils = recount.pupils
    share = pupils["tier"].value_counts(normalize=True)
    assert 0.05 <= share.get("school", 0) <= 0.10
    assert 0.01 <= share.get("district", 0) <= 0.03
    counts = recount.school_counts
    assert len(counts) == 4 and counts["pupils"].sum() == len(pupils)
    # a critical answer only in the dropped copy: that copy is at least school tier
    w1 = truth["pupils_w1"]
    for pid in w1.loc[w1["critical_dropped_only"] == "True", "学号"]:
        rows = recount.rows[recount.rows["id"] == pid]
        assert len(rows) == 2
        assert rows.loc[~rows["kept"], "tier"].isin(["school", "district"]).all()
    # lie-high or too fast: retest, unless a critical answer is met or unknown (then a
    # person must see the pupil: pending review, never hidden behind a retest)
    flagged = recount.rows[recount.rows["lie_high"] | recount.rows["too_fast"]]
    status = flagged["review_status"]
    assert status.isin(["retest", "pending_review"]).all()
    assert (status == "retest").mean() > 0.8


# ---------------------------------------------------------------- command line


def test_example_data_district_flag(cli, tmp_path, monkeypatch):
    calls = []

    def small(folder: Path, **kwargs: object) -> DistrictScenario:
        calls.append(folder)
        return write_district_scenario(folder, n_pupils=200)

    monkeypatch.setattr(xinli_screen.demo, "write_district_scenario", small)
    run = cli("example-data", tmp_path / "lvyuan", "--district")
    assert run.code == 0, run.err
    assert calls == [tmp_path / "lvyuan"]
    assert (tmp_path / "lvyuan" / "wave1.yaml").is_file()
    assert "wave1.yaml" in run.err
    plain = cli("example-data", tmp_path / "plain")
    assert plain.code == 0 and (tmp_path / "plain" / "nhanes_dpq_j.csv").is_file()
