"""Validation of the engine on the real NHANES 2015-2018 PHQ-9 files (DPQ_I, DPQ_J).

Oracles, strongest first:

1. the NCHS codebook frequency counts (published; codes 0/1/2/3/7/9/missing per item), which
   the parsed responses must reproduce exactly (7, 9 and empty all become missing);
2. the figures computed for this project in the shared ``SOURCE.md`` (complete protocols,
   total >= 10, severity bands, weighted prevalence);
3. a recount with plain pandas inside the test (per respondent).

The shared data live outside the repository (``../shared/data/nhanes_phq9_2015_2018``); tests
that need them are marked ``shared_data`` and skipped when the folder is absent. The bundled
sample (``xinli_screen/data/nhanes_dpq_j.csv``, the full DPQ_J) is checked against the published
DPQ_J codebook without the shared data. Failure messages give counts, never respondent data.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen.io import read_column_map, read_table
from xinli_screen.policy.models import TIER_ORDER
from xinli_screen.responses import NOTE_CODES

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nhanes_phq9_2015_2018"
HAVE_DATA = all((DATA / f"{kind}_{c}.csv").is_file() for kind in ("DPQ", "DEMO") for c in "IJ")
needs_data = [
    pytest.mark.shared_data,
    pytest.mark.skipif(not HAVE_DATA, reason=f"shared NHANES data not found at {DATA} (needs "
                       "DPQ_I/J.csv and DEMO_I/J.csv; see shared SOURCE.md)"),
]

PACKAGE_DATA = files("xinli_screen") / "data"
SAMPLE = Path(str(PACKAGE_DATA / "nhanes_dpq_j.csv"))
COLUMN_MAP = Path(str(PACKAGE_DATA / "nhanes_columns.yaml"))

SYMPTOMS = tuple(f"DPQ0{k}0" for k in range(1, 10))
DPQ_COLUMNS = ("SEQN", *SYMPTOMS, "DPQ100")
ITEM_OF = {f"DPQ0{k}0": f"phq9_0{k}" for k in range(1, 10)} | {"DPQ100": "phq9_10"}
CODES = ("0", "1", "2", "3", "7", "9", "missing")
BAND_IDS = ("minimal", "mild", "moderate", "moderately_severe", "severe")

#: NCHS codebook frequencies, codes 0/1/2/3/7/9/missing (NCHS documentation pages "Mental
#: Health - Depression Screener" DPQ_I, Dec 2017, and DPQ_J, Feb 2020; copied in SOURCE.md).
CODEBOOK: dict[str, dict[str, tuple[int, ...]]] = {
    "I": {
        "DPQ010": (3805, 852, 255, 239, 7, 6, 571),
        "DPQ020": (3920, 872, 210, 159, 3, 0, 571),
        "DPQ030": (3192, 1195, 355, 419, 1, 2, 571),
        "DPQ040": (2464, 1794, 465, 438, 1, 0, 573),
        "DPQ050": (3810, 867, 243, 238, 0, 4, 573),
        "DPQ060": (4319, 557, 147, 136, 1, 2, 573),
        "DPQ070": (4322, 523, 147, 167, 0, 2, 574),
        "DPQ080": (4612, 348, 100, 98, 0, 3, 574),
        "DPQ090": (4964, 126, 37, 30, 1, 3, 574),
        "DPQ100": (2751, 676, 105, 45, 0, 2, 2156),
    },
    "J": {
        "DPQ010": (3792, 816, 280, 198, 4, 4, 439),
        "DPQ020": (3865, 831, 224, 167, 2, 4, 440),
        "DPQ030": (3119, 1141, 383, 443, 3, 4, 440),
        "DPQ040": (2584, 1612, 457, 432, 3, 4, 441),
        "DPQ050": (3812, 778, 276, 221, 2, 3, 441),
        "DPQ060": (4237, 575, 147, 124, 3, 5, 442),
        "DPQ070": (4241, 517, 156, 172, 2, 3, 442),
        "DPQ080": (4541, 328, 120, 95, 2, 5, 442),
        "DPQ090": (4893, 136, 32, 24, 2, 3, 443),
        "DPQ100": (2480, 714, 132, 33, 1, 2, 2171),
    },
}
ROWS = {"I": 5735, "J": 5533}

#: Computed for this project (SOURCE.md, "Computed for this project").
SOURCE_FIGURES: dict[str, dict[str, object]] = {
    "I": {"complete": 5134, "ge10": 415, "bands": (3825, 894, 258, 102, 55), "any_7_9": 28,
          "all_missing": 571, "other_partial": 2, "prev_20plus": 7.44},
    "J": {"complete": 5068, "ge10": 459, "bands": (3772, 837, 292, 124, 43), "any_7_9": 23,
          "all_missing": 439, "other_partial": 3, "prev_20plus": 8.49},
}
#: SOURCE.md: pooled I+J, adults 20+, WTMEC2YR/2: n = 9,713, prevalence 7.98%.
POOLED_N_20PLUS, POOLED_PREV_20PLUS = 9713, 7.98
#: Cao et al. (NHANES 2015-2018, adults 20+): 8.0% (published; different analytic n).
PUBLISHED_PREV_20PLUS = 8.0


# ------------------------------------------------------------------ loading helpers


def _column_map() -> tuple[dict[str, str], tuple[float, ...]]:
    cmap = read_column_map(COLUMN_MAP)
    return cmap.columns, cmap.missing_codes


@functools.cache
def _shared(cycle: str) -> pd.DataFrame:
    """A shared DPQ file as pandas reads it by default (float64 columns, NaN = empty)."""
    return pd.read_csv(DATA / f"DPQ_{cycle}.csv")


@functools.cache
def _sample() -> pd.DataFrame:
    """The bundled sample, read with pandas (int / float columns)."""
    return pd.read_csv(SAMPLE)


def _source(name: str) -> tuple[str, pd.DataFrame]:
    """(cycle, raw frame) for ``"sample"``, ``"I"`` or ``"J"`` (copies: tests may not mutate)."""
    if name == "sample":
        return "J", _sample().copy()
    return name, _shared(name).copy()


@functools.cache
def _screened(cycle: str) -> xs.ScreeningResult:
    columns, _ = _column_map()
    return xs.screen(_shared(cycle).copy(), ["phq9"], id_column="SEQN", columns=columns,
                     missing_codes=(7, 9))


def _recount(raw: pd.DataFrame) -> pd.DataFrame:
    """Plain-pandas recount: category and total per row (input order)."""
    x = raw[list(SYMPTOMS)].astype("float64")
    valid = x.isin([0, 1, 2, 3])
    complete = valid.all(axis=1)
    refused = x.isin([7, 9]).any(axis=1)
    empty = x.isna().all(axis=1)
    category = np.select([complete, refused, empty], ["complete", "any_7_9", "all_missing"],
                         default="other_partial")
    total = x.sum(axis=1).where(complete)
    band = pd.cut(total, [-0.5, 4.5, 9.5, 14.5, 19.5, 27.5], labels=list(BAND_IDS))
    return pd.DataFrame({"category": category, "total": total,
                         "band": band.astype(object).where(complete, None),
                         "item9": x["DPQ090"]})


def _counts(series: pd.Series) -> tuple[int, ...]:
    """Codebook-style counts of one raw column: 0/1/2/3/7/9/missing."""
    s = series.astype("float64")
    return (*(int((s == c).sum()) for c in (0, 1, 2, 3, 7, 9)), int(s.isna().sum()))


SOURCES = [pytest.param("sample", id="bundled-sample-J"),
           pytest.param("I", id="shared-DPQ_I", marks=needs_data),
           pytest.param("J", id="shared-DPQ_J", marks=needs_data)]
CYCLES = [pytest.param(c, id=f"DPQ_{c}", marks=needs_data) for c in ("I", "J")]


# ------------------------------------------------------------------ the bundled sample


def test_bundled_column_map_is_the_nhanes_layout() -> None:
    columns, missing = _column_map()
    assert columns == {item: col for col, item in ITEM_OF.items()}
    assert sorted(missing) == [7.0, 9.0]


def test_bundled_sample_layout() -> None:
    sample = _sample()
    assert tuple(sample.columns) == DPQ_COLUMNS
    assert len(sample) == ROWS["J"]
    assert sample["SEQN"].is_unique and sample["SEQN"].notna().all()
    values = sample[list(DPQ_COLUMNS[1:])].stack().dropna()
    assert set(values.astype(int)) <= {0, 1, 2, 3, 7, 9}


@pytest.mark.parametrize("column", DPQ_COLUMNS[1:])
def test_bundled_sample_reproduces_published_dpq_j_codebook(column: str) -> None:
    assert _counts(_sample()[column]) == CODEBOOK["J"][column]


@pytest.mark.shared_data
@pytest.mark.skipif(not HAVE_DATA, reason=f"shared NHANES data not found at {DATA}")
def test_bundled_sample_identical_to_shared_dpq_j() -> None:
    sample = _sample().astype("Int64")
    shared = _shared("J")
    whole = shared.stack().dropna() % 1 == 0
    assert bool(whole.all()), f"{int((~whole).sum())} non-integer values in DPQ_J.csv"
    pd.testing.assert_frame_equal(sample, shared.astype("Int64"), check_dtype=True)


# ------------------------------------------------------------------ published codebook


@pytest.mark.parametrize("cycle", CYCLES)
def test_shared_file_reproduces_published_codebook(cycle: str) -> None:
    raw = _shared(cycle)
    assert len(raw) == ROWS[cycle]
    got = {col: _counts(raw[col]) for col in DPQ_COLUMNS[1:]}
    assert got == CODEBOOK[cycle]


@pytest.mark.parametrize("reader", ["pandas", "cli-text"])
@pytest.mark.parametrize("source", SOURCES)
def test_parsed_responses_reproduce_codebook(source: str, reader: str) -> None:
    """prepare_responses: codes 0-3 counted as published; 7, 9 and empty all become NaN."""
    cycle, raw = _source(source)
    if reader == "cli-text":  # every cell as text, exactly as ``xinli-screen score`` reads it
        path = SAMPLE if source == "sample" else DATA / f"DPQ_{cycle}.csv"
        raw, _ = read_table(path)
    columns, missing = _column_map()
    prepared = xs.prepare_responses(raw, [xs.load_instrument("phq9")], columns=columns,
                                    id_column="SEQN", missing_codes=missing)
    bad = prepared.failures[~prepared.failures["code"].isin(NOTE_CODES)]  # notes say why
    assert len(bad) == 0, bad["code"].value_counts().to_dict()  # item 9 is missing
    assert len(prepared.responses) == ROWS[cycle]
    assert prepared.ids is not None and prepared.ids.is_unique
    for column, published in CODEBOOK[cycle].items():
        parsed = prepared.responses[ITEM_OF[column]]
        got = (*(int((parsed == c).sum()) for c in range(4)), int(parsed.isna().sum()))
        want = (*published[:4], sum(published[4:]))  # NaN = refused + don't know + missing
        assert got == want, f"{column}: parsed 0/1/2/3/NaN {got}, codebook {want}"


@pytest.mark.parametrize("source", SOURCES)
def test_without_missing_codes_7_and_9_are_out_of_range(source: str) -> None:
    """Undeclared, 7 and 9 are not PHQ-9 codes: one failure per such cell, row invalid."""
    cycle, raw = _source(source)
    columns, _ = _column_map()
    result = xs.screen(raw, ["phq9"], id_column="SEQN", columns=columns)
    bad = result.failures[~result.failures["code"].isin(NOTE_CODES)]  # not the item-9 notes
    per_item = bad.groupby("column")["code"].agg(lambda s: (len(s), set(s)))
    for column, published in CODEBOOK[cycle].items():
        n_79 = published[4] + published[5]
        got = per_item.get(column, (0, set()))
        assert got[0] == n_79, f"{column}: {got[0]} failures, codebook 7+9 = {n_79}"
        assert got[1] <= {"out-of-range"}
    any_79 = raw[list(DPQ_COLUMNS[1:])].isin([7, 9]).any(axis=1)
    assert int((result.table["status"] == "invalid").sum()) == int(any_79.sum())


# ------------------------------------------------------------------ SOURCE.md figures


@pytest.mark.parametrize("cycle", CYCLES)
def test_screen_reproduces_source_figures(cycle: str) -> None:
    want = SOURCE_FIGURES[cycle]
    table = _screened(cycle).table
    assert len(table) == ROWS[cycle]
    total = table["phq9.total"]
    assert int(total.notna().sum()) == want["complete"]
    assert int((table["status"] == "scored").sum()) == want["complete"]
    assert int((total >= 10).sum()) == want["ge10"]
    assert int(table["phq9.total.screen_positive"].fillna(False).sum()) == want["ge10"]
    bands = table["phq9.total.band"].value_counts()
    assert tuple(int(bands.get(b, 0)) for b in BAND_IDS) == want["bands"]
    assert int(table["phq9.total.band"].isna().sum()) == ROWS[cycle] - want["complete"]


@pytest.mark.parametrize("cycle", CYCLES)
def test_recount_categories_match_source(cycle: str) -> None:
    """The in-test recount itself agrees with SOURCE.md (so it can serve as an oracle)."""
    cats = _recount(_shared(cycle))["category"].value_counts()
    want = SOURCE_FIGURES[cycle]
    for cat in ("complete", "any_7_9", "all_missing", "other_partial"):
        assert int(cats.get(cat, 0)) == want[cat], cat


@pytest.mark.parametrize("cycle", CYCLES)
def test_screen_matches_plain_pandas_recount_per_respondent(cycle: str) -> None:
    raw = _shared(cycle)
    ref = _recount(raw)
    table = _screened(cycle).table
    assert len(table) == len(raw)
    seqn = raw["SEQN"].astype("int64").astype(str).to_numpy()
    n_order = int((table["SEQN"].to_numpy(dtype=object) != seqn).sum())
    assert n_order == 0, f"{n_order} rows out of input order"
    complete = (ref["category"] == "complete").to_numpy()
    got = table["phq9.total"].to_numpy(dtype=float)
    n_diff = int((got[complete] != ref["total"].to_numpy(dtype=float)[complete]).sum())
    assert n_diff == 0, f"{n_diff} of {int(complete.sum())} complete totals differ"
    n_extra = int((~np.isnan(got[~complete])).sum())
    assert n_extra == 0, f"{n_extra} non-complete rows have a total"
    band_got = table["phq9.total.band"].fillna("-").to_numpy(dtype=object)
    band_ref = ref["band"].fillna("-").to_numpy(dtype=object)
    assert int((band_got != band_ref).sum()) == 0
    status_scored = (table["status"] == "scored").to_numpy()
    assert int((status_scored != complete).sum()) == 0


@pytest.mark.parametrize("cycle", CYCLES)
def test_item9_rows_are_flagged(cycle: str) -> None:
    """Every row with DPQ090 in 1-3 gets a tier above none and a reason naming phq9_09."""
    raw = _shared(cycle)
    result = _screened(cycle)
    table = result.table
    published = CODEBOOK[cycle]["DPQ090"]
    item9 = raw["DPQ090"].isin([1, 2, 3]).to_numpy()
    assert int(item9.sum()) == sum(published[1:4])
    tier = table["warning_tier"].astype(str).to_numpy()
    floor = TIER_ORDER.index(xs.load_policy("default").policy.critical_item_tier)
    rank = np.array([TIER_ORDER.index(t) for t in tier])
    assert int((item9 & (tier == "none")).sum()) == 0
    assert int((item9 & (rank < floor)).sum()) == 0
    codes = table["reason_codes"].fillna("").str.split(";")
    has_code = codes.map(lambda c: "phq9.self_harm_thoughts" in c).to_numpy(dtype=bool)
    names_item = table["reasons"].fillna("").str.contains("phq9_09", regex=False).to_numpy()
    critical = table["critical_items"].fillna("").str.contains("phq9.self_harm_thoughts",
                                                                regex=False).to_numpy()
    assert int((item9 & ~has_code).sum()) == 0
    assert int((item9 & ~names_item).sum()) == 0
    assert int((item9 & ~critical).sum()) == 0
    assert int((~item9 & critical).sum()) == 0, "critical flag without DPQ090 in 1-3"
    long = result.reasons[result.reasons["rule"] == "phq9.self_harm_thoughts"]
    assert len(long) == int(item9.sum())
    assert long["reason_en"].str.contains("phq9_09", regex=False).all()


@pytest.mark.parametrize("cycle", CYCLES)
def test_screen_does_not_modify_the_input(cycle: str) -> None:
    raw = _shared(cycle).copy()
    before = raw.copy()
    columns, _ = _column_map()
    xs.screen(raw, ["phq9"], id_column="SEQN", columns=columns, missing_codes=(7, 9))
    pd.testing.assert_frame_equal(raw, before)


# ------------------------------------------------------------------ weighted prevalence


def _weighted_prevalence(cycles: tuple[str, ...], divisor: float) -> tuple[int, float]:
    """(n, % with PHQ-9 >= 10): adults 20+, engine totals, weight WTMEC2YR / divisor."""
    parts = []
    for cycle in cycles:
        table = _screened(cycle).table[["SEQN", "phq9.total"]].copy()
        table["SEQN"] = table["SEQN"].astype("int64")
        demo = pd.read_csv(DATA / f"DEMO_{cycle}.csv", usecols=["SEQN", "RIDAGEYR", "WTMEC2YR"])
        demo["SEQN"] = demo["SEQN"].astype("int64")
        merged = table.merge(demo, on="SEQN", how="left", validate="1:1")
        assert int(merged["WTMEC2YR"].isna().sum()) == 0, "DPQ rows without a DEMO row"
        parts.append(merged)
    data = pd.concat(parts, ignore_index=True)
    adults = data[(data["RIDAGEYR"] >= 20) & data["phq9.total"].notna()]
    w = adults["WTMEC2YR"] / divisor
    return len(adults), float(100 * (w * (adults["phq9.total"] >= 10)).sum() / w.sum())


@pytest.mark.shared_data
@pytest.mark.skipif(not HAVE_DATA, reason=f"shared NHANES data not found at {DATA}")
def test_weighted_prevalence_pooled_adults_20plus() -> None:
    n, prev = _weighted_prevalence(("I", "J"), divisor=2.0)
    assert n == POOLED_N_20PLUS
    assert round(prev, 2) == POOLED_PREV_20PLUS
    # published figure (Cao et al.): approximate oracle, different analytic sample
    assert abs(prev - PUBLISHED_PREV_20PLUS) < 0.1


@pytest.mark.parametrize("cycle", CYCLES)
def test_weighted_prevalence_per_cycle(cycle: str) -> None:
    _, prev = _weighted_prevalence((cycle,), divisor=1.0)
    assert round(prev, 2) == SOURCE_FIGURES[cycle]["prev_20plus"]
