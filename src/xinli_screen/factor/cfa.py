"""Confirmatory factor analysis (normal-theory ML) with lavaan-style fit indices."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from xinli_screen._analysis import AnalysisError, ItemSet, prepare
from xinli_screen._analysis_results import ResultMixin, ScaleResults, run_sets
from xinli_screen.factor._common import FactorFitWarning
from xinli_screen.instrument.models import Instrument


@dataclass(frozen=True, eq=False)
class CFAResult(ResultMixin):
    """Confirmatory factor analysis (normal-theory ML, latent variances fixed to 1).

    Attributes
    ----------
    chi_square : float
        :math:`N F_{ML}`, with
        :math:`F_{ML} = \\ln|\\Sigma| + \\mathrm{tr}(S\\Sigma^{-1}) - \\ln|S| - p`,
        *S* the sample covariance with divisor *N* (lavaan ``likelihood = "normal"``).
    df : int
        :math:`p(p+1)/2` minus the free parameters.
    p_value, cfi, tli, rmsea : float
        :math:`CFI = 1 - \\max(\\chi^2 - df, 0) / \\max(\\chi^2_0 - df_0, \\chi^2 - df, 0)`;
        :math:`TLI = (\\chi^2_0/df_0 - \\chi^2/df) / (\\chi^2_0/df_0 - 1)`;
        :math:`RMSEA = \\sqrt{\\max(\\chi^2 - df, 0) / (df\\,N)}`.
    rmsea_ci : (float, float)
        90 % interval (noncentral chi-square, as lavaan).
    srmr : float
        Standardised root mean square residual over the :math:`p(p+1)/2` variances and
        covariances, residuals in correlation metric (lavaan ``srmr``).
    baseline_chi_square, baseline_df : float
        Independence model (free variances).
    log_likelihood, aic, bic : float
        With a saturated mean structure, as lavaan ``logl``, ``aic``, ``bic``.
    n_parameters, n_obs, n_items : int
    missing : "listwise"
    loadings : DataFrame
        One row per (factor, item) with a free loading: ``factor``, ``item``, ``loading``
        (unstandardised), ``std_loading`` (item and factor standardised).
    error_variances : DataFrame
        ``item``, ``error_variance``, ``r2`` (explained share of the item's implied variance).
    factor_correlations : DataFrame
        ``factor_1``, ``factor_2``, ``r``, one row per pair.
    """

    chi_square: float
    df: int
    p_value: float
    cfi: float
    tli: float
    rmsea: float
    rmsea_ci: tuple[float, float]
    srmr: float
    baseline_chi_square: float
    baseline_df: int
    log_likelihood: float
    aic: float
    bic: float
    n_parameters: int
    n_obs: int
    n_items: int
    missing: str
    group: Any = None
    scale: str | None = None
    loadings: pd.DataFrame = field(default_factory=pd.DataFrame)
    error_variances: pd.DataFrame = field(default_factory=pd.DataFrame)
    factor_correlations: pd.DataFrame = field(default_factory=pd.DataFrame)

    _title = "Confirmatory factor analysis"


def _cfa_model(model: Mapping[str, Sequence[str]] | None, inst: Instrument | None,
               columns: Sequence[str]) -> dict[str, list[str]]:
    if model is None:
        if inst is None:
            raise AnalysisError("cfa needs a model: a mapping {factor: [item, ...]} (or an "
                                "instrument, whose scales become the factors)")
        model = {s.id: list(s.items) for s in inst.scales
                 if not s.is_composite and s.role == "scale" and len(s.items) >= 3}
        if not model:
            raise AnalysisError(f"instrument {inst.id!r} has no item scale with >= 3 items to "
                                "use as a factor; pass model=")
    if not isinstance(model, Mapping) or not model:
        raise AnalysisError("model must be a non-empty mapping {factor: [item, ...]}")
    out = {}
    for f, its in model.items():
        its = [its] if isinstance(its, str) else list(its)
        unknown = [i for i in its if i not in columns]
        if unknown:
            raise AnalysisError(f"factor {f!r} names item(s) {unknown[:5]} that are not item "
                                "columns")
        if len(its) < 2:
            raise AnalysisError(f"factor {f!r} needs at least 2 items; got {its}")
        out[str(f)] = its
    return out


def _srmr(s_cov: np.ndarray, sigma: np.ndarray) -> float:
    sd_s = np.sqrt(np.diag(s_cov))
    sd_m = np.sqrt(np.diag(sigma))
    res = s_cov / np.outer(sd_s, sd_s) - sigma / np.outer(sd_m, sd_m)
    res[np.diag_indices_from(res)] = (np.diag(s_cov) - np.diag(sigma)) / np.diag(s_cov)
    low = res[np.tril_indices_from(res)]
    return float(math.sqrt(np.mean(low ** 2)))


def _cfa_rmsea_ci(chisq: float, df: int, n: int, level: float = 0.90) -> tuple[float, float]:
    """lavaan's interval: lambda with P(chi2_df(lambda) <= X2) = 1 - a/2 and a/2."""
    tail = (1 - level) / 2

    def lam_for(target: float) -> float:
        f = lambda lam: stats.ncx2.cdf(chisq, df, lam) - target  # noqa: E731
        if f(1e-12) < 0:
            return 0.0
        hi = max(chisq, 1.0) * 4 + 100
        while f(hi) > 0:
            hi *= 2
        return optimize.brentq(f, 1e-12, hi, xtol=1e-10)

    lower = math.sqrt(lam_for(1 - tail) / (n * df))
    upper = math.sqrt(lam_for(tail) / (n * df))
    return (lower, upper)


def cfa(items: Any, model: Mapping[str, Sequence[str]] | None = None, *,
        missing: str = "listwise", keys: Any = None,
        scale_range: tuple[float, float] | None = None,
        instrument: str | Path | Instrument | None = None, by: str | None = None
        ) -> CFAResult | ScaleResults:
    """Confirmatory factor analysis with chi-square, CFI, TLI, RMSEA and SRMR.

    Parameters
    ----------
    items : DataFrame, shape (n_respondents, n_items)
        Numeric codes, NaN = missing; items not named in ``model`` are ignored.
    model : mapping of str to sequence of str, optional
        ``{factor: [item, ...]}``; an item may load on several factors. Default with an
        instrument: one factor per item scale with at least 3 items (validity scales and
        composites excluded).
    missing : "listwise"
        Only listwise deletion is supported; anything else raises :class:`AnalysisError`.
    keys, scale_range
        Optional reverse keys as in :func:`xinli_screen.reliability.cronbach_alpha` (they
        change only the signs of loadings).
    instrument : str, Path or Instrument, optional
        Items reverse keyed as declared; default model from its scales.
    by : str, optional
        Fit the model per group.

    Returns
    -------
    CFAResult, or ScaleResults when ``by`` or ``instrument`` is given.

    Raises
    ------
    AnalysisError
        No model, unknown items, a factor with fewer than 2 items, ``missing`` other than
        ``"listwise"``, fewer respondents than items, a singular sample covariance matrix, or
        a model with negative degrees of freedom.

    Warns
    -----
    FactorFitWarning
        The optimiser did not converge (largest gradient element >= 1e-6), or an error
        variance is negative (Heywood case).

    Notes
    -----
    Maximum likelihood with the analytic gradient (see the module docstring for why not
    ``factor_analyzer.ConfirmatoryFactorAnalyzer``); fit indices from the implied covariance,
    as lavaan. Each factor is signed so that its loadings sum to >= 0.

    References
    ----------
    .. [1] Bentler PM. Comparative fit indexes in structural models. Psychol Bull.
       1990;107(2):238-246. doi:10.1037/0033-2909.107.2.238
    .. [2] Hu L, Bentler PM. Cutoff criteria for fit indexes in covariance structure analysis.
       Struct Equ Modeling. 1999;6(1):1-55. doi:10.1080/10705519909540118
    .. [3] Rosseel Y. lavaan: An R package for structural equation modeling. J Stat Softw.
       2012;48(2):1-36. doi:10.18637/jss.v048.i02

    Examples
    --------
    >>> # R: lavaan::cfa("agree =~ A1 + ... ; consc =~ C1 + ...", bfi, std.lv = TRUE)
    >>> # cfa(bfi, {"agree": ["A1", ...], "consc": ["C1", ...]})  # chi2 503.34, df 34
    """
    if missing != "listwise":
        raise AnalysisError("cfa supports only missing='listwise' (maximum likelihood on the "
                            "complete cases; full-information ML is not implemented); got "
                            f"{missing!r}")
    inst = None
    if instrument is not None:
        from xinli_screen._analysis import _load_instrument

        inst = _load_instrument(instrument)
    frame = items if isinstance(items, pd.DataFrame) else pd.DataFrame(np.asarray(items))
    columns = list(inst.item_ids) if inst is not None else [c for c in frame.columns if c != by]
    spec = _cfa_model(model, inst, columns)
    used = list(dict.fromkeys(i for its in spec.values() for i in its))
    if inst is None:
        sub = frame.loc[:, used + ([by] if by is not None else [])]
        prepared = prepare(sub, keys=_restrict_keys(keys, used), scale_range=scale_range,
                           by=by, missing="listwise")
    else:
        present = [c for c in inst.item_ids if c in frame.columns]
        sub = frame.loc[:, present + ([by] if by is not None else [])]
        scale_ids = [s.id for s in inst.scales if set(inst.scale_items(s)) & set(used)]
        prepared = prepare(sub, instrument=inst, scales=scale_ids, by=by, missing="listwise",
                           per_scale=False)

    def compute(s: ItemSet) -> CFAResult:
        pos = {i: j for j, i in enumerate(s.items)}
        x = s.x[:, [pos[i] for i in used]]
        return _fit_cfa(x, used, spec, s)

    return run_sets(prepared, compute, "cfa")


def _cfa_start(s_cov: np.ndarray, pattern: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start values: per factor the first principal axis of its items, factor correlations of
    the weighted composites, error variances = remaining variance (at least 5 %)."""
    p, m = pattern.shape
    lam = np.zeros((p, m))
    weights = np.zeros((p, m))
    for f in range(m):
        idx = np.flatnonzero(pattern[:, f])
        vals, vecs = np.linalg.eigh(s_cov[np.ix_(idx, idx)])
        v = vecs[:, -1] * (1 if vecs[:, -1].sum() >= 0 else -1)
        lam[idx, f] = v * math.sqrt(max(vals[-1] - vals[:-1].mean(), 1e-3))
        weights[idx, f] = v
    comp = weights.T @ s_cov @ weights
    d = np.sqrt(np.diag(comp))
    phi = np.clip(comp / np.outer(d, d), -0.9, 0.9)
    np.fill_diagonal(phi, 1.0)
    theta = np.maximum(np.diag(s_cov) - (lam ** 2).max(axis=1), 0.05 * np.diag(s_cov))
    return lam, phi, theta


def _ml_cfa(s_cov: np.ndarray, pattern: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool, str]:
    """Normal-theory ML estimates (latent variances 1) by L-BFGS with the analytic gradient.

    Minimises :math:`F = \\ln|\\Sigma| + \\mathrm{tr}(S\\Sigma^{-1})` over the free loadings,
    factor correlations and error variances (unbounded, so a Heywood case shows up as a
    negative error variance, as in lavaan). With
    :math:`G = \\Sigma^{-1} - \\Sigma^{-1}S\\Sigma^{-1}` the gradient is
    :math:`2G\\Lambda\\Phi` (loadings), :math:`2\\Lambda'G\\Lambda` (factor correlations,
    off-diagonal) and :math:`\\mathrm{diag}(G)` (error variances).
    """
    p, m = pattern.shape
    lam0, phi0, theta0 = _cfa_start(s_cov, pattern)
    low = np.tril_indices(m, -1)
    n_lam = int(pattern.sum())
    n_phi = len(low[0])

    def unpack(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lam = np.zeros((p, m))
        lam[pattern] = v[:n_lam]
        phi = np.eye(m)
        phi[low] = v[n_lam:n_lam + n_phi]
        phi[(low[1], low[0])] = phi[low]
        return lam, phi, v[n_lam + n_phi:]

    def objective(v: np.ndarray) -> tuple[float, np.ndarray]:
        lam, phi, theta = unpack(v)
        sigma = lam @ phi @ lam.T + np.diag(theta)
        try:
            chol = np.linalg.cholesky(sigma)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros_like(v)
        inv = np.linalg.inv(sigma)
        f = 2 * float(np.log(np.diag(chol)).sum()) + float(np.sum(s_cov * inv))
        g = inv - inv @ s_cov @ inv
        d_lam = 2 * g @ lam @ phi
        d_phi = 2 * lam.T @ g @ lam
        return f, np.concatenate([d_lam[pattern], d_phi[low], np.diag(g)])

    v0 = np.concatenate([lam0[pattern], phi0[low], theta0])
    res = optimize.minimize(objective, v0, jac=True, method="L-BFGS-B",
                            options={"maxiter": 20000, "maxcor": 50, "ftol": 1e-15,
                                     "gtol": 1e-10})
    lam, phi, theta = unpack(res.x)
    _, grad = objective(res.x)
    converged = bool(np.abs(grad).max() < 1e-6)
    return lam, phi, theta, converged, str(res.message)


def _restrict_keys(keys: Any, used: Sequence[str]) -> Any:
    if keys is None or isinstance(keys, str):
        return keys
    if isinstance(keys, Mapping):
        return {k: v for k, v in keys.items() if k in used}
    return [k for k in keys if k in used]


def _fit_cfa(x: np.ndarray, used: list[str], spec: dict[str, list[str]], s: ItemSet
             ) -> CFAResult:
    n, p = x.shape
    m = len(spec)
    if n <= p:
        raise AnalysisError(f"cfa for {s.label}: needs more complete respondents ({n}) than "
                            f"items ({p})")
    s_cov = np.cov(x, rowvar=False, ddof=0)
    sign_s, logdet_s = np.linalg.slogdet(s_cov)
    if sign_s <= 0 or np.min(np.linalg.eigvalsh(s_cov)) <= 1e-10 * np.max(np.diag(s_cov)):
        raise AnalysisError(f"cfa for {s.label}: the sample covariance matrix is singular "
                            "(an item is constant or a linear combination of others)")
    pattern = np.zeros((p, m), dtype=bool)
    pos = {i: j for j, i in enumerate(used)}
    for f, its in enumerate(spec.values()):
        for i in its:
            pattern[pos[i], f] = True
    n_free = int(pattern.sum()) + p + m * (m - 1) // 2
    df = p * (p + 1) // 2 - n_free
    if df < 0:
        raise AnalysisError(f"cfa for {s.label}: the model has {n_free} free parameters for "
                            f"{p * (p + 1) // 2} variances and covariances (df = {df})")
    lam, phi, theta, converged, message = _ml_cfa(s_cov, pattern)
    if not converged:
        warnings.warn(FactorFitWarning(f"cfa for {s.label}: the ML fit did not converge "
                                       f"({message}); fit indices may be wrong"), stacklevel=3)
    signs = np.sign(lam.sum(axis=0))
    signs[signs == 0] = 1
    lam = lam * signs
    phi = phi * np.outer(signs, signs)
    sigma = lam @ phi @ lam.T + np.diag(theta)
    sign_m, logdet_m = np.linalg.slogdet(sigma)
    if sign_m <= 0:
        raise AnalysisError(f"cfa for {s.label}: the fitted covariance matrix is not positive "
                            "definite; the model may not be identified")
    f_ml = logdet_m + np.trace(s_cov @ np.linalg.inv(sigma)) - logdet_s - p
    chisq = float(max(n * f_ml, 0.0))
    base = float(n * (np.log(np.diag(s_cov)).sum() - logdet_s))
    base_df = p * (p - 1) // 2
    denom = max(base - base_df, chisq - df, 0.0)
    cfi = 1 - max(chisq - df, 0.0) / denom if denom > 0 else 1.0
    tli = ((base / base_df - chisq / df) / (base / base_df - 1)) if df > 0 else math.nan
    rmsea = math.sqrt(max(chisq - df, 0.0) / (df * n)) if df > 0 else math.nan
    logl = float(-n / 2 * (p * math.log(2 * math.pi) + logdet_m
                           + np.trace(s_cov @ np.linalg.inv(sigma))))
    if (theta < 0).any():
        bad = [used[j] for j in np.flatnonzero(theta < 0)]
        warnings.warn(FactorFitWarning(f"cfa for {s.label}: negative error variance for "
                                       f"{bad[:5]} (Heywood case)"), stacklevel=3)
    sd_item = np.sqrt(np.diag(sigma))
    rows = [{"factor": f, "item": used[i], "loading": lam[i, j],
             "std_loading": lam[i, j] / sd_item[i]}
            for j, f in enumerate(spec) for i in np.flatnonzero(pattern[:, j])]
    ev = pd.DataFrame({"item": used, "error_variance": theta,
                       "r2": 1 - theta / np.diag(sigma)})
    names = list(spec)
    fc = pd.DataFrame([{"factor_1": names[a], "factor_2": names[b], "r": phi[a, b]}
                       for a in range(m) for b in range(a + 1, m)],
                      columns=["factor_1", "factor_2", "r"])
    return CFAResult(
        chi_square=chisq, df=df,
        p_value=float(stats.chi2.sf(chisq, df)) if df > 0 else math.nan,
        cfi=float(cfi), tli=float(tli), rmsea=float(rmsea),
        rmsea_ci=_cfa_rmsea_ci(chisq, df, n) if df > 0 else (math.nan, math.nan),
        srmr=_srmr(s_cov, sigma), baseline_chi_square=base, baseline_df=base_df,
        log_likelihood=logl, aic=-2 * logl + 2 * n_free, bic=-2 * logl + n_free * math.log(n),
        n_parameters=n_free, n_obs=n, n_items=p, missing="listwise", group=s.group,
        scale=s.scale, loadings=pd.DataFrame(rows), error_variances=ev,
        factor_correlations=fc)
