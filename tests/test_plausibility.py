"""Plausibility panel (issue 16, point 2): an injected over-identifying rule is flagged.

A copy of the default policy gets a rule that puts every pupil with a PHQ-9 total of 5 or
more on the 班级关注 list (about 30% of the simulated pupils); the panel, with the original
policy's result as the expected (previous-wave) rates, must flag it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen.evaluation.plausibility import (
    item_missingness,
    plausibility_panel,
    wilson,
)
from xinli_screen.policy.loader import load_policy
from xinli_screen.policy.models import Policy

ITEMS = [f"phq9_{i:02d}" for i in range(1, 10)]


def _answers(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    severity = rng.gamma(1.2, 0.25, n)
    raw = np.clip(np.round(rng.normal(severity[:, None], 0.5, (n, 9))), 0, 3).astype(int)
    raw[:, 8] = 0  # no critical answers: the tiers come from the rules only
    data = pd.DataFrame(raw.astype(str), columns=ITEMS)
    data.insert(0, "sid", [f"p{i:04d}" for i in range(n)])
    data["phq9_10"] = "0"
    data["school"] = np.where(np.arange(n) % 2, "一中", "二中")
    return data


@pytest.fixture(scope="module")
def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    base = load_policy("default").policy
    doc = base.model_dump(by_alias=True, exclude_none=True)
    doc["rules"] = [*doc["rules"], {
        "id": "phq9_mild_everyone", "tier": "class",
        "when": {"scale": "phq9.total", "op": ">=", "value": 5},
        "reason": {"zh": "PHQ-9 轻度（{evidence}）"}}]
    injected = Policy.model_validate(doc)
    before = xs.screen(_answers(1500, 1), ["phq9"], id_column="sid", policy=base).table
    after = xs.screen(_answers(1500, 2), ["phq9"], id_column="sid", policy=injected).table
    for t in (before, after):
        t["attr.school"] = np.where(np.arange(len(t)) % 2, "一中", "二中")
        t["screen_tier"] = t["warning_tier"]
    return before, after


def test_the_injected_rule_is_flagged(tables: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    before, after = tables
    panel = plausibility_panel(after, before, wave="w2")
    rule = panel.rules.set_index("rule").loc["phq9_mild_everyone"]
    assert 0.2 < rule["rate"] < 0.45  # about 30% of pupils
    codes = {(f["code"], f["what"]) for f in panel.flags}
    assert ("rule_fires_often", "phq9_mild_everyone") in codes
    assert ("over_identification", "warning_tier>=class") in codes
    assert ("single_rule_list", "phq9_mild_everyone") in codes
    text = next(f["text_zh"] for f in panel.flags if f["what"] == "warning_tier>=class")
    assert "高于预期" in text and "n = 1500" in text
    # the same policy on both waves: nothing flagged on the tiers or the rules
    same = plausibility_panel(before, before)
    assert not [f for f in same.flags if f["code"] in ("over_identification",
                                                       "rule_fires_often")]


def test_declared_expected_range_and_counts(tables: tuple[pd.DataFrame, pd.DataFrame]
                                            ) -> None:
    _, after = tables
    panel = plausibility_panel(after, expected={"class": (0.06, 0.09)})
    row = panel.rates.set_index("indicator").loc["warning_tier>=class"]
    assert row["expected_source"] == "declared" and row["flag"] == "over_identification"
    n_class = int((after["warning_tier"].astype(str) != "none").sum())
    assert row["count"] == n_class and row["n"] == 1500
    lo, hi = wilson(n_class, 1500)
    assert row["ci_low"] == pytest.approx(float(lo)) and row["ci_high"] == pytest.approx(
        float(hi))
    flag = next(f for f in panel.flags if f["what"] == "warning_tier>=class")
    assert "6-9%" in flag["text_zh"]
    js = panel.to_json()
    assert js["n"] == 1500 and js["flags"] and "exclusions" in js


def test_wilson_by_hand() -> None:
    # x = 14, n = 100: centre (0.14 + 1.92/100) / 1.0384, half 1.96 sqrt(.1204/100 + .96/1e4)
    lo, hi = wilson(14, 100, z=1.96)
    centre = (0.14 + 1.96**2 / 200) / (1 + 1.96**2 / 100)
    half = 1.96 * np.sqrt(0.14 * 0.86 / 100 + 1.96**2 / 40000) / (1 + 1.96**2 / 100)
    assert float(lo) == pytest.approx(centre - half) and float(hi) == pytest.approx(
        centre + half)
    # R: prop.test(14, 100, correct = FALSE)$conf.int -> 0.08526344 0.22137188
    lo, hi = wilson(14, 100)
    assert float(lo) == pytest.approx(0.08526344, abs=1e-7)
    assert float(hi) == pytest.approx(0.22137188, abs=1e-7)


def test_validity_by_school_and_item_missingness() -> None:
    n = 400
    t = pd.DataFrame({"attr.school": ["a"] * 200 + ["b"] * 200,
                      "careless.too_fast": [False] * 200 + [True] * 40 + [False] * 160,
                      "protocol_valid": True, "warning_tier": "none", "reason_codes": ""})
    panel = plausibility_panel(t)
    v = panel.validity.set_index("school")
    assert v.loc["b", "too_fast"] == 40 and "too_fast_school" in v.loc["b", "flag"]
    assert v.loc["a", "flag"] == ""
    answers = pd.DataFrame(np.ones((n, 5)), columns=list("vwxyz"))
    answers.iloc[:60, 2] = np.nan
    miss = item_missingness(answers).set_index("item")
    assert miss.loc["x", "flag"] and not miss.loc["v", "flag"]


def test_cli_panels_write_html_xlsx_json_without_ids(cli, tmp_path) -> None:
    import json

    from xinli_screen.archive import ArchiveStore

    base = load_policy("default").policy
    store = ArchiveStore(tmp_path / "a.db", policy=base)
    r1 = xs.screen(_answers(300, 5), ["phq9"], id_column="sid", policy=base)
    r2 = xs.screen(_answers(300, 6), ["phq9"], id_column="sid", policy=base)
    roster = pd.DataFrame({"sid": [f"p{i:04d}" for i in range(300)],
                           "school": np.where(np.arange(300) % 2, "一中", "二中"),
                           "sex": np.where(np.arange(300) % 3, "男", "女")})
    for name, r in (("w1", r1), ("w2", r2)):
        store.import_wave(r.table, r.provenance, name, by="t", policy=base, roster=roster)
    db = tmp_path / "a.db"
    for kind in ("plausibility", "fairness"):
        for ext in ("html", "xlsx", "json"):
            out = tmp_path / f"{kind}.{ext}"
            run = cli("panel", kind, "--archive", db, "--wave", "w2", "-o", out)
            assert run.code == 0, run.err
            assert out.exists() and "n = 300" in run.out
        html = (tmp_path / f"{kind}.html").read_text(encoding="utf-8")
        assert "Content-Security-Policy" in html and "不是诊断" in html
        assert "p0001" not in html and "p0001" not in (tmp_path / f"{kind}.json").read_text()
    js = json.loads((tmp_path / "plausibility.json").read_text(encoding="utf-8"))
    assert js["n"] == 300 and js["settings"]["previous_wave_name"] == "w1"
    fair = json.loads((tmp_path / "fairness.json").read_text(encoding="utf-8"))
    assert set(fair["settings"]["attributes"]) == {"attr.school", "attr.sex"}
    assert {r["group"] for r in fair["rates"]} == {"一中", "二中", "男", "女"}
    bad = cli("panel", "plausibility", "--archive", db, "--wave", "w2", "-o",
              tmp_path / "x.pdf")
    assert bad.code == 2


def test_waves_are_compared_before_review() -> None:
    """The previous wave's reviews lowered many tiers; this wave has none recorded yet. Both
    lists as handed out (before 复核) have the same rate: no over-identification flag."""
    from xinli_screen.evaluation.plausibility import plausibility_panel

    n = 1000
    before = ["school"] * 100 + ["none"] * (n - 100)
    previous = pd.DataFrame({"screen_tier": before, "tier_before_review": before,
                             "warning_tier": ["school"] * 40 + ["none"] * (n - 40)})
    current = pd.DataFrame({"screen_tier": before, "tier_before_review": before,
                            "warning_tier": before})
    panel = plausibility_panel(current, previous, wave="w2")
    row = panel.rates.set_index("indicator").loc["warning_tier>=school"]
    assert row["flag"] == "" and abs(row["rate"] - 0.1) < 1e-12
    assert "复核前" in row["label"]
