"""Independent key check of instruments/phqa.yaml against a second source.

Source A (used to write the YAML): NIMH ASQ toolkit page "PHQ-9 modified for Adolescents
(PHQ-A)" (items 1-11 in order, 0-3 coding) and Johnson et al. 2002.
Source B (typed here, independently): the GLAD-PC toolkit sheet "Scoring the PHQ-9 modified for
Teens" (total = sum of questions 1-9; severity table; item 9 positive at 1-3; the two additional
suicide items must be followed up) together with a public PHQ-A data dictionary that names the
supplemental items phqa_10 (past-year depression), phqa_11 (difficulty), phqa_12 (serious
thoughts of ending one's life, past month) and phqa_13 (lifetime suicide attempt).
"""

from __future__ import annotations

import pandas as pd
from keycheck import keyed_uniform, one_hot_changes

import xinli_screen as xs

INSTRUMENT = "phqa"

# Source B: item number -> scales it feeds.
SOURCE_B = {
    **{n: {"total"} for n in range(1, 10)},
    10: {"depressed_past_year"},
    11: {"functioning"},
    12: set(),
    13: set(),
}
# Source B: critical items (item number, lowest positive answer).
SOURCE_B_CRITICAL = {9: 1, 12: 1, 13: 1}
SOURCE_B_BANDS = [(0, "minimal"), (5, "mild"), (10, "moderate"), (15, "moderately_severe"),
                  (20, "severe")]


def _item_id(number: int) -> str:
    return f"{INSTRUMENT}_{number:02d}"


def test_thirteen_items_numbered_as_printed() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    assert [i.number for i in inst.items] == list(range(1, 14))
    assert list(inst.item_ids) == [_item_id(n) for n in range(1, 14)]


def test_total_is_items_1_to_9() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    assert sorted(inst.scale("total").items) == [_item_id(n) for n in range(1, 10)]


def test_no_item_is_reverse_keyed() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    assert [i.number for i in inst.items if i.reverse_keyed] == []
    assert keyed_uniform(inst, [0.0]).to_numpy().tolist() == [[0.0] * 13]


def test_one_hot_raises_exactly_the_source_b_scales() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    changes = one_hot_changes(inst)
    for item in inst.items:
        raised, _ = changes[item.id]
        assert raised == SOURCE_B[item.number], item.id


def test_critical_items_match_source_b() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    declared = {int(c.item.split("_")[1]): c for c in inst.critical_items}
    assert set(declared) == set(SOURCE_B_CRITICAL)
    assert all(c.active for c in declared.values())
    for number, lowest in SOURCE_B_CRITICAL.items():
        item = _item_id(number)
        zeros = {i: 0.0 for i in inst.item_ids}
        frame = pd.DataFrame([zeros, {**zeros, item: float(lowest)}])
        flags = xs.critical_item_flags(frame, inst)
        col = f"{INSTRUMENT}.{declared[number].id}"
        assert not bool(flags.loc[0, col]) and bool(flags.loc[1, col]), item


def test_severity_bands_match_source_b() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    assert [(b.min, b.id) for b in inst.scale("total").bands] == SOURCE_B_BANDS
    cut = {c.id: (c.op, c.value) for c in inst.scale("total").cutoffs}
    # Source B: "A total PHQ-9 score > 10 has a good sensitivity and specificity for MDD".
    assert cut["screen_positive_adolescent"] == (">", 10)
