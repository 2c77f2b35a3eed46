"""Independent key check of instruments/mssmhs.yaml against a second source.

Source A (used to write the YAML): Baidu Zhidao answer citing 王极盛 et al. (1997), stored at
uczhidao.com/wenda/57067014.
Source B (typed here, independently): a public Vue.js school-survey implementation (array
``factorIndex`` with ``factorNames``); factors 1-3 also match 360docs.net/doc/8a9108910.html.
Neither source reverse-keys an item; factor and overall scores are item means.
"""

from __future__ import annotations

import pytest
from keycheck import keyed_uniform, one_hot_changes, score_rows

import xinli_screen as xs

INSTRUMENT = "mssmhs"

# Source B, in its own order: 强迫, 偏执, 敌对, 人际关系紧张敏感, 抑郁, 焦虑, 学习压力感,
# 适应不良, 情绪不稳定, 心理不平衡.
SOURCE_B = {
    "obsessive_compulsive": (3, 10, 12, 22, 23, 48),
    "paranoid": (11, 20, 24, 26, 47, 49),
    "hostility": (19, 21, 25, 50, 52, 58),
    "interpersonal_sensitivity": (4, 17, 18, 45, 51, 59),
    "depression": (5, 13, 14, 16, 44, 57),
    "anxiety": (6, 15, 34, 43, 46, 56),
    "academic_stress": (31, 33, 36, 38, 40, 55),
    "maladjustment": (1, 8, 9, 29, 39, 41),
    "emotional_instability": (2, 7, 27, 32, 35, 53),
    "psychological_imbalance": (28, 30, 37, 42, 54, 60),
}


def _item_id(number: int) -> str:
    return f"{INSTRUMENT}_{number:02d}"


def test_source_b_is_a_partition_of_60_items() -> None:
    numbers = sorted(n for items in SOURCE_B.values() for n in items)
    assert numbers == list(range(1, 61))


def test_factor_item_lists_match_source_b() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    for name, numbers in SOURCE_B.items():
        assert sorted(inst.scale(name).items) == sorted(_item_id(n) for n in numbers), name
    assert sorted(inst.scale("total_mean").items) == [_item_id(n) for n in range(1, 61)]


def test_one_hot_raises_exactly_the_source_b_scales() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    changes = one_hot_changes(inst)
    for item in inst.items:
        raised, lowered = changes[item.id]
        expected = {name for name, items in SOURCE_B.items() if item.number in items}
        assert raised == expected | {"total_mean"}, item.id
        assert lowered == set(), item.id


def test_no_reverse_keyed_items() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    assert not any(i.reverse_keyed for i in inst.items)
    assert (keyed_uniform(inst, [4.0]).to_numpy() == 4.0).all()


@pytest.mark.parametrize(("mean_items", "band"),
                         [((1, 1, 1, 1, 1, 1), "none"),
                          ((2, 2, 2, 2, 2, 1), "none"),
                          ((2, 2, 2, 2, 2, 2), "mild"),
                          ((3, 3, 3, 3, 3, 2), "mild"),
                          ((3, 3, 3, 3, 3, 3), "moderate"),
                          ((4, 4, 4, 4, 4, 4), "fairly_severe"),
                          ((5, 5, 5, 5, 5, 4), "fairly_severe"),
                          ((5, 5, 5, 5, 5, 5), "very_severe")])
def test_mean_bands(mean_items: tuple[int, ...], band: str) -> None:
    inst = xs.load_instrument(INSTRUMENT)
    row = {i: 1.0 for i in inst.item_ids}
    for number, value in zip(SOURCE_B["depression"], mean_items, strict=True):
        row[_item_id(number)] = float(value)
    scores = score_rows(inst, [row])
    assert scores.loc[0, "mssmhs.depression"] == pytest.approx(sum(mean_items) / 6)
    assert scores.loc[0, "mssmhs.depression.band"] == band
    assert bool(scores.loc[0, "mssmhs.depression.attention"]) is (band != "none")
