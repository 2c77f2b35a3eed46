"""Polychoric correlations, ordinal alpha and ordinal omega against R psych 2.2.9 (issue 14).

Oracle values: ``tests/oracles/make_polychoric_oracles.R`` -> ``polychoric_oracles.csv`` (data
simulated for the tests, next to the script). R is not needed to run these tests.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen.errors import ResponseDataError
from xinli_screen.reliability import (
    AnalysisError,
    PolychoricResult,
    ScaleResults,
    SmallSampleWarning,
    polychoric,
)
from xinli_screen.reliability.polychoric import _phi2, cor_smooth

ORACLES = Path(__file__).resolve().parent / "oracles"
CASES = ["ordinal_items", "ordinal_items_missing"]


@pytest.fixture(scope="module")
def oracle() -> pd.DataFrame:
    return pd.read_csv(ORACLES / "polychoric_oracles.csv", keep_default_na=False, dtype=str)


def _value(oracle: pd.DataFrame, case: str, statistic: str, row: str = "", col: str = ""
           ) -> float:
    hit = oracle[(oracle.case == case) & (oracle.statistic == statistic)
                 & (oracle.row == row) & (oracle.col == col)]
    assert len(hit) == 1, (case, statistic, row, col)
    return float(hit.value.iloc[0])


def _data(case: str) -> pd.DataFrame:
    return pd.read_csv(ORACLES / f"{case}.csv")


@pytest.mark.parametrize("case", CASES)
def test_polychoric_matches_psych(oracle, case):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = polychoric(_data(case))
    assert isinstance(res, PolychoricResult)
    items = list(res.items)
    expected = np.array([[_value(oracle, case, "rho", a, b) for b in items] for a in items])
    # psych: optimize() to eps^0.25 over sadmvn probabilities; the same Brent steps here
    np.testing.assert_allclose(res.rho.to_numpy(), expected, rtol=0, atol=1e-6)
    tau = np.array([[_value(oracle, case, "tau", a, str(c)) for c in (1, 2, 3)]
                    for a in items])
    np.testing.assert_array_equal(np.isinf(res.tau[["t1", "t2", "t3"]].to_numpy()),
                                  np.isinf(tau))
    finite = np.isfinite(tau)
    np.testing.assert_allclose(res.tau[["t1", "t2", "t3"]].to_numpy()[finite], tau[finite],
                               atol=1e-12)
    r_said = oracle[(oracle.case == case) & (oracle.statistic == "warnings")].row.tolist()
    ours = [str(w.message) for w in caught]
    assert res.global_thresholds == (not any("global set to FALSE" in t for t in r_said))
    assert any("same number of categories" in t for t in ours) == (not res.global_thresholds)


@pytest.mark.parametrize("case", CASES)
def test_ordinal_alpha_and_omega_match_psych(oracle, case):
    data = _data(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        alpha = xs.cronbach_alpha(data, ordinal=True)
        omega = xs.mcdonald_omega(data, n_factors=2, ordinal=True)
    assert alpha.correlation == "polychoric" and omega.correlation == "polychoric"
    assert alpha.alpha == pytest.approx(_value(oracle, case, "ordinal_alpha"), abs=1e-6)
    assert alpha.std_alpha == pytest.approx(_value(oracle, case, "ordinal_alpha"), abs=1e-6)
    assert alpha.lambda6 == pytest.approx(_value(oracle, case, "ordinal_G6"), abs=1e-6)
    assert alpha.average_r == pytest.approx(_value(oracle, case, "ordinal_average_r"),
                                            abs=1e-6)
    assert np.isnan(alpha.ci[0]) and np.isnan(alpha.ci[1])
    # omega: minres and oblimin to their tolerances (1e-5 in R), as the Pearson omega tests
    assert omega.omega_total == pytest.approx(_value(oracle, case, "omega.tot"), abs=1e-4)
    assert omega.omega_hierarchical == pytest.approx(_value(oracle, case, "omega_h"),
                                                     abs=1e-4)
    pearson = xs.cronbach_alpha(data)
    assert alpha.alpha > pearson.alpha  # coarse categories attenuate Pearson correlations


def test_non_category_value_is_refused_naming_item_row_and_value():
    phq9 = xs.load_instrument("phq9")
    rng = np.random.default_rng(2)
    data = pd.DataFrame(rng.integers(0, 4, size=(40, 10)).astype(float),
                        columns=list(phq9.item_ids))
    data.loc[16, "phq9_03"] = 1.5
    # row: 0-based position, the failures table's convention (file row = row + 2)
    with pytest.raises(ResponseDataError,
                       match=r"item 'phq9_03', row 16 \(0-based, as 'row' in the failures "
                             r"table; file row 18 with one header row\): value 1\.5 is not one "
                             r"of the categories \[0, 1, 2, 3\]"):
        xs.cronbach_alpha(data, instrument=phq9, ordinal=True)
    with pytest.raises(ResponseDataError, match="row 16 "):
        xs.mcdonald_omega(data, instrument=phq9, n_factors=1, ordinal=True)
    plain = data[["phq9_01", "phq9_02", "phq9_03"]]
    with pytest.raises(ResponseDataError, match=r"'phq9_03', row 16 .*: value 1\.5 is not a "
                                                r"whole-number category"):
        polychoric(plain)
    text = plain.astype(object)
    text.loc[3, "phq9_01"] = "often"
    with pytest.raises(ResponseDataError, match=r"'phq9_01', row 3 .*: a text value "
                                                r"\(5 characters\) is not"):
        polychoric(text)


def test_non_category_free_text_is_never_echoed():
    """Privacy: a cell holding a name, a student number and a phone number is described by
    its kind and length only, in every ordinal statistic."""
    phq9 = xs.load_instrument("phq9")
    rng = np.random.default_rng(4)
    data = pd.DataFrame(rng.integers(0, 4, size=(40, 10)), columns=list(phq9.item_ids))
    data = data.astype(object)
    secret = "张三 学号20230101 电话13800001111"
    data.loc[16, "phq9_03"] = secret
    calls = [lambda: xs.cronbach_alpha(data, instrument=phq9, ordinal=True),
             lambda: xs.mcdonald_omega(data, instrument=phq9, n_factors=1, ordinal=True),
             lambda: polychoric(data[["phq9_01", "phq9_03"]])]
    for call in calls:
        with pytest.raises(ResponseDataError) as err:
            call()
        msg = str(err.value)
        assert f"a text value ({len(secret)} characters)" in msg
        for part in ("张三", "20230101", "13800001111"):
            assert part not in msg


def test_describe_value_shows_numbers_only():
    from xinli_screen.reliability.polychoric import describe_value
    assert describe_value(np.float64(1.5)) == "value 1.5"
    assert describe_value(np.int64(7)) == "value 7"
    assert describe_value(" 4 ") == "value 4"
    assert describe_value("13800001111") == "a number with 11 digits"  # a phone number
    assert describe_value(20230101.0) == "a number with 8 digits"  # a student number
    assert describe_value("学号20230101") == "a text value (10 characters)"
    assert describe_value(True) == "a true/false value"
    assert describe_value(pd.Timestamp("2024-01-01")) == "a Timestamp value"


def test_too_many_categories_for_ordinal():
    rng = np.random.default_rng(3)
    data = pd.DataFrame(rng.integers(0, 10, size=(60, 3)), columns=["a", "b", "c"])
    with pytest.raises(AnalysisError, match="at most 8 categories"):
        polychoric(data)


def test_per_scale_with_an_instrument_and_reverse_keys():
    gad7 = xs.load_instrument("gad7")
    data = _data("ordinal_items").iloc[:, :6].set_axis(list(gad7.item_ids[:6]), axis=1)
    data[gad7.item_ids[6]] = data.iloc[:, 0]
    res = polychoric(data, instrument=gad7)
    assert isinstance(res, ScaleResults)
    assert res.table.loc[0, "scale"] == "total"
    plain = polychoric(data.iloc[:, :3])
    keyed = polychoric(data.iloc[:, :3], keys=[data.columns[0]], scale_range=(0, 3))
    flipped = keyed.rho.to_numpy()
    np.testing.assert_allclose(flipped[0, 1:], -plain.rho.to_numpy()[0, 1:], atol=1e-4)
    assert keyed.reversed_items == (data.columns[0],)


def test_bivariate_normal_cdf_against_scipy():
    from scipy import stats

    rng = np.random.default_rng(4)
    for _ in range(20):
        h, k = rng.normal(size=2)
        rho = float(rng.uniform(-0.95, 0.95))
        expected = stats.multivariate_normal([0, 0], [[1, rho], [rho, 1]]).cdf([h, k])
        assert _phi2(np.array(h), np.array(k), rho) == pytest.approx(expected, abs=1e-7)
    assert _phi2(np.array(0.0), np.array(0.0), 0.5) == pytest.approx(1 / 3)  # 1/4 + asin/2pi
    assert _phi2(np.array(np.inf), np.array(0.0), 0.3) == pytest.approx(0.5)
    assert _phi2(np.array(-np.inf), np.array(1.0), 0.3) == 0.0


def test_cor_smooth_as_psych():
    bad = np.array([[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]])
    fixed, smoothed = cor_smooth(bad)
    assert smoothed and np.linalg.eigvalsh(fixed).min() > 0
    np.testing.assert_allclose(np.diag(fixed), 1.0)
    same, touched = cor_smooth(np.eye(3))
    assert not touched and (same == np.eye(3)).all()
