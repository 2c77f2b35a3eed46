"""Input of :mod:`xinli_screen.reliability` and :mod:`xinli_screen.factor`: item sets and errors.

Private: the public names are re-exported by those modules. This module turns the user's input
(a response table, reverse keys or an instrument, a grouping column and a missing-data policy)
into keyed item matrices (:class:`ItemSet`, :func:`prepare`), checks that an item set can carry
a statistic, and defines the analyses' errors and warnings. The moments are in
:mod:`xinli_screen._moments`, the result objects in :mod:`xinli_screen._analysis_results`.

Reverse keying is ``lo + hi - x`` with the *declared* response range (an instrument's response
scale, or ``scale_range``), never the observed minimum and maximum of the data.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from xinli_screen.errors import ResponseDataError, XinliScreenError, XinliScreenWarning
from xinli_screen.instrument.models import Instrument

__all__ = [
    "AnalysisError",
    "ConstantItemWarning",
    "MiskeyedItemsWarning",
    "SmallSampleWarning",
]

Missing = Literal["pairwise", "listwise"]
MISSING_POLICIES = ("pairwise", "listwise")


class AnalysisError(XinliScreenError, ValueError):
    """A psychometric analysis cannot be computed as requested.

    Raised for invalid arguments (unknown ``missing`` policy, keys that are not +1/-1, reverse
    keys without a declared response range, too many factors) and for data that do not support
    the analysis (fewer than two items, two items never answered together, a singular
    correlation matrix). Problems with the response cells themselves (non-numeric columns, codes
    outside the declared range) raise :class:`xinli_screen.ResponseDataError` instead.
    """


class MiskeyedItemsWarning(XinliScreenWarning):
    """Items look reverse-keyed the wrong way (negative item-rest r, negative alpha, or a
    negative general-factor loading).

    ``.items`` holds the item ids; the message names them with their values and says how to
    fix the keys.
    """

    def __init__(self, message: str, items: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.items = tuple(items)


class SmallSampleWarning(XinliScreenWarning):
    """The correlation matrix of a scale is singular (usually fewer respondents than items):
    the statistic is computed as R psych computes it, but rests on too little data to be
    stable. R psych warns "Matrix was not positive definite, smoothing was done"."""


class ConstantItemWarning(XinliScreenWarning):
    """An item has no variance (everyone answered alike): statistics built on correlations
    (standardised alpha, lambda-6, average r) are NaN; raw alpha is still reported."""


class InsufficientDataWarning(XinliScreenWarning):
    """One group or scale of a grouped analysis could not be computed; its row is NaN with the
    reason in the ``error`` column, the other groups and scales are unaffected."""


# --------------------------------------------------------------------------------------------
# input preparation


@dataclass(frozen=True, eq=False)
class ItemSet:
    """Keyed responses of one scale in one group, after the missing-data policy.

    ``x`` has shape (n_obs, n_items), NaN = missing (pairwise) or no NaN at all (listwise);
    rows without any answered item are already dropped. ``keys`` is +1/-1 per item.
    """

    x: np.ndarray
    items: tuple[str, ...]
    keys: tuple[int, ...]
    missing: str
    n_rows: int
    group: Any = None
    scale: str | None = None
    scale_range: tuple[float, float] | None = None
    raw: np.ndarray | None = None  # unkeyed answers, same rows as x (for frequencies)
    empty_items: tuple[str, ...] = ()  # items nobody in the group answered (before the policy)

    @property
    def n_obs(self) -> int:
        """Respondents used: with at least one answer (pairwise) or complete (listwise)."""
        return int(self.x.shape[0])

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def label(self) -> str:
        parts = []
        if self.group is not None:
            parts.append(f"group {self.group!r}")
        if self.scale is not None:
            parts.append(f"scale {self.scale!r}")
        return ", ".join(parts) if parts else "the items"

    def key_of(self) -> dict[str, int]:
        return dict(zip(self.items, self.keys, strict=True))


@dataclass(frozen=True)
class Prepared:
    """Item sets plus how they were requested (decides the shape of the return value)."""

    sets: list[ItemSet]
    by: str | None
    instrument: str | None

    @property
    def multi(self) -> bool:
        return self.by is not None or self.instrument is not None


def check_missing(missing: str) -> None:
    if missing not in MISSING_POLICIES:
        raise AnalysisError(f"missing must be one of {MISSING_POLICIES}; got {missing!r}")


def _as_frame(items: Any) -> pd.DataFrame:
    if isinstance(items, pd.DataFrame):
        return items
    arr = np.asarray(items)
    if arr.ndim != 2:
        raise AnalysisError(f"items must be a DataFrame or a 2-D array (respondents x items); "
                            f"got an array of shape {arr.shape}")
    return pd.DataFrame(arr, columns=[f"item_{j + 1}" for j in range(arr.shape[1])])


def _numeric(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    bad = [c for c in columns if not (pd.api.types.is_numeric_dtype(frame[c])
                                      or frame[c].isna().all())]
    if bad:
        raise ResponseDataError(
            f"item column(s) {bad[:5]} are not numeric (dtype "
            f"{[str(frame[c].dtype) for c in bad[:5]]}); convert answer labels to codes first, "
            "e.g. with xinli_screen.prepare_responses, and pass only item columns (plus the "
            "`by` column)")
    x = frame.loc[:, list(columns)].to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(x).any():
        cols = [c for c, bad_col in zip(columns, np.isinf(x).any(axis=0), strict=True)
                if bad_col]
        raise ResponseDataError(f"item column(s) {cols[:5]} contain infinite values")
    return x


def _load_instrument(instrument: str | Path | Instrument) -> Instrument:
    if isinstance(instrument, Instrument):
        return instrument
    from xinli_screen.instrument.registry import load_instrument

    return load_instrument(instrument)


def parse_keys(keys: Any, columns: Sequence[str]) -> np.ndarray:
    """+1/-1 per column from None, a list of reverse-keyed columns, or a mapping to +1/-1."""
    out = np.ones(len(columns), dtype=int)
    if keys is None:
        return out
    pos = {c: j for j, c in enumerate(columns)}
    if isinstance(keys, Mapping):
        pairs = list(keys.items())
    elif isinstance(keys, str):
        pairs = [(keys, -1)]
    else:
        try:
            pairs = [(k, -1) for k in keys]
        except TypeError:
            raise AnalysisError(
                "keys must be None, a list of reverse-keyed item columns, or a mapping "
                f"{{item: +1 or -1}}; got {type(keys).__name__}") from None
    unknown = [k for k, _ in pairs if k not in pos]
    if unknown:
        raise AnalysisError(f"keys name item(s) {unknown[:5]} that are not item columns; "
                            f"item columns are {list(columns)[:10]}")
    for k, v in pairs:
        if isinstance(v, bool) or v not in (1, -1):
            raise AnalysisError(f"key of item {k!r} must be +1 or -1; got {v!r}")
        out[pos[k]] = int(v)
    return out


def _check_range(x: np.ndarray, columns: Sequence[str], lo: np.ndarray, hi: np.ndarray,
                 source: str) -> None:
    with np.errstate(invalid="ignore"):
        outside = (x < lo) | (x > hi)
    if outside.any():
        counts = outside.sum(axis=0)
        where = [f"{c} ({int(n)} value(s) outside [{lo_:g}, {hi_:g}])"
                 for c, n, lo_, hi_ in zip(columns, counts, np.broadcast_to(lo, counts.shape),
                                           np.broadcast_to(hi, counts.shape), strict=True)
                 if n]
        raise ResponseDataError(
            f"answers outside the declared response range ({source}): {', '.join(where[:5])}"
            f"{' ...' if len(where) > 5 else ''}. Reverse keying uses the declared range, so "
            "these values would be keyed wrongly: fix the data or the range")


def _groups(frame: pd.DataFrame, by: str | None) -> list[tuple[Any, np.ndarray]]:
    if by is None:
        return [(None, np.arange(len(frame)))]
    if by not in frame.columns:
        raise AnalysisError(f"by={by!r} is not a column of items; columns are "
                            f"{list(frame.columns)[:10]}")
    idx = frame.groupby(by, dropna=False, sort=True).indices
    return [(_plain(g), np.asarray(rows)) for g, rows in idx.items()]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _item_set(keyed: np.ndarray, raw: np.ndarray, items: Sequence[str], missing: str,
              **labels: Any) -> ItemSet:
    """An :class:`ItemSet` after the missing-data policy; remembers the all-empty columns."""
    answered = ~np.isnan(keyed)
    keep = answered.all(axis=1) if missing == "listwise" else answered.any(axis=1)
    empty = tuple(str(i) for i, any_ in zip(items, answered.any(axis=0), strict=True)
                  if not any_)
    return ItemSet(x=keyed[keep], raw=raw[keep], items=tuple(map(str, items)), missing=missing,
                   n_rows=len(keyed), empty_items=empty, **labels)


def prepare(items: Any, *, keys: Any = None, scale_range: tuple[float, float] | None = None,
            instrument: str | Path | Instrument | None = None,
            scales: Sequence[str] | None = None, by: str | None = None,
            missing: str = "pairwise", per_scale: bool = True,
            min_items: int = 2) -> Prepared:
    """Keyed item sets, one per (group, scale), after the missing-data policy.

    Without an instrument every column except ``by`` is an item and one set per group is
    returned. With an instrument, ``per_scale=True`` gives one set per scale (its items,
    through components for a composite), ``per_scale=False`` one set of all the requested
    scales' items (factor analysis).
    """
    check_missing(missing)
    frame = _as_frame(items)
    groups = _groups(frame, by)
    if instrument is None:
        columns = [c for c in frame.columns if c != by]
        if len(columns) < min_items:
            raise AnalysisError(f"need at least {min_items} item columns; got {len(columns)}")
        x_all = _numeric(frame, columns)
        key_vec = parse_keys(keys, columns)
        rng = None
        if scale_range is not None:
            rng = _check_scale_range(scale_range)
            _check_range(x_all, columns, np.float64(rng[0]), np.float64(rng[1]),
                         f"scale_range={rng}")
        if (key_vec < 0).any():
            if rng is None:
                rev = [c for c, k in zip(columns, key_vec, strict=True) if k < 0]
                raise AnalysisError(
                    f"item(s) {rev[:5]} are reverse-keyed but no response range is declared: "
                    "pass scale_range=(min, max), e.g. scale_range=(1, 6) for a 1-6 scale, or "
                    "an instrument. The observed minimum and maximum are never used, because a "
                    "sample that misses an extreme answer would be keyed wrongly")
            keyed = np.where(key_vec < 0, rng[0] + rng[1] - x_all, x_all)
        else:
            keyed = x_all
        sets = []
        for g, rows in groups:
            sets.append(_item_set(keyed[rows], x_all[rows], columns, missing,
                                  keys=tuple(key_vec.tolist()), group=g, scale_range=rng))
        return Prepared(sets, by, None)

    if keys is not None or scale_range is not None:
        raise AnalysisError("with an instrument, reverse keys and response ranges come from its "
                            "definition: leave keys and scale_range as None")
    inst = _load_instrument(instrument)
    chosen = _chosen_scales(inst, scales, min_items, per_scale)
    needed = list(dict.fromkeys(i for _, its in chosen for i in its))
    absent = [i for i in needed if i not in frame.columns]
    if absent:
        raise ResponseDataError(f"responses lack item column(s) {absent[:5]} of instrument "
                                f"{inst.id!r} (columns must be named by item id)")
    x_needed = _numeric(frame, needed)
    lo_all, hi_all = inst.item_bounds
    pos = {i: k for k, i in enumerate(inst.item_ids)}
    lo = np.array([lo_all[pos[i]] for i in needed])
    hi = np.array([hi_all[pos[i]] for i in needed])
    _check_range(x_needed, needed, lo, hi, f"response scales of {inst.id!r}")
    full = pd.DataFrame(np.nan, index=frame.index, columns=list(inst.item_ids))
    full.loc[:, needed] = x_needed
    from xinli_screen.scoring import reverse_key

    keyed_all = reverse_key(full, inst)
    rev = {i.id: i.reverse_keyed for i in inst.items}
    sets = []
    for g, rows in groups:
        for scale_id, its in chosen:
            cols = list(its)
            k = tuple(-1 if rev[i] else 1 for i in cols)
            sets.append(_item_set(keyed_all[cols].to_numpy(dtype=float)[rows],
                                  full[cols].to_numpy(dtype=float)[rows], cols, missing,
                                  keys=k, group=g, scale=scale_id))
    return Prepared(sets, by, inst.id)


def _check_scale_range(scale_range: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in scale_range)
    except (TypeError, ValueError):
        raise AnalysisError(f"scale_range must be (min, max); got {scale_range!r}") from None
    if not lo < hi:
        raise AnalysisError(f"scale_range must be (min, max) with min < max; got {scale_range!r}")
    return lo, hi


def _chosen_scales(inst: Instrument, scales: Sequence[str] | None, min_items: int,
                   per_scale: bool) -> list[tuple[str | None, tuple[str, ...]]]:
    known = [s.id for s in inst.scales]
    if scales is None:
        chosen = [(s.id, inst.scale_items(s)) for s in inst.scales]
        chosen = [(sid, tuple(dict.fromkeys(its))) for sid, its in chosen]
        if per_scale:
            return [(sid, its) for sid, its in chosen if len(its) >= min_items]
        return [(None, tuple(inst.item_ids))]
    if isinstance(scales, str):
        scales = [scales]
    unknown = [s for s in scales if s not in known]
    if unknown:
        raise AnalysisError(f"instrument {inst.id!r} has no scale(s) {unknown}; scales: {known}")
    chosen = [(s, tuple(dict.fromkeys(inst.scale_items(inst.scale(s))))) for s in scales]
    if per_scale:
        small = [s for s, its in chosen if len(its) < min_items]
        if small:
            raise AnalysisError(f"scale(s) {small} of {inst.id!r} have fewer than {min_items} "
                                "items")
        return chosen
    pooled = tuple(dict.fromkeys(i for _, its in chosen for i in its))
    return [(None, pooled)]


def check_answered(s: ItemSet, what: str) -> None:
    """Raise, naming them, when some items were answered by nobody (an empty column)."""
    if s.empty_items:
        raise AnalysisError(
            f"{what} for {s.label}: item(s) {list(s.empty_items[:5])} have no answers at all "
            "(an empty column: check the column map or the export, or leave the item out)")


def warn_singular(s: ItemSet, what: str) -> str:
    """Warn that a scale's correlation matrix is singular; returns the message."""
    reason = (f"{s.n_obs} respondents for {s.n_items} items" if s.n_obs <= s.n_items else
              "some items are linear combinations of others")
    msg = (f"{what} for {s.label}: the correlation matrix is singular ({reason}); lambda-6 "
           "uses its pseudo-inverse as R psych does (R warns 'Matrix was not positive "
           "definite'), and the values rest on too few respondents to be stable: collect more "
           "respondents than items before interpreting them")
    warnings.warn(SmallSampleWarning(msg), stacklevel=4)
    return msg


def check_usable(s: ItemSet, cov: np.ndarray, n_pair: np.ndarray, what: str,
                 allow_constant: bool = False) -> list[str]:
    """Raise when an item is never answered, some pair of items has fewer than two joint
    answers, or (unless ``allow_constant``) an item is constant; returns the constant items."""
    k = s.n_items
    check_answered(s, what)
    if s.n_obs < 2:
        raise AnalysisError(f"{what} for {s.label}: needs at least 2 respondents with answers "
                            f"({'complete' if s.missing == 'listwise' else 'any'}); got "
                            f"{s.n_obs}")
    low = np.argwhere(np.triu(n_pair < 2, 1))
    if len(low):
        pairs = [f"{s.items[i]}/{s.items[j]}" for i, j in low[:5]]
        raise AnalysisError(f"{what} for {s.label}: item pair(s) {pairs} were answered together "
                            "by fewer than 2 respondents, so their covariance is undefined; use "
                            "missing='listwise' or drop an item")
    var = np.diag(cov)
    const = [s.items[j] for j in range(k) if not var[j] > 0]
    if const and not allow_constant:
        raise AnalysisError(f"{what} for {s.label}: item(s) {const[:5]} have no variance "
                            "(everyone gave the same answer); drop them, a constant item "
                            "carries no information about reliability")
    return const


