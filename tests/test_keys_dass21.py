"""Independent key check for DASS-21 (instruments/dass21.yaml).

YAML key typed from: Lovibond & Lovibond (1995) manual scoring template as restated by the
UW-Madison Addiction Research Center DASS21 page (J. Curtin).
Second source (typed here): the simplified Chinese form of 龚栩, 谢熹瑶, 徐蕊 & 罗跃嘉 (2010),
"Scoring Instructions" on its reproduced form: items 1, 6, 8, 11, 12, 14, 18 belong to Stress;
2, 4, 7, 9, 15, 19, 20 to Anxiety; 3, 5, 10, 13, 16, 17, 21 to Depression; no reverse items;
each DASS-21 sum is doubled (Henry & Crawford 2005).
"""

from __future__ import annotations

import pytest
from keycheck import keyed_uniform, one_hot_changes, one_hot_scores

import xinli_screen as xs

SCALES = ("depression", "anxiety", "stress")
SECOND_SOURCE = {
    1: "stress", 2: "anxiety", 3: "depression", 4: "anxiety", 5: "depression", 6: "stress",
    7: "anxiety", 8: "stress", 9: "anxiety", 10: "depression", 11: "stress", 12: "stress",
    13: "depression", 14: "stress", 15: "anxiety", 16: "depression", 17: "depression",
    18: "stress", 19: "anxiety", 20: "anxiety", 21: "depression",
}
SECOND_SOURCE_REVERSED: set[int] = set()


@pytest.fixture(scope="module")
def inst() -> xs.Instrument:
    return xs.load_instrument("dass21")


def test_items_numbered_as_printed(inst: xs.Instrument) -> None:
    assert [i.number for i in inst.items] == list(range(1, 22))
    assert inst.item_ids == tuple(f"dass21_{k:02d}" for k in range(1, 22))


def test_one_hot_raises_exactly_the_listed_scale(inst: xs.Instrument) -> None:
    changes = one_hot_changes(inst)
    scores = one_hot_scores(inst)
    for k, item in enumerate(inst.items, start=1):
        raised, _ = changes[item.id]
        assert raised & set(SCALES) == {SECOND_SOURCE[item.number]}, item.id
        # one item moving from 0 to 3 adds 3 x 2 = 6 to its scale
        scale = SECOND_SOURCE[item.number]
        assert scores.loc[k, f"dass21.{scale}"] - scores.loc[0, f"dass21.{scale}"] == 6


def test_reverse_keys_match_second_source(inst: xs.Instrument) -> None:
    assert {i.number for i in inst.items if i.reverse_keyed} == SECOND_SOURCE_REVERSED
    assert keyed_uniform(inst, [0]).to_numpy().sum() == 0


def test_seven_items_per_scale_doubled(inst: xs.Instrument) -> None:
    for s in SCALES:
        scale = inst.scale(s)
        assert len(scale.items) == 7
        assert scale.multiplier == 2
        assert inst.scale_range(scale) == (0.0, 42.0)


def test_band_edges_lovibond(inst: xs.Instrument) -> None:
    """Doubled-score lower bounds from the Lovibond manual (mild, moderate, severe, extreme)."""
    edges = {"depression": [0, 10, 14, 21, 28], "anxiety": [0, 8, 10, 15, 20],
             "stress": [0, 15, 19, 26, 34]}
    for s, mins in edges.items():
        assert [b.min for b in inst.scale(s).bands] == mins
