"""Verification bias: Begg-Greenes corrected accuracy when only some pupils were interviewed.

In school screening the 复核 interview mostly goes to screen-positive pupils. Sensitivity and
specificity computed among the interviewed pupils alone ("naive", complete-case) are then
biased: missed cases hide among the many screen negatives nobody interviewed, so the naive
sensitivity is too high and the naive specificity too low (Begg & Greenes 1983). If whether a
pupil was interviewed depends only on things recorded for every pupil (the screen result and,
optionally, the warning tier or a critical answer: the "missing at random" assumption), the
share confirmed among the interviewed in each such cell estimates it for the whole cell, and
the full 2x2 table can be rebuilt.

Formulas (cells s: screen result T_s in {0, 1} crossed with optional strata; N_s pupils,
v_s verified, k_s of them reference positive; pi_s = N_s / N, p_s = k_s / v_s):

- expected cases A_t = sum over cells with T_s = t of pi_s p_s; expected non-cases
  B_t = sum of pi_s (1 - p_s);
- sensitivity A_1 / (A_1 + A_0), specificity B_0 / (B_0 + B_1), PPV A_1 / (A_1 + B_1),
  NPV B_0 / (A_0 + B_0), prevalence A_1 + A_0, LR+ = sens / (1 - spec), LR- = (1 - sens) / spec
  (Begg & Greenes 1983, Biometrics 39:207-215, eq. 2-3; with strata this is their covariate
  version, the saturated model of Alonzo & Pepe 2005, Appl Stat 54:173-190).
- variances by the delta method with pi multinomial (Cov = (diag pi - pi pi') / N) and p_s
  binomial (p_s (1 - p_s) / v_s), independent; without strata this equals Zhou (1994), Stat Med
  13:1737-1745, e.g. Var(sens) = [sens (1 - sens)]^2 (N / (N_0 N_1) + r_1 / (s_1 (s_1 + r_1))
  + r_0 / (s_0 (s_0 + r_0))). Intervals are Wald intervals on the logit scale (log scale for
  the likelihood ratios); a figure of exactly 0 or 1 gets the Wilson interval of 0 or n out of
  the n verified pupils it rests on.

R equivalents: ``PVBcorrect::acc_bg(data, "test", "disease", ci = TRUE)`` (no strata; its
intervals are Wald on the raw scale, the standard errors are the same) and
``PVBcorrect::acc_ebg(..., covariate = "stratum", saturated_model = TRUE)`` with strata.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from xinli_screen.evaluation.accuracy import wilson

__all__ = ["BeggGreenesResult", "begg_greenes"]

_ORDER = ("sensitivity", "specificity", "ppv", "npv", "lr_pos", "lr_neg", "prevalence")


@dataclass(frozen=True)
class BeggGreenesResult:
    """Verification-bias corrected accuracy.

    Attributes
    ----------
    measures : DataFrame
        Indexed by measure (``sensitivity``, ``specificity``, ``ppv``, ``npv``, ``lr_pos``,
        ``lr_neg``, ``prevalence``): ``estimate``, ``se``, ``lower``, ``upper``, ``reason``
        (why a figure is not estimable, else empty). A not-estimable figure is NaN.
    cells : DataFrame
        One row per verification cell: ``screen`` (0/1), ``stratum``, ``n`` (pupils),
        ``verified``, ``positive`` (verified and reference positive), ``share_verified``,
        ``p_positive`` (share positive among the verified), ``unverified`` (a cell with
        pupils and no verified pupil: the figures that need it are not estimable).
    notes : list of str
    level : float
    """

    measures: pd.DataFrame
    cells: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    level: float = 0.95


def _cells(screen: np.ndarray, verified: np.ndarray, positive: np.ndarray,
           strata: np.ndarray) -> tuple[pd.DataFrame, list[str]]:
    frame = pd.DataFrame({"screen": screen.astype(int), "stratum": strata.astype(str),
                          "verified": verified.astype(int), "positive": positive.astype(int)})
    cells = (frame.groupby(["screen", "stratum"], sort=True)
             .agg(n=("verified", "size"), verified=("verified", "sum"),
                  positive=("positive", "sum")).reset_index())
    cells["unverified"] = (cells["verified"] == 0) & (cells["n"] > 0)
    notes: list[str] = []
    for t in (0, 1):
        sel = cells["unverified"] & (cells["screen"] == t)
        if not sel.any():
            continue
        label = "screen-positive" if t else "screen-negative"
        notes.append(f"{int(sel.sum())} {label} verification cell(s) with no verified pupil "
                     f"({int(cells.loc[sel, 'n'].sum())} pupils): the figures that need "
                     f"them are not estimable (never pooled with other cells)")
    return cells, notes


def begg_greenes(screen: np.ndarray, reference: np.ndarray, *,
                 strata: np.ndarray | None = None, level: float = 0.95) -> BeggGreenesResult:
    """Begg-Greenes verification-bias corrected sensitivity, specificity, PPV, NPV and LRs.

    Parameters
    ----------
    screen : ndarray of bool or 0/1, shape (n,)
        Screen result of every pupil screened (verified or not).
    reference : ndarray, shape (n,)
        1 = reference standard positive, 0 = negative, NaN = not verified.
    strata : ndarray, shape (n,), optional
        Whatever besides the screen result decided who was verified (e.g. the warning tier,
        a critical answer); the correction assumes verification is random within each
        screen result x stratum cell.
    level : float
        Confidence level.

    Returns
    -------
    BeggGreenesResult

    Raises
    ------
    ValueError
        Different lengths, or a reference value other than 0, 1 or NaN.

    Notes
    -----
    See the module docstring for the formulas and their sources. A figure is "not
    estimable" (NaN with the reason) when any cell (screen result x stratum) it needs has
    pupils but no verified pupil: that cell's share of cases is unknown, and it is never
    borrowed from another cell. In particular no specificity, NPV or sensitivity is given
    when no screen-negative pupil of some stratum was verified. R: ``PVBcorrect::acc_bg``
    (no strata).
    """
    screen = np.asarray(screen, dtype=float)
    reference = np.asarray(reference, dtype=float)
    n = len(screen)
    if reference.shape != (n,) or (strata is not None and len(strata) != n):
        raise ValueError("screen, reference and strata must have the same length")
    if set(np.unique(reference[~np.isnan(reference)])) - {0.0, 1.0}:
        raise ValueError("reference must be 0, 1 or NaN (not verified)")
    keep = ~np.isnan(screen)
    screen, reference = screen[keep], reference[keep]
    strata_arr = (np.full(len(screen), "all", dtype=object) if strata is None
                  else np.asarray(strata, dtype=object)[keep])
    verified = ~np.isnan(reference)
    positive = verified & (reference == 1)
    cells, notes = _cells(screen, verified, positive, strata_arr)
    ver = cells["verified"].to_numpy()
    pos = cells["positive"].to_numpy()
    cells["share_verified"] = cells["verified"] / cells["n"]
    with np.errstate(invalid="ignore", divide="ignore"):
        cells["p_positive"] = np.where(ver > 0, pos / np.maximum(ver, 1), np.nan)
    total = int(cells["n"].sum())
    measures = pd.DataFrame(index=pd.Index(_ORDER, name="measure"),
                            columns=["estimate", "se", "lower", "upper", "reason"])
    measures["reason"] = ""
    t = cells["screen"].to_numpy()
    nv = {u: int(cells.loc[t == u, "verified"].sum()) for u in (0, 1)}
    nn = {u: int(cells.loc[t == u, "n"].sum()) for u in (0, 1)}
    need: dict[str, tuple[int, ...]] = {"sensitivity": (0, 1), "specificity": (0, 1),
                                        "ppv": (1,), "npv": (0,), "lr_pos": (0, 1),
                                        "lr_neg": (0, 1), "prevalence": (0, 1)}
    why = {0: "no screen-negative pupil was verified (复核): how many cases the screen missed "
              "is unknown",
           1: "no screen-positive pupil was verified (复核)"}
    # a cell with pupils but no verified pupil: its share of cases is unknown, and borrowing
    # it from another cell (another tier, or a critical answer) is an assumption the data
    # cannot check, so the figures that need the cell are not estimable
    gap = {u: cells.loc[(t == u) & cells["unverified"].to_numpy(), "n"] for u in (0, 1)}
    label = {0: "screen-negative", 1: "screen-positive"}
    for m, groups in need.items():
        missing = [u for u in groups if nn[u] > 0 and nv[u] == 0]
        partial = [u for u in groups if u not in missing and len(gap[u])]
        parts = [why[u] for u in missing] + [
            f"{len(gap[u])} {label[u]} verification cell(s) (screen result x stratum) with "
            f"{int(gap[u].sum())} pupils and no verified pupil (复核): their share of cases "
            f"is unknown" for u in partial]
        if parts:
            measures.loc[m, "reason"] = "; ".join(parts)
    if total == 0:
        measures["reason"] = "no pupil with a screen result"
        return BeggGreenesResult(measures, cells, notes, level)
    pi = cells["n"].to_numpy(float) / total
    p = np.nan_to_num(cells["p_positive"].to_numpy(float))
    # variance of p: binomial; k in {0, v} uses (k + 1/2) / (v + 1) so a 0 % or 100 % cell
    # still carries its sampling uncertainty
    ver_f = ver.astype(float)
    p_var = np.where((pos == 0) | (pos == ver), (pos + 0.5) / (ver_f + 1), p)
    var_p = np.where(ver_f > 0, p_var * (1 - p_var) / np.maximum(ver_f, 1), 0.0)
    cov_pi = (np.diag(pi) - np.outer(pi, pi)) / total
    one, zero = (t == 1).astype(float), (t == 0).astype(float)

    def part(mask: np.ndarray, cases: bool) -> tuple[float, np.ndarray, np.ndarray]:
        """Sum over mask of pi * p (cases) or pi * (1 - p), with gradients (d/dpi, d/dp)."""
        q = p if cases else 1 - p
        sign = 1.0 if cases else -1.0
        return float((mask * pi * q).sum()), mask * q, mask * pi * sign

    a1, a0 = part(one, True), part(zero, True)
    b1, b0 = part(one, False), part(zero, False)

    def ratio(x: tuple, y: tuple) -> tuple[float, np.ndarray, np.ndarray]:
        """x / (x + y) with its gradient."""
        s = x[0] + y[0]
        if s <= 0:
            return float("nan"), np.zeros_like(pi), np.zeros_like(pi)
        g_pi = (y[0] * x[1] - x[0] * y[1]) / s ** 2
        g_p = (y[0] * x[2] - x[0] * y[2]) / s ** 2
        return np.float64(x[0] / s), g_pi, g_p

    est = {"sensitivity": ratio(a1, a0), "specificity": ratio(b0, b1),
           "ppv": ratio(a1, b1), "npv": ratio(b0, a0),
           "prevalence": ratio((a1[0] + a0[0], a1[1] + a0[1], a1[2] + a0[2]),
                               (b1[0] + b0[0], b1[1] + b0[1], b1[2] + b0[2]))}
    sens, spec = est["sensitivity"], est["specificity"]
    with np.errstate(invalid="ignore", divide="ignore"):
        # log LR+ = log sens - log(1 - spec); log LR- = log(1 - sens) - log spec
        lrp = (sens[0] / (1 - spec[0]), sens[1] / sens[0] + spec[1] / (1 - spec[0]),
               sens[2] / sens[0] + spec[2] / (1 - spec[0]))
        lrn = ((1 - sens[0]) / spec[0], -sens[1] / (1 - sens[0]) - spec[1] / spec[0],
               -sens[2] / (1 - sens[0]) - spec[2] / spec[0])
    z = stats.norm.ppf(0.5 + level / 2)
    v_t = {u: verified & (screen == u) for u in (0, 1)}
    n_ref = {"sensitivity": int((verified & (reference == 1)).sum()),
             "specificity": int((verified & (reference == 0)).sum()),
             "ppv": int(v_t[1].sum()), "npv": int(v_t[0].sum()),
             "prevalence": int(verified.sum())}

    def var(g_pi: np.ndarray, g_p: np.ndarray) -> float:
        return float(g_pi @ cov_pi @ g_pi + (g_p ** 2 * var_p).sum())

    for m, (value, g_pi, g_p) in {**est, "lr_pos": lrp, "lr_neg": lrn}.items():
        if measures.loc[m, "reason"]:
            continue
        if not np.isfinite(value) or not (np.isfinite(g_pi).all() and np.isfinite(g_p).all()):
            measures.loc[m, "reason"] = ("not estimable: the corrected sensitivity or "
                                         "specificity is 0 or 1")
            continue
        v = var(g_pi, g_p)
        if m.startswith("lr"):
            se_log = np.sqrt(v)
            se = value * se_log
            lo, hi = value * np.exp(-z * se_log), value * np.exp(z * se_log)
        else:
            se = np.sqrt(v)
            if 0 < value < 1:
                half = z * se / (value * (1 - value))
                lg = np.log(value / (1 - value))
                lo, hi = 1 / (1 + np.exp(-(lg - half))), 1 / (1 + np.exp(-(lg + half)))
            else:
                # 0 % or 100 %: no logit; the Wilson interval of k = 0 or n out of the
                # verified pupils the figure rests on
                k_eff = float(n_ref[m]) * value
                lo, hi = (float(v) for v in wilson(k_eff, float(n_ref[m]), level))
        measures.loc[m, ["estimate", "se", "lower", "upper"]] = [value, se, lo, hi]
    for col in ("estimate", "se", "lower", "upper"):
        measures[col] = pd.to_numeric(measures[col])
    return BeggGreenesResult(measures, cells, notes, level)
