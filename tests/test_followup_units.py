"""Follow-up deadlines, states and return-sheet rows (issue 13, items 1 and 2), unit level.

Oracles: the calendar (weekdays of known dates), hand-worked states, and invariants checked
with hypothesis.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinli_screen.followup.return_sheet import parse_date
from xinli_screen.followup.review_import import check_rows
from xinli_screen.followup.status import due_date, follow_up_states, loop_figures
from xinli_screen.policy.models import Deadline, FollowUpRules, TierDeadlines

FRI = dt.date(2026, 9, 18)  # a Friday
RULES = FollowUpRules.model_validate({
    "critical_item": {"review": {"within": 0}, "action": {"within": 0}},
    "district": {"review": {"within": 1}, "action": {"within": 1}},
    "school": {"review": {"within": 3, "unit": "school_days"},
               "action": {"within": 5, "unit": "school_days"}},
    "class": {"review": {"within": 14}},
    "holidays": ["2026-10-01", "2026-10-02"],
})


def test_calendar_days_and_same_day() -> None:
    assert FRI.weekday() == 4
    assert due_date(FRI, Deadline(within=0)) == FRI
    assert due_date(FRI, Deadline(within=1)) == dt.date(2026, 9, 19)
    assert due_date(FRI, Deadline(within=14)) == dt.date(2026, 10, 2)


def test_school_days_skip_weekends_and_holidays() -> None:
    # Friday + 3 school days = Wednesday
    assert due_date(FRI, Deadline(within=3, unit="school_days")) == dt.date(2026, 9, 23)
    # a Saturday start rolls to Monday first
    assert due_date(dt.date(2026, 9, 19), Deadline(within=0, unit="school_days")) == \
        dt.date(2026, 9, 21)
    # Tue 29 Sep + 3 school days, with 1-2 Oct (Thu, Fri) holidays -> Tue 6 Oct
    assert due_date(dt.date(2026, 9, 29), Deadline(within=3, unit="school_days"),
                    RULES.holidays) == dt.date(2026, 10, 6)


def _listed(rows: list[tuple[str, str, str, str | None]]) -> pd.DataFrame:
    return pd.DataFrame([{"pupil_id": p, "tier": t, "critical_items": c, "start": FRI,
                          "latest_outcome": o, "held": False, "reopened": False}
                         for p, t, c, o in rows])


def test_states_hand_worked() -> None:
    listed = _listed([
        ("a", "district", "", "confirmed"),       # reviewed on time, acted late
        ("b", "district", "", None),              # nothing: both overdue
        ("c", "school", "", "not_confirmed"),     # reviewed late; action not required
        ("d", "class", "", None),                 # class: pending, no action deadline
        ("e", "school", "phq9.item9", None),      # critical: same day, no interview
    ])
    reviews = pd.DataFrame({"pupil_id": ["a", "c"],
                            "on_date": [FRI + dt.timedelta(days=1), dt.date(2026, 9, 25)]})
    actions = pd.DataFrame({"pupil_id": ["a", "e"], "kind": ["interview", "parent_contact"],
                            "on_date": [dt.date(2026, 9, 22), dt.date(2026, 9, 21)]})
    as_of = dt.date(2026, 9, 28)
    out = follow_up_states(listed, reviews, actions, RULES, as_of).set_index("pupil_id")
    assert out.loc["a", "review_state"] == "done" and out.loc["a", "action_state"] == "late"
    assert out.loc["b", "review_state"] == "overdue"
    assert out.loc["b", "review_days_overdue"] == (as_of - dt.date(2026, 9, 19)).days
    assert out.loc["c", "review_state"] == "late"          # due Wed 23, reviewed Fri 25
    assert out.loc["c", "action_state"] == "not_required"
    assert out.loc["d", "review_state"] == "pending"       # due 2 Oct
    assert out.loc["d", "action_state"] == "not_required"
    assert out.loc["e", "review_due"] == FRI                # critical: the same day
    assert out.loc["e", "critical_no_interview"]
    assert out.loc["e", "action_state"] == "late"          # parent contact on Monday
    assert list(out["todo"]) == [False, True, False, True, True]
    figures = loop_figures(out.reset_index())
    assert figures.iloc[-1]["listed"] == 5 and figures.iloc[-1]["reviewed"] == 2
    assert figures.iloc[-1]["median_days_to_review"] == pytest.approx(4.0)  # 1 and 7 days


def test_events_after_as_of_do_not_count() -> None:
    listed = _listed([("a", "district", "", None)])
    reviews = pd.DataFrame({"pupil_id": ["a"], "on_date": [dt.date(2026, 10, 5)]})
    early = follow_up_states(listed, reviews, pd.DataFrame(columns=["pupil_id", "kind",
                                                                     "on_date"]),
                             RULES, dt.date(2026, 9, 30))
    assert early.loc[0, "review_state"] == "overdue"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["class", "school", "district"]),
                          st.booleans(), st.one_of(st.none(), st.integers(0, 20)),
                          st.one_of(st.none(), st.integers(0, 20))), min_size=1, max_size=25),
       st.integers(0, 30))
def test_states_are_consistent(pupils: list, days: int) -> None:
    listed = _listed([(str(k), t, "x.c" if c else "", None)
                      for k, (t, c, _, _) in enumerate(pupils)])
    reviews = pd.DataFrame([{"pupil_id": str(k), "on_date": FRI + dt.timedelta(days=r)}
                            for k, (_, _, r, _) in enumerate(pupils) if r is not None],
                           columns=["pupil_id", "on_date"])
    actions = pd.DataFrame([{"pupil_id": str(k), "kind": "interview",
                             "on_date": FRI + dt.timedelta(days=a)}
                            for k, (_, _, _, a) in enumerate(pupils) if a is not None],
                           columns=["pupil_id", "kind", "on_date"])
    as_of = FRI + dt.timedelta(days=days)
    out = follow_up_states(listed, reviews, actions, RULES, as_of)
    assert len(out) == len(pupils) and out["pupil_id"].is_unique
    for _, row in out.iterrows():
        if row["review_state"] == "overdue":
            assert row["reviewed_on"] is None and as_of > row["review_due"]
        if row["review_state"] in ("done", "late"):
            assert row["reviewed_on"] <= as_of
        if row["critical_items"]:
            assert row["review_due"] == FRI        # the same day
        assert row["todo"] == (row["review_state"] in ("pending", "overdue", "no_deadline")
                               or row["action_state"] in ("pending", "overdue", "no_deadline")
                               or row["critical_no_interview"])
    total = loop_figures(out).iloc[-1]
    assert total["listed"] == len(pupils)
    assert total["reviewed"] + (out["review_state"].isin(["pending", "overdue"])).sum() \
        == len(pupils)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-09-20", dt.date(2026, 9, 20)), ("2026/9/20", dt.date(2026, 9, 20)),
    ("2026.9.20", dt.date(2026, 9, 20)), ("2026年9月20日", dt.date(2026, 9, 20)),
    (46285.0, dt.date(2026, 9, 20)), (dt.datetime(2026, 9, 20, 8), dt.date(2026, 9, 20)),
    ("20/9/2026", None), ("明天", None), ("2026-02-30", None)])
def test_parse_date(text: object, expected: dt.date | None) -> None:
    assert parse_date(text) == expected


LABELS = {"none": "无预警", "class": "班级关注", "school": "校级预警", "district": "区级预警"}
TODAY = dt.date(2026, 9, 30)


def _rows(**cells: object) -> pd.DataFrame:
    base = {"sheet_row": 3, "wave": "w1", "pupil_id": "s1", "outcome": None, "new_tier": None,
            "measures": None, "referral": None, "note": None, "by": "王老师",
            "on_date": dt.date(2026, 9, 25), "off_list": None}
    return pd.DataFrame([{**base, **cells}])


def _check(rows: pd.DataFrame) -> tuple[list, list, int]:
    return check_rows(rows, file="f.xlsx", wave="w1", labels=LABELS, today=TODAY,
                      resolve=lambda p: p if p in {"s1", "s2", "s3", "0042"} else None,
                      wave_pupils={"s1", "s2"}, listed={"s1"},
                      listed_tier={"s1": "school", "s2": "none"},
                      listed_on={"s1": dt.date(2026, 9, 20), "s2": dt.date(2026, 9, 20)})


@pytest.mark.parametrize(("cells", "column"), [
    ({"outcome": "确认了"}, "复核结果"),
    ({"outcome": "复核确认", "on_date": dt.date(2026, 10, 1)}, "复核日期"),
    ({"outcome": "复核确认", "on_date": "下周"}, "复核日期"),
    ({"outcome": "复核确认", "on_date": None}, "复核日期"),
    ({"outcome": "复核调整级别"}, "调整后级别"),
    ({"outcome": "复核确认", "new_tier": "班级关注"}, "调整后级别"),
    ({"outcome": "复核确认", "new_tier": "三级"}, "调整后级别"),
    ({"outcome": "复核确认", "by": None}, "复核人"),
    ({"outcome": "复核确认", "wave": "w0"}, "测评批次"),
    ({"outcome": "复核确认", "pupil_id": "nobody"}, "学号"),
    ({"outcome": "复核确认", "pupil_id": "s3"}, "学号"),         # not in this wave
    ({"outcome": "复核确认", "pupil_id": "s2"}, "名单外学生"),   # in the wave, not listed
    ({"measures": "吃药"}, "干预措施"),
    ({"measures": "面谈", "referral": "也许"}, "转介就医"),
    ({"note": "只写了备注"}, "复核结果"),
    ({"outcome": "复核确认", "on_date": dt.date(2026, 9, 19)}, "复核日期"),  # before listed
    ({"outcome": "复核未确认", "new_tier": "区级预警"}, "调整后级别"),      # not lower
    ({"outcome": "复核未确认", "new_tier": "校级预警"}, "调整后级别"),      # the same tier
])
def test_each_invalid_row_names_its_column(cells: dict, column: str) -> None:
    entries, errors, blank = _check(_rows(**cells))
    assert not entries and blank == 0
    assert column in {e.column for e in errors}
    assert all(e.row == 3 and e.file == "f.xlsx" for e in errors)
    assert not any("s1" in str(e) or "s2" in str(e) or "nobody" in str(e) for e in errors)


def test_numeric_id_hints_at_lost_leading_zeros() -> None:
    _, errors, _ = _check(_rows(outcome="复核确认", pupil_id=42.0))
    assert errors and "leading zeros" in errors[0].message


def test_not_confirmed_may_lower_the_tier() -> None:
    entries, errors, _ = _check(_rows(outcome="复核未确认", new_tier="班级关注"))
    assert not errors and entries[0].tier == "class"


def test_valid_rows_become_a_review_and_actions() -> None:
    entries, errors, blank = _check(_rows(outcome="复核调整级别", new_tier="班级关注",
                                          measures="面谈、家校沟通", referral="是"))
    assert not errors and blank == 0
    kinds = [e.kind for e in entries]
    assert kinds == ["review", "interview", "parent_contact", "referral"]
    assert entries[0].outcome == "tier_changed" and entries[0].tier == "class"
    assert len({e.source_key for e in entries}) == 4
    again, _, _ = _check(_rows(outcome="复核调整级别", new_tier="班级关注",
                               measures="面谈、家校沟通", referral="是"))
    assert [e.source_key for e in again] == [e.source_key for e in entries]


def test_off_list_pupil_accepted_when_marked_and_blank_rows_skipped() -> None:
    rows = pd.concat([_rows(outcome="复核确认", pupil_id="s2", off_list="是"),
                      _rows(sheet_row=4, by=None, on_date=None)])
    entries, errors, blank = _check(rows)
    assert not errors and blank == 1 and [e.kind for e in entries] == ["review"]


def test_conflicting_rows_for_one_pupil() -> None:
    rows = pd.concat([_rows(outcome="复核确认"), _rows(sheet_row=9, outcome="复核未确认")])
    _, errors, _ = _check(rows)
    assert [(e.row, e.column) for e in errors] == [(9, "复核结果")]


def test_tier_deadlines_lookup() -> None:
    assert RULES.for_tier("class") == TierDeadlines(review=Deadline(within=14))
    assert RULES.for_tier("critical_item").review.within == 0
