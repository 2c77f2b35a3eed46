"""Issue 16 "Done when" for accuracy: on the generated district scenario, with 复核 outcomes
scripted from the generator's true state (demo.returns truth mode: the interview misses 10 % of
true cases and confirms 1 % of non-cases; listed pupils interviewed at 90/75/40 % by tier,
every critical answer interviewed, and 10 % of each school's screen negatives interviewed as
名单外学生), the accuracy report recovers the truth's sensitivity and PPV within their CIs, and
the Begg-Greenes correction moves the naive specificity toward the truth.

"Truth" here is the screen against the interview verdict that every pupil would get
(``interview_truth``), computed over all analysed pupils: the quantity the correction
estimates. The figures against the latent true state are printed beside it in the report of
issue 16, not tested (the interview errs on purpose).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from xinli_screen.archive import ArchiveStore
from xinli_screen.cli.app import app
from xinli_screen.demo.district import write_district_scenario
from xinli_screen.demo.returns import fill_return_sheets, interview_truth
from xinli_screen.evaluation.accuracy_report import (
    reference_standard,
    screen_accuracy,
    screen_tests,
)

W1 = "2026-autumn"
TODAY = dt.date.today()


def _cli(*args: object, code: int = 0) -> str:
    run = CliRunner().invoke(app, [str(a) for a in args])
    assert run.exit_code == code, run.output
    return run.output


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("accuracy")
    files = write_district_scenario(folder, seed=2026, n_pupils=3000)
    db = folder / "district.db"
    _cli("wave", "run", files.wave1, "--archive", db, "--by", "王老师")
    _cli("wave", "list", "--archive", db, "--wave", W1, "-o", folder / "lists")
    truth_csv = folder / "truth" / "pupils_w1.csv"
    filled = fill_return_sheets(folder / "lists", on_date=TODAY, seed=11, truth=truth_csv,
                                invalid=False)
    sheets = sorted((folder / "lists").glob("复核回执_*.xlsx"))
    _cli("review", "import", *sheets, "--archive", db, "--by", "区中心", "--skip-invalid")
    out = folder / "out"
    out.mkdir()
    cli_out = _cli("validate-screen", "--archive", db, "--wave", W1, "--n-boot", 200,
                   "-o", out / "acc.json", "-o", out / "acc.html", "-o", out / "acc.xlsx")
    with ArchiveStore(db) as store:
        table = store.wave_table(W1)
    report = screen_accuracy(table, wave=W1, n_boot=200)
    return {"folder": folder, "filled": filled, "table": table, "report": report,
            "truth": interview_truth(truth_csv, seed=11), "out": out, "cli": cli_out}


def _truth_figures(scenario: dict, test: str) -> dict[str, float]:
    """Sensitivity, specificity and PPV of one screen rule against the interview verdict
    every analysed pupil would get."""
    t = scenario["table"]
    t = t[t["status"].astype(str) == "scored"].reset_index(drop=True)
    verdict = dict(zip(scenario["truth"]["学号"], scenario["truth"]["interview_case"],
                       strict=True))
    case = t["pupil_id"].astype(str).map(verdict)
    assert case.notna().all()
    if test == "warning_list":
        screen, keep = t["tier_before_review"].astype(str) != "none", pd.Series(True, t.index)
    else:
        keep = t[test].notna()
        screen = t[test].fillna(False).astype(bool)
    s, c = screen[keep].to_numpy(), case[keep].astype(bool).to_numpy()
    return {"sensitivity": (s & c).sum() / c.sum(), "specificity": (~s & ~c).sum() / (~c).sum(),
            "ppv": (s & c).sum() / s.sum()}


def test_truth_mode_verifies_listed_and_unlisted_pupils(scenario: dict) -> None:
    filled = scenario["filled"]
    assert filled["valid"].all()
    off = filled[filled["off_list"]]
    assert len(off) > 100 and set(off["outcome"]) <= {"复核未确认", "复核调整级别"}
    listed = filled[~filled["off_list"]]
    assert (listed["outcome"].isin(["复核确认", "复核调整级别"]) == listed["interview_case"]).all()
    c = scenario["report"].counts
    assert reference_standard(scenario["table"]).notna().sum() == len(filled)
    assert c["verified"] + c["verified_excluded"] == len(filled)
    assert c["verified_screen_negative"] >= 0.9 * len(off)


def test_recovers_the_truths_sensitivity_and_ppv_within_their_cis(scenario: dict) -> None:
    rep = scenario["report"]
    truth = _truth_figures(scenario, "warning_list")
    for measure in ("sensitivity", "ppv", "specificity"):
        est, lo, hi = rep.figure("warning_list", measure)
        assert lo <= truth[measure] <= hi, (measure, truth[measure], est, lo, hi)


def test_cis_cover_the_truth_for_most_cutoffs(scenario: dict) -> None:
    rep = scenario["report"]
    inside = []
    for spec in screen_tests(scenario["table"]):
        if spec["test"] == "warning_list":
            continue
        truth = _truth_figures(scenario, spec["test"])
        for measure in ("sensitivity", "ppv"):
            est, lo, hi = rep.figure(spec["test"], measure)
            if np.isnan(est):
                # a verification cell with no interviewed pupil: refused, with the reason
                m = rep.measures
                row = m[(m["test"] == spec["test"]) & (m["measure"] == measure)
                        & (m["by"] == "all")].iloc[0]
                assert "no verified pupil" in row["corrected_reason"], row
                continue
            inside.append(lo <= truth[measure] <= hi)
    assert len(inside) >= 20, len(inside)
    assert np.mean(inside) >= 0.85, np.mean(inside)


def test_corrected_auc_covers_the_truth_for_most_scales(scenario: dict) -> None:
    from xinli_screen.evaluation.roc import auc_delong

    t = scenario["table"]
    t = t[t["status"].astype(str) == "scored"].reset_index(drop=True)
    verdict = dict(zip(scenario["truth"]["学号"], scenario["truth"]["interview_case"],
                       strict=True))
    case = t["pupil_id"].astype(str).map(verdict).astype(float).to_numpy()
    inside = []
    for r in scenario["report"].roc.to_dict(orient="records"):
        full = auc_delong(t[r["score"]].to_numpy(float), case, direction=r["direction"]).auc
        inside.append(r["auc_corrected_lower"] <= full <= r["auc_corrected_upper"])
    assert len(inside) >= 15 and np.mean(inside) >= 0.8, inside


def test_correction_moves_naive_specificity_toward_the_truth(scenario: dict) -> None:
    rep = scenario["report"]
    truth = _truth_figures(scenario, "warning_list")
    naive = rep.figure("warning_list", "specificity", "naive")[0]
    corrected = rep.figure("warning_list", "specificity")[0]
    assert naive < truth["specificity"]
    assert abs(corrected - truth["specificity"]) < abs(naive - truth["specificity"]) / 5
    # and the naive sensitivity is too high (misses hide among the unverified negatives)
    assert rep.figure("warning_list", "sensitivity", "naive")[0] > truth["sensitivity"] + 0.1


def test_outputs_state_n_exclusions_reference_and_carry_no_ids(scenario: dict) -> None:
    doc = json.loads((scenario["out"] / "acc.json").read_text(encoding="utf-8"))
    assert doc["counts"]["pupils"] == doc["counts"]["excluded"] + doc["counts"]["analysed"]
    assert sum(e["n"] for e in doc["exclusions"]) == doc["counts"]["excluded"]
    assert all(e["reason"] for e in doc["exclusions"])
    assert "复核确认 = present" in doc["reference_standard"]
    assert "reference standard" in scenario["cli"]
    html = (scenario["out"] / "acc.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in html and "<script" not in html
    assert html.count("data:image/svg+xml;base64,") == 2
    assert "不是诊断" in html and "核实偏倚" in html
    ids = set(scenario["table"]["pupil_id"].astype(str))
    xlsx = pd.read_excel(scenario["out"] / "acc.xlsx", sheet_name=None, header=None,
                         dtype=str, engine="openpyxl")
    cells = {v for f in xlsx.values() for v in f.to_numpy().ravel() if isinstance(v, str)}
    assert not ids & cells
    text = json.dumps(doc, ensure_ascii=False) + html
    assert not any(i in text for i in ids)
    assert {"说明", "准确性", "ROC", "复核覆盖", "排除", "注释"} <= set(xlsx)


def test_groups_hide_small_cells(scenario: dict) -> None:
    m = scenario["report"].measures
    groups = m[m["by"] != "all"]
    assert set(groups["by"]) == {"attr.grade", "attr.sex", "attr.school"}
    for k in ("tp", "fp", "fn", "tn"):
        shown = groups[k].dropna()
        assert ((shown == 0) | (shown >= 5)).all()
    hidden = groups["corrected_reason"].str.startswith("hidden")
    assert hidden.any() and groups.loc[hidden, "corrected"].isna().all()
    # secondary suppression: no hidden count equals a published total minus shown counts
    cells = ["n_verified", "tp", "fp", "fn", "tn"]
    district = m[m["by"] == "all"].drop_duplicates("test").set_index("test")
    for (test, _by), block in groups.drop_duplicates(["test", "by", "group"]).groupby(
            ["test", "by"]):
        gone = block[cells].isna()
        for _, row in block[gone.any(axis=1)].iterrows():
            assert row[cells].isna().sum() >= 2, (test, row[cells])
        for c in cells:
            if gone[c].any():
                assert gone[c].sum() >= 2, (test, _by, c)
                assert district.loc[test, c] - block[c].sum() > 0
        # a hidden count never equals n_verified minus the shown cells of its row
        for _, row in block.iterrows():
            hid = [c for c in cells[1:] if pd.isna(row[c])]
            if len(hid) == 1 and not pd.isna(row["n_verified"]):
                raise AssertionError((test, row[cells]))
    assert groups.loc[~hidden & (groups["corrected_reason"] == ""), "corrected"].notna().any()


def test_pseudonymised_ids_give_the_same_report(scenario: dict) -> None:
    t = scenario["table"].copy()
    t["pupil_id"] = [hashlib.sha256(b"k" + str(i).encode()).hexdigest()
                     for i in t["pupil_id"]]
    t = t.drop(columns=[c for c in ("name",) if c in t])
    a = screen_accuracy(t, wave=W1, n_boot=0, by=("attr.school",))
    b = screen_accuracy(scenario["table"], wave=W1, n_boot=0, by=("attr.school",))
    pd.testing.assert_frame_equal(a.measures, b.measures)


def test_no_verified_screen_negatives_no_specificity(scenario: dict) -> None:
    t = scenario["table"].copy()
    off = (t["tier_before_review"].astype(str) == "none") & t["review_status"].isin(
        ["not_confirmed", "tier_changed"])
    t.loc[off, "review_status"] = "not_required"
    rep = screen_accuracy(t, wave=W1, n_boot=0, by=(), tests=["warning_list"])
    for kind in ("naive", "corrected"):
        for measure in ("specificity", "sensitivity", "npv"):
            est, _, _ = rep.figure("warning_list", measure, kind)
            assert np.isnan(est)
        row = rep.measures[(rep.measures["measure"] == "specificity")].iloc[0]
        assert "screen-negative" in row[f"{kind}_reason"]
    assert not np.isnan(rep.figure("warning_list", "ppv")[0])
    assert any("not estimable" in n for n in rep.notes)
    # every cut-off row too: the listed pupils below a cut-off must not stand in for the
    # ~2,300 unverified unlisted pupils (Begg-Greenes strata are never pooled)
    full = screen_accuracy(t, wave=W1, n_boot=0, by=("attr.sex",))
    m = full.measures
    need = m[m["measure"].isin(["sensitivity", "specificity", "npv", "lr_pos", "lr_neg",
                                "prevalence"])]
    assert len(need) > 100
    assert need["corrected"].isna().all(), need.loc[need["corrected"].notna(),
                                                    ["test", "measure", "corrected"]]
    shown = need["corrected_reason"].str.startswith("hidden")
    assert need.loc[~shown, "corrected_reason"].str.contains(
        "no verified pupil|no screen-negative pupil was verified").all()
    assert full.roc["auc_corrected"].isna().all()
    assert full.roc.loc[full.roc["reason"] == "", "auc_corrected_reason"].str.contains(
        "no verified pupil").all()


def test_reference_standard_rules() -> None:
    t = pd.DataFrame({"review_status": ["confirmed", "not_confirmed", "tier_changed",
                                        "tier_changed", "closed", "pending_review"],
                      "warning_tier": ["school", "none", "class", "none", "none", "class"]})
    assert reference_standard(t).tolist()[:4] == [1.0, 0.0, 1.0, 0.0]
    assert reference_standard(t)[4:].isna().all()
    assert reference_standard(t, tier_changed="exclude")[2:4].isna().all()
    with pytest.raises(ValueError, match="tier_changed"):
        reference_standard(t, tier_changed="maybe")
