r"""Apply a norm table to scale scores: z, T, percentile rank, stanine, sten, with a status.

Takes exactly the wide score table :func:`xinli_screen.score_instrument` returns and a table of
group columns already named like the norm table's variables (see
:func:`~xinli_screen.norms.map_groups`). Nothing is clipped silently and no respondent is
normed against a group that is not theirs: every row gets a ``norm_status``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from xinli_screen.instrument.models import Instrument
from xinli_screen.instrument.registry import load_instrument
from xinli_screen.norms.continuous import locate
from xinli_screen.norms.errors import NormMismatchError, NormWarning
from xinli_screen.norms.loader import load_norms
from xinli_screen.norms.models import NormTable, ScaleNorm, metric_problems
from xinli_screen.norms.standard import (
    linear_t,
    normalised_z,
    percentile_from_points,
    percentile_from_z,
    stanine,
    sten,
    z_score,
)
from xinli_screen.norms.vocabulary import match_levels, normalise_text, standard_variable

__all__ = ["NORM_STATUSES", "apply_norms"]

#: Norm statuses, most serious first; the instrument-level status is the first that any
#: normed scale of the row has.
NORM_STATUSES = ("no_norm_group", "group_not_covered", "beyond_norms", "unscored", "ok")

_NO_GROUP, _NOT_COVERED = -2, -1


def apply_norms(
    scores: pd.DataFrame,
    instrument: str | Path | Instrument,
    table: str | Path | NormTable,
    groups: pd.DataFrame | None = None,
) -> pd.DataFrame:
    r"""Norm-referenced scores of every normed scale, with the norm group and a status.

    Parameters
    ----------
    scores : DataFrame, shape (n_respondents, ...)
        The table :func:`xinli_screen.score_instrument` returns (columns
        ``{instrument}.{scale}``, raw-score points, NaN = unscored). Other columns are ignored.
    instrument : str, Path or Instrument
        The instrument the scores belong to.
    table : str, Path or NormTable
        Bundled norm-table id, YAML path, or a table (e.g. from :func:`~xinli_screen.norms.fit`).
    groups : DataFrame, shape (n_respondents, n_variables), optional
        One column per group variable of the table (and the covariate of a continuous table),
        named by the variable id, holding level codes (``"female"``, ``"7"``); raw spellings
        (``女``, ``初一``) are matched too. Same index as ``scores`` (or same length, read by
        position). Not needed when the table has no group variables.

    Returns
    -------
    DataFrame, index of ``scores``
        Per normed scale ``{instrument}.{scale}``:

        - ``.z`` (float): z score (linear for mean/SD tables, normalised for percentile and
          continuous tables).
        - ``.t`` (float): T score, mean 50, SD 10 in the norm group. Mean/SD tables give the
          **linear** T, :math:`50 + 10 (x - \bar{x})/s`; percentile and continuous tables
          give the **normalised** T, :math:`50 + 10\,\Phi^{-1}(PR/100)`.
        - ``.percentile`` (float, 0-100): percentile rank; mid-point definition for tables
          built from samples, :math:`100\,\Phi(z)` for mean/SD tables (normality assumed).
        - ``.stanine`` (Int64, 1-9) and ``.sten`` (Int64, 1-10), from ``.z``.
        - ``.norm_status`` (str): ``ok``, ``beyond_norms``, ``unscored``,
          ``group_not_covered``, ``no_norm_group``.

        And per instrument: ``{instrument}.norm_group`` (str, e.g. ``"sex=female, grade=7"``,
        ``"all"``, missing when no group applies), ``{instrument}.norm_status`` (the most
        serious scale status, in the order of :data:`NORM_STATUSES`) and
        ``{instrument}.norm_table`` (``id@version`` of the table used).

    Raises
    ------
    NormMismatchError
        The table is for another instrument, names a scale the instrument lacks, or its
        metric differs from the instrument's scoring rule (a mean-score norm applied to sum
        scores, 1-5 versus 0-4 coding): refused, with every reason.
    KeyError
        A score column or a group column is absent.
    ValueError
        ``groups`` does not line up with ``scores``.

    Warns
    -----
    NormWarning
        The table was built for another version of the instrument.

    Notes
    -----
    Statuses. ``unscored``: the scale score is missing (all standard scores NaN).
    ``no_norm_group``: a group value (or the covariate) is missing or not recognised.
    ``group_not_covered``: the respondent's group has no cell for this scale, or the
    covariate lies outside a continuous model's range; no norm of another group is used.
    ``beyond_norms``: the raw score lies outside the range observed in the norm sample (the
    cell's ``min``/``max``; the first/last row of a percentile table; the location range of
    a continuous model). Mean/SD tables still give the unclipped z and T; percentile and
    continuous tables cannot say more than the extreme row, so their values are then bounds
    (the true percentile is at least / at most the one shown). Stanine and sten are open-ended
    bands (1 and 9, 1 and 10) by definition.

    Examples
    --------
    >>> import pandas as pd, xinli_screen as xs
    >>> from xinli_screen.norms import apply_norms
    >>> cesd = xs.load_instrument("cesd")
    >>> scores = pd.DataFrame({"cesd.total": [13.24, 23.57, None]})
    >>> out = apply_norms(scores, cesd, "cesd_zhang2010_urban")
    >>> out["cesd.total.t"].round(1).tolist(), out["cesd.norm_status"].tolist()
    ([50.0, 60.0, nan], ['ok', 'ok', 'unscored'])
    """
    inst = instrument if isinstance(instrument, Instrument) else load_instrument(instrument)
    norms = table if isinstance(table, NormTable) else load_norms(table)
    problems = metric_problems(norms, inst)
    if problems:
        raise NormMismatchError(problems)
    if norms.instrument_version and norms.instrument_version != inst.version:
        warnings.warn(f"norm table {norms.label} was built for {inst.id} v"
                      f"{norms.instrument_version}; the scores are from v{inst.version}",
                      NormWarning, stacklevel=2)
    n = len(scores)
    grp = _aligned_groups(scores, norms, groups)
    cell_of, label, covariate = _row_cells(norms, grp, n)
    out: dict[str, object] = {}
    worst = np.full(n, len(NORM_STATUSES) - 1)
    for sid, norm in norms.scales.items():
        col = f"{inst.id}.{sid}"
        if col not in scores.columns:
            raise KeyError(f"score column {col!r} not found; pass the table score_instrument "
                           "returns")
        raw = pd.to_numeric(scores[col], errors="coerce").to_numpy(dtype=float)
        res = _scale(norms, norm, raw, cell_of[sid], grp, covariate)
        for key in ("z", "t", "percentile"):
            out[f"{col}.{key}"] = res[key]
        for key in ("stanine", "sten"):
            vals = res[key]
            out[f"{col}.{key}"] = pd.array(np.where(np.isnan(vals), None, vals),
                                           dtype="Int64")
        status = res["status"]
        out[f"{col}.norm_status"] = status
        rank = pd.Categorical(status, categories=NORM_STATUSES).codes.astype(int)
        worst = np.minimum(worst, rank)
    out[f"{inst.id}.norm_group"] = label
    out[f"{inst.id}.norm_status"] = np.array(NORM_STATUSES, dtype=object)[worst]
    out[f"{inst.id}.norm_table"] = np.full(n, norms.label, dtype=object)
    return pd.DataFrame(out, index=scores.index)


def _aligned_groups(scores: pd.DataFrame, norms: NormTable,
                    groups: pd.DataFrame | None) -> pd.DataFrame:
    needed = list(norms.variable_ids)
    if not needed:
        return pd.DataFrame(index=range(len(scores)))
    if groups is None:
        raise KeyError(f"norm table {norms.label} needs group column(s) {needed}: pass groups= "
                       "(see xinli_screen.norms.map_groups)")
    absent = [v for v in needed if v not in groups.columns]
    if absent:
        raise KeyError(f"groups lack column(s) {absent} needed by norm table {norms.label}; "
                       "name the columns by variable id (map_groups does this)")
    if len(groups) != len(scores):
        raise ValueError(f"groups has {len(groups)} rows, scores {len(scores)}: they must "
                         "describe the same respondents")
    if not groups.index.equals(scores.index):
        groups = groups.reset_index(drop=True)
    return groups.reset_index(drop=True)


def _variable_keys(norms: NormTable, grp: pd.DataFrame, n: int
                   ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Level key per row and variable; masks of rows with no group / an uncovered group."""
    keys, missing, uncovered = [], np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    for var in norms.group_variables:
        values = grp[var.id].to_numpy(dtype=object)
        k = match_levels(values, var)
        unmatched = pd.isna(k)
        std = standard_variable(var.id)
        if std is not None:  # grade 10 against a table of grades 7-9: a real, uncovered group
            known = pd.notna(match_levels(values, std))
        else:  # any present value is taken as a group the table does not have
            known = pd.notna(pd.Series(values).map(normalise_text)).to_numpy()
        uncovered |= unmatched & known
        missing |= unmatched & ~known
        keys.append(k)
    return keys, missing, uncovered & ~missing


def _row_cells(norms: NormTable, grp: pd.DataFrame, n: int
               ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray | None]:
    """Per scale: cell index of each row (-2 no group value, -1 not covered); group labels."""
    keys, missing, uncovered = _variable_keys(norms, grp, n)
    covariate = None
    if norms.covariate is not None:
        covariate = pd.to_numeric(grp[norms.covariate.id], errors="coerce").to_numpy(
            dtype=float)
        missing |= np.isnan(covariate)
    var_ids = [v.id for v in norms.group_variables]
    parts = [np.array([f"{v}={x}" if isinstance(x, str) else f"{v}=?" for x in k],
                      dtype=object) for v, k in zip(var_ids, keys, strict=True)]
    if covariate is not None:
        cov_id = norms.covariate.id  # type: ignore[union-attr]
        parts.append(np.array([f"{cov_id}={c:g}" for c in covariate], dtype=object))
    label = (np.array([", ".join(p) for p in zip(*parts, strict=True)], dtype=object) if parts
             else np.full(n, "all", dtype=object))
    label = np.where(missing | uncovered, None, label)
    combos = zip(*keys, strict=True) if keys else iter([()] * n)
    row_key = pd.Series(["\x1f".join(f"{v}={x}" for v, x in
                                     sorted(zip(var_ids, combo, strict=True)))
                         for combo in combos], dtype=object)
    cell_of: dict[str, np.ndarray] = {}
    for sid, norm in norms.scales.items():
        if norms.kind == "continuous":
            idx = np.zeros(n, dtype=int)
        else:
            lookup = {"\x1f".join(f"{v}={x}" for v, x in c.key): i
                      for i, c in enumerate(norm.cells)}
            idx = row_key.map(lookup).fillna(_NOT_COVERED).to_numpy(dtype=int, copy=True)
        idx[uncovered] = _NOT_COVERED
        idx[missing] = _NO_GROUP
        cell_of[sid] = idx
    return cell_of, label, covariate


def _scale(norms: NormTable, norm: ScaleNorm, raw: np.ndarray, idx: np.ndarray,
           grp: pd.DataFrame, covariate: np.ndarray | None) -> dict[str, np.ndarray]:
    n = raw.size
    z = np.full(n, np.nan)
    pr = np.full(n, np.nan)
    beyond = np.zeros(n, dtype=bool)
    linear = norms.kind == "mean_sd"
    covered = idx >= 0
    if norms.kind == "continuous":
        model = norm.model
        if model is None or covariate is None:  # guaranteed by the table checks
            raise NormMismatchError(
                [f"continuous norm {norms.id!r} lacks its model or covariate"])
        level = None
        if model.factor is not None:
            level = match_levels(grp[model.factor].to_numpy(dtype=object),
                                 norms.variable(model.factor))
            known = {lv.key for lv in norms.variable(model.factor).levels}
            covered &= np.array([lv in known for lv in level])
        with np.errstate(invalid="ignore"):
            in_range = (covariate >= model.covariate_min) & (covariate <= model.covariate_max)
        not_cov = covered & ~in_range
        idx = np.where(not_cov | ((idx >= 0) & ~covered), _NOT_COVERED, idx)
        covered &= in_range
        rows = np.flatnonzero(covered)
        zz, bb = locate(model, raw[rows], covariate[rows],
                        None if level is None else level[rows])
        z[rows], beyond[rows] = zz, bb
        pr[rows] = percentile_from_z(zz)
    elif linear:
        means = np.array([c.mean for c in norm.cells] + [np.nan], dtype=float)
        sds = np.array([c.sd for c in norm.cells] + [np.nan], dtype=float)
        los = np.array([-np.inf if c.min is None else c.min for c in norm.cells] + [np.nan])
        his = np.array([np.inf if c.max is None else c.max for c in norm.cells] + [np.nan])
        take = np.where(covered, idx, len(norm.cells))
        z = z_score(raw, means[take], sds[take])
        pr = percentile_from_z(z)
        with np.errstate(invalid="ignore"):
            beyond = covered & ((raw < los[take]) | (raw > his[take]))
    else:
        for i, cell in enumerate(norm.cells):
            rows = np.flatnonzero(idx == i)
            if rows.size == 0:
                continue
            p, b = percentile_from_points(cell.points, raw[rows])
            pr[rows], beyond[rows] = p, b
            if cell.min is not None and cell.max is not None:
                with np.errstate(invalid="ignore"):
                    beyond[rows] |= (raw[rows] < cell.min) | (raw[rows] > cell.max)
        z = normalised_z(pr)
    unscored = np.isnan(raw)
    z = np.where(covered & ~unscored, z, np.nan)
    pr = np.where(covered & ~unscored, pr, np.nan)
    status = np.full(n, "ok", dtype=object)
    status[beyond & ~unscored] = "beyond_norms"
    status[unscored] = "unscored"
    status[idx == _NOT_COVERED] = "group_not_covered"
    status[idx == _NO_GROUP] = "no_norm_group"
    return {"z": z, "t": linear_t(z), "percentile": pr, "stanine": stanine(z),
            "sten": sten(z), "status": status}
