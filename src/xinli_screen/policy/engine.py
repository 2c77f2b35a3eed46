"""Evaluate a warning policy on scored data, vectorised over respondents.

Conditions use three-valued logic: each yields ``true`` and ``known`` boolean arrays. A comparison
on an unanswered item is *unknown*. A comparison on a scale with unanswered items is decided
from the lowest and highest score the scale could still reach
(:func:`xinli_screen.scoring.score_bounds`): true when every completion meets it (the rule
fires, and its reason says how many items were answered), false when none can, otherwise
unknown. ``any`` is true if one child is true, false if all are
known false; ``all`` is false if one child is known false; ``at_least(n)`` is true with n true
children and false once too few children can still become true (Kleene's strong three-valued
logic). A rule fires only when its condition is true. A rule that is unknown and would raise the
tier means a missing answer could still change the result (``tier_settled`` is false).

Evidence about instruments that were not part of this screening counts as known false (not
collected is not the same as unanswered), and a rule with no screened evidence at all is inactive.

Every triggered critical item raises the respondent to at least ``policy.critical_item_tier``,
whatever the rest of the protocol looks like; no rule can lower a tier.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.extensions import ExtensionArray

from xinli_screen._text import TEXT_DTYPE, decode_text, fmt_numbers
from xinli_screen.errors import DefinitionIssue
from xinli_screen.instrument.models import Instrument
from xinli_screen.policy.models import (
    TIER_ORDER,
    AllOf,
    AnyOf,
    AtLeast,
    BandCondition,
    ChangeCondition,
    ColumnCondition,
    Condition,
    CutoffCondition,
    ItemCondition,
    Policy,
    Rule,
    ScaleCondition,
)
from xinli_screen.scoring import score_bounds

__all__ = ["PolicyOutcome", "bind_policy", "evaluate_policy", "extra_columns",
           "uses_norm_scores"]


def extra_columns(rules: Sequence[Rule]) -> list[str]:
    """Input columns (life events, reports, flags) that the rules' conditions name."""
    return list(dict.fromkeys(leaf.column for r in rules for leaf in _leaves(r.when)
                              if isinstance(leaf, ColumnCondition)))


def uses_norm_scores(rules: Sequence[Rule]) -> bool:
    """True when a rule compares a standard score (T, percentile, z), so the policy needs the
    norm columns; False when raw scores, bands, cut-offs, items and columns are enough."""
    return any(isinstance(leaf, ScaleCondition) and leaf.metric != "score"
               for r in rules for leaf in _leaves(r.when))


_OPS = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less,
        "==": np.equal}
_OP_TEXT = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "="}
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
REASON_COLUMNS = ["row", "id", "rule", "kind", "tier", "reason_zh", "reason_en"]


def _leaves(cond: Condition) -> Iterator[Condition]:
    if isinstance(cond, AllOf):
        children = cond.all
    elif isinstance(cond, AnyOf):
        children = cond.any
    elif isinstance(cond, AtLeast):
        children = cond.of
    else:
        yield cond
        return
    for child in children:
        yield from _leaves(child)


def _instrument_of(leaf: Condition, instruments: Sequence[Instrument]) -> str | None:
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


def _check_leaf(leaf: Condition, inst: Instrument) -> str | None:
    if isinstance(leaf, ItemCondition):
        return None if leaf.item in inst.item_ids else f"item {leaf.item!r} is not in {inst.id!r}"
    ref = leaf.scale if isinstance(leaf, ScaleCondition) else (
        leaf.band if isinstance(leaf, BandCondition) else leaf.cutoff)
    parts = ref.split(".")
    want = 3 if isinstance(leaf, CutoffCondition) else 2
    if len(parts) != want:
        form = "instrument.scale.cutoff" if want == 3 else "instrument.scale"
        return f"{ref!r} must have the form {form}"
    scales = {s.id: s for s in inst.scales}
    scale = scales.get(parts[1])
    if scale is None:
        return f"{inst.id!r} has no scale {parts[1]!r} (scales: {', '.join(scales)})"
    if isinstance(leaf, BandCondition):
        bands = {b.id for b in scale.bands}
        unknown = [b for b in leaf.in_ if b not in bands]
        if unknown:
            return f"scale {ref!r} has no band(s) {unknown} (bands: {sorted(bands)})"
    if isinstance(leaf, CutoffCondition) and parts[2] not in {c.id for c in scale.cutoffs}:
        return f"scale {parts[0]}.{parts[1]} has no cut-off {parts[2]!r}"
    return None


def _unreachable(leaf: Condition, inst: Instrument) -> str | None:
    """Why a raw-score or item comparison can never hold, or None."""
    if isinstance(leaf, ScaleCondition) and leaf.metric == "score":
        lo, hi = inst.scale_range(inst.scale(leaf.scale.split(".")[1]))
    elif isinstance(leaf, ItemCondition):
        item = next(i for i in inst.items if i.id == leaf.item)
        rs = inst.response_scale_of(item)
        lo, hi = float(rs.min_code), float(rs.max_code)
    else:
        return None
    possible = {">=": hi >= leaf.value, ">": hi > leaf.value, "<=": lo <= leaf.value,
                "<": lo < leaf.value, "==": lo <= leaf.value <= hi}[leaf.op]
    what = leaf.scale if isinstance(leaf, ScaleCondition) else leaf.item
    return None if possible else (f"{what} {leaf.op} {leaf.value:g} can never hold (possible "
                                  f"range {lo:g}-{hi:g})")


def _check_history_rules(policy: Policy, by_id: dict[str, Instrument], lines: dict[str, int],
                         source: str) -> list[DefinitionIssue]:
    """Unknown scales (and bands, cut-offs, items) in ``history.rules``, change conditions
    included: checked against the screened instruments, or the bundled instrument of that
    id when it is not screened; an id that is neither is not checked (a local instrument)."""
    from xinli_screen.instrument.registry import load_instrument

    issues: list[DefinitionIssue] = []
    history = getattr(policy, "history", None)
    for n, rule in enumerate(history.rules if history is not None else ()):
        for leaf in _leaves(rule.when):
            if isinstance(leaf, ColumnCondition):
                continue
            if isinstance(leaf, ChangeCondition):
                parts = leaf.change.split(".")
                inst_id = parts[0]
            else:
                inst_id = _instrument_of(leaf, list(by_id.values())) or ""
            inst = by_id.get(inst_id)
            if inst is None:
                try:
                    inst = load_instrument(inst_id)
                except Exception:  # not bundled: a local instrument, checked when screened
                    continue
            if isinstance(leaf, ChangeCondition):
                scales = [sc.id for sc in inst.scales]
                problem = (f"{leaf.change!r} must have the form instrument.scale"
                           if len(parts) != 2 else None if parts[1] in scales else
                           f"{inst.id!r} has no scale {parts[1]!r} (scales: "
                           f"{', '.join(scales)})")
            else:
                problem = _check_leaf(leaf, inst)
            if problem:
                issues.append(DefinitionIssue(
                    "unknown-reference", f"history rule {rule.id!r}: {problem}",
                    source=source, line=lines.get(f"history.rules.{n}.when"),
                    field=f"history.rules.{n}.when"))
    return issues


def bind_policy(
    policy: Policy,
    instruments: Sequence[Instrument],
    lines: dict[str, int] | None = None,
    source: str = "<policy>",
    normed: frozenset[str] | set[str] | None = None,
) -> tuple[list[Rule], list[str], list[DefinitionIssue]]:
    """Check a policy against the screened instruments.

    Returns
    -------
    (active rules, ids of inactive rules, issues)
        A rule is inactive when none of its evidence comes from a screened instrument. A rule
        that names an unknown scale, band, cut-off or item of a *screened* instrument is an
        error issue (file, line and field named), as is a reason template with a placeholder
        other than ``{evidence}``, and a rule on T scores or percentiles (``metric``) of an
        instrument without a norm table in ``normed`` (instrument ids; None = not checked).
    """
    by_id = {inst.id: inst for inst in instruments}
    active, inactive, issues = [], [], []
    lines = lines or {}
    for n, rule in enumerate(policy.rules):
        screened = False
        for leaf in _leaves(rule.when):
            if isinstance(leaf, ColumnCondition):
                screened = True
                continue
            inst = by_id.get(_instrument_of(leaf, instruments) or "")
            if inst is None:
                continue
            screened = True
            problem = _check_leaf(leaf, inst)
            if (problem is None and normed is not None and isinstance(leaf, ScaleCondition)
                    and leaf.metric != "score" and inst.id not in normed):
                problem = (f"{leaf.scale} uses {leaf.metric} scores, but no norm table was "
                           f"chosen for {inst.id!r} (screen(norms=...) or --norms)")
            if problem is None:
                unreachable = _unreachable(leaf, inst)
                if unreachable:
                    issues.append(DefinitionIssue(
                        "rule-cannot-fire", f"rule {rule.id!r}: {unreachable}", level="warning",
                        source=source, line=lines.get(f"rules.{n}.when"), field=f"rules.{n}.when"))
            if problem:
                issues.append(DefinitionIssue("unknown-reference", f"rule {rule.id!r}: {problem}",
                                              source=source, line=lines.get(f"rules.{n}.when"),
                                              field=f"rules.{n}.when"))
        for lang in ("zh", "en"):
            text = getattr(rule.reason, lang) or ""
            bad = [p for p in _PLACEHOLDER.findall(text) if p != "evidence"]
            if bad:
                issues.append(DefinitionIssue(
                    "unknown-placeholder", f"rule {rule.id!r}: reason.{lang} uses {bad}; only "
                    "{evidence} is filled in", source=source,
                    line=lines.get(f"rules.{n}.reason.{lang}"), field=f"rules.{n}.reason.{lang}"))
        (active if screened else inactive).append(rule if screened else rule.id)
    for k, ref in enumerate(policy.enable_critical_items):
        inst_id, _, crit_id = ref.partition(".")
        inst = by_id.get(inst_id)
        if inst is not None and crit_id not in {c.id for c in inst.critical_items}:
            issues.append(DefinitionIssue(
                "unknown-critical-item", f"enable_critical_items: {inst_id!r} has no critical "
                f"item {crit_id!r}", source=source,
                line=lines.get(f"enable_critical_items.{k}"), field=f"enable_critical_items.{k}"))
    issues += _check_history_rules(policy, by_id, lines, source)
    ids = [r.id for r in policy.rules]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        issues.append(DefinitionIssue("duplicate-id", f"rule id {dup!r} is used twice",
                                      source=source, line=lines.get("rules"), field="rules"))
    return active, inactive, issues


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


def _render(template: str, evidence: str, lang: str) -> str:
    """Fill ``{evidence}`` (the only placeholder) into a reason template."""
    if "{evidence}" in template:
        head, tail = template.split("{evidence}", 1)
        return head + evidence + tail.replace("{evidence}", "")
    return template + ("（" if lang == "zh" else " (") + evidence + ("）" if lang == "zh" else ")")


@dataclass(frozen=True)
class _Event:
    """A fired rule or triggered critical item: the rows it holds in and their reason texts.

    ``codes`` (int64, one per row of ``rows``, ascending) index ``zh`` and ``en``, the distinct
    reason texts (never empty).
    """

    name: str
    kind: str
    rank: int
    rows: np.ndarray
    codes: np.ndarray
    zh: list[str]
    en: list[str]


def _placement(n: int, events: Sequence[_Event]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lay the events' rows out long: by row, then in the order of ``events``.

    Returns
    -------
    (count, event, code)
        ``count`` (shape (n,)): events per row; per long row (``count.sum()`` of them, row 0's
        first), ``event``: index into ``events``, and ``code``: index into the events' texts
        concatenated (``events[0].zh`` then ``events[1].zh`` ...). Rows are placed by counting
        offsets, without a sort.
    """
    rows = np.concatenate([np.zeros(0, dtype=np.int64), *(e.rows for e in events)])
    count = np.bincount(rows, minlength=n)
    slot = np.cumsum(count) - count  # next free long row of each row
    event = np.empty(len(rows), dtype=np.int64)
    code = np.empty(len(rows), dtype=np.int64)
    offset = 0
    for k, e in enumerate(events):
        place = slot[e.rows]
        slot[e.rows] += 1
        event[place] = k
        code[place] = offset + e.codes
        offset += len(e.zh)
    return count, event, code


def _joined(count: np.ndarray, values: ExtensionArray, sep: str) -> ExtensionArray:
    """Per row, its ``count`` consecutive ``values`` joined by ``sep`` ("" when none).

    ``values`` is a pandas ``str`` array in long layout (:func:`_placement`); the join is one
    Arrow ``binary_join`` over a list view of it. Returns a pandas ``str`` array, shape (n,).
    Raises ``pyarrow.ArrowInvalid`` beyond 2**31 - 1 values in all (list offsets are 32-bit).
    """
    offsets = np.zeros(len(count) + 1, dtype=np.int64)
    np.cumsum(count, out=offsets[1:])
    lists = pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), pa.array(values))
    return pd.array(pc.binary_join(lists, pa.scalar(sep, pa.large_string())),
                    dtype=TEXT_DTYPE)


def _id_column(ids: pd.Series | None, rows: np.ndarray) -> np.ndarray | ExtensionArray:
    """Respondent ids of ``rows`` for the reasons table (None everywhere without ids).

    ``str`` ids are taken with Arrow; ids of any other dtype as objects, for pandas to infer
    the column type.
    """
    if ids is None:
        return np.full(len(rows), None, dtype=object)
    if ids.dtype == TEXT_DTYPE:
        return ids.array.take(rows)
    return ids.to_numpy(dtype=object)[rows]


def _reasons_table(events: Sequence[_Event], count: np.ndarray, event: np.ndarray,
                   columns: dict[str, ExtensionArray], ids: pd.Series | None) -> pd.DataFrame:
    """The long reasons table from the layout of :func:`_placement` (rule and reason columns
    already decoded)."""
    if not events:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in REASON_COLUMNS})
    rows = np.repeat(np.arange(len(count), dtype=np.int64), count)
    kinds = ["critical_item", "rule", "critical_unknown"]
    return pd.DataFrame({
        "row": rows,
        "id": _id_column(ids, rows),
        "kind": decode_text(np.array([kinds.index(e.kind) for e in events])[event], kinds),
        "tier": decode_text(np.array([e.rank for e in events])[event], TIER_ORDER),
        **columns,
    }, columns=REASON_COLUMNS)


@dataclass(frozen=True)
class PolicyOutcome:
    """Per-respondent result of a policy.

    Attributes
    ----------
    tier : ndarray of int, shape (n,)
        Index into :data:`TIER_ORDER` (0 none ... 3 district).
    settled : ndarray of bool, shape (n,)
        False when a missing answer could still raise the tier.
    reasons : DataFrame
        One row per fired rule or triggered critical item: row, id, rule, kind
        (``critical_item`` or ``rule``), tier, reason_zh, reason_en; ordered by row, then most
        severe tier first, then critical items before rules (in their declared order).
    critical : pandas ``str`` array, shape (n,)
        ``;``-joined critical item ids that fired ("" when none, never missing).
    unknown : pandas ``str`` array, shape (n,)
        ``;``-joined ids of the critical items (active or enabled) whose answer is unknown:
        unanswered, skipped, not shown or not readable ("" when none). Never a positive
        answer: a critical item that fired is in ``critical`` only.
    text : dict {"zh", "en", "codes"} of pandas ``str`` array, shape (n,)
        Per respondent, the reasons joined with "; " (most severe tier first) in each
        language, and the ``;``-joined rule ids in the same order ("" when none).
    """

    tier: np.ndarray
    settled: np.ndarray
    reasons: pd.DataFrame
    critical: ExtensionArray
    text: dict[str, ExtensionArray]
    unknown: ExtensionArray | None = None


def evaluate_policy(
    policy: Policy,
    rules: Sequence[Rule],
    scores: pd.DataFrame,
    responses: pd.DataFrame,
    critical: pd.DataFrame,
    instruments: Sequence[Instrument],
    ids: pd.Series | None = None,
    extra: pd.DataFrame | None = None,
    *,
    bounds: pd.DataFrame | None = None,
    unanswered: pd.DataFrame | None = None,
) -> PolicyOutcome:
    """Map every respondent to a warning tier with reasons.

    Vectorised: evidence is carried as integer codes per row, and text is built once per
    distinct evidence (or combination of reasons), never once per respondent.

    Parameters
    ----------
    policy : Policy
    rules : sequence of Rule
        The active rules from :func:`bind_policy`.
    scores : DataFrame, shape (n, ...)
        Output of :func:`xinli_screen.scoring.score_instrument` for every instrument, side by side.
    responses : DataFrame, shape (n, n_items)
        Item codes as answered (NaN = missing).
    critical : DataFrame of boolean, shape (n, n_critical)
        Output of :func:`xinli_screen.scoring.critical_item_flags`, side by side.
    instruments : sequence of Instrument
    ids : Series, optional
        Respondent ids, copied into the reasons table.
    extra : DataFrame, shape (n, k), optional
        The input columns named by ``column`` conditions (:func:`extra_columns`), in row order.
    bounds : DataFrame, shape (n, 2 * n_scales), optional
        The lowest and highest reachable score of every scale (``{instrument}.{scale}.lo`` and
        ``.hi`` columns), as returned by :func:`xinli_screen.scoring.score_bounds` for every
        instrument, side by side, in the row order of ``scores``. Computed from ``responses``
        when not given; pass it when it is already at hand, to save recomputing it.
    unanswered : DataFrame, optional
        Why a critical item has no answer, per row: the failures/notes table of
        :func:`xinli_screen.responses.prepare_responses` (``row``, ``item``, ``code``); the
        reason names the cause (blank, declared missing code, 问卷星 -2 skipped, -3 not
        shown, unreadable). Without it the reason says "no answer".

    Returns
    -------
    PolicyOutcome
        A critical item whose answer is unknown adds a ``critical_unknown`` reason (tier
        ``none``: it raises no tier) and its id to ``unknown``.

    Raises
    ------
    KeyError
        When ``scores``, ``bounds``, ``responses`` or ``extra`` lacks a column the rules need.
    """
    if bounds is None:
        bounds = pd.concat([score_bounds(responses, inst) for inst in instruments], axis=1)
    ev = _Evaluator(scores, bounds, responses, instruments, extra)
    n = ev.n
    tier = np.zeros(n, dtype=np.int64)
    unknown: dict[int, np.ndarray] = {}  # per tier rank: evidence that could still raise to it
    events: list[_Event] = []
    crit_rank = TIER_ORDER.index(policy.critical_item_tier)
    meanings = {f"{inst.id}.{c.id}": c for inst in instruments for c in inst.critical_items
                if c.active or f"{inst.id}.{c.id}" in policy.enable_critical_items}

    def need(missing: np.ndarray, rank: int) -> None:
        unknown[rank] = missing | unknown[rank] if rank in unknown else missing

    unknown_events: list[_Event] = []
    for col in critical.columns:
        if col not in meanings:
            continue  # opt-in critical item not enabled by this policy
        crit = meanings[col]
        flag = critical[col].reset_index(drop=True)
        hit = flag.fillna(False).to_numpy(dtype=bool)
        missing = flag.isna().to_numpy()
        need(missing, crit_rank)
        if missing.any():
            unknown_events.append(_unknown_event(col, crit.item, ev.number[crit.item],
                                                 np.flatnonzero(missing), unanswered))
        if not hit.any():
            continue
        rows = np.flatnonzero(hit)
        tier[rows] = np.maximum(tier[rows], crit_rank)
        codes, shown = _shown_numbers(ev.responses[crit.item].to_numpy(float)[rows])
        evidence = [f"{crit.item} (#{ev.number[crit.item]}) = {s} {_OP_TEXT[crit.op]} "
                    f"{crit.value:g}" for s in shown]
        enabled = not crit.active  # an opt-in item this policy enabled
        zh_head = ("关键题（本预警规则启用）：" if enabled else "关键题：") + crit.meaning.get("zh")
        en_head = (("Critical item (enabled by this policy): " if enabled
                    else "Critical item: ") + crit.meaning.get("en"))
        events.append(_Event(col, "critical_item", crit_rank, rows, codes,
                             [zh_head + "（" + e + "）" for e in evidence],
                             [en_head + " (" + e + ")" for e in evidence]))
    crit_events = list(events)
    for rule in rules:
        truth = ev.evaluate(rule.when)
        rank = TIER_ORDER.index(rule.tier)
        need(~truth.known, rank)
        if not truth.true.any():
            continue
        rows = np.flatnonzero(truth.true)
        tier[rows] = np.maximum(tier[rows], rank)
        evidence = truth.labels[1:]
        events.append(_Event(rule.id, "rule", rank, rows, truth.codes[rows] - 1,
                             [_render(rule.reason.get("zh"), e, "zh") for e in evidence],
                             [_render(rule.reason.get("en"), e, "en") for e in evidence]))
    settled = np.ones(n, dtype=bool)
    for rank, missing in unknown.items():
        settled &= ~(missing & (rank > tier))
    events += unknown_events  # rank 0: after every tier-raising reason
    events.sort(key=lambda e: -e.rank)  # most severe first; stable within a tier
    count, event, code = _placement(n, events)
    columns = {"rule": decode_text(event, [e.name for e in events]),
               "reason_zh": decode_text(code, [t for e in events for t in e.zh]),
               "reason_en": decode_text(code, [t for e in events for t in e.en])}
    # reason texts and rule ids are never empty, so joining a row's reasons in this order is the
    # same as joining them per tier and then the tiers, most severe first
    text = {"zh": _joined(count, columns["reason_zh"], "; "),
            "en": _joined(count, columns["reason_en"], "; "),
            "codes": _joined(count, columns["rule"], ";")}
    crit_count, crit_event, _ = _placement(n, crit_events)
    crit_ids = _joined(crit_count, decode_text(crit_event, [e.name for e in crit_events]), ";")
    unk_count, unk_event, _ = _placement(n, unknown_events)
    unk_ids = _joined(unk_count, decode_text(unk_event, [e.name.removesuffix("?")
                                                         for e in unknown_events]), ";")
    return PolicyOutcome(tier=tier, settled=settled,
                         reasons=_reasons_table(events, count, event, columns, ids),
                         critical=crit_ids, text=text, unknown=unk_ids)


#: Why a critical item has no answer: failures/notes code -> (zh, en) text for the reason.
_UNANSWERED = {
    "": ("无答案", "no answer"),
    "critical-blank": ("空白未作答", "left blank"),
    "critical-missing-code": ("缺失值代码", "a declared missing code"),
    "critical-skipped": ("问卷星跳过 -2", "skipped, 问卷星 -2"),
    "critical-not-shown": ("问卷星未显示 -3", "not shown, 问卷星 -3"),
    "out-of-range": ("答案无法读取", "answer not readable"),
    "not-a-code": ("答案无法读取", "answer not readable"),
    "unrecognised-text": ("答案无法读取", "answer not readable"),
}


def _unknown_event(col: str, item: str, number: int, rows: np.ndarray,
                   unanswered: pd.DataFrame | None) -> _Event:
    """The ``critical_unknown`` reason of the rows where critical item ``col`` has no answer.

    The reason names the item and why its answer is missing (from the failures/notes table),
    and says that a missing answer is not a negative one (docs/policy.md, critical-item
    states). It raises no tier (rank 0); its code in ``reason_codes`` is the critical id
    with ``?`` appended (``phq9.self_harm_thoughts?``), never the id of a fired item.
    """
    why = np.full(len(rows), "", dtype=object)
    if unanswered is not None and len(unanswered):
        notes = unanswered[unanswered["item"] == item]
        if len(notes):
            by_row = pd.Series(notes["code"].to_numpy(dtype=object),
                               index=notes["row"].to_numpy(dtype=np.int64))
            by_row = by_row[~by_row.index.duplicated()]
            found = by_row.reindex(rows).to_numpy(dtype=object)
            why = np.where(pd.isna(found), "", found).astype(object)
            why = np.where(np.isin(why, list(_UNANSWERED)), why, "").astype(object)
    codes, kinds = pd.factorize(why)
    label = f"{item} #{number}"
    zh = [f"关键题答案未知（{label}：{_UNANSWERED[k][0]}），不能视为阴性，须查看答卷或当面了解"
          for k in kinds]
    en = [f"Critical item answer unknown ({label}: {_UNANSWERED[k][1]}): not a negative "
          "answer; check the answer sheet or ask the pupil" for k in kinds]
    return _Event(f"{col}?", "critical_unknown", 0, rows, codes.astype(np.int64), zh, en)
