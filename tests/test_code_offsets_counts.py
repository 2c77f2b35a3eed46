"""Issue 17: the vectorised counts of the code-offset check equal a plain reference.

The reference below is written from the definition in the module docstring of
:mod:`xinli_screen.code_offsets`, cell by cell in Python: per instrument and response scale
with contiguous codes ``lo..hi`` (the items that share it pooled, items without a column
skipped), with the shifts already applied undone, count the answered cells and the answer
sheets with at least one of them, the uses of ``lo``, ``lo + 1`` and ``hi``, and among the
out-of-range failures of those items ``hi + 1``, ``lo - 1`` and the others (every one of them
an answer too). The vectorised :func:`~xinli_screen.code_offsets._scale_counts` must give the
same numbers on random answer blocks with missing values, out-of-range codes, text cells and
several scales (PHQ-9's two scales, GAD-7, SCL-90 coded 1-5), read ``auto``, ``shift-down``
or ``shift-up``; and the run's check must return what the two public functions return.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import astuple

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xinli_screen.code_offsets import (
    _scale_counts,
    check_code_offsets,
    detect_code_offsets,
    possible_code_offsets,
    shift_for,
)
from xinli_screen.instrument.registry import load_instrument
from xinli_screen.responses import prepare_responses

INSTRUMENTS = {name: load_instrument(name) for name in ("phq9", "gad7", "scl90")}
#: SCL-90 has 90 items: a few of them keep the examples small (the others have no column).
SCL_ITEMS = [f"scl90_{i:02d}" for i in (1, 2, 3, 4, 5, 12)]


def _number(value: object) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def reference_counts(responses: pd.DataFrame, failures: pd.DataFrame, instruments,
                     shifts) -> list[tuple]:
    """The docstring's counts, one cell at a time (tuples as ``_scale_counts`` gives them)."""
    out = []
    for inst in instruments:
        groups: dict[str, tuple[list[int], list[str]]] = {}
        for item in inst.items:
            codes = list(inst.response_scale_of(item).codes)
            contiguous = len(codes) >= 2 and codes == list(range(codes[0], codes[-1] + 1))
            if item.id in responses.columns and contiguous:
                rs_id = inst.response_scale_of(item).id
                groups.setdefault(rs_id, (codes, []))[1].append(item.id)
        for scale_id, (codes, items) in groups.items():
            lo, hi = codes[0], codes[-1]
            cells = []
            sheets = 0
            for r in range(len(responses)):
                row = [responses[i].iloc[r] - shifts.get(i, 0.0) for i in items
                       if not math.isnan(responses[i].iloc[r])]
                cells += row
                sheets += bool(row)
            outside = [_number(f.value) - shifts.get(f.item, 0.0)
                       for f in failures.itertuples()
                       if f.code == "out-of-range" and f.item in items]
            above = sum(v == hi + 1 for v in outside)
            below = sum(v == lo - 1 for v in outside)
            record = (inst.id, "", "", lo, hi, sheets, len(cells) + len(outside),
                      sum(v == lo for v in cells), sum(v == lo + 1 for v in cells),
                      sum(v == hi for v in cells), above, below, len(items), scale_id)
            out.append((record, len(outside) - above - below, len(codes)))
    return out


def _vectorised(responses, failures, instruments, shifts) -> list[tuple]:
    return [(astuple(c), others, n) for c, others, n in
            _scale_counts(responses, failures, instruments, shifts)]


@st.composite
def answer_files(draw):
    """Raw answers (numbers one or two outside the codes, blanks, text, halves), the chosen
    instruments and how their numbers are read; often shifted up or down as a whole."""
    names = draw(st.lists(st.sampled_from(sorted(INSTRUMENTS)), min_size=1, max_size=3,
                          unique=True))
    n = draw(st.integers(0, 40))
    columns = {}
    for name in names:
        inst = INSTRUMENTS[name]
        ids = SCL_ITEMS if name == "scl90" else [i.id for i in inst.items]
        ids = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=len(ids), unique=True))
        move = draw(st.sampled_from([0, 0, 1, -1]))  # the whole file coded one off
        by_id = {i.id: i for i in inst.items}
        for item in ids:
            codes = inst.response_scale_of(by_id[item]).codes
            pool = [c + move for c in codes] + [codes[0] - 2, codes[0] - 1, codes[-1] + 1,
                                                codes[-1] + 2, math.nan, math.nan, 1.5, "x"]
            columns[item] = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    modes = {name: draw(st.sampled_from(["auto", "code", "shift-down", "shift-up"]))
             for name in names}
    return pd.DataFrame(columns, dtype=object), [INSTRUMENTS[m] for m in names], modes


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer_files())
def test_vectorised_counts_equal_the_cell_by_cell_reference(case):
    raw, insts, modes = case
    shifts = shift_for(modes, insts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_responses(raw, insts, shifts=shifts)
    responses, failures = prepared.responses, prepared.failures
    assert (_vectorised(responses, failures, insts, shifts)
            == reference_counts(responses, failures, insts, shifts))


@settings(max_examples=100, deadline=None)
@given(data=st.data(), n=st.integers(0, 30), shifted=st.booleans())
def test_counts_on_any_numbers_and_failures_table(data, n, shifted):
    """Not only what ``prepare_responses`` leaves: codes outside the scale, halves, -0.0 and
    infinities in the answer block, and failures whose value is text or another code."""
    insts = [INSTRUMENTS["phq9"], INSTRUMENTS["scl90"]]
    items = [f"phq9_{i:02d}" for i in range(1, 11)] + SCL_ITEMS
    pool = [-1.0, -0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 2.5, math.nan, math.inf]
    block = {i: data.draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
             for i in items}
    responses = pd.DataFrame(block, dtype=float)
    k = data.draw(st.integers(0, 20))
    failures = pd.DataFrame({
        "row": list(range(k)),
        "item": data.draw(st.lists(st.sampled_from([*items, "other_01"]), min_size=k,
                                   max_size=k)),
        "code": data.draw(st.lists(st.sampled_from(["out-of-range", "not-a-code"]),
                                   min_size=k, max_size=k)),
        "value": data.draw(st.lists(st.sampled_from(["-1", "0", "4", "5", "6", "4.0", "abc"]),
                                    min_size=k, max_size=k)),
    })
    shifts = shift_for({"phq9": "shift-down", "scl90": "shift-up"}, insts) if shifted else {}
    assert (_vectorised(responses, failures, insts, shifts)
            == reference_counts(responses, failures, insts, shifts))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer_files())
def test_the_run_check_returns_what_the_public_functions_find(case):
    """``check_code_offsets`` counts once for both: with every instrument read ``code`` it
    returns :func:`detect_code_offsets` (warned, not refused); read ``auto`` without evidence
    it returns :func:`possible_code_offsets`."""
    raw, insts, _ = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_responses(raw, insts)
        args = (prepared.responses, prepared.failures, insts)
        found = detect_code_offsets(*args)
        assert check_code_offsets(*args, {i.id: "code" for i in insts}) == found
        if not found:
            assert check_code_offsets(*args, {i.id: "auto" for i in insts}) == (
                possible_code_offsets(*args))
