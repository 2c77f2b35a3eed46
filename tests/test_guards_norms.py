"""Issue 14, point 4: a norm table is always checked against the instrument's possible scale
range and metric, whether or not the YAML gives ``metric.range``.

Oracles: MSSMHS factor scores are item means on 1-5 coding (王极盛 1997; ``mssmhs.yaml``), so
their possible range is 1-5 and no norm-group mean can exceed 5, nor an SD exceed
(5 - 1) / 2 = 2 (Popoviciu 1935: a variable bounded by [a, b] has variance <= (b - a)^2 / 4).
A mean of 5.19 (the issue's example) is another metric.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

import xinli_screen as xs
from xinli_screen.instrument.registry import load_instrument
from xinli_screen.norms import load_norms
from xinli_screen.norms.errors import NormMismatchError
from xinli_screen.norms.models import NormTable, metric_problems

MSSMHS = load_instrument("mssmhs")


def _table(cell: dict, rng: list | None = None, kind: str = "mean_sd") -> NormTable:
    metric = {"method": "mean", "multiplier": 1.0}
    if rng is not None:
        metric["range"] = rng
    return NormTable.model_validate({
        "id": "off_metric", "version": "1", "instrument": "mssmhs",
        "name": {"zh": "测试", "en": "test"}, "kind": kind,
        "citation": [{"text": "hand-made for a test", "used_for": "test"}],
        "population": {"zh": "测试", "en": "test"}, "year": 2026, "sample_size": 100,
        "scales": {"obsessive_compulsive": {"metric": metric, "cells": [cell]}},
    })


def _answers() -> pd.DataFrame:
    items = [i.id for i in MSSMHS.items]
    return pd.DataFrame({i: [1, 2, 3] for i in items})


@pytest.mark.parametrize("cell", [
    {"group": {}, "n": 100, "mean": 5.19, "sd": 0.5},          # the case
    {"group": {}, "n": 100, "mean": 23.0, "sd": 6.0},          # a sum-score norm
    {"group": {}, "n": 100, "mean": 1.6, "sd": 2.4},           # SD impossible on 1-5
    {"group": {}, "n": 100, "mean": 1.6, "sd": 0.5, "max": 6},  # observed max beyond 5
])
def test_off_metric_norms_are_refused_without_a_range(cell):
    table = _table(cell)  # no metric.range in the YAML
    problems = metric_problems(table, MSSMHS)
    assert problems and "1-5" in problems[0]
    with pytest.raises(NormMismatchError, match="another metric"):
        xs.screen(_answers(), ["mssmhs"], norms=[table])


def test_off_metric_percentile_table_is_refused():
    cell = {"group": {}, "n": 100, "points": [[10, 20.0], [20, 50.0], [30, 80.0]]}
    assert metric_problems(_table(cell, kind="percentile"), MSSMHS)


def test_a_norm_on_the_instruments_metric_is_applied():
    table = _table({"group": {}, "n": 100, "mean": 1.6, "sd": 0.5, "min": 1, "max": 5})
    assert metric_problems(table, MSSMHS) == []
    t = xs.screen(_answers(), ["mssmhs"], norms=[table]).table
    # hand-worked: T = 50 + 10 * (score - 1.6) / 0.5 for scores 1, 2, 3
    assert t["mssmhs.obsessive_compulsive.t"].tolist() == pytest.approx([38.0, 58.0, 78.0])
    assert set(t["mssmhs.obsessive_compulsive.norm_status"]) == {"ok"}


@pytest.mark.parametrize("norm_id", ["cesd_zhang2010_urban", "cesd_zhang2010_urban_sex",
                                     "scared_12cities_sex", "scl90_jin1986_adult"])
def test_bundled_norms_are_on_their_instruments_metric(norm_id):
    table = load_norms(norm_id)
    assert metric_problems(table, load_instrument(table.instrument)) == []


# ---- norms validate runs the same check; score --norms exits 3 (fresh-user check) ----------

def _off_metric_copy(tmp_path: Path) -> Path:
    """A copy of the bundled scl90_jin1986_adult with ``range`` removed and a first mean of
    5.19 on the 1-5 mean-score scale (no pupil can average above 5)."""
    from xinli_screen.norms.loader import load_norms_with_hash
    text = load_norms_with_hash("scl90_jin1986_adult").path.read_text(encoding="utf-8")
    text = text.replace(", range: [1.0, 5.0]", "").replace("mean: 1.37,", "mean: 5.19,", 1)
    text = text.replace("id: scl90_jin1986_adult", "id: scl90_off_metric", 1)
    assert "5.19" in text and "range: [1.0, 5.0]" not in text
    path = tmp_path / "scl90_off.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_norms_validate_refuses_an_off_metric_table(cli, tmp_path):
    path = _off_metric_copy(tmp_path)
    run = cli("norms", "validate", path)
    assert run.code == 3, (run.out, run.err)
    assert "ok" not in run.out
    assert "mean 5.19 lies outside the scale's possible range 1-5 (mean score)" in run.err
    assert "(norm-metric)" in run.err
    # the bundled table itself is fine
    from xinli_screen.norms.loader import load_norms_with_hash
    good = load_norms_with_hash("scl90_jin1986_adult").path
    run = cli("norms", "validate", good)
    assert run.code == 0 and ": ok (" in run.out, run.err


def test_norms_validate_names_a_sum_norm_on_a_mean_scale(cli, tmp_path):
    table = _table({"group": {}, "n": 100, "mean": 1.6, "sd": 0.5})
    doc = table.model_dump(mode="json", exclude_none=True)
    doc["scales"]["obsessive_compulsive"]["metric"]["method"] = "sum"
    path = tmp_path / "sum.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    run = cli("norms", "validate", path)
    assert run.code == 3
    assert ("norm table 'off_metric' is on sum scores but the instrument scores this scale as "
            "a mean; a sum norm cannot be applied to mean scores") in run.err


def test_norms_validate_with_a_given_or_unknown_instrument(cli, tmp_path):
    doc = _table({"group": {}, "n": 100, "mean": 5.19, "sd": 0.5}).model_dump(
        mode="json", exclude_none=True)
    doc["instrument"] = "my_mssmhs"  # not bundled: checked only when given with -i
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    run = cli("norms", "validate", path)
    assert run.code == 0 and "(norm-metric-unchecked)" in run.err and "give it with -i" in run.err
    inst = tmp_path / "my_mssmhs.yaml"
    from xinli_screen.instrument.registry import resolve_definition
    inst.write_text(resolve_definition("mssmhs").read_text(encoding="utf-8").replace(
        "mssmhs", "my_mssmhs"), encoding="utf-8")
    run = cli("norms", "validate", path, "-i", inst)
    assert run.code == 3 and "mean 5.19 lies outside" in run.err


def test_score_refuses_an_off_metric_table_with_exit_3(cli, tmp_path):
    scl = load_instrument("scl90")
    items = [i.id for i in scl.items]
    data = tmp_path / "a.csv"
    pd.DataFrame({i: [1, 2, 1] for i in items}).assign(sid=["a1", "a2", "a3"]).to_csv(
        data, index=False)
    run = cli("score", data, "-i", "scl90", "--id-column", "sid", "--norms",
              _off_metric_copy(tmp_path), "-o", tmp_path / "o.csv")
    assert run.code == 3, run.err
    assert "mean 5.19 lies outside the scale's possible range 1-5" in run.err
