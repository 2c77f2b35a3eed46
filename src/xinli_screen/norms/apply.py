r"""Apply a norm table to scale scores: z, T, percentile rank, stanine, sten, with a status.

Takes exactly the wide score table :func:`xinli_screen.score_instrument` returns and a table of
group columns already named like the norm table's variables (see
:func:`~xinli_screen.norms.map_groups`). Nothing is clipped silently and no respondent is
normed against a group that is not theirs: every row gets a ``norm_status``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from xinli_screen._text import TEXT_DTYPE, decode_text
from xinli_screen.instrument.models import Instrument
from xinli_screen.instrument.registry import load_instrument
from xinli_screen.norms.continuous import locate
from xinli_screen.norms.errors import NormMismatchError, NormWarning
from xinli_screen.norms.loader import load_norms
from xinli_screen.norms.models import GroupVariable, NormTable, ScaleNorm, metric_problems
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

_STATUS = {status: code for code, status in enumerate(NORM_STATUSES)}
#: Cell index of a row with no norm group / with a group the table does not cover.
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
        (``女``, ``初一``) are matched too. Rows are matched by index label when both tables
        carry the same unique labels (in any order), otherwise by position (same length).
        Not needed when the table has no group variables.

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

    Computation. Group values are matched to levels once per distinct value, and mean/SD and
    percentile tables are evaluated once per distinct (norm cell, raw score) pair, then
    expanded to the rows by array look-ups; text columns are built by Arrow from codes. The
    cost per row is a few array passes per scale (10 scales x 10^6 respondents: about 0.2 s
    of CPU). Continuous tables locate every scored row (the covariate is continuous).

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
    rows = _row_groups(norms, _aligned_groups(scores, norms, groups), n)
    out: dict[str, object] = {}
    worst = np.full(n, _STATUS["ok"], dtype=np.int8)
    for sid, norm in norms.scales.items():
        col = f"{inst.id}.{sid}"
        if col not in scores.columns:
            raise KeyError(f"score column {col!r} not found; pass the table score_instrument "
                           "returns")
        column = scores[col]
        raw = (column.to_numpy() if column.dtype == np.float64  # a read-only view, no copy
               else pd.to_numeric(column, errors="coerce").to_numpy(dtype=float))
        res = _scale(norms, norm, raw, rows)
        out.update({f"{col}.{key}": value for key, value in res.items() if key != "status"})
        status = res["status"]
        out[f"{col}.norm_status"] = decode_text(status, NORM_STATUSES)
        np.minimum(worst, status, out=worst)
    out[f"{inst.id}.norm_group"] = (decode_text(rows.group, rows.labels)
                                    if isinstance(rows.group, np.ndarray)
                                    else _constant_text("all", n))
    out[f"{inst.id}.norm_status"] = decode_text(worst, NORM_STATUSES)
    out[f"{inst.id}.norm_table"] = _constant_text(norms.label, n)
    return pd.DataFrame(out, index=scores.index, copy=False)


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
    if (not groups.index.equals(scores.index) and groups.index.is_unique
            and scores.index.is_unique and groups.index.sort_values().equals(
                scores.index.sort_values())):
        groups = groups.reindex(scores.index)  # the same labels in another order: by label
    return groups.reset_index(drop=True)


class _Rows(NamedTuple):
    """The norm group of every row, as codes into the few distinct groups present.

    ``group`` (int, shape (n,)): index into ``keys``/``labels``, whose first two entries
    (key and label None) stand for "no group" (a value is missing or not recognised) and "not
    covered" (a real group the table lacks); the int 2 when the table has no group variables
    (every row is in the one group ``"all"``). ``keys``: sorted (variable, level key) pairs of
    each group, as :attr:`~xinli_screen.norms.models.Cell.key`. ``labels``:
    ``"sex=female, grade=7"`` (the covariate value appended for continuous tables).
    ``levels``: per group variable, the level index of each row (-1: not matched).
    ``covariate``: continuous tables' covariate per row (NaN: missing), else None.
    """

    group: np.ndarray | int
    keys: list[tuple[tuple[str, str], ...] | None]
    labels: list[str | None]
    levels: dict[str, np.ndarray]
    covariate: np.ndarray | None


def _match_variable(values: pd.Series, variable: GroupVariable
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Level index of each row (-1: not matched) and whether its value names some group.

    Raw values are factorised first, so spellings are matched once per distinct value. A value
    that matches no level of ``variable`` still names a group when it is a level of the
    standard variable of that id (grade 10 against a table of grades 7-9), or, for other
    variables, when it is present at all.
    """
    codes, uniques = pd.factorize(values)
    keys = match_levels(uniques, variable)
    position = {lev.key: i for i, lev in enumerate(variable.levels)}
    level = np.array([*(position.get(k, -1) for k in keys), -1], dtype=np.intp)
    std = standard_variable(variable.id)
    if std is not None:
        named = pd.notna(match_levels(uniques, std))
    else:
        named = np.array([normalise_text(u) is not None for u in uniques], dtype=bool)
    present = np.append(named, False)[codes]  # code -1 (a missing value) takes the last entry
    return level[codes], present


def _row_groups(norms: NormTable, grp: pd.DataFrame, n: int) -> _Rows:
    """Match every row's group values and code the distinct norm groups present."""
    missing, uncovered = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    levels: dict[str, np.ndarray] = {}
    key, radix = np.zeros(n, dtype=np.int64), 1
    for var in norms.group_variables:
        level, present = _match_variable(grp[var.id], var)
        uncovered |= (level < 0) & present
        missing |= (level < 0) & ~present
        levels[var.id] = level
        key += np.maximum(level, 0) * radix  # unmatched rows get no group: any digit does
        radix *= len(var.levels)
    covariate, cov_values = None, np.empty(0)
    if norms.covariate is not None:
        covariate = pd.to_numeric(grp[norms.covariate.id], errors="coerce").to_numpy(
            dtype=float)
        missing |= np.isnan(covariate)
        cov_codes, bits = pd.factorize(covariate.view(np.int64))  # bits: -0.0 is not 0.0
        key += cov_codes * radix
        cov_values = bits.view(np.float64)
    if not norms.group_variables and covariate is None:
        return _Rows(2, [None, None, ()], [None, None, "all"], levels, None)
    group, combos = pd.factorize(key)
    keys: list[tuple[tuple[str, str], ...] | None] = [None, None]
    labels: list[str | None] = [None, None]
    for code in combos.tolist():  # mixed radix: one digit per variable, then the covariate
        pairs = []
        for var in norms.group_variables:
            code, digit = divmod(code, len(var.levels))
            pairs.append((var.id, var.levels[digit].key))
        parts = [f"{v}={x}" for v, x in pairs]
        if norms.covariate is not None:
            parts.append(f"{norms.covariate.id}={cov_values[code]:g}")
        keys.append(tuple(sorted(pairs)))
        labels.append(", ".join(parts) if parts else "all")
    group += 2
    group[uncovered] = 1
    group[missing] = 0
    return _Rows(group, keys, labels, levels, covariate)


def _scale(norms: NormTable, norm: ScaleNorm, raw: np.ndarray, rows: _Rows
           ) -> dict[str, np.ndarray | pd.api.extensions.ExtensionArray]:
    """Standard scores and status of one scale.

    Returns
    -------
    dict
        ``z``, ``t``, ``percentile`` (float ndarray, shape (n,)), ``stanine``, ``sten``
        (Int64 arrays) and ``status`` (int8 ndarray: index into :data:`NORM_STATUSES`).
        Mean/SD and percentile tables are evaluated once per distinct (norm group, raw
        score) pair and expanded to the rows; continuous tables row by row.
    """
    if norms.kind == "continuous":  # one model for all groups (a factor level is a term)
        cells = [0] * (len(rows.keys) - 2)
    else:
        lookup = {c.key: i for i, c in enumerate(norm.cells)}
        cells = [lookup.get(k, _NOT_COVERED) for k in rows.keys[2:]]
    cell_of = np.array([_NO_GROUP, _NOT_COVERED, *cells], dtype=np.intp)  # per group
    state: np.ndarray | None = None
    if norms.kind == "continuous":
        idx, z, pr, beyond = _continuous(norms, norm, raw, cell_of[rows.group], rows)
        x = raw
    else:
        state, group, x = _pairs(rows.group, raw, cell_of.size)
        idx = cell_of[group]
        table = _mean_sd if norms.kind == "mean_sd" else _percentile
        z, pr, beyond = table(norm, idx, x)
    unscored = np.isnan(x)
    keep = (idx >= 0) & ~unscored
    z = np.where(keep, z, np.nan)
    pr = np.where(keep, pr, np.nan)
    status = np.full(x.size, _STATUS["ok"], dtype=np.int8)
    status[beyond & ~unscored] = _STATUS["beyond_norms"]
    status[unscored] = _STATUS["unscored"]
    status[idx == _NOT_COVERED] = _STATUS["group_not_covered"]
    status[idx == _NO_GROUP] = _STATUS["no_norm_group"]
    unknown = np.isnan(z)  # stanine and sten are NaN exactly where z is
    out: dict[str, np.ndarray] = {
        "z": z, "t": linear_t(z), "percentile": pr,
        "stanine": np.where(unknown, 0.0, stanine(z)).astype(np.int64),
        "sten": np.where(unknown, 0.0, sten(z)).astype(np.int64), "status": status}
    if state is not None:
        out = {key: np.take(value, state) for key, value in out.items()}
    unknown = np.isnan(out["z"])
    res: dict[str, np.ndarray | pd.api.extensions.ExtensionArray] = dict(out)
    res["stanine"] = pd.arrays.IntegerArray(out["stanine"], unknown)
    res["sten"] = pd.arrays.IntegerArray(out["sten"], unknown.copy())
    return res


def _pairs(group: np.ndarray | int, raw: np.ndarray, n_groups: int
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (norm group, raw score) pairs of the rows.

    Parameters
    ----------
    group : ndarray of int, shape (n,), or int
        Group of each row (:attr:`_Rows.group`); one int for all rows when the table has no
        group variables.
    raw : ndarray of float, shape (n,)
        Raw scores (NaN: unscored).
    n_groups : int
        Number of groups (``group`` < ``n_groups``).

    Returns
    -------
    (state, group, score)
        ``state`` (int, shape (n,)): each row's pair; ``group`` and ``score`` (shape
        (n_pairs,)): the group and raw score of each pair. Rows are coded
        ``group * (n_scores + 1) + score code + 1``: used as is when the grid of all pairs is
        not larger than the data, else factorised to the pairs present.
    """
    key, values = _score_codes(raw)
    width = values.size + 1
    key += 1
    key += group * width
    if n_groups * width <= raw.size:
        state, pairs = key, np.arange(n_groups * width)
    else:
        state, pairs = pd.factorize(key)
    return state, pairs // width, np.append(np.nan, values)[pairs % width]


def _score_codes(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Code of each raw score into a table of scores, and the table.

    Returns
    -------
    (codes, values)
        ``codes`` (int, shape (n,)): ``values[codes]`` is exactly ``raw``; -1 where ``raw``
        is NaN. Scores a whole number above the lowest score (sum scores) are coded by that
        number, without hashing, when the range is no wider than the data; the others
        (prorated or mean scores) are factorised. ``values`` may hold a score twice.
    """
    lo = np.fmin.reduce(raw) if raw.size else np.nan
    hi = np.fmax.reduce(raw) if raw.size else np.nan
    if not (np.isfinite(lo) and np.isfinite(hi) and hi - lo < raw.size):
        return pd.factorize(raw)
    whole = raw - lo
    np.trunc(whole, out=whole)
    with np.errstate(invalid="ignore"):  # NaN casts to an arbitrary int, replaced below
        codes = whole.astype(np.intp)
    values = np.arange(int(hi - lo) + 1) + lo
    whole += lo  # values[codes], computed the same way
    other = np.flatnonzero(whole != raw)  # missing, or values[code] is not exactly raw
    if other.size:
        extra, extra_values = pd.factorize(raw[other])
        codes[other] = np.where(extra < 0, -1, extra + values.size)
        values = np.concatenate([values, extra_values])
    return codes, values


def _mean_sd(norm: ScaleNorm, idx: np.ndarray, x: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear z, percentile :math:`100\\,\\Phi(z)` and the beyond-range flag (idx >= 0: cell)."""
    means = np.array([c.mean for c in norm.cells] + [np.nan], dtype=float)
    sds = np.array([c.sd for c in norm.cells] + [np.nan], dtype=float)
    los = np.array([-np.inf if c.min is None else c.min for c in norm.cells] + [np.nan])
    his = np.array([np.inf if c.max is None else c.max for c in norm.cells] + [np.nan])
    covered = idx >= 0
    take = np.where(covered, idx, len(norm.cells))
    z = z_score(x, means[take], sds[take])
    with np.errstate(invalid="ignore"):
        beyond = covered & ((x < los[take]) | (x > his[take]))
    return z, percentile_from_z(z), beyond


def _percentile(norm: ScaleNorm, idx: np.ndarray, x: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised z, interpolated percentile rank and the beyond-range flag, cell by cell."""
    pr = np.full(x.size, np.nan)
    beyond = np.zeros(x.size, dtype=bool)
    order = np.argsort(idx, kind="stable")
    bounds = np.searchsorted(idx[order], np.arange(len(norm.cells) + 1))
    for i, cell in enumerate(norm.cells):
        rows = order[bounds[i]:bounds[i + 1]]
        if rows.size == 0:
            continue
        p, b = percentile_from_points(cell.points, x[rows])
        pr[rows], beyond[rows] = p, b
        if cell.min is not None and cell.max is not None:
            with np.errstate(invalid="ignore"):
                beyond[rows] |= (x[rows] < cell.min) | (x[rows] > cell.max)
    return normalised_z(pr), pr, beyond


def _continuous(norms: NormTable, norm: ScaleNorm, raw: np.ndarray, idx: np.ndarray,
                rows: _Rows) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cell index (covariate out of range: not covered), location z, percentile, beyond."""
    model = norm.model
    covariate = rows.covariate
    if model is None or covariate is None:  # guaranteed by the table checks
        raise NormMismatchError([f"continuous norm {norms.id!r} lacks its model or covariate"])
    with np.errstate(invalid="ignore"):
        in_range = (covariate >= model.covariate_min) & (covariate <= model.covariate_max)
    idx = np.where((idx >= 0) & ~in_range, _NOT_COVERED, idx)
    z = np.full(raw.size, np.nan)
    pr = np.full(raw.size, np.nan)
    beyond = np.zeros(raw.size, dtype=bool)
    at = np.flatnonzero(idx >= 0)
    level = None
    if model.factor is not None:  # matched rows only: the others have no group
        keys = [lev.key for lev in norms.variable(model.factor).levels]
        level = np.array(keys, dtype=object)[rows.levels[model.factor][at]]
    zz, bb = locate(model, raw[at], covariate[at], level)
    z[at], beyond[at] = zz, bb
    pr[at] = percentile_from_z(zz)
    return idx, z, pr, beyond


def _constant_text(text: str, n: int, block: int = 1 << 16
                   ) -> pd.api.extensions.ExtensionArray:
    """``text`` in every one of ``n`` rows, as a pandas ``str`` array.

    Arrow chunks of ``block`` rows that all share one buffer: about 1 MB whatever ``n``.
    """
    import pyarrow as pa

    chunk = pa.repeat(pa.scalar(text, type=pa.large_string()), min(n, block))
    chunks = [chunk] * (n // block) + [chunk.slice(0, n % block)]
    return pd.array(pa.chunked_array(chunks, type=pa.large_string()), dtype=TEXT_DTYPE)
