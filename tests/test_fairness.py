"""Fairness panel (issue 16, point 3): tier rates by group with rate ratios, small cells
suppressed as in the group report, an injected disparity and an injected DIF item flagged."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xinli_screen.evaluation.dif import dif_scale
from xinli_screen.evaluation.fairness import add_dif, fairness_panel, rate_ratio

ANXIETY = (Path(__file__).parent.parent.parent / "shared" / "data" / "lordif_promis_anxiety"
           / "Anxiety.csv")


def test_rate_ratio_by_hand() -> None:
    # a = 30 of 100 vs c = 40 of 400: RR 3; SE = sqrt(1/30 - 1/100 + 1/40 - 1/400)
    rr, lo, hi = rate_ratio(30, 100, 40, 400)
    se = math.sqrt(1 / 30 - 1 / 100 + 1 / 40 - 1 / 400)
    assert float(rr) == pytest.approx(3.0)
    assert float(lo) == pytest.approx(3 * math.exp(-1.959964 * se))
    assert float(hi) == pytest.approx(3 * math.exp(1.959964 * se))
    # R: se <- sqrt(1/30-1/100+1/40-1/400); 3*exp(c(-1,1)*qnorm(.975)*se) -> 1.971923 4.564073
    assert float(lo) == pytest.approx(1.971923, abs=1e-6) and float(hi) == pytest.approx(
        4.564073, abs=1e-6)
    assert np.isnan(rate_ratio(0, 10, 5, 10)[0])


def _wave(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 1200
    left_behind = rng.random(n) < 0.25
    p = np.where(left_behind, 0.30, 0.12)  # injected: 留守 pupils listed 2.5 times as often
    listed = rng.random(n) < p
    tier = np.where(listed, np.where(rng.random(n) < 0.3, "school", "class"), "none")
    return pd.DataFrame({
        "pupil_id": [f"x{i}" for i in range(n)], "warning_tier": tier,
        "attr.sex": rng.choice(["男", "女"], n), "attr.grade": rng.choice(["七年级", "八年级"], n),
        "attr.school": np.where(np.arange(n) < 1197, "一中", "小校"),
        "attr.留守": np.where(left_behind, "是", "否"), "attr.class": "1班"})


def test_injected_disparity_is_flagged_and_counts_add_up() -> None:
    t = _wave()
    panel = fairness_panel(t, wave="w")
    assert set(panel.settings["attributes"]) == {"attr.sex", "attr.grade", "attr.school",
                                                 "attr.留守"}
    row = panel.rates.query("attribute == '留守' and group == '是' and tier == 'class'").iloc[0]
    yes = t["attr.留守"] == "是"
    a = int((t.loc[yes, "warning_tier"] != "none").sum())
    c = int((t.loc[~yes, "warning_tier"] != "none").sum())
    assert row["count"] == a and row["rest_count"] == c and row["n"] == yes.sum()
    assert row["rr"] == pytest.approx((a / yes.sum()) / (c / (~yes).sum()))
    assert row["flag"] == "disparity"
    assert any(f["code"] == "disparity" and f["what"].startswith("留守=是") for f in panel.flags)
    assert not any(f["what"].startswith("sex=") for f in panel.flags)


def test_small_groups_are_suppressed_as_in_the_group_report() -> None:
    panel = fairness_panel(_wave(), ["attr.school"])
    small = panel.rates.query("group == '小校'")
    assert small["hidden"].all() and small["rate"].isna().all() and small["rr"].isna().all()
    js = panel.to_json()
    assert all(r["rate"] is None for r in js["rates"] if r["group"] == "小校")
    # the other group is then hidden too where its count would give the small one away
    assert js["n"] == 1200


def test_missing_attribute_values_are_excluded_and_stated() -> None:
    t = _wave()
    t.loc[:9, "attr.sex"] = None
    panel = fairness_panel(t, ["attr.sex"])
    assert panel.exclusions == {"attr.sex: value missing": 10}
    assert panel.rates.query("tier == 'class'")["n"].sum() == 1190


@pytest.mark.skipif(not ANXIETY.exists(), reason="../shared/data/lordif_promis_anxiety absent")
def test_fairness_panel_flags_an_injected_dif_item() -> None:
    data = pd.read_csv(ANXIETY)
    items = data[[f"R{i}" for i in range(1, 16)]].copy()
    rng = np.random.default_rng(3)
    women = (data["gender"] == 1).to_numpy() & (rng.random(len(data)) < 0.6)
    items.loc[women, "R13"] = np.minimum(items.loc[women, "R13"] + 1, 5)
    wave = pd.DataFrame({"warning_tier": "none", "attr.sex": data["gender"].map(
        {0: "男", 1: "女"})})
    panel = fairness_panel(wave, ["attr.sex"])
    add_dif(panel, dif_scale(items, wave["attr.sex"], criterion="r2", purify=False),
            scale="anxiety", attribute="sex")
    flags = [f for f in panel.flags if f["code"] == "dif_item"]
    assert [f["what"] for f in flags] == ["anxiety:R13:sex"]
    assert "McFadden" in flags[0]["text_en"] and panel.dif[0]["n"] == 766
