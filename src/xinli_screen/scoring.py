"""Vectorised scale scoring: keys matrix, reverse keying, raw and prorated scores, bands.

All respondents are scored at once: the keyed answer matrix (rows = respondents, columns =
items, NaN = missing) is multiplied by a 0/1 keys matrix (items x scales). There is no loop over
respondents. A missing answer is never scored as 0: it is excluded from the sum and from
``n_answered``, and a scale without enough answers is missing (NaN), not 0.

Reverse keying uses the *declared* response-scale bounds: ``keyed = min + max - answer``
(Crocker & Algina 1986, ch. 4; e.g. Radloff 1977 for CES-D items 4, 8, 12, 16).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xinli_screen.instrument.models import Instrument

__all__ = [
    "critical_item_flags",
    "keys_matrix",
    "reverse_key",
    "score_bounds",
    "score_instrument",
]


def keys_matrix(instrument: Instrument) -> pd.DataFrame:
    """Keys matrix of an instrument.

    Returns
    -------
    DataFrame, shape (n_items, n_scales)
        1 where the item belongs to the scale, else 0; index = item ids, columns = scale ids.
        Direction is handled by :func:`reverse_key`, so entries are never -1.
    """
    items = list(instrument.item_ids)
    keys = np.zeros((len(items), len(instrument.scales)), dtype=float)
    pos = {item: k for k, item in enumerate(items)}
    for s, scale in enumerate(instrument.scales):
        for item in scale.items:
            keys[pos[item], s] = 1.0
    return pd.DataFrame(keys, index=items, columns=[s.id for s in instrument.scales])


def _matrix(responses: pd.DataFrame, instrument: Instrument) -> np.ndarray:
    missing = [i for i in instrument.item_ids if i not in responses.columns]
    if missing:
        raise KeyError(f"responses lack item column(s) {missing[:5]} of {instrument.id!r}")
    return responses.loc[:, list(instrument.item_ids)].to_numpy(dtype=float)


def reverse_key(responses: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Apply reverse keying to the reverse-keyed items.

    Parameters
    ----------
    responses : DataFrame, shape (n_respondents, >= n_items)
        Codes as answered; columns include the instrument's item ids; NaN = missing.
    instrument : Instrument

    Returns
    -------
    DataFrame, shape (n_respondents, n_items)
        Keyed codes: ``min + max - x`` for reverse-keyed items (declared bounds of the item's
        response scale), unchanged otherwise; NaN stays NaN. Applying it twice gives back the
        input.
    """
    x = _matrix(responses, instrument)
    lo, hi = instrument.item_bounds
    rev = np.array([i.reverse_keyed for i in instrument.items])
    keyed = np.where(rev, lo + hi - x, x)
    return pd.DataFrame(keyed, index=responses.index, columns=list(instrument.item_ids))


def score_instrument(responses: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Score every scale of one instrument for all respondents.

    Parameters
    ----------
    responses : DataFrame, shape (n_respondents, >= n_items)
        Codes as answered (before reverse keying), NaN = missing, columns = item ids.
    instrument : Instrument

    Returns
    -------
    DataFrame, shape (n_respondents, 4 x n_scales + n_cutoffs), same index as ``responses``
        For each scale ``{instrument}.{scale}``:

        - ``{instrument}.{scale}``: float score in scale units (raw score when every item is
          answered; prorated when the scale allows it and ``min_answered`` is met; mean of
          answered items for ``method: mean``), times ``multiplier``; NaN when too few answers.
        - ``.n_answered``: int, answered items of the scale.
        - ``.prorated``: bool, true when the score was prorated from a partial protocol.
        - ``.band``: severity band id (object, None when unscored or no bands declared).
        - ``.{cutoff id}``: boolean screen-positive flag per cut-off (pandas ``boolean``, NA
          when unscored).

    Notes
    -----
    Prorated score (sum scales only) = :math:`\\frac{k}{m}\\sum_{j \\in answered} x_j`, with
    *k* items on the scale and *m* answered; only where the instrument declares ``prorate``.
    """
    keyed = reverse_key(responses, instrument).to_numpy()
    answered = ~np.isnan(keyed)
    keys = keys_matrix(instrument).to_numpy()
    sums = np.where(answered, keyed, 0.0) @ keys
    n_answered = answered.astype(float) @ keys
    n_items = keys.sum(axis=0)
    out: dict[str, object] = {}
    for s, scale in enumerate(instrument.scales):
        k = n_items[s]
        m = n_answered[:, s]
        enough = m >= scale.required_answers
        with np.errstate(invalid="ignore", divide="ignore"):
            if scale.method == "mean":
                score = np.where(enough, sums[:, s] / m, np.nan)
                prorated = np.zeros(len(m), dtype=bool)
            else:
                complete = m == k
                prorated = enough & ~complete if scale.prorate else np.zeros(len(m), dtype=bool)
                score = np.where(complete, sums[:, s], np.nan)
                score = np.where(prorated, sums[:, s] * k / m, score)
        score = score * scale.multiplier
        name = f"{instrument.id}.{scale.id}"
        out[name] = score
        out[f"{name}.n_answered"] = m.astype("int64")
        out[f"{name}.prorated"] = prorated
        out[f"{name}.band"] = _bands(score, scale.bands)
        for cut in scale.cutoffs:
            hit = score >= cut.value if cut.op == ">=" else score > cut.value
            out[f"{name}.{cut.id}"] = pd.array(np.where(np.isnan(score), None, hit),
                                               dtype="boolean")
    return pd.DataFrame(out, index=responses.index)


def score_bounds(responses: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Lowest and highest score each scale could reach once its missing items are answered.

    Parameters
    ----------
    responses : DataFrame, shape (n_respondents, >= n_items)
        Codes as answered, NaN = missing.

    Returns
    -------
    DataFrame, shape (n_respondents, 2 x n_scales)
        ``{instrument}.{scale}.lo`` and ``.hi``: the complete-protocol score if every missing
        item were answered with its lowest / highest keyed code (declared bounds), in scale
        units (sum or mean, times the multiplier). Equal to the score for complete protocols.
        The policy engine uses them to tell whether a missing answer could still change a
        decision.
    """
    keyed = reverse_key(responses, instrument).to_numpy()
    lo_code, hi_code = instrument.item_bounds
    keys = keys_matrix(instrument).to_numpy()
    lo = np.where(np.isnan(keyed), lo_code, keyed) @ keys
    hi = np.where(np.isnan(keyed), hi_code, keyed) @ keys
    n_items = keys.sum(axis=0)
    out = {}
    for s, scale in enumerate(instrument.scales):
        div = n_items[s] if scale.method == "mean" else 1.0
        name = f"{instrument.id}.{scale.id}"
        out[f"{name}.lo"] = lo[:, s] / div * scale.multiplier
        out[f"{name}.hi"] = hi[:, s] / div * scale.multiplier
    return pd.DataFrame(out, index=responses.index)


def _bands(score: np.ndarray, bands: tuple) -> np.ndarray:
    labels = np.full(len(score), None, dtype=object)
    if not bands:
        return labels
    mins = np.array([b.min for b in bands])
    ids = np.array([b.id for b in bands], dtype=object)
    ok = ~np.isnan(score)
    pos = np.searchsorted(mins, score[ok], side="right") - 1
    labels[ok] = np.where(pos >= 0, ids[np.clip(pos, 0, None)], None)
    return labels


def critical_item_flags(responses: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Critical-item flags read straight from the answers.

    Parameters
    ----------
    responses : DataFrame, shape (n_respondents, >= n_items)
        Codes as answered (not reverse keyed), NaN = missing.

    Returns
    -------
    DataFrame of pandas ``boolean``, shape (n_respondents, n_critical_items)
        Columns ``{instrument}.{critical id}``; True when the answer meets the condition, False
        when answered and not met, NA when unanswered. Independent of every other item, of
        scale completeness and of validity checks.
    """
    ops = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less,
           "==": np.equal}
    out = {}
    for crit in instrument.critical_items:
        x = responses[crit.item].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            hit = ops[crit.op](x, crit.value)
        out[f"{instrument.id}.{crit.id}"] = pd.array(np.where(np.isnan(x), None, hit),
                                                     dtype="boolean")
    return pd.DataFrame(out, index=responses.index)
