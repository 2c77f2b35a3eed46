r"""Local norms: fit a norm table from a reference wave, and write it as YAML.

:func:`fit` groups the reference sample by the requested variables (sex, grade ...), computes
per cell and scale either the mean and SD (``kind="mean_sd"``) or the mid-point percentile rank
of every observed raw score (``kind="percentile"``), records the cell sizes and warns about
cells smaller than ``min_cell``. The result is a :class:`~xinli_screen.norms.NormTable` that
:func:`to_yaml` writes and :func:`~xinli_screen.norms.load_norms` reads back in later waves.
``kind="continuous"`` hands over to :func:`xinli_screen.norms.continuous.fit_continuous`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from xinli_screen import __version__
from xinli_screen.instrument.models import Instrument
from xinli_screen.norms.errors import NormWarning, SmallCellWarning
from xinli_screen.norms.models import Cell, NormTable, ScaleNorm, metric_of
from xinli_screen.norms.sample import ReferenceSample, TableMeta, reference_sample
from xinli_screen.norms.standard import percentile_ranks

__all__ = ["fit", "to_yaml", "yaml_text"]


def fit(
    scores: pd.DataFrame,
    by: Sequence[str] | Mapping[str, str] = (),
    *,
    instrument: str | Path | Instrument | None = None,
    groups: pd.DataFrame | None = None,
    scales: Sequence[str] | None = None,
    kind: Literal["mean_sd", "percentile", "continuous"] = "mean_sd",
    min_cell: int = 30,
    table_id: str | None = None,
    name: str | None = None,
    population: str | None = None,
    year: int | None = None,
    collected: str | None = None,
    citation: str | None = None,
    **continuous: Any,
) -> NormTable:
    r"""Fit a norm table from a reference wave.

    Parameters
    ----------
    scores : DataFrame, shape (n_respondents, ...)
        Wide score table of :func:`xinli_screen.score_instrument` (columns
        ``{instrument}.{scale}``, raw-score points); may also hold the group columns.
    by : sequence of str or mapping variable -> column
        Group variables, e.g. ``["sex", "grade"]`` or ``["sex=性别", "grade=年级"]``. Empty:
        one norm group (the whole sample). ``sex``, ``grade`` and ``urban_rural`` are matched
        with the standard aliases (``男``/``女``, ``初一``/``七年级``); other variables take
        their distinct values as levels.
    instrument : str, Path or Instrument, optional
        Needed for the metric of each scale; inferred from the column prefixes when the table
        holds one instrument.
    groups : DataFrame, optional
        Table holding the group columns (default ``scores``); same rows as ``scores``.
    scales : sequence of str, optional
        Scale ids to norm (default: every scale of the instrument with a score column).
    kind : {"mean_sd", "percentile", "continuous"}
        ``mean_sd``: mean and SD (ddof = 1) per cell, applied as linear T. ``percentile``:
        mid-point percentile rank of each observed raw score, applied as normalised T.
        ``continuous``: see :func:`~xinli_screen.norms.continuous.fit_continuous` (pass
        ``covariate=`` and optionally ``rank_by=``, ``width=`` as keywords).
    min_cell : int, default 30
        Cells with fewer scored respondents get a :class:`SmallCellWarning` (they are kept,
        with their n recorded; cells with fewer than 2 cases or zero SD are left out).
    table_id, name, population, year, collected, citation
        Descriptive fields of the table (defaults describe a local reference wave;
        ``year`` defaults to the current year).

    Returns
    -------
    NormTable
        ``kind`` as requested, one cell per observed combination of levels and scale, with
        ``n``, ``mean``, ``sd``, ``min``, ``max`` (and ``points`` for percentile tables).

    Raises
    ------
    KeyError, ValueError
        Score or group columns absent, no usable rows.

    Warns
    -----
    SmallCellWarning
        A cell has fewer than ``min_cell`` scored respondents.
    NormWarning
        Rows left out because a group value is missing or not recognised (count only).

    Notes
    -----
    Mean and SD use every scored respondent of the cell: :math:`\bar{x}`, :math:`s` with
    ddof = 1, so the linear T of the same sample has mean 50 and SD 10 exactly in every cell.
    Percentile points: for each distinct raw score :math:`x` in the cell,
    :math:`PR = 100 (n_{<x} + n_{=x}/2) / n` (mid-point definition, cNORM's rankit).
    Scores between two points are interpolated linearly when applied; scores outside
    ``[min, max]`` are flagged ``beyond_norms``.

    Examples
    --------
    >>> import pandas as pd, xinli_screen as xs
    >>> from xinli_screen.norms import fit
    >>> phq = xs.load_instrument("phq9")
    >>> answers = pd.DataFrame({f"phq9_{i:02d}": [0, 1, 2, 3] * 10 for i in range(1, 11)})
    >>> scores = xs.score_instrument(answers, phq)
    >>> table = fit(scores, instrument=phq, scales=["total"], min_cell=5)
    >>> table.scales["total"].cells[0].n, table.scales["total"].cells[0].mean
    (40, 13.5)
    """
    if kind == "continuous":
        from xinli_screen.norms.continuous import fit_continuous

        return fit_continuous(scores, by=by, instrument=instrument, groups=groups,
                              scales=scales, min_cell=min_cell, table_id=table_id, name=name,
                              population=population, year=year, collected=collected,
                              citation=citation, **continuous)
    if continuous:
        raise TypeError(f"unexpected keyword(s) {sorted(continuous)} for kind={kind!r}")
    if kind not in ("mean_sd", "percentile"):
        raise ValueError(f"the kind parameter of norms.fit must be 'mean_sd', 'percentile' or "
                         f"'continuous'; got {kind!r} instead")
    if min_cell < 1:
        raise ValueError(f"the min_cell parameter of norms.fit must be >= 1; got {min_cell}")
    sample = reference_sample(scores, by, instrument=instrument, groups=groups, scales=scales)
    meta = TableMeta(table_id, "1", name, population, year, collected, citation)
    return _build(sample, kind, min_cell, meta, explicit=scales is not None)


def _cell_stats(x: np.ndarray, kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {"n": int(x.size), "mean": float(np.mean(x)),
                           "sd": float(np.std(x, ddof=1)), "min": float(np.min(x)),
                           "max": float(np.max(x))}
    if kind == "percentile":
        values = np.unique(x)
        out["points"] = tuple((float(v), float(p))
                              for v, p in zip(values, percentile_ranks(x, values), strict=True))
    return out


def _build(sample: ReferenceSample, kind: str, min_cell: int, meta: TableMeta,
           explicit: bool = False) -> NormTable:
    inst = sample.instrument
    ok = sample.complete_groups
    dropped = int((~ok).sum())
    if dropped:
        warnings.warn(f"{dropped} row(s) left out of the norms: a group value is missing or "
                      "not recognised", NormWarning, stacklevel=3)
    var_ids = [v.id for v in sample.variables]
    combos = list(itertools.product(*[[lev.key for lev in v.levels]
                                      for v in sample.variables]))
    keys = sample.keys.to_numpy(dtype=object)
    scale_norms: dict[str, ScaleNorm] = {}
    small: list[str] = []
    used = np.zeros(len(sample.scores), dtype=bool)
    for sid in sample.scales:
        x_all = sample.scores[sid].to_numpy(dtype=float)
        scored = ok & ~np.isnan(x_all)
        cells = []
        for combo in combos:
            mask = scored.copy()
            for j, key in enumerate(combo):
                mask &= keys[:, j] == key
            x = x_all[mask]
            label = ", ".join(f"{v}={k}" for v, k in zip(var_ids, combo, strict=True)) or "all"
            if x.size < 2 or np.std(x) == 0:
                if x.size:
                    warnings.warn(f"{inst.id}.{sid} [{label}]: {x.size} case(s) with "
                                  f"{'one value' if x.size > 1 else 'one case'}; no norms "
                                  "for this cell", SmallCellWarning, stacklevel=3)
                continue
            used |= mask
            if x.size < min_cell:
                small.append(f"{sid} [{label}] n={x.size}")
            group = {v: _code(sample, v, k) for v, k in zip(var_ids, combo, strict=True)}
            cells.append(Cell(group=group, **_cell_stats(x, kind)))
        if not cells:
            message = (f"{inst.id}.{sid}: no norm cell has 2 or more scored cases with "
                       "different scores")
            if explicit:
                raise ValueError(message)
            warnings.warn(f"{message}; scale left out of the table", NormWarning, stacklevel=3)
            continue
        scale_norms[sid] = ScaleNorm(metric=metric_of(inst, inst.scale(sid)),
                                     cells=tuple(cells))
    if not scale_norms:
        raise ValueError(f"no scale of {inst.id} has enough scored cases for norms")
    if small:
        warnings.warn(f"{len(small)} norm cell(s) under min_cell = {min_cell}: "
                      + "; ".join(small[:10]) + (" ..." if len(small) > 10 else ""),
                      SmallCellWarning, stacklevel=3)
    n_total = int(used.sum())
    notes = (f"Fitted with xinli-screen {__version__} on {dt.date.today().isoformat()} from "
             f"{n_total} respondents; kind {kind}; min_cell {min_cell}"
             + (f"; {len(small)} cell(s) under min_cell: " + "; ".join(small) if small else "")
             + (f"; {dropped} row(s) without a usable group value left out" if dropped else "")
             + ".")
    if meta.notes:
        notes = f"{meta.notes}\n{notes}"
    return NormTable(
        id=meta.table_id or f"{inst.id}_local",
        version=meta.version,
        instrument=inst.id,
        instrument_version=inst.version,
        name=meta.name_model(inst, kind),
        kind=kind,  # type: ignore[arg-type]
        citation=meta.citation_model(n_total),
        population=meta.population_model(),
        year=meta.year_value(),
        collected=meta.collected,
        sample_size=max(n_total, 1),
        percentile_definition="mid_point",
        group_variables=tuple(sample.variables),
        min_cell=min_cell,
        scales=scale_norms,
        notes=notes,
    )


def _code(sample: ReferenceSample, var_id: str, key: str) -> int | str:
    for v in sample.variables:
        if v.id == var_id:
            return v.level(key).code
    raise KeyError(var_id)


class _Dumper(yaml.SafeDumper):
    """YAML dumper: short lists of scalars in flow style, block style otherwise."""


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = all(not isinstance(x, (list, dict)) for x in data) and len(data) <= 12
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_dict(dumper: yaml.SafeDumper, data: dict) -> yaml.Node:
    flow = (0 < len(data) <= 4 and all(not isinstance(x, (list, dict)) for x in data.values())
            and all(len(str(v)) < 24 for v in data.values()))
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)

_REQUIRED_NULLABLE = ("year", "sample_size")


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items()
                if k == "group" or not (v is None or v == {} or v == [])}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def yaml_text(table: NormTable) -> str:
    """The YAML text of a norm table (what :func:`to_yaml` writes), floats at full precision."""
    data = table.model_dump(mode="json")
    kept = {k: data[k] for k in _REQUIRED_NULLABLE}
    data = _prune(data)
    for k, v in kept.items():
        data.setdefault(k, v)
    ordered = {k: data[k] for k in NormTable.model_fields if k in data}
    header = (f"# Norm table {table.label} for instrument {table.instrument}, written by "
              f"xinli-screen {__version__}.\n# Check it with: xinli-screen norms show FILE "
              "(see docs/norms.md).\n")
    return header + yaml.dump(ordered, Dumper=_Dumper, allow_unicode=True, sort_keys=False,
                              width=100)


def to_yaml(table: NormTable, path: str | Path) -> Path:
    """Write a norm table as YAML (UTF-8) that :func:`~xinli_screen.norms.load_norms` reads.

    Floats are written at full precision, so the table read back equals ``table``.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    if path.suffix.lower() not in {".yaml", ".yml"}:
        raise ValueError(f"norm table file {path} must end in .yaml or .yml")
    path.write_text(yaml_text(table), encoding="utf-8")
    return path
