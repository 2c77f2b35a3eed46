"""The history stage: persistence, lowering only after a review, re-opening, review overrides."""

from __future__ import annotations

import pandas as pd
import pytest

from xinli_screen.policy.history import apply_history, apply_reviews, run_history
from xinli_screen.policy.loader import load_policy
from xinli_screen.policy.models import HistoryRules, PersistenceRule


def _current(**tiers: str) -> pd.DataFrame:
    return pd.DataFrame({"pupil_id": list(tiers), "warning_tier": list(tiers.values()),
                         "critical_items": ""})


def _hist(rows: list[tuple[str, int, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["pupil_id", "wave_seq", "tier", "file_status"])


def test_no_history_changes_nothing() -> None:
    out = apply_history(_current(a="school", b="none"), _hist([]))
    assert out["warning_tier"].astype(str).tolist() == ["school", "none"]
    assert out["review_status"].tolist() == ["pending_review", "not_required"]
    assert out["history_codes"].tolist() == ["", ""]


def test_persistent_school_tier_escalates() -> None:
    out = apply_history(_current(a="school", b="school", c="class"),
                        _hist([("a", 1, "school", "open"), ("b", 1, "class", "open"),
                               ("c", 1, "school", "open")]))
    assert out["warning_tier"].astype(str).tolist() == ["district", "school", "school"]
    assert out["history_codes"].tolist() == ["persistent_tier", "", "held_until_review"]


def test_persistence_over_three_waves_needs_two_earlier_waves() -> None:
    rules = HistoryRules(persistence=PersistenceRule(tier="class", waves=3, to="school"))
    hist = _hist([("a", 1, "class", "open"), ("a", 2, "class", "open"),
                  ("b", 2, "class", "open")])
    out = apply_history(_current(a="class", b="class"), hist, rules)
    assert out["warning_tier"].astype(str).tolist() == ["school", "class"]


def test_improvement_is_held_until_a_review() -> None:
    out = apply_history(_current(a="none"), _hist([("a", 1, "school", "open")]),
                        labels={"school": "校级预警"})
    assert out.loc[0, "warning_tier"] == "school" and out.loc[0, "screen_tier"] == "none"
    assert out.loc[0, "review_status"] == "pending_review"
    assert "校级预警" in out.loc[0, "history_reasons_zh"]
    reviewed = apply_reviews(out, pd.DataFrame([{"pupil_id": "a", "outcome": "not_confirmed",
                                                 "tier": None, "by": "x", "at": "t",
                                                 "note": ""}]))
    assert reviewed.loc[0, "warning_tier"] == "none"
    assert reviewed.loc[0, "review_status"] == "not_confirmed"


def test_switched_off_rules() -> None:
    rules = HistoryRules(persistence=None, lower_only_after_review=False, reopen=None)
    cur = _current(a="school", b="none")
    cur.loc[1, "critical_items"] = "phq9.self_harm_thoughts"
    out = apply_history(cur, _hist([("a", 1, "school", "open"), ("b", 1, "district",
                                                                  "closed")]), rules)
    assert out["warning_tier"].astype(str).tolist() == ["school", "none"]


def test_closed_file_reopened_only_by_a_critical_item() -> None:
    cur = _current(a="school", b="class")
    cur.loc[0, "critical_items"] = "phq9.self_harm_thoughts"
    out = apply_history(cur, _hist([("a", 1, "none", "closed"), ("b", 1, "none", "closed")]))
    assert out["file_status"].tolist() == ["reopened", "closed"]
    assert out.loc[0, "history_codes"] == "reopened_by_critical_item"


def test_review_outcomes() -> None:
    table = apply_history(_current(a="school", b="school", c="school", d="school"), _hist([]))
    reviews = pd.DataFrame([
        {"pupil_id": "a", "outcome": "confirmed", "tier": None, "by": "x", "at": "1", "note": ""},
        {"pupil_id": "b", "outcome": "tier_changed", "tier": "class", "by": "x", "at": "1",
         "note": ""},
        {"pupil_id": "c", "outcome": "closed", "tier": None, "by": "x", "at": "1", "note": ""},
        {"pupil_id": "d", "outcome": "confirmed", "tier": None, "by": "x", "at": "1", "note": ""},
        {"pupil_id": "d", "outcome": "not_confirmed", "tier": None, "by": "y", "at": "2",
         "note": ""},
    ])
    out = apply_reviews(table, reviews)
    assert out["warning_tier"].astype(str).tolist() == ["school", "class", "none", "none"]
    assert out["file_status"].tolist() == ["open", "open", "closed", "open"]
    assert out.loc[3, "reviewed_by"] == "y"


def test_bad_reviews_are_refused() -> None:
    table = apply_history(_current(a="school"), _hist([]))
    with pytest.raises(ValueError, match="unknown review outcome"):
        apply_reviews(table, pd.DataFrame([{"pupil_id": "a", "outcome": "maybe", "tier": None,
                                            "by": "", "at": "", "note": ""}]))
    with pytest.raises(ValueError, match="needs the new tier"):
        apply_reviews(table, pd.DataFrame([{"pupil_id": "a", "outcome": "tier_changed",
                                            "tier": None, "by": "", "at": "", "note": ""}]))


def test_missing_column_names_the_column_not_a_value() -> None:
    with pytest.raises(KeyError, match="warning_tier"):
        apply_history(pd.DataFrame({"pupil_id": ["SECRET"]}), _hist([]))


def test_run_history_feeds_reviews_into_later_waves() -> None:
    screens = pd.DataFrame({"pupil_id": ["a", "a"], "wave_seq": [1, 2],
                            "warning_tier": ["school", "school"], "critical_items": ""})
    no_reviews = pd.DataFrame(columns=["pupil_id", "wave_seq", "outcome", "tier", "by", "at",
                                       "note"])
    assert run_history(screens, no_reviews)["warning_tier"].astype(str).tolist() == [
        "school", "district"]
    lowered = pd.DataFrame([{"pupil_id": "a", "wave_seq": 1, "outcome": "not_confirmed",
                             "tier": None, "by": "x", "at": "1", "note": ""}])
    assert run_history(screens, lowered)["warning_tier"].astype(str).tolist() == [
        "none", "school"]


def test_default_policy_declares_history_rules() -> None:
    rules = load_policy("default").policy.history
    assert rules is not None and rules.persistence is not None
    assert (rules.persistence.tier, rules.persistence.to) == ("school", "district")
