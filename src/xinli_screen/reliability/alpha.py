"""Cronbach's alpha (psych::alpha), Guttman's lambda-6 and item analysis."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from xinli_screen._analysis import (
    AnalysisError,
    ConstantItemWarning,
    ItemSet,
    MiskeyedItemsWarning,
    check_missing,
    check_usable,
    prepare,
    warn_singular,
)
from xinli_screen._analysis_results import (
    ResultMixin,
    ScaleResults,
    run_sets,
    set_head,
    warn_failed,
)
from xinli_screen._moments import cov2cor, is_singular, pairwise_moments, pinv, smc
from xinli_screen.reliability.keys import InstrumentArg
from xinli_screen.reliability.polychoric import ordinal_categories, polychoric_of


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
        Messages of the warnings issued (miskeyed or constant items, a singular matrix).
    correlation : {"pearson", "polychoric"}
        ``"polychoric"`` (``ordinal=True``): ordinal alpha, the alpha of the polychoric matrix
        (then ``alpha == std_alpha``, and ``ci``/``ase`` are NaN, as R ``alpha(rho)``).
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
    correlation: str = "pearson"
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
    if not np.isfinite(r).all():  # an item without variance: correlations undefined
        nan = np.full(k, np.nan)
        return {"alpha_if_deleted": kk / (kk - 1) * (1 - tr_c / sum_c),
                "std_alpha_if_deleted": nan, "lambda6_if_deleted": nan,
                "average_r_if_deleted": nan, "median_r_if_deleted": nan}
    p = pinv(r)
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


def _opposing_groups(s: ItemSet, c: np.ndarray) -> tuple[list[str], list[str]]:
    """Items split by the sign of their loading on the first principal component of the
    covariance matrix: the two groups that covary negatively with each other (larger first).
    """
    _, vectors = np.linalg.eigh(c)
    first = vectors[:, -1]
    pos = [i for i, v in zip(s.items, first, strict=True) if v >= 0]
    neg = [i for i, v in zip(s.items, first, strict=True) if v < 0]
    return (pos, neg) if len(pos) >= len(neg) else (neg, pos)


def _negative_alpha_reason(s: ItemSet, c: np.ndarray, alpha: float) -> tuple[str, list[str]]:
    """Why alpha is negative: alpha < 0 exactly when the sum of the inter-item covariances
    is negative (alpha = k/(k-1) (1 - tr C / sum C), sum C = tr C + off-diagonal sum)."""
    k = c.shape[0]
    avg_cov = float((c.sum() - np.trace(c)) / (k * (k - 1)))
    major, minor = _opposing_groups(s, c)
    text = (f"alpha is negative ({alpha:.3f}) because the average inter-item covariance is "
            f"negative ({avg_cov:.3g})")
    if minor:
        text += (f": the items fall into two groups that covary negatively with each other, "
                 f"{', '.join(major)} versus {', '.join(minor)}; one group is probably worded "
                 "in the opposite direction and needs reverse keying (keys=[...] or "
                 "reverse_keyed: true in the instrument)")
    else:
        text += ": check the keys and the data before interpreting alpha"
    return text, minor


def _warn_miskeyed(s: ItemSet, rest_r: np.ndarray, alpha: float, c: np.ndarray
                   ) -> tuple[str, ...]:
    bad = [(s.items[j], float(rest_r[j])) for j in np.flatnonzero(rest_r < 0)]
    if not bad and not alpha < 0:
        return ()
    flagged = [i for i, _ in bad]
    if bad:
        listed = ", ".join(f"{i} (item_rest_r {v:.3f}, {_keyed_label(s, i)})" for i, v in bad)
        msg = (f"{s.label}: item(s) correlate negatively with the rest of the scale: {listed}. "
               "An item worded in the opposite direction must be reverse-keyed (keys=[...] or "
               "reverse_keyed: true in the instrument); an item already reversed may be keyed "
               "twice. Check the keys before interpreting alpha")
        if alpha < 0:
            msg += ". " + _negative_alpha_reason(s, c, alpha)[0]
    else:
        reason, flagged = _negative_alpha_reason(s, c, alpha)
        msg = f"{s.label}: {reason}"
    warnings.warn(MiskeyedItemsWarning(msg, flagged), stacklevel=4)
    return (msg,)


def _warn_constant(s: ItemSet, const: list[str]) -> tuple[str, ...]:
    if not const:
        return ()
    msg = (f"{s.label}: item(s) {const[:5]} have no variance (everyone gave the same answer): "
           "raw alpha is computed with them, but standardised alpha, lambda-6 and the "
           "inter-item correlations are undefined (NaN), as in R psych::alpha; drop them for "
           "standardised values")
    warnings.warn(ConstantItemWarning(msg), stacklevel=4)
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
               rng: np.random.Generator | None,
               categories: Sequence[float] | None = None,
               what: str = "cronbach_alpha") -> AlphaResult:
    """Alpha of one item set; ``what`` names the calling analysis in messages."""
    if s.n_items < 2:
        raise AnalysisError(f"{what} for {s.label}: needs at least 2 items")
    total = np.nanmean(s.x, axis=1)
    k = s.n_items
    msgs: tuple[str, ...] = ()
    if categories is not None:  # ordinal alpha: the polychoric matrix in place of C
        poly = polychoric_of(s, categories, what)
        c = r = poly["rho"]
        total_r = r.sum(axis=0) / np.sqrt(r.sum())
        const: list[str] = []
        msgs = poly["warnings"]
    else:
        n_pair, cov, cor = pairwise_moments(np.column_stack([s.x, total]))
        c = cov[:k, :k]
        total_r = cor[:k, k]
        const = check_usable(s, c, n_pair[:k, :k], what, allow_constant=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = cov2cor(c)
    with np.errstate(invalid="ignore", divide="ignore"):
        core = _alpha_core(c, r)
        table = _item_table(s, c, r, total_r)
    msgs = (*msgs, *_warn_constant(s, const),
            *_warn_miskeyed(s, table["item_rest_r"].to_numpy(), core["alpha"], c))
    if categories is None and (s.n_obs <= k or is_singular(r)):
        msgs = (*msgs, warn_singular(s, what))
    if categories is not None:
        ci = (math.nan, math.nan)
        core["q"] = math.nan
    elif method == "feldt":
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
        n_boot=n_boot if method == "bootstrap" else None, warnings=msgs,
        correlation="pearson" if categories is None else "polychoric", item_stats=table)


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
                   random_state: int | np.random.Generator | None = None,
                   ordinal: bool = False) -> AlphaResult | ScaleResults:
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
    ordinal : bool
        Ordinal alpha (Zumbo, Gadermann & Zeisser 2007): alpha of the polychoric correlation
        matrix (:func:`xinli_screen.reliability.polychoric`), for items declared ordinal. R:
        ``psych::alpha(psych::polychoric(x)$rho)``. Every answer must be a category code
        (the instrument's declared codes, else whole numbers); anything else raises
        :class:`xinli_screen.ResponseDataError` naming the item, row and value. No
        confidence interval (NaN), as R without ``n.obs``.

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
    categories = ordinal_categories(items, instrument, by) if ordinal else None
    if ordinal and method != "feldt":
        raise AnalysisError("ordinal alpha has no bootstrap interval here: use method='feldt' "
                            "(the interval is reported as NaN)")
    prepared = prepare(items, keys=keys, scale_range=scale_range, instrument=instrument,
                       scales=scales, by=by, missing=missing)
    return run_sets(prepared,
                    lambda s: _alpha_one(s, float(ci), method, n_boot, rng, categories),
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
        return _alpha_one(prepared.sets[0], 0.95, "feldt", 0, None,
                          what="item_analysis").item_stats
    frames = []
    for s in prepared.sets:
        head, _ = set_head(prepared, s)
        try:
            table = _alpha_one(s, 0.95, "feldt", 0, None, what="item_analysis").item_stats.copy()
        except AnalysisError as exc:
            warn_failed("item_analysis", s, exc)
            frames.append(pd.DataFrame([{**head, "error": str(exc)}]))
            continue
        for pos, (column, value) in enumerate(head.items()):
            table.insert(pos, column, value)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


