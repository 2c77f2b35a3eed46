"""Is the screen right here? Accuracy of a wave's screen against the district's 复核 outcomes.

:func:`screen_accuracy` reads one wave's table from the pupil file (one row per pupil, as
``ArchiveStore.wave_table`` gives it) and reports, for the warning list and for every
instrument cut-off: the 2x2 figures among the verified (interviewed) pupils ("naive"), the
Begg-Greenes verification-bias corrected figures, ROC/AUC of each scale score and Youden and
cost-weighted cut-offs, for the whole district and by grade / sex / school with small cells
hidden. Pupil ids are never read or written: pseudonymised archives work unchanged.

The reference standard is what the district recorded after the interview, named in every
output: 复核确认 (confirmed) = condition present; 复核未确认 (not confirmed) = absent;
复核调整级别 (tier changed) = present when the new tier is still a warning tier, absent when
it is 无预警 (``tier_changed="by_new_tier"``, the default; ``"positive"``, ``"negative"`` and
``"exclude"`` are the alternatives); 结案 (closed) carries no verdict and counts as not
verified. Screening is not diagnosis: "present" means the district's interview confirmed the
warning, not that a disorder was diagnosed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen.evaluation.accuracy import MEASURES, two_by_two, two_by_two_measures
from xinli_screen.evaluation.roc import auc_delong, auc_ipw, optimal_cutoff, roc_curve
from xinli_screen.evaluation.verification import begg_greenes

__all__ = ["REFERENCE_RULES", "AccuracyReport", "reference_standard", "screen_accuracy",
           "screen_tests"]

#: How each recorded review outcome maps to the reference standard.
REFERENCE_RULES = {
    "by_new_tier": "复核确认 = present; 复核未确认 = absent; 复核调整级别 = present if the new "
                   "tier is a warning tier, absent if 无预警; 结案 = no verdict (not verified)",
    "positive": "复核确认 and 复核调整级别 = present; 复核未确认 = absent; 结案 = not verified",
    "negative": "复核确认 = present; 复核未确认 and 复核调整级别 = absent; 结案 = not verified",
    "exclude": "复核确认 = present; 复核未确认 = absent; 复核调整级别 and 结案 = not verified",
}
_STATUS_REASON = {"invalid_protocol": "answer sheet failed a validity check (to be retested)",
                  "incomplete": "too many items missing to score"}
#: Counts each measure shows (for hiding small cells in subgroups).
_COUNTS = {"sensitivity": ("tp", "fn"), "specificity": ("fp", "tn"), "ppv": ("tp", "fp"),
           "npv": ("fn", "tn"), "lr_pos": ("tp", "fp", "fn", "tn"),
           "lr_neg": ("tp", "fp", "fn", "tn"), "prevalence": ("tp", "fp", "fn", "tn")}
#: Counts a corrected figure depends on: sensitivity, specificity, the LRs and the share
#: confirmed combine the screen-positive and screen-negative cells.
_CORRECTED_COUNTS = {**{m: ("tp", "fp", "fn", "tn") for m in _COUNTS},
                     "ppv": ("tp", "fp"), "npv": ("fn", "tn")}
#: The published counts of a group row; ``n_verified`` = tp + fp + fn + tn.
_CELLS = ("n_verified", "tp", "fp", "fn", "tn")
_NO_NEG = ("no verified screen-negative pupil: the screen's misses cannot be counted, so this "
           "figure is not estimable")


def reference_standard(table: pd.DataFrame, *, tier_changed: str = "by_new_tier") -> pd.Series:
    """The reference standard per pupil from the recorded 复核 outcome.

    Parameters
    ----------
    table : DataFrame, shape (n, ...)
        A wave table with ``review_status`` (latest review outcome) and ``warning_tier``
        (the tier after reviews).
    tier_changed : {"by_new_tier", "positive", "negative", "exclude"}
        How 复核调整级别 counts (:data:`REFERENCE_RULES`).

    Returns
    -------
    Series of float, length n
        1.0 present, 0.0 absent, NaN not verified.

    Raises
    ------
    ValueError
        Unknown ``tier_changed`` or a missing column.
    """
    if tier_changed not in REFERENCE_RULES:
        raise ValueError(f"tier_changed must be one of {sorted(REFERENCE_RULES)}")
    for col in ("review_status", "warning_tier"):
        if col not in table:
            raise ValueError(f"the wave table has no {col!r} column")
    status = table["review_status"].astype(str)
    ref = pd.Series(np.nan, index=table.index)
    ref[status == "confirmed"] = 1.0
    ref[status == "not_confirmed"] = 0.0
    changed = status == "tier_changed"
    if tier_changed == "by_new_tier":
        ref[changed] = (table.loc[changed, "warning_tier"].astype(str) != "none").astype(float)
    elif tier_changed == "positive":
        ref[changed] = 1.0
    elif tier_changed == "negative":
        ref[changed] = 0.0
    return ref


def _bool(col: pd.Series) -> pd.Series:
    """True/False/None (object) -> 1.0/0.0/NaN."""
    return col.map(lambda v: np.nan if v is None or (isinstance(v, float) and np.isnan(v))
                   else float(bool(v)))


def screen_tests(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The screen rules found in a wave table: the warning list and every cut-off column.

    Parameters
    ----------
    table : DataFrame
        A wave table (``{inst}.{scale}`` scores and ``{inst}.{scale}.{cutoff}`` booleans).

    Returns
    -------
    list of dict
        ``test`` (id), ``instrument``, ``scale``, ``cutoff``, ``rule`` (text), ``direction``
        (``"<"``: high scores are bad), ``score`` (score column or None).
    """
    from xinli_screen.instrument.registry import load_instrument

    tests: list[dict[str, Any]] = []
    if "tier_before_review" in table:
        tests.append({"test": "warning_list", "instrument": "", "scale": "", "cutoff": "",
                      "rule": "on the warning list (预警名单: tier before review is not 无预警)",
                      "direction": "<", "score": None})
    skip = {"n_answered", "prorated", "band"}
    known: dict[str, Any] = {}
    for col in table.columns:
        parts = col.split(".")
        if len(parts) != 3 or parts[2] in skip or ".".join(parts[:2]) not in table:
            continue
        inst, scale, cut = parts
        if not pd.api.types.is_numeric_dtype(table[f"{inst}.{scale}"]):
            continue
        values = set(table[col].dropna().unique())
        if not values <= {True, False}:
            continue
        if inst not in known:
            try:
                known[inst] = load_instrument(inst)
            except Exception:  # a local instrument not in the registry
                known[inst] = None
        op, value = ">=", None
        spec = known[inst]
        if spec is not None:
            for s in spec.scales:
                if s.id == scale:
                    for c in s.cutoffs or ():
                        if c.id == cut:
                            op, value = c.op, c.value
        rule = f"{inst}.{scale} {op} {value:g}" if value is not None else f"{inst}.{scale}.{cut}"
        tests.append({"test": col, "instrument": inst, "scale": scale, "cutoff": cut,
                      "rule": rule, "direction": ">" if op in ("<=", "<") else "<",
                      "score": f"{inst}.{scale}"})
    return tests


@dataclass
class AccuracyReport:
    """Accuracy of a wave's screen against 复核 outcomes (see :func:`screen_accuracy`).

    Attributes
    ----------
    wave : str
    reference : str
        The reference standard, in words (:data:`REFERENCE_RULES`).
    counts : dict
        ``pupils`` in the table, ``excluded``, ``analysed``, ``verified``,
        ``verified_screen_positive``, ``verified_screen_negative`` (warning list), ``closed``
        (结案, counted as not verified), ``verified_excluded`` (verified but excluded).
    exclusions : DataFrame
        ``reason``, ``n``: pupils left out of every figure and why.
    verification : DataFrame
        Who was verified: per tier before review x critical answer: ``n``, ``verified``,
        ``share_verified``, ``confirmed`` (reference present among the verified).
    measures : DataFrame
        Long: ``test``, ``rule``, ``by``, ``group``, ``measure``, ``label_zh``, ``n``,
        ``n_verified``, ``tp``, ``fp``, ``fn``, ``tn`` (verified pupils; NaN where hidden),
        ``naive``, ``naive_lower``, ``naive_upper``, ``naive_reason``, ``corrected``,
        ``corrected_lower``, ``corrected_upper``, ``corrected_reason``.
    roc : DataFrame
        Per scale: ``test``, ``score``, ``n_cases``, ``n_controls``, ``auc``, ``auc_lower``,
        ``auc_upper`` (verified pupils, DeLong), ``auc_corrected``, ``auc_corrected_lower``,
        ``auc_corrected_upper`` (inverse-probability weighted over the verification cells,
        bootstrap interval; ``auc_corrected_reason`` says why it is not estimable, e.g. a
        cell with no verified pupil), ``youden``, ``youden_lower``, ``youden_upper``,
        ``youden_sensitivity``,
        ``youden_specificity``, ``cost_cutoff``, ``cost_lower``, ``cost_upper``, ``cost``,
        ``prevalence``, ``reason``.
    curves : dict test -> DataFrame
        ROC curve of each scale (:func:`~xinli_screen.evaluation.roc.roc_curve`).
    notes : list of str
    settings : dict
    """

    wave: str
    reference: str
    counts: dict[str, int]
    exclusions: pd.DataFrame
    verification: pd.DataFrame
    measures: pd.DataFrame
    roc: pd.DataFrame
    curves: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def figure(self, test: str, measure: str, kind: str = "corrected", *, by: str = "all",
               group: str = "all") -> tuple[float, float, float]:
        """(estimate, lower, upper) of one figure; NaN when not estimable or hidden."""
        m = self.measures
        row = m[(m["test"] == test) & (m["measure"] == measure) & (m["by"] == by)
                & (m["group"] == group)]
        if row.empty:
            raise KeyError(f"no {measure} for {test} ({by}={group})")
        r = row.iloc[0]
        return float(r[kind]), float(r[f"{kind}_lower"]), float(r[f"{kind}_upper"])


def _one(screen: np.ndarray, ref: np.ndarray, strata: np.ndarray, level: float,
         method: str) -> tuple[pd.DataFrame, dict[str, int], pd.DataFrame]:
    """Naive and corrected figures of one test on one set of pupils."""
    verified = ~np.isnan(ref)
    table = two_by_two(screen[verified], ref[verified])
    naive = two_by_two_measures(table, level=level, method=method)
    naive["reason"] = ""
    neg_verified = int((verified & (screen == 0)).sum())
    if neg_verified == 0:
        for m in ("sensitivity", "specificity", "npv", "lr_pos", "lr_neg", "prevalence"):
            naive.loc[m, ["estimate", "lower", "upper"]] = np.nan
            naive.loc[m, "reason"] = _NO_NEG
    if int((verified & (screen == 1)).sum()) == 0:
        for m in ("sensitivity", "specificity", "ppv", "lr_pos", "lr_neg", "prevalence"):
            naive.loc[m, ["estimate", "lower", "upper"]] = np.nan
            naive.loc[m, "reason"] = "no verified screen-positive pupil"
    corrected = begg_greenes(screen, ref, strata=strata, level=level)
    counts = {"n": len(screen), "n_verified": int(verified.sum()), "tp": table.tp,
              "fp": table.fp, "fn": table.fn, "tn": table.tn}
    return naive, counts, corrected.measures


def suppress_cells(counts: np.ndarray, *, min_cell: int = 5) -> np.ndarray:
    """Primary and secondary suppression of a groups x (total, cell, cell, ...) count table.

    Parameters
    ----------
    counts : ndarray, shape (g, 1 + k)
        One row per group of a partition (e.g. the schools of a district): column 0 is the
        row total (``n_verified``), columns 1..k the cells that add up to it (TP, FP, FN,
        TN). The column totals (the district row) are published.
    min_cell : int
        Counts from 1 to ``min_cell - 1`` are hidden (primary suppression).

    Returns
    -------
    ndarray of bool, shape (g, 1 + k)
        True = hidden. No hidden count can be recomputed as a published total minus shown
        counts: every row with a hidden cell has at least two hidden cells (or its total is
        hidden too), and every column with a hidden count has at least two.

    Notes
    -----
    The usual greedy heuristic (Hundepool et al. 2012, *Statistical Disclosure Control*,
    Wiley, ch. 4; as in :func:`xinli_screen.report.group_counts.suppress`): while some row
    or column equation has exactly one hidden term, hide the smallest positive shown term
    of that equation, or a shown 0 when there is none (a hidden 0 could be any small
    count, so the pair is protected).
    """
    values = np.asarray(counts, dtype=float)
    hidden = np.zeros(values.shape, dtype=bool)
    if values.size == 0:
        return hidden
    cells = values[:, 1:]
    hidden[:, 1:] = (cells > 0) & (cells < min_cell)
    hidden[:, 0] = (values[:, 0] > 0) & (values[:, 0] < min_cell)

    def protect(idx: list[tuple[int, int]]) -> bool:
        """Hide a second term of one equation (its terms idx); True if anything changed."""
        if sum(hidden[i] for i in idx) != 1:
            return False
        free = [i for i in idx if not hidden[i] and values[i] > 0] or [
            i for i in idx if not hidden[i]]
        if not free:
            return False
        hidden[min(free, key=lambda i: values[i])] = True
        return True

    changed = True
    while changed:
        changed = False
        for r in range(values.shape[0]):
            changed |= protect([(r, j) for j in range(values.shape[1])])
        for j in range(values.shape[1]):
            changed |= protect([(r, j) for r in range(values.shape[0])])
    return hidden


def screen_accuracy(table: pd.DataFrame, *, wave: str = "", tier_changed: str = "by_new_tier",
                    by: Sequence[str] = ("attr.grade", "attr.sex", "attr.school"),
                    min_cell: int = 5, level: float = 0.95, method: str = "wilson",
                    cost: float = 5.0, n_boot: int = 1000, seed: int = 2026,
                    tests: Sequence[str] | None = None) -> AccuracyReport:
    """Accuracy of one wave's screen against the recorded 复核 outcomes.

    Parameters
    ----------
    table : DataFrame, shape (n, ...)
        ``ArchiveStore.wave_table(wave)``: ``status``, ``tier_before_review``,
        ``warning_tier``, ``review_status``, ``critical_items``, scores and cut-off columns,
        ``attr.*`` group columns.
    wave : str
        Named in the outputs.
    tier_changed : str
        How 复核调整级别 counts (:data:`REFERENCE_RULES`).
    by : sequence of str
        Group columns for the breakdowns (absent ones are skipped).
    min_cell : int
        In a group, counts from 1 to ``min_cell - 1`` are hidden, and then further counts so
        that none can be recomputed from a row's ``n_verified`` or the district's counts
        (:func:`suppress_cells`); a figure resting on a hidden count is hidden. The district
        figures are always shown.
    level : float
        Confidence level.
    method : {"wilson", "exact"}
        Interval of the naive proportions.
    cost : float
        Cost of a missed case relative to a false alarm, for the cost-weighted cut-off (a
        district's choice; 5 = missing a pupil in difficulty is taken as five times worse
        than interviewing one who is fine).
    n_boot : int
        Bootstrap resamples of the optimal cut-offs (0: none).
    seed : int
    tests : sequence of str, optional
        Test ids to report (default all of :func:`screen_tests`).

    Returns
    -------
    AccuracyReport

    Raises
    ------
    ValueError
        A required column is missing, or no pupil is left after the exclusions.

    Notes
    -----
    The Begg-Greenes correction is stratified by the tier before review and by a critical
    answer (the things that decided who was interviewed, besides the screen result); it
    assumes that within each such cell the interviewed pupils are like the others.
    The ROC curve, the DeLong AUC and the optimal cut-offs use the verified pupils only and
    are therefore subject to verification bias (reported as such); ``auc_corrected`` weights
    each verified pupil by the inverse of its cell's verification share (Alonzo & Pepe 2005).
    R equivalents are listed in :mod:`~xinli_screen.evaluation.accuracy`,
    :mod:`~xinli_screen.evaluation.roc` and :mod:`~xinli_screen.evaluation.verification`.
    """
    for col in ("status", "tier_before_review", "review_status", "warning_tier"):
        if col not in table:
            raise ValueError(f"the wave table has no {col!r} column (not a wave table?)")
    t = table.reset_index(drop=True)
    ref_all = reference_standard(t, tier_changed=tier_changed)
    status = t["status"].astype(str)
    excluded = status != "scored"
    exclusions = (status[excluded].map(lambda s: _STATUS_REASON.get(s, f"status {s}"))
                  .value_counts().rename_axis("reason").rename("n").reset_index())
    verified_excluded = int(ref_all[excluded].notna().sum())
    t, ref_all = t[~excluded].reset_index(drop=True), ref_all[~excluded].reset_index(drop=True)
    if t.empty:
        raise ValueError("no scored pupil in this wave")
    critical = t["critical_items"].fillna("").astype(str).ne("") if "critical_items" in t \
        else pd.Series(False, index=t.index)
    tier = t["tier_before_review"].astype(str)
    strata = (tier + np.where(critical, "+critical", "")).to_numpy(dtype=object)
    ref = ref_all.to_numpy(float)
    verified = ~np.isnan(ref)
    on_list = (tier != "none").to_numpy()
    ver = (pd.DataFrame({"tier_before_review": tier, "critical": critical, "v": verified,
                         "c": ref == 1})
           .groupby(["tier_before_review", "critical"])
           .agg(n=("v", "size"), verified=("v", "sum"), confirmed=("c", "sum")).reset_index())
    ver["share_verified"] = ver["verified"] / ver["n"]
    counts = {"pupils": len(table), "excluded": int(excluded.sum()), "analysed": len(t),
              "verified": int(verified.sum()),
              "verified_screen_positive": int((verified & on_list).sum()),
              "verified_screen_negative": int((verified & ~on_list).sum()),
              "closed": int((t["review_status"].astype(str) == "closed").sum()),
              "verified_excluded": verified_excluded}
    notes = [f"reference standard: the district's 复核 outcome ({REFERENCE_RULES[tier_changed]})",
             "naive = among verified (interviewed) pupils only; corrected = Begg-Greenes, "
             "stratified by tier before review and critical answer",
             "ROC curve, DeLong AUC and optimal cut-offs: verified pupils only (subject to "
             "verification bias); the corrected AUC weights verified pupils by the inverse of "
             "their cell's verification share (Alonzo & Pepe 2005)"]
    if counts["verified_screen_negative"] == 0:
        notes.append("no screen-negative pupil was verified: sensitivity, specificity and NPV "
                     "are not estimable; interview a random sample of pupils not on the list "
                     "(名单外学生 = 是 in the return sheet) to estimate them")
    rows: list[dict[str, Any]] = []
    roc_rows: list[dict[str, Any]] = []
    curves: dict[str, pd.DataFrame] = {}
    found = screen_tests(t)
    if tests is not None:
        found = [x for x in found if x["test"] in set(tests)]
    groups = [("all", pd.Series("all", index=t.index))] + [
        (b, t[b].astype(str)) for b in by if b in t]
    for spec in found:
        if spec["test"] == "warning_list":
            screen = on_list.astype(float)
            score = None
        else:
            screen = _bool(t[spec["test"]]).to_numpy(float)
            score = t[spec["score"]].to_numpy(float)
        have = ~np.isnan(screen)
        corrected_prev = np.nan
        for b, labels in groups:
            block = []
            for g in (["all"] if b == "all" else sorted(labels[have].unique())):
                sel = have & (labels == g).to_numpy()
                if not sel.any():
                    continue
                naive, cnt, corr = _one(screen[sel], ref[sel], strata[sel], level, method)
                if b == "all" and g == "all":
                    corrected_prev = corr.loc["prevalence", "estimate"]
                block.append((g, naive, cnt, corr))
            hidden = (np.zeros((len(block), len(_CELLS)), dtype=bool) if b == "all" else
                      suppress_cells(np.array([[c[k] for k in _CELLS] for _, _, c, _ in block],
                                              dtype=float).reshape(-1, len(_CELLS)),
                                     min_cell=min_cell))
            for (g, naive, cnt, corr), hide_row in zip(block, hidden, strict=True):
                gone = {k for k, h in zip(_CELLS, hide_row, strict=True) if h}
                for m in naive.index:
                    hide_naive = bool(gone & set(_COUNTS[m]))
                    hide_corr = bool(gone & set(_CORRECTED_COUNTS[m]))
                    why = f"hidden: a count below {min_cell} (or hidden to protect one)"
                    rows.append({
                        "test": spec["test"], "rule": spec["rule"], "by": b, "group": g,
                        "measure": m, "label_zh": MEASURES[m][0], "n": cnt["n"],
                        **{k: (np.nan if k in gone else cnt[k]) for k in _CELLS},
                        "naive": np.nan if hide_naive else naive.loc[m, "estimate"],
                        "naive_lower": np.nan if hide_naive else naive.loc[m, "lower"],
                        "naive_upper": np.nan if hide_naive else naive.loc[m, "upper"],
                        "naive_reason": why if hide_naive else naive.loc[m, "reason"],
                        "corrected": np.nan if hide_corr else corr.loc[m, "estimate"],
                        "corrected_lower": np.nan if hide_corr else corr.loc[m, "lower"],
                        "corrected_upper": np.nan if hide_corr else corr.loc[m, "upper"],
                        "corrected_reason": why if hide_corr else corr.loc[m, "reason"]})
        if score is not None and spec["score"] not in curves:
            roc_rows.append(_roc_row(spec, score, ref, strata, cost, corrected_prev, n_boot,
                                     level, seed, curves))
    measures = pd.DataFrame(rows)
    roc = pd.DataFrame(roc_rows)
    settings = {"tier_changed": tier_changed, "min_cell": min_cell, "level": level,
                "method": method, "cost": cost, "n_boot": n_boot, "seed": seed,
                "by": [b for b in by if b in t]}
    return AccuracyReport(wave, REFERENCE_RULES[tier_changed], counts, exclusions, ver,
                          measures, roc, curves, notes, settings)


def _roc_row(spec: dict[str, Any], score: np.ndarray, ref: np.ndarray, strata: np.ndarray,
             cost: float, prevalence: float, n_boot: int, level: float, seed: int,
             curves: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """ROC/AUC and optimal cut-offs of one scale among verified pupils, and the AUC
    corrected for verification bias (IPW over the verification cells)."""
    row: dict[str, Any] = {"test": spec["test"], "score": spec["score"], "rule": spec["rule"],
                           "direction": spec["direction"], "reason": ""}
    ok = ~np.isnan(score) & ~np.isnan(ref)
    n_cases, n_controls = int((ref[ok] == 1).sum()), int((ref[ok] == 0).sum())
    row.update(n_cases=n_cases, n_controls=n_controls)
    if n_cases < 2 or n_controls < 2:
        row["reason"] = "fewer than two verified cases or non-cases with this score"
        return row
    a = auc_delong(score, ref, direction=spec["direction"], level=level)
    row.update(auc=a.auc, auc_lower=a.lower, auc_upper=a.upper)
    w = auc_ipw(score, ref, strata, direction=spec["direction"], n_boot=min(n_boot, 500),
                level=level, seed=seed)
    row.update(auc_corrected=w[0], auc_corrected_lower=w[1], auc_corrected_upper=w[2],
               auc_corrected_reason="")
    have = ~np.isnan(score)
    cell = pd.Series(np.asarray(strata, dtype=object)[have])
    n_ver = pd.Series(~np.isnan(ref[have])).groupby(cell.to_numpy()).sum()
    empty = n_ver[n_ver == 0]
    if len(empty):
        row.update(auc_corrected=np.nan, auc_corrected_lower=np.nan,
                   auc_corrected_upper=np.nan,
                   auc_corrected_reason=(
                       f"{len(empty)} verification cell(s) (tier before review x critical "
                       f"answer) with {int(cell.isin(empty.index).sum())} pupils and no "
                       f"verified pupil (复核): their share of cases is unknown"))
    elif not np.isfinite(w[0]):
        row["auc_corrected_reason"] = "no verified case or no verified non-case"
    curves[spec["score"]] = roc_curve(score, ref, direction=spec["direction"])
    y = optimal_cutoff(score, ref, direction=spec["direction"], n_boot=n_boot, level=level,
                       seed=seed)
    row.update(youden=y.threshold, youden_lower=y.lower, youden_upper=y.upper,
               youden_sensitivity=y.sensitivity, youden_specificity=y.specificity)
    prev = prevalence if np.isfinite(prevalence) and 0 < prevalence < 1 else None
    c = optimal_cutoff(score, ref, criterion="cost", cost=cost, prevalence=prev,
                       direction=spec["direction"], n_boot=n_boot, level=level, seed=seed)
    row.update(cost_cutoff=c.threshold, cost_lower=c.lower, cost_upper=c.upper, cost=cost,
               prevalence=c.prevalence, cost_sensitivity=c.sensitivity,
               cost_specificity=c.specificity)
    return row
