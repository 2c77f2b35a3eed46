"""apply_norms internals: score coding, group columns of any dtype, text columns, pair paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xinli_screen as xs
from xinli_screen.norms import apply_norms, fit
from xinli_screen.norms.apply import _constant_text, _score_codes
from xinli_screen.norms.standard import normalised_z, percentile_from_points

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def cesd() -> xs.Instrument:
    return xs.load_instrument("cesd")


def _sample(n: int = 600, seed: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["男", "女"], n)
    grade = rng.choice(["初一", "初二"], n)
    raw = np.clip(np.round(rng.gamma(2.0, 6.0, n) + 2.0 * (sex == "女")), 0, 60)
    return pd.DataFrame({"cesd.total": raw}), pd.DataFrame({"sex": sex, "grade": grade})


@SETTINGS
@given(st.lists(st.one_of(st.integers(-50, 50).map(float), st.floats(-1e6, 1e6),
                          st.just(np.nan), st.sampled_from([0.5, 1 / 3, 2.5, -0.0])),
                max_size=60))
def test_score_codes_give_back_every_score(raw: list[float]) -> None:
    x = np.array(raw, dtype=float)
    codes, values = _score_codes(x)
    assert codes.shape == x.shape
    assert np.all(codes[np.isnan(x)] == -1)
    scored = ~np.isnan(x)
    assert np.all(codes[scored] >= 0)
    np.testing.assert_array_equal(values[codes[scored]], x[scored])


def test_score_codes_of_sum_scores_need_no_hashing() -> None:
    x = np.tile([3.0, 0.0, np.nan, 7.0, 3.0], 2)  # range 0-7 no wider than 10 rows
    codes, values = _score_codes(x)
    assert codes.tolist() == [3, 0, -1, 7, 3] * 2
    assert values.tolist() == [float(v) for v in range(8)]


def test_group_columns_of_any_dtype_give_the_same_result(cesd: xs.Instrument) -> None:
    scores, groups = _sample()
    table = fit(scores, ["sex", "grade"], instrument=cesd, groups=groups, min_cell=2)
    raw = ["男", "女", None, "?", "高一", "初二", "女生", "2"] * 25
    new = pd.DataFrame({"sex": raw, "grade": list(reversed(raw))[:100] + ["初一"] * 100})
    new["sex"] = [s if s not in {"高一", "初二"} else "男" for s in new["sex"]]
    obj = new.astype(object)
    want = apply_norms(scores.iloc[:200], cesd, table, obj)
    for groups_as in (new.astype("str"), new.astype("category")):
        pd.testing.assert_frame_equal(apply_norms(scores.iloc[:200], cesd, table, groups_as),
                                      want)
    assert set(want["cesd.norm_status"]) >= {"ok", "no_norm_group", "group_not_covered"}


def test_percentile_table_with_many_distinct_scores(cesd: xs.Instrument) -> None:
    scores, groups = _sample()
    table = fit(scores, ["sex"], instrument=cesd, groups=groups, kind="percentile", min_cell=2)
    rng = np.random.default_rng(1)
    raw = np.round(rng.uniform(-2, 62, 300), 3)  # more distinct scores than rows per cell
    raw[::17] = np.nan
    sex = rng.choice(["male", "female"], raw.size)
    out = apply_norms(pd.DataFrame({"cesd.total": raw}), cesd, table,
                      pd.DataFrame({"sex": sex}))
    for cell in table.scales["total"].cells:
        rows = sex == cell.group["sex"]
        pr, _ = percentile_from_points(cell.points, raw[rows])
        np.testing.assert_array_equal(out["cesd.total.percentile"].to_numpy()[rows], pr)
        np.testing.assert_array_equal(out["cesd.total.z"].to_numpy()[rows], normalised_z(pr))


def test_empty_input_keeps_the_column_dtypes(cesd: xs.Instrument) -> None:
    scores, groups = _sample()
    table = fit(scores, ["sex"], instrument=cesd, groups=groups, min_cell=2)
    out = apply_norms(scores.iloc[:0], cesd, table, groups.iloc[:0])
    full = apply_norms(scores.iloc[:5], cesd, table, groups.iloc[:5])
    assert len(out) == 0
    assert out.dtypes.to_dict() == full.dtypes.to_dict()
    assert out["cesd.norm_status"].dtype == "str"


@pytest.mark.parametrize("n", [0, 1, 5, 12, 13, 40])
def test_constant_text_spans_chunks(n: int) -> None:
    col = _constant_text("cesd_x@1.0", n, block=4)
    assert col.dtype == "str" and len(col) == n
    assert pd.Series(col).eq("cesd_x@1.0").all()


def test_a_missing_date_in_a_group_column_means_no_norm_group(cesd: xs.Instrument) -> None:
    # a non-standard group variable read as dates: NaT is a missing value, not a group
    scores, groups = _sample()
    groups["wave"] = pd.to_datetime(["2025-03-01"] * len(groups))
    table = fit(scores, ["wave"], instrument=cesd, groups=groups, min_cell=2)
    new = pd.DataFrame({"wave": pd.to_datetime(["2025-03-01", None, "2026-03-01"])})
    new_obj = new.astype(object)
    for frame in (new, new_obj):
        out = apply_norms(pd.DataFrame({"cesd.total": [10.0, 10.0, 10.0]}), cesd, table,
                          frame)
        assert out["cesd.norm_status"].tolist() == ["ok", "no_norm_group",
                                                    "group_not_covered"]


def test_groups_with_the_same_labels_in_another_order_are_matched_by_label(
        cesd: xs.Instrument) -> None:
    scores = pd.DataFrame({"cesd.total": [5.0, 30.0, 7.0]}, index=[9, 8, 7])
    groups = pd.DataFrame({"sex": ["女", "男", "男"]}, index=[7, 8, 9])
    out = apply_norms(scores, cesd, "cesd_zhang2010_urban_sex", groups)
    assert out["cesd.norm_group"].tolist() == ["sex=male", "sex=male", "sex=female"]
    by_position = apply_norms(scores, cesd, "cesd_zhang2010_urban_sex",
                              groups.reset_index(drop=True))
    assert by_position["cesd.norm_group"].tolist() == ["sex=female", "sex=male", "sex=male"]
