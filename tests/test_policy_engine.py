"""Policy engine internals: evidence codes, reason order, per-row text and the bounds argument."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen._text import TEXT_DTYPE, fmt_numbers
from xinli_screen.policy.engine import PolicyOutcome, bind_policy, evaluate_policy
from xinli_screen.policy.models import Policy
from xinli_screen.policy.reasons import REASON_COLUMNS
from xinli_screen.scoring import critical_item_flags, score_bounds

PHQ = [f"phq9_0{k}" for k in range(1, 10)]
GAD = [f"gad7_0{k}" for k in range(1, 8)]


def outcome(rows: list[list[float | None]], policy: Policy | None = None,
            ids: pd.Series | None = None, with_bounds: bool = True) -> PolicyOutcome:
    """Evaluate ``policy`` (default: the bundled one) on PHQ-9 + GAD-7 answer rows."""
    insts = [xs.load_instrument("phq9"), xs.load_instrument("gad7")]
    loaded = xs.load_policy("default")
    policy = policy or loaded.policy
    data = pd.DataFrame(rows, columns=PHQ + GAD, dtype=float).assign(phq9_10=0.0)
    prepared = xs.prepare_responses(data, insts)
    responses = prepared.responses
    scores = pd.concat([xs.score_instrument(responses, i) for i in insts], axis=1)
    critical = pd.concat([critical_item_flags(responses, i) for i in insts], axis=1)
    bounds = pd.concat([score_bounds(responses, i) for i in insts], axis=1)
    rules, _, issues = bind_policy(policy, insts)
    assert not [i for i in issues if i.level == "error"]
    return evaluate_policy(policy, rules, scores, responses, critical, insts, ids,
                           bounds=bounds if with_bounds else None)


ROWS: list[list[float | None]] = [
    [0] * 9 + [0] * 7,                                    # nothing
    [2, 2, 2, 2, 2, 0, 0, 0, 0] + [0] * 7,                # PHQ-9 10 -> class
    [3, 3, 3, 3, 3, 3, 3, 0, 2, 3, 3, 3, 3, 3, 0, 0],     # district, critical, school, class
    [3, 3, 3, 3, 3, None, 0, 0, 0] + [None] * 7,          # decided from the reachable bound
    [2, 2, 2, 2, 1, 0, None, None, 0] + [0] * 7,          # unsettled
    [0] * 8 + [1] + [3, 3, 3, 3, 3, 3, None],             # critical item; GAD-7 band certain
]


def test_bounds_argument_gives_the_same_outcome() -> None:
    given, computed = outcome(ROWS), outcome(ROWS, with_bounds=False)
    assert np.array_equal(given.tier, computed.tier)
    assert np.array_equal(given.settled, computed.settled)
    pd.testing.assert_frame_equal(given.reasons, computed.reasons)
    assert list(given.critical) == list(computed.critical)
    for key in ("zh", "en", "codes"):
        assert list(given.text[key]) == list(computed.text[key])


def test_reasons_most_severe_first_and_text_joins_them() -> None:
    result = outcome(ROWS)
    reasons = result.reasons
    assert list(reasons.columns) == REASON_COLUMNS
    assert reasons["row"].is_monotonic_increasing
    rank = reasons["tier"].map({t: k for k, t in enumerate(xs.TIER_ORDER)})
    assert (rank.groupby(reasons["row"]).diff().dropna() <= 0).all()
    row2 = reasons[reasons["row"] == 2]
    assert row2["tier"].tolist()[0] == "district"
    critical = row2.index[row2["kind"] == "critical_item"]
    same_tier = row2[row2["tier"] == "school"]
    assert same_tier.index[0] == critical[0]  # critical items before rules of their tier
    for key, column, sep in (("zh", "reason_zh", "; "), ("en", "reason_en", "; "),
                             ("codes", "rule", ";")):
        joined = reasons.groupby("row")[column].agg(sep.join)
        text = pd.Series(list(result.text[key]))
        assert text[joined.index].tolist() == joined.tolist()
        assert (text.drop(joined.index) == "").all()
    assert list(result.critical) == ["", "", "phq9.self_harm_thoughts", "", "",
                                     "phq9.self_harm_thoughts"]
    assert result.tier.tolist() == [0, 1, 3, 2, 0, 2]
    assert result.settled.tolist() == [True, True, True, True, False, True]


def test_evidence_texts() -> None:
    en = list(outcome(ROWS).text["en"])
    assert "phq9.total ≥ 15 (8/9 answered; rule ≥ 15)" in en[3]
    assert "gad7.total band certain to be one of severe" in en[5]
    assert "phq9_09 (#9) = 2 ≥ 2" in en[2]


def test_outputs_are_text_arrays_without_missing_values() -> None:
    quiet = outcome([[0] * 16, [0] * 16])
    assert len(quiet.reasons) == 0 and list(quiet.reasons.columns) == REASON_COLUMNS
    for arr in (quiet.critical, *quiet.text.values()):
        assert arr.dtype == TEXT_DTYPE and len(arr) == 2 and list(arr) == ["", ""]
    loud = outcome(ROWS)
    for arr in (loud.critical, *loud.text.values()):
        assert arr.dtype == TEXT_DTYPE and not pd.isna(np.asarray(arr, dtype=object)).any()


@pytest.mark.parametrize("dtype", ["str", object])
def test_ids_are_copied_into_the_reasons(dtype: object) -> None:
    ids = pd.Series([f"s{k}" for k in range(len(ROWS))], dtype=dtype)
    reasons = outcome(ROWS, ids=ids).reasons
    assert reasons["id"].tolist() == [f"s{r}" for r in reasons["row"]]
    assert outcome(ROWS).reasons["id"].isna().all()


def test_numbers_are_shown_like_fmt_numbers() -> None:
    """Evidence is grouped by the shown (rounded) value, and each shown once as before."""
    policy = xs.load_policy("default").policy
    rule = {"id": "any_item", "tier": "class", "reason": {"en": "{evidence}"},
            "when": {"item": "phq9_01", "op": ">=", "value": -1}}
    policy = Policy.model_validate({**policy.model_dump(by_alias=True), "rules": [rule]})
    values = [0, 1, 2, 3, 1, 0]
    result = outcome([[v] + [0] * 15 for v in values], policy)
    shown = fmt_numbers(np.array(values, dtype=float))
    assert list(result.text["en"]) == [f"phq9_01 (#1) = {s} ≥ -1" for s in shown]
