"""Independent key check of instruments/scared.yaml against a second source.

Source A (used to write the YAML): the SCARED scoring sheet (Birmaher et al. 1999) as
reproduced in the Blueprint Health help centre (item lists per subscale; cut-offs).
Source B (typed here, independently): the Psyche Assess SCARED catalogue page
(psycheassess.com/catalog/scared), which tags each of the 41 child items with its subscale
(panic_somatic, gad, separation, social, school_avoidance); cross-read against the item wording
order in a public SCARED child data dictionary (scaredc_1 ... scaredc_41).
"""

from __future__ import annotations

from keycheck import keyed_uniform, one_hot_changes

import xinli_screen as xs

INSTRUMENT = "scared"

_TAGS = {
    "panic_somatic": "panic_somatic",
    "gad": "generalized_anxiety",
    "separation": "separation_anxiety",
    "social": "social_anxiety",
    "school_avoidance": "school_avoidance",
}
# Source B: item number -> tag, in printed order.
SOURCE_B_TAG = {
    1: "panic_somatic", 2: "school_avoidance", 3: "social", 4: "separation", 5: "gad",
    6: "panic_somatic", 7: "gad", 8: "separation", 9: "panic_somatic", 10: "social",
    11: "school_avoidance", 12: "panic_somatic", 13: "separation", 14: "gad",
    15: "panic_somatic", 16: "separation", 17: "school_avoidance", 18: "panic_somatic",
    19: "panic_somatic", 20: "separation", 21: "gad", 22: "panic_somatic", 23: "gad",
    24: "panic_somatic", 25: "separation", 26: "social", 27: "panic_somatic", 28: "gad",
    29: "separation", 30: "panic_somatic", 31: "separation", 32: "social", 33: "gad",
    34: "panic_somatic", 35: "gad", 36: "school_avoidance", 37: "gad", 38: "panic_somatic",
    39: "social", 40: "social", 41: "social",
}


def _item_id(number: int) -> str:
    return f"{INSTRUMENT}_{number:02d}"


def test_subscale_sizes() -> None:
    sizes = {tag: sum(1 for t in SOURCE_B_TAG.values() if t == tag) for tag in _TAGS}
    assert sizes == {"panic_somatic": 13, "gad": 9, "separation": 8, "social": 7,
                     "school_avoidance": 4}


def test_subscale_item_lists_match_source_b() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    for tag, scale_id in _TAGS.items():
        expected = sorted(_item_id(n) for n, t in SOURCE_B_TAG.items() if t == tag)
        assert sorted(inst.scale(scale_id).items) == expected, scale_id


def test_no_item_is_reverse_keyed() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    assert not any(i.reverse_keyed for i in inst.items)
    assert keyed_uniform(inst, [2.0]).to_numpy().tolist() == [[2.0] * 41]


def test_one_hot_raises_exactly_the_source_b_scales() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    changes = one_hot_changes(inst)
    for item in inst.items:
        raised, _ = changes[item.id]
        assert raised == {_TAGS[SOURCE_B_TAG[item.number]], "total"}, item.id


def test_cutoffs() -> None:
    # Cut-off values as given by the Valant reproduction of the scoring sheet (25; 7, 9, 5, 8, 3)
    # and the Changsha study (>= 23), not by Source A.
    inst = xs.load_instrument(INSTRUMENT)
    total = {c.id: (c.op, c.value) for c in inst.scale("total").cutoffs}
    assert total == {"screen_positive": (">=", 25), "screen_positive_cn": (">=", 23)}
    sub = {s: inst.scale(s).cutoffs[0].value for s in _TAGS.values()}
    assert sub == {"panic_somatic": 7, "generalized_anxiety": 9, "separation_anxiety": 5,
                   "social_anxiety": 8, "school_avoidance": 3}
