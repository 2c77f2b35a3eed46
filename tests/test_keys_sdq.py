"""Independent key check of instruments/sdq.yaml against a second source.

Source A (used to write the YAML): the youthinmind SDQ scoring syntax (sdqinfo.org) as
reproduced in public research code, with the sdqinfo variable order consid, restles, somatic,
shares, tantrum, loner, obeys, worries, caring, fidgety, friend, fights, unhappy, popular,
distrac, clingy, kind, lies, bullied, helpout, reflect, steals, oldbest, afraid, attends.
Source B (typed here, independently): the Scottish Government Health and Wellbeing Census
pipeline, ScotGovAnalysis/hwb-census, code/12d_mental_health_and_wellbeing_sdq.R, which names
the self-report columns by item number (sdq_3_pains, sdq_7_do_as_told, ...), recodes Qs 7, 11,
14, 21, 25 with "Certainly true" = 0, and sums the five scales from those numbered columns.
"""

from __future__ import annotations

import numpy as np
from keycheck import extreme_protocols, keyed_uniform, one_hot_changes, score_rows

import xinli_screen as xs

INSTRUMENT = "sdq"

# Source B: scale -> item numbers.
SOURCE_B = {
    "emotional": (3, 8, 13, 16, 24),
    "conduct": (5, 7, 12, 18, 22),
    "hyperactivity": (2, 10, 15, 21, 25),
    "peer": (6, 11, 14, 19, 23),
    "prosocial": (1, 4, 9, 17, 20),
}
SOURCE_B_REVERSED = (7, 11, 14, 21, 25)
# Source B: total difficulties = emotional + conduct + hyperactivity + peer.
DIFFICULTY_SCALES = {"emotional", "conduct", "hyperactivity", "peer"}


def _item_id(number: int) -> str:
    return f"{INSTRUMENT}_{number:02d}"


def _expected_scales(number: int) -> set[str]:
    scales = {name for name, items in SOURCE_B.items() if number in items}
    if scales & DIFFICULTY_SCALES:
        scales.add("total_difficulties")
    return scales


def test_source_b_is_a_partition_of_25_items() -> None:
    assert sorted(n for items in SOURCE_B.values() for n in items) == list(range(1, 26))


def test_scale_item_lists_match_source_b() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    for name, numbers in SOURCE_B.items():
        assert sorted(inst.scale(name).items) == sorted(_item_id(n) for n in numbers), name
    assert set(inst.scale("total_difficulties").scales) == DIFFICULTY_SCALES


def test_reverse_keys_match_source_b() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    assert tuple(i.number for i in inst.items if i.reverse_keyed) == SOURCE_B_REVERSED
    # Source B codes "Certainly true" (2) as 0 and "Not true" (0) as 2 on these items.
    keyed = keyed_uniform(inst, [2.0, 0.0])
    for n in range(1, 26):
        expected = (0.0, 2.0) if n in SOURCE_B_REVERSED else (2.0, 0.0)
        assert tuple(keyed[_item_id(n)]) == expected, n


def test_one_hot_raises_exactly_the_source_b_scales() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    changes = one_hot_changes(inst)
    for item in inst.items:
        raised, _ = changes[item.id]
        assert raised == _expected_scales(item.number), item.id


def test_three_band_total_boundary_matches_source_b() -> None:
    # Source B: total <= 15 "Normal", 16-40 "Borderline or Abnormal".
    inst = xs.load_instrument(INSTRUMENT)
    cut = {c.id: (c.op, c.value) for c in inst.scale("total_difficulties").cutoffs}
    assert cut["above_normal"] == (">=", 16)
    assert [b.min for b in inst.scale("total_difficulties").bands][:2] == [0, 16]


def test_proration_needs_three_of_five_and_rounds_half_up() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    low, _ = extreme_protocols(inst)
    emotional = [_item_id(n) for n in SOURCE_B["emotional"]]
    base = dict(zip(inst.item_ids, low, strict=True))
    rows = [
        {**base, emotional[0]: 1, emotional[1]: 1, emotional[3]: None},
        {**base, emotional[0]: 1, emotional[1]: 1, emotional[2]: 1, emotional[3]: None,
         emotional[4]: None},
        {**base, emotional[0]: 2, emotional[1]: None, emotional[2]: None, emotional[3]: None},
    ]
    scores = score_rows(inst, rows)
    # 4 answered, sum 2 -> 2.5 -> 3; 3 answered, sum 3 -> 5; 2 answered -> missing.
    assert scores["sdq.emotional"].tolist()[:2] == [3.0, 5.0]
    assert np.isnan(scores.loc[2, "sdq.emotional"])
    assert np.isnan(scores.loc[2, "sdq.total_difficulties"])
