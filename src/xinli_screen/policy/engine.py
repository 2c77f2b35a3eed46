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

from xinli_screen._text import fmt_numbers, join_text, text_where
from xinli_screen.errors import DefinitionIssue
from xinli_screen.instrument.models import Instrument
from xinli_screen.policy.models import (
    TIER_ORDER,
    AllOf,
    AnyOf,
    AtLeast,
    BandCondition,
    ColumnCondition,
    Condition,
    CutoffCondition,
    ItemCondition,
    Policy,
    Rule,
    ScaleCondition,
)
from xinli_screen.scoring import score_bounds

__all__ = ["PolicyOutcome", "bind_policy", "evaluate_policy", "extra_columns"]


def extra_columns(rules: Sequence[Rule]) -> list[str]:
    """Input columns (life events, reports, flags) that the rules' conditions name."""
    return list(dict.fromkeys(leaf.column for r in rules for leaf in _leaves(r.when)
                              if isinstance(leaf, ColumnCondition)))


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
    ids = [r.id for r in policy.rules]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        issues.append(DefinitionIssue("duplicate-id", f"rule id {dup!r} is used twice",
                                      source=source, line=lines.get("rules"), field="rules"))
    return active, inactive, issues


@dataclass(frozen=True)
class _Truth:
    true: np.ndarray
    known: np.ndarray
    evidence: np.ndarray  # object array: text where true, "" elsewhere


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
        tail = f" {_OP_TEXT[op]} {value:g}"
        text = text_where(self.n, true, lambda i: f"{label} = " + fmt_numbers(x[i]) + tail)
        return _Truth(true, known, text)

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
        answered = self.scores[f"{name}.n_answered"].to_numpy()
        total = self.n_items[name]
        bound = lo if op in (">=", ">", "==") else hi
        word = "≥" if op in (">=", ">", "==") else "≤"

        def make(i: np.ndarray) -> np.ndarray:
            scored = f"{name} = " + fmt_numbers(x[i]) + tail
            partial = (f"{name} {word} " + fmt_numbers(bound[i]) + " ("
                       + answered[i].astype(str).astype(object)
                       + f"/{total} answered; rule{tail})")
            return np.where(now[i], scored, partial)

        return _Truth(true, sure_true | sure_false, text_where(self.n, true, make))

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
        labels = band.to_numpy(dtype=object)
        certain = f"{cond.band} band certain to be one of {', '.join(cond.in_)}"
        text = text_where(self.n, true, lambda i: np.where(
            now[i], f"{cond.band} band = " + labels[i].astype(str), certain))
        return _Truth(true, sure_true | sure_false, text)

    def _column(self, cond: ColumnCondition) -> _Truth:
        raw = self.extra[cond.column]
        if isinstance(cond.value, str):
            text = raw.astype("string").str.strip()
            known = text.notna().to_numpy() & (text != "").fillna(False).to_numpy()
            equal = (text == cond.value.strip()).fillna(False).to_numpy()
            true = known & (equal if cond.op == "==" else ~equal)
            shown = text.astype(object).to_numpy()
            evidence = text_where(self.n, true, lambda i: f"{cond.column} = " + shown[i])
            return _Truth(true, known, evidence)
        x = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        return self._compare(x, cond.op, float(cond.value), cond.column)

    def leaf(self, cond: Condition) -> _Truth:
        if isinstance(cond, ColumnCondition):
            return self._column(cond)
        if _instrument_of(cond, self.instruments) not in self.screened:
            return _Truth(np.zeros(self.n, bool), np.ones(self.n, bool),
                          np.full(self.n, "", dtype=object))
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
            text = np.full(self.n, "", dtype=object)
            for child in children:
                text = join_text(text, child.evidence, child.true & true)
            return _Truth(true, known, text)
        return self.leaf(cond)


def _render(template: str, evidence: np.ndarray, lang: str) -> np.ndarray:
    """Fill ``{evidence}`` (the only placeholder) into a reason template, elementwise."""
    if "{evidence}" in template:
        head, tail = template.split("{evidence}", 1)
        return head + evidence + tail.replace("{evidence}", "")
    return template + ("（" if lang == "zh" else " (") + evidence + ("）" if lang == "zh" else ")")


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
        (``critical_item`` or ``rule``), tier, reason_zh, reason_en.
    critical : ndarray of object, shape (n,)
        ``;``-joined critical item ids that fired ("" when none).
    text : dict {"zh", "en", "codes"} of ndarray of object, shape (n,)
        Per respondent, the reasons joined with "; " (most severe tier first) in each
        language, and the ``;``-joined rule ids in the same order.
    """

    tier: np.ndarray
    settled: np.ndarray
    reasons: pd.DataFrame
    critical: np.ndarray
    text: dict[str, np.ndarray]


def evaluate_policy(
    policy: Policy,
    rules: Sequence[Rule],
    scores: pd.DataFrame,
    responses: pd.DataFrame,
    critical: pd.DataFrame,
    instruments: Sequence[Instrument],
    ids: pd.Series | None = None,
    extra: pd.DataFrame | None = None,
) -> PolicyOutcome:
    """Map every respondent to a warning tier with reasons.

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

    Returns
    -------
    PolicyOutcome
    """
    bounds = pd.concat([score_bounds(responses, inst) for inst in instruments], axis=1)
    ev = _Evaluator(scores, bounds, responses, instruments, extra)
    n = ev.n
    tier = np.zeros(n, dtype=np.int64)
    settled_needs: list[tuple[np.ndarray, int]] = []
    parts: list[pd.DataFrame] = []
    id_values = None if ids is None else ids.to_numpy(dtype=object)
    crit_rank = TIER_ORDER.index(policy.critical_item_tier)
    crit_ids = np.full(n, "", dtype=object)
    meanings = {f"{inst.id}.{c.id}": c for inst in instruments for c in inst.critical_items
                if c.active or f"{inst.id}.{c.id}" in policy.enable_critical_items}

    # joined reason text per tier rank, so that the most severe reasons come first
    by_rank = {r: {k: np.full(n, "", dtype=object) for k in ("zh", "en", "codes")}
               for r in range(len(TIER_ORDER))}

    def add(hit: np.ndarray, rule: str, kind: str, rank: int, zh: np.ndarray,
            en: np.ndarray) -> None:
        rows = np.nonzero(hit)[0]
        parts.append(pd.DataFrame({
            "row": rows.astype("int64"),
            "id": None if id_values is None else id_values[rows],
            "rule": rule, "kind": kind, "tier": TIER_ORDER[rank],
            "reason_zh": zh[rows], "reason_en": en[rows],
        }, columns=REASON_COLUMNS))
        acc = by_rank[rank]
        acc["zh"] = join_text(acc["zh"], zh, hit)
        acc["en"] = join_text(acc["en"], en, hit)
        acc["codes"] = join_text(acc["codes"], np.full(n, rule, dtype=object), hit, ";")

    for col in critical.columns:
        if col not in meanings:
            continue  # opt-in critical item not enabled by this policy
        crit = meanings[col]
        flag = critical[col].reset_index(drop=True)
        hit = flag.fillna(False).to_numpy(dtype=bool)
        settled_needs.append((flag.isna().to_numpy(), crit_rank))
        if not hit.any():
            continue
        tier = np.where(hit, np.maximum(tier, crit_rank), tier)
        x = ev.responses[crit.item].to_numpy(float)
        label = f"{crit.item} (#{ev.number[crit.item]})"
        tail = f" {_OP_TEXT[crit.op]} {crit.value:g}"
        evidence = text_where(n, hit, lambda i, x=x, label=label, tail=tail:
                         f"{label} = " + fmt_numbers(x[i]) + tail)
        crit_ids = join_text(crit_ids, np.full(n, col, dtype=object), hit, ";")
        zh_head = "关键题：" + crit.meaning.get("zh")
        en_head = "Critical item: " + crit.meaning.get("en")
        add(hit, col, "critical_item", crit_rank,
            text_where(n, hit, lambda i, e=evidence, h=zh_head: h + "（" + e[i] + "）"),
            text_where(n, hit, lambda i, e=evidence, h=en_head: h + " (" + e[i] + ")"))
    for rule in rules:
        truth = ev.evaluate(rule.when)
        rank = TIER_ORDER.index(rule.tier)
        settled_needs.append((~truth.known, rank))
        if not truth.true.any():
            continue
        tier = np.where(truth.true, np.maximum(tier, rank), tier)
        add(truth.true, rule.id, "rule", rank,
            text_where(n, truth.true, lambda i, r=rule, t=truth:
                       _render(r.reason.get("zh"), t.evidence[i], "zh")),
            text_where(n, truth.true, lambda i, r=rule, t=truth:
                       _render(r.reason.get("en"), t.evidence[i], "en")))
    text = {k: np.full(n, "", dtype=object) for k in ("zh", "en", "codes")}
    for rank in sorted(by_rank, reverse=True):
        for key, sep in (("zh", "; "), ("en", "; "), ("codes", ";")):
            part = by_rank[rank][key]
            text[key] = join_text(text[key], part, part != "", sep)
    settled = np.ones(n, dtype=bool)
    for unknown, rank in settled_needs:
        settled &= ~(unknown & (rank > tier))
    reasons = (pd.concat(parts, ignore_index=True) if parts
               else pd.DataFrame({c: pd.Series(dtype=object) for c in REASON_COLUMNS}))
    if len(reasons):
        order = reasons["tier"].map({t: -k for k, t in enumerate(TIER_ORDER)})
        reasons = reasons.assign(_o=order).sort_values(["row", "_o"], kind="stable")
        reasons = reasons.drop(columns="_o").reset_index(drop=True)
    return PolicyOutcome(tier=tier, settled=settled, reasons=reasons, critical=crit_ids,
                         text=text)
