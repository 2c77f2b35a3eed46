"""Independent oracle: the scoring engine against R psych::scoreItems on the 2800-row bfi data.

The expected scores were computed once with R (tests/oracles/make_oracles.R, R 4.2.2, psych 2.2.9)
and recorded as CSV fixtures, so this test never needs R. The bfi item data themselves are GPL
(psychTools) and are not part of this project: they are read from ../shared/data/psych_bfi and the
test is skipped when they are absent. See tests/oracles/README.md.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import xinli_screen as xs

TESTS = Path(__file__).resolve().parent
BFI_CSV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "psych_bfi" / "bfi.csv"
BFI_SHA256 = "bd121f22bf9cc1c9cfede86f476a47140fe13e49efbb023f3d1169491790697a"
INSTRUMENT = TESTS / "fixtures" / "bfi_test_instrument.yaml"
ORACLE_MEAN = TESTS / "oracles" / "bfi_scoreitems_mean_impute_none.csv"
ORACLE_SUM = TESTS / "oracles" / "bfi_scoreitems_sum_impute_none.csv"

SCALES = ["agree", "conscientious", "extraversion", "neuroticism", "openness"]
COLUMNS = [f"{d}{k}" for d in "ACENO" for k in range(1, 6)]  # A1..A5, C1..C5, ..., O1..O5

# Every score here is a mean (or sum) of at most five integers 1..6: R (rowMeans, long-double
# accumulation) and the engine (float64 matrix product, then one division) both get the exact
# integer sum and differ by at most the final rounding of one division (<= 1 ulp, ~9e-16 at 6).
# 1e-12 is far above that and far below the smallest real difference between two such means
# (1/20 = 0.05), so any keying or missing-data error fails while rounding never does.
ATOL = 1e-12

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(
        not BFI_CSV.is_file(),
        reason=f"bfi data not available at {BFI_CSV} (psychTools bfi, GPL: not shipped with the "
               "project; see tests/oracles/README.md)"),
]


@pytest.fixture(scope="module")
def inst() -> xs.Instrument:
    return xs.load_instrument(INSTRUMENT)


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    digest = hashlib.sha256(BFI_CSV.read_bytes()).hexdigest()
    assert digest == BFI_SHA256, (
        f"{BFI_CSV} is not the file the R oracles were computed from (sha256 {digest}); "
        "re-run tests/oracles/make_oracles.R if the data were deliberately replaced")
    data = pd.read_csv(BFI_CSV, dtype={"id": str})
    assert len(data) == 2800
    return data


@pytest.fixture(scope="module")
def responses(bfi: pd.DataFrame, inst: xs.Instrument) -> pd.DataFrame:
    item_of = dict(zip(COLUMNS, inst.item_ids, strict=True))
    assert all(item_of[c] == f"bfi_{c.lower()}" for c in COLUMNS)
    out = bfi.loc[:, COLUMNS].rename(columns=item_of).astype(float)
    out.index = pd.Index(bfi["id"], name="id")
    return out


def read_oracle(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"id": str}).set_index("id")


def engine_scores(responses: pd.DataFrame, inst: xs.Instrument) -> pd.DataFrame:
    scores = xs.score_instrument(responses, inst)
    return scores.loc[:, [f"bfi.{s}" for s in SCALES]].set_axis(SCALES, axis=1)


def assert_matches(got: pd.DataFrame, want: pd.DataFrame, what: str) -> None:
    assert list(got.index) == list(want.index), f"{what}: respondent ids/order differ"
    g, w = got.to_numpy(dtype=float), want.loc[:, SCALES].to_numpy(dtype=float)
    bad = ~((np.isnan(g) & np.isnan(w)) | (np.abs(g - w) <= ATOL))
    if bad.any():
        rows, cols = np.nonzero(bad)
        lines = [f"id {got.index[r]} {SCALES[c]}: engine {g[r, c]!r}, R psych {w[r, c]!r}"
                 for r, c in zip(rows[:20], cols[:20], strict=True)]
        pytest.fail(f"{what}: {int(bad.sum())} of {bad.size} scores differ by more than {ATOL}:\n"
                    + "\n".join(lines))


def test_means_match_psych_scoreitems_impute_none(
        responses: pd.DataFrame, inst: xs.Instrument) -> None:
    want = read_oracle(ORACLE_MEAN)
    assert len(want) == 2800 and not want[SCALES].isna().any().any()
    assert_matches(engine_scores(responses, inst), want, "mean scales vs psych impute='none'")


def test_prepare_responses_path_gives_the_same_scores(
        bfi: pd.DataFrame, inst: xs.Instrument) -> None:
    columns = dict(zip(inst.item_ids, COLUMNS, strict=True))
    prepared = xs.prepare_responses(bfi, [inst], columns=columns, id_column="id")
    assert prepared.failures.empty
    assert list(prepared.ids) == list(bfi["id"])
    got = engine_scores(prepared.responses, inst).set_axis(pd.Index(prepared.ids), axis=0)
    assert_matches(got, read_oracle(ORACLE_MEAN), "prepare_responses + score_instrument")


def test_sums_match_psych_totals_on_complete_scales(
        responses: pd.DataFrame, inst: xs.Instrument) -> None:
    """psych totals=TRUE, impute='none' sums the *answered* keyed items (rowSums(na.rm=TRUE)):
    no proration, and 0 for a scale with no answer. The engine's sum scale without proration
    scores only complete scales, so the two agree exactly where every item is answered and the
    engine must give NaN (not psych's partial sum) elsewhere."""
    as_sum = xs.Instrument.model_validate({
        **inst.model_dump(),
        "scales": [{**s.model_dump(), "method": "sum", "min_answered": None, "prorate": False}
                   for s in inst.scales],
    })
    want = read_oracle(ORACLE_SUM)
    scores = xs.score_instrument(responses, as_sum)
    n_engine = scores.loc[:, [f"bfi.{s}.n_answered" for s in SCALES]].to_numpy()
    n_psych = want.loc[:, [f"n_{s}" for s in SCALES]].to_numpy()
    np.testing.assert_array_equal(n_engine, n_psych)
    complete = n_psych == 5
    assert 0 < (~complete).sum() < complete.sum()
    got = engine_scores(responses, as_sum).to_numpy()
    w = want.loc[:, SCALES].to_numpy(dtype=float)
    np.testing.assert_allclose(got[complete], w[complete], rtol=0, atol=ATOL)
    assert np.isnan(got[~complete]).all()


# Published-in-research values (/work/shared/research/anchors.md, section d.2): psych::scoreItems
# on bfi, first three respondents (complete, so any imputation gives the same means) and
# respondent 61759 (A2 missing): agree 4.75 with impute = "none" (4.80 with median imputation).
ANCHOR_MEANS = {
    "61617": (4.0, 2.8, 3.8, 2.8, 3.0),
    "61618": (4.2, 4.0, 5.0, 3.8, 4.0),
    "61620": (3.8, 4.0, 4.2, 3.6, 4.8),
}


def test_research_anchor_values(responses: pd.DataFrame, inst: xs.Instrument) -> None:
    got = engine_scores(responses, inst)
    assert list(got.index[:3]) == list(ANCHOR_MEANS)
    for rid, means in ANCHOR_MEANS.items():
        np.testing.assert_allclose(got.loc[rid].to_numpy(), means, rtol=0, atol=ATOL)
    assert np.isnan(responses.loc["61759", "bfi_a2"])
    assert got.loc["61759", "agree"] == pytest.approx(4.75, abs=ATOL)
    oracle = read_oracle(ORACLE_MEAN)
    for rid, means in ANCHOR_MEANS.items():
        np.testing.assert_allclose(oracle.loc[rid, SCALES].to_numpy(dtype=float), means,
                                   rtol=0, atol=ATOL)
    assert oracle.loc["61759", "agree"] == pytest.approx(4.75, abs=ATOL)


def test_fixture_instrument_test_vectors(inst: xs.Instrument) -> None:
    assert inst.test_vectors
    for tv in inst.test_vectors:
        row = {i: tv.answers.get(i) for i in inst.item_ids}
        data = pd.DataFrame([row], columns=list(inst.item_ids), dtype=float)
        scores = xs.score_instrument(data, inst)
        for scale, expected in tv.expected_scores.items():
            value = scores.loc[0, f"bfi.{scale}"]
            if expected is None:
                assert np.isnan(value), (tv.description, scale)
            else:
                assert value == pytest.approx(expected, abs=ATOL), (tv.description, scale)
