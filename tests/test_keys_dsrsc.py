"""Independent key check of instruments/dsrsc.yaml against a second source.

Source A (used to write the YAML): a public Chinese school-platform implementation of the
儿童抑郁障碍自评量表 (没有 = 0, 有时有 = 1, 经常有 = 2; reverse items 1, 2, 4, 7, 8, 9, 11, 12,
13, 16).
Source B (typed here, independently): the English item list of Birleson's Depression
Self-Rating Scale (Birleson et al. 1987, as listed at scales.arabpsychology.com): the reverse
items are read off the item content - the positively worded statements (look forward to things,
sleep very well, like going out, lots of energy, enjoy my food, stick up for myself, good at
things, enjoy the things I do, like talking to friends and family, easily cheered up).
"""

from __future__ import annotations

from keycheck import keyed_uniform, one_hot_changes

import xinli_screen as xs

INSTRUMENT = "dsrsc"

# Source B: item number -> positively worded (True) or symptom statement (False).
SOURCE_B_POSITIVE = {
    1: True,    # look forward to things as much as I used to
    2: True,    # sleep very well
    3: False,   # feel like crying
    4: True,    # like going out
    5: False,   # feel like leaving home
    6: False,   # stomach-aches
    7: True,    # lots of energy
    8: True,    # enjoy my food
    9: True,    # can stick up for myself
    10: False,  # life isn't worth living
    11: True,   # good at things I do
    12: True,   # enjoy the things I do as much as I used to
    13: True,   # like talking to my friends and family
    14: False,  # horrible dreams
    15: False,  # very lonely
    16: True,   # easily cheered up
    17: False,  # so sad I can hardly bear it
    18: False,  # very bored
}


def _item_id(number: int) -> str:
    return f"{INSTRUMENT}_{number:02d}"


def test_ten_positive_items_are_the_reverse_keyed_ones() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    declared = {i.number: i.reverse_keyed for i in inst.items}
    assert declared == SOURCE_B_POSITIVE
    assert sum(SOURCE_B_POSITIVE.values()) == 10


def test_reverse_keying_scores_never_as_two_on_positive_items() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    keyed = keyed_uniform(inst, [0.0, 2.0])
    for n, positive in SOURCE_B_POSITIVE.items():
        assert tuple(keyed[_item_id(n)]) == ((2.0, 0.0) if positive else (0.0, 2.0)), n


def test_one_hot_raises_exactly_the_total() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    changes = one_hot_changes(inst)
    for item in inst.items:
        raised, _ = changes[item.id]
        assert raised == {"total"}, item.id


def test_item_10_critical_item_is_opt_in() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    (crit,) = inst.critical_items
    assert crit.item == _item_id(10) and not crit.active
    assert not SOURCE_B_POSITIVE[10]
