"""DIF by ordinal logistic regression as R lordif (issue 16, point 3).

Oracle: tests/oracles/dif_anxiety_lrm.csv, made by tests/oracles/make_dif_oracles.R with
rms::lrm (lordif's engine) on lordif's Anxiety data, by age and by gender (matching on the
total score, sparse categories collapsed as lordif's minCell = 5). The test reading the
data skips when ../shared is absent; the fixture itself holds derived numbers only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xinli_screen.evaluation.dif import (
    collapse_categories,
    dif_item,
    dif_scale,
    fit_proportional_odds,
)

HERE = Path(__file__).parent
ANXIETY = HERE.parent.parent / "shared" / "data" / "lordif_promis_anxiety" / "Anxiety.csv"
ORACLE = HERE / "oracles" / "dif_anxiety_lrm.csv"
ITEMS = [f"R{i}" for i in range(1, 30)]

needs_data = pytest.mark.skipif(not ANXIETY.exists(),
                                reason="../shared/data/lordif_promis_anxiety is absent")


@needs_data
def test_three_models_match_rms_lrm_on_lordif_anxiety() -> None:
    data = pd.read_csv(ANXIETY)
    oracle = pd.read_csv(ORACLE)
    theta = data[ITEMS].sum(axis=1).to_numpy(dtype=float)
    assert len(oracle) == 58
    for row in oracle.itertuples(index=False):
        ours = dif_item(data[row.item].to_numpy(), theta, data[row.group].to_numpy())
        assert ours["ncat"] == row.ncat
        assert ours["converged"]
        for stat in ("chi12", "chi13", "chi23"):
            assert ours[stat] == pytest.approx(getattr(row, stat), abs=1e-3), (row.item, stat)
        for kind in ("mcfadden", "nagelkerke", "coxsnell"):
            for pair in ("12", "13", "23"):
                col = f"r2_{kind}_{pair}"
                assert ours[col] == pytest.approx(getattr(row, col), abs=1e-3), (row.item, col)
        assert ours["beta12"] == pytest.approx(row.beta12, abs=1e-6)
        assert ours["p13"] == pytest.approx(row.p13, abs=1e-6)


def test_fit_matches_the_closed_form_without_covariate_effect() -> None:
    # one binary covariate and a binary answer: the MLE is the 2x2 table's log odds ratio
    y = np.array([0] * 30 + [1] * 10 + [0] * 15 + [1] * 25)
    x = np.array([0] * 40 + [1] * 40, dtype=float)[:, None]
    fit = fit_proportional_odds(y, x)
    assert fit.converged
    assert fit.coef[0] == pytest.approx(np.log((25 / 15) / (10 / 30)), abs=1e-9)
    assert fit.intercepts[0] == pytest.approx(np.log(10 / 30), abs=1e-9)
    with pytest.raises(ValueError, match="two categories"):
        fit_proportional_odds(np.zeros(5, dtype=int), np.ones((5, 1)))


def test_collapse_as_lordif() -> None:
    answers = np.array([1, 1, 1, 2, 2, 2, 3, 4, 4, 4] * 2)
    group = np.array(["a"] * 10 + ["b"] * 10)
    # with minCell 3: 3 is sparse (1 per group) and joins 2; 4 stays
    assert collapse_categories(answers, group, 3).tolist()[:10] == [0, 0, 0, 1, 1, 1, 1, 2,
                                                                     2, 2]


def _graded(n: int, slopes: np.ndarray, cuts: np.ndarray, rng: np.random.Generator,
            theta: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Graded-response answers 1..5: ``shift`` (n, m) moves an item's thresholds."""
    eta = slopes[None, :, None] * (theta[:, None, None] - cuts[None, :, :] + shift[:, :, None])
    p = 1 / (1 + np.exp(-eta))
    u = rng.random((n, len(slopes)))[:, :, None]
    return 1 + (u < p).sum(axis=2)


def test_an_injected_dif_item_is_flagged_on_simulated_data() -> None:
    rng = np.random.default_rng(16)
    n, m = 900, 12
    slopes = rng.uniform(1.2, 2.2, m)
    cuts = np.sort(rng.normal(0.5, 0.8, (m, 4)), axis=1)
    group = rng.integers(0, 2, n)
    theta = rng.normal(0, 1, n) + 0.3 * group  # impact: the groups differ in the trait
    shift = np.zeros((n, m))
    shift[group == 1, 4] = 0.9  # item 5: the focal group answers higher at the same trait
    answers = pd.DataFrame(_graded(n, slopes, cuts, rng, theta, shift),
                           columns=[f"i{k + 1}" for k in range(m)])
    res = dif_scale(answers, np.where(group == 1, "女", "男"))
    assert res.flagged == ["i5"]
    row = res.table.set_index("item").loc["i5"]
    assert row["p12"] < 1e-6 and row["r2_mcfadden_13"] > 0.02
    assert res.n == n and res.settings["stable"]
    effect = dif_scale(answers, np.where(group == 1, "女", "男"), criterion="r2")
    assert effect.flagged == ["i5"]


@needs_data
def test_an_injected_dif_item_is_flagged_on_lordif_anxiety() -> None:
    data = pd.read_csv(ANXIETY)
    items = data[ITEMS[:15]].copy()
    before = dif_scale(items, data["gender"], criterion="r2", purify=False)
    assert "R13" not in before.flagged
    rng = np.random.default_rng(3)
    women = (data["gender"] == 1).to_numpy() & (rng.random(len(data)) < 0.6)
    items.loc[women, "R13"] = np.minimum(items.loc[women, "R13"] + 1, 5)
    after = dif_scale(items, data["gender"], criterion="r2", purify=False)
    assert after.flagged == ["R13"]
    chisqr = dif_scale(items, data["gender"], purify=False)
    assert "R13" in chisqr.flagged


def test_exclusions_are_counted_and_stated() -> None:
    rng = np.random.default_rng(0)
    items = pd.DataFrame(rng.integers(0, 3, (200, 4)), columns=list("abcd")).astype(float)
    items.iloc[0, 1] = np.nan
    group = ["x", "y"] * 100
    group[5] = None
    res = dif_scale(items, group, purify=False)
    assert res.n == 198
    assert res.excluded == {"group missing": 1, "an item unanswered": 1}
    with pytest.raises(ValueError, match="criterion"):
        dif_scale(items, group, criterion="wald")


def test_cli_dif_on_an_answers_file(cli, tmp_path: Path) -> None:
    import json

    rng = np.random.default_rng(7)
    n = 700
    sex = rng.choice(["男", "女"], n)
    trait = rng.normal(0, 1, n)
    cols = {}
    for k in range(1, 10):
        shift = 0.8 if k == 4 else 0.0
        latent = 1.6 * (trait + np.where(sex == "女", shift, 0.0)) + rng.logistic(0, 1, n)
        cols[f"phq9_{k:02d}"] = np.digitize(latent, [0.5, 2.0, 3.5]).astype(str)
    data = pd.DataFrame({"学号": [f"s{i}" for i in range(n)], "性别": sex, **cols})
    path = tmp_path / "answers.csv"
    data.to_csv(path, index=False)
    out = tmp_path / "dif.json"
    run = cli("panel", "dif", path, "-i", "phq9", "--group", "性别", "-o", out)
    assert run.code == 0, run.err
    js = json.loads(out.read_text(encoding="utf-8"))
    assert "phq9_04" in js["dif"][0]["flagged"] and js["n"] == n
    run = cli("panel", "dif", path, "-i", "phq9", "--group", "性别", "--criterion", "r2",
              "-o", out)
    js = json.loads(out.read_text(encoding="utf-8"))
    assert js["dif"][0]["flagged"] == ["phq9_04"]
    assert "s1" not in out.read_text(encoding="utf-8")
    html = tmp_path / "dif.html"
    assert cli("panel", "dif", path, "-i", "phq9", "--group", "性别", "-o", html).code == 0
    assert "phq9_04" in html.read_text(encoding="utf-8")
    assert cli("panel", "dif", path, "-i", "phq9", "--group", "年级", "-o", out).code == 2


def _answers(tmp_path: Path, n: int = 400) -> Path:
    rng = np.random.default_rng(8)
    sex = rng.choice(["男", "女"], n).astype(object)
    sex[:3] = "其他"                                   # a group of 3 pupils
    trait = rng.normal(0, 1, n)
    cols = {f"phqa_{k:02d}": np.digitize(1.6 * trait + rng.logistic(0, 1, n),
                                         [0.5, 2.0, 3.5]).astype(str) for k in range(1, 10)}
    data = pd.DataFrame({"学号": [f"s{i}" for i in range(n)], "性别": sex, **cols})
    data.loc[10, "phqa_04"] = "9"                       # outside the declared codes 0-3
    path = tmp_path / "phqa_ok.csv"
    data.to_csv(path, index=False)
    return path


def test_cli_dif_drops_a_small_group_and_an_out_of_range_answer_saying_so(
        cli, tmp_path: Path) -> None:
    import json

    path = _answers(tmp_path)
    out, html = tmp_path / "dif.json", tmp_path / "dif.html"
    run = cli("panel", "dif", path, "-i", "phqa", "--group", "性别", "-o", out)
    assert run.code == 0, run.err
    assert "under 10 pupils" in run.out and "其他: n = 3" in run.out
    assert "outside the declared codes: 1" in run.out
    js = json.loads(out.read_text(encoding="utf-8"))
    d = js["dif"][0]
    assert js["panel"] == "dif" and js["n"] == 400 - 3 - 1
    assert d["settings"]["groups_dropped"] == {"其他": 3}
    assert set(d["settings"]["group_n"]) == {"男", "女"}
    assert d["excluded"]["an answer outside the declared codes"] == 1
    assert all(r.get("chi13") is not None for r in d["items"])     # estimated, not "—"
    assert cli("panel", "dif", path, "-i", "phqa", "--group", "性别", "-o", html).code == 0
    page = html.read_text(encoding="utf-8")
    assert "Fairness panel" not in page and "DIF" in page.split("</h1>")[0]
    assert "其他: n = 3" in page and "Tier rates" not in page
    assert "suppressed (small cell" not in page
    assert "outside the declared codes" in page and "{&#34;" not in page
    assert "s1" not in page


def test_dif_refuses_when_fewer_than_two_groups_are_large_enough() -> None:
    items = pd.DataFrame(np.random.default_rng(1).integers(0, 3, (23, 3)), columns=list("abc"))
    with pytest.raises(ValueError, match="at least two groups of 10"):
        dif_scale(items.astype(float), ["x"] * 20 + ["y"] * 3)


@needs_data
def test_cli_dif_on_lordif_anxiety_with_items(cli, tmp_path: Path) -> None:
    import json

    out = tmp_path / "anx.json"
    run = cli("panel", "dif", ANXIETY, "--items", ",".join(ITEMS), "--codes", "1-5",
              "--group", "gender", "-o", out)
    assert run.code == 0, run.err
    js = json.loads(out.read_text(encoding="utf-8"))
    assert js["n"] == 766 and js["dif"][0]["scale"].startswith("items R1,")
    assert cli("panel", "dif", ANXIETY, "--group", "gender", "-o", out).code == 2
