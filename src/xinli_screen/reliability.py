"""Scale reliability: Cronbach's alpha, McDonald's omega, Guttman's lambda-6, split-half
reliability and item analysis.

Every function takes a response table (rows = respondents, columns = items, NaN = missing)
or an instrument, and three things that decide the numbers, always stated in the result:

- **keys**: ``keys=["A1"]`` (reverse-keyed columns) or ``{"A1": -1, "A2": 1}``; reversal is
  ``lo + hi - x`` with the declared response range (``scale_range=(1, 6)``, required when
  anything is reversed without an instrument), never the observed minimum and maximum. With
  ``instrument=`` the instrument's ``reverse_keyed`` flags and response scales are used
  (:func:`xinli_screen.reverse_key`). Keys are applied once, to the data, before any
  statistic, so alpha, omega, item statistics and split halves all see the same keyed items.
- **missing**: ``"pairwise"`` (each covariance from the respondents who answered both items,
  as R psych) or ``"listwise"`` (complete respondents only). Respondents with no answer at all
  on the scale are never counted.
- **grouping**: ``by="school"`` repeats the analysis per group; with an instrument the
  analysis runs per scale. Both return a :class:`ScaleResults` with a tidy ``table``.

Items whose keying looks wrong (negative item-rest correlation, negative alpha, negative
loading on the general factor) raise a :class:`MiskeyedItemsWarning` that names them.

The numbers reproduce R psych 2.2.9 (``alpha``, ``omega``, ``splitHalf``) on the bfi data; see
``tests/test_reliability.py`` and ``tests/oracles/README.md``. One deliberate difference:
psych's ``splitHalf`` enumerates only half of the splits when the number of items is odd;
:func:`split_half` enumerates all of them.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from xinli_screen._analysis import (
    AnalysisError,
    InsufficientDataWarning,
    ItemSet,
    MiskeyedItemsWarning,
    ResultMixin,
    ScaleResults,
    check_missing,
    check_usable,
    cov2cor,
    pairwise_moments,
    prepare,
    run_sets,
    set_head,
    smc,
    warn_failed,
)
from xinli_screen.factor import (
    FactorFitWarning,
    _check_factors,
    _correlation,
    degrees_of_freedom,
    schmid_leiman,
)
from xinli_screen.instrument.models import Instrument

__all__ = [
    "AlphaResult",
    "AnalysisError",
    "InsufficientDataWarning",
    "MiskeyedItemsWarning",
    "OmegaResult",
    "ScaleResults",
    "SplitHalfResult",
    "apply_keys",
    "cronbach_alpha",
    "item_analysis",
    "mcdonald_omega",
    "response_frequencies",
    "split_half",
]

InstrumentArg = str | Path | Instrument | None


# --------------------------------------------------------------------------------------------
# keys


def apply_keys(items: pd.DataFrame, keys: Any = None,
               scale_range: tuple[float, float] | None = None, *,
               instrument: InstrumentArg = None) -> pd.DataFrame:
    """Reverse-key items exactly as every function of this module does.

    Parameters
    ----------
    items : DataFrame, shape (n_respondents, n_items)
        Numeric codes, NaN = missing.
    keys : list of str, or mapping of str to {+1, -1}, optional
        Reverse-keyed columns, or a key per column (unlisted columns are +1).
    scale_range : (min, max), optional
        Declared response range; required when any key is -1 and no instrument is given.
    instrument : str, Path or Instrument, optional
        Use the instrument's reverse keys and response scales instead (its item columns only).

    Returns
    -------
    DataFrame, same shape, index and columns as the items used
        ``min + max - x`` for reverse-keyed items, unchanged otherwise; NaN stays NaN.
        Applying the same keys twice gives back the input.

    Raises
    ------
    AnalysisError
        Unknown key names, keys other than +1/-1, or reversal without a declared range.
    ResponseDataError
        Non-numeric columns, or answers outside the declared range.
    """
    prepared = prepare(items, keys=keys, scale_range=scale_range, instrument=instrument,
                       missing="pairwise", per_scale=False, min_items=1)
    frame = items if isinstance(items, pd.DataFrame) else pd.DataFrame(np.asarray(items))
    s = prepared.sets[0]
    cols = list(s.items)
    x = frame.loc[:, cols].to_numpy(dtype=float, na_value=np.nan)
    key = np.array(s.keys)
    if instrument is not None:
        from xinli_screen._analysis import _load_instrument
        from xinli_screen.scoring import reverse_key

        inst = _load_instrument(instrument)
        full = pd.DataFrame(np.nan, index=frame.index, columns=list(inst.item_ids))
        full.loc[:, cols] = x
        return reverse_key(full, inst).loc[:, cols]
    if s.scale_range is None:
        return pd.DataFrame(x, index=frame.index, columns=cols)
    lo, hi = s.scale_range
    return pd.DataFrame(np.where(key < 0, lo + hi - x, x), index=frame.index, columns=cols)


# --------------------------------------------------------------------------------------------
# alpha


@dataclass(frozen=True, eq=False)
class AlphaResult(ResultMixin):
    """Cronbach's alpha of one scale, with its confidence interval and companions.

    Attributes
    ----------
    alpha : float
        Raw alpha from the (pairwise or listwise) covariance matrix *C* of the keyed items.
    std_alpha : float
        Standardised alpha from ``cov2cor(C)``.
    ci : (float, float)
        Confidence interval of ``alpha`` at ``ci_level``.
    ci_level : float
    ci_method : {"feldt", "bootstrap"}
    lambda6 : float
        Guttman's lambda-6 on the standardised items (psych ``G6(smc)``).
    average_r, median_r, var_r : float
        Mean, median and variance of the inter-item correlations (lower triangle).
    signal_noise : float
        :math:`k\\bar r / (1 - \\bar r)` (psych ``S/N``).
    ase : float
        Asymptotic standard error of alpha (Duhachek & Iacobucci 2004; psych ``ase``).
    score_mean, score_sd : float
        Mean and SD over respondents of the mean of their answered keyed items (psych
        ``mean``, ``sd``).
    n_obs : int
        Respondents used: with any answer on the scale (pairwise) or complete (listwise).
    n_rows : int
        Respondents in the input (or group) before the missing-data policy.
    n_items : int
    missing : {"pairwise", "listwise"}
    items : tuple of str
    reversed_items : tuple of str
        Items reversed as ``lo + hi - x`` before every statistic.
    scale_range : (float, float) or None
        Declared range used for reversal (None with an instrument: its response scales).
    group, scale : optional labels of a grouped / instrument analysis
    n_boot : int or None
        Bootstrap replicates (``ci_method="bootstrap"``).
    warnings : tuple of str
        Messages of the warnings issued (miskeyed items).
    item_stats : DataFrame
        One row per item, as :func:`item_analysis`.
    """

    alpha: float
    std_alpha: float
    ci: tuple[float, float]
    ci_level: float
    ci_method: str
    lambda6: float
    average_r: float
    median_r: float
    var_r: float
    signal_noise: float
    ase: float
    score_mean: float
    score_sd: float
    n_obs: int
    n_rows: int
    n_items: int
    missing: str
    items: tuple[str, ...]
    reversed_items: tuple[str, ...]
    scale_range: tuple[float, float] | None = None
    group: Any = None
    scale: str | None = None
    n_boot: int | None = None
    warnings: tuple[str, ...] = ()
    item_stats: pd.DataFrame = field(default_factory=pd.DataFrame)

    _title = "Cronbach's alpha"
    _not_scalars = ("items",)

    def plot(self) -> Any:
        """Item-rest correlations and alpha if item deleted, against alpha and its CI.

        Returns a matplotlib Figure (:func:`xinli_screen.plotting.reliability`; needs
        matplotlib).
        """
        from xinli_screen.plotting import reliability

        return reliability(self)


def _alpha_core(c: np.ndarray, r: np.ndarray) -> dict[str, float]:
    """psych ``alpha.1``: raw / standardised alpha, G6, average / median r, S/N, Q."""
    k = c.shape[0]
    sum_c, tr_c = float(c.sum()), float(np.trace(c))
    sum_r = float(r.sum())
    av_r = (sum_r - k) / (k * (k - 1))
    low = r[np.tril_indices(k, -1)]
    cc = c @ c
    q = (2 * k ** 2 / ((k - 1) ** 2 * sum_c ** 3)) * (
        sum_c * (np.trace(cc) + tr_c ** 2) - 2 * tr_c * cc.sum())
    return {
        "alpha": k / (k - 1) * (1 - tr_c / sum_c),
        "std_alpha": k / (k - 1) * (1 - k / sum_r),
        "lambda6": 1 - (k - smc(r).sum()) / sum_r,
        "average_r": av_r,
        "median_r": float(np.median(low)),
        "var_r": float(np.var(low, ddof=1)) if len(low) > 1 else math.nan,
        "signal_noise": k * av_r / (1 - av_r),
        "q": float(q),
    }


def _drop_stats(c: np.ndarray, r: np.ndarray) -> dict[str, np.ndarray]:
    """Alpha and companions with each item left out, vectorised (k > 2)."""
    k = c.shape[0]
    if k < 3:
        nan = np.full(k, np.nan)
        return {"alpha_if_deleted": nan, "std_alpha_if_deleted": nan,
                "lambda6_if_deleted": nan, "average_r_if_deleted": nan,
                "median_r_if_deleted": nan}
    kk = k - 1
    sum_c = c.sum() - 2 * c.sum(axis=0) + np.diag(c)
    tr_c = np.trace(c) - np.diag(c)
    sum_r = r.sum() - 2 * r.sum(axis=0) + 1
    try:
        p = np.linalg.inv(r)
    except np.linalg.LinAlgError:
        p = np.linalg.pinv(r)
    pd_ = np.diag(p)
    # diag of inv(R without i) = P_jj - P_ij^2 / P_ii (Schur complement), j != i
    d = pd_[None, :] - p ** 2 / pd_[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        smc_drop = np.clip(1 - 1 / d, 0.0, 1.0)
    np.fill_diagonal(smc_drop, 0.0)
    low = np.tril_indices(k, -1)
    med = np.empty(k)
    for i in range(k):
        keep = (low[0] != i) & (low[1] != i)
        med[i] = np.median(r[low][keep])
    return {
        "alpha_if_deleted": kk / (kk - 1) * (1 - tr_c / sum_c),
        "std_alpha_if_deleted": kk / (kk - 1) * (1 - kk / sum_r),
        "lambda6_if_deleted": 1 - (kk - smc_drop.sum(axis=1)) / sum_r,
        "average_r_if_deleted": (sum_r - kk) / (kk * (kk - 1)),
        "median_r_if_deleted": med,
    }


def _keyed_label(s: ItemSet, item: str) -> str:
    return "reverse-keyed" if s.key_of()[item] < 0 else "not reverse-keyed"


def _warn_miskeyed(s: ItemSet, rest_r: np.ndarray, alpha: float) -> tuple[str, ...]:
    bad = [(s.items[j], float(rest_r[j])) for j in np.flatnonzero(rest_r < 0)]
    if not bad and not alpha < 0:
        return ()
    if bad:
        listed = ", ".join(f"{i} (item_rest_r {v:.3f}, {_keyed_label(s, i)})" for i, v in bad)
        msg = (f"{s.label}: item(s) correlate negatively with the rest of the scale: {listed}. "
               "An item worded in the opposite direction must be reverse-keyed (keys=[...] or "
               "reverse_keyed: true in the instrument); an item already reversed may be keyed "
               "twice. Check the keys before interpreting alpha")
        if alpha < 0:
            msg += f" (alpha is negative: {alpha:.3f})"
    else:
        msg = (f"{s.label}: alpha is negative ({alpha:.3f}): the items' average covariance is "
               "negative, which usually means some items need reverse keying")
    warnings.warn(MiskeyedItemsWarning(msg, [i for i, _ in bad]), stacklevel=4)
    return (msg,)


def _item_table(s: ItemSet, c: np.ndarray, r: np.ndarray, total_r: np.ndarray) -> pd.DataFrame:
    x = s.x
    answered = ~np.isnan(x)
    n = answered.sum(axis=0)
    sum_c = c.sum()
    col_c = c.sum(axis=0)
    var = np.diag(c)
    with np.errstate(invalid="ignore", divide="ignore"):
        rest_r = (col_c - var) / np.sqrt(var * (sum_c - 2 * col_c + var))
        std_r = r.sum(axis=0) / np.sqrt(r.sum())
        rc = r.copy()
        np.fill_diagonal(rc, smc(r))
        smc_r = rc.sum(axis=0) / np.sqrt(rc.sum())
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(x, axis=0)
        sd = np.nanstd(x, axis=0, ddof=1)
    table = pd.DataFrame({
        "item": list(s.items),
        "key": list(s.keys),
        "n": n.astype("int64"),
        "mean": mean,
        "sd": sd,
        "item_total_r": total_r,
        "item_rest_r": rest_r,
        "item_total_r_std": std_r,
        "item_total_r_smc": smc_r,
    })
    for name, values in _drop_stats(c, r).items():
        table[name] = values
    return table


def _feldt(alpha: float, n: int, k: int, level: float) -> tuple[float, float]:
    p = 1 - level
    df1, df2 = n - 1, (n - 1) * (k - 1)
    return (float(1 - (1 - alpha) * stats.f.ppf(1 - p / 2, df1, df2)),
            float(1 - (1 - alpha) * stats.f.ppf(p / 2, df1, df2)))


def _bootstrap(x: np.ndarray, level: float, n_boot: int, rng: np.random.Generator
               ) -> tuple[float, float]:
    n, k = x.shape
    values = np.empty(n_boot)
    probs = np.full(n, 1 / n)
    for b in range(n_boot):
        w = rng.multinomial(n, probs).astype(float)
        _, c, _ = pairwise_moments(x, weights=w)
        values[b] = k / (k - 1) * (1 - np.trace(c) / c.sum())
    values = values[np.isfinite(values)]
    p = 1 - level
    return (float(np.quantile(values, p / 2)), float(np.quantile(values, 1 - p / 2)))


def _alpha_one(s: ItemSet, level: float, method: str, n_boot: int,
               rng: np.random.Generator | None) -> AlphaResult:
    if s.n_items < 2:
        raise AnalysisError(f"cronbach_alpha for {s.label}: needs at least 2 items")
    total = np.nanmean(s.x, axis=1)
    n_pair, cov, cor = pairwise_moments(np.column_stack([s.x, total]))
    k = s.n_items
    c = cov[:k, :k]
    check_usable(s, c, n_pair[:k, :k], "cronbach_alpha")
    r = cov2cor(c)
    core = _alpha_core(c, r)
    table = _item_table(s, c, r, cor[:k, k])
    msgs = _warn_miskeyed(s, table["item_rest_r"].to_numpy(), core["alpha"])
    if method == "feldt":
        ci = _feldt(core["alpha"], s.n_obs, k, level)
    else:
        ci = _bootstrap(s.x, level, n_boot, rng if rng is not None else
                        np.random.default_rng())
    return AlphaResult(
        alpha=core["alpha"], std_alpha=core["std_alpha"], ci=ci, ci_level=level,
        ci_method=method, lambda6=core["lambda6"], average_r=core["average_r"],
        median_r=core["median_r"], var_r=core["var_r"], signal_noise=core["signal_noise"],
        ase=float(np.sqrt(core["q"] / s.n_obs)) if core["q"] >= 0 else math.nan,
        score_mean=float(np.mean(total)),
        score_sd=float(np.std(total, ddof=1)), n_obs=s.n_obs, n_rows=s.n_rows, n_items=k,
        missing=s.missing, items=s.items,
        reversed_items=tuple(i for i, kk in zip(s.items, s.keys, strict=True) if kk < 0),
        scale_range=s.scale_range, group=s.group, scale=s.scale,
        n_boot=n_boot if method == "bootstrap" else None, warnings=msgs, item_stats=table)


def _check_ci(ci: float, method: str, n_boot: int) -> None:
    if not (isinstance(ci, (int, float)) and 0 < ci < 1):
        raise AnalysisError(f"ci must be a confidence level between 0 and 1; got {ci!r}")
    if method not in ("feldt", "bootstrap"):
        raise AnalysisError(f"method must be 'feldt' or 'bootstrap'; got {method!r}")
    if method == "bootstrap" and not (isinstance(n_boot, int) and n_boot >= 100):
        raise AnalysisError(f"n_boot must be an integer >= 100; got {n_boot!r}")


def cronbach_alpha(items: Any, keys: Any = None, ci: float = 0.95, method: str = "feldt",
                   missing: str = "pairwise", *,
                   scale_range: tuple[float, float] | None = None,
                   instrument: InstrumentArg = None, scales: Sequence[str] | None = None,
                   by: str | None = None, n_boot: int = 1000,
                   random_state: int | np.random.Generator | None = None
                   ) -> AlphaResult | ScaleResults:
    """Cronbach's alpha (raw and standardised) with a Feldt or bootstrap confidence interval.

    Parameters
    ----------
    items : DataFrame, shape (n_respondents, n_items)
        Numeric answer codes as given (before reverse keying), NaN = missing. Every column
        except ``by`` is an item; with an instrument, its item columns (named by item id) are
        used and other columns ignored.
    keys : list of str, or mapping of str to {+1, -1}, optional
        Reverse-keyed columns, or +1/-1 per column. Not allowed with an instrument.
    ci : float
        Confidence level of the interval, e.g. 0.95.
    method : {"feldt", "bootstrap"}
        Feldt's F-distribution interval, or a percentile bootstrap over respondents.
    missing : {"pairwise", "listwise"}
        Pairwise: each covariance from the respondents who answered both items (psych's
        default). Listwise: respondents with any missing item are dropped first.
    scale_range : (min, max), optional
        Declared response range for reversal, e.g. ``(1, 6)``; required when any key is -1
        without an instrument. All answers must lie inside it.
    instrument : str, Path or Instrument, optional
        Bundled id (``"cesd"``), YAML path or :class:`xinli_screen.Instrument`: alpha per scale,
        with its declared keys and response range.
    scales : sequence of str, optional
        Scale ids of ``instrument`` (default: every scale with at least 2 items; a composite
        uses the items of its components).
    by : str, optional
        Column to group by (e.g. ``"school"``); one result per group (missing labels form
        their own group).
    n_boot : int
        Bootstrap replicates (``method="bootstrap"``).
    random_state : int or numpy Generator, optional
        Seed of the bootstrap.

    Returns
    -------
    AlphaResult
        For one set of items.
    ScaleResults
        When ``instrument`` or ``by`` is given: ``.table`` has one row per (group, scale) with
        the scalar fields of :class:`AlphaResult`; ``.results`` the single results.

    Raises
    ------
    AnalysisError
        Invalid ``keys``, ``ci``, ``method``, ``missing``; reverse keys without a range;
        fewer than 2 items or respondents; an item without variance; a pair of items never
        answered together.
    ResponseDataError
        Non-numeric item columns; answers outside ``scale_range`` or the instrument's range.

    Warns
    -----
    MiskeyedItemsWarning
        An item correlates negatively with the rest of the scale, or alpha is negative; the
        message names the items and their current keys.
    InsufficientDataWarning
        A group or scale of a grouped analysis could not be computed (its row says why).

    See Also
    --------
    item_analysis, mcdonald_omega, split_half, apply_keys

    Notes
    -----
    With *k* keyed items, covariance matrix *C* and its correlation form *R*:

    .. math::

        \\alpha = \\frac{k}{k-1}
                 \\left(1 - \\frac{\\mathrm{tr}\\,C}{\\mathbf{1}'C\\mathbf{1}}\\right),
        \\qquad
        \\alpha_{std} = \\frac{k}{k-1}\\left(1 - \\frac{k}{\\mathbf{1}'R\\mathbf{1}}\\right),
        \\qquad
        \\lambda_6 = 1 - \\frac{\\sum_j (1 - \\mathrm{SMC}_j)}{\\mathbf{1}'R\\mathbf{1}}.

    Feldt interval (Feldt, Woodruff & Salih 1987), *n* = ``n_obs``:
    :math:`1 - (1 - \\alpha) F_{1-p/2}(n-1, (n-1)(k-1))` to
    :math:`1 - (1 - \\alpha) F_{p/2}(\\cdot)`, *p* = 1 - ``ci``. With pairwise deletion *C* is
    computed pair by pair, as psych::alpha; psych's *n* counts every row, this function only
    respondents with at least one answer (identical when nobody skipped the whole scale).

    References
    ----------
    .. [1] Cronbach LJ. Coefficient alpha and the internal structure of tests. Psychometrika.
       1951;16(3):297-334. doi:10.1007/BF02310555
    .. [2] Feldt LS, Woodruff DJ, Salih FA. Statistical inference for coefficient alpha. Appl
       Psychol Meas. 1987;11(1):93-103. doi:10.1177/014662168701100107
    .. [3] Guttman L. A basis for analyzing test-retest reliability. Psychometrika.
       1945;10(4):255-282. doi:10.1007/BF02288892
    .. [4] Duhachek A, Iacobucci D. Alpha's standard error (ASE). J Appl Psychol.
       2004;89(5):792-808. doi:10.1037/0021-9010.89.5.792

    Examples
    --------
    >>> import pandas as pd
    >>> from xinli_screen.reliability import cronbach_alpha
    >>> df = pd.DataFrame({"q1": [1, 2, 3, 4, 5], "q2": [2, 2, 3, 5, 5], "q3": [5, 4, 3, 2, 1]})
    >>> res = cronbach_alpha(df, keys=["q3"], scale_range=(1, 5))
    >>> round(res.alpha, 4), res.reversed_items
    (0.9859, ('q3',))
    >>> # bfi agreeableness, A1 reversed as 7 - A1 (R: psych::alpha(bfi[1:5], keys = "A1")):
    >>> # cronbach_alpha(bfi[["A1", ..., "A5"]], keys=["A1"], scale_range=(1, 6))
    >>> # -> alpha 0.7030, ci (0.6853, 0.7201)
    """
    _check_ci(ci, method, n_boot)
    check_missing(missing)
    rng = (random_state if isinstance(random_state, np.random.Generator)
           else np.random.default_rng(random_state))
    prepared = prepare(items, keys=keys, scale_range=scale_range, instrument=instrument,
                       scales=scales, by=by, missing=missing)
    return run_sets(prepared, lambda s: _alpha_one(s, float(ci), method, n_boot, rng),
                    "cronbach_alpha")


def item_analysis(items: Any, keys: Any = None, missing: str = "pairwise", *,
                  scale_range: tuple[float, float] | None = None,
                  instrument: InstrumentArg = None, scales: Sequence[str] | None = None,
                  by: str | None = None) -> pd.DataFrame:
    """Item statistics of a scale: item-total and item-rest r, alpha if deleted, mean, SD.

    Parameters
    ----------
    items, keys, missing, scale_range, instrument, scales, by
        As :func:`cronbach_alpha`.

    Returns
    -------
    DataFrame
        One row per item (per group and scale when ``by`` / ``instrument`` is given, in
        columns named after ``by`` and ``scale`` placed first). Columns:

        - ``item`` (str), ``key`` (int, +1 or -1: -1 = reversed before every statistic)
        - ``n`` (int): respondents who answered the item (among those used)
        - ``mean``, ``sd`` (float): of the keyed item (SD with divisor n - 1)
        - ``item_total_r``: correlation of the item with the scale score (mean of the
          respondent's answered keyed items; psych ``raw.r``)
        - ``item_rest_r``: corrected item-total correlation, item with the sum of the other
          items, from the covariance matrix (psych ``r.drop``)
        - ``item_total_r_std``: item-total correlation of standardised items (psych ``std.r``)
        - ``item_total_r_smc``: item-total correlation corrected for item overlap and
          unreliability, SMCs on the diagonal (psych ``r.cor``)
        - ``alpha_if_deleted``, ``std_alpha_if_deleted``, ``lambda6_if_deleted``,
          ``average_r_if_deleted``, ``median_r_if_deleted``: the scale statistics without the
          item (NaN for a two-item scale)
        - ``error`` only in grouped output: why a group or scale has no rows of statistics

    Raises
    ------
    AnalysisError, ResponseDataError
        As :func:`cronbach_alpha`.

    Warns
    -----
    MiskeyedItemsWarning
        Negative item-rest correlations, naming the items.

    See Also
    --------
    cronbach_alpha : the same statistics with the scale-level results (``.item_stats``).
    response_frequencies : answer distribution of each item.

    Notes
    -----
    .. math:: r_{j,rest} = \\frac{\\sum_{l \\ne j} c_{jl}}
              {\\sqrt{c_{jj}\\,\\sum_{l \\ne j}\\sum_{m \\ne j} c_{lm}}}

    References
    ----------
    .. [1] Crocker L, Algina J. Introduction to Classical and Modern Test Theory. Holt,
       Rinehart and Winston; 1986. ch. 14.

    Examples
    --------
    >>> # R: psych::alpha(bfi[1:5], keys = "A1")$item.stats; $alpha.drop
    >>> # item_analysis(bfi[["A1", ..., "A5"]], keys=["A1"], scale_range=(1, 6))
    """
    check_missing(missing)
    prepared = prepare(items, keys=keys, scale_range=scale_range, instrument=instrument,
                       scales=scales, by=by, missing=missing)
    if not prepared.multi:
        return _alpha_one(prepared.sets[0], 0.95, "feldt", 0, None).item_stats
    frames = []
    for s in prepared.sets:
        head, _ = set_head(prepared, s)
        try:
            table = _alpha_one(s, 0.95, "feldt", 0, None).item_stats.copy()
        except AnalysisError as exc:
            warn_failed("item_analysis", s, exc)
            frames.append(pd.DataFrame([{**head, "error": str(exc)}]))
            continue
        for pos, (column, value) in enumerate(head.items()):
            table.insert(pos, column, value)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------------
# response frequencies


def response_frequencies(items: Any, keys: Any = None, missing: str = "pairwise", *,
                         scale_range: tuple[float, float] | None = None,
                         instrument: InstrumentArg = None,
                         scales: Sequence[str] | None = None,
                         by: str | None = None) -> pd.DataFrame:
    """How often each answer was given, per item (tidy, one row per item and response).

    Parameters
    ----------
    items, keys, missing, scale_range, instrument, scales, by
        As :func:`cronbach_alpha`; the same respondents are counted (``missing`` decides who).

    Returns
    -------
    DataFrame
        Columns: ``by`` / ``scale`` when given, ``item`` (str), ``key`` (+1/-1), ``response``
        (float: the code **as answered**, before reverse keying), ``count`` (int),
        ``proportion`` (float, of the respondents who answered the item), and
        ``p_missing`` (float, share of the input rows that left the item blank, repeated on
        each row of the item). Responses are the instrument's declared codes (unused options
        included, count 0), else the integers of ``scale_range``, else the observed values.

    Notes
    -----
    Codes are counted before keying so that the table shows what respondents chose; psych's
    ``response.freq`` does the same.
    """
    check_missing(missing)
    inst = None
    if instrument is not None:
        from xinli_screen._analysis import _load_instrument

        inst = _load_instrument(instrument)
    prepared = prepare(items, keys=keys, scale_range=scale_range, instrument=inst,
                       scales=scales, by=by, missing=missing, min_items=1)
    frame = items if isinstance(items, pd.DataFrame) else None
    rows = []
    for s in prepared.sets:
        raw = s.raw if s.raw is not None else s.x
        if frame is not None and by is not None:
            group_rows = (frame[by].isna() if s.group is None else frame[by] == s.group)
            blank = frame.loc[group_rows, list(s.items)].isna().mean().to_numpy()
        elif frame is not None:
            blank = frame.loc[:, list(s.items)].isna().mean().to_numpy()
        else:
            blank = np.full(s.n_items, np.nan)
        for j, item in enumerate(s.items):
            col = raw[:, j]
            col = col[~np.isnan(col)]
            if inst is not None:
                item_obj = next(i for i in inst.items if i.id == item)
                codes = np.array(inst.response_scale_of(item_obj).codes, dtype=float)
            elif s.scale_range is not None and all(float(v).is_integer()
                                                   for v in s.scale_range) \
                    and s.scale_range[1] - s.scale_range[0] <= 100:
                codes = np.arange(s.scale_range[0], s.scale_range[1] + 1)
            else:
                codes = np.unique(col)
            extra = np.setdiff1d(np.unique(col), codes)
            codes = np.union1d(codes, extra)
            counts = (col[:, None] == codes[None, :]).sum(axis=0) if len(col) else \
                np.zeros(len(codes), dtype=int)
            for code, count in zip(codes, counts, strict=True):
                row = {}
                if prepared.by is not None:
                    row[prepared.by] = s.group
                if prepared.instrument is not None:
                    row["scale"] = s.scale
                row.update({"item": item, "key": s.keys[j], "response": float(code),
                            "count": int(count),
                            "proportion": count / len(col) if len(col) else math.nan,
                            "p_missing": float(blank[j])})
                rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# omega


@dataclass(frozen=True, eq=False)
class OmegaResult(ResultMixin):
    """McDonald's omega (total and hierarchical) from a Schmid-Leiman solution.

    Attributes
    ----------
    omega_total : float
        :math:`1 - \\sum u_j^2 / V_t`, :math:`V_t = \\mathbf{1}'R\\mathbf{1}` (psych
        ``omega.tot``).
    omega_hierarchical : float
        :math:`(\\sum_j g_j)^2 / V_t` (psych ``omega_h``). With one factor it equals the
        one-factor omega and is not a hierarchical coefficient.
    omega_limit : float
        :math:`(\\sum g_j)^2 / (V_t - \\sum u_j^2)`, omega_h of an infinitely long test
        (psych ``omega.lim``).
    alpha : float
        Standardised alpha from the same correlation matrix (psych ``alpha`` in omega).
    lambda6 : float
        Guttman's lambda-6 from the same matrix.
    ecv : float
        Explained common variance of the general factor (psych ``ECV``).
    n_factors : int
        Number of group factors.
    method : str
        First-order extraction ("minres").
    rotation : str
        "oblimin" (first-order factors before the Schmid-Leiman transformation).
    n_obs, n_rows, n_items : int
    missing : {"pairwise", "listwise"}
    items, reversed_items : tuple of str
    group, scale : optional labels
    warnings : tuple of str
    loadings : DataFrame
        Schmid-Leiman loadings, one row per item: ``item``, ``g``, ``F1`` ... ``Fm`` (group
        factors, general factor removed), ``h2``, ``u2``, ``p2`` (= g^2 / h2).
    factor_correlations : DataFrame
        Correlations of the oblimin first-order factors: ``factor``, ``F1`` ... ``Fm``, and
        ``g_loading`` (loading of each first-order factor on the general factor).
    """

    omega_total: float
    omega_hierarchical: float
    omega_limit: float
    alpha: float
    lambda6: float
    ecv: float
    n_factors: int
    method: str
    rotation: str
    n_obs: int
    n_rows: int
    n_items: int
    missing: str
    items: tuple[str, ...]
    reversed_items: tuple[str, ...]
    group: Any = None
    scale: str | None = None
    warnings: tuple[str, ...] = ()
    loadings: pd.DataFrame = field(default_factory=pd.DataFrame)
    factor_correlations: pd.DataFrame = field(default_factory=pd.DataFrame)

    _title = "McDonald's omega"
    _not_scalars = ("items",)


def _omega_one(s: ItemSet, n_factors: int) -> OmegaResult:
    _check_factors(n_factors, s.n_items, "mcdonald_omega")
    r, _ = _correlation(s, "mcdonald_omega")
    k = s.n_items
    if degrees_of_freedom(k, n_factors) < 0:
        warnings.warn(FactorFitWarning(
            f"mcdonald_omega for {s.label}: {n_factors} factors for {k} items leave negative "
            "degrees of freedom; the first-order solution is not identified (use fewer "
            "factors, e.g. n_factors=1 for a short unidimensional scale)"), stacklevel=4)
    sl = schmid_leiman(r, n_factors)
    g, u2 = sl["g"], sl["u2"]
    vt = float(r.sum())
    gsq = float(g.sum()) ** 2
    msgs: tuple[str, ...] = ()
    neg = [(s.items[j], float(g[j])) for j in np.flatnonzero(g < 0)]
    if neg:
        listed = ", ".join(f"{i} (g {v:.3f}, {_keyed_label(s, i)})" for i, v in neg)
        msg = (f"{s.label}: item(s) load negatively on the general factor: {listed}; omega_h "
               "adds loadings, so a miskeyed item lowers it. Check the keys (keys=[...] or "
               "reverse_keyed in the instrument)")
        warnings.warn(MiskeyedItemsWarning(msg, [i for i, _ in neg]), stacklevel=4)
        msgs = (msg,)
    names = [f"F{j + 1}" for j in range(n_factors)]
    table = pd.DataFrame({"item": list(s.items), "g": g})
    for j, name in enumerate(names):
        table[name] = sl["group"][:, j]
    table["h2"] = sl["h2"]
    table["u2"] = u2
    with np.errstate(invalid="ignore", divide="ignore"):
        table["p2"] = g ** 2 / sl["h2"]
    fc = pd.DataFrame(sl["phi"], columns=names)
    fc.insert(0, "factor", names)
    fc["g_loading"] = sl["gload"]
    ev = (g ** 2).sum() + (sl["group"] ** 2).sum()
    return OmegaResult(
        omega_total=(vt - float(u2.sum())) / vt, omega_hierarchical=gsq / vt,
        omega_limit=gsq / (vt - float(u2.sum())),
        alpha=(vt - k) / vt * k / (k - 1),
        lambda6=(vt + float(smc(r).sum()) - k) / vt,
        ecv=float((g ** 2).sum() / ev), n_factors=n_factors, method="minres",
        rotation="oblimin", n_obs=s.n_obs, n_rows=s.n_rows, n_items=k, missing=s.missing,
        items=s.items,
        reversed_items=tuple(i for i, kk in zip(s.items, s.keys, strict=True) if kk < 0),
        group=s.group, scale=s.scale, warnings=msgs, loadings=table, factor_correlations=fc)


def mcdonald_omega(items: Any, n_factors: int = 3, keys: Any = None,
                   missing: str = "pairwise", *,
                   scale_range: tuple[float, float] | None = None,
                   instrument: InstrumentArg = None, scales: Sequence[str] | None = None,
                   by: str | None = None) -> OmegaResult | ScaleResults:
    """McDonald's omega total and hierarchical (Schmid-Leiman), as psych::omega.

    Parameters
    ----------
    items : DataFrame, shape (n_respondents, n_items)
        As :func:`cronbach_alpha`.
    n_factors : int
        Number of group factors of the first-order solution (psych's default 3). Use 1 for
        a short unidimensional scale; then ``omega_hierarchical`` is the one-factor omega.
    keys, missing, scale_range, instrument, scales, by
        As :func:`cronbach_alpha`. Keys are applied to the data before the correlations,
        so omega and alpha use identical keying (unlike psych's automatic ``flip``, which is
        not reproduced: nothing is reversed unless declared).

    Returns
    -------
    OmegaResult, or ScaleResults when ``by`` or ``instrument`` is given.

    Raises
    ------
    AnalysisError
        ``n_factors`` not below the number of items, an unusable correlation matrix (see
        :func:`xinli_screen.factor.kmo`), and the errors of :func:`cronbach_alpha`.

    Warns
    -----
    MiskeyedItemsWarning
        Items with a negative general-factor loading.
    FactorFitWarning
        Negative degrees of freedom or a non-converged first-order solution.

    Notes
    -----
    Correlations are Pearson correlations, pairwise (each from the respondents answering
    both items, as R ``cor(use = "pairwise")``) or listwise. First-order factors: minres,
    oblimin; second order and Schmid-Leiman transformation as psych::schmid (see
    :func:`xinli_screen.factor.schmid_leiman`). With :math:`V_t` the sum of all correlations,

    .. math:: \\omega_t = 1 - \\frac{\\sum_j u_j^2}{V_t},\\qquad
              \\omega_h = \\frac{(\\sum_j g_j)^2}{V_t}.

    References
    ----------
    .. [1] McDonald RP. Test Theory: A Unified Treatment. Lawrence Erlbaum; 1999.
    .. [2] Schmid J, Leiman JM. The development of hierarchical factor solutions.
       Psychometrika. 1957;22(1):53-61. doi:10.1007/BF02289209
    .. [3] Zinbarg RE, Revelle W, Yovel I, Li W. Cronbach's alpha, Revelle's beta, and
       McDonald's omega_H. Psychometrika. 2005;70(1):123-133. doi:10.1007/s11336-003-0974-7

    Examples
    --------
    >>> # R: psych::omega(bfi[1:5], nfactors = 1, key = c(-1, 1, 1, 1, 1))$omega.tot  # 0.7229
    >>> # mcdonald_omega(bfi[["A1", ..., "A5"]], 1, keys=["A1"], scale_range=(1, 6))
    """
    check_missing(missing)
    prepared = prepare(items, keys=keys, scale_range=scale_range, instrument=instrument,
                       scales=scales, by=by, missing=missing)
    return run_sets(prepared, lambda s: _omega_one(s, n_factors), "mcdonald_omega")


# --------------------------------------------------------------------------------------------
# split half


@dataclass(frozen=True, eq=False)
class SplitHalfResult(ResultMixin):
    """Split-half reliabilities over all (or sampled) splits into two halves.

    Attributes
    ----------
    max_split : float
        Largest split-half reliability (Guttman's lambda-4; psych ``maxrb``).
    min_split : float
        Smallest (Revelle's beta estimate; psych ``minrb``).
    mean_split : float
        Mean over the splits (psych ``meanr``).
    n_splits : int
        Splits evaluated.
    exhaustive : bool
        True when every distinct split was evaluated (else ``n_sample`` random splits).
    alpha : float
        Alpha of the same (standardised or raw) matrix.
    lambda2, lambda6 : float
        Guttman's lambda-2 and lambda-6.
    average_r, median_r : float
        Inter-item correlations (or covariances when ``standardized=False``).
    standardized : bool
        Computed on correlations (default, psych ``covar = FALSE``) or covariances.
    n_obs, n_rows, n_items : int
    missing : {"pairwise", "listwise"}
    reversed_items : tuple of str
    max_split_items, min_split_items : tuple of str
        Items of the first half of the best and worst split.
    group, scale : optional labels
    """

    max_split: float
    min_split: float
    mean_split: float
    n_splits: int
    exhaustive: bool
    alpha: float
    lambda2: float
    lambda6: float
    average_r: float
    median_r: float
    standardized: bool
    n_obs: int
    n_rows: int
    n_items: int
    missing: str
    reversed_items: tuple[str, ...]
    max_split_items: tuple[str, ...] = ()
    min_split_items: tuple[str, ...] = ()
    group: Any = None
    scale: str | None = None

    _title = "Split-half reliability"


def _splits(k: int, n_sample: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    m = k // 2
    # even k: only halves containing item 0, so that each split is counted once
    count = math.comb(k - 1, m - 1) if k % 2 == 0 else math.comb(k, m)
    if count <= n_sample:
        if k % 2 == 0:
            combos = [(0, *c) for c in itertools.combinations(range(1, k), m - 1)]
        else:
            combos = list(itertools.combinations(range(k), m))
        a = np.zeros((len(combos), k))
        for row, c in enumerate(combos):
            a[row, list(c)] = 1.0
        return a, True
    a = np.zeros((n_sample, k))
    for row in range(n_sample):
        a[row, rng.choice(k, size=m, replace=False)] = 1.0
    return a, False


def _split_one(s: ItemSet, standardized: bool, n_sample: int, rng: np.random.Generator
               ) -> SplitHalfResult:
    k = s.n_items
    if k < 2:
        raise AnalysisError(f"split_half for {s.label}: needs at least 2 items")
    n_pair, c, _ = pairwise_moments(s.x)
    check_usable(s, c, n_pair, "split_half")
    r = cov2cor(c) if standardized else c
    total = float(r.sum())
    off = r.copy()
    np.fill_diagonal(off, 0.0)
    sum_off = total - float(np.trace(r))
    low = r[np.tril_indices(k, -1)]
    item_smc = smc(cov2cor(r))
    tsmc = float(item_smc.sum()) if standardized else float((item_smc * np.diag(r)).sum())
    a, exhaustive = _splits(k, n_sample, rng)
    ar = a @ r
    cab = (ar * (1 - a)).sum(axis=1)
    rab = 4 * cab / total
    i_max, i_min = int(np.argmax(rab)), int(np.argmin(rab))
    names = np.array(s.items)
    return SplitHalfResult(
        max_split=float(rab[i_max]), min_split=float(rab[i_min]), mean_split=float(rab.mean()),
        n_splits=len(rab), exhaustive=exhaustive, alpha=sum_off / total * k / (k - 1),
        lambda2=(sum_off + math.sqrt(float((off ** 2).sum()) * k / (k - 1))) / total,
        lambda6=(sum_off + tsmc) / total, average_r=float(low.mean()),
        median_r=float(np.median(low)), standardized=standardized, n_obs=s.n_obs,
        n_rows=s.n_rows, n_items=k, missing=s.missing,
        reversed_items=tuple(i for i, kk in zip(s.items, s.keys, strict=True) if kk < 0),
        max_split_items=tuple(names[a[i_max] == 1]), min_split_items=tuple(names[a[i_min] == 1]),
        group=s.group, scale=s.scale)


def split_half(items: Any, keys: Any = None, missing: str = "pairwise", *,
               scale_range: tuple[float, float] | None = None, standardized: bool = True,
               n_sample: int = 10000, random_state: int | np.random.Generator | None = None,
               instrument: InstrumentArg = None, scales: Sequence[str] | None = None,
               by: str | None = None) -> SplitHalfResult | ScaleResults:
    """Split-half reliability: maximum (lambda-4), minimum (beta) and mean over splits.

    Parameters
    ----------
    items, keys, missing, scale_range, instrument, scales, by
        As :func:`cronbach_alpha`.
    standardized : bool
        Use the correlation matrix (psych's default) or the covariance matrix.
    n_sample : int
        Evaluate every split when there are at most this many, else this many random splits
        (then max/min are estimates and ``exhaustive`` is False).
    random_state : int or numpy Generator, optional
        Seed for sampled splits.

    Returns
    -------
    SplitHalfResult, or ScaleResults when ``by`` or ``instrument`` is given.

    Raises
    ------
    AnalysisError, ResponseDataError
        As :func:`cronbach_alpha`.

    Notes
    -----
    A split puts :math:`\\lfloor k/2 \\rfloor` items in half *A* and the rest in *B*; its
    reliability is the Flanagan-Rulon / Guttman coefficient
    :math:`4\\,C_{AB} / V_t` (:math:`C_{AB}` the covariance of the half sums, :math:`V_t` the
    variance of the total), as psych::splitHalf. For even *k* each split is counted once; for
    odd *k* all :math:`\\binom{k}{\\lfloor k/2 \\rfloor}` splits are distinct and all are used.
    psych 2.2.9 evaluates only the first half of them for odd *k* (so its mean, and possibly
    its minimum and maximum, differ; e.g. bfi agreeableness: mean 0.6715 in psych, 0.6845 over
    all ten splits).

    References
    ----------
    .. [1] Guttman L. A basis for analyzing test-retest reliability. Psychometrika.
       1945;10(4):255-282. doi:10.1007/BF02288892
    .. [2] Revelle W. Hierarchical cluster analysis and the internal structure of tests.
       Multivariate Behav Res. 1979;14(1):57-74. doi:10.1207/s15327906mbr1401_4

    Examples
    --------
    >>> # R: psych::splitHalf(bfi[1:5], key = c(-1, 1, 1, 1, 1))  # max 0.7553, min 0.6156
    >>> # split_half(bfi[["A1", ..., "A5"]], keys=["A1"], scale_range=(1, 6))
    """
    check_missing(missing)
    if not (isinstance(n_sample, int) and n_sample >= 1):
        raise AnalysisError(f"n_sample must be a positive integer; got {n_sample!r}")
    rng = (random_state if isinstance(random_state, np.random.Generator)
           else np.random.default_rng(random_state))
    prepared = prepare(items, keys=keys, scale_range=scale_range, instrument=instrument,
                       scales=scales, by=by, missing=missing)
    return run_sets(prepared, lambda s: _split_one(s, standardized, n_sample, rng),
                    "split_half")
