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

from xinli_screen._text import decode_text
from xinli_screen.instrument.models import Instrument, Scale, apply_rounding

__all__ = [
    "critical_item_flags",
    "keys_matrix",
    "reverse_key",
    "score_bounds",
    "score_instrument",
    "score_with_bounds",
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
    """The item columns as one float matrix (a view when they already are one block)."""
    items = list(instrument.item_ids)
    missing = [i for i in items if i not in responses.columns]
    if missing:
        raise KeyError(f"responses lack item column(s) {missing[:5]} of {instrument.id!r}")
    frame = responses if list(responses.columns) == items else responses.loc[:, items]
    return frame.to_numpy(dtype=float)


def _reverse_mask(instrument: Instrument) -> np.ndarray:
    return np.array([i.reverse_keyed for i in instrument.items])


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
    keyed = np.where(_reverse_mask(instrument), lo + hi - x, x)
    return pd.DataFrame(keyed, index=responses.index, columns=list(instrument.item_ids))


#: Rows per block in :class:`_Sums`: keeps the temporaries in cache, and keeps each matrix
#: product small enough that OpenBLAS runs it on one thread (larger products start threads
#: that cost more than they save on 2 cores: 4,096 rows took 0.22 s at 10^6, 8,192 rows 1.6 s).
_BLOCK = 4_096


class _Sums:
    """Keyed sums, answered counts and fill-in sums per item scale, from one answer matrix.

    Reverse keying is folded into the keys: summed over the answered items of a scale,
    ``min + max - x`` is ``(min + max) x answered - x``, so the keyed sums are one matrix
    product of the answers (missing cells as 0) with signed keys plus one product of the
    answered mask with the per-item offsets. The same product of the mask gives the answered
    counts and the sums of the lowest / highest keyed codes over the answered items, from
    which the reachable score bounds follow. Rows are processed in blocks, so no keyed copy
    of the answers is ever made (except for the items of filtered and count scales).
    """

    def __init__(self, responses: pd.DataFrame, instrument: Instrument) -> None:
        self.x = _matrix(responses, instrument)
        self.scales = _item_scales(instrument)
        self.keys = keys_matrix(instrument).to_numpy()
        self.lo, self.hi = instrument.item_bounds
        self.rev = _reverse_mask(instrument)
        n, k = self.x.shape[0], len(self.scales)
        offset = np.where(self.rev, self.lo + self.hi, 0.0)[:, None]
        signed = self.keys * np.where(self.rev, -1.0, 1.0)[:, None]
        # counts, offsets and fill-in sums are small whole numbers: exact in float32
        mask_keys = np.hstack([self.keys, self.keys * offset, self.keys * self.lo[:, None],
                               self.keys * self.hi[:, None]]).astype(np.float32)
        # results column-major, so that each scale's column is contiguous for what follows
        sums = np.empty((n, k), order="F")
        by_mask = np.empty((n, 4 * k), dtype=np.float32, order="F")
        shape = (min(n, _BLOCK), self.x.shape[1])  # column-major, like a pandas block
        values = np.empty(shape, order="F")
        missing = np.empty(shape, dtype=bool, order="F")
        answered = np.empty(shape, dtype=np.float32, order="F")
        for r in range(0, n, _BLOCK):
            block = self.x[r:r + _BLOCK]
            size = block.shape[0]
            np.isnan(block, out=missing[:size])
            np.copyto(values[:size], block)
            np.copyto(values[:size], 0.0, where=missing[:size])
            np.logical_not(missing[:size], out=answered[:size], casting="unsafe")
            sums[r:r + size] = values[:size] @ signed
            by_mask[r:r + size] = answered[:size] @ mask_keys
        self._by_mask = by_mask
        self.sums = sums
        self.sums += by_mask[:, k:2 * k]
        self.n_answered = by_mask[:, :k].astype(float, order="F")
        self.n_items = self.keys.sum(axis=0)

    def fill_sums(self) -> tuple[np.ndarray, np.ndarray]:
        """Keyed sums with every missing item answered at its lowest / highest keyed code."""
        k = len(self.scales)
        lo_all = (self.keys * self.lo[:, None]).sum(axis=0)
        hi_all = (self.keys * self.hi[:, None]).sum(axis=0)
        return (self.sums + (lo_all - self._by_mask[:, 2 * k:3 * k]),
                self.sums + (hi_all - self._by_mask[:, 3 * k:]))

    def filtered(self, s: int) -> tuple[np.ndarray, np.ndarray]:
        """(keyed codes, items counted) of scale ``s``'s items, for filtered/count scales."""
        col = self.keys[:, s].astype(bool)
        x = self.x[:, col]
        keyed = np.where(self.rev[col], self.lo[col] + self.hi[col] - x, x)
        answered = ~np.isnan(x)
        f = self.scales[s].item_filter
        if f is None:
            return keyed, answered
        with np.errstate(invalid="ignore"):
            return keyed, _OPS[f.op](keyed, f.value) & answered


def _item_scale_score(k: _Sums, s: int) -> tuple[np.ndarray, np.ndarray]:
    """(score before multiplier/rounding, prorated flag) for item scale number ``s``."""
    scale = k.scales[s]
    m = k.n_answered[:, s]
    n = k.n_items[s]
    enough = m >= scale.required_answers
    if scale.item_filter is None and scale.method != "count":
        total, hits = k.sums[:, s], m
    else:
        keyed, meets = k.filtered(s)
        total = np.where(meets, keyed, 0.0).sum(axis=1)
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


def _scores(k: _Sums, instrument: Instrument, index: pd.Index) -> pd.DataFrame:
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
    return pd.DataFrame(out, index=index, copy=False)  # no consolidation copy


def _bounds(k: _Sums, instrument: Instrument, index: pd.Index) -> pd.DataFrame:
    bounds: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    lo_fill, hi_fill = k.fill_sums()
    for s, scale in enumerate(k.scales):
        if scale.item_filter is None and scale.method != "count":
            div = k.n_items[s] if scale.method == "mean" else 1.0
            lo, hi = lo_fill[:, s] / div, hi_fill[:, s] / div
        else:
            complete = k.n_answered[:, s] == k.n_items[s]
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
    return pd.DataFrame(out, index=index, copy=False)  # no consolidation copy


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
        - ``.band``: severity band id (pandas ``str``; missing when unscored, below the
          first band or no bands declared).
        - ``.{cutoff id}``: boolean screen-positive flag per cut-off (pandas ``boolean``, NA
          when unscored).

    Notes
    -----
    Prorated score (sum scales only) = :math:`\\frac{k}{m}\\sum_{j \\in answered} x_j`, with
    *k* items on the scale and *m* answered; only where the instrument declares ``prorate``.
    A composite scale is the sum (or mean) of its component scale scores and is missing when
    any component is missing.
    """
    return _scores(_Sums(responses, instrument), instrument, responses.index)


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
    return _bounds(_Sums(responses, instrument), instrument, responses.index)


def score_with_bounds(responses: pd.DataFrame, instrument: Instrument
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`score_instrument` and :func:`score_bounds` from one pass over the answers.

    Parameters
    ----------
    responses : DataFrame, shape (n_respondents, >= n_items)
        Codes as answered (before reverse keying), NaN = missing, columns = item ids.
    instrument : Instrument

    Returns
    -------
    (scores, bounds)
        Exactly what the two functions return; the keyed sums and answered counts are
        computed once and shared.
    """
    k = _Sums(responses, instrument)
    return _scores(k, instrument, responses.index), _bounds(k, instrument, responses.index)


def _condition(x: np.ndarray, op: str, value: float) -> pd.arrays.BooleanArray:
    """``x op value`` as a pandas ``boolean`` array: NA where ``x`` is NaN (not evaluated)."""
    missing = np.isnan(x)
    with np.errstate(invalid="ignore"):
        hit = _OPS[op](x, value) & ~missing
    return pd.arrays.BooleanArray(hit, missing)


def _bands(score: np.ndarray, bands: tuple) -> pd.api.extensions.ExtensionArray:
    """Band id per score (text; missing when unscored, below the first band or no bands)."""
    if not bands:
        return decode_text(np.full(len(score), -1), [])
    # the band is the number of band minimums the score reaches, minus one (minimums ascend;
    # NaN reaches none); a few comparisons are cheaper than a binary search per score
    pos = np.full(len(score), -1, dtype=np.int16)
    for band in bands:
        pos += score >= band.min
    return decode_text(pos, [b.id for b in bands])


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
