"""Warning policy: structured conditions, three-valued logic, critical items, reasons."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

import xinli_screen as xs
from xinli_screen.instrument.registry import bundled_dir

PHQ = [f"phq9_0{k}" for k in range(1, 10)]
GAD = [f"gad7_0{k}" for k in range(1, 8)]


def sheet(phq: list | None = None, gad: list | None = None, **extra: object) -> dict:
    row: dict[str, object] = {}
    if phq is not None:
        row.update(dict(zip(PHQ, phq, strict=True)))
    if gad is not None:
        row.update(dict(zip(GAD, gad, strict=True)))
    row.update(extra)
    return row


def run(rows: list[dict], instruments=("phq9", "gad7"), **kw) -> xs.ScreeningResult:
    return xs.screen(pd.DataFrame(rows), list(instruments), lang="en", **kw)


def write_policy(tmp_path: Path, **changes: object) -> Path:
    data = yaml.safe_load((bundled_dir() / "policies" / "default.yaml").read_text("utf-8"))
    data.update(changes)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_tiers_from_default_policy() -> None:
    result = run([
        sheet([0] * 9, [0] * 7),                      # nothing
        sheet([2, 2, 2, 2, 2, 0, 0, 0, 0], [0] * 7),  # PHQ-9 10 -> class
        sheet([2, 2, 2, 2, 2, 0, 0, 0, 0], [3, 3, 2, 1, 1, 0, 0]),  # both >= 10 -> school
        sheet([3, 3, 3, 3, 3, 0, 0, 0, 0], [0] * 7),  # PHQ-9 15 -> school
        sheet([0] * 8 + [2], [0] * 7),                # item 9 = 2 -> district
    ])
    assert result.table["warning_tier"].astype(str).tolist() == [
        "none", "class", "school", "school", "district"]
    assert result.table.loc[2, "reason_codes"].split(";") == [
        "several_positive", "phq9_moderate", "gad7_moderate"]
    assert "phq9.total = 10" in result.table.loc[1, "reasons"]
    assert result.table["review_status"].tolist() == [
        "not_required"] + ["pending_review"] * 4


def test_critical_item_escalates_incomplete_and_invalid_protocols() -> None:
    result = run([
        sheet([None] * 8 + [1]),                          # only item 9 answered
        sheet(["x", 9, "bad", 0, 0, 0, 0, 0, "好几天"]),    # invalid cells, item 9 = 1 as text
    ], instruments=("phq9",))
    table = result.table
    assert table["status"].tolist() == ["incomplete", "invalid"]
    assert (table["warning_tier"].astype(str) == "school").all()
    assert (table["critical_items"] == "phq9.self_harm_thoughts").all()
    assert table["reasons"].str.contains("phq9_09").all()


def test_tier_settled_tells_when_missing_answer_could_raise_tier() -> None:
    result = run([
        sheet([3, 3, 3, 3, 3, 3, None, None, 1]),  # 19 so far, item 9 = 1: 20+ reachable
        sheet([0, 0, 0, 0, 0, 0, None, None, 0]),  # at most 6: no rule can fire
        sheet([2, 2, 2, 2, 1, 0, None, None, 0]),  # 9 so far: 10 reachable
        sheet([3] * 9),                            # complete
    ], instruments=("phq9",))
    table = result.table
    assert table["warning_tier"].astype(str).tolist() == ["school", "none", "none", "district"]
    assert table["tier_settled"].tolist() == [False, True, False, True]
    assert (table["status"][:3] == "incomplete").all()


def test_rule_fires_when_missing_answers_cannot_change_the_outcome() -> None:
    """15 points from 8 items: the total is unscored, but >= 15 holds whatever item 6 is."""
    result = run([sheet([3, 3, 3, 3, 3, None, 0, 0, 0])], instruments=("phq9",))
    row = result.table.loc[0]
    assert pd.isna(row["phq9.total"])
    assert row["warning_tier"] == "school"
    assert "phq9.total ≥ 15 (8/9 answered; rule ≥ 15)" in row["reasons"]
    assert row["tier_settled"]


def test_unanswered_critical_item_unsettles_tier() -> None:
    result = run([sheet([0] * 8 + [None])], instruments=("phq9",))
    assert result.table.loc[0, "warning_tier"] == "none"
    assert not result.table.loc[0, "tier_settled"]


def test_rules_on_unscreened_instruments_are_inactive() -> None:
    result = run([sheet([2, 2, 2, 2, 2, 0, 0, 0, 0])], instruments=("phq9",))
    inactive = result.provenance["policy"]["inactive_rules"]
    assert {"gad7_moderate", "gad7_severe", "cesd_positive"} <= set(inactive)
    assert "several_positive" not in inactive  # has screened evidence (phq9)
    assert result.table.loc[0, "tier_settled"]


def test_tier_labels_and_numbering_are_configuration(tmp_path: Path) -> None:
    tiers = yaml.safe_load((bundled_dir() / "policies" / "default.yaml").read_text())["tiers"]
    tiers["district"]["label"] = {"zh": "三级预警", "en": "Level 3"}
    path = write_policy(tmp_path, tiers=tiers)
    result = run([sheet([0] * 8 + [3])], instruments=("phq9",), policy=path)
    assert result.table.loc[0, "warning_label"] == "Level 3"
    assert result.table.loc[0, "warning_tier"] == "district"


def test_at_least_and_any_conditions(tmp_path: Path) -> None:
    rules = [{
        "id": "two_of_three", "tier": "district", "reason": {"en": "two of {evidence}"},
        "when": {"at_least": 2, "of": [
            {"item": "phq9_01", "op": ">=", "value": 3},
            {"item": "phq9_02", "op": ">=", "value": 3},
            {"any": [{"band": "phq9.total", "in": ["severe"]},
                     {"scale": "phq9.total", "op": "==", "value": 0}]},
        ]},
    }]
    path = write_policy(tmp_path, rules=rules)
    result = run([
        sheet([3, 3, 0, 0, 0, 0, 0, 0, 0]),
        sheet([3, 0, 0, 0, 0, 0, 0, 0, 0]),
        sheet([3, None, 0, 0, 0, 0, 0, 0, 0]),
    ], instruments=("phq9",), policy=path)
    assert result.table["warning_tier"].astype(str).tolist() == ["district", "none", "none"]
    assert result.table["tier_settled"].tolist() == [True, True, False]
    assert result.table.loc[0, "reasons"] == "two of phq9_01 (#1) = 3 ≥ 3; phq9_02 (#2) = 3 ≥ 3"


def test_policy_naming_unknown_scale_is_refused_with_line(tmp_path: Path) -> None:
    rules = [{"id": "oops", "tier": "class", "reason": {"en": "x"},
              "when": {"scale": "phq9.totl", "op": ">=", "value": 1}}]
    path = write_policy(tmp_path, rules=rules)
    with pytest.raises(xs.PolicyDefinitionError, match="no scale 'totl'") as info:
        run([sheet([0] * 9)], instruments=("phq9",), policy=path)
    assert info.value.issues[0].line is not None


def test_reason_templates_are_not_code(tmp_path: Path) -> None:
    rules = [{"id": "evil", "tier": "class", "reason": {"en": "{evidence.__class__}"},
              "when": {"scale": "phq9.total", "op": ">=", "value": 0}}]
    path = write_policy(tmp_path, rules=rules)
    with pytest.raises(xs.PolicyDefinitionError, match=r"placeholder|uses"):
        run([sheet([0] * 9)], instruments=("phq9",), policy=path)


def test_critical_item_tier_cannot_be_none(tmp_path: Path) -> None:
    path = write_policy(tmp_path, critical_item_tier="none")
    with pytest.raises(xs.PolicyDefinitionError, match="critical_item_tier"):
        xs.load_policy(path)


def test_unknown_condition_key_is_refused(tmp_path: Path) -> None:
    rules = [{"id": "r", "tier": "class", "reason": {"en": "x"},
              "when": {"expression": "__import__('os')"}}]
    path = write_policy(tmp_path, rules=rules)
    with pytest.raises(xs.PolicyDefinitionError, match="condition"):
        xs.load_policy(path)


def test_default_policy_binds_every_bundled_instrument() -> None:
    from xinli_screen.policy.engine import bind_policy

    loaded = xs.load_policy("default")
    instruments = [xs.load_instrument(i) for i in xs.list_instruments()]
    rules, inactive, issues = bind_policy(loaded.policy, instruments, loaded.lines, loaded.path)
    assert [str(i) for i in issues] == []
    assert inactive == []
    covered = {r.when.model_dump_json() for r in rules}
    assert len(covered) == len(rules)
    named = {i for r in rules for i in xs.list_instruments() if f"{i}." in r.model_dump_json()
             or f"{i}_" in r.model_dump_json()}
    assert named >= set(xs.list_instruments()) - {"pss10", "rses"}


def test_all_instruments_screen_together() -> None:
    """One answer sheet with every bundled instrument at its maximum keyed answers."""
    instruments = [xs.load_instrument(i) for i in xs.list_instruments()]
    row: dict[str, float] = {}
    for inst in instruments:
        for item in inst.items:
            rs = inst.response_scale_of(item)
            row[item.id] = rs.min_code if item.reverse_keyed else rs.max_code
    result = xs.screen(pd.DataFrame([row]), [i.id for i in instruments])
    assert result.table.loc[0, "warning_tier"] == "district"
    assert result.table.loc[0, "protocol_valid"] is not None


def test_rule_that_can_never_fire_is_a_warning(tmp_path: Path) -> None:
    from xinli_screen.policy.engine import bind_policy

    rules = [{"id": "impossible", "tier": "class", "reason": {"en": "x"},
              "when": {"scale": "phq9.total", "op": ">=", "value": 30}}]
    loaded = xs.load_policy(write_policy(tmp_path, rules=rules))
    _, _, issues = bind_policy(loaded.policy, [xs.load_instrument("phq9")], loaded.lines,
                               loaded.path)
    assert [(i.code, i.level) for i in issues] == [("rule-cannot-fire", "warning")]
    assert "possible range 0-27" in issues[0].message and issues[0].line is not None


def test_extra_input_columns_as_evidence(tmp_path: Path) -> None:
    """Life events, teacher reports and special-group flags given as extra columns."""
    rules = [
        {"id": "left_behind_and_mild", "tier": "class", "reason": {"en": "{evidence}"},
         "when": {"all": [{"column": "留守", "op": "==", "value": 1},
                          {"scale": "phq9.total", "op": ">=", "value": 5}]}},
        {"id": "teacher_report", "tier": "school", "reason": {"en": "{evidence}"},
         "when": {"column": "班主任报告", "op": "==", "value": "是"}},
    ]
    path = write_policy(tmp_path, rules=rules)
    mild = [1, 1, 1, 1, 1, 0, 0, 0, 0]
    result = run([sheet(mild, 留守=1, 班主任报告="否"), sheet(mild, 留守=0, 班主任报告=" 是 "),
                  sheet(mild, 留守=None, 班主任报告=None)], instruments=("phq9",), policy=path)
    table = result.table
    assert table["warning_tier"].astype(str).tolist() == ["class", "school", "none"]
    assert "留守 = 1" in table.loc[0, "reasons"]
    assert "班主任报告 = 是" in table.loc[1, "reasons"]
    assert table["tier_settled"].tolist() == [True, True, False]  # blanks are unknown
    with pytest.raises(xs.ResponseDataError, match="班主任报告"):
        run([sheet(mild, 留守=1)], instruments=("phq9",), policy=path)
