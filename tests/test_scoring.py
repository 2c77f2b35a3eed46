"""Scoring engine: reverse keying with declared bounds, missing data, proration, bands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import xinli_screen as xs

DEMO = Path(__file__).parent / "fixtures" / "demo_scoring.yaml"


@pytest.fixture(scope="module")
def demo() -> xs.Instrument:
    return xs.load_instrument(DEMO)


def frame(rows: list[list[float | None]], inst: xs.Instrument) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(inst.item_ids), dtype=float)


def test_keys_matrix_shape(demo: xs.Instrument) -> None:
    keys = xs.keys_matrix(demo)
    assert keys.shape == (5, 2)
    assert keys["total"].sum() == 5 and keys["mean_ab"].tolist() == [1, 1, 0, 0, 0]


def test_reverse_keying_uses_declared_bounds_not_data(demo: xs.Instrument) -> None:
    # every respondent answers item 5 with 1 or 2: the observed range is 1..2, the declared 0..3
    data = frame([[0, 0, 0, 0, 1], [0, 0, 0, 0, 2]], demo)
    keyed = xs.reverse_key(data, demo)
    assert keyed["demo_05"].tolist() == [2.0, 1.0]


def test_missing_is_never_zero(demo: xs.Instrument) -> None:
    data = frame([[None] * 5, [1, None, None, None, None]], demo)
    scores = xs.score_instrument(data, demo)
    assert np.isnan(scores.loc[0, "demo.total"])
    assert scores.loc[0, "demo.total.n_answered"] == 0
    assert np.isnan(scores.loc[0, "demo.mean_ab"])
    assert pd.isna(scores.loc[0, "demo.total.band"])
    assert scores.loc[0, "demo.total.positive"] is pd.NA
    assert np.isnan(scores.loc[1, "demo.total"])  # 1 of 5 < min_answered 4
    assert scores.loc[1, "demo.mean_ab"] == 4.0  # mean of the answered item x 4


def test_proration(demo: xs.Instrument) -> None:
    # items 1-4 answered 3, item 5 missing: keyed sum 12 over 4 items -> 12 * 5 / 4 = 15
    data = frame([[3, 3, 3, 3, None], [3, 3, 3, 3, 0]], demo)
    scores = xs.score_instrument(data, demo)
    assert scores.loc[0, "demo.total"] == 15.0
    assert bool(scores.loc[0, "demo.total.prorated"]) is True
    assert scores.loc[1, "demo.total"] == 15.0  # complete: 12 + (3 - 0)
    assert bool(scores.loc[1, "demo.total.prorated"]) is False
    assert bool(scores.loc[0, "demo.total.positive"]) is True  # 15 > 10


def test_bands_are_lower_bounds(demo: xs.Instrument) -> None:
    data = frame([[2, 2, 2, 1, 3], [2, 2, 2, 2, 3]], demo)  # totals 7 and 8
    scores = xs.score_instrument(data, demo)
    assert scores["demo.total"].tolist() == [7.0, 8.0]
    assert scores["demo.total.band"].tolist() == ["low", "high"]


def test_prorated_score_between_band_edges_gets_lower_band(demo: xs.Instrument) -> None:
    # keyed 2+2+1+1 = 6 over 4 answered -> 7.5, below the 'high' edge of 8
    data = frame([[2, 2, 1, 1, None]], demo)
    scores = xs.score_instrument(data, demo)
    assert scores.loc[0, "demo.total"] == 7.5
    assert scores.loc[0, "demo.total.band"] == "low"


def test_critical_item_reads_raw_answer(demo: xs.Instrument) -> None:
    data = frame([[None, None, None, 3, None], [0, 0, 0, 2, 0], [0, 0, 0, None, 0]], demo)
    flags = xs.critical_item_flags(data, demo)["demo.always_4"]
    assert flags.tolist() == [True, False, pd.NA]


def test_instrument_declared_missing_codes(demo: xs.Instrument) -> None:
    raw = pd.DataFrame({"demo_01": [-2, 1], "demo_02": [-3, 1], "demo_03": [1, 1],
                        "demo_04": [1, 1], "demo_05": [1, 1]})
    prepared = xs.prepare_responses(raw, [demo])
    assert prepared.failures.empty
    assert prepared.responses.loc[0, ["demo_01", "demo_02"]].isna().all()


def test_phq9_worked_example_kroenke() -> None:
    """Kroenke 2001: the total is the plain sum of items 1-9; item 10 is not added."""
    phq9 = xs.load_instrument("phq9")
    answers = [[1, 2, 3, 0, 1, 2, 3, 0, 1, 3]]
    scores = xs.score_instrument(pd.DataFrame(answers, columns=list(phq9.item_ids)), phq9)
    assert scores.loc[0, "phq9.total"] == 13.0
    assert scores.loc[0, "phq9.total.band"] == "moderate"
    assert scores.loc[0, "phq9.functioning"] == 3.0


def test_cesd_reverse_keying_worked_example() -> None:
    """Radloff 1977: items 4, 8, 12, 16 reversed (3 - x) before summing."""
    cesd = xs.load_instrument("cesd")
    answers = {f"cesd_{k:02d}": 1 for k in range(1, 21)}
    answers.update(cesd_04=3, cesd_08=2, cesd_12=1, cesd_16=0)
    scores = xs.score_instrument(pd.DataFrame([answers]), cesd)
    # 16 forward items x 1 = 16; reversed: 0 + 1 + 2 + 3 = 6
    assert scores.loc[0, "cesd.total"] == 22.0
    assert scores.loc[0, "cesd.positive_affect"] == 6.0
    assert bool(scores.loc[0, "cesd.total.screen_positive"]) is True
