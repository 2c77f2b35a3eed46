"""ROC curves, AUC with a DeLong confidence interval, and optimal cut-offs.

All functions take a score per pupil and a 0/1 reference (1 = the reference standard says the
condition is present, e.g. 复核确认) and treat a higher score as more suspicious; pass
``direction=">"`` (or negate the score) for scales where a low score is bad (WHO-5).

Formulas and their R equivalents:

- ROC curve: sensitivity and specificity of "score >= t" at every observed value t
  (``pROC::roc(reference, score, direction = "<")``; pROC's thresholds are the midpoints
  between consecutive observed values, which give the same classifications).
- AUC: the Mann-Whitney statistic, ties counted one half (Hanley & McNeil 1982;
  ``pROC::auc``).
- DeLong variance: DeLong, DeLong & Clarke-Pearson (1988), Biometrics 44:837-845, computed
  with mid-ranks as in Sun & Xu (2014), IEEE Signal Process. Lett. 21:1389-1393; the CI is
  ``auc +/- z * sqrt(var)`` cut to [0, 1], as ``pROC::ci.auc(method = "delong")``.
- Youden cut-off: the threshold that maximises sensitivity + specificity - 1 (Youden 1950;
  ``pROC::coords(r, "best", best.method = "youden")``).
- Cost-weighted cut-off: maximises sensitivity + r * specificity with
  r = (1 - prevalence) / (cost * prevalence), cost = cost of a missed case / cost of a false
  alarm (Zweig & Campbell 1993, Clin Chem 39:561-577; ``pROC::coords(r, "best",
  best.weights = c(cost, prevalence))``).
- Bootstrap CIs of cut-offs: percentile intervals of the optimal threshold over stratified
  resamples (cases and non-cases resampled separately, as ``pROC::ci.coords(...,
  boot.stratified = TRUE)``), quantiles taken among the resampled thresholds (observed
  scores, ``quantile(type = 1)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["AUCResult", "CutoffResult", "auc_delong", "auc_ipw", "optimal_cutoff", "roc_curve"]


def _prepare(score: np.ndarray, reference: np.ndarray,
             direction: str) -> tuple[np.ndarray, np.ndarray]:
    """Cases' and non-cases' scores (oriented so that higher = more suspicious)."""
    score = np.asarray(score, dtype=float)
    reference = np.asarray(reference, dtype=float)
    if score.shape != reference.shape or score.ndim != 1:
        raise ValueError("score and reference must be 1-d arrays of the same length")
    if direction not in ("<", ">"):
        raise ValueError("direction must be '<' (higher score = case) or '>'")
    ok = ~np.isnan(score) & ~np.isnan(reference)
    bad = set(np.unique(reference[ok])) - {0.0, 1.0}
    if bad:
        raise ValueError("reference must be 0 (absent), 1 (present) or missing")
    s = score[ok] if direction == "<" else -score[ok]
    r = reference[ok]
    return s[r == 1], s[r == 0]


def roc_curve(score: np.ndarray, reference: np.ndarray, *, direction: str = "<") -> pd.DataFrame:
    """Sensitivity and specificity of "score >= t" for every observed score t.

    Parameters
    ----------
    score : ndarray, shape (n,)
        Scale scores; NaN rows are left out (with their reference).
    reference : ndarray, shape (n,)
        1 = condition present by the reference standard, 0 = absent, NaN = not verified
        (left out).
    direction : {"<", ">"}
        ``"<"``: non-cases score lower (a high score is bad); ``">"``: the reverse, and the
        rule read is "score <= t".

    Returns
    -------
    DataFrame
        One row per threshold, lowest first, plus a last row with every pupil negative:
        ``threshold`` (score units; +inf in the last row), ``sensitivity``, ``specificity``,
        ``tp``, ``fp``, ``fn``, ``tn``.

    Raises
    ------
    ValueError
        Shapes differ, a reference value other than 0/1/NaN, or an unknown direction.

    Notes
    -----
    R: ``pROC::roc(reference, score, direction = "<")`` (its thresholds are midpoints).
    """
    cases, controls = _prepare(score, reference, direction)
    values = np.unique(np.concatenate([cases, controls]))
    cs, ct = np.sort(cases), np.sort(controls)
    tp = len(cs) - np.searchsorted(cs, values, side="left")
    fp = len(ct) - np.searchsorted(ct, values, side="left")
    tp = np.append(tp, 0)
    fp = np.append(fp, 0)
    thr = np.append(values if direction == "<" else -values, np.inf if direction == "<"
                    else -np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        sens = tp / len(cs) if len(cs) else np.full(len(tp), np.nan)
        spec = (len(ct) - fp) / len(ct) if len(ct) else np.full(len(fp), np.nan)
    return pd.DataFrame({"threshold": thr, "sensitivity": sens, "specificity": spec,
                         "tp": tp, "fp": fp, "fn": len(cs) - tp, "tn": len(ct) - fp})


@dataclass(frozen=True)
class AUCResult:
    """Area under the ROC curve with its DeLong variance and confidence interval.

    Attributes
    ----------
    auc : float
        In [0, 1]; 0.5 = no discrimination.
    variance : float
        DeLong variance (NaN with fewer than two cases or two non-cases).
    lower, upper : float
        ``auc -/+ z * sqrt(variance)`` cut to [0, 1].
    n_cases, n_controls : int
    level : float
    """

    auc: float
    variance: float
    lower: float
    upper: float
    n_cases: int
    n_controls: int
    level: float


def _placements(cases: np.ndarray, controls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong structural components V10 (per case) and V01 (per control) from mid-ranks."""
    m, n = len(cases), len(controls)
    both = stats.rankdata(np.concatenate([cases, controls]))
    r_cases = stats.rankdata(cases)
    r_controls = stats.rankdata(controls)
    v10 = (both[:m] - r_cases) / n
    v01 = 1.0 - (both[m:] - r_controls) / m
    return v10, v01


def auc_delong(score: np.ndarray, reference: np.ndarray, *, direction: str = "<",
               level: float = 0.95) -> AUCResult:
    """AUC with the DeLong (1988) variance and a normal confidence interval.

    Parameters
    ----------
    score, reference, direction
        As :func:`roc_curve`.
    level : float
        Confidence level.

    Returns
    -------
    AUCResult

    Raises
    ------
    ValueError
        No case or no non-case among the rows with both values.

    Notes
    -----
    ``V10_i = (R_i - R_i^cases) / n`` and ``V01_j = 1 - (R_j - R_j^controls) / m`` with
    mid-ranks R in the pooled and within-group samples (Sun & Xu 2014); AUC = mean(V10);
    var = var(V10) / m + var(V01) / n with sample variances (DeLong et al. 1988, eq. 4-5).
    R: ``pROC::ci.auc(pROC::roc(reference, score, direction = "<"), method = "delong")``.
    """
    cases, controls = _prepare(score, reference, direction)
    m, n = len(cases), len(controls)
    if m == 0 or n == 0:
        raise ValueError(f"AUC needs cases and non-cases (got {m} and {n})")
    v10, v01 = _placements(cases, controls)
    auc = float(v10.mean())
    var = float(v10.var(ddof=1) / m + v01.var(ddof=1) / n) if m > 1 and n > 1 else np.nan
    z = stats.norm.ppf(0.5 + level / 2)
    half = z * np.sqrt(var)
    return AUCResult(auc, var, max(0.0, auc - half), min(1.0, auc + half), m, n, level)


@dataclass(frozen=True)
class CutoffResult:
    """An optimal cut-off with its bootstrap interval.

    Attributes
    ----------
    criterion : str
        ``"youden"`` or ``"cost"``.
    threshold : float
        Positive when score >= threshold (an observed score; <= for direction ">").
    sensitivity, specificity : float
        At the threshold, in the data given.
    lower, upper : float
        Percentile bootstrap interval of the threshold (NaN with ``n_boot=0``).
    cost, prevalence : float
        The weights of the cost criterion (NaN for Youden).
    ties : tuple of float
        Other thresholds with the same criterion value.
    n_boot : int
    """

    criterion: str
    threshold: float
    sensitivity: float
    specificity: float
    lower: float
    upper: float
    cost: float = float("nan")
    prevalence: float = float("nan")
    ties: tuple[float, ...] = field(default_factory=tuple)
    n_boot: int = 0


def _best(cases: np.ndarray, controls: np.ndarray, r: float) -> tuple[float, float, float,
                                                                     np.ndarray]:
    """Threshold maximising sens + r * spec (r = 1: Youden); the lowest on ties."""
    values = np.unique(np.concatenate([cases, controls]))
    cs, ct = np.sort(cases), np.sort(controls)
    sens = (len(cs) - np.searchsorted(cs, values, side="left")) / len(cs)
    spec = np.searchsorted(ct, values, side="left") / len(ct)
    crit = sens + r * spec
    top = np.flatnonzero(np.isclose(crit, crit.max(), rtol=0, atol=1e-12))
    k = top[0]
    return float(values[k]), float(sens[k]), float(spec[k]), values[top[1:]]


def _boot_best(cases: np.ndarray, controls: np.ndarray, r: float, n_boot: int,
               seed: int) -> np.ndarray:
    """Optimal thresholds of ``n_boot`` stratified resamples, all at once.

    Resampling m cases with replacement is drawing their counts over the observed values from
    a multinomial; the criterion is then evaluated for every resample with cumulative sums
    (shape (n_boot, k) for k distinct values). A value absent from a resample can still be
    the best threshold there; it classifies like the next value present, so it is replaced by
    that value.
    """
    values = np.unique(np.concatenate([cases, controls]))
    rng = np.random.default_rng(seed)
    fc = np.bincount(np.searchsorted(values, cases), minlength=len(values)) / len(cases)
    fk = np.bincount(np.searchsorted(values, controls), minlength=len(values)) / len(controls)
    cc = rng.multinomial(len(cases), fc, size=n_boot)
    kc = rng.multinomial(len(controls), fk, size=n_boot)
    # sens(t_j) = share of cases >= values[j]; spec(t_j) = share of controls < values[j]
    sens = np.cumsum(cc[:, ::-1], axis=1)[:, ::-1] / len(cases)
    spec = (np.cumsum(kc, axis=1) - kc) / len(controls)
    crit = sens + r * spec
    present = (cc + kc) > 0
    crit = np.where(present, crit, -np.inf)   # thresholds at observed values of the resample
    best = np.argmax(crit >= crit.max(axis=1, keepdims=True) - 1e-12, axis=1)
    return values[best]


def optimal_cutoff(score: np.ndarray, reference: np.ndarray, *, criterion: str = "youden",
                   cost: float = 1.0, prevalence: float | None = None,
                   direction: str = "<", n_boot: int = 1000, level: float = 0.95,
                   seed: int = 2026) -> CutoffResult:
    """Youden or cost-weighted optimal cut-off with a stratified bootstrap interval.

    Parameters
    ----------
    score, reference, direction
        As :func:`roc_curve`.
    criterion : {"youden", "cost"}
    cost : float
        Cost of a missed case relative to a false alarm (criterion ``"cost"``).
    prevalence : float, optional
        Prevalence of the condition (criterion ``"cost"``); default the share of cases in the
        data given (pass a verification-corrected prevalence when only some pupils were
        verified).
    n_boot : int
        Bootstrap resamples (0: no interval).
    level : float
    seed : int

    Returns
    -------
    CutoffResult

    Raises
    ------
    ValueError
        No case or no non-case, an unknown criterion, or cost/prevalence out of range.

    Notes
    -----
    Youden: max(sens + spec - 1). Cost: max(sens + r * spec), r = (1 - p) / (cost * p)
    (Zweig & Campbell 1993). R: ``pROC::coords(r, "best", best.method = "youden",
    best.weights = c(cost, prevalence))``, interval ``pROC::ci.coords(r, "best",
    boot.stratified = TRUE)``.
    """
    cases, controls = _prepare(score, reference, direction)
    if len(cases) == 0 or len(controls) == 0:
        raise ValueError("an optimal cut-off needs cases and non-cases")
    if criterion == "youden":
        r = 1.0
        cost_v, prev_v = float("nan"), float("nan")
    elif criterion == "cost":
        p = len(cases) / (len(cases) + len(controls)) if prevalence is None else prevalence
        if not 0 < p < 1 or cost <= 0:
            raise ValueError("cost must be > 0 and prevalence in (0, 1)")
        r = (1 - p) / (cost * p)
        cost_v, prev_v = float(cost), float(p)
    else:
        raise ValueError("criterion must be 'youden' or 'cost'")
    thr, sens, spec, ties = _best(cases, controls, r)
    lo = hi = float("nan")
    if n_boot > 0:
        boots = _boot_best(cases, controls, r, n_boot, seed)
        lo, hi = np.quantile(boots, [0.5 - level / 2, 0.5 + level / 2], method="inverted_cdf")
    sign = 1.0 if direction == "<" else -1.0
    if sign < 0:
        thr, lo, hi, ties = -thr, -hi, -lo, -ties
    return CutoffResult(criterion, thr, sens, spec, float(lo), float(hi), cost_v, prev_v,
                        tuple(float(t) for t in ties), n_boot)


def _weighted_auc(cases: np.ndarray, wc: np.ndarray, controls: np.ndarray,
                  wk: np.ndarray) -> float:
    """sum_i sum_j wc_i wk_j psi(case_i, control_j) / (sum wc sum wk), psi = 1, 1/2, 0."""
    values = np.unique(np.concatenate([cases, controls]))
    k_at = np.bincount(np.searchsorted(values, controls), weights=wk, minlength=len(values))
    below = np.cumsum(k_at) - k_at                       # control weight strictly below
    pos = np.searchsorted(values, cases)
    return float((wc * (below[pos] + 0.5 * k_at[pos])).sum() / (wc.sum() * wk.sum()))


def auc_ipw(score: np.ndarray, reference: np.ndarray, cells: np.ndarray, *,
            direction: str = "<", n_boot: int = 200, level: float = 0.95,
            seed: int = 2026) -> tuple[float, float, float]:
    """AUC corrected for verification bias by inverse probability weighting.

    Every verified pupil stands for the pupils of its verification cell (e.g. screen result x
    tier x critical answer): weight = pupils in the cell / verified pupils in the cell. The
    weighted Mann-Whitney AUC is the IPW estimator of Alonzo & Pepe (2005), Appl Stat
    54:173-190 (the continuous-test extension of Begg & Greenes 1983).

    Parameters
    ----------
    score : ndarray, shape (n,)
        Scores of every screened pupil (NaN rows are left out).
    reference : ndarray, shape (n,)
        1 / 0 for verified pupils, NaN for the others.
    cells : ndarray, shape (n,)
        Verification cell of every pupil (hashable labels).
    direction : {"<", ">"}
    n_boot : int
        Bootstrap resamples of all pupils (weights re-estimated in each) for the percentile
        interval; 0 for none.
    level : float
    seed : int

    Returns
    -------
    (auc, lower, upper) : floats
        NaN when a cell has pupils but none verified, or no verified case / non-case.

    Notes
    -----
    R: ``sum(outer(w[D == 1], w[D == 0]) * (outer(x[D == 1], x[D == 0], ">") +
    0.5 * outer(x[D == 1], x[D == 0], "=="))) / (sum(w[D == 1]) * sum(w[D == 0]))``.
    """
    score = np.asarray(score, dtype=float)
    ref = np.asarray(reference, dtype=float)
    ok = ~np.isnan(score)
    s = score[ok] if direction == "<" else -score[ok]
    r = ref[ok]
    codes = pd.factorize(pd.Series(np.asarray(cells, dtype=object)[ok]))[0]

    def one(idx: np.ndarray) -> float:
        c, rr, ss = codes[idx], r[idx], s[idx]
        ver = ~np.isnan(rr)
        n_cell = np.bincount(c)
        v_cell = np.bincount(c[ver], minlength=len(n_cell))
        if ((n_cell > 0) & (v_cell == 0)).any():
            return float("nan")
        w = n_cell[c[ver]] / v_cell[c[ver]]
        d = rr[ver] == 1
        if d.all() or not d.any():
            return float("nan")
        return _weighted_auc(ss[ver][d], w[d], ss[ver][~d], w[~d])

    est = one(np.arange(len(s)))
    lo = hi = float("nan")
    if n_boot > 0 and np.isfinite(est):
        rng = np.random.default_rng(seed)
        boots = np.array([one(rng.integers(0, len(s), len(s))) for _ in range(n_boot)])
        boots = boots[np.isfinite(boots)]
        if len(boots) >= 0.9 * n_boot:
            lo, hi = np.quantile(boots, [0.5 - level / 2, 0.5 + level / 2])
    return est, float(lo), float(hi)
