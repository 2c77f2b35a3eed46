"""Three-valued evaluation of a rule's condition, vectorised over respondents.

:class:`_Evaluator` turns a condition (scale, band, cut-off, item or column comparison, and
``all`` / ``any`` / ``at_least`` of them) into a :class:`_Truth`: boolean ``true`` and ``known``
arrays of shape (n,) and the evidence of every true row as integer codes into a list of distinct
evidence texts, so that text is built once per distinct evidence, never once per respondent.
The logic (Kleene's strong three-valued logic, scale bounds for unanswered items) is described
in :mod:`xinli_screen.policy.engine`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from xinli_screen._text import fmt_numbers
from xinli_screen.instrument.models import Instrument
from xinli_screen.policy.models import (
    AllOf,
    AnyOf,
    AtLeast,
    BandCondition,
    ColumnCondition,
    Condition,
    ItemCondition,
    ScaleCondition,
)

_OPS = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less,
        "==": np.equal}
_OP_TEXT = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "="}


def _instrument_of(leaf: Condition, instruments: Sequence[Instrument]) -> str | None:
    """The id of the instrument a leaf condition takes its evidence from (None: a column)."""
    if isinstance(leaf, ColumnCondition):
        return None  # evidence from the input's extra columns, not from an instrument
    if isinstance(leaf, ItemCondition):
        for inst in instruments:
            if leaf.item.startswith(f"{inst.id}_"):
                return inst.id
        return leaf.item.split("_", 1)[0]
    ref = leaf.scale if isinstance(leaf, ScaleCondition) else (
        leaf.band if isinstance(leaf, BandCondition) else leaf.cutoff)
    return ref.split(".", 1)[0]


def _factorize(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hash-based codes 0..k-1 (in order of first appearance) and the k distinct values."""
    codes, uniques = pd.factorize(key, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False), np.asarray(uniques)


def _shown_numbers(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Codes of numbers by their text (``fmt_numbers``), formatting only the distinct values.

    The text depends only on the value rounded to 2 decimals, so values are grouped by the bits
    of that rounded value (rounding again, as ``fmt_numbers`` does, does not change it).
    """
    rounded = np.round(np.asarray(values, dtype=float), 2)
    codes, uniques = _factorize(rounded.view(np.int64))
    return codes, fmt_numbers(uniques.view(np.float64)).tolist()


def _join(old: str, add: str, sep: str) -> str:
    """``add`` appended to ``old`` with ``sep`` (just ``add`` when ``old`` is empty)."""
    return add if old == "" else old + sep + add


@dataclass(frozen=True)
class _Truth:
    """Three-valued outcome of a condition, with its evidence as integer codes.

    ``true`` and ``known`` are boolean, shape (n,). ``codes`` (int64, shape (n,)) is 0 where the
    condition is not true and otherwise an index into ``labels``, the distinct evidence texts
    (``labels[0]`` is "").
    """

    true: np.ndarray
    known: np.ndarray
    codes: np.ndarray
    labels: list[str]


def _truth(true: np.ndarray, known: np.ndarray, rows: np.ndarray, codes: np.ndarray,
           labels: list[str]) -> _Truth:
    """A :class:`_Truth` whose true ``rows`` have the 0-based evidence ``codes`` into ``labels``."""
    full = np.zeros(len(true), dtype=np.int64)
    full[rows] = codes + 1
    return _Truth(true, known, full, ["", *labels])


class _Evaluator:
    def __init__(self, scores: pd.DataFrame, bounds: pd.DataFrame, responses: pd.DataFrame,
                 instruments: Sequence[Instrument], extra: pd.DataFrame | None = None) -> None:
        self.scores = scores.reset_index(drop=True)
        self.extra = pd.DataFrame(index=range(len(scores))) if extra is None else (
            extra.reset_index(drop=True))
        self.bounds = bounds.reset_index(drop=True)
        self.responses = responses.reset_index(drop=True)
        self.n = len(scores)
        self.screened = {inst.id for inst in instruments}
        self.instruments = instruments
        self.number = {i.id: i.number for inst in instruments for i in inst.items}
        self.scales = {f"{inst.id}.{s.id}": s for inst in instruments for s in inst.scales}
        self.n_items = {f"{inst.id}.{s.id}": len(inst.scale_items(s))
                        for inst in instruments for s in inst.scales}

    def _compare(self, x: np.ndarray, op: str, value: float, label: str) -> _Truth:
        known = ~np.isnan(x)
        with np.errstate(invalid="ignore"):
            true = _OPS[op](x, value) & known
        rows = np.flatnonzero(true)
        codes, shown = _shown_numbers(x[rows])
        tail = f" {_OP_TEXT[op]} {value:g}"
        return _truth(true, known, rows, codes, [f"{label} = {s}{tail}" for s in shown])

    def _scale(self, name: str, op: str, value: float, note: str = "") -> _Truth:
        """Compare a scale score; missing items are resolved with the reachable bounds."""
        x = self.scores[name].to_numpy(dtype=float)
        lo = self.bounds[f"{name}.lo"].to_numpy(dtype=float)
        hi = self.bounds[f"{name}.hi"].to_numpy(dtype=float)
        cmp = _OPS[op]
        with np.errstate(invalid="ignore"):
            now = cmp(x, value) & ~np.isnan(x)
            if op in (">=", ">"):
                sure_true, sure_false = cmp(lo, value), ~cmp(hi, value)
            elif op in ("<=", "<"):
                sure_true, sure_false = cmp(hi, value), ~cmp(lo, value)
            else:
                sure_true = (lo == value) & (hi == value)
                sure_false = (value < lo) | (value > hi)
        true = now | sure_true
        tail = f" {_OP_TEXT[op]} {value:g}{note}"
        total = self.n_items[name]
        bound = lo if op in (">=", ">", "==") else hi
        word = "≥" if op in (">=", ">", "==") else "≤"
        rows = np.flatnonzero(true)
        scored = now[rows]
        # complete scores: the text depends on the score only
        scored_codes, shown = _shown_numbers(x[rows[scored]])
        labels = [f"{name} = {s}{tail}" for s in shown]
        # incomplete scores: on the reachable bound and the number of items answered
        partial = rows[~scored]
        bound_codes, bound_text = _shown_numbers(bound[partial])
        answered_codes, answered = _factorize(
            self.scores[f"{name}.n_answered"].to_numpy()[partial])
        width = len(answered)
        partial_codes, pairs = _factorize(bound_codes * width + answered_codes)
        answered_text = answered.astype(str)
        labels += [f"{name} {word} {bound_text[p // width]} ({answered_text[p % width]}/{total} "
                   f"answered; rule{tail})" for p in pairs.tolist()]
        codes = np.empty(len(rows), dtype=np.int64)
        codes[scored] = scored_codes
        codes[~scored] = len(shown) + partial_codes
        return _truth(true, sure_true | sure_false, rows, codes, labels)

    def _band(self, cond: BandCondition) -> _Truth:
        scale = self.scales[cond.band]
        mins = np.array([b.min for b in scale.bands])
        member = np.array([b.id in cond.in_ for b in scale.bands])
        band = self.scores[f"{cond.band}.band"]
        now = band.isin(cond.in_).to_numpy()
        lo = self.bounds[f"{cond.band}.lo"].to_numpy(dtype=float)
        hi = self.bounds[f"{cond.band}.hi"].to_numpy(dtype=float)
        i_lo = np.clip(np.searchsorted(mins, lo, side="right") - 1, 0, None)
        i_hi = np.clip(np.searchsorted(mins, hi, side="right") - 1, 0, None)
        cum = np.concatenate([[0], np.cumsum(member)])
        inside = cum[i_hi + 1] - cum[i_lo]
        sure_true = inside == (i_hi - i_lo + 1)
        sure_false = inside == 0
        true = now | sure_true
        rows = np.flatnonzero(true)
        named = now[rows]
        band_codes, bands = pd.factorize(band.iloc[rows[named]])
        labels = [f"{cond.band} band = {b}" for b in bands]
        codes = np.full(len(rows), len(labels), dtype=np.int64)  # band not known yet: certain
        codes[named] = band_codes
        labels.append(f"{cond.band} band certain to be one of {', '.join(cond.in_)}")
        return _truth(true, sure_true | sure_false, rows, codes, labels)

    def _column(self, cond: ColumnCondition) -> _Truth:
        raw = self.extra[cond.column]
        if isinstance(cond.value, str):
            text = raw.astype("string").str.strip()
            known = text.notna().to_numpy() & (text != "").fillna(False).to_numpy()
            equal = (text == cond.value.strip()).fillna(False).to_numpy()
            true = known & (equal if cond.op == "==" else ~equal)
            rows = np.flatnonzero(true)
            codes, shown = pd.factorize(text.iloc[rows])
            return _truth(true, known, rows, codes.astype(np.int64),
                          [f"{cond.column} = {s}" for s in shown])
        x = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        return self._compare(x, cond.op, float(cond.value), cond.column)

    def leaf(self, cond: Condition) -> _Truth:
        if isinstance(cond, ColumnCondition):
            return self._column(cond)
        if _instrument_of(cond, self.instruments) not in self.screened:
            return _Truth(np.zeros(self.n, bool), np.ones(self.n, bool),
                          np.zeros(self.n, dtype=np.int64), [""])
        if isinstance(cond, ScaleCondition):
            if cond.metric != "score":
                x = self.scores[f"{cond.scale}.{cond.metric}"].to_numpy(dtype=float)
                short = "PR" if cond.metric == "percentile" else cond.metric.upper()
                label = f"{cond.scale} {short}"
                return self._compare(x, cond.op, cond.value, label)
            return self._scale(cond.scale, cond.op, cond.value)
        if isinstance(cond, ItemCondition):
            x = self.responses[cond.item].to_numpy(dtype=float)
            label = f"{cond.item} (#{self.number[cond.item]})"
            return self._compare(x, cond.op, cond.value, label)
        if isinstance(cond, BandCondition):
            return self._band(cond)
        name, cut_id = cond.cutoff.rsplit(".", 1)
        cut = next(c for c in self.scales[name].cutoffs if c.id == cut_id)
        return self._scale(name, cut.op, cut.value, f" ({cut_id})")

    def evaluate(self, cond: Condition) -> _Truth:
        if isinstance(cond, (AllOf, AnyOf, AtLeast)):
            children = [self.evaluate(c) for c in (
                cond.all if isinstance(cond, AllOf) else cond.any if isinstance(cond, AnyOf)
                else cond.of)]
            n_true = np.sum([c.true for c in children], axis=0)
            n_unknown = np.sum([~c.known for c in children], axis=0)
            need = (len(children) if isinstance(cond, AllOf) else 1 if isinstance(cond, AnyOf)
                    else cond.at_least)
            true = n_true >= need
            known = true | (n_true + n_unknown < need)
            # the evidence of the true children, in order, per distinct combination of codes
            rows = np.flatnonzero(true)
            codes = np.zeros(len(rows), dtype=np.int64)
            labels = [""]
            for child in children:
                width = len(child.labels)
                codes, pairs = _factorize(codes * width + child.codes[rows])
                labels = [labels[p // width] if p % width == 0 else
                          _join(labels[p // width], child.labels[p % width], "; ")
                          for p in pairs.tolist()]
            return _truth(true, known, rows, codes, labels)
        return self.leaf(cond)
