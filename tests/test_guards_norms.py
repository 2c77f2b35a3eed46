"""Issue 14, point 4: a norm table is always checked against the instrument's possible scale
range and metric, whether or not the YAML gives ``metric.range``.

Oracles: MSSMHS factor scores are item means on 1-5 coding (王极盛 1997; ``mssmhs.yaml``), so
their possible range is 1-5 and no norm-group mean can exceed 5, nor an SD exceed
(5 - 1) / 2 = 2 (Popoviciu 1935: a variable bounded by [a, b] has variance <= (b - a)^2 / 4).
A mean of 5.19 (the issue's example) is another metric.
"""

from __future__ import annotations

import pandas as pd
import pytest

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
