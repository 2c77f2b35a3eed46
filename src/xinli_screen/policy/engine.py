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

This module checks a policy against the screened instruments (:func:`bind_policy`) and maps
respondents to tiers (:func:`evaluate_policy`); the condition logic is in
:mod:`xinli_screen.policy.conditions`, the reason texts and their layout in
:mod:`xinli_screen.policy.reasons`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from xinli_screen._text import decode_text
from xinli_screen.errors import DefinitionIssue
from xinli_screen.instrument.models import Instrument
from xinli_screen.policy.conditions import (
    _OP_TEXT,
    _Evaluator,
    _instrument_of,
    _shown_numbers,
)
from xinli_screen.policy.models import (
    TIER_ORDER,
    BandCondition,
    ChangeCondition,
    ColumnCondition,
    Condition,
    CutoffCondition,
    ItemCondition,
    Policy,
    Rule,
    ScaleCondition,
    condition_leaves,
)
from xinli_screen.policy.reasons import (
    _Event,
    _joined,
    _placement,
    _reasons_table,
    _render,
    _unknown_event,
)
from xinli_screen.scoring import score_bounds

__all__ = ["PolicyOutcome", "bind_policy", "evaluate_policy", "extra_columns",
           "uses_norm_scores"]


def extra_columns(rules: Sequence[Rule]) -> list[str]:
    """Input columns (life events, reports, flags) that the rules' conditions name."""
    return list(dict.fromkeys(leaf.column for r in rules for leaf in condition_leaves(r.when)
                              if isinstance(leaf, ColumnCondition)))


def uses_norm_scores(rules: Sequence[Rule]) -> bool:
    """True when a rule compares a standard score (T, percentile, z), so the policy needs the
    norm columns; False when raw scores, bands, cut-offs, items and columns are enough."""
    return any(isinstance(leaf, ScaleCondition) and leaf.metric != "score"
               for r in rules for leaf in condition_leaves(r.when))


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


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
        for leaf in condition_leaves(rule.when):
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
        for leaf in condition_leaves(rule.when):
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


