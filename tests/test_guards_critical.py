"""Issue 14, point 1: an unanswered, skipped (问卷星 -2) or not-shown (-3) critical item is its
own visible state: ``critical_unknown`` names it, a reason says so (zh/en), ``review_status``
is pending review by default, and the failures/notes table keeps why each cell is missing.

Oracles are hand-worked: PHQ-9 item 9 is the critical item (Kroenke 2001; ``phq9.yaml``
``self_harm_thoughts``: item 9 >= 1); rows are built so that nothing else raises a tier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import xinli_screen as xs
from xinli_screen.policy.loader import load_policy
from xinli_screen.responses import NOTE_CODES

CRIT = "phq9.self_harm_thoughts"
ITEMS = [f"phq9_{i:02d}" for i in range(1, 11)]


def _frame(item9: list) -> pd.DataFrame:
    n = len(item9)
    return pd.DataFrame({"sid": [f"{i:03d}" for i in range(n)],
                         **{i: [0] * n for i in ITEMS[:8]}, "phq9_09": item9,
                         "phq9_10": [0] * n})


def test_blank_critical_item_is_unknown_and_pending_review():
    r = xs.screen(_frame([np.nan, 0, 1]), ["phq9"], id_column="sid", lang="en")
    t = r.table
    assert t["critical_unknown"].tolist() == [CRIT, "", ""]
    assert t["critical_items"].tolist() == ["", "", CRIT]  # semantics unchanged
    assert t["review_status"].tolist() == ["pending_review", "not_required", "pending_review"]
    assert t["warning_tier"].tolist() == ["none", "none", "school"]  # unknown raises no tier
    assert "Critical item answer unknown (phq9_09 #9: left blank)" in t.loc[0, "reasons"]
    assert "not a negative answer" in t.loc[0, "reasons"]
    assert t.loc[0, "reason_codes"] == f"{CRIT}?"
    assert "关键题答案未知" in r.reasons.loc[0, "reason_zh"]
    assert r.reasons.loc[0, "kind"] == "critical_unknown" and r.reasons.loc[0, "tier"] == "none"
    # the note says why; it is not a bad cell: the row is incomplete, not invalid
    assert r.failures[["row", "item", "code"]].values.tolist() == [[0, "phq9_09",
                                                                    "critical-blank"]]
    assert t.loc[0, "status"] == "incomplete"
    assert r.summary()["failures"] == {} and r.summary()["critical_unknown"] == 1


def test_wjx_skipped_and_not_shown_are_told_apart():
    frame = pd.DataFrame({"序号": ["1", "2", "3"], "提交答卷时间": ["t"] * 3,
                          "所用时间": ["100秒"] * 3, "学号": ["001", "002", "003"],
                          **{i: ["A.完全不会"] * 3 for i in ITEMS[:8]},
                          "phq9_09": ["(跳过)", "(空)", ""], "phq9_10": ["0"] * 3})
    r = xs.screen(frame, ["phq9"], id_column="学号", columns={i: i for i in ITEMS})
    assert r.failures["code"].tolist() == ["critical-skipped", "critical-not-shown",
                                           "critical-blank"]
    reasons = r.table["reasons"].tolist()
    assert "问卷星跳过 -2" in reasons[0] and "问卷星未显示 -3" in reasons[1]
    assert "空白未作答" in reasons[2]
    assert r.table["review_status"].tolist() == ["pending_review"] * 3
    numeric = frame.assign(phq9_09=["-2", "-3", "-3"])
    r2 = xs.screen(numeric, ["phq9"], id_column="学号", columns={i: i for i in ITEMS})
    assert r2.failures["code"].tolist() == ["critical-skipped", "critical-not-shown",
                                            "critical-not-shown"]


def test_declared_missing_code_is_named():
    r = xs.screen(_frame([9, 0]), ["phq9"], id_column="sid", missing_codes=[9], lang="en")
    assert r.failures["code"].tolist() == ["critical-missing-code"]
    assert "a declared missing code" in r.table.loc[0, "reasons"]


def test_policy_can_choose_no_review_for_unknown_critical_items_explicitly():
    pol = load_policy("default").policy
    assert pol.unknown_critical_item == "pending_review"  # the documented default
    quiet = pol.model_copy(update={"unknown_critical_item": "none"})
    r = xs.screen(_frame([np.nan, 1]), ["phq9"], id_column="sid", policy=quiet)
    assert r.table["review_status"].tolist() == ["not_required", "pending_review"]
    assert r.table["critical_unknown"].tolist() == [CRIT, ""]  # still visible


def test_an_enabled_opt_in_item_that_is_unanswered_is_unknown_too():
    pol = load_policy("default").policy
    enabled = pol.model_copy(update={"enable_critical_items": ("mht.death_wish",)})
    items = [f"mht_{k:03d}" for k in range(1, 101)]
    frame = pd.DataFrame({i: [0, 0] for i in items}).assign(mht_085=[np.nan, 0])
    r = xs.screen(frame, ["mht"], policy=enabled)
    assert r.table["critical_unknown"].tolist() == ["mht.death_wish", ""]
    off = xs.screen(frame, ["mht"])  # not enabled: not a critical item of this policy
    assert off.table["critical_unknown"].tolist() == ["", ""]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from([np.nan, 0, 1, 2, 3]), min_size=1, max_size=30))
def test_a_positive_answer_is_never_hidden_or_merged(item9):
    """critical_items holds exactly the positive answers, critical_unknown exactly the
    missing ones; the two never overlap."""
    t = xs.screen(_frame(item9), ["phq9"], id_column="sid").table
    x = np.array(item9, dtype=float)
    assert ((t["critical_items"] == CRIT).to_numpy() == (x >= 1)).all()
    assert ((t["critical_unknown"] == CRIT).to_numpy() == np.isnan(x)).all()
    assert (t.loc[np.isnan(x), "review_status"] == "pending_review").all()
    assert not ((t["critical_items"] != "") & (t["critical_unknown"] != "")).any()


def test_note_codes_are_documented():
    with open("docs/errors.md", encoding="utf-8") as f:
        text = f.read()
    assert all(f"`{code}`" in text for code in NOTE_CODES)
    with open("docs/policy.md", encoding="utf-8") as f:
        policy_doc = f.read()
    assert "critical_unknown" in policy_doc and "unknown_critical_item" in policy_doc
