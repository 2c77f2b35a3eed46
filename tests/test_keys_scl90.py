"""Independent key check of instruments/scl90.yaml against a second source.

Source A (used to write the YAML): 汪向东, 王希林, 马弘 (1999) 心理卫生评定量表手册(增订版),
SCL-90 entry (as reproduced at m.qiqiwenku.com/doc/637247.html).
Source B (typed here, independently): Derogatis LR (1994) SCL-90-R Administration, Scoring and
Procedures Manual, dimension table as published in awell-health/awell-score,
src/calculation_suite/calculations/scl90r/README.md. Item order is the same in the Chinese
version (王征宇 1984); no item is reverse-keyed in either source.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from keycheck import keyed_uniform, one_hot_changes, score_rows

import xinli_screen as xs

INSTRUMENT = "scl90"

# Source B: dimension -> item positions in the SCL-90(-R).
SOURCE_B = {
    "somatization": (1, 4, 12, 27, 40, 42, 48, 49, 52, 53, 56, 58),
    "obsessive_compulsive": (3, 9, 10, 28, 38, 45, 46, 51, 55, 65),
    "interpersonal_sensitivity": (6, 21, 34, 36, 37, 41, 61, 69, 73),
    "depression": (5, 14, 15, 20, 22, 26, 29, 30, 31, 32, 54, 71, 79),
    "anxiety": (2, 17, 23, 33, 39, 57, 72, 78, 80, 86),
    "hostility": (11, 24, 63, 67, 74, 81),
    "phobic_anxiety": (13, 25, 47, 50, 70, 75, 82),
    "paranoid_ideation": (8, 18, 43, 68, 76, 83),
    "psychoticism": (7, 16, 35, 62, 77, 84, 85, 87, 88, 90),
    "additional": (19, 44, 59, 60, 64, 66, 89),
}
# Indices computed over all 90 items (Derogatis: total / GSI / PST).
ALL_ITEM_SCALES = {"total", "gsi", "positive_items"}
# Derived indices that do not rise with a single answer (checked separately below).
DERIVED = {"negative_items", "positive_mean"}


def _item_id(number: int) -> str:
    return f"{INSTRUMENT}_{number:02d}"


def _expected_scales(number: int) -> set[str]:
    factors = {name for name, items in SOURCE_B.items() if number in items}
    return factors | ALL_ITEM_SCALES


def test_source_b_is_a_partition_of_90_items() -> None:
    numbers = sorted(n for items in SOURCE_B.values() for n in items)
    assert numbers == list(range(1, 91))


def test_factor_item_lists_match_source_b() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    for name, numbers in SOURCE_B.items():
        assert sorted(inst.scale(name).items) == sorted(_item_id(n) for n in numbers), name


def test_one_hot_raises_exactly_the_source_b_scales() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    changes = one_hot_changes(inst, skip=DERIVED)
    for item in inst.items:
        raised, lowered = changes[item.id]
        assert raised == _expected_scales(item.number), item.id
        assert lowered == set(), item.id


def test_no_reverse_keyed_items() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    assert [i.number for i in inst.items if i.reverse_keyed] == []
    assert (keyed_uniform(inst, [3.0]).to_numpy() == 3.0).all()


def test_coding_is_chinese_one_to_five() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    scale = inst.response_scales[0]
    assert scale.codes == (1, 2, 3, 4, 5)
    assert [o.label.zh for o in scale.options] == ["没有", "很轻", "中等", "偏重", "严重"]


def test_not_consecutive_blocks() -> None:
    """The known public bug: factors as consecutive item blocks (1-12, 13-22, ...)."""
    inst = xs.load_instrument(INSTRUMENT)
    assert inst.scale("somatization").items != tuple(_item_id(n) for n in range(1, 13))
    assert inst.scale("obsessive_compulsive").items != tuple(_item_id(n) for n in range(13, 23))


def test_death_and_suicide_items() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    by_id = {c.id: c for c in inst.critical_items}
    assert by_id["suicidal_thoughts"].item == _item_id(15)
    assert by_id["suicidal_thoughts"].active
    assert by_id["death_thoughts"].item == _item_id(59)
    assert not by_id["death_thoughts"].active
    assert 15 in SOURCE_B["depression"] and 59 in SOURCE_B["additional"]


@pytest.mark.parametrize(("answer", "total_positive", "factor_ge2", "factor_gt2"),
                         [(1, False, False, False), (2, True, True, False),
                          (3, True, True, True)])
def test_screen_positive_boundaries(answer: int, total_positive: bool, factor_ge2: bool,
                                    factor_gt2: bool) -> None:
    inst = xs.load_instrument(INSTRUMENT)
    scores = score_rows(inst, [np.full(90, float(answer))])
    assert bool(scores.loc[0, "scl90.total.screen_positive"]) is total_positive
    assert bool(scores.loc[0, "scl90.positive_items.screen_positive"]) is total_positive
    assert bool(scores.loc[0, "scl90.depression.screen_positive"]) is factor_ge2
    assert bool(scores.loc[0, "scl90.depression.screen_positive_strict"]) is factor_gt2


def test_total_cutoff_is_strictly_above_160() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    at_160 = np.ones(90)
    at_160[:70] = 2.0  # 70 x 2 + 20 x 1 = 160
    at_161 = at_160.copy()
    at_161[70] = 2.0
    scores = score_rows(inst, [at_160, at_161])
    assert scores["scl90.total"].tolist() == [160.0, 161.0]
    assert scores["scl90.total.screen_positive"].tolist() == [False, True]


def test_negative_items_and_positive_symptom_mean() -> None:
    """汪向东 1999: 阴性项目数 = items at 1; 阳性症状均分 = (总分 - 阴性项目数) / 阳性项目数."""
    inst = xs.load_instrument(INSTRUMENT)
    answers = [1.0] * 90
    answers[14], answers[58], answers[0] = 5.0, 3.0, 2.0  # items 15, 59, 1
    scores = score_rows(inst, [answers, [1.0] * 90])
    total, negative, positive = 87 + 10, 87, 3
    assert scores.loc[0, "scl90.total"] == total
    assert scores.loc[0, "scl90.negative_items"] == negative
    assert scores.loc[0, "scl90.positive_items"] == positive
    assert scores.loc[0, "scl90.positive_mean"] == (total - negative) / positive
    assert scores.loc[1, "scl90.negative_items"] == 90
    assert pd.isna(scores.loc[1, "scl90.positive_mean"])  # undefined, not 0
