"""Issue 16 oracles: the 2x2 figures against epiR::epi.tests, AUC / DeLong and optimal cut-offs
against pROC, and Begg-Greenes against the hepatic scintigraphy worked example (hand formulas of
Begg & Greenes 1983 / Zhou 1994 and PVBcorrect::acc_bg). R is not needed: the R output is
recorded in tests/oracles/accuracy_oracles.csv by tests/oracles/make_accuracy_oracles.R.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xinli_screen.evaluation.accuracy import (
    TwoByTwo,
    clopper_pearson,
    two_by_two,
    two_by_two_measures,
    wilson,
)
from xinli_screen.evaluation.roc import auc_delong, optimal_cutoff, roc_curve
from xinli_screen.evaluation.verification import begg_greenes

HERE = Path(__file__).parent / "oracles"
ORACLES = pd.read_csv(HERE / "accuracy_oracles.csv")
NHANES = pd.read_csv(HERE / "nhanes_accuracy.csv")
ROGERS = Path(__file__).resolve().parents[2] / "shared" / "data" / "mpsychor_rogers_qids_ybocs" \
    / "Rogers.csv"
R_STATS = {"se": "sensitivity", "sp": "specificity", "pv.pos": "ppv", "pv.neg": "npv",
           "lr.pos": "lr_pos", "lr.neg": "lr_neg"}


def _r(dataset: str, subset: str, quantity: str) -> float:
    hit = ORACLES[(ORACLES["dataset"] == dataset) & (ORACLES["subset"] == subset)
                  & (ORACLES["quantity"] == quantity)]
    assert len(hit) == 1, (dataset, subset, quantity)
    return float(hit["value"].iloc[0])


def _rogers() -> pd.DataFrame:
    if not ROGERS.exists():
        pytest.skip("../shared/data/mpsychor_rogers_qids_ybocs is absent (GPL data, not copied)")
    rg = pd.read_csv(ROGERS)
    mx = np.maximum
    q = (mx.reduce([rg.onset, rg.middle, rg.late, rg.hypersom]) + rg.sad
         + mx.reduce([rg.decappetite, rg.incappetite, rg.weightloss, rg.weightgain])
         + rg.concen + rg.guilt + rg.suicide + rg.anhedonia + rg.fatigue
         + mx(rg.retard, rg.agitation))
    yb = rg[["obtime", "obinterfer", "obdistress", "obresist", "obcontrol", "comptime",
             "compinterf", "compdis", "compresis", "compcont"]].sum(axis=1)
    return pd.DataFrame({"score": q, "crit": (yb >= 24).astype(int)})


def _data(dataset: str, subset: str) -> tuple[pd.Series, pd.Series]:
    if dataset == "rogers":
        d = _rogers()
        return d["score"], d["crit"]
    d = NHANES if subset == "all" else NHANES[NHANES["sex"] == subset]
    return (d["phq2"] if dataset == "nhanes_phq2" else d["phq9"]), d["impaired"]


BLOCKS = [("nhanes", "all"), ("nhanes", "female"), ("nhanes", "male"), ("nhanes_phq2", "all"),
          ("rogers", "all")]


@pytest.mark.parametrize(("dataset", "subset"), BLOCKS)
def test_auc_and_delong_ci_match_proc(dataset: str, subset: str) -> None:
    score, crit = _data(dataset, subset)
    res = auc_delong(score.to_numpy(float), crit.to_numpy(float))
    assert res.n_cases == _r(dataset, subset, "n_cases")
    assert res.auc == pytest.approx(_r(dataset, subset, "auc"), abs=1e-12)
    assert res.variance == pytest.approx(_r(dataset, subset, "auc_var_delong"), rel=1e-9)
    assert res.lower == pytest.approx(_r(dataset, subset, "auc_lower"), abs=1e-10)
    assert res.upper == pytest.approx(_r(dataset, subset, "auc_upper"), abs=1e-10)


def _observed_above(score: pd.Series, mid: float) -> float:
    """pROC reports midpoints between observed scores; ours is the observed score above."""
    return float(np.sort(score.unique())[np.searchsorted(np.sort(score.unique()), mid)])


@pytest.mark.parametrize(("dataset", "subset"), BLOCKS)
def test_youden_and_cost_cutoffs_match_proc(dataset: str, subset: str) -> None:
    score, crit = _data(dataset, subset)
    y = optimal_cutoff(score, crit, n_boot=0)
    assert y.threshold == _observed_above(score, _r(dataset, subset, "youden_threshold_mid"))
    assert y.sensitivity == pytest.approx(_r(dataset, subset, "youden_sensitivity"), abs=1e-12)
    assert y.specificity == pytest.approx(_r(dataset, subset, "youden_specificity"), abs=1e-12)
    c = optimal_cutoff(score, crit, criterion="cost", cost=_r(dataset, subset, "cost_weight"),
                       n_boot=0)
    assert c.prevalence == pytest.approx(_r(dataset, subset, "cost_prevalence"), abs=1e-15)
    assert c.threshold == _observed_above(score, _r(dataset, subset, "cost_threshold_mid"))
    assert c.sensitivity == pytest.approx(_r(dataset, subset, "cost_sensitivity"), abs=1e-12)
    assert c.specificity == pytest.approx(_r(dataset, subset, "cost_specificity"), abs=1e-12)


@pytest.mark.parametrize(("dataset", "subset"), BLOCKS)
@pytest.mark.parametrize("method", ["wilson", "exact"])
def test_two_by_two_matches_epir(dataset: str, subset: str, method: str) -> None:
    score, crit = _data(dataset, subset)
    table = two_by_two((score >= _r(dataset, subset, "cut")).to_numpy(), crit.to_numpy())
    assert (table.tp, table.fp, table.fn, table.tn) == tuple(
        _r(dataset, subset, k) for k in ("tp", "fp", "fn", "tn"))
    got = two_by_two_measures(table, method=method)
    for r_name, ours in R_STATS.items():
        for col, suffix in (("estimate", "est"), ("lower", "lower"), ("upper", "upper")):
            want = _r(dataset, subset, f"{method}_{r_name}_{suffix}")
            assert got.loc[ours, col] == pytest.approx(want, abs=1e-9), (ours, col)


def test_bootstrap_interval_brackets_the_cutoff_and_is_seeded() -> None:
    a = optimal_cutoff(NHANES["phq9"], NHANES["impaired"], n_boot=300, seed=1)
    b = optimal_cutoff(NHANES["phq9"], NHANES["impaired"], n_boot=300, seed=1)
    assert (a.threshold, a.lower, a.upper) == (b.threshold, b.lower, b.upper)
    assert a.lower <= a.threshold <= a.upper


def test_roc_curve_ends_and_direction() -> None:
    score = np.array([1, 2, 3, 4, 5, 6.0])
    ref = np.array([0, 0, 1, 0, 1, 1.0])
    curve = roc_curve(score, ref)
    assert curve["sensitivity"].iloc[0] == 1 and curve["specificity"].iloc[0] == 0
    assert curve["sensitivity"].iloc[-1] == 0 and curve["specificity"].iloc[-1] == 1
    assert auc_delong(-score, ref, direction=">").auc == pytest.approx(
        auc_delong(score, ref).auc)


def test_intervals_edge_cases() -> None:
    lo, hi = clopper_pearson(np.array([0, 10]), np.array([10, 10]))
    assert lo[0] == 0 and hi[1] == 1
    assert np.isnan(wilson(0, 0)[0])
    m = two_by_two_measures(TwoByTwo(5, 3, 0, 0))
    assert np.isnan(m.loc["npv", "estimate"]) and np.isnan(m.loc["lr_neg", "estimate"])


def _hepatic() -> tuple[np.ndarray, np.ndarray]:
    counts = [(1, 1, 231), (1, 0, 32), (1, np.nan, 166), (0, 1, 27), (0, 0, 54),
              (0, np.nan, 140)]
    test = np.concatenate([np.full(k, t, float) for t, _, k in counts])
    dis = np.concatenate([np.full(k, d, float) for _, d, k in counts])
    return test, dis


def test_begg_greenes_reproduces_the_hepatic_worked_example() -> None:
    test, dis = _hepatic()
    res = begg_greenes(test, dis).measures
    for ours, r in (("sensitivity", "Sn"), ("specificity", "Sp"), ("ppv", "PPV"), ("npv", "NPV")):
        assert res.loc[ours, "estimate"] == pytest.approx(
            _r("hepatic", "PVBcorrect::acc_bg", f"est_{r}"), abs=1e-14)
        assert res.loc[ours, "se"] == pytest.approx(
            _r("hepatic", "PVBcorrect::acc_bg", f"se_{r}"), abs=1e-12)
    assert res.loc["sensitivity", "estimate"] == pytest.approx(
        _r("hepatic", "formula", "sensitivity"), abs=1e-14)
    # the corrected figures to three decimals (0.836, 0.738; naive 0.895, 0.628)
    assert round(res.loc["sensitivity", "estimate"], 3) == 0.836
    assert round(res.loc["specificity", "estimate"], 3) == 0.738
    naive = two_by_two_measures(two_by_two(test, dis))
    assert naive.loc["sensitivity", "estimate"] == pytest.approx(
        _r("hepatic", "formula", "naive_sensitivity"))
    assert naive.loc["specificity", "estimate"] == pytest.approx(
        _r("hepatic", "formula", "naive_specificity"))


def test_begg_greenes_refuses_without_verified_screen_negatives() -> None:
    test = np.array([1] * 20 + [0] * 50, float)
    dis = np.array([1] * 8 + [0] * 8 + [np.nan] * 4 + [np.nan] * 50)
    res = begg_greenes(test, dis).measures
    for m in ("sensitivity", "specificity", "npv", "lr_pos", "lr_neg", "prevalence"):
        assert np.isnan(res.loc[m, "estimate"])
        assert "screen-negative" in res.loc[m, "reason"]
    assert res.loc["ppv", "estimate"] == pytest.approx(0.5)


def test_begg_greenes_strata_equal_the_pooled_version_when_verification_is_uniform() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    dis = rng.random(n) < 0.1
    test = np.where(dis, rng.random(n) < 0.8, rng.random(n) < 0.2)
    stratum = rng.integers(0, 3, n)
    ver = rng.random(n) < np.where(test, 0.9, 0.1)
    ref = np.where(ver, dis.astype(float), np.nan)
    a = begg_greenes(test, ref).measures
    b = begg_greenes(test, ref, strata=stratum).measures
    assert a.loc["sensitivity", "estimate"] == pytest.approx(
        b.loc["sensitivity", "estimate"], abs=0.03)
    # verification that depends on a stratum: only the stratified correction is unbiased
    ver2 = rng.random(n) < np.where(test, np.where(stratum == 2, 0.95, 0.2), 0.1)
    ref2 = np.where(ver2, dis.astype(float), np.nan)
    true_sens = (test & dis).sum() / dis.sum()
    c = begg_greenes(test, ref2, strata=stratum).measures
    lo, hi = c.loc["sensitivity", ["lower", "upper"]]
    assert lo <= true_sens <= hi


def test_ipw_auc_is_the_weighted_mann_whitney_statistic() -> None:
    from xinli_screen.evaluation.roc import auc_ipw

    rng = np.random.default_rng(4)
    n = 600
    dis = rng.random(n) < 0.2
    score = np.round(rng.normal(dis * 1.0, 1.0), 1)      # ties on purpose
    cell = np.where(score > 0.8, 1, 0) + 2 * (rng.random(n) < 0.3)
    share = np.array([0.2, 0.9, 0.3, 0.95])[cell]
    ver = rng.random(n) < share
    ref = np.where(ver, dis.astype(float), np.nan)
    est, lo, hi = auc_ipw(score, ref, cell, n_boot=100)
    n_cell, v_cell = np.bincount(cell), np.bincount(cell[ver], minlength=4)
    w = n_cell[cell] / v_cell[cell]
    c, k = ver & dis, ver & ~dis
    psi = (score[c][:, None] > score[k][None, :]) + 0.5 * (score[c][:, None] == score[k][None, :])
    brute = (w[c][:, None] * w[k][None, :] * psi).sum() / (w[c].sum() * w[k].sum())
    assert est == pytest.approx(brute, abs=1e-12)
    assert lo < est < hi
    # a cell with pupils but no verified pupil: not estimable
    ref2 = ref.copy()
    ref2[cell == 3] = np.nan
    assert np.isnan(auc_ipw(score, ref2, cell, n_boot=0)[0])


def test_begg_greenes_never_pools_an_unverified_stratum() -> None:
    """A screen-negative stratum with pupils and no verified pupil (e.g. the unlisted pupils
    below a cut-off, when only listed pupils were interviewed) leaves sensitivity,
    specificity and NPV not estimable: the listed pupils below the cut-off must not stand in
    for the unlisted ones."""
    # screen-negative: 30 listed pupils (stratum "listed", all verified, 10 cases) and 2000
    # unlisted (stratum "none", none verified); screen-positive: 40 listed, all verified
    test = np.array([0] * 30 + [0] * 2000 + [1] * 40, float)
    strata = np.array(["listed"] * 30 + ["none"] * 2000 + ["listed"] * 40, dtype=object)
    ref = np.array([1.0] * 10 + [0.0] * 20 + [np.nan] * 2000 + [1.0] * 25 + [0.0] * 15)
    res = begg_greenes(test, ref, strata=strata)
    for m in ("sensitivity", "specificity", "npv", "lr_pos", "lr_neg", "prevalence"):
        assert np.isnan(res.measures.loc[m, "estimate"]), m
        assert "no verified pupil" in res.measures.loc[m, "reason"], m
        assert "2000 pupils" in res.measures.loc[m, "reason"], m
    assert res.measures.loc["ppv", "estimate"] == pytest.approx(25 / 40)
    assert res.measures.loc["ppv", "reason"] == ""
    assert res.cells["unverified"].sum() == 1
    assert any("never pooled" in n for n in res.notes)


def test_suppress_cells_leaves_no_count_recomputable_from_a_total() -> None:
    from xinli_screen.evaluation.accuracy_report import suppress_cells

    # n_verified, tp, fp, fn, tn per school
    counts = np.array([[40, 20, 10, 3, 7], [30, 10, 12, 0, 8], [25, 9, 8, 2, 6],
                       [3, 3, 0, 0, 0], [60, 30, 20, 6, 4]], float)
    hidden = suppress_cells(counts, min_cell=5)
    assert hidden[0, 3] and hidden[2, 3] and hidden[4, 4]      # primary
    _assert_not_recomputable(counts, hidden)


def _assert_not_recomputable(counts: np.ndarray, hidden: np.ndarray) -> None:
    for r in range(counts.shape[0]):
        if hidden[r].any():
            assert hidden[r].sum() >= 2, (r, hidden[r])
    for j in range(counts.shape[1]):
        if hidden[:, j].any():
            assert hidden[:, j].sum() >= 2, (j, hidden[:, j])
    # nothing small is shown
    shown = counts[~hidden]
    assert ((shown == 0) | (shown >= 5)).all()


def test_suppress_cells_hides_a_zero_when_nothing_else_protects() -> None:
    from xinli_screen.evaluation.accuracy_report import suppress_cells

    # fp: 2 in one grade, 0 elsewhere; the district fp (2) would give it away
    counts = np.array([[40, 20, 2, 8, 10], [30, 10, 0, 8, 12], [25, 9, 0, 6, 10]], float)
    hidden = suppress_cells(counts, min_cell=5)
    assert hidden[0, 2] and hidden[:, 2].sum() >= 2
    _assert_not_recomputable(counts, hidden)


@pytest.mark.parametrize(("option", "value", "word"), [
    ("--cost", "0", "--cost"), ("--cost", "-1", "--cost"), ("--n-boot", "0", "--n-boot"),
    ("--min-cell", "1", "minimum cell size")])
def test_validate_screen_refuses_bad_options_up_front(cli, tmp_path, option, value,
                                                      word) -> None:
    run = cli("validate-screen", "--wave", "w", "--archive", tmp_path / "none.db", option,
              value)
    assert run.code == 2 and word in run.err
    assert not (tmp_path / "none.db").exists()
