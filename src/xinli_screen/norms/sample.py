"""The reference sample a norm table is fitted from: scores, group levels and covariate.

Shared by :mod:`xinli_screen.norms.fit` (group-wise tables) and
:mod:`xinli_screen.norms.continuous` (continuous norms): resolving the instrument and its
scales from the wide score table, reading the group columns, discovering their levels.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from xinli_screen.instrument.models import Citation, Instrument, LocalText
from xinli_screen.instrument.registry import load_instrument
from xinli_screen.norms.groups import covariate_values, discover_variable
from xinli_screen.norms.models import GroupVariable

__all__ = ["ReferenceSample", "TableMeta", "reference_sample"]

_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class TableMeta:
    """Descriptive fields of a fitted table (defaults describe a local reference wave)."""

    table_id: str | None = None
    version: str = "1"
    name: str | None = None
    population: str | None = None
    year: int | None = None
    collected: str | None = None
    citation: str | None = None
    notes: str | None = None

    def citation_model(self, n: int) -> tuple[Citation, ...]:
        text = self.citation or (f"Local reference wave (n = {n}), norms fitted with "
                                 "xinli-screen norms fit / norms build")
        return (Citation(text=text, used_for="the reference sample of this norm table"),)

    def population_model(self) -> LocalText:
        return LocalText(zh=None if self.population else "本地参照样本",
                         en=self.population or "local reference wave")

    def name_model(self, instrument: Instrument, kind: str) -> LocalText:
        if self.name:
            return LocalText(en=self.name)
        short = instrument.short_name or instrument.id
        return LocalText(zh=f"{short} 本地常模（{kind}）", en=f"{short} local norms ({kind})")

    def year_value(self) -> int:
        return self.year if self.year is not None else dt.date.today().year


@dataclass(frozen=True)
class ReferenceSample:
    """Scores of a reference wave with each row's norm group.

    Attributes
    ----------
    instrument : Instrument
    scales : list of str
        Scale ids to norm (those with a ``{instrument}.{scale}`` column).
    scores : DataFrame, shape (n_rows, n_scales)
        Float scale scores, columns = scale ids, NaN = unscored.
    variables : list of GroupVariable
        Group variables with the levels seen in the sample.
    keys : DataFrame, shape (n_rows, n_variables)
        Level key of each row (object, None where missing or unrecognised).
    covariate : ndarray or None
        Float covariate (age, grade) per row, NaN where missing.
    """

    instrument: Instrument
    scales: list[str]
    scores: pd.DataFrame
    variables: list[GroupVariable]
    keys: pd.DataFrame
    covariate: np.ndarray | None

    @property
    def complete_groups(self) -> np.ndarray:
        """Rows whose every group variable (and covariate) is known."""
        ok = (self.keys.notna().all(axis=1).to_numpy(dtype=bool, copy=True) if self.variables
              else np.ones(len(self.scores), dtype=bool))
        if self.covariate is not None:
            ok &= ~np.isnan(self.covariate)
        return ok


def _instrument(scores: pd.DataFrame, instrument: str | Path | Instrument | None) -> Instrument:
    if isinstance(instrument, Instrument):
        return instrument
    if instrument is not None:
        return load_instrument(instrument)
    prefixes = sorted({str(c).split(".", 1)[0] for c in scores.columns if "." in str(c)})
    if len(prefixes) != 1:
        raise ValueError("the instrument parameter of norms.fit is needed: the score table "
                         f"holds columns of {len(prefixes)} instruments ({', '.join(prefixes)})")
    return load_instrument(prefixes[0])


def _by_mapping(by: Sequence[str] | Mapping[str, str]) -> dict[str, str]:
    if isinstance(by, Mapping):
        mapping = {str(k): str(v) for k, v in by.items()}
    else:
        mapping = {}
        for item in by:
            var, _, col = str(item).partition("=")
            mapping[var.strip()] = (col or var).strip()
    for var in mapping:
        if not _ID.match(var):
            raise ValueError(f"group variable name {var!r} must be a lower-case id "
                             "([a-z][a-z0-9_]*); map it as VAR=COLUMN, e.g. sex=性别")
    return mapping


def reference_sample(
    scores: pd.DataFrame,
    by: Sequence[str] | Mapping[str, str] = (),
    *,
    instrument: str | Path | Instrument | None = None,
    groups: pd.DataFrame | None = None,
    scales: Sequence[str] | None = None,
    covariate: str | None = None,
) -> ReferenceSample:
    """Collect the scores, group levels and covariate of a reference wave.

    Parameters
    ----------
    scores : DataFrame, shape (n_rows, ...)
        Wide score table as :func:`xinli_screen.score_instrument` returns it
        (``{instrument}.{scale}`` columns); may also hold the group columns.
    by : sequence of str or mapping variable -> column
        Group variables; ``"sex"`` reads column ``sex``, ``"sex=性别"`` reads ``性别``.
    instrument : str, Path or Instrument, optional
        Inferred from the column prefixes when the table holds one instrument only.
    groups : DataFrame, optional
        Where the group (and covariate) columns are; default ``scores``. Same rows as
        ``scores`` (same index, or same length read by position).
    scales : sequence of str, optional
        Scale ids to norm (default: every scale with a score column).
    covariate : str, optional
        Column of the continuous covariate (age, grade).

    Raises
    ------
    ValueError, KeyError
        Unknown instrument columns, group columns absent, rows that do not line up.
    """
    inst = _instrument(scores, instrument)
    wanted = list(scales) if scales is not None else [
        s.id for s in inst.scales if f"{inst.id}.{s.id}" in scores.columns]
    unknown = [s for s in wanted if f"{inst.id}.{s}" not in scores.columns]
    if unknown or not wanted:
        raise KeyError(f"score table has no column(s) {[f'{inst.id}.{s}' for s in unknown]}; "
                       "pass the table score_instrument returns")
    source = scores if groups is None else groups
    if len(source) != len(scores):
        raise ValueError(f"groups has {len(source)} rows, scores {len(scores)}: they must "
                         "describe the same respondents in the same order")
    mapping = _by_mapping(by)
    cols = [*mapping.values(), *([covariate] if covariate else [])]
    absent = [c for c in cols if c not in source.columns]
    if absent:
        raise KeyError(f"group column(s) {absent} not found (columns: "
                       f"{', '.join(map(str, source.columns[:20]))})")
    variables, keys = [], {}
    for var, col in mapping.items():
        variable, k = discover_variable(var, source[col].to_numpy(dtype=object))
        variables.append(variable)
        keys[var] = k
    cov = (covariate_values(source[covariate].to_numpy(dtype=object))
           if covariate else None)
    frame = pd.DataFrame({s: pd.to_numeric(scores[f"{inst.id}.{s}"], errors="coerce")
                          .to_numpy(dtype=float) for s in wanted})
    return ReferenceSample(inst, wanted, frame, variables,
                           pd.DataFrame(keys, index=frame.index, dtype=object), cov)
