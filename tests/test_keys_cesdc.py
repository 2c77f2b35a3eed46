"""Independent key check of instruments/cesdc.yaml against a second source.

Source A (used to write the YAML): Bright Futures in Practice: Mental Health, Tool for
Professionals, "CES-DC: Instructions for use" (0 = not at all ... 3 = a lot; items 4, 8, 12, 16
scored in the opposite order; total 0-60; scores over 15 suggest significant symptoms).
Source B (typed here, independently): the Psy-World printable CES-DC (psy-world.com/CES-DC.htm),
whose score grid prints 3-2-1-0 under items 4, 8, 12 and 16 and 0-1-2-3 under all other items.
"""

from __future__ import annotations

from keycheck import extreme_protocols, keyed_uniform, one_hot_changes, one_hot_scores, score_rows

import xinli_screen as xs

INSTRUMENT = "cesdc"

# Source B: points printed under "Not at all", "A little", "Some", "A lot" for each item.
SOURCE_B_GRID = {n: (3, 2, 1, 0) if n in (4, 8, 12, 16) else (0, 1, 2, 3) for n in range(1, 21)}
# Source B: every item is added into the one total.
SOURCE_B_SCALES = {n: {"total"} for n in range(1, 21)}


def _item_id(number: int) -> str:
    return f"{INSTRUMENT}_{number:02d}"


def test_reverse_keys_reproduce_the_source_b_grid() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    keyed = keyed_uniform(inst, range(4))
    for n, points in SOURCE_B_GRID.items():
        assert tuple(keyed[_item_id(n)]) == points, n


def test_one_hot_raises_exactly_the_source_b_scales() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    changes = one_hot_changes(inst)
    scores = one_hot_scores(inst)
    for k, item in enumerate(inst.items, start=1):
        raised, _ = changes[item.id]
        assert raised == SOURCE_B_SCALES[item.number], item.id
        assert scores.loc[k, "cesdc.total"] - scores.loc[0, "cesdc.total"] == 3


def test_over_15_is_positive() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    low, _ = extreme_protocols(inst)
    rows = []
    for target in (15, 16):
        row = low.copy()
        k = 0
        remaining = target
        while remaining:  # raise non-reversed items to 'a lot' (3) until the total is reached
            if not inst.items[k].reverse_keyed:
                step = min(3, remaining)
                row[k] = step
                remaining -= step
            k += 1
        rows.append(row)
    scores = score_rows(inst, rows)
    assert scores["cesdc.total"].tolist() == [15.0, 16.0]
    assert scores["cesdc.total.screen_positive"].tolist() == [False, True]
