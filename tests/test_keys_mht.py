"""Independent key check of instruments/mht.yaml against a second source.

Source A (used to write the YAML): a public Python school-screening implementation of the MHT
(CONTENT_SCALES / VALIDITY_IDS tables), with the validity items confirmed by yxjyw.cn.
Source B (typed here, independently): a public React Native MHT module, table ``retnumber``
(效度量, 学习焦虑, 对人焦虑, 孤独倾向, 自责倾向, 过敏倾向, 身体症状, 恐怖倾向, 冲动倾向).
Both code every item 是 = 1 / 否 = 0; neither reverse-keys an item.
"""

from __future__ import annotations

import pandas as pd
from keycheck import keyed_uniform, one_hot_changes

import xinli_screen as xs

INSTRUMENT = "mht"

# Source B: scale -> item numbers, as listed in the retnumber table.
SOURCE_B = {
    "learning_anxiety": (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
    "social_anxiety": (16, 17, 18, 19, 20, 21, 22, 23, 24, 25),
    "loneliness": (26, 27, 28, 29, 30, 31, 32, 33, 34, 35),
    "self_blame": (36, 37, 38, 39, 40, 41, 42, 43, 44, 45),
    "sensitivity": (46, 47, 48, 49, 50, 51, 52, 53, 54, 55),
    "somatic": (56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70),
    "phobic": (71, 72, 73, 74, 75, 76, 77, 78, 79, 80),
    "impulsivity": (81, 83, 85, 87, 89, 91, 93, 95, 97, 99),
    "lie": (82, 84, 86, 88, 90, 92, 94, 96, 98, 100),
}
CONTENT = [s for s in SOURCE_B if s != "lie"]


def _item_id(number: int) -> str:
    return f"{INSTRUMENT}_{number:03d}"


def _expected_scales(number: int) -> set[str]:
    scales = {name for name, items in SOURCE_B.items() if number in items}
    if scales & set(CONTENT):
        scales.add("total")  # the total is the sum of the eight content scales
    return scales


def test_source_b_is_a_partition_of_100_items() -> None:
    numbers = sorted(n for items in SOURCE_B.values() for n in items)
    assert numbers == list(range(1, 101))


def test_scale_item_lists_match_source_b() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    for name, numbers in SOURCE_B.items():
        assert sorted(inst.scale(name).items) == sorted(_item_id(n) for n in numbers), name
    assert inst.scale("total").scales == tuple(CONTENT)


def test_item_100_is_not_loneliness() -> None:
    """A known public implementation appends item 100 to 孤独倾向; it is a validity item."""
    inst = xs.load_instrument(INSTRUMENT)
    assert _item_id(100) not in inst.scale("loneliness").items
    assert _item_id(100) in inst.scale("lie").items


def test_one_hot_raises_exactly_the_source_b_scales() -> None:
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


def test_text_answers_map_to_codes() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    raw = pd.DataFrame({i: ["A.是", "b.不是的"] for i in inst.item_ids})
    prepared = xs.prepare_responses(raw, [inst])
    assert prepared.responses.iloc[0].tolist() == [1.0] * 100
    assert prepared.responses.iloc[1].tolist() == [0.0] * 100


def test_validity_check_and_opt_in_items() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    check = inst.validity_checks[0]
    assert (check.scale, check.op, check.value) == ("lie", ">=", 7)
    crit = {c.item: c for c in inst.critical_items}
    assert set(crit) == {_item_id(85), _item_id(97)}
    assert not any(c.active for c in crit.values())
    assert {85, 97} <= set(SOURCE_B["impulsivity"])
