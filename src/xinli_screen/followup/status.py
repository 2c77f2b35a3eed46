"""Follow-up states and loop-closure figures of one wave (pure functions of DataFrames).

For every pupil put on a wave's warning list (a tier above none before any review, a
critical answer, or a sheet to retest) the state of the two steps that close the loop:

- the **复核** (review): due ``review`` after the start under the policy's
  :class:`~xinli_screen.policy.models.FollowUpRules`; states ``done`` (a review recorded by
  the due date), ``late`` (recorded after it), ``pending`` (none yet, not due), ``overdue``
  (none, past due) or ``no_deadline`` (none, and the policy declares no deadline);
- the **first action** (面谈, 家校沟通, 转介 ...): due ``action`` after the start; the same
  states, plus ``not_required`` when the policy declares no action deadline for the tier and
  no critical answer calls for one, or when the latest review did not confirm the warning.

A pupil with a critical answer is due by the earlier of the tier's and the
``critical_item`` deadlines, and is flagged until an interview (面谈) is recorded. Dates are
local dates in the wave's time zone; a deadline falls at the end of its day, so a review on
the due date is on time. Only reviews and actions dated on or before ``as_of`` count, so a
list "as of" an earlier date shows what was open then.

:func:`loop_figures` summarises the table per group: the figures a district reports upward
(pupils listed, reviewed, median days to review, overdue, share of 区级/校级 pupils with an
action, critical answers without an interview, referrals, returns to school, closed files).
No function here logs or raises with a pupil id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from xinli_screen.policy.models import Deadline, FollowUpRules

__all__ = ["ACTION_STATES", "REVIEW_STATES", "due_date", "follow_up_states", "loop_figures"]

#: Review states with their Chinese wording.
REVIEW_STATES: dict[str, str] = {
    "done": "已复核",
    "late": "已复核（逾期）",
    "pending": "待复核",
    "overdue": "复核逾期",
    "no_deadline": "待复核（未设期限）",
}
#: First-action states with their Chinese wording.
ACTION_STATES: dict[str, str] = {
    "done": "已干预",
    "late": "已干预（逾期）",
    "pending": "待干预",
    "overdue": "干预逾期",
    "no_deadline": "待干预（未设期限）",
    "not_required": "无需干预",
}
_RANK = {"none": 0, "class": 1, "school": 2, "district": 3}


def due_date(start: dt.date, deadline: Deadline, holidays: Sequence[dt.date] = ()) -> dt.date:
    """The local date by which something started on ``start`` is due.

    Parameters
    ----------
    start : date
        The day the pupil was listed.
    deadline : Deadline
        ``within`` days (``0`` = the same day) of ``unit`` ``days`` or ``school_days``.
    holidays : sequence of date
        Weekday holidays skipped by ``school_days``.

    Returns
    -------
    date
        For ``school_days``, a start on a weekend or holiday first rolls forward to the next
        school day (``numpy.busday_offset(start, within, roll="forward")``).
    """
    if deadline.unit == "days":
        return start + dt.timedelta(days=deadline.within)
    out = np.busday_offset(np.datetime64(start, "D"), deadline.within, roll="forward",
                           holidays=[np.datetime64(h, "D") for h in holidays])
    return pd.Timestamp(out).date()


def _first(events: pd.DataFrame, keys: pd.Series, as_of: dt.date,
           kinds: Sequence[str] | None = None) -> tuple[pd.Series, pd.Series]:
    """First event date (and kind) per pupil, counting events dated up to ``as_of``."""
    if not len(events):
        empty = pd.Series([None] * len(keys), index=keys.index, dtype=object)
        return empty, empty.copy()
    ev = events[events["on_date"] <= as_of]
    if kinds is not None:
        ev = ev[ev["kind"].isin(kinds)]
    ev = ev.sort_values(["on_date"], kind="stable").groupby("pupil_id", sort=False).head(1)
    ev = ev.set_index("pupil_id")
    date = keys.map(ev["on_date"]) if len(ev) else pd.Series([None] * len(keys), index=keys.index)
    kind = (keys.map(ev["kind"]) if "kind" in ev.columns and len(ev)
            else pd.Series([None] * len(keys), index=keys.index))
    return date.astype(object).where(date.notna(), None), kind.astype(object)


def _state(done_on: pd.Series, due: pd.Series, as_of: dt.date) -> np.ndarray:
    out = np.empty(len(done_on), dtype=object)
    for k, (d, u) in enumerate(zip(done_on, due, strict=True)):
        if d is not None:
            out[k] = "done" if u is None or d <= u else "late"
        elif u is None:
            out[k] = "no_deadline"
        else:
            out[k] = "overdue" if as_of > u else "pending"
    return out


def follow_up_states(listed: pd.DataFrame, reviews: pd.DataFrame, actions: pd.DataFrame,
                     rules: FollowUpRules | None, as_of: dt.date) -> pd.DataFrame:
    """The follow-up state of every listed pupil.

    Parameters
    ----------
    listed : DataFrame, shape (n, ...)
        One row per listed pupil: ``pupil_id``, ``tier`` (the tier listed with, before any
        review: ``none``/``class``/``school``/``district``), ``critical_items`` (text, "" when
        none), optionally ``critical_unknown`` (critical items whose answer is unknown: due
        and followed up like a critical answer), ``start`` (local date listed),
        ``latest_outcome`` (latest review outcome or None); other columns are kept.
    reviews : DataFrame, shape (k, ...)
        Reviews of the wave: ``pupil_id``, ``on_date`` (local date).
    actions : DataFrame, shape (m, ...)
        Actions of the wave: ``pupil_id``, ``kind`` (``interview``, ``parent_contact``,
        ``referral``, ``return_to_school``, ``other``), ``on_date``.
    rules : FollowUpRules or None
        The wave's policy deadlines; None gives states without due dates.
    as_of : date
        The day the list is drawn up (local date).

    Returns
    -------
    DataFrame, shape (n, ...)
        ``listed`` plus ``review_due``, ``reviewed_on``, ``review_state``,
        ``days_to_review``, ``review_days_overdue``, ``action_due``, ``first_action_on``,
        ``first_action``, ``action_state``, ``action_days_overdue``, ``interviewed``,
        ``critical_no_interview``, ``referred``, ``returned``, ``closed`` and ``todo``
        (something is still open: a review or action pending or overdue, or a critical
        answer without an interview).
    """
    out = listed.copy().reset_index(drop=True)
    ids = out["pupil_id"].astype(str)
    reviews = reviews.assign(pupil_id=reviews["pupil_id"].astype(str)) if len(reviews) \
        else reviews
    actions = actions.assign(pupil_id=actions["pupil_id"].astype(str)) if len(actions) \
        else actions
    holidays = rules.holidays if rules is not None else ()
    critical = out["critical_items"].fillna("").astype(str).ne("").to_numpy()
    if "critical_unknown" in out:  # an unanswered critical item is asked about the same way
        critical = critical | out["critical_unknown"].fillna("").astype(str).ne("").to_numpy()
    review_due, action_due = [], []
    for tier, start, crit in zip(out["tier"].astype(str), out["start"], critical, strict=True):
        spec = rules.for_tier(tier) if rules is not None and tier != "none" else None
        crit_spec = rules.critical_item if rules is not None and crit else None
        dues = [due_date(start, s.review, holidays) for s in (spec, crit_spec) if s]
        review_due.append(min(dues) if dues else None)
        adues = [due_date(start, s.action, holidays) for s in (spec, crit_spec)
                 if s and s.action is not None]
        action_due.append(min(adues) if adues else None)
    out["review_due"] = review_due
    out["reviewed_on"], _ = _first(reviews, ids, as_of)
    out["review_state"] = _state(out["reviewed_on"], out["review_due"], as_of)
    out["days_to_review"] = pd.array(
        [None if d is None else (d - s).days
         for d, s in zip(out["reviewed_on"], out["start"], strict=True)], dtype="Int64")
    out["review_days_overdue"] = pd.array(
        [(as_of - u).days if st == "overdue" else None
         for st, u in zip(out["review_state"], out["review_due"], strict=True)],
        dtype="Int64")
    out["first_action_on"], out["first_action"] = _first(actions, ids, as_of)
    outcome = out["latest_outcome"].astype(object)
    dismissed = outcome.isin(["not_confirmed", "closed"]).to_numpy() & ~critical
    out["action_due"] = [None if d else u for d, u in zip(dismissed, action_due, strict=True)]
    state = _state(out["first_action_on"], out["action_due"], as_of)
    no_need = out["first_action_on"].isna().to_numpy() & (
        dismissed | (out["action_due"].isna().to_numpy() & ~critical))
    state[no_need] = "not_required"
    out["action_state"] = state
    out["action_days_overdue"] = pd.array(
        [(as_of - u).days if st == "overdue" else None
         for st, u in zip(state, out["action_due"], strict=True)], dtype="Int64")
    interview, _ = _first(actions, ids, as_of, kinds=["interview"])
    out["interviewed"] = interview.notna().to_numpy()
    out["critical_no_interview"] = critical & ~out["interviewed"].to_numpy()
    referral, _ = _first(actions, ids, as_of, kinds=["referral"])
    back, _ = _first(actions, ids, as_of, kinds=["return_to_school"])
    out["referred"] = referral.notna().to_numpy()
    out["returned"] = back.notna().to_numpy()
    out["closed"] = outcome.eq("closed").to_numpy()
    open_review = out["review_state"].isin(["pending", "overdue", "no_deadline"]).to_numpy()
    open_action = out["action_state"].isin(["pending", "overdue", "no_deadline"]).to_numpy()
    out["todo"] = (open_review | open_action | out["critical_no_interview"].to_numpy()) \
        & ~out["closed"].to_numpy()
    return out


def _median(values: pd.Series) -> float | None:
    v = pd.to_numeric(values, errors="coerce").dropna()
    return float(v.median()) if len(v) else None


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def loop_figures(states: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Loop-closure figures per group and in total.

    Parameters
    ----------
    states : DataFrame
        Output of :func:`follow_up_states`.
    by : sequence of str
        Grouping columns (e.g. ``["school"]`` or ``["psychologist"]``); empty for the total
        only.

    Returns
    -------
    DataFrame, one row per group then a total row (``by`` columns "合计 total")
        ``listed``, ``tier_district``, ``tier_school``, ``tier_class`` (pupils listed per
        tier),
        ``critical``, ``reviewed``, ``reviewed_pct``, ``median_days_to_review``,
        ``review_overdue``, ``action_overdue``, ``overdue_pct`` (pupils with any overdue
        step, percent of listed), ``high_tier``, ``high_tier_with_action_pct`` (区级+校级
        pupils with at least one action), ``critical_no_interview``, ``referred``,
        ``returned``, ``closed``, ``held``, ``reopened``, ``todo``.
    """
    def row(sub: pd.DataFrame) -> dict[str, object]:
        tier = sub["tier"].astype(str)
        high = tier.isin(["school", "district"])
        reviewed = sub["review_state"].isin(["done", "late"])
        overdue = sub["review_state"].eq("overdue") | sub["action_state"].eq("overdue")
        acted = sub["first_action_on"].notna()
        return {
            "listed": len(sub), "tier_district": int(tier.eq("district").sum()),
            "tier_school": int(tier.eq("school").sum()),
            "tier_class": int(tier.eq("class").sum()),
            "critical": int(sub["critical_items"].fillna("").astype(str).ne("").sum()),
            "reviewed": int(reviewed.sum()), "reviewed_pct": _pct(int(reviewed.sum()), len(sub)),
            "median_days_to_review": _median(sub["days_to_review"]),
            "review_overdue": int(sub["review_state"].eq("overdue").sum()),
            "action_overdue": int(sub["action_state"].eq("overdue").sum()),
            "overdue_pct": _pct(int(overdue.sum()), len(sub)),
            "high_tier": int(high.sum()),
            "high_tier_with_action_pct": _pct(int((high & acted).sum()), int(high.sum())),
            "critical_no_interview": int(sub["critical_no_interview"].sum()),
            "referred": int(sub["referred"].sum()), "returned": int(sub["returned"].sum()),
            "closed": int(sub["closed"].sum()),
            "held": int(sub["held"].sum()) if "held" in sub else 0,
            "reopened": int(sub["reopened"].sum()) if "reopened" in sub else 0,
            "todo": int(sub["todo"].sum()),
        }

    rows = []
    if by:
        for key, sub in states.groupby(list(by), sort=False, dropna=False):
            key = key if isinstance(key, tuple) else (key,)
            rows.append({**dict(zip(by, key, strict=True)), **row(sub)})
    total = row(states)
    rows.append({**{c: ("合计 total" if k == 0 else "") for k, c in enumerate(by)}, **total})
    return pd.DataFrame(rows)
