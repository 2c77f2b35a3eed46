"""History stage: earlier waves and recorded reviews change the screen tier.

Pure functions of DataFrames, applied after :func:`xinli_screen.screen` (which stays a
one-wave function):

1. :func:`apply_history` adjusts one wave's screen tiers with the pupils' earlier waves
   (configured by the policy's optional ``history:`` section, :class:`HistoryRules`):

   - *re-open*: a file closed in the last wave (review outcome ``closed``) is re-opened by a
     critical item of this wave (at least ``reopen.tier``, ``file_status = reopened``);
   - *persistence*: a tier at or above ``persistence.tier`` in this wave and in each of the
     pupil's ``waves - 1`` previous waves (effective tiers) escalates to ``persistence.to``;
   - *lowering only after a review*: a screen tier below the last wave's effective tier keeps
     the last tier, pending review, until a person records a review for this wave.

2. :func:`apply_reviews` lets a recorded human review (复核) override the result: ``confirmed``
   keeps the tier, ``not_confirmed`` lowers it (to ``none`` unless the reviewer gives a tier),
   ``tier_changed`` sets the reviewer's tier, ``closed`` closes the file.

3. :func:`run_history` runs both over several waves in order, feeding each wave's effective
   tiers into the next. Before that, it adds each wave's reliable change since the pupil's
   previous wave (``change.{scale}.*`` columns, :mod:`xinli_screen.evaluation.change`,
   configured by ``history.change``), which the ``history.rules`` of the policy can test with
   change conditions (``{change: phqa.total, is: reliable_deterioration}``).

No function here logs or raises with a pupil id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from xinli_screen.policy.models import (
    TIER_ORDER,
    AllOf,
    AnyOf,
    AtLeast,
    BandCondition,
    ChangeCondition,
    ChangeRules,
    ColumnCondition,
    Condition,
    CutoffCondition,
    HistoryRules,
    ScaleCondition,
    condition_leaves,
)

if TYPE_CHECKING:
    from xinli_screen.evaluation.change import ChangeParameters

__all__ = [
    "HISTORY_COLUMNS",
    "REVIEW_OUTCOMES",
    "REVIEW_STATUS_LABELS",
    "ChangePopulation",
    "apply_history",
    "apply_reviews",
    "evaluate_stored",
    "run_history",
    "wave_change",
]

#: Review outcomes a person can record, with their Chinese wording.
REVIEW_OUTCOMES: dict[str, str] = {
    "confirmed": "复核确认",
    "not_confirmed": "复核未确认",
    "tier_changed": "复核调整级别",
    "closed": "结案",
}

#: Review statuses shown in results and reports (screen-only ones first).
REVIEW_STATUS_LABELS: dict[str, str] = {
    "not_required": "无需复核",
    "pending_review": "待复核",
    "retest": "需重测",
    **REVIEW_OUTCOMES,
}

#: Columns of the earlier-waves table that :func:`apply_history` reads.
HISTORY_COLUMNS = ("pupil_id", "wave_seq", "tier", "file_status")

_RANK = {t: k for k, t in enumerate(TIER_ORDER)}


def _ranks(values: pd.Series) -> np.ndarray:
    return values.astype(object).map(_RANK).fillna(0).to_numpy(dtype=np.int64)


def _join(old: np.ndarray, new: str, where: np.ndarray) -> np.ndarray:
    out = old.copy()
    add = np.where(out == "", new, out + "; " + new)
    out[where] = add[where]
    return out


def _label(rank: int, labels: Mapping[str, str] | None) -> str:
    tier = TIER_ORDER[rank]
    return f"{labels[tier]} ({tier})" if labels and tier in labels else tier


_CMP = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less,
        "==": np.equal}
_CMP_TEXT = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "="}


def _num_text(x: np.ndarray) -> np.ndarray:
    return np.array([f"{v:.2f}".rstrip("0").rstrip(".") if v == v else "" for v in x],
                    dtype=object)


def evaluate_stored(cond: Condition, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate a policy condition on stored results (the history stage's evidence).

    Parameters
    ----------
    cond : Condition
        ``change``, ``scale``, ``band``, ``cutoff`` and ``column`` leaves combined with
        ``all`` / ``any`` / ``at_least``. ``column`` reads ``attr.{column}`` (roster
        attribute) or the column itself; ``item`` conditions are never true here (answers
        are not stored).
    table : DataFrame, shape (n, ...)
        One wave's stored results with the ``change.*`` columns of :func:`wave_change`.

    Returns
    -------
    (true, evidence) : ndarray of bool, shape (n,); ndarray of str, shape (n,)
        Whether the condition holds (unknown counts as not true) and, where true, the
        evidence text (e.g. ``phqa.total RCI = 2.31 (reliable_deterioration)``).
    """
    n = len(table)
    empty = np.full(n, "", dtype=object)
    if isinstance(cond, (AllOf, AnyOf, AtLeast)):
        kids = cond.all if isinstance(cond, AllOf) else (
            cond.any if isinstance(cond, AnyOf) else cond.of)
        parts = [evaluate_stored(k, table) for k in kids]
        count = np.sum([t for t, _ in parts], axis=0)
        need = (len(parts) if isinstance(cond, AllOf) else 1 if isinstance(cond, AnyOf)
                else cond.at_least)
        true = count >= need
        ev = empty.copy()
        for t, e in parts:
            ev = np.where(t & (ev != ""), ev + "; " + e, np.where(t, e, ev))
        return true, np.where(true, ev, "")
    if isinstance(cond, ChangeCondition):
        clinical = cond.is_.startswith("clinically_significant")
        col = f"change.{cond.change}.{'clinical' if clinical else 'status'}"
        if col not in table.columns:
            return np.zeros(n, bool), empty
        true = (table[col].astype(object) == cond.is_).to_numpy(dtype=bool)
        rci = pd.to_numeric(table.get(f"change.{cond.change}.rci"), errors="coerce")
        rci_text = _num_text(np.asarray(rci, dtype=float))
        return true, np.where(true, f"{cond.change} RCI = " + rci_text + f" ({cond.is_})", "")
    if isinstance(cond, ScaleCondition):
        col = cond.scale if cond.metric == "score" else f"{cond.scale}.{cond.metric}"
        if col not in table.columns:
            return np.zeros(n, bool), empty
        x = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            true = _CMP[cond.op](x, cond.value) & ~np.isnan(x)
        text = f"{col} = " + _num_text(x) + f" {_CMP_TEXT[cond.op]} {cond.value:g}"
        return true, np.where(true, text, "")
    if isinstance(cond, BandCondition):
        col = f"{cond.band}.band"
        if col not in table.columns:
            return np.zeros(n, bool), empty
        band = table[col].astype(object)
        true = band.isin(cond.in_).to_numpy(dtype=bool)
        return true, np.where(true, f"{cond.band} band = " + band.astype(str).to_numpy(
            dtype=object), "")
    if isinstance(cond, CutoffCondition):
        if cond.cutoff not in table.columns:
            return np.zeros(n, bool), empty
        true = table[cond.cutoff].map(lambda v: v is True or v is np.True_).to_numpy(bool)
        return true, np.where(true, cond.cutoff, "")
    if isinstance(cond, ColumnCondition):
        col = (f"attr.{cond.column}" if f"attr.{cond.column}" in table.columns
               else cond.column)
        if col not in table.columns:
            return np.zeros(n, bool), empty
        raw = table[col]
        if isinstance(cond.value, str):
            text = raw.astype("string").str.strip()
            eq = (text == cond.value.strip()).fillna(False).to_numpy(dtype=bool)
            known = text.notna().to_numpy() & (text != "").fillna(False).to_numpy()
            true = known & (eq if cond.op == "==" else ~eq)
            return true, np.where(true, f"{cond.column} = " + text.fillna("").to_numpy(
                dtype=object), "")
        x = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            true = _CMP[cond.op](x, float(cond.value)) & ~np.isnan(x)
        return true, np.where(true, f"{cond.column} = " + _num_text(x), "")
    return np.zeros(n, bool), empty  # item conditions: answers are not stored


class ChangePopulation:
    """Every pupil's stored scores, for the reliable-change r and SD, with the parameters
    computed once per wave (a wave read in blocks asks for the same ones in every block).

    Parameters
    ----------
    frame : DataFrame, shape (counted results, k)
        ``pupil_id`` (or another id column), ``wave_seq``, the score columns with their
        ``.n_answered`` and cut-off columns (see
        :meth:`ArchiveStore._population <xinli_screen.archive.frames._Frames._population>`).
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = (frame if frame["wave_seq"].is_monotonic_increasing
                      else frame.sort_values("wave_seq", kind="stable"))
        self._cache: dict[tuple[object, ...], dict[str, ChangeParameters] | None] = {}

    def __len__(self) -> int:
        return len(self.frame)

    def parameters(self, seq: int, rules: ChangeRules, named: tuple[str, ...] = (), *,
                   id_column: str = "pupil_id") -> dict[str, ChangeParameters] | None:
        """r, SD and cut-off per scale of wave ``seq`` estimated on the whole population
        (:class:`~xinli_screen.evaluation.change.ChangeParameters` by scale), or None when
        no pupil has an earlier wave."""
        key = (seq, repr(rules), named, id_column)
        if key not in self._cache:
            pop = self.frame
            earlier = pop[pop["wave_seq"] < seq]
            previous = earlier.groupby(id_column, sort=False).tail(1)
            self._cache[key] = _change_basis(pop[pop["wave_seq"] == seq], previous, earlier,
                                             rules, named, id_column)
        return self._cache[key]


def _change_basis(current: pd.DataFrame, previous: pd.DataFrame, earlier: pd.DataFrame,
                  rules: ChangeRules, named: tuple[str, ...],
                  id_column: str) -> dict[str, ChangeParameters] | None:
    """:func:`~xinli_screen.evaluation.change.change_parameters` of the scales followed in
    ``current`` (None when ``earlier`` is empty); ``earlier`` sorted by wave."""
    from xinli_screen.evaluation.change import change_parameters, change_scales

    if not len(earlier) or not len(current):
        return None
    scales = change_scales(current, (*rules.scales, *named)) if not rules.scales else [
        s for s in dict.fromkeys((*rules.scales, *named)) if s in current.columns]
    first = earlier[earlier["wave_seq"] == earlier["wave_seq"].min()]
    return change_parameters(previous, current, scales, first_wave=first,
                             reliability=rules.reliability, sd=rules.sd,
                             higher_is_better=rules.higher_is_better, id_column=id_column)


def wave_change(current: pd.DataFrame, earlier: pd.DataFrame, rules: ChangeRules,
                named: tuple[str, ...] = (), *, id_column: str = "pupil_id",
                population: pd.DataFrame | ChangePopulation | None = None) -> pd.DataFrame:
    """Reliable change of one wave since each pupil's previous wave (``change.*`` columns).

    Parameters
    ----------
    current : DataFrame, shape (n, ...)
        One wave's stored results (``id_column``, score and cut-off columns).
    earlier : DataFrame, shape (m, ...)
        The earlier waves' results with ``wave_seq``; each pupil's latest row is the
        previous score, the first wave gives the SD.
    rules : ChangeRules
    named : tuple of str
        Scales named by change conditions (always followed).
    population : DataFrame or ChangePopulation, optional
        Every pupil's stored results of every wave (``id_column``, ``wave_seq``, scores):
        change columns are added when it has an earlier wave (even if ``earlier`` is
        empty: a pupil new in this wave gets no previous score), and r and SD are estimated
        on it rather than on ``current`` and ``earlier`` (which may be
        one pupil's rows, as in the pupil file, or one block of pupils), and the scales
        followed by default are those scored in the population's wave. Only ``id_column``,
        ``wave_seq``, the score columns with their ``.n_answered`` and cut-off columns are
        read. Default: ``current`` and ``earlier``.

    Returns
    -------
    DataFrame, shape (n, ...)
        ``current`` with, per scale, the columns of
        :func:`xinli_screen.evaluation.change.reliable_change` and ``change.{s}.reliability``,
        ``change.{s}.sd``, ``change.{s}.se_difference`` (score units) and
        ``change.{s}.source`` (where r and SD came from). Unchanged when ``earlier`` (or,
        given, the population's earlier waves) is empty.
    """
    from xinli_screen.evaluation.change import reliable_change

    earlier = earlier.sort_values("wave_seq", kind="stable")
    previous = earlier.groupby(id_column, sort=False).tail(1)
    if not len(current):
        return current
    if population is not None and len(population) and "wave_seq" in current.columns:
        if not isinstance(population, ChangePopulation):
            population = ChangePopulation(population)
        params = population.parameters(int(current["wave_seq"].iloc[0]), rules, named,
                                       id_column=id_column)
    else:
        params = _change_basis(current, previous, earlier, rules, named, id_column)
    if params is None:
        return current
    changes = reliable_change(previous, current, params, id_column=id_column, z=rules.z)
    extra = {}
    for scale, p in params.items():
        extra[f"change.{scale}.reliability"] = p.reliability
        extra[f"change.{scale}.sd"] = p.sd
        extra[f"change.{scale}.se_difference"] = p.se_difference
        extra[f"change.{scale}.source"] = f"r: {p.reliability_source}; SD: {p.sd_source}"
    consts = pd.DataFrame({k: pd.Series([v] * len(current), index=current.index)
                           for k, v in extra.items()})
    return pd.concat([current, changes, consts], axis=1)


def apply_history(
    current: pd.DataFrame,
    history: pd.DataFrame,
    rules: HistoryRules | None = None,
    *,
    id_column: str = "pupil_id",
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Adjust one wave's screen tiers with the pupils' earlier waves.

    Parameters
    ----------
    current : DataFrame, shape (n, ...)
        One row per pupil of this wave, with ``id_column``, ``warning_tier`` (the screen tier,
        e.g. from :func:`xinli_screen.screen`), ``critical_items`` (``;``-joined, "" when none)
        and, optionally, ``review_status``.
    history : DataFrame, shape (m, 4)
        Earlier waves, one row per pupil and wave: ``pupil_id``, ``wave_seq`` (int, larger =
        later), ``tier`` (the *effective* tier of that wave, after reviews) and
        ``file_status`` (``open``, ``reopened`` or ``closed``). Pupils absent from it have no
        history. Waves at or after the current one must not be included.
    rules : HistoryRules, optional
        Default: every rule on with its defaults (``HistoryRules()``).
    id_column : str
        Pupil id column of ``current``.
    labels : mapping tier -> display label, optional
        Used in the reason text (e.g. ``{"school": "校级预警"}``).

    Returns
    -------
    DataFrame, shape (n, ...)
        A copy of ``current`` with ``screen_tier`` (the tier before this stage),
        ``warning_tier`` (adjusted, ordered categorical), ``previous_tier``,
        ``review_status`` (``pending_review`` when the tier is above none and no review is
        recorded yet; ``retest`` kept), ``file_status``, ``history_reasons`` and
        ``history_codes`` (``;``-joined: ``reopened_by_critical_item``,
        ``persistent_tier``, ``held_until_review``).

    Raises
    ------
    KeyError
        A required column is absent (the message names the column, never a value).
    """
    rules = HistoryRules() if rules is None else rules
    for col in (id_column, "warning_tier"):
        if col not in current.columns:
            raise KeyError(f"apply_history: the current table lacks the column {col!r}")
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise KeyError(f"apply_history: the history table lacks {missing}")
    out = current.copy().reset_index(drop=True)
    n = len(out)
    ids = out[id_column].astype(object)
    screen = _ranks(out["warning_tier"])
    tier = screen.copy()
    hist = history.sort_values("wave_seq", kind="stable")
    last = hist.groupby("pupil_id", sort=False).tail(1).set_index("pupil_id")
    prev = ids.map(last["tier"].map(_RANK)).fillna(-1).to_numpy(dtype=np.int64)
    # no match at all gives a float column of NaN: fill as text, not into float
    prev_status = ids.map(last["file_status"]).astype(object).fillna("").to_numpy(dtype=object)
    critical = (out["critical_items"].fillna("").astype(str).to_numpy(dtype=object) != ""
                if "critical_items" in out.columns else np.zeros(n, dtype=bool))
    status = np.full(n, "open", dtype=object)
    status[prev_status == "closed"] = "closed"
    zh = np.full(n, "", dtype=object)
    en = np.full(n, "", dtype=object)
    codes = np.full(n, "", dtype=object)

    for rule in rules.rules:
        hit, evidence = evaluate_stored(rule.when, out)
        hit = hit & (tier < _RANK[rule.tier])
        tier = np.where(hit, _RANK[rule.tier], tier)
        zh = _join(zh, (rule.reason.zh or rule.reason.en or rule.id), hit)
        en = _join(en, (rule.reason.en or rule.reason.zh or rule.id), hit)
        for lang_text in (zh, en):
            lang_text[hit] = [t.replace("{evidence}", e) for t, e in
                              zip(lang_text[hit], evidence[hit], strict=True)]
        codes = _join(codes, rule.id, hit).astype(object)

    if rules.reopen is not None:
        hit = (prev_status == "closed") & critical
        floor = _RANK[rules.reopen.tier]
        tier = np.where(hit, np.maximum(tier, floor), tier)
        status[hit] = "reopened"
        zh = _join(zh, "已结案档案因本次关键题作答重新开启", hit)
        en = _join(en, "closed file re-opened by a critical answer in this wave", hit)
        codes = _join(codes, "reopened_by_critical_item", hit).astype(object)

    if rules.persistence is not None:
        rule = rules.persistence
        need = rule.waves - 1
        floor, to = _RANK[rule.tier], _RANK[rule.to]
        recent = hist.groupby("pupil_id", sort=False).tail(need)
        low = recent.assign(r=_ranks(recent["tier"])).groupby("pupil_id")["r"].agg(["min",
                                                                                     "size"])
        prev_min = ids.map(low["min"]).fillna(-1).to_numpy(dtype=np.int64)
        prev_n = ids.map(low["size"]).fillna(0).to_numpy(dtype=np.int64)
        hit = (tier >= floor) & (prev_n >= need) & (prev_min >= floor) & (tier < to)
        tier = np.where(hit, to, tier)
        zh = _join(zh, f"连续 {rule.waves} 次测评达到{_label(floor, labels)}或以上，"
                       f"升为{_label(to, labels)}", hit)
        en = _join(en, f"{rule.tier} tier or above in {rule.waves} consecutive waves: raised "
                       f"to {rule.to}", hit)
        codes = _join(codes, "persistent_tier", hit)

    if rules.lower_only_after_review:
        hit = (prev > tier) & (prev_status != "closed")
        for rank in np.unique(prev[hit]):
            rows = hit & (prev == rank)
            zh = _join(zh, f"较上次（{_label(int(rank), labels)}）好转，复核后方可降级", rows)
            en = _join(en, f"improved since the last wave ({TIER_ORDER[rank]}); lowered "
                           "only after a review", rows)
        codes = _join(codes, "held_until_review", hit)
        tier = np.where(hit, prev, tier)

    review = (out["review_status"].astype(object).to_numpy() if "review_status" in out.columns
              else np.full(n, "not_required", dtype=object))
    review = np.where(tier > 0, np.where(review == "retest", "retest", "pending_review"),
                      np.where(review == "retest", "retest", "not_required"))
    names = np.array(TIER_ORDER, dtype=object)
    out["screen_tier"] = pd.Categorical(names[screen], categories=TIER_ORDER, ordered=True)
    out["previous_tier"] = np.where(prev >= 0, names[np.clip(prev, 0, None)], None)
    out["warning_tier"] = pd.Categorical(names[tier], categories=TIER_ORDER, ordered=True)
    if labels:
        out["warning_label"] = out["warning_tier"].astype(object).map(dict(labels))
    out["review_status"] = review.astype(object)
    out["file_status"] = status
    out["history_reasons_zh"] = zh
    out["history_reasons_en"] = en
    out["history_codes"] = codes
    return out


def apply_reviews(
    table: pd.DataFrame,
    reviews: pd.DataFrame,
    *,
    id_column: str = "pupil_id",
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Let recorded reviews (复核) override the tiers of one wave.

    Parameters
    ----------
    table : DataFrame, shape (n, ...)
        Output of :func:`apply_history` (or any table with ``id_column``, ``warning_tier``,
        ``review_status`` and ``file_status``).
    reviews : DataFrame, shape (k, ...)
        Reviews of this wave: ``pupil_id``, ``outcome`` (one of :data:`REVIEW_OUTCOMES`),
        ``tier`` (None or a tier id), ``by``, ``at`` (ISO time; the latest per pupil wins,
        then the last row), ``note``.

    Returns
    -------
    DataFrame, shape (n, ...)
        A copy with ``warning_tier``, ``review_status`` and ``file_status`` overridden where a
        review exists, plus ``reviewed_by``, ``reviewed_at``, ``review_note`` and
        ``tier_before_review`` (the tier the pupil was listed with before any review, as
        text).

    Raises
    ------
    ValueError
        An unknown outcome, or ``tier_changed`` without a tier.
    """
    out = table.copy().reset_index(drop=True)
    out["tier_before_review"] = out["warning_tier"].astype(object).astype(str)
    for col in ("reviewed_by", "reviewed_at", "review_note"):
        out[col] = None
    if "file_status" not in out.columns:
        out["file_status"] = "open"
    if reviews is None or not len(reviews):
        return out
    bad = sorted(set(reviews["outcome"]) - set(REVIEW_OUTCOMES))
    if bad:
        raise ValueError(f"unknown review outcome(s) {bad}; use one of {list(REVIEW_OUTCOMES)}")
    changed = reviews[reviews["outcome"] == "tier_changed"]
    if changed["tier"].isna().any():
        raise ValueError("a review with outcome tier_changed needs the new tier")
    latest = (reviews.reset_index(drop=True).reset_index()
              .sort_values(["at", "index"], kind="stable")
              .groupby("pupil_id").tail(1).set_index("pupil_id"))
    ids = out[id_column].astype(object)
    has = ids.isin(latest.index).to_numpy()
    if not has.any():
        return out
    outcome = ids.map(latest["outcome"]).to_numpy(dtype=object)
    given = ids.map(latest["tier"]).to_numpy(dtype=object)
    tier = _ranks(out["warning_tier"])
    given_rank = np.array([_RANK.get(g, -1) if isinstance(g, str) else -1 for g in given])
    new = np.where(given_rank >= 0, given_rank,
                   np.where(np.isin(outcome, ["not_confirmed", "closed"]), 0, tier))
    tier = np.where(has, new, tier)
    names = np.array(TIER_ORDER, dtype=object)
    out["warning_tier"] = pd.Categorical(names[tier], categories=TIER_ORDER, ordered=True)
    if labels:
        out["warning_label"] = out["warning_tier"].astype(object).map(dict(labels))
    out["review_status"] = np.where(has, outcome, out["review_status"].to_numpy(dtype=object))
    status = out["file_status"].to_numpy(dtype=object).copy()
    status[has & (outcome == "closed")] = "closed"
    status[has & (outcome != "closed") & (status == "closed")] = "open"
    out["file_status"] = status
    for col, src in (("reviewed_by", "by"), ("reviewed_at", "at"), ("review_note", "note")):
        out[col] = np.where(has, ids.map(latest[src]).to_numpy(dtype=object), None)
    return out


def run_history(
    screens: pd.DataFrame,
    reviews: pd.DataFrame,
    rules: HistoryRules | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    rules_by_wave: Mapping[int, HistoryRules | None] | None = None,
    labels_by_wave: Mapping[int, Mapping[str, str]] | None = None,
    change_population: pd.DataFrame | ChangePopulation | None = None,
) -> pd.DataFrame:
    """Effective tiers of several waves: history then reviews, wave by wave in order.

    Parameters
    ----------
    screens : DataFrame, shape (m, ...)
        One row per pupil and wave: ``pupil_id``, ``wave_seq`` (int), ``warning_tier`` (screen
        tier), ``critical_items``, optionally ``review_status`` and other columns (kept).
    reviews : DataFrame
        ``pupil_id``, ``wave_seq``, ``outcome``, ``tier``, ``by``, ``at``, ``note``.
    rules : HistoryRules, optional
    labels : mapping tier -> label, optional
    rules_by_wave, labels_by_wave : mapping wave_seq -> rules / labels, optional
        Per-wave rules and labels (each wave under the policy frozen with it); a wave not
        in the mapping uses ``rules`` / ``labels``. A wave's own rules decide how its tier
        follows from the earlier waves' effective tiers.
    change_population : DataFrame or ChangePopulation, optional
        All pupils' stored results (``pupil_id``, ``wave_seq``, scores) for estimating the
        reliable-change r and SD when ``screens`` holds only some pupils (one pupil's file);
        see :func:`wave_change`.

    Returns
    -------
    DataFrame, shape (m, ...)
        The rows of ``screens`` (ordered by wave) with the columns added by
        :func:`apply_history` and :func:`apply_reviews`.
    """
    done: list[pd.DataFrame] = []
    hist = pd.DataFrame({c: pd.Series(dtype=object) for c in HISTORY_COLUMNS})
    for seq in sorted(screens["wave_seq"].unique()):
        wave = screens[screens["wave_seq"] == seq]
        w_rules = (rules_by_wave[int(seq)] if rules_by_wave and int(seq) in rules_by_wave
                   else rules)
        w_labels = (labels_by_wave[int(seq)] if labels_by_wave and int(seq) in labels_by_wave
                    else labels)
        if rules_by_wave and int(seq) in rules_by_wave and w_rules is None:
            w_rules = HistoryRules(persistence=None, lower_only_after_review=False,
                                   reopen=None, change=None)
        rules_now = HistoryRules() if w_rules is None else w_rules
        pop = (change_population.frame if isinstance(change_population, ChangePopulation)
               else change_population)
        before = len(done) or (pop is not None and len(pop) > 0
                               and bool((pop["wave_seq"] < seq).any()))
        if rules_now.change is not None and before:
            named = tuple(leaf.change for r in rules_now.rules
                          for leaf in condition_leaves(r.when)
                          if isinstance(leaf, ChangeCondition))
            wave = wave_change(wave.reset_index(drop=True),
                               screens[screens["wave_seq"] < seq], rules_now.change, named,
                               population=change_population)
        adjusted = apply_history(wave, hist, w_rules, labels=w_labels)
        wave_reviews = reviews[reviews["wave_seq"] == seq] if len(reviews) else reviews
        final = apply_reviews(adjusted, wave_reviews, labels=w_labels)
        done.append(final)
        hist = pd.concat([hist, pd.DataFrame({
            "pupil_id": final["pupil_id"].astype(object), "wave_seq": seq,
            "tier": final["warning_tier"].astype(object),
            "file_status": final["file_status"]})], ignore_index=True)
    if not done:
        return screens.copy()
    return pd.concat(done, ignore_index=True)
