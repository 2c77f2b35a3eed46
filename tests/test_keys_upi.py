"""Independent key check of instruments/upi.yaml against second sources.

Source A (used to write the YAML): the scoring document '大学生心理健康调查问卷 UPI 及评分标准'
(items 5, 20, 35, 50 = 测伪尺度, not scored; classes by total, item 25 and items 8, 16, 26).
Source B (typed here): 王梦娟 & 王园园 (2020; 56 scored items, total 0-56, class I = total >= 25 or
item 25 'yes') and 丁兆叶 (key items 25, 8, 16, 26). Lie-item positions 5, 20, 35 are checked
against the circulated item list (positively worded items); item 50 rests on source A only (see
the YAML notes). No item is reverse-keyed; every item is 是 = 1 / 否 = 0.
"""

from __future__ import annotations

import pytest
from keycheck import keyed_uniform, one_hot_changes, score_rows

import xinli_screen as xs

INSTRUMENT = "upi"
LIE_ITEMS = (5, 20, 35, 50)
KEY_ITEMS_CLASS_II = (8, 16, 26)
CRITICAL_ITEM = 25
N_SCORED = 56


def _item_id(number: int) -> str:
    return f"{INSTRUMENT}_{number:02d}"


def _expected_scales(number: int) -> set[str]:
    if number in LIE_ITEMS:
        return {"lie"}
    scales = {"total"}
    if number in KEY_ITEMS_CLASS_II:
        scales.add("key_items")
    return scales


def test_scored_items_are_the_56_non_lie_items() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    total = inst.scale("total").items
    assert len(total) == N_SCORED
    assert sorted(total) == [_item_id(n) for n in range(1, 61) if n not in LIE_ITEMS]
    assert sorted(inst.scale("lie").items) == [_item_id(n) for n in LIE_ITEMS]
    assert inst.scale("lie").role == "validity"
    assert sorted(inst.scale("key_items").items) == [_item_id(n) for n in KEY_ITEMS_CLASS_II]


def test_one_hot_raises_exactly_the_expected_scales() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    changes = one_hot_changes(inst)
    for item in inst.items:
        raised, lowered = changes[item.id]
        assert raised == _expected_scales(item.number), item.id
        assert lowered == set(), item.id


def test_no_reverse_keyed_items_and_yes_is_one() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    assert not any(i.reverse_keyed for i in inst.items)
    assert (keyed_uniform(inst, [1.0]).to_numpy() == 1.0).all()
    codes = {o.label.zh: o.code for o in inst.response_scales[0].options}
    assert codes == {"是": 1, "否": 0}


def test_item_25_is_an_active_critical_item() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    (crit,) = inst.critical_items
    assert crit.item == _item_id(CRITICAL_ITEM) and crit.active
    assert (crit.op, crit.value) == ("==", 1)
    assert _item_id(CRITICAL_ITEM) in inst.scale("total").items


@pytest.mark.parametrize(("n_yes", "class1", "class2"),
                         [(19, False, False), (20, False, True), (24, False, True),
                          (25, True, True), (56, True, True)])
def test_total_criteria(n_yes: int, class1: bool, class2: bool) -> None:
    inst = xs.load_instrument(INSTRUMENT)
    scored = [n for n in range(1, 61) if n not in LIE_ITEMS and n != CRITICAL_ITEM]
    yes = set(scored[:n_yes]) if n_yes < N_SCORED else set(range(1, 61))
    row = {_item_id(n): float(n in yes) for n in range(1, 61)}
    scores = score_rows(inst, [row])
    assert scores.loc[0, "upi.total"] == n_yes
    assert bool(scores.loc[0, "upi.total.class1_total"]) is class1
    assert bool(scores.loc[0, "upi.total.class2_total"]) is class2
