"""Independent key check for the Zung SAS (instruments/sas.yaml).

YAML key typed from: the Chinese manual text (汪向东 et al. 1999) as reproduced on igbc.cn and
restated by 毛巧玲 (haodf): items 5, 9, 13, 17, 19 reverse-scored; standard score = integer part
of raw x 1.25; cut-off 50.
Second source (typed here): Zung's English 'Anxiety Self-Assessment Scale' form with printed
scoring values (items 5, 9, 13, 17, 19 printed 4-3-2-1, the others 1-2-3-4) and its printed
raw-to-index conversion table (a scanned copy reproduced on scribd).
"""

from __future__ import annotations

import math

import pytest
from keycheck import keyed_uniform, one_hot_changes, one_hot_scores, score_rows

import xinli_screen as xs

SECOND_SOURCE_REVERSED = {5, 9, 13, 17, 19}
SECOND_SOURCE_SCALES = {n: {"raw", "index"} for n in range(1, 21)}
# Zung's printed conversion table (raw -> anxiety index), a selection of rows; halves round up
ZUNG_TABLE = {20: 25, 21: 26, 24: 30, 25: 31, 26: 33, 27: 34, 28: 35, 29: 36, 30: 38, 31: 39,
              32: 40, 33: 41, 34: 43, 35: 44, 36: 45, 37: 46, 38: 48, 39: 49, 40: 50, 41: 51,
              44: 55, 45: 56, 46: 58, 47: 59, 48: 60, 49: 61, 50: 63, 51: 64, 52: 65, 53: 66,
              54: 68, 55: 69, 56: 70, 57: 71, 58: 73, 59: 74, 60: 75, 61: 76, 64: 80, 65: 81,
              66: 83, 67: 84, 68: 85, 69: 86, 70: 88, 71: 89, 72: 90, 73: 91, 75: 94,
              76: 95, 77: 96, 78: 98, 79: 99}
# The reproduced table prints raw 74 -> 92, the only row that does not round 92.5 up (a typo
# in the table or its scan); the Chinese floor gives 92 there as well.
ZUNG_TABLE_ANOMALY = {74: 92}


@pytest.fixture(scope="module")
def inst() -> xs.Instrument:
    return xs.load_instrument("sas")


def test_items_numbered_as_printed(inst: xs.Instrument) -> None:
    assert [i.number for i in inst.items] == list(range(1, 21))
    assert inst.item_ids == tuple(f"sas_{k:02d}" for k in range(1, 21))


def test_one_hot_raises_exactly_the_listed_scales(inst: xs.Instrument) -> None:
    changes = one_hot_changes(inst)
    scores = one_hot_scores(inst)
    for k, item in enumerate(inst.items, start=1):
        raised, _ = changes[item.id]
        assert raised == SECOND_SOURCE_SCALES[item.number], item.id
        assert scores.loc[k, "sas.raw"] == 23


def test_reverse_keys_match_second_source(inst: xs.Instrument) -> None:
    assert {i.number for i in inst.items if i.reverse_keyed} == SECOND_SOURCE_REVERSED
    # the printed form: answering the first column ('a little of the time') everywhere
    keyed = keyed_uniform(inst, [1.0]).iloc[0]
    for item in inst.items:
        assert keyed[item.id] == (4 if item.number in SECOND_SOURCE_REVERSED else 1), item.id


def test_index_floor_versus_zung_table(inst: xs.Instrument) -> None:
    """Chinese integer part vs Zung's rounded table: equal, or one lower where raw x 1.25
    ends in .5 or .75."""
    rows = []
    for total in ZUNG_TABLE:
        excess = total - 20
        row = {}
        for item in inst.items:
            step = min(3, excess)
            excess -= step
            row[item.id] = 4 - step if item.reverse_keyed else 1 + step
        rows.append(row)
    scores = score_rows(inst, rows)
    for total, index in zip(ZUNG_TABLE, scores["sas.index"], strict=True):
        assert index == math.floor(total * 1.25)
        fraction = total * 1.25 - math.floor(total * 1.25)
        assert ZUNG_TABLE[total] - index == (1 if fraction >= 0.5 else 0), total


def test_zung_table_anomaly_equals_floor(inst: xs.Instrument) -> None:
    assert all(math.floor(raw * 1.25) == index for raw, index in ZUNG_TABLE_ANOMALY.items())


def test_chinese_cutoff_and_bands(inst: xs.Instrument) -> None:
    index = inst.scale("index")
    assert [b.min for b in index.bands] == [25, 50, 60, 70]
    cuts = {c.id: (c.op, c.value) for c in index.cutoffs}
    assert cuts == {"screen_positive_cn": (">=", 50), "index_45": (">=", 45)}
