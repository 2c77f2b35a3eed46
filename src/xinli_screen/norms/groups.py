"""Norm groups: raw group columns -> level codes, and level codes discovered from a sample.

:func:`map_groups` prepares the ``groups`` argument of
:func:`~xinli_screen.norms.apply_norms`: one column per group variable of a norm table,
holding level codes (``"female"``, ``"7"``) or missing where a value is absent or not
recognised. :func:`discover_variable` is used when a table is fitted from a sample.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import pandas as pd

from xinli_screen.norms.errors import NormWarning
from xinli_screen.norms.models import GroupVariable, Level, NormTable, code_key
from xinli_screen.norms.vocabulary import (
    level_lookup,
    match_levels,
    normalise_text,
    standard_variable,
)

__all__ = ["covariate_values", "discover_variable", "map_groups"]


def covariate_values(values: Any) -> np.ndarray:
    """A covariate column (age, grade) as float; text that is not a number becomes NaN.

    Grade words (``初一``, ``七年级``) are turned into their grade number.
    """
    grade = standard_variable("grade")
    grade = cast(GroupVariable, grade)  # "grade" is a standard variable
    lookup = level_lookup(grade)
    s = pd.Series(np.asarray(values, dtype=object).ravel())
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    mapped = []
    for v in uniques:
        key = normalise_text(v)
        if key is None:
            mapped.append(math.nan)
            continue
        try:
            mapped.append(float(key))
        except ValueError:
            hit = lookup.get(key)
            mapped.append(float(hit) if hit is not None else math.nan)
    table = np.array([*mapped, math.nan], dtype=float)
    return table[codes]


def map_groups(
    data: pd.DataFrame,
    table: NormTable,
    columns: Mapping[str, str] | None = None,
    *,
    warn: bool = True,
) -> pd.DataFrame:
    """Map raw group columns (``男``/``女``, ``初一``, ages) to the level codes of a norm table.

    Parameters
    ----------
    data : DataFrame, shape (n_respondents, ...)
        The answer table (or any table with the group columns), one row per respondent.
    table : NormTable
        The table whose group variables (and covariate) are wanted.
    columns : mapping variable id -> column of ``data``, optional
        Default: each variable is read from the column of the same name (``sex``).

    Returns
    -------
    DataFrame, shape (n_respondents, n_variables), index of ``data``
        One column per group variable (object: level code as text, e.g. ``"female"``,
        ``"7"``; NaN where the value is missing or not recognised). For ``sex``, ``grade``
        and ``urban_rural`` a standard level the table does not cover (grade 10 in a table of
        grades 7-9) is kept, so that it is reported as ``group_not_covered`` rather than as
        missing. For continuous tables, also the covariate column (float, NaN where missing
        or not a number).

    Raises
    ------
    KeyError
        A needed column is not in ``data`` (the message lists the columns asked for).

    Warns
    -----
    NormWarning
        Some non-empty values matched no level (count per column; values are not printed).

    Examples
    --------
    >>> import pandas as pd
    >>> from xinli_screen.norms import load_norms, map_groups
    >>> t = load_norms("cesd_zhang2010_urban_sex")
    >>> map_groups(pd.DataFrame({"性别": ["男", "女", "F", "?"]}), t,
    ...            {"sex": "性别"}, warn=False)["sex"].tolist()
    ['male', 'female', 'female', nan]
    """
    columns = dict(columns or {})
    out: dict[str, Any] = {}
    wanted = {v: columns.get(v, v) for v in table.variable_ids}
    missing = sorted(c for c in wanted.values() if c not in data.columns)
    if missing:
        raise KeyError(f"group column(s) {missing} not in the data; map variables to columns "
                       f"with columns={{variable: column}} (variables: "
                       f"{', '.join(table.variable_ids)})")
    for var in table.group_variables:
        raw = data[wanted[var.id]]
        keys = match_levels(raw.to_numpy(dtype=object), var)
        std = standard_variable(var.id)
        if std is not None:  # a standard level the table lacks: group_not_covered, not missing
            fallback = match_levels(raw.to_numpy(dtype=object), std)
            keys = np.where(pd.isna(keys), fallback, keys)
        _warn_unmapped(raw, keys, wanted[var.id], var.id, warn)
        out[var.id] = pd.Series(keys, index=data.index, dtype=object).where(
            pd.notna(keys), np.nan)
    if table.covariate is not None:
        col = wanted[table.covariate.id]
        values = covariate_values(data[col].to_numpy(dtype=object))
        _warn_unmapped(data[col], np.where(np.isnan(values), None, values), col,
                       table.covariate.id, warn)
        out[table.covariate.id] = pd.Series(values, index=data.index, dtype=float)
    return pd.DataFrame(out, index=data.index)


def _warn_unmapped(raw: pd.Series, keys: np.ndarray, column: str, var: str, warn: bool) -> None:
    if not warn:
        return
    present = raw.map(normalise_text).notna().to_numpy()
    bad = int((present & pd.isna(keys)).sum())
    if bad:
        warnings.warn(f"group column {column!r} ({var}): {bad} non-empty value(s) match no "
                      "level of the norm table; those rows get norm_status no_norm_group",
                      NormWarning, stacklevel=3)


def _level_code(key: str) -> int | str:
    try:
        f = float(key)
    except ValueError:
        return key
    return int(f) if math.isfinite(f) and f.is_integer() else key


def discover_variable(var_id: str, values: Any) -> tuple[GroupVariable, np.ndarray]:
    """Levels of a group variable as observed in a sample, and each row's level key.

    ``sex``, ``grade`` and ``urban_rural`` use the standard levels and aliases
    (:data:`~xinli_screen.norms.vocabulary.STANDARD_VARIABLES`), keeping only the levels
    seen; values they do not recognise become missing. Any other variable takes its distinct
    normalised values as codes (whole numbers as int).

    Returns
    -------
    (GroupVariable, keys)
        ``keys``: object array of level keys, None where missing or unrecognised.
    """
    std = standard_variable(var_id)
    raw = np.asarray(values, dtype=object)
    if std is not None:
        keys = match_levels(raw, std)
        seen = {k for k in keys if k is not None}
        levels = tuple(lev for lev in std.levels if lev.key in seen)
        if not levels:
            raise ValueError(f"group variable {var_id!r}: no value could be matched to a "
                             f"standard level ({', '.join(lev.key for lev in std.levels)})")
        return GroupVariable(id=var_id, name=std.name, levels=levels), keys
    keys = np.array([normalise_text(v) for v in raw], dtype=object)
    distinct = sorted({k for k in keys if k is not None},
                      key=lambda k: (not _is_number(k), _num(k), k))
    if not distinct:
        raise ValueError(f"group variable {var_id!r}: every value is missing")
    levels = tuple(Level(code=_level_code(k)) for k in distinct)
    keys = np.array([None if k is None else code_key(_level_code(k)) for k in keys],
                    dtype=object)
    return GroupVariable(id=var_id, levels=levels), keys


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _num(text: str) -> float:
    return float(text) if _is_number(text) else 0.0
