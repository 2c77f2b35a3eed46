"""Result objects of the sample-level analyses: JSON, tidy rows, HTML, and grouped runs.

:class:`ResultMixin` gives every result dataclass of :mod:`xinli_screen.reliability` and
:mod:`xinli_screen.factor` its ``to_dict`` / ``to_frame`` / ``_repr_html_``;
:class:`ScaleResults` collects one result per scale and group (re-exported by those modules);
:func:`run_sets` applies a statistic to every item set of a
:class:`xinli_screen._analysis.Prepared`, keeping failed groups visible as rows with their error.
"""

from __future__ import annotations

import dataclasses
import html
import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from xinli_screen._analysis import AnalysisError, InsufficientDataWarning, ItemSet, Prepared

__all__ = ["ResultMixin", "ScaleResults", "jsonable", "run_sets"]


def jsonable(value: Any) -> Any:
    """Plain JSON types: NaN -> None, numpy scalars -> Python, DataFrames -> list of records."""
    if isinstance(value, pd.DataFrame):
        return [{str(k): jsonable(v) for k, v in rec.items()}
                for rec in value.to_dict(orient="records")]
    if isinstance(value, pd.Series):
        return {str(k): jsonable(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return value.to_dict() if hasattr(value, "to_dict") else dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


class ResultMixin:
    """``to_dict`` (JSON-serialisable), ``to_frame`` (one tidy row) and ``_repr_html_``."""

    _title = "result"
    # fields left out of scalars() even though they hold scalars (e.g. the list of items)
    _not_scalars: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        """All fields as plain JSON types (NaN becomes None, tables become lists of records)."""
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def scalars(self) -> dict[str, Any]:
        """The scalar fields (numbers, strings, tuples of numbers), in declaration order."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name in self._not_scalars:
                continue
            v = getattr(self, f.name)
            if isinstance(v, (pd.DataFrame, pd.Series, np.ndarray, Mapping)):
                continue
            if isinstance(v, tuple) and any(isinstance(e, (tuple, list)) for e in v):
                continue
            out[f.name] = v
        return out

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame of the scalar fields (tuples such as ``ci`` become lists)."""
        row = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.scalars().items()}
        return pd.DataFrame([row])

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(_fmt(v))}"
            "</td></tr>" for k, v in self.scalars().items())
        parts = [f"<div><strong>{html.escape(self._title)}</strong>",
                 f"<table>{rows}</table>"]
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, pd.DataFrame) and len(v):
                parts.append(f"<p><em>{html.escape(f.name)}</em></p>")
                parts.append(v.to_html(index=False, float_format=lambda z: f"{z:.4f}",
                                       max_rows=60))
        parts.append("</div>")
        return "".join(parts)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "NaN" if math.isnan(v) else f"{v:.4f}"
    if isinstance(v, tuple):
        return "(" + ", ".join(_fmt(e) for e in v) + ")"
    return str(v)


@dataclass(frozen=True, eq=False)
class ScaleResults(ResultMixin):
    """Results of one analysis for several scales and/or groups.

    Returned instead of a single result whenever ``instrument`` or ``by`` is given.

    Attributes
    ----------
    statistic : str
        Name of the analysis, e.g. ``"cronbach_alpha"``.
    table : DataFrame
        Tidy: one row per (group, scale); columns ``group`` (when ``by`` was given, named
        after ``by`` in ``by``), ``scale`` (with an instrument), then the scalar fields of
        the single-scale result, and ``error`` (the reason a row is NaN, else None).
    results : dict
        Single results keyed by scale id, by group value, or by ``(group, scale)`` when both
        apply. Rows that failed are absent here and explained in ``table.error``.
    by : str or None
        The grouping column.
    instrument : str or None
        Instrument id.
    """

    statistic: str
    table: pd.DataFrame
    results: Mapping[Any, Any] = field(default_factory=dict)
    by: str | None = None
    instrument: str | None = None

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"{self.statistic}: {len(self.table)} row(s)"

    def __getitem__(self, key: Any) -> Any:
        return self.results[key]

    def plot(self) -> Any:
        """Cronbach's alpha with its confidence interval per scale and group (a forest plot).

        Only for results of :func:`~xinli_screen.reliability.cronbach_alpha`; returns a
        matplotlib Figure (:func:`xinli_screen.plotting.reliability`).
        """
        from xinli_screen.plotting import reliability

        return reliability(self)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def to_dict(self) -> dict[str, Any]:
        return {"statistic": self.statistic, "by": self.by, "instrument": self.instrument,
                "table": jsonable(self.table),
                "results": [{"key": jsonable(k), "result": jsonable(v)}
                            for k, v in self.results.items()]}

    def _repr_html_(self) -> str:
        return (f"<div><strong>{html.escape(self._title)}</strong>"
                + self.table.to_html(index=False, float_format=lambda z: f"{z:.4f}")
                + "</div>")


def set_head(prepared: Prepared, s: ItemSet) -> tuple[dict[str, Any], Any]:
    """Leading columns of a tidy row (``by`` column, ``scale``) and the key of the set."""
    head: dict[str, Any] = {}
    parts = []
    if prepared.by is not None:
        head[prepared.by] = s.group
        parts.append(s.group)
    if prepared.instrument is not None and s.scale is not None:
        head["scale"] = s.scale
        parts.append(s.scale)
    return head, (parts[0] if len(parts) == 1 else tuple(parts))


def warn_failed(statistic: str, s: ItemSet, exc: Exception) -> None:
    warnings.warn(InsufficientDataWarning(f"{statistic} for {s.label}: {exc}"), stacklevel=4)


def run_sets(prepared: Prepared, compute: Any, statistic: str) -> Any:
    """Apply ``compute(item_set)`` to every set; a single result or :class:`ScaleResults`."""
    if not prepared.multi:
        return compute(prepared.sets[0])
    results: dict[Any, Any] = {}
    rows = []
    for s in prepared.sets:
        head, key = set_head(prepared, s)
        try:
            res = compute(s)
        except AnalysisError as exc:
            warn_failed(statistic, s, exc)
            rows.append({**head, "n_obs": s.n_obs, "error": str(exc)})
            continue
        results[key] = res
        fields = res.to_frame().iloc[0].to_dict()
        fields.pop("group", None)
        fields.pop("scale", None)
        rows.append({**head, **fields, "error": None})
    table = pd.DataFrame(rows)
    return ScaleResults(statistic=statistic, table=table, results=results, by=prepared.by,
                        instrument=prepared.instrument)
