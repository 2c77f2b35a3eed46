"""Careless-responding indices (xinli_screen.validity) against R careless, plus properties.

Oracles: tests/oracles/careless_oracle_*.csv, computed once with the R careless functions by
tests/oracles/make_careless_oracles.R (R 4.2.2, psych 2.2.9; see tests/oracles/README.md,
section "R careless oracles"), so these tests never need R.

Data: ``careless_dataset`` (200 x 50) from the R package careless (Yentes & Wilhelm, MIT
licence, https://github.com/ryentes/careless, data/careless_dataset.rda, converted to CSV; see
../shared/data/careless_simulated/SOURCE.md). A byte-identical copy is committed as
tests/oracles/careless_dataset.csv, so the main comparison runs without ../shared.
``careless_dataset2`` (1000 x 100) is read from ../shared and those tests are skipped when it
is absent.

Tolerance: every index here is a closed form (counts, means, SDs, Pearson correlations, one
3x3-to-100x100 matrix inverse). The brief fixes the tolerance at 1e-6 absolute; the observed
differences from R are below 1e-12 (floating-point rounding only), and the smallest real
difference between two respondents is far larger, so 1e-6 cannot hide a wrong formula.
Longstring is compared exactly and flags are compared as booleans.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import statistics
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from xinli_screen import validity as v
from xinli_screen.errors import ResponseDataError, XinliScreenWarning

ATOL = 1e-6  # closed forms; see module docstring

ORACLES = Path(__file__).resolve().parent / "oracles"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DIR = SHARED / "data" / "careless_simulated"
DATA1_SHA256 = "03d9b3e4b4da32a09c3fa6cb92a105f7f70f955fcff2093aa9440b5e50ef5a43"
DATA2_SHA256 = "4e26a36815cb07f98ac2151616342b9705342ab15f8bd13de64f41cb288aa057"
FACTORS1 = [5] * 10
FACTORS2 = [10] * 10

def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_items(path: Path, sha: str | None = None) -> pd.DataFrame:
    if sha is not None:
        assert _sha256(path) == sha, f"{path} is not the file the R oracles were computed from"
    return pd.read_csv(path).astype(float)


@pytest.fixture(scope="module")
def data1() -> pd.DataFrame:
    return _read_items(ORACLES / "careless_dataset.csv", DATA1_SHA256)


@pytest.fixture(scope="module")
def oracle1() -> pd.DataFrame:
    return pd.read_csv(ORACLES / "careless_oracle_dataset.csv")


@pytest.fixture(scope="module")
def data_na() -> pd.DataFrame:
    return _read_items(ORACLES / "careless_dataset_na.csv")


@pytest.fixture(scope="module")
def oracle_na() -> pd.DataFrame:
    return pd.read_csv(ORACLES / "careless_oracle_dataset_na.csv")


def assert_same(got: pd.Series, want: pd.Series, what: str, atol: float = ATOL) -> float:
    """Every row equal within atol (NaN where R has NA); returns the max abs difference."""
    g = got.to_numpy(dtype=float, na_value=np.nan)
    w = want.to_numpy(dtype=float, na_value=np.nan)
    assert g.shape == w.shape, what
    both = ~np.isnan(g) & ~np.isnan(w)
    nan_mismatch = np.flatnonzero(np.isnan(g) != np.isnan(w))
    assert nan_mismatch.size == 0, f"{what}: NaN/NA differs on rows {nan_mismatch[:10] + 1}"
    diff = np.abs(g[both] - w[both])
    bad = np.flatnonzero(~(np.abs(g - w) <= atol) & both)
    assert bad.size == 0, (f"{what}: {bad.size} rows differ by more than {atol}; first rows "
                           f"{bad[:10] + 1}: {g[bad[:3]]} vs R {w[bad[:3]]}")
    return float(diff.max()) if diff.size else 0.0


def index_values(items: pd.DataFrame, factors: list[int]) -> dict[str, pd.Series]:
    return {
        "longstring": v.longstring(items),
        "avgstr": v.longstring(items, average=True),
        "irv": v.irv(items),
        "mahad_d2": v.mahalanobis(items)["mahalanobis_d2"],
        "evenodd": v.even_odd(items, factors),
        "psychsyn_060": v.psychsyn(items, 0.60),
    }


# ----------------------------------------------------------------------------- oracles


@pytest.mark.shared_data
def test_committed_copy_is_the_shared_file() -> None:
    if not (SHARED_DIR / "careless_dataset.csv").is_file():
        pytest.skip(f"careless_dataset.csv not available under {SHARED_DIR}")
    assert _sha256(SHARED_DIR / "careless_dataset.csv") == DATA1_SHA256


@pytest.mark.parametrize("index", ["longstring", "avgstr", "irv", "mahad_d2", "evenodd",
                                   "psychsyn_060"])
def test_every_row_matches_r_careless(index: str, data1: pd.DataFrame,
                                      oracle1: pd.DataFrame) -> None:
    got = index_values(data1, FACTORS1)[index]
    assert len(got) == len(oracle1) == 200
    atol = 0.0 if index == "longstring" else ATOL
    assert_same(got, oracle1[index], f"careless_dataset {index}", atol)


def test_mahalanobis_flags_match_r(data1: pd.DataFrame, oracle1: pd.DataFrame) -> None:
    got = v.mahalanobis(data1, confidence=0.99)
    want = oracle1["mahad_flag_099"].astype(bool).to_numpy()
    np.testing.assert_array_equal(got["mahalanobis_flag"].to_numpy(dtype=bool), want)
    assert int(got["mahalanobis_flag"].sum()) == 23


def test_source_md_reference_figures(data1: pd.DataFrame) -> None:
    """The figures printed in ../shared/data/careless_simulated/SOURCE.md (4 decimals)."""
    vals = index_values(data1, FACTORS1)
    expected = {
        "longstring": [6, 4, 3],
        "avgstr": [1.5625, 1.4706, 1.5152],
        "irv": [0.8631, 1.0351, 0.9689],
        "mahad_d2": [44.0524, 40.0837, 49.1276],
        "evenodd": [1.0000, -0.6410, -0.5561],
        "psychsyn_060": [0.3320, 0.6206, 0.5351],
    }
    for index, first3 in expected.items():
        np.testing.assert_allclose(vals[index].iloc[:3].to_numpy(dtype=float), first3,
                                   rtol=0, atol=5e-5, err_msg=index)
    assert int(v.mahalanobis(data1, 0.99)["mahalanobis_flag"].sum()) == 23
    # and NOT the ier/careless-py values (population SD; D instead of D^2)
    assert abs(vals["irv"].iloc[0] - 0.8544) > 0.005
    assert abs(vals["mahad_d2"].iloc[0] - 6.6372) > 1


def test_psychsyn_pairs_as_r(data1: pd.DataFrame, oracle1: pd.DataFrame) -> None:
    pairs = v.psychsyn_critval(data1)
    assert len(pairs) == 50 * 49 // 2
    assert int((pairs["cor"] > 0.60).sum()) == 53 == int(oracle1["psychsyn_060_pairs"].iloc[0])
    # no pair sits so close to .60 that rounding could change the selection
    assert (pairs["cor"] - 0.60).abs().min() > 1e-6


def test_psychant_on_careless_dataset_has_no_pairs(data1: pd.DataFrame) -> None:
    """Every inter-item r of careless_dataset is positive: R careless stops ("No Psychometric
    Antonyms found."); so do we, with an error that says what to do."""
    assert v.psychsyn_critval(data1)["cor"].min() > 0
    with pytest.raises(v.CarelessIndexError, match="no psychometric antonyms"):
        v.psychant(data1)


@pytest.mark.parametrize("index", ["longstring", "avgstr", "irv", "mahad_d2", "evenodd",
                                   "psychsyn_060"])
def test_missing_data_rows_match_r(index: str, data_na: pd.DataFrame,
                                   oracle_na: pd.DataFrame) -> None:
    """careless_dataset with 4 % of cells missing, rows 5-8 empty, row 10 with three answers
    and row 12 starting (3, 3, NA, 3, 3, 3). Only documented difference: longstring/avgstr of
    an empty row is NA here and 1 in R."""
    got = index_values(data_na, FACTORS1)[index]
    want = oracle_na[index].copy()
    empty = data_na.isna().all(axis=1).to_numpy()
    assert list(np.flatnonzero(empty) + 1) == [5, 6, 7, 8]
    if index in ("longstring", "avgstr"):
        assert (want[empty] == 1).all()
        assert got[empty].isna().all()
        want[empty] = np.nan
    assert_same(got, want, f"careless_dataset_na {index}",
                0.0 if index == "longstring" else ATOL)


def test_missing_data_flags_match_r(data_na: pd.DataFrame, oracle_na: pd.DataFrame) -> None:
    got = v.mahalanobis(data_na, confidence=0.99)["mahalanobis_flag"]
    want = oracle_na["mahad_flag_099"].map({True: True, False: False})
    assert got.isna().tolist() == want.isna().tolist()
    assert got.dropna().tolist() == want.dropna().tolist()
    assert int(got.sum()) == 22


def test_small_rows_match_r() -> None:
    small = pd.read_csv(ORACLES / "careless_oracle_small.csv")
    rows = [[math.nan if t == "NA" else float(t) for t in s.split()] for s in small["items"]]
    items = pd.DataFrame(rows)
    empty = items.isna().all(axis=1).to_numpy()
    got_ls = v.longstring(items)
    assert got_ls.iloc[0] == 3  # (3, 3, NA, 3, 3, 3): NA breaks the run
    assert v.longstring(items, average=True).iloc[0] == 2.0
    assert (small.loc[~empty, "longstring"].to_numpy() == got_ls[~empty].to_numpy()).all()
    assert_same(v.longstring(items, average=True)[~empty], small.loc[~empty, "avgstr"], "avgstr")
    assert_same(v.irv(items), small["irv"], "irv")
    assert got_ls[empty].isna().all()


@pytest.fixture(scope="module")
def data2() -> pd.DataFrame:
    path = SHARED_DIR / "careless_dataset2.csv"
    if not path.is_file():
        pytest.skip(f"careless_dataset2.csv not available under {SHARED_DIR} (the ../shared "
                    "data folder is not part of the repository)")
    return _read_items(path, DATA2_SHA256)


@pytest.mark.shared_data
@pytest.mark.parametrize("index", ["longstring", "avgstr", "irv", "mahad_d2", "evenodd",
                                   "psychsyn_060", "psychant_050", "psychant_060",
                                   "mahad_flag_099"])
def test_careless_dataset2_matches_r(index: str, data2: pd.DataFrame) -> None:
    items = data2
    want = pd.read_csv(ORACLES / "careless_oracle_dataset2.csv")
    assert len(want) == 1000
    if index == "mahad_flag_099":
        got = v.mahalanobis(items, 0.99)["mahalanobis_flag"]
        assert got.tolist() == want[index].astype(bool).tolist()
        assert int(got.sum()) == 24
        return
    if index == "psychant_050":
        got = v.psychant(items, -0.50)
    elif index == "psychant_060":
        got = v.psychant(items, -0.60)  # 2 antonym pairs: R needs > 2, so every row is NA
        assert got.isna().all()
    else:
        got = index_values(items, FACTORS2)[index]
    assert_same(got, want[index], f"careless_dataset2 {index}",
                0.0 if index == "longstring" else ATOL)


# ----------------------------------------------------------------------------- behaviour


def test_results_align_to_the_input_index(data1: pd.DataFrame) -> None:
    items = data1.iloc[:40].set_axis(pd.Index([f"s{i:03d}" for i in range(40)], name="学号"))
    shuffled = items.sample(frac=1.0, random_state=3)
    for fn, name in [(v.longstring, "longstring"), (v.irv, "irv")]:
        a, b = fn(items), fn(shuffled)
        assert a.name == name and a.index.equals(items.index)
        pd.testing.assert_series_equal(a, b.loc[items.index])
    assert v.longstring(items).dtype == "Int64"
    assert v.longstring(items, average=True).name == "avgstr"
    assert v.even_odd(items, FACTORS1).name == "even_odd"
    assert v.psychsyn(data1).name == "psychsyn"
    m = v.mahalanobis(data1.set_axis(pd.RangeIndex(100, 300)), 0.99)
    assert list(m.columns) == ["mahalanobis_d2", "mahalanobis_flag"]
    assert m.index.equals(pd.RangeIndex(100, 300))
    assert m["mahalanobis_flag"].dtype == "boolean"
    assert list(v.mahalanobis(data1).columns) == ["mahalanobis_d2"]


def test_irv_is_the_sample_sd() -> None:
    items = pd.DataFrame([[1.0, 2, 3, 4, 5, 6], [2.0, 2, np.nan, np.nan, np.nan, np.nan],
                          [4.0] + [np.nan] * 5])
    got = v.irv(items)
    assert got.iloc[0] == pytest.approx(statistics.stdev([1, 2, 3, 4, 5, 6]), abs=1e-12)
    assert got.iloc[0] != pytest.approx(statistics.pstdev([1, 2, 3, 4, 5, 6]), abs=1e-3)
    assert got.iloc[1] == 0.0
    assert math.isnan(got.iloc[2])  # one answer: SD undefined


def test_input_errors(data1: pd.DataFrame) -> None:
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        v.irv(data1.to_numpy())
    text = data1.iloc[:5, :4].astype(object)
    text.iloc[0, 1] = "完全不会"
    with pytest.raises(ResponseDataError, match="scaleA2"):
        v.longstring(text)
    with pytest.raises(ResponseDataError, match="infinite"):
        v.irv(data1.iloc[:3].replace(3.0, np.inf))
    with pytest.raises(ValueError, match="at least two"):
        v.even_odd(data1, [50])
    with pytest.raises(ValueError, match="cover 55 items"):
        v.even_odd(data1, [5] * 11)
    with pytest.warns(XinliScreenWarning, match="45 of the 50"):
        v.even_odd(data1, [5] * 9)
    with pytest.raises(ValueError, match="confidence"):
        v.mahalanobis(data1, 1.5)
    with pytest.raises(v.CarelessIndexError, match="singular"):
        v.mahalanobis(data1.iloc[:30])  # fewer respondents than items
    with pytest.raises(v.CarelessIndexError, match="no psychometric synonyms"):
        v.psychsyn(data1, 0.95)


def test_even_odd_sign_and_edge_cases() -> None:
    consistent = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 1, 1]          # halves agree perfectly
    inconsistent = [1, 5, 5, 1, 2, 4, 4, 2, 3, 1, 1, 3]        # halves disagree
    flat = [3] * 12
    items = pd.DataFrame([consistent, inconsistent, flat], dtype=float)
    got = v.even_odd(items, [2] * 6)
    assert got.iloc[0] == pytest.approx(-1.0)  # careful: low
    assert got.iloc[1] == pytest.approx(1.0)   # careless: high (clipped at -1 before negation)
    assert math.isnan(got.iloc[2])             # no variance: undefined, as R


@pytest.mark.parametrize(("text", "seconds"), [
    ("120", 120.0), ("120秒", 120.0), ("2分3秒", 123.0), ("2分", 120.0), ("2分钟", 120.0),
    ("1小时2分3秒", 3723.0), ("１２０秒", 120.0), (" 95 秒 ", 95.0), ("2:03", 123.0),
    ("1:02:03", 3723.0), ("1h2m3s", 3723.0), ("3.5秒", 3.5), ("1,200", 1200.0),
])
def test_parse_duration_formats(text: str, seconds: float) -> None:
    got = v.parse_duration(pd.Series([text], dtype=object))
    assert got.loc[0, "seconds"] == pytest.approx(seconds)
    assert got.loc[0, "problem"] is None


def test_parse_duration_problems_and_numbers() -> None:
    values = pd.Series(["abc", "", None, "-5", "2分钟多", 90, 12.5, np.nan], dtype=object,
                       index=list("abcdefgh"))
    got = v.parse_duration(values)
    assert got.index.equals(values.index)
    assert got["problem"].tolist() == ["time-unparseable", "time-missing", "time-missing",
                                       "time-unparseable", "time-unparseable", None, None,
                                       "time-missing"]
    assert got["seconds"].iloc[5:7].tolist() == [90.0, 12.5]
    assert got["seconds"].iloc[:5].isna().all()
    numeric = v.parse_duration(pd.Series([30.0, -1.0, np.nan]))
    assert numeric["problem"].tolist() == [None, "time-negative", "time-missing"]


def test_response_time_flags() -> None:
    times = pd.Series(["59秒", "1分0秒", "xx", None], index=["a", "b", "c", "d"])
    got = v.response_time(times, min_seconds=60)
    assert got["too_fast"].tolist() == [True, False, pd.NA, pd.NA]
    assert got["response_time_problem"].tolist() == [None, None, "time-unparseable",
                                                     "time-missing"]
    with pytest.raises(ValueError, match="min_seconds"):
        v.response_time(times, 0)


def test_careless_screen_defaults(data1: pd.DataFrame, oracle1: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # psychant is not computable but its check is off
        out = v.careless_screen(data1, factors=FACTORS1, lang="en")
    assert out.index.equals(data1.index)
    assert out["protocol_valid"].dtype == "boolean"
    long = oracle1["longstring"].to_numpy() >= 25
    flagged = oracle1["mahad_flag_099"].astype(bool).to_numpy()
    np.testing.assert_array_equal(out["protocol_valid"].to_numpy(dtype=bool), ~(long | flagged))
    assert out["psychant"].isna().all()
    assert any("antonyms" in note for note in out.attrs["notes"])
    assert out.attrs["thresholds"]["mahalanobis_confidence"] == 0.99
    row = int(np.flatnonzero(long)[0])
    assert "careless-longstring" in out["validity_reason_codes"].iloc[row]
    assert "longest run of identical answers" in out["validity_reasons"].iloc[row]
    assert (out.loc[out["protocol_valid"].to_numpy(dtype=bool), "validity_reasons"] == "").all()
    zh = v.careless_screen(data1, factors=FACTORS1)
    assert "最长连续相同作答" in zh["validity_reasons"].iloc[row]
    assert "马氏距离" in zh["validity_reasons"].iloc[int(np.flatnonzero(flagged)[0])]


def test_careless_screen_configuration(data1: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="unknown threshold"):
        v.careless_screen(data1, {"longstring_max": 10})
    with pytest.raises(ValueError, match="must be a number or None"):
        v.careless_screen(data1, {"irv_below": "0.5"})
    with pytest.raises(ValueError, match="lang"):
        v.careless_screen(data1, lang="fr")
    with pytest.raises(ValueError, match="factors"):
        v.careless_screen(data1, {"even_odd_above": -0.3})
    with pytest.raises(ValueError, match="critval"):
        v.careless_screen(data1, {"psychsyn_critval": None})
    no_time_check = v.careless_screen(data1, {"seconds_per_item": None},
                                      response_times=pd.Series(30.0, index=data1.index))
    assert "too_fast" not in no_time_check and (no_time_check["response_seconds"] == 30).all()
    off = {"longstring_fraction": None, "mahalanobis_confidence": None}
    out = v.careless_screen(data1, off)
    assert out["protocol_valid"].all()
    with pytest.warns(XinliScreenWarning, match="psychant"):
        out = v.careless_screen(data1, {**off, "psychant_above": 0.0})
    assert out["protocol_valid"].all()
    out = v.careless_screen(data1, {**off, "irv_below": 0.5, "even_odd_above": -0.30},
                            factors=FACTORS1, lang="en")
    codes = out["validity_reason_codes"]
    assert codes.str.contains("careless-irv-low").sum() == int((v.irv(data1) < 0.5).sum())
    # even-odd is undefined for 5 respondents (straight-liners, R gives NA too): where the
    # IRV check fires the verdict is False, otherwise it stays undecided (NA)
    undefined = out["even_odd"].isna()
    assert list(np.flatnonzero(undefined) + 1) == [50, 59, 81, 89, 189]
    assert codes[undefined].str.contains("careless-even-odd:not-computable").all()
    low = out["irv"] < 0.5
    assert (out.loc[undefined & low, "protocol_valid"] == False).all()  # noqa: E712
    assert out.loc[undefined & ~low, "protocol_valid"].isna().all()
    assert out.loc[~undefined, "protocol_valid"].notna().all()


def test_careless_screen_keyed_items_and_times(data1: pd.DataFrame) -> None:
    keyed = 6.0 - data1  # every item reversed: even-odd is unchanged
    a = v.careless_screen(data1, factors=FACTORS1)
    b = v.careless_screen(data1, factors=FACTORS1, keyed=keyed)
    pd.testing.assert_series_equal(a["even_odd"], b["even_odd"])
    with pytest.raises(ValueError, match="keyed"):
        v.careless_screen(data1, factors=FACTORS1, keyed=keyed.iloc[:10])
    times = pd.Series(["1分30秒", "5分", "乱码", "99"] + ["10分"] * 196, index=data1.index)
    out = v.careless_screen(data1, {"mahalanobis_confidence": None, "longstring_fraction": None},
                            response_times=times, lang="en")
    # default 2 s per item x 50 items = 100 s
    assert out["too_fast"].iloc[:4].tolist() == [True, False, pd.NA, True]
    assert out["protocol_valid"].iloc[:4].tolist() == [False, True, pd.NA, False]
    assert out["validity_reasons"].iloc[2] == "completion time not computable"
    assert out["validity_reasons"].iloc[0] == "completion time 90 s < 100 s"
    with pytest.raises(ValueError, match="same index"):
        v.careless_screen(data1, response_times=times.reset_index(drop=True).iloc[:5])


def test_careless_screen_empty_row_is_undecided(data_na: pd.DataFrame) -> None:
    out = v.careless_screen(data_na, factors=FACTORS1, lang="en")
    empty = data_na.isna().all(axis=1)
    assert out.loc[empty, "protocol_valid"].isna().all()
    assert out.loc[empty, "validity_reasons"].str.contains("not computable").all()


# ----------------------------------------------------------------------------- properties

PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def answer_matrices(draw: st.DrawFn, min_rows: int = 1, min_cols: int = 1,
                    missing: bool = True) -> pd.DataFrame:
    n = draw(st.integers(min_rows, 12))
    p = draw(st.integers(min_cols, 12))
    cell = st.sampled_from([1.0, 2.0, 3.0, 4.0, 5.0] + ([math.nan] if missing else []))
    rows = draw(st.lists(st.lists(cell, min_size=p, max_size=p), min_size=n, max_size=n))
    return pd.DataFrame(rows, columns=[f"i{j}" for j in range(p)])


def slow_runs(row: list[float]) -> list[int]:
    """Run lengths as R's rle: NaN never equals anything, not even NaN."""
    runs = [1]
    for prev, cur in itertools.pairwise(row):
        if not (math.isnan(prev) or math.isnan(cur)) and prev == cur:
            runs[-1] += 1
        else:
            runs.append(1)
    return runs


@PROPS
@given(answer_matrices())
def test_longstring_and_irv_against_a_slow_reference(items: pd.DataFrame) -> None:
    ls, avg, sd = v.longstring(items), v.longstring(items, average=True), v.irv(items)
    p = items.shape[1]
    for i, row in enumerate(items.itertuples(index=False)):
        values = list(row)
        answered = [x for x in values if not math.isnan(x)]
        if not answered:
            assert pd.isna(ls.iloc[i]) and math.isnan(avg.iloc[i])
        else:
            runs = slow_runs(values)
            assert ls.iloc[i] == max(runs)
            assert avg.iloc[i] == pytest.approx(sum(runs) / len(runs))
            assert 1 <= ls.iloc[i] <= p and 1 <= avg.iloc[i] <= ls.iloc[i]
        if len(answered) >= 2:
            assert sd.iloc[i] == pytest.approx(statistics.stdev(answered), abs=1e-12)
            assert sd.iloc[i] >= 0
        else:
            assert math.isnan(sd.iloc[i])


@PROPS
@given(answer_matrices(min_cols=2))
def test_invariances_of_longstring_and_irv(items: pd.DataFrame) -> None:
    reversed_scale = 6.0 - items                 # a bijective recoding of the answers
    reversed_order = items.iloc[:, ::-1]         # the same form read backwards
    shifted = items + 10.0
    pd.testing.assert_series_equal(v.longstring(items), v.longstring(reversed_scale))
    pd.testing.assert_series_equal(v.longstring(items), v.longstring(reversed_order))
    pd.testing.assert_series_equal(v.longstring(items, True), v.longstring(reversed_order, True))
    np.testing.assert_allclose(v.irv(items), v.irv(reversed_scale), atol=1e-12)
    np.testing.assert_allclose(v.irv(items), v.irv(shifted), atol=1e-12)
    np.testing.assert_allclose(v.irv(items), v.irv(reversed_order), atol=1e-12)


@PROPS
@given(answer_matrices(min_cols=4), st.data())
def test_even_odd_against_a_slow_reference(items: pd.DataFrame, data: st.DataObject) -> None:
    p = items.shape[1]
    cut = sorted(data.draw(st.sets(st.integers(1, p - 1), min_size=1, max_size=p - 1)))
    factors = [b - a for a, b in zip([0, *cut], [*cut, p], strict=True)]
    got = v.even_odd(items, factors)
    for i, row in enumerate(items.to_numpy()):
        evens, odds, start = [], [], 0
        for size in factors:
            block = row[start:start + size]
            e = [x for x in block[1::2] if not math.isnan(x)]
            o = [x for x in block[0::2] if not math.isnan(x)]
            evens.append(sum(e) / len(e) if e else math.nan)
            odds.append(sum(o) / len(o) if o else math.nan)
            start += size
        pairs = [(a, b) for a, b in zip(evens, odds, strict=True)
                 if not (math.isnan(a) or math.isnan(b))]
        if len(pairs) < 2 or len({a for a, _ in pairs}) < 2 or len({b for _, b in pairs}) < 2:
            assert math.isnan(got.iloc[i])
            continue
        r = statistics.correlation([a for a, _ in pairs], [b for _, b in pairs])
        sb = max(2 * r / (1 + r), -1.0) if r > -1 else -1.0
        assert got.iloc[i] == pytest.approx(-sb, abs=1e-9)
        assert -1.0 <= got.iloc[i] <= 1.0


@PROPS
@given(answer_matrices(min_rows=6, min_cols=4), st.sampled_from([0.0, 0.2, 0.4]))
def test_psychsyn_against_a_slow_reference(items: pd.DataFrame, critval: float) -> None:
    r = items.corr(min_periods=2).to_numpy()       # pandas: pairwise-complete Pearson
    j, k = np.tril_indices(items.shape[1], -1)
    assume(np.all(np.isnan(r[j, k]) | (np.abs(r[j, k] - critval) > 1e-9)))
    keep = r[j, k] > critval
    assume(keep.any())
    got = v.psychsyn(items, critval)
    x = items.to_numpy()
    for i in range(len(x)):
        a, b = x[i, j[keep]], x[i, k[keep]]
        ok = ~np.isnan(a) & ~np.isnan(b)
        a, b = a[ok], b[ok]
        if len(a) <= 2 or len(set(a)) < 2 or len(set(b)) < 2:
            assert math.isnan(got.iloc[i])
        else:
            assert got.iloc[i] == pytest.approx(statistics.correlation(list(a), list(b)),
                                                abs=1e-9)
    # the same linear recoding of every item (e.g. the scale printed 5..1) changes nothing.
    # (Reordering columns can: as in R, the later item of a pair supplies the first vector.)
    np.testing.assert_allclose(v.psychsyn(6.0 - items, critval), got, atol=1e-12)
    np.testing.assert_allclose(v.psychsyn(2.0 * items + 1.0, critval), got, atol=1e-12)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.integers(3, 8))
def test_mahalanobis_is_affine_and_permutation_invariant(seed: int, p: int) -> None:
    rng = np.random.default_rng(seed)
    items = pd.DataFrame(rng.integers(1, 6, size=(4 * p, p)).astype(float))
    try:
        d2 = v.mahalanobis(items)["mahalanobis_d2"].to_numpy()
    except v.CarelessIndexError:
        assume(False)
    scale = rng.choice([-3.0, -0.5, 2.0, 7.0], size=p)
    moved = items * scale + rng.normal(size=p)
    perm = rng.permutation(p)
    np.testing.assert_allclose(v.mahalanobis(moved)["mahalanobis_d2"], d2, rtol=1e-8,
                               atol=1e-8)
    np.testing.assert_allclose(v.mahalanobis(items.iloc[:, perm])["mahalanobis_d2"], d2,
                               rtol=1e-8, atol=1e-8)
    assert (d2 >= -1e-9).all()
    # with complete data, D^2 is the textbook (x - mean)' S^-1 (x - mean)
    c = items.to_numpy() - items.to_numpy().mean(axis=0)
    ref = np.einsum("ij,jk,ik->i", c, np.linalg.inv(np.cov(items.to_numpy().T)), c)
    np.testing.assert_allclose(d2, ref, rtol=1e-8, atol=1e-8)
