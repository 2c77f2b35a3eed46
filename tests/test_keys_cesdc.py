"""Independent key check of instruments/cesdc.yaml against a second source.

Source A (used to write the YAML): Bright Futures in Practice: Mental Health, Tool for
Professionals, "CES-DC: Instructions for use" (0 = not at all ... 3 = a lot; items 4, 8, 12, 16
scored in the opposite order; total 0-60; scores over 15 suggest significant symptoms).
Source B (typed here, independently): the Psy-World printable CES-DC (psy-world.com/CES-DC.htm),
whose score grid prints 3-2-1-0 under items 4, 8, 12 and 16 and 0-1-2-3 under all other items.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import xinli_screen as xs

INSTRUMENT = "cesdc"

# Source B: points printed under "Not at all", "A little", "Some", "A lot" for each item.
SOURCE_B_GRID = {n: (3, 2, 1, 0) if n in (4, 8, 12, 16) else (0, 1, 2, 3) for n in range(1, 21)}
# Source B: every item is added into the one total.
SOURCE_B_SCALES = {n: {"total"} for n in range(1, 21)}


def _item_id(number: int) -> str:
    return f"{INSTRUMENT}_{number:02d}"


def _low_high(inst: xs.Instrument) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = inst.item_bounds
    rev = np.array([i.reverse_keyed for i in inst.items])
    return np.where(rev, hi, lo), np.where(rev, lo, hi)


def test_reverse_keys_reproduce_the_source_b_grid() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    frame = pd.DataFrame([[float(code)] * 20 for code in range(4)], columns=list(inst.item_ids))
    keyed = xs.reverse_key(frame, inst)
    for n, points in SOURCE_B_GRID.items():
        assert tuple(keyed[_item_id(n)]) == points, n


def test_one_hot_raises_exactly_the_source_b_scales() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    low, high = _low_high(inst)
    rows = [low]
    for k in range(len(inst.items)):
        row = low.copy()
        row[k] = high[k]
        rows.append(row)
    scores = xs.score_instrument(pd.DataFrame(rows, columns=list(inst.item_ids)), inst)
    scale_ids = [s.id for s in inst.scales]
    base = scores.loc[0, [f"{INSTRUMENT}.{s}" for s in scale_ids]].to_numpy(dtype=float)
    for k, item in enumerate(inst.items):
        got = scores.loc[k + 1, [f"{INSTRUMENT}.{s}" for s in scale_ids]].to_numpy(dtype=float)
        raised = {s for s, a, b in zip(scale_ids, base, got, strict=True) if b > a}
        assert raised == SOURCE_B_SCALES[item.number], item.id
        assert got[scale_ids.index("total")] - base[scale_ids.index("total")] == 3


def test_over_15_is_positive() -> None:
    inst = xs.load_instrument(INSTRUMENT)
    low, _ = _low_high(inst)
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
    scores = xs.score_instrument(pd.DataFrame(rows, columns=list(inst.item_ids)), inst)
    assert scores["cesdc.total"].tolist() == [15.0, 16.0]
    assert scores["cesdc.total.screen_positive"].tolist() == [False, True]
