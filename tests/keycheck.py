"""Mechanics shared by the independent key checks (``tests/test_keys_*.py``).

Each ``test_keys_*`` file types its second-source key tables itself and compares them with what
the scoring engine does; this module only builds the answer protocols that probe an
instrument's key and scores them. Nothing here knows what any instrument's key should be.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

import xinli_screen as xs

__all__ = ["extreme_protocols", "keyed_uniform", "one_hot_changes", "one_hot_scores",
           "score_rows"]


def extreme_protocols(inst: xs.Instrument) -> tuple[np.ndarray, np.ndarray]:
    """Raw answers that give every item its lowest and its highest keyed value.

    Returns
    -------
    (low, high) : arrays of shape (n_items,), in item order
        ``low`` answers each item with the code that keys to the minimum of its response
        scale (the maximum code for a reverse-keyed item), ``high`` with the code that keys to
        the maximum.
    """
    lo, hi = inst.item_bounds
    rev = np.array([i.reverse_keyed for i in inst.items])
    return np.where(rev, hi, lo), np.where(rev, lo, hi)


def score_rows(inst: xs.Instrument,
               rows: Iterable[Sequence[float | None] | np.ndarray | Mapping[str, float | None]]
               ) -> pd.DataFrame:
    """Score a list of answer rows with :func:`xinli_screen.score_instrument`.

    Each row gives raw codes either in item order (a sequence or array) or by item id (a
    mapping); ``None`` and NaN are missing answers. Codes are read as floats. Row ``j`` of the
    result scores ``rows[j]``.
    """
    frame = pd.DataFrame(list(rows), columns=list(inst.item_ids), dtype=float)
    return xs.score_instrument(frame, inst)


def keyed_uniform(inst: xs.Instrument, codes: Iterable[float]) -> pd.DataFrame:
    """Keyed values (:func:`xinli_screen.reverse_key`) of protocols that answer every item alike.

    Row ``j`` answers every item with ``codes[j]``; columns are the item ids.
    """
    frame = pd.DataFrame([[float(c)] * len(inst.items) for c in codes],
                         columns=list(inst.item_ids))
    return xs.reverse_key(frame, inst)


def one_hot_scores(inst: xs.Instrument) -> pd.DataFrame:
    """Scores of the one-hot protocols of an instrument.

    Row 0 answers every item at its lowest keyed value; row ``k`` (1 ... n_items) is row 0
    with item ``k`` (in item order) alone at its highest keyed value (see
    :func:`extreme_protocols`).
    """
    low, high = extreme_protocols(inst)
    rows = [low]
    for k in range(len(inst.items)):
        row = low.copy()
        row[k] = high[k]
        rows.append(row)
    return score_rows(inst, rows)


def one_hot_changes(inst: xs.Instrument, skip: Collection[str] = ()
                    ) -> dict[str, tuple[set[str], set[str]]]:
    """Which scales each item moves, read from :func:`one_hot_scores`.

    Parameters
    ----------
    inst : Instrument
    skip : collection of str
        Scale ids left out of the comparison (derived indices that need not move the same way
        as the answers, e.g. a count of items at their minimum).

    Returns
    -------
    dict item id -> (raised, lowered)
        ``raised``: scale ids whose score is higher when that item alone moves from its lowest
        to its highest keyed value than in the all-lowest protocol. ``lowered``: scale ids
        whose score is not at least the all-lowest score, that is lower, or missing in either
        protocol (every item is answered, so a missing score is never expected).
    """
    scores = one_hot_scores(inst)
    scale_ids = [s.id for s in inst.scales if s.id not in skip]
    cols = [f"{inst.id}.{s}" for s in scale_ids]
    base = scores.loc[0, cols].to_numpy(dtype=float)
    changes = {}
    for k, item in enumerate(inst.items, start=1):
        now = scores.loc[k, cols].to_numpy(dtype=float)
        raised = {s for s, a, b in zip(scale_ids, base, now, strict=True) if b > a}
        lowered = {s for s, a, b in zip(scale_ids, base, now, strict=True) if not b >= a}
        changes[item.id] = (raised, lowered)
    return changes
