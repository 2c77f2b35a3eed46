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

from xinli_screen.instrument.models import Instrument, Scale, apply_rounding

__all__ = [
    "critical_item_flags",
    "keys_matrix",
    "reverse_key",
    "score_bounds",
    "score_instrument",
    "validity_flags",
]

_OPS = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less,
        "==": np.equal}


def _item_scales(instrument: Instrument) -> list[Scale]:
    return [s for s in instrument.scales if not s.is_composite]


def keys_matrix(instrument: Instrument) -> pd.DataFrame:
    """Keys matrix of an instrument's item-based scales.

    Returns
    -------
    DataFrame, shape (n_items, n_item_scales)
        1 where the item belongs to the scale, else 0; index = item ids, columns = scale ids.
        Direction is handled by :func:`reverse_key`, so entries are never -1. Composite
        scales (made of other scales) have no column.
    """
    items = list(instrument.item_ids)
    scales = _item_scales(instrument)
    keys = np.zeros((len(items), len(scales)), dtype=float)
    pos = {item: k for k, item in enumerate(items)}
    for s, scale in enumerate(scales):
        for item in scale.items:
            keys[pos[item], s] = 1.0
    return pd.DataFrame(keys, index=items, columns=[s.id for s in scales])


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


class _Keyed:
    """Keyed answers and per-scale aggregates shared by scores and bounds."""

    def __init__(self, responses: pd.DataFrame, instrument: Instrument) -> None:
        self.keyed = reverse_key(responses, instrument).to_numpy()
        self.answered = ~np.isnan(self.keyed)
        self.scales = _item_scales(instrument)
        self.keys = keys_matrix(instrument).to_numpy()
        self.n_items = self.keys.sum(axis=0)
        self.n_answered = self.answered.astype(float) @ self.keys
        self.lo_code, self.hi_code = instrument.item_bounds

    def column_sums(self, values: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(values), 0.0, values) @ self.keys

    def meets(self, s: int) -> np.ndarray:
        f = self.scales[s].item_filter
        if f is None:
            return self.answered
        with np.errstate(invalid="ignore"):
            return _OPS[f.op](self.keyed, f.value) & self.answered


def _item_scale_score(k: _Keyed, s: int) -> tuple[np.ndarray, np.ndarray]:
    """(score before multiplier/rounding, prorated flag) for item scale number ``s``."""
    scale = k.scales[s]
    col = k.keys[:, s].astype(bool)
    m = k.n_answered[:, s]
    n = k.n_items[s]
    enough = m >= scale.required_answers
    meets = k.meets(s)[:, col]
    values = np.where(meets, k.keyed[:, col], 0.0)
    total = values.sum(axis=1)
    hits = meets.sum(axis=1)
    no_prorate = np.zeros(len(m), dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        if scale.method == "count":
            return np.where(enough, hits.astype(float), np.nan), no_prorate
        if scale.method == "mean":
            denom = hits if scale.item_filter is not None else m
            return np.where(enough & (denom > 0), total / denom, np.nan), no_prorate
        complete = m == n
        prorated = enough & ~complete if scale.prorate else no_prorate
        score = np.where(complete, total, np.nan)
        return np.where(prorated, total * n / m, score), prorated


def _finish(score: np.ndarray, scale: Scale) -> np.ndarray:
    return apply_rounding(score * scale.multiplier, scale.rounding)


def _combine(parts: list[np.ndarray], method: str) -> np.ndarray:
    stacked = np.column_stack(parts)
    return stacked.mean(axis=1) if method == "mean" else stacked.sum(axis=1)


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
          answered items for ``method: mean``; count for ``method: count``), times
          ``multiplier``, then rounded as declared; NaN when too few answers.
        - ``.n_answered``: int, answered items of the scale (of all its items for a composite).
        - ``.prorated``: bool, true when the score (or a component) was prorated.
        - ``.band``: severity band id (object, None when unscored or no bands declared).
        - ``.{cutoff id}``: boolean screen-positive flag per cut-off (pandas ``boolean``, NA
          when unscored).

    Notes
    -----
    Prorated score (sum scales only) = :math:`\\frac{k}{m}\\sum_{j \\in answered} x_j`, with
    *k* items on the scale and *m* answered; only where the instrument declares ``prorate``.
    A composite scale is the sum (or mean) of its component scale scores and is missing when
    any component is missing.
    """
    k = _Keyed(responses, instrument)
    scores: dict[str, np.ndarray] = {}
    answered: dict[str, np.ndarray] = {}
    prorated: dict[str, np.ndarray] = {}
    for s, scale in enumerate(k.scales):
        raw, pro = _item_scale_score(k, s)
        scores[scale.id] = _finish(raw, scale)
        answered[scale.id] = k.n_answered[:, s].astype("int64")
        prorated[scale.id] = pro
    for scale in instrument.scales:
        if scale.is_composite:
            scores[scale.id] = _finish(_combine([scores[c] for c in scale.scales], scale.method),
                                       scale)
            answered[scale.id] = np.sum([answered[c] for c in scale.scales], axis=0)
            prorated[scale.id] = np.any([prorated[c] for c in scale.scales], axis=0)
    out: dict[str, object] = {}
    for scale in instrument.scales:
        name = f"{instrument.id}.{scale.id}"
        score = np.asarray(scores[scale.id], dtype=float)
        out[name] = score
        out[f"{name}.n_answered"] = answered[scale.id]
        out[f"{name}.prorated"] = prorated[scale.id]
        out[f"{name}.band"] = _bands(score, scale.bands)
        for cut in scale.cutoffs:
            out[f"{name}.{cut.id}"] = _condition(score, cut.op, cut.value)
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
        ``{instrument}.{scale}.lo`` and ``.hi`` in scale units (after multiplier and
        rounding): the complete-protocol score if every missing item were answered with its
        lowest / highest keyed code (declared bounds). Equal to the score for complete
        protocols. For filtered and count scales with missing items the declared score range
        is used (a safe, wider interval). The policy engine uses the bounds to tell whether a
        missing answer could still change a decision.
    """
    k = _Keyed(responses, instrument)
    lo_fill = k.column_sums(np.where(k.answered, k.keyed, k.lo_code))
    hi_fill = k.column_sums(np.where(k.answered, k.keyed, k.hi_code))
    bounds: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for s, scale in enumerate(k.scales):
        complete = k.n_answered[:, s] == k.n_items[s]
        if scale.item_filter is None and scale.method != "count":
            div = k.n_items[s] if scale.method == "mean" else 1.0
            lo, hi = lo_fill[:, s] / div, hi_fill[:, s] / div
        else:
            raw, _ = _item_scale_score(k, s)
            r_lo, r_hi = instrument._raw_range(scale)
            lo = np.where(complete, raw, r_lo)
            hi = np.where(complete, raw, r_hi)
        bounds[scale.id] = (_finish(lo, scale), _finish(hi, scale))
    for scale in instrument.scales:
        if scale.is_composite:
            los = _combine([bounds[c][0] for c in scale.scales], scale.method)
            his = _combine([bounds[c][1] for c in scale.scales], scale.method)
            bounds[scale.id] = (_finish(los, scale), _finish(his, scale))
    out = {}
    for scale in instrument.scales:
        name = f"{instrument.id}.{scale.id}"
        out[f"{name}.lo"] = np.asarray(bounds[scale.id][0], dtype=float)
        out[f"{name}.hi"] = np.asarray(bounds[scale.id][1], dtype=float)
    return pd.DataFrame(out, index=responses.index)


def _condition(x: np.ndarray, op: str, value: float) -> pd.arrays.BooleanArray:
    """``x op value`` as a pandas ``boolean`` array: NA where ``x`` is NaN (not evaluated)."""
    with np.errstate(invalid="ignore"):
        hit = _OPS[op](x, value)
    return pd.array(np.where(np.isnan(x), None, hit), dtype="boolean")


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
        scale completeness and of validity checks. Opt-in items (``active: false``) are
        included; the policy decides whether they count.
    """
    out = {}
    for crit in instrument.critical_items:
        x = responses[crit.item].to_numpy(dtype=float)
        out[f"{instrument.id}.{crit.id}"] = _condition(x, crit.op, crit.value)
    return pd.DataFrame(out, index=responses.index)


def validity_flags(scores: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Validity checks (e.g. MHT lie scale >= 7) evaluated on scored scales.

    Parameters
    ----------
    scores : DataFrame
        Output of :func:`score_instrument`.

    Returns
    -------
    DataFrame of pandas ``boolean``, shape (n_respondents, n_validity_checks)
        Columns ``{instrument}.{check id}``: True when the check fires (protocol should be
        retested), False when it does not, NA when the validity scale is unscored.
    """
    out = {}
    for check in instrument.validity_checks:
        x = scores[f"{instrument.id}.{check.scale}"].to_numpy(dtype=float)
        out[f"{instrument.id}.{check.id}"] = _condition(x, check.op, check.value)
    return pd.DataFrame(out, index=scores.index)
