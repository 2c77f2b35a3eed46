"""Factor analysis: oracle tests against R psych 2.2.9 / lavaan 0.6.14 on bfi, and behaviour.

Oracle values: tests/oracles/bfi_factor_oracles.csv, written by
tests/oracles/make_reliability_oracles.R (psych::KMO, psych::cortest.bartlett, psych::fa,
lavaan::cfa). The bfi items are read from ../shared/data/psych_bfi (GPL, not shipped); those
tests are skipped when the file is absent.

Tolerances (stated per test):
- closed forms (KMO, Bartlett): 1e-6 absolute (relative 1e-9 for the chi-square ~2e4);
- iterative fits (EFA, CFA): 1e-3 absolute for loadings, correlations, indices, RMSEA and
  objective values; chi-square-type statistics (chi-square, BIC, AIC, log-likelihood, ~1e2 to
  2e5) relative 1e-5, tight enough that an off-by-one in n (relative ~4e-4) fails while
  optimiser noise (observed <= 5e-7) passes.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bfi_oracle import BFI_CSV, ITEMS25, NO_BFI, SCALES, needs_bfi, r_value, read_oracle

import xinli_screen as xs
from xinli_screen.factor import (
    AnalysisError,
    BartlettResult,
    CFAResult,
    EFAResult,
    FactorFitWarning,
    KMOResult,
    ScaleResults,
    bartlett_sphericity,
    cfa,
    efa,
    kmo,
)

TESTS = Path(__file__).resolve().parent
ORACLE = TESTS / "oracles" / "bfi_factor_oracles.csv"

CLOSED = 1e-6
ITER = 1e-3
CHI_RTOL = 1e-5

@pytest.fixture(scope="module")
def oracle() -> pd.DataFrame:
    return read_oracle(ORACLE)


# ---------------------------------------------------------------------------------------------
# oracles


@pytest.mark.parametrize("missing", ["pairwise", "listwise"])
class TestKMOBartlettOracle:
    pytestmark = needs_bfi

    def test_kmo(self, bfi, oracle, missing):
        res = kmo(bfi[ITEMS25], missing=missing)
        assert isinstance(res, KMOResult)
        assert res.msa == pytest.approx(r_value(oracle, "kmo", "big5", missing, "MSA"),
                                        abs=CLOSED)
        expected = [r_value(oracle, "kmo", "big5", missing, "MSAi", row=i) for i in ITEMS25]
        np.testing.assert_allclose(res.items["msa"], expected, rtol=0, atol=CLOSED)
        assert res.missing == missing

    def test_bartlett(self, bfi, oracle, missing):
        res = bartlett_sphericity(bfi[ITEMS25], missing=missing)
        assert isinstance(res, BartlettResult)
        assert res.chi_square == pytest.approx(
            r_value(oracle, "bartlett", "big5", missing, "chisq"), rel=1e-9)
        assert res.df == r_value(oracle, "bartlett", "big5", missing, "df")
        assert res.n_obs == r_value(oracle, "bartlett", "big5", missing, "n.obs")
        assert res.p_value == pytest.approx(
            r_value(oracle, "bartlett", "big5", missing, "p.value"), abs=CLOSED)


EFA_CASES = [("big5_minres_oblimin_5f", 5, "minres", "oblimin", "pairwise"),
             ("big5_minres_oblimin_5f", 5, "minres", "oblimin", "listwise"),
             ("big5_ml_varimax_5f", 5, "ml", "varimax", "pairwise"),
             ("big5_minres_promax_5f", 5, "minres", "promax", "pairwise"),
             ("big5_minres_none_3f", 3, "minres", None, "pairwise")]


@pytest.mark.parametrize(("case", "n_factors", "method", "rotation", "missing"), EFA_CASES,
                         ids=[f"{c[0]}-{c[4]}" for c in EFA_CASES])
@pytest.mark.shared_data
@pytest.mark.skipif(not BFI_CSV.is_file(), reason=NO_BFI)
def test_efa_oracle(bfi, oracle, case, n_factors, method, rotation, missing):
    res = efa(bfi[ITEMS25], n_factors, method=method, rotation=rotation, missing=missing)
    assert isinstance(res, EFAResult)
    sub = oracle[(oracle.family == "efa") & (oracle.case == case)
                 & (oracle.missing == missing) & (oracle.statistic == "loadings")]
    r_factors = list(dict.fromkeys(sub["col"]))
    expected = np.array([[r_value(oracle, "efa", case, missing, "loadings", row=i, col=f)
                          for f in r_factors] for i in ITEMS25])
    # same signs and factor order as psych::fa (both sorted by variance accounted for)
    np.testing.assert_allclose(res.loading_matrix().to_numpy(), expected, rtol=0, atol=ITER)
    np.testing.assert_allclose(
        res.loadings["h2"], [r_value(oracle, "efa", case, missing, "communality", row=i)
                             for i in ITEMS25], rtol=0, atol=ITER)
    if rotation in ("oblimin", "promax"):
        phi = np.array([[r_value(oracle, "efa", case, missing, "Phi", row=a, col=b)
                         for b in r_factors] for a in r_factors])
        names = [f"F{j + 1}" for j in range(n_factors)]
        np.testing.assert_allclose(res.factor_correlations[names].to_numpy(), phi, rtol=0,
                                   atol=ITER)
    for ours, theirs in {"objective": "objective", "tli": "TLI", "rmsea": "RMSEA",
                         "rms": "rms", "crms": "crms", "fit": "fit", "fit_off": "fit.off"
                         }.items():
        assert getattr(res, ours) == pytest.approx(
            r_value(oracle, "efa", case, missing, theirs), abs=ITER), ours
    assert res.rmsea_ci == pytest.approx(
        (r_value(oracle, "efa", case, missing, "RMSEA.lower"),
         r_value(oracle, "efa", case, missing, "RMSEA.upper")), abs=ITER)
    chisq = r_value(oracle, "efa", case, missing, "STATISTIC")
    for ours, theirs in {"chi_square": "STATISTIC", "empirical_chi_square": "chi",
                         "null_chi_square": "null.chisq"}.items():
        assert getattr(res, ours) == pytest.approx(
            r_value(oracle, "efa", case, missing, theirs), rel=CHI_RTOL), ours
    # BIC = chi-square - df ln n can be small: its error is the chi-square's error
    assert res.bic == pytest.approx(r_value(oracle, "efa", case, missing, "BIC"),
                                    abs=CHI_RTOL * chisq)
    assert res.df == r_value(oracle, "efa", case, missing, "dof")
    assert res.n_obs == r_value(oracle, "efa", case, missing, "n.obs")
    ss = [r_value(oracle, "efa", case, missing, "SS.loadings", row=f) for f in r_factors]
    np.testing.assert_allclose(res.variance["ss_loadings"], ss, rtol=0, atol=ITER)


CFA_CASES = {"agree_consc": ["agree", "conscientious"], "big5": list(SCALES)}


@pytest.mark.parametrize("case", list(CFA_CASES))
@pytest.mark.shared_data
@pytest.mark.skipif(not BFI_CSV.is_file(), reason=NO_BFI)
def test_cfa_oracle_lavaan(bfi, oracle, case):
    model = {s: [f"{SCALES[s]}{k}" for k in range(1, 6)] for s in CFA_CASES[case]}
    with warnings.catch_warnings():
        warnings.simplefilter("error", FactorFitWarning)  # must converge
        res = cfa(bfi, model)
    assert isinstance(res, CFAResult)
    for ours, theirs in {"cfi": "cfi", "tli": "tli", "rmsea": "rmsea", "srmr": "srmr"}.items():
        assert getattr(res, ours) == pytest.approx(
            r_value(oracle, "cfa", case, "listwise", theirs), abs=ITER), ours
    assert res.rmsea_ci == pytest.approx(
        (r_value(oracle, "cfa", case, "listwise", "rmsea.ci.lower"),
         r_value(oracle, "cfa", case, "listwise", "rmsea.ci.upper")), abs=ITER)
    for ours, theirs in {"chi_square": "chisq", "baseline_chi_square": "baseline.chisq",
                         "log_likelihood": "logl", "aic": "aic", "bic": "bic"}.items():
        assert getattr(res, ours) == pytest.approx(
            r_value(oracle, "cfa", case, "listwise", theirs), rel=CHI_RTOL), ours
    for ours, theirs in {"df": "df", "baseline_df": "baseline.df", "n_parameters": "npar",
                         "n_obs": "ntotal"}.items():
        assert getattr(res, ours) == r_value(oracle, "cfa", case, "listwise", theirs), ours
    # lavaan fixes each factor's sign by its first loading; ours makes loadings sum >= 0
    flip = {}
    for factor, items in model.items():
        lav = np.array([r_value(oracle, "cfa", case, "listwise", "loading", row=i, col=factor)
                        for i in items])
        got = res.loadings[res.loadings["factor"] == factor].set_index("item").loc[items,
                                                                                  "loading"]
        flip[factor] = 1.0 if np.sign(lav.sum()) == np.sign(got.sum()) else -1.0
        np.testing.assert_allclose(got.to_numpy(), flip[factor] * lav, rtol=0, atol=ITER)
    ev = [r_value(oracle, "cfa", case, "listwise", "error_variance", row=i)
          for i in res.error_variances["item"]]
    np.testing.assert_allclose(res.error_variances["error_variance"], ev, rtol=0, atol=ITER)
    for _, row in res.factor_correlations.iterrows():
        lav = r_value(oracle, "cfa", case, "listwise", "factor_correlation",
                      row=row["factor_1"], col=row["factor_2"])
        assert row["r"] == pytest.approx(flip[row["factor_1"]] * flip[row["factor_2"]] * lav,
                                         abs=ITER)


@pytest.mark.shared_data
@pytest.mark.skipif(not BFI_CSV.is_file(), reason=NO_BFI)
def test_grouped_efa_and_kmo(bfi):
    res = kmo(bfi[[*ITEMS25, "gender"]], by="gender")
    assert isinstance(res, ScaleResults)
    assert list(res.table["gender"]) == [1, 2]
    men = kmo(bfi.loc[bfi["gender"] == 1, ITEMS25])
    assert res[1].msa == pytest.approx(men.msa, abs=1e-12)
    fits = efa(bfi[[*ITEMS25, "gender"]], 5, by="gender")
    assert set(fits.table.columns) >= {"gender", "tli", "rmsea", "chi_square", "error"}
    json.dumps(fits.to_dict())


# ---------------------------------------------------------------------------------------------
# behaviour on simulated data


def simulated(n: int = 600, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    phi = np.array([[1.0, 0.3], [0.3, 1.0]])
    f = rng.multivariate_normal([0, 0], phi, size=n)
    lam = np.zeros((8, 2))
    lam[:4, 0] = [0.8, 0.7, 0.6, 0.5]
    lam[4:, 1] = [0.75, 0.65, 0.55, 0.45]
    x = f @ lam.T + rng.standard_normal((n, 8)) * np.sqrt(1 - (lam ** 2).sum(axis=1))
    return pd.DataFrame(x, columns=[f"x{j + 1}" for j in range(8)]), lam


def test_cfa_recovers_the_generating_model():
    df, lam = simulated(n=3000)
    res = cfa(df, {"f1": ["x1", "x2", "x3", "x4"], "f2": ["x5", "x6", "x7", "x8"]})
    got = res.loadings["std_loading"].to_numpy()
    np.testing.assert_allclose(got, lam[lam != 0], atol=0.06)
    assert res.factor_correlations["r"].iloc[0] == pytest.approx(0.3, abs=0.06)
    assert res.df == 19 and res.cfi > 0.99 and res.rmsea < 0.03
    json.dumps(res.to_dict())
    assert "Confirmatory" in res._repr_html_()


def test_cfa_rejects_what_it_cannot_do():
    df, _ = simulated()
    model = {"f1": ["x1", "x2", "x3"]}
    with pytest.raises(AnalysisError, match="listwise"):
        cfa(df, model, missing="pairwise")
    with pytest.raises(AnalysisError, match="not item columns"):
        cfa(df, {"f1": ["x1", "x2", "zz"]})
    with pytest.raises(AnalysisError, match="model"):
        cfa(df)
    with pytest.raises(AnalysisError, match="at least 2"):
        cfa(df, {"f1": ["x1"]})


def test_cfa_on_data_with_missing_answers_uses_complete_cases():
    df, _ = simulated()
    df.iloc[::10, 0] = np.nan
    res = cfa(df, {"f1": ["x1", "x2", "x3", "x4"]})
    assert res.n_obs == 540 and res.missing == "listwise"


def test_missing_data_never_gives_a_silent_nan():
    df, _ = simulated(n=200)
    df.iloc[::4, 0] = np.nan
    for fn in (kmo, bartlett_sphericity):
        for missing in ("pairwise", "listwise"):
            res = fn(df, missing=missing)
            values = [res.msa] if isinstance(res, KMOResult) else [res.chi_square, res.p_value]
            assert np.isfinite(values).all()
            assert res.missing == missing
    with pytest.raises(AnalysisError, match="missing must be"):
        kmo(df, missing="impute")


def test_non_positive_definite_pairwise_matrix_is_refused():
    # three items whose pairwise correlations come from disjoint respondents: an impossible
    # correlation matrix (r12 = r13 = .9, r23 = -.9)
    rng = np.random.default_rng(0)
    n = 300
    z = rng.standard_normal((3, n))
    blocks = []
    for (i, j), r in {(0, 1): 0.9, (0, 2): 0.9, (1, 2): -0.9}.items():
        block = np.full((n, 3), np.nan)
        block[:, i] = z[0]
        block[:, j] = r * z[0] + np.sqrt(1 - r ** 2) * z[1]
        blocks.append(block)
    df = pd.DataFrame(np.vstack(blocks), columns=["a", "b", "c"])
    with pytest.raises(AnalysisError, match="positive definite") as err:
        kmo(df)
    assert "listwise" in str(err.value)
    with pytest.raises(AnalysisError):
        bartlett_sphericity(df)
    with pytest.raises(AnalysisError):
        efa(df, 1)


def test_singular_matrix_is_refused():
    df, _ = simulated()
    df["total"] = df[["x1", "x2", "x3"]].sum(axis=1)
    with pytest.raises(AnalysisError, match="singular"):
        kmo(df, missing="listwise")


@pytest.mark.parametrize("kwargs", [{"method": "pa"}, {"rotation": "quartimax"}])
def test_efa_argument_checks(kwargs):
    df, _ = simulated()
    with pytest.raises(AnalysisError):
        efa(df, 2, **kwargs)
    with pytest.raises(AnalysisError, match="n_factors"):
        efa(df, 8)
    with pytest.raises(AnalysisError, match="n_factors"):
        efa(df, 0)


def test_efa_recovers_two_factors_and_warns_on_underidentified_models():
    df, lam = simulated(n=3000)
    res = efa(df, 2, rotation="oblimin")
    got = res.loading_matrix().to_numpy()
    np.testing.assert_allclose(np.abs(got), lam, atol=0.07)
    assert res.factor_correlations["F2"].iloc[0] == pytest.approx(0.3, abs=0.07)
    vm = efa(df, 2, rotation="varimax", method="ml")
    np.testing.assert_allclose(vm.factor_correlations[["F1", "F2"]].to_numpy(), np.eye(2))
    with pytest.warns(FactorFitWarning, match="degrees of freedom"):
        efa(df[["x1", "x2", "x3", "x4"]], 3)


def test_instrument_items_are_used_and_keyed():
    inst = xs.load_instrument("gad7")
    rng = np.random.default_rng(2)
    trait = rng.standard_normal(400)
    x = np.clip(np.round(1.2 + trait[:, None] + rng.standard_normal((400, 7)) * 0.8), 0, 3)
    df = pd.DataFrame(x, columns=list(inst.item_ids)).assign(student="s")
    res = kmo(df, instrument=inst)
    assert isinstance(res, ScaleResults)
    assert res.table["n_items"].iloc[0] == 7
    fit = cfa(df, instrument="gad7")
    assert isinstance(fit, ScaleResults)
    assert fit.table["df"].iloc[0] == 14
