"""Reliable change across waves (issue 16, point 4): formulas, history rules, pupil file.

Oracles: a published worked example (Wodrich's open textbook, Piers-Harris-2: SEM 3.07,
Sdiff 4.34, threshold 8.51) and the Jacobson & Truax (1991) formulas worked by hand on a
synthetic two-wave set
(``SE = SD sqrt(1 - r)``, ``Sdiff = sqrt(2) SE``, ``RCI = (x2 - x1) / Sdiff``; cut-off c =
``(s0 M1 + s1 M0) / (s0 + s1)``), with every expected figure written out below.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

import xinli_screen as xs
from xinli_screen.archive import ArchiveStore
from xinli_screen.evaluation.change import (
    change_parameters,
    jacobson_truax_cutoffs,
    reliable_change,
    reliable_change_index,
    se_difference,
)
from xinli_screen.policy.history import evaluate_stored, run_history
from xinli_screen.policy.loader import load_policy
from xinli_screen.policy.models import ChangeCondition, HistoryRules, Policy

ITEMS = [f"phq9_{i:02d}" for i in range(1, 10)]


def test_se_difference_and_rci_by_hand() -> None:
    # SD 5, r = 0.84: SE = 5 * 0.4 = 2; Sdiff = 2 * sqrt(2) = 2.828427
    assert float(se_difference(5.0, 0.84)) == pytest.approx(2 * math.sqrt(2), abs=1e-12)
    rci = reliable_change_index(np.array([10, 10, 10, 10, np.nan]),
                                np.array([16, 15, 4, 10, 12]), 5.0, 0.84)
    assert rci[:4] == pytest.approx([6 / 2.828427125, 5 / 2.828427125, -6 / 2.828427125, 0.0])
    assert rci[0] == pytest.approx(2.121320, abs=1e-6)
    assert np.isnan(rci[4])
    # r outside (0, 1) or no SD: not computable
    assert np.isnan(se_difference(5.0, 1.0)) and np.isnan(se_difference(0.0, 0.8))


def test_published_worked_example_piers_harris() -> None:
    """Wodrich, *Social-Emotional Assessment in Schools* (open textbook, University of
    Arizona), appendix "How to calculate reliable change indexes": Piers-Harris-2 total score,
    SEM 3.07 from the manual (Piers & Herzberg 2002); Sdiff = sqrt(2 * 3.07**2) = 4.34; the
    95% threshold 1.96 * 4.34 = 8.51; pre 24, post 35: a change of 11 is reliable."""
    sd, sem = 10.0, 3.07                       # any SD with SD * sqrt(1 - r) = SEM
    r = 1 - (sem / sd) ** 2
    assert float(se_difference(sd, r)) == pytest.approx(4.34, abs=0.005)
    assert 1.96 * float(se_difference(sd, r)) == pytest.approx(8.51, abs=0.01)
    rci = float(reliable_change_index(24.0, 35.0, sd, r)[()])
    assert rci == pytest.approx(11 / 4.3417, abs=1e-3) and rci > 1.96
    assert abs(float(reliable_change_index(24.0, 32.0, sd, r)[()])) < 1.96  # 8 < 8.51


def test_jacobson_truax_cutoffs_by_hand() -> None:
    # dysfunctional M 30 SD 8, functional M 10 SD 4: a = 30 - 16 = 14, b = 10 + 8 = 18,
    # c = (4 * 30 + 8 * 10) / 12 = 16.6667
    cut = jacobson_truax_cutoffs(30, 8, 10, 4)
    assert cut == pytest.approx({"a": 14.0, "b": 18.0, "c": 200 / 12})
    better = jacobson_truax_cutoffs(30, 8, 60, 10, higher_is_better=True)
    assert better["a"] == 46 and better["b"] == 40


def _two_waves() -> tuple[pd.DataFrame, pd.DataFrame]:
    prev = pd.DataFrame({"pupil_id": ["a", "b", "c", "d", "e"],
                         "s.total": [10.0, 10.0, 12.0, 8.0, 9.0],
                         "s.total.n_answered": 9,
                         "s.total.screen_positive": [True, True, True, False, False]})
    cur = pd.DataFrame({"pupil_id": ["b", "a", "c", "d", "f"],
                        "s.total": [15.0, 16.0, 5.0, 14.0, 20.0],
                        "s.total.n_answered": 9,
                        "s.total.screen_positive": [True, True, False, True, True]})
    return prev, cur


def test_reliable_change_statuses_on_a_synthetic_two_wave_set() -> None:
    prev, cur = _two_waves()
    params = change_parameters(prev, cur, ["s.total"], reliability={"s.total": 0.84},
                               sd={"s.total": 5.0}, declared=False)
    p = params["s.total"]
    assert p.se_difference == pytest.approx(2.828427125)
    assert p.cutoff == "s.total.screen_positive" and not p.higher_is_better
    out = reliable_change(prev, cur, params)
    assert out.index.equals(cur.index)
    # b: 10 -> 15, RCI 1.768: no reliable change; a: 10 -> 16, 2.121: deterioration (already
    # positive: not clinically significant); c: 12 -> 5, -2.475: improvement and crossed the
    # cut-off; d: 8 -> 14, 2.121, crossed upward; f: no previous wave
    assert out["change.s.total.rci"].tolist()[:4] == pytest.approx(
        [5 / 2.828427125, 6 / 2.828427125, -7 / 2.828427125, 6 / 2.828427125])
    assert out["change.s.total.status"].tolist() == [
        "no_reliable_change", "reliable_deterioration", "reliable_improvement",
        "reliable_deterioration", None]
    assert out["change.s.total.clinical"].tolist() == [
        None, None, "clinically_significant_improvement",
        "clinically_significant_deterioration", None]
    assert out["change.s.total.previous"].tolist()[:4] == [10, 10, 12, 8]


def test_higher_is_better_reverses_the_direction() -> None:
    prev, cur = _two_waves()
    params = change_parameters(prev, cur, ["s.total"], reliability={"s.total": 0.84},
                               sd={"s.total": 5.0}, higher_is_better=["s.total"],
                               declared=False)
    out = reliable_change(prev, cur, params)
    assert out["change.s.total.status"].tolist()[1:3] == ["reliable_improvement",
                                                         "reliable_deterioration"]


def test_reliability_falls_back_to_the_between_wave_correlation() -> None:
    rng = np.random.default_rng(1)
    true = rng.normal(10, 4, 200)
    prev = pd.DataFrame({"pupil_id": [f"p{i}" for i in range(200)],
                         "s.total": true + rng.normal(0, 2, 200)})
    cur = pd.DataFrame({"pupil_id": [f"p{i}" for i in range(200)],
                        "s.total": true + rng.normal(0, 2, 200)})
    p = change_parameters(prev, cur, ["s.total"], declared=False)["s.total"]
    r = np.corrcoef(prev["s.total"], cur["s.total"])[0, 1]
    assert p.reliability == pytest.approx(r)
    assert "between-wave correlation" in p.reliability_source and p.n_pairs == 200
    assert p.sd == pytest.approx(prev["s.total"].std(ddof=1))
    few = change_parameters(prev.head(10), cur.head(10), ["s.total"], declared=False)
    assert few["s.total"].reliability is None
    assert reliable_change(prev.head(10), cur.head(10), few)[
        "change.s.total.status"].isna().all()


def test_a_change_condition_is_refused_in_the_main_rules() -> None:
    rule = {"id": "worse", "tier": "school", "reason": {"zh": "恶化"},
            "when": {"change": "phq9.total", "is": "reliable_deterioration"}}
    base = load_policy("default").policy.model_dump(by_alias=True, exclude_none=True)
    with pytest.raises(ValidationError, match=r"history\.rules"):
        Policy.model_validate({**base, "rules": [*base["rules"], rule]})
    ok = Policy.model_validate({**base, "history": {**base["history"], "rules": [rule]}})
    assert isinstance(ok.history.rules[0].when, ChangeCondition)


def test_evaluate_stored_combines_change_and_other_conditions() -> None:
    prev, cur = _two_waves()
    params = change_parameters(prev, cur, ["s.total"], reliability={"s.total": 0.84},
                               sd={"s.total": 5.0}, declared=False)
    table = pd.concat([cur, reliable_change(prev, cur, params)], axis=1)
    rules = HistoryRules.model_validate({"rules": [{
        "id": "worse", "tier": "school", "reason": {"zh": "{evidence}"},
        "when": {"all": [{"change": "s.total", "is": "reliable_deterioration"},
                         {"scale": "s.total", "op": ">=", "value": 15}]}}]})
    true, evidence = evaluate_stored(rules.rules[0].when, table)
    assert true.tolist() == [False, True, False, False, False]
    assert evidence[1] == "s.total RCI = 2.12 (reliable_deterioration); s.total = 16 ≥ 15"


def _screen(totals: dict[str, int]) -> xs.ScreeningResult:
    rows = []
    for sid, total in totals.items():
        answers = [min(3, max(0, total - 3 * k)) for k in range(8)] + [0]
        rows.append({"sid": sid, **{i: str(a) for i, a in zip(ITEMS, answers, strict=True)},
                     "phq9_10": "0"})
    return xs.screen(pd.DataFrame(rows), ["phq9"], id_column="sid")


@pytest.fixture()
def two_wave_store(tmp_path: Path) -> ArchiveStore:
    base = load_policy("default").policy.model_dump(by_alias=True, exclude_none=True)
    base["history"] = {**base["history"], "change": {
        "reliability": {"phq9.total": 0.84}, "sd": {"phq9.total": 5.0},
        "source": "synthetic test values"}, "rules": [{
            "id": "phq9_reliable_deterioration", "tier": "school",
            "reason": {"zh": "较上次可靠恶化：{evidence}", "en": "reliably worse: {evidence}"},
            "when": {"change": "phq9.total", "is": "reliable_deterioration"}}]}
    policy = Policy.model_validate(base)
    store = ArchiveStore(tmp_path / "a.db", policy=policy)
    first = {f"s{i:02d}": 4 for i in range(40)} | {"up": 2, "down": 16, "flat": 5}
    second = {f"s{i:02d}": 5 for i in range(40)} | {"up": 8, "down": 8, "flat": 6}
    r1, r2 = _screen(first), _screen(second)
    store.import_wave(r1.table, r1.provenance, "w1", by="t", policy=policy)
    store.import_wave(r2.table, r2.provenance, "w2", by="t", policy=policy)
    return store


def test_wave_table_and_pupil_file_carry_reliable_change(
        two_wave_store: ArchiveStore) -> None:
    t = two_wave_store.wave_table("w2").set_index("pupil_id")
    # Sdiff = 2.828427: up 2 -> 8 (+6, 2.12), down 16 -> 8 (-8, -2.83), flat 5 -> 6 (0.35)
    assert t.loc["up", "change.phq9.total.status"] == "reliable_deterioration"
    assert t.loc["down", "change.phq9.total.status"] == "reliable_improvement"
    assert t.loc["down", "change.phq9.total.clinical"] == "clinically_significant_improvement"
    assert t.loc["flat", "change.phq9.total.status"] == "no_reliable_change"
    assert t.loc["up", "change.phq9.total.rci"] == pytest.approx(6 / 2.828427125)
    assert "declared in the policy" in t.loc["up", "change.phq9.total.source"]
    # the history rule raised the reliably worse pupil to 校级, with the evidence
    assert t.loc["up", "warning_tier"] == "school" and t.loc["up", "screen_tier"] == "none"
    assert "phq9_reliable_deterioration" in t.loc["up", "history_codes"]
    assert "phq9.total RCI = 2.12" in t.loc["up", "history_reasons_zh"]
    assert t.loc["flat", "warning_tier"] == "none"
    w1 = two_wave_store.wave_table("w1")
    assert not [c for c in w1.columns if c.startswith("change.")]
    rec = two_wave_store.pupil_file("up")["waves"][1]
    assert rec["change.phq9.total.status"] == "reliable_deterioration"


def test_change_off_leaves_the_history_stage_as_before() -> None:
    screens = pd.DataFrame({"pupil_id": ["a", "a"], "wave_seq": [1, 2],
                            "warning_tier": ["none", "none"], "critical_items": ["", ""],
                            "s.total": [1.0, 20.0], "s.total.n_answered": [9, 9],
                            "s.total.screen_positive": [False, True]})
    empty = pd.DataFrame(columns=["pupil_id", "wave_seq", "outcome", "tier", "by", "at",
                                  "note"])
    off = run_history(screens, empty, HistoryRules(change=None))
    assert not [c for c in off.columns if c.startswith("change.")]
    on = run_history(screens, empty, HistoryRules(change={"reliability": {"s.total": 0.8},
                                                          "sd": {"s.total": 3.0}}))
    assert on.loc[1, "change.s.total.status"] == "reliable_deterioration"


def test_pupil_report_shows_reliable_change_to_the_psychologist_only(
        two_wave_store: ArchiveStore) -> None:
    from xinli_screen.report.pupil import build_pupil_report, render_pupil_html

    rep = build_pupil_report(two_wave_store, "up", view="psychologist", by="t")
    change = rep["waves"][1]["changes"][0]
    assert change["scale"] == "phq9.total" and change["status"] == "reliable_deterioration"
    assert change["rci_text"] == "2.12" and change["label"]["zh"] == "可靠恶化"
    assert change["name"]["zh"].startswith("PHQ-9 ")   # the instrument, not a bare 总分
    html = render_pupil_html(rep)
    assert "可靠变化指数" in html and "可靠恶化" in html
    teacher = render_pupil_html(build_pupil_report(two_wave_store, "up", view="teacher", by="t"))
    assert "可靠恶化" not in teacher and "RCI" not in teacher


def test_pupil_file_uses_the_whole_wave_for_r_and_sd(tmp_path: Path) -> None:
    """One pupil's file estimates r and SD on every pupil, as the wave table does."""
    rng = np.random.default_rng(4)
    base = rng.integers(0, 14, 60)
    first = {f"s{i:02d}": int(b) for i, b in enumerate(base)}
    second = {k: int(np.clip(v + rng.integers(-2, 3), 0, 24)) for k, v in first.items()}
    second["s00"] = 22
    store = ArchiveStore(tmp_path / "b.db")
    for name, totals in (("w1", first), ("w2", second)):
        r = _screen(totals)
        store.import_wave(r.table, r.provenance, name, by="t")
    row = store.wave_table("w2").set_index("pupil_id").loc["s00"]
    rec = store.pupil_file("s00")["waves"][1]
    assert "between-wave correlation" in rec["change.phq9.total.source"]
    for key in ("rci", "reliability", "sd", "status"):
        assert rec[f"change.phq9.total.{key}"] == row[f"change.phq9.total.{key}"]
    assert rec["change.phq9.total.status"] == "reliable_deterioration"


def test_policy_validate_refuses_an_unknown_scale_in_a_change_condition(cli, tmp_path: Path
                                                                        ) -> None:
    target = tmp_path / "district.yaml"
    assert cli("policy", "copy", target).code == 0
    text = target.read_text(encoding="utf-8")
    anchor = "  reopen: {tier: school}\n"
    assert anchor in text
    good = text.replace(anchor, anchor + (
        "  rules:\n    - id: phqa_worse\n      tier: school\n"
        "      when: {change: phqa.total, is: reliable_deterioration}\n"
        "      reason: {zh: 变差, en: worse}\n"), 1)
    target.write_text(good, encoding="utf-8")
    run = cli("policy", "validate", target, "-i", "phqa")
    assert run.code == 0, run.err
    target.write_text(good.replace("phqa.total,", "phqa.nosuch,"), encoding="utf-8")
    run = cli("policy", "validate", target, "-i", "phqa")
    assert run.code == 3, run.out
    assert "nosuch" in run.err and "district.yaml" in run.err and "history" in run.err
    # a bundled instrument that is not screened is still checked
    run = cli("policy", "validate", target, "-i", "phq9")
    assert run.code == 3 and "nosuch" in run.err
