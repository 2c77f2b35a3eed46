"""Statistics that warn (or say why they are NaN) where R psych warns (issue 14, point 7).

R values come from ``tests/oracles/make_warning_oracles.R`` (psych 2.2.9), recorded in
``tests/oracles/warning_oracles.csv``; R is not needed to run these tests.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen._analysis import ConstantItemWarning, SmallSampleWarning
from xinli_screen.factor import FactorFitWarning
from xinli_screen.reliability import AnalysisError, MiskeyedItemsWarning

ORACLES = Path(__file__).resolve().parent / "oracles"


def _r(case: str, statistic: str) -> tuple[float, str]:
    table = pd.read_csv(ORACLES / "warning_oracles.csv", keep_default_na=False)
    row = table[(table["case"] == case) & (table["statistic"] == statistic)].iloc[0]
    return float(row["value"]), str(row["warnings"])


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return pd.read_csv(ORACLES / "small_n_items.csv")


def _one_factor(n: int = 60, k: int = 5, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 1))
    x = np.clip(np.round(1.5 + f + rng.normal(size=(n, k))), 0, 3)
    return pd.DataFrame(x, columns=[f"q{j}" for j in range(1, k + 1)])


def test_lambda6_with_fewer_respondents_than_items_is_r_value_with_a_warning(small):
    g6 = _r("small_n", "G6(smc)")[0]
    assert "not positive definite" in _r("small_n", "raw_alpha")[1]  # what R said
    with pytest.warns(SmallSampleWarning, match="8 respondents for 10 items") as record:
        res = xs.cronbach_alpha(small)
    assert res.lambda6 == pytest.approx(g6, abs=1e-9)  # was 0.99999999 (plain inverse)
    assert res.lambda6 == pytest.approx(_r("small_n", "G6_cor.smooth")[0], abs=1e-9)
    assert res.alpha == pytest.approx(_r("small_n", "raw_alpha")[0], abs=1e-12)
    assert res.std_alpha == pytest.approx(_r("small_n", "std.alpha")[0], abs=1e-12)
    assert any("singular" in w for w in res.warnings)
    assert len(record) == 1


def test_split_half_with_fewer_respondents_than_items_warns(small):
    with pytest.warns(SmallSampleWarning, match="split_half"):
        res = xs.split_half(small)
    assert res.max_split == pytest.approx(_r("small_n", "splitHalf_max")[0], abs=1e-9)
    assert res.min_split == pytest.approx(_r("small_n", "splitHalf_min")[0], abs=1e-9)
    assert res.mean_split == pytest.approx(_r("small_n", "splitHalf_mean")[0], abs=1e-9)
    assert res.warnings


def test_no_small_sample_warning_on_an_ordinary_sample():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        xs.cronbach_alpha(_one_factor())
        xs.split_half(_one_factor())


def test_omega_on_an_ultra_heywood_higher_order_solution_warns():
    data = pd.read_csv(ORACLES / "heywood_items.csv")
    omega_t, r_warned = _r("heywood", "omega.tot")
    assert "ultra-Heywood" in r_warned
    with pytest.warns(FactorFitWarning, match="ultra-Heywood") as record:
        res = xs.mcdonald_omega(data, n_factors=3)
    assert "1.038" in str(record[0].message)
    assert res.omega_total == pytest.approx(omega_t, abs=1e-3)
    assert res.omega_hierarchical == pytest.approx(_r("heywood", "omega_h")[0], abs=1e-3)
    assert res.factor_correlations["g_loading"].abs().max() == pytest.approx(
        _r("heywood", "max_abs_gloading")[0], abs=1e-3)
    assert any("ultra-Heywood" in w for w in res.warnings)


@pytest.mark.parametrize("missing", ["pairwise", "listwise"])
@pytest.mark.parametrize("statistic", ["cronbach_alpha", "split_half", "mcdonald_omega",
                                       "item_analysis"])
def test_an_all_empty_column_is_named_without_numpy_warnings(statistic, missing):
    data = _one_factor()
    data["q5"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning from numpy would fail here
        with pytest.raises(AnalysisError, match=r"\['q5'\] have no answers at all"):
            getattr(xs, statistic)(data, missing=missing)


def test_factor_analysis_names_an_all_empty_column():
    data = _one_factor(k=6)
    data["q6"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AnalysisError, match="no answers at all"):
            xs.factor.kmo(data)


def test_negative_alpha_says_why_and_names_the_opposing_groups():
    data = _one_factor(n=200)
    data[["q4", "q5"]] = 3 - data[["q4", "q5"]]  # worded the other way, not reverse-keyed
    with pytest.warns(MiskeyedItemsWarning) as record:
        res = xs.cronbach_alpha(data)
    assert res.alpha < 0
    text = str(record[0].message)
    assert "average inter-item covariance is negative" in text
    assert "q1, q2, q3 versus q4, q5" in text


def test_negative_alpha_without_negative_item_rest_correlations():
    # two blocks of items, each pair within a block positive, across blocks strongly negative
    rng = np.random.default_rng(5)
    f = rng.normal(size=(400, 1))
    a = f + rng.normal(scale=0.3, size=(400, 2))
    b = -f + rng.normal(scale=0.3, size=(400, 2))
    data = pd.DataFrame(np.hstack([a, b]), columns=["a1", "a2", "b1", "b2"])
    with pytest.warns(MiskeyedItemsWarning, match="a1, a2 versus b1, b2|b1, b2 versus a1, a2"):
        assert xs.cronbach_alpha(data).alpha < 0


@pytest.mark.parametrize("missing", ["listwise", "pairwise"])
def test_zero_variance_item_gives_raw_alpha_and_nan_standardised(missing):
    data = _one_factor()
    data["q5"] = 2.0
    with pytest.warns(ConstantItemWarning, match=r"\['q5'\] have no variance"):
        res = xs.cronbach_alpha(data, missing=missing)
    k = 5
    c = data.cov().to_numpy()
    expected = k / (k - 1) * (1 - np.trace(c) / c.sum())  # R: alpha()$total$raw_alpha
    assert res.alpha == pytest.approx(expected, abs=1e-12)
    assert np.isnan(res.std_alpha) and np.isnan(res.lambda6)
    assert res.ci[0] < res.alpha < res.ci[1]
    assert any("no variance" in w for w in res.warnings)
