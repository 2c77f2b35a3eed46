"""Accuracy of a screen against a reference standard: the 2x2 figures with confidence intervals.

The screen result is "screen positive" (a cut-off met, or the pupil on the warning list); the
reference standard is what the district recorded after the 复核 interview. Screening is not
diagnosis: these figures say how well the screen picks out the pupils whom the district's
interviews confirmed, nothing more.

Formulas (2x2 table with a = true positives, b = false positives, c = missed cases (false
negatives), d = true negatives):

- sensitivity a/(a+c), specificity d/(b+d), PPV a/(a+b), NPV d/(c+d), prevalence
  (a+c)/n: binomial proportions with the Wilson score interval (Wilson 1927, JASA
  22:209-212; ``binom::binom.wilson``, ``epiR::epi.tests(method = "wilson")``) or the exact
  Clopper-Pearson interval (Clopper & Pearson 1934, Biometrika 26:404-413;
  ``stats::binom.test``, ``epiR::epi.tests(method = "exact")``).
- LR+ = sens / (1 - spec), LR- = (1 - sens) / spec, with the log-method interval
  exp(log LR +/- z * se), se(log LR+) = sqrt(1/a - 1/(a+c) + 1/b - 1/(b+d)),
  se(log LR-) = sqrt(1/c - 1/(a+c) + 1/d - 1/(b+d)) (Simel, Samsa & Matchar 1991, J Clin
  Epidemiol 44:763-770; ``epiR::epi.tests`` ``lr.pos`` / ``lr.neg``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["MEASURES", "TwoByTwo", "clopper_pearson", "two_by_two", "two_by_two_measures",
           "wilson"]

#: Measure id -> (zh, en) label.
MEASURES: dict[str, tuple[str, str]] = {
    "sensitivity": ("灵敏度", "sensitivity"),
    "specificity": ("特异度", "specificity"),
    "ppv": ("阳性预测值", "positive predictive value (PPV)"),
    "npv": ("阴性预测值", "negative predictive value (NPV)"),
    "lr_pos": ("阳性似然比", "positive likelihood ratio (LR+)"),
    "lr_neg": ("阴性似然比", "negative likelihood ratio (LR-)"),
    "prevalence": ("复核确认率（核实者中）", "share confirmed (among verified)"),
}


def wilson(k: np.ndarray | float, n: np.ndarray | float,
           level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion k/n.

    Parameters
    ----------
    k, n : array-like, same shape
        Successes and trials (n = 0 gives NaN).
    level : float

    Returns
    -------
    (lower, upper) : ndarrays

    Notes
    -----
    (p + z^2/2n -/+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n) (Wilson 1927).
    R: ``binom::binom.wilson(k, n)``; ``prop.test(k, n, correct = FALSE)$conf.int``.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def clopper_pearson(k: np.ndarray | float, n: np.ndarray | float,
                    level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) interval of a binomial proportion k/n.

    Parameters
    ----------
    k, n : array-like, same shape
    level : float

    Returns
    -------
    (lower, upper) : ndarrays; lower = 0 when k = 0, upper = 1 when k = n, NaN when n = 0.

    Notes
    -----
    Beta quantiles B(a/2; k, n-k+1) and B(1-a/2; k+1, n-k) (Clopper & Pearson 1934).
    R: ``binom.test(k, n)$conf.int``.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    alpha = 1 - level
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(k > 0, stats.beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        hi = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    bad = n <= 0
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


@dataclass(frozen=True)
class TwoByTwo:
    """Counts of a 2x2 table: screen result by reference standard.

    Attributes
    ----------
    tp : int
        Screen positive, reference positive (a).
    fp : int
        Screen positive, reference negative (b).
    fn : int
        Screen negative, reference positive (c, a missed case).
    tn : int
        Screen negative, reference negative (d).
    """

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def n(self) -> int:
        """All pupils in the table."""
        return self.tp + self.fp + self.fn + self.tn


def two_by_two(screen: np.ndarray, reference: np.ndarray) -> TwoByTwo:
    """Cross-tabulate screen results against the reference standard.

    Parameters
    ----------
    screen : ndarray of bool or 0/1, shape (n,)
        Screen positive; NaN/None rows are left out.
    reference : ndarray of 0/1, shape (n,)
        1 = reference positive, 0 = negative, NaN = not verified (left out).

    Returns
    -------
    TwoByTwo

    Raises
    ------
    ValueError
        Different lengths.
    """
    s = pd.to_numeric(pd.Series(np.asarray(screen, dtype=object)), errors="coerce")
    r = pd.to_numeric(pd.Series(np.asarray(reference, dtype=object)), errors="coerce")
    if len(s) != len(r):
        raise ValueError("screen and reference must have the same length")
    ok = s.notna() & r.notna()
    s1, r1 = s[ok].to_numpy() == 1, r[ok].to_numpy() == 1
    return TwoByTwo(int((s1 & r1).sum()), int((s1 & ~r1).sum()), int((~s1 & r1).sum()),
                    int((~s1 & ~r1).sum()))


def _interval(k: float, n: float, level: float, method: str) -> tuple[float, float]:
    if method == "wilson":
        lo, hi = wilson(k, n, level)
    elif method in ("exact", "clopper-pearson"):
        lo, hi = clopper_pearson(k, n, level)
    else:
        raise ValueError("method must be 'wilson' or 'exact'")
    return float(lo), float(hi)


def _lr(num_k: int, num_n: int, den_k: int, den_n: int,
        level: float) -> tuple[float, float, float]:
    """Ratio (num_k/num_n) / (den_k/den_n) with the log-method interval (Simel 1991)."""
    if min(num_n, den_n) == 0 or den_k == 0:
        return float("nan"), float("nan"), float("nan")
    est = (num_k / num_n) / (den_k / den_n)
    if num_k == 0:
        return est, float("nan"), float("nan")
    z = stats.norm.ppf(0.5 + level / 2)
    se = np.sqrt(1 / num_k - 1 / num_n + 1 / den_k - 1 / den_n)
    return est, float(est * np.exp(-z * se)), float(est * np.exp(z * se))


def two_by_two_measures(table: TwoByTwo, *, level: float = 0.95,
                        method: str = "wilson") -> pd.DataFrame:
    """Sensitivity, specificity, PPV, NPV, LR+, LR- and the share confirmed, with CIs.

    Parameters
    ----------
    table : TwoByTwo
    level : float
    method : {"wilson", "exact"}
        Interval of the proportions (the likelihood ratios always use the log method).

    Returns
    -------
    DataFrame
        Indexed by measure id (:data:`MEASURES`): ``estimate``, ``lower``, ``upper``,
        ``numerator``, ``denominator`` (NaN for the ratios). A proportion with a zero
        denominator is NaN: the caller says why it is not estimable.

    Notes
    -----
    R: ``epiR::epi.tests(as.table(matrix(c(tp, fp, fn, tn), 2, byrow = TRUE)),
    method = "wilson")``.
    """
    t = table
    parts = {"sensitivity": (t.tp, t.tp + t.fn), "specificity": (t.tn, t.fp + t.tn),
             "ppv": (t.tp, t.tp + t.fp), "npv": (t.tn, t.fn + t.tn),
             "prevalence": (t.tp + t.fn, t.n)}
    rows = {}
    for key, (k, n) in parts.items():
        if n == 0:
            rows[key] = (np.nan, np.nan, np.nan, k, n)
        else:
            lo, hi = _interval(k, n, level, method)
            rows[key] = (k / n, lo, hi, k, n)
    rows["lr_pos"] = (*_lr(t.tp, t.tp + t.fn, t.fp, t.fp + t.tn, level), np.nan, np.nan)
    rows["lr_neg"] = (*_lr(t.fn, t.tp + t.fn, t.tn, t.fp + t.tn, level), np.nan, np.nan)
    order = ["sensitivity", "specificity", "ppv", "npv", "lr_pos", "lr_neg", "prevalence"]
    return pd.DataFrame([rows[k] for k in order], index=pd.Index(order, name="measure"),
                        columns=["estimate", "lower", "upper", "numerator", "denominator"])
