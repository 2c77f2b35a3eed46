"""Independent key check for the Zung SDS (instruments/sds.yaml).

YAML key typed from: the Chinese manual text (汪向东 et al. 1999, 心理卫生评定量表手册) as restated
by 江苏大学 心灵港 and 毛巧玲 (haodf): reverse items 2, 5, 6, 11, 12, 14, 16, 17, 18, 20;
standard score = integer part of raw x 1.25; cut-off 53.
Second source (typed here): Zung's English form as reproduced by the MDApp / thecalculator.co
SDS calculators (items 1, 3, 4, 7, 8, 9, 10, 13, 15, 19 scored 1-4 from 'a little of the time';
items 2, 5, 6, 11, 12, 14, 16, 17, 18, 20 scored 4-1), and McDowell (2006): index = raw / 0.8.
"""

from __future__ import annotations

import math

import pytest
from keycheck import keyed_uniform, one_hot_changes, one_hot_scores, score_rows

import xinli_screen as xs

SECOND_SOURCE_REVERSED = {2, 5, 6, 11, 12, 14, 16, 17, 18, 20}
SECOND_SOURCE_DIRECT = {1, 3, 4, 7, 8, 9, 10, 13, 15, 19}
# every item belongs to the single total (raw) and to the index derived from it
SECOND_SOURCE_SCALES = {n: {"raw", "index"} for n in range(1, 21)}


@pytest.fixture(scope="module")
def inst() -> xs.Instrument:
    return xs.load_instrument("sds")


def test_items_numbered_as_printed(inst: xs.Instrument) -> None:
    assert [i.number for i in inst.items] == list(range(1, 21))
    assert inst.item_ids == tuple(f"sds_{k:02d}" for k in range(1, 21))


def test_one_hot_raises_exactly_the_listed_scales(inst: xs.Instrument) -> None:
    changes = one_hot_changes(inst)
    scores = one_hot_scores(inst)
    for k, item in enumerate(inst.items, start=1):
        raised, _ = changes[item.id]
        assert raised == SECOND_SOURCE_SCALES[item.number], item.id
        assert scores.loc[k, "sds.raw"] == 23  # 20 + (4 - 1)


def test_reverse_keys_match_second_source(inst: xs.Instrument) -> None:
    assert {i.number for i in inst.items if i.reverse_keyed} == SECOND_SOURCE_REVERSED
    assert set(range(1, 21)) == SECOND_SOURCE_REVERSED | SECOND_SOURCE_DIRECT
    keyed = keyed_uniform(inst, [1.0]).iloc[0]
    for item in inst.items:
        expected = 4 if item.number in SECOND_SOURCE_REVERSED else 1
        assert keyed[item.id] == expected, item.id


def test_index_is_integer_part_of_raw_over_080(inst: xs.Instrument) -> None:
    """Every raw total 20-80: index = floor(raw / 0.8); differs from Zung's rounded table
    by at most 1 (only where raw x 1.25 ends in .5 or .75)."""
    rows = []
    for total in range(20, 81):
        excess = total - 20  # spread (answer - 1) over the direct items, then the reversed ones
        row = {}
        for item in inst.items:
            step = min(3, excess)
            excess -= step
            row[item.id] = 4 - step if item.reverse_keyed else 1 + step
        rows.append(row)
    scores = score_rows(inst, rows)
    for total, (raw, index) in zip(range(20, 81), scores[["sds.raw", "sds.index"]].to_numpy(),
                                   strict=True):
        assert raw == total
        assert index == math.floor(total / 0.8)
        assert math.floor(total * 1.25 + 0.5) - index in (0, 1)


def test_chinese_cutoff_and_bands(inst: xs.Instrument) -> None:
    index = inst.scale("index")
    assert [b.min for b in index.bands] == [25, 53, 63, 73]
    cuts = {c.id: (c.op, c.value) for c in index.cutoffs}
    assert cuts == {"screen_positive_cn": (">=", 53), "screen_positive_zung": (">=", 50)}
