r"""Continuous norming across age or grade, in the spirit of cNORM.

Group-wise norms give one table per grade (or age band) and jump at the band edges; a pupil
who is 12 years 11 months is normed against the 12-year-olds only. Continuous norming models
the whole family of distributions at once (Lenhard, Lenhard & Gary 2019; cNORM):

1. **Rank within groups.** Each respondent's mid-point percentile rank is computed within a
   ranking group (a grade, an age band, or a sliding age window), separately per factor level
   (sex), and turned into a normal score, the *location* :math:`L = \Phi^{-1}(PR/100)`.
2. **Fit the surface.** The raw score is regressed on polynomial terms
   :math:`L^i a^j` (:math:`i \le k`, :math:`j \le t`) of the location and of the standardised
   covariate :math:`a = (age - c)/s`, plus factor-dummy terms :math:`D_{level} L^i a^j`
   (:math:`i \le 2`, :math:`j \le 1`), so that sex shifts and stretches the surface. Terms are
   chosen by forward selection on :math:`R^2` until the adjusted :math:`R^2` reaches
   ``r2_target`` (default 0.99, cNORM's default) or no term adds at least ``min_gain``.
3. **Monotone in L.** A candidate term is accepted only if the fitted surface is
   non-decreasing in :math:`L` over the whole domain (observed location range x covariate
   range, every factor level), so a higher raw score can never get a lower norm score. The
   check is repeated when a table is loaded.
4. **Read norms for any age.** For a raw score :math:`x` at covariate value :math:`age`, the
   location is found by inverting the (monotone) curve :math:`L \mapsto raw(L, a)` on a fine
   grid; z = L, normalised T = 50 + 10 L, PR = 100 Phi(L). A raw score below the curve's value
   at the lowest observed location, or above it at the highest, is ``beyond_norms`` (the
   location is then the bound); an age outside the fitted range is ``group_not_covered``.

References
----------
1. Lenhard A, Lenhard W, Suggate S, Segerer R. A continuous solution to the norming problem.
   Assessment. 2018;25(1):112-125. doi:10.1177/1073191116656437
2. Lenhard A, Lenhard W, Gary S. Continuous norming of psychometric tests: a simulation study
   of parametric and semi-parametric approaches. PLoS ONE. 2019;14(9):e0222279.
   doi:10.1371/journal.pone.0222279
3. Lenhard W, Lenhard A, Gary S. cNORM: Continuous Norming (R package), version 3.x.
   https://CRAN.R-project.org/package=cNORM
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen import __version__
from xinli_screen.instrument.models import Instrument
from xinli_screen.norms.errors import NormWarning, SmallCellWarning
from xinli_screen.norms.models import (
    ContinuousModel,
    Covariate,
    NormTable,
    ScaleNorm,
    Term,
    code_key,
    metric_of,
)
from xinli_screen.norms.sample import ReferenceSample, TableMeta, reference_sample
from xinli_screen.norms.standard import normalised_z, percentile_ranks

__all__ = [
    "agreement",
    "fit_continuous",
    "fit_model",
    "locate",
    "location_scores",
    "model_is_monotone",
    "predict_raw",
]

#: Points of the location grid used to invert the fitted curve (z step ~0.01).
GRID_POINTS = 601
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
#: Highest number of distinct covariate values ranked value by value without a window.
MAX_RANK_VALUES = 20


# --------------------------------------------------------------------------- ranking


def location_scores(
    raw: np.ndarray,
    strata: np.ndarray | None = None,
    covariate: np.ndarray | None = None,
    width: float | None = None,
) -> np.ndarray:
    r"""Normal scores of raw scores ranked within groups or within a sliding covariate window.

    Parameters
    ----------
    raw : ndarray, shape (n,)
        Raw scores; NaN rows get NaN.
    strata : ndarray of object, shape (n,), optional
        Ranking group of each row (e.g. ``"7|female"``); None = one group.
    covariate, width : optional
        With ``width``, each row is ranked among the rows of its stratum whose covariate lies
        within :math:`\pm` ``width``/2 of its own (sliding window, cNORM's
        ``rankBySlidingWindow``).

    Returns
    -------
    ndarray, shape (n,)
        :math:`L = \Phi^{-1}(PR/100)` with the mid-point PR (rankit).
    """
    raw = np.asarray(raw, dtype=float)
    out = np.full(raw.shape, np.nan)
    strata = np.full(raw.shape, "", dtype=object) if strata is None else strata
    valid = ~np.isnan(raw)
    if width is not None and covariate is not None:
        valid &= ~np.isnan(covariate)
    for s in pd.unique(strata[valid]):
        idx = np.flatnonzero(valid & (strata == s))
        if width is None or covariate is None:
            out[idx] = percentile_ranks(raw[idx])
            continue
        cov = covariate[idx]
        order = np.argsort(cov, kind="stable")
        sorted_cov = cov[order]
        for u in np.unique(cov):
            lo = np.searchsorted(sorted_cov, u - width / 2, side="left")
            hi = np.searchsorted(sorted_cov, u + width / 2, side="right")
            window = raw[idx[order[lo:hi]]]
            here = idx[cov == u]
            out[here] = percentile_ranks(window, raw[here])
    return normalised_z(out)


# --------------------------------------------------------------------------- the surface


def _term_matrix(terms: Sequence[tuple[int, int, str | None]], loc: np.ndarray,
                 a: np.ndarray, level: np.ndarray | None) -> np.ndarray:
    cols = []
    for p, j, lev in terms:
        col = loc ** p * a ** j
        if lev is not None:
            col = col * (level == lev) if level is not None else col * 0.0
        cols.append(col)
    return np.column_stack(cols) if cols else np.zeros((len(loc), 0))


def _deriv_matrix(terms: Sequence[tuple[int, int, str | None]], loc: np.ndarray,
                  a: np.ndarray, level: np.ndarray | None) -> np.ndarray:
    cols = []
    for p, j, lev in terms:
        col = (p * loc ** (p - 1) if p > 0 else np.zeros_like(loc)) * a ** j
        if lev is not None:
            col = col * (level == lev) if level is not None else col * 0.0
        cols.append(col)
    return np.column_stack(cols)


def _domain_grid(loc_range: tuple[float, float], a_range: tuple[float, float],
                 levels: Sequence[str | None], n_loc: int = 81, n_a: int = 31
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lg = np.linspace(*loc_range, n_loc)
    ag = np.linspace(*a_range, n_a) if a_range[1] > a_range[0] else np.array([a_range[0]])
    L, A, V = np.meshgrid(lg, ag, np.arange(len(levels)), indexing="ij")
    lev = np.array(levels, dtype=object)[V.ravel()]
    return L.ravel(), A.ravel(), lev


def _model_terms(model: ContinuousModel) -> list[tuple[int, int, str | None]]:
    return [(t.power_l, t.power_a, None if t.level is None else code_key(t.level))
            for t in model.terms]


def model_is_monotone(model: ContinuousModel, levels: Sequence[str] | None = None,
                      tol: float = 1e-9) -> bool:
    """True when the model's raw score never decreases as L rises, over its whole domain.

    Parameters
    ----------
    levels : sequence of str, optional
        Factor level keys to check (default: the reference level and every level named in
        a term).
    """
    terms = _model_terms(model)
    if levels is None:
        levels = sorted({t[2] for t in terms if t[2] is not None})
    lv: list[str | None] = [None, *levels] if model.factor is not None else [None]
    a_rng = ((model.covariate_min - model.covariate_center) / model.covariate_scale,
             (model.covariate_max - model.covariate_center) / model.covariate_scale)
    L, A, lev = _domain_grid((model.location_min, model.location_max), a_rng, lv)
    coef = np.array([t.coef for t in model.terms])
    d = _deriv_matrix(terms, L, A, lev) @ coef
    return bool(np.min(d) >= -tol)


def predict_raw(model: ContinuousModel, location: Any, covariate: Any,
                level: Any = None) -> np.ndarray:
    """Raw score predicted by the model at location(s) L and covariate value(s) (broadcast).

    ``level``: factor level key per row (None or a scalar for all rows).
    """
    loc, cov = np.broadcast_arrays(np.asarray(location, dtype=float),
                                   np.asarray(covariate, dtype=float))
    a = (cov - model.covariate_center) / model.covariate_scale
    lev = None if level is None else np.broadcast_to(np.asarray(level, dtype=object),
                                                      loc.shape).ravel()
    coef = np.array([t.coef for t in model.terms])
    return (_term_matrix(_model_terms(model), loc.ravel(), a.ravel(), lev) @ coef).reshape(
        loc.shape)


def locate(model: ContinuousModel, raw: Any, covariate: Any, level: Any = None,
           chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Location (normal score z) of raw scores at given covariate values: the norm score.

    Parameters
    ----------
    raw, covariate : array_like, shape (n,)
        Raw scores and covariate values (NaN allowed: gives NaN).
    level : array_like of str, shape (n,), optional
        Factor level keys (ignored by a model without factor terms).

    Returns
    -------
    (z, beyond) : ndarray of float, ndarray of bool, shape (n,)
        ``z`` found by linear interpolation of the inverted curve on a grid of
        :data:`GRID_POINTS` locations; outside the curve's range ``z`` is the bound
        (``location_min`` / ``location_max``) and ``beyond`` is True. The covariate range is
        not checked here (see :func:`~xinli_screen.norms.apply_norms`).
    """
    x = np.asarray(raw, dtype=float).ravel()
    cov = np.asarray(covariate, dtype=float).ravel()
    lev = (np.full(x.shape, None, dtype=object) if level is None
           else np.asarray(level, dtype=object).ravel())
    grid = np.linspace(model.location_min, model.location_max, GRID_POINTS)
    terms = _model_terms(model)
    coef = np.array([t.coef for t in model.terms])
    powers = np.vstack([grid ** p for p, _, _ in terms])           # (T, G)
    z = np.full(x.shape, np.nan)
    beyond = np.zeros(x.shape, dtype=bool)
    ok = np.flatnonzero(~np.isnan(x) & ~np.isnan(cov))
    for start in range(0, ok.size, chunk):
        rows = ok[start:start + chunk]
        a = (cov[rows] - model.covariate_center) / model.covariate_scale
        w = np.column_stack([
            coef[k] * a ** j * ((lev[rows] == lv) if lv is not None else 1.0)
            for k, (_, j, lv) in enumerate(terms)])                 # (n, T)
        pred = np.maximum.accumulate(w @ powers, axis=1)            # (n, G), monotone
        xr = x[rows][:, None]
        idx = (pred < xr).sum(axis=1)
        lo_side, hi_side = idx == 0, idx == GRID_POINTS
        i1 = np.clip(idx, 1, GRID_POINTS - 1)
        p0 = pred[np.arange(rows.size), i1 - 1]
        p1 = pred[np.arange(rows.size), i1]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(p1 > p0, (x[rows] - p0) / (p1 - p0), 1.0)
        zz = grid[i1 - 1] + np.clip(frac, 0.0, 1.0) * (grid[i1] - grid[i1 - 1])
        first = pred[:, 0]
        zz = np.where(lo_side, grid[0], np.where(hi_side, grid[-1], zz))
        z[rows] = zz
        beyond[rows] = (lo_side & (x[rows] < first)) | hi_side
    return z, beyond


def fit_model(
    raw: np.ndarray,
    location: np.ndarray,
    covariate: np.ndarray,
    level: np.ndarray | None = None,
    *,
    factor: str | None = None,
    k: int = 4,
    t: int = 3,
    r2_target: float = 0.99,
    max_terms: int = 12,
    min_gain: float = 1e-4,
    ranking: str | None = None,
) -> ContinuousModel:
    r"""Fit raw = polynomial(L, a) (+ factor terms) by monotone forward selection.

    Parameters
    ----------
    raw, location, covariate : ndarray, shape (n,)
        Raw scores, their locations (normal scores from :func:`location_scores`) and the
        covariate (age or grade); rows with NaN are ignored.
    level : ndarray of str, shape (n,), optional
        Factor level key per row; the first level (sorted) is the reference.
    factor : str, optional
        Id of the factor's group variable (stored in the model).
    k, t : int
        Highest power of L and of the covariate (cNORM defaults are around k = 4-5, t = 3).
    r2_target, max_terms, min_gain
        Stop rules of the forward selection.

    Returns
    -------
    ContinuousModel
        With the chosen terms, their coefficients, the domain and the fit (R², RMSE, n).

    Raises
    ------
    ValueError
        Too few rows, a single covariate value, or even the base model ``b0 + b1 L`` is not
        increasing in L.
    """
    ok = ~(np.isnan(raw) | np.isnan(location) | np.isnan(covariate))
    if level is not None:
        ok &= pd.notna(level)
    y, L, cov = raw[ok], location[ok], covariate[ok]
    lev = None if level is None else np.asarray(level, dtype=object)[ok]
    if y.size < 10:
        raise ValueError(f"continuous norms need at least 10 scored cases; got {y.size}")
    if np.ptp(cov) <= 0:
        raise ValueError("continuous norms need at least two different covariate values")
    center = float((cov.min() + cov.max()) / 2)
    scale = float((cov.max() - cov.min()) / 2)
    a = (cov - center) / scale
    levels = sorted(pd.unique(lev).tolist()) if lev is not None else []
    others = levels[1:]
    base: list[tuple[int, int, str | None]] = [(0, 0, None), (1, 0, None)]
    candidates = [(i, j, None) for i in range(k + 1) for j in range(t + 1)
                  if (i, j) not in {(0, 0), (1, 0)}]
    candidates += [(i, j, lv) for lv in others for i in range(3) for j in range(2)]
    loc_rng = (float(L.min()), float(L.max()))
    gl, ga, glev = _domain_grid(loc_rng, (-1.0, 1.0), [None, *others])
    sst = float(np.sum((y - y.mean()) ** 2)) or 1.0
    X_all = _term_matrix(base + candidates, L, a, lev)
    D_all = _deriv_matrix(base + candidates, gl, ga, glev)
    scale_tol = 1e-9 * max(1.0, float(np.ptp(y)))
    # normal equations on the precomputed cross-products: p <= max_terms columns, so each
    # candidate costs microseconds; lstsq is the fallback for a (near) singular system
    gram, xty, yty = X_all.T @ X_all, X_all.T @ y, float(y @ y)

    def evaluate(cols: list[int]) -> tuple[float, np.ndarray, bool]:
        g = gram[np.ix_(cols, cols)]
        try:
            coef = np.linalg.solve(g, xty[cols])
            if not np.all(np.isfinite(coef)) or np.linalg.cond(g) > 1e12:
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            coef, *_ = np.linalg.lstsq(X_all[:, cols], y, rcond=None)
        sse = yty - 2.0 * float(coef @ xty[cols]) + float(coef @ g @ coef)
        r2 = 1.0 - max(sse, 0.0) / sst
        mono = bool(np.min(D_all[:, cols] @ coef) >= -scale_tol)
        return r2, coef, mono

    chosen = [0, 1]
    r2, coef, mono = evaluate(chosen)
    if not mono:
        raise ValueError("the raw score does not rise with the percentile rank (is the scale "
                         "reverse-scored, or constant?)")

    def adj(r2v: float, p: int) -> float:
        return 1.0 - (1.0 - r2v) * (y.size - 1) / max(y.size - p, 1)

    while len(chosen) < max_terms and adj(r2, len(chosen)) < r2_target:
        best = None
        for c in range(len(base), len(base) + len(candidates)):
            if c in chosen:
                continue
            r2c, coefc, monoc = evaluate([*chosen, c])
            if monoc and (best is None or r2c > best[0]):
                best = (r2c, coefc, c)
        if best is None or best[0] - r2 < min_gain:
            break
        r2, coef, chosen = best[0], best[1], [*chosen, best[2]]
    spec = [(base + candidates)[c] for c in chosen]
    resid = y - X_all[:, chosen] @ coef
    terms = tuple(Term(power_l=i, power_a=j, level=lv, coef=float(b))
                  for (i, j, lv), b in zip(spec, coef, strict=True))
    return ContinuousModel(
        factor=factor, covariate_center=center, covariate_scale=scale,
        covariate_min=float(cov.min()), covariate_max=float(cov.max()),
        location_min=loc_rng[0], location_max=loc_rng[1], terms=terms, ranking=ranking,
        r2=float(r2), rmse=float(np.sqrt(np.mean(resid ** 2))), n=int(y.size))


# --------------------------------------------------------------------------- whole table


def fit_continuous(
    scores: pd.DataFrame,
    covariate: str,
    by: Sequence[str] | Mapping[str, str] = (),
    *,
    instrument: str | Path | Instrument | None = None,
    groups: pd.DataFrame | None = None,
    scales: Sequence[str] | None = None,
    rank_by: str | None = None,
    width: float | None = None,
    min_cell: int = 30,
    k: int = 4,
    t: int = 3,
    r2_target: float = 0.99,
    max_terms: int = 12,
    table_id: str | None = None,
    name: str | None = None,
    population: str | None = None,
    year: int | None = None,
    collected: str | None = None,
    citation: str | None = None,
) -> NormTable:
    """Fit a continuous norm table (``kind: continuous``) from a reference wave.

    Parameters
    ----------
    scores : DataFrame, shape (n_respondents, ...)
        Wide score table of :func:`xinli_screen.score_instrument`; may hold the group columns.
    covariate : str
        Column of the continuous variable (age in years, or grade; grade words such as
        ``初一`` are read as 7): ``"age"``, or ``"age=年龄"`` to name the covariate ``age``
        and read it from column ``年龄``.
    by : sequence of str or mapping, at most one entry
        The factor (``["sex"]`` or ``["sex=性别"]``): the model gets dummy terms per level and
        ranks are formed separately per level.
    rank_by : str, optional
        Column of discrete ranking groups (grade, age band). Default: the covariate's own
        values when it has at most 20 distinct values (e.g. grade).
    width : float, optional
        Instead of ``rank_by``: rank each respondent within a sliding covariate window of
        this width (same units as the covariate), e.g. 2 years.
    min_cell : int
        Ranking groups with fewer cases get a :class:`SmallCellWarning`.
    k, t, r2_target, max_terms
        Polynomial degrees and stop rules, see :func:`fit_model`.

    Returns
    -------
    NormTable
        ``kind: continuous`` with ``covariate``, the factor as a group variable, and one
        monotone :class:`ContinuousModel` per scale.

    Raises
    ------
    ValueError
        More than one factor, neither ranking groups nor width for a covariate with many
        values, or a model that cannot be fitted.
    """
    mapping = dict(by) if isinstance(by, Mapping) else list(by)
    if len(mapping) > 1:
        raise ValueError("continuous norms take at most one factor in by (e.g. sex); the "
                         "covariate carries age or grade")
    if rank_by is not None and width is not None:
        raise ValueError("give rank_by or width, not both")
    var, _, col = covariate.partition("=")
    col = (col or var).strip()
    cov_id = var.strip() if _ID.match(var.strip()) else "age"
    sample = reference_sample(scores, by, instrument=instrument, groups=groups, scales=scales,
                              covariate=col)
    source = scores if groups is None else groups
    strata_base, ranking = _ranking_groups(sample, source, col, rank_by, width)
    meta = TableMeta(table_id, "1", name, population, year, collected, citation)
    return _build_continuous(sample, cov_id, strata_base, ranking, width, min_cell,
                             dict(k=k, t=t, r2_target=r2_target, max_terms=max_terms), meta,
                             explicit=scales is not None)


def _ranking_groups(sample: ReferenceSample, source: pd.DataFrame, covariate: str,
                    rank_by: str | None, width: float | None
                    ) -> tuple[np.ndarray, str]:
    cov = sample.covariate
    if cov is None:  # fit_continuous always builds the sample with a covariate
        raise ValueError("continuous norming needs a covariate column (age or grade)")
    if width is not None:
        if width <= 0:
            raise ValueError(f"width must be > 0; got {width}")
        return (np.full(cov.shape, "", dtype=object),
                f"sliding window of width {width:g} on {covariate}")
    if rank_by is not None:
        if rank_by not in source.columns:
            raise KeyError(f"ranking column {rank_by!r} not found")
        values = source[rank_by].astype(object).where(source[rank_by].notna(), None)
        return values.to_numpy(dtype=object), f"within groups of {rank_by}"
    distinct = np.unique(cov[~np.isnan(cov)])
    if distinct.size > MAX_RANK_VALUES:
        raise ValueError(f"{covariate!r} has {distinct.size} distinct values: give rank_by "
                         "(a column of ranking groups, e.g. an age band) or width (a sliding "
                         "window, e.g. width=2 years)")
    return np.array([None if np.isnan(c) else f"{c:g}" for c in cov], dtype=object), \
        f"within each value of {covariate}"


def _build_continuous(sample: ReferenceSample, cov_id: str, strata_base: np.ndarray,
                      ranking: str, width: float | None, min_cell: int,
                      opts: dict[str, Any], meta: TableMeta, explicit: bool = False
                      ) -> NormTable:
    inst = sample.instrument
    cov = sample.covariate
    if cov is None:  # fit_continuous always builds the sample with a covariate
        raise ValueError("continuous norming needs a covariate column (age or grade)")
    factor = sample.variables[0] if sample.variables else None
    level = (sample.keys[factor.id].to_numpy(dtype=object) if factor is not None else None)
    ok = sample.complete_groups & pd.notna(strata_base)
    if factor is not None:
        ranking += f" x {factor.id}"
        strata = np.array([f"{s}|{lv}" for s, lv in zip(strata_base, level, strict=True)],
                          dtype=object)
    else:
        strata = strata_base
    ranking += "; mid-point percentile rank -> normal score (rankit)"
    if width is None:
        sizes = pd.Series(strata[ok]).value_counts()
        small = sizes[sizes < min_cell]
        if len(small):
            warnings.warn(f"{len(small)} ranking group(s) under min_cell = {min_cell}: "
                          + ", ".join(f"{k} n={v}" for k, v in small.head(10).items()),
                          SmallCellWarning, stacklevel=3)
    norms: dict[str, ScaleNorm] = {}
    n_used = 0
    for sid in sample.scales:
        raw = sample.scores[sid].to_numpy(dtype=float)
        raw = np.where(ok, raw, np.nan)
        loc = location_scores(raw, strata, cov, width)
        try:
            model = fit_model(raw, loc, cov, level,
                              factor=None if factor is None else factor.id, ranking=ranking,
                              **opts)
        except ValueError as exc:
            if explicit:
                raise ValueError(f"{inst.id}.{sid}: {exc}") from None
            warnings.warn(f"{inst.id}.{sid}: {exc}; scale left out of the table",
                          NormWarning, stacklevel=3)
            continue
        n_used = max(n_used, model.n or 0)
        norms[sid] = ScaleNorm(metric=metric_of(inst, inst.scale(sid)), model=model)
    if not norms:
        raise ValueError(f"no scale of {inst.id} could be normed continuously")
    notes = (f"Continuous norms fitted with xinli-screen {__version__}: {ranking}; raw score "
             f"= polynomial in L (<= {opts['k']}) and {cov_id} (<= {opts['t']})"
             + (f" with {factor.id} dummy terms" if factor is not None else "")
             + f", forward selection to adjusted R2 {opts['r2_target']}, monotone in L.")
    if meta.notes:
        notes = f"{meta.notes}\n{notes}"
    return NormTable(
        id=meta.table_id or f"{inst.id}_continuous",
        version=meta.version,
        instrument=inst.id,
        instrument_version=inst.version,
        name=meta.name_model(inst, "continuous"),
        kind="continuous",
        citation=meta.citation_model(n_used),
        population=meta.population_model(),
        year=meta.year_value(),
        collected=meta.collected,
        sample_size=max(n_used, 1),
        group_variables=(factor,) if factor is not None else (),
        covariate=Covariate(id=cov_id, unit=None),
        min_cell=min_cell,
        scales=norms,
        notes=notes,
    )


# --------------------------------------------------------------------------- validation


def agreement(reference: Any, other: Any, by: pd.Series | None = None) -> pd.DataFrame:
    """Agreement of two sets of T scores for the same respondents (e.g. continuous vs group-wise).

    Parameters
    ----------
    reference, other : array_like, shape (n,)
        T scores (NaN rows are left out pairwise).
    by : Series, optional
        Group label per row; adds one row per group.

    Returns
    -------
    DataFrame
        Index ``"all"`` (and each group); columns ``n``, ``mean_abs_diff`` (mean
        ``|other - reference|``, T points), ``rmsd``, ``max_abs_diff``, ``bias`` (mean
        ``other - reference``), ``r`` (Pearson), ``within_2`` and ``within_5`` (share of rows
        whose T differs by at most 2 / 5 points).
    """
    ref = np.asarray(reference, dtype=float)
    oth = np.asarray(other, dtype=float)
    ok = ~(np.isnan(ref) | np.isnan(oth))
    labels = [("all", ok)]
    if by is not None:
        b = np.asarray(by, dtype=object)
        labels += [(str(g), ok & (b == g)) for g in pd.unique(b[ok])]
    rows = {}
    for label, m in labels:
        d = oth[m] - ref[m]
        if d.size == 0:
            continue
        r = float(np.corrcoef(ref[m], oth[m])[0, 1]) if d.size > 2 else float("nan")
        rows[label] = {"n": int(d.size), "mean_abs_diff": float(np.mean(np.abs(d))),
                       "rmsd": float(np.sqrt(np.mean(d ** 2))),
                       "max_abs_diff": float(np.max(np.abs(d))), "bias": float(np.mean(d)),
                       "r": r, "within_2": float(np.mean(np.abs(d) <= 2)),
                       "within_5": float(np.mean(np.abs(d) <= 5))}
    return pd.DataFrame.from_dict(rows, orient="index")
