"""screen() with validity scales and careless-responding checks: retest, never hidden risk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import xinli_screen as xs

MHT = [f"mht_{k:03d}" for k in range(1, 101)]
PHQ = [f"phq9_0{k}" for k in range(1, 10)]


def test_mht_lie_scale_means_retest_but_critical_items_still_count() -> None:
    lie_items = [f"mht_{k:03d}" for k in range(82, 101, 2)]
    honest = dict.fromkeys(MHT, 0)
    liar = {**honest, **dict.fromkeys(lie_items, 1)}  # lie scale 10 >= 7
    data = pd.DataFrame([{**honest, **dict.fromkeys(PHQ, 0)},
                         {**liar, **dict.fromkeys(PHQ, 0), "phq9_09": 2}])
    table = xs.screen(data, ["mht", "phq9"], lang="en").table
    assert table["status"].tolist() == ["scored", "invalid_protocol"]
    assert table["protocol_valid"].tolist() == [True, False]
    # issue 15: a positive critical item is pending review, never hidden behind a retest
    assert table["review_status"].tolist() == ["not_required", "pending_review"]
    assert table.loc[1, "warning_tier"] == "district"  # item 9 = 2 is never hidden
    assert "retest" in table.loc[1, "validity_reasons"].lower()


def test_careless_checks_are_opt_in_and_flag_straightlining() -> None:
    rng = np.random.default_rng(1)
    answers = rng.integers(0, 4, size=(60, 9)).astype(float)
    answers[0] = 3  # a straight line at the maximum
    data = pd.DataFrame(answers, columns=PHQ)
    plain = xs.screen(data, ["phq9"]).table
    assert not any(c.startswith("careless.") for c in plain.columns)
    checked = xs.screen(data, ["phq9"], careless=True).table
    assert checked.loc[0, "careless.longstring"] == 9
    assert not checked.loc[0, "protocol_valid"]
    assert checked.loc[0, "review_status"] == "pending_review"  # item 9 = 3: not a retest
    assert checked.loc[0, "warning_tier"] == "district"  # still escalated on item 9 = 3


def test_too_fast_protocols() -> None:
    data = pd.DataFrame([{**dict.fromkeys(PHQ, 1), "所用时间": "5秒"},
                         {**dict.fromkeys(PHQ, 1), "所用时间": "2分3秒"}])
    table = xs.screen(data, ["phq9"], time_column="所用时间").table
    assert table["protocol_valid"].tolist() == [False, True]
    assert table.loc[1, "careless.response_seconds"] == 123
    with pytest.raises(xs.ResponseDataError, match="time column"):
        xs.screen(data, ["phq9"], time_column="用时")


def test_unreadable_critical_answer_is_never_silently_not_required() -> None:
    data = pd.DataFrame([{**dict.fromkeys(PHQ, 0), "phq9_09": "好几天（3-6天）?"}])
    table = xs.screen(data, ["phq9"]).table
    assert table.loc[0, "status"] == "invalid"
    assert table.loc[0, "review_status"] == "pending_review"
    assert "phq9_09" in table.loc[0, "status_detail"]
    assert not table.loc[0, "tier_settled"]


def test_careless_in_batches_equals_one_run() -> None:
    """Whole-sample careless indices in batches (issue 17): the merged item moments give every
    row the D² and the synonym/antonym pairs of one run over all rows; flags, reasons and
    every other cell equal, D² equal to 1e-9."""
    from xinli_screen.backends.memory import screen_batches

    rng = np.random.default_rng(11)
    trait = rng.normal(size=(400, 1))
    mht = np.clip(np.rint(0.5 + 0.4 * trait + 0.5 * rng.normal(size=(400, 100))), 0, 1)
    phq = np.clip(np.rint(1.2 + 0.9 * trait + 0.7 * rng.normal(size=(400, 10))), 0, 3)
    data = pd.DataFrame(np.hstack([mht, phq]), columns=[*MHT, *PHQ, "phq9_10"])
    data.iloc[:5, 100:] = 3.0  # straight lines far from the others
    data = data.mask(rng.random(data.shape) < 0.02)
    args = {"careless": {"psychsyn_critval": 0.3, "psychsyn_below": 0.2}, "lang": "en"}
    whole = xs.screen(data, ["mht", "phq9"], **args).table
    got, _ = screen_batches(data, ["mht", "phq9"], batch_rows=97, **args)
    d2 = "careless.mahalanobis_d2"
    assert whole[d2].notna().all() and (whole["protocol_valid"] == False).any()  # noqa: E712
    assert whole["careless.psychsyn"].notna().any()
    np.testing.assert_allclose(got.table[d2], whole[d2], rtol=1e-9, atol=0)
    pd.testing.assert_frame_equal(got.table.drop(columns=[d2]), whole.drop(columns=[d2]),
                                  check_exact=True)
