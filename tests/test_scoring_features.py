"""Composite, count, filtered, rounded scales; validity checks; opt-in critical items."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import xinli_screen as xs
from xinli_screen.instrument.registry import bundled_dir
from xinli_screen.scoring import score_bounds, validity_flags

FEAT = Path(__file__).parent / "fixtures" / "demo_features.yaml"
ITEMS = [f"feat_0{k}" for k in range(1, 7)]


@pytest.fixture(scope="module")
def feat() -> xs.Instrument:
    return xs.load_instrument(FEAT)


def scores_of(rows: list[list[float | None]], inst: xs.Instrument) -> pd.DataFrame:
    return xs.score_instrument(pd.DataFrame(rows, columns=ITEMS, dtype=float), inst)


def test_composite_needs_every_component(feat: xs.Instrument) -> None:
    s = scores_of([[1, 3, 5, 2, 0, 0], [1, None, 5, 2, 0, 0]], feat)
    assert s["feat.total"].tolist()[0] == 11.0
    assert np.isnan(s.loc[1, "feat.total"])
    assert s["feat.total.n_answered"].tolist() == [4, 3]


def test_count_and_filtered_mean(feat: xs.Instrument) -> None:
    s = scores_of([[1, 1, 1, 1, 0, 0], [2, 4, 1, 1, 0, 0]], feat)
    assert s["feat.positive_count"].tolist() == [0.0, 2.0]
    assert np.isnan(s.loc[0, "feat.positive_mean"])  # no positive item: undefined, not 0
    assert s.loc[1, "feat.positive_mean"] == 3.0


def test_multiplier_then_floor(feat: xs.Instrument) -> None:
    s = scores_of([[1, 1, 1, 2, 0, 0], [5, 5, 5, 5, 0, 0]], feat)
    assert s["feat.index"].tolist() == [6.0, 25.0]  # 5 x 1.25 = 6.25 -> 6


def test_declared_ranges(feat: xs.Instrument) -> None:
    assert feat.scale_range(feat.scale("total")) == (4.0, 20.0)
    assert feat.scale_range(feat.scale("positive_count")) == (0.0, 4.0)
    assert feat.scale_range(feat.scale("positive_mean")) == (2.0, 5.0)
    assert feat.scale_range(feat.scale("index")) == (5.0, 25.0)


def test_bounds_cover_every_completion(feat: xs.Instrument) -> None:
    partial = [3, None, 2, None, 0, 0]
    bounds = score_bounds(pd.DataFrame([partial], columns=ITEMS, dtype=float), feat)
    completions = [[3, a, 2, b, 0, 0] for a in range(1, 6) for b in range(1, 6)]
    scores = scores_of(completions, feat)
    for scale in ("part_a", "total", "positive_count", "positive_mean", "index"):
        lo, hi = bounds.loc[0, f"feat.{scale}.lo"], bounds.loc[0, f"feat.{scale}.hi"]
        values = scores[f"feat.{scale}"].dropna()
        assert values.min() >= lo and values.max() <= hi, scale


def test_validity_check_and_status(feat: xs.Instrument) -> None:
    s = scores_of([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 1], [1, 1, 1, 1, None, 1]], feat)
    flags = validity_flags(s, feat)["feat.lie_high"]
    assert flags.tolist() == [True, False, pd.NA]
    data = pd.DataFrame([[1, 1, 1, 1, "是", "是"], [1, 1, 1, 1, "不是", "是"]], columns=ITEMS)
    table = xs.screen(data, [FEAT]).table
    assert table["status"].tolist() == ["invalid_protocol", "scored"]
    assert table["protocol_valid"].tolist() == [False, True]


def test_opt_in_critical_item_needs_policy(feat: xs.Instrument, tmp_path: Path) -> None:
    data = pd.DataFrame([[1, 1, 1, 1, 0, 1]], columns=ITEMS)
    assert xs.screen(data, [FEAT]).table.loc[0, "warning_tier"] == "none"
    policy = yaml.safe_load((bundled_dir() / "policies" / "default.yaml").read_text("utf-8"))
    policy["enable_critical_items"] = ["feat.opt_in"]
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    table = xs.screen(data, [FEAT], policy=path).table
    assert table.loc[0, "warning_tier"] == "school"
    assert table.loc[0, "critical_items"] == "feat.opt_in"


def test_enabling_unknown_critical_item_is_refused(tmp_path: Path) -> None:
    policy = yaml.safe_load((bundled_dir() / "policies" / "default.yaml").read_text("utf-8"))
    policy["enable_critical_items"] = ["feat.nope"]
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    data = pd.DataFrame([[1, 1, 1, 1, 0, 1]], columns=ITEMS)
    with pytest.raises(xs.PolicyDefinitionError, match="no critical item 'nope'"):
        xs.screen(data, [FEAT], policy=path)


def test_composite_must_follow_components(tmp_path: Path) -> None:
    text = FEAT.read_text(encoding="utf-8").replace("scales: [part_a, part_b]",
                                                    "scales: [part_a, later]")
    path = tmp_path / "f.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(xs.InstrumentDefinitionError) as info:
        xs.load_instrument(path)
    assert any(i.code == "unknown-scale-in-composite" for i in info.value.issues)
