"""Read SPSS ``.sav``/``.zsav`` files (pyreadstat) and resolve their value labels to codes.

An SPSS file carries, per variable, value labels (``1 = "完全不会"``) and declared user-missing
values (``9 = refused``). User-missing values become missing when the file is read. Value labels
are kept aside (:func:`read_sav` returns them).

The stored numbers are the codes by default (``spss_values="codes"``): labels left stale after
an SPSS ``RECODE`` (a common trap) would otherwise reverse an item without a word.
:func:`label_disagreements` reports, per variable, every value whose label names another
option of the item (or no option at all); the CLI prints it and the provenance records it.
With ``spss_values="labels"`` (``--spss-values labels``), :func:`resolve_value_labels` maps
the values through their labels where every labelled value of an item column is an option
label of the item (``"完全不会"``, ``"A.好几天"``, ``"Not at all"``), so a 问卷星 SPSS download
coded 1-4 scores as 0-3.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen._optional import import_optional
from xinli_screen.errors import ResponseDataError
from xinli_screen.instrument.labels import option_code, option_labels
from xinli_screen.instrument.models import ResponseScale

__all__ = ["SPSS_VALUES", "label_disagreements", "read_sav", "resolve_value_labels"]

#: How SPSS item values are read: ``codes`` (default: the stored numbers) or ``labels``
#: (through the value labels, where they name the item's options).
SPSS_VALUES = ("codes", "labels")

#: Encodings tried, in order, for files whose header declares none (old Chinese SPSS files).
_FALLBACK_ENCODINGS = ("gb18030",)


def read_sav(path: Path) -> tuple[pd.DataFrame, dict[str, dict[float, str]]]:
    """Read an SPSS system file.

    Parameters
    ----------
    path : Path
        ``.sav`` or ``.zsav``.

    Returns
    -------
    frame : DataFrame, shape (n_rows, n_variables)
        Numeric variables as float (user-missing values already NaN), string variables as
        text (empty strings as NaN); rows in file order.
    value_labels : dict column -> {value: label}
        The declared value labels of each variable that has any.

    Raises
    ------
    ResponseDataError
        The file cannot be read as SPSS (names the file and exception type only).
    """
    pyreadstat = import_optional("pyreadstat", f"{path}: reading SPSS files", ResponseDataError)
    error: Exception | None = None
    for encoding in (None, *_FALLBACK_ENCODINGS):
        try:
            frame, meta = pyreadstat.read_sav(str(path), user_missing=False,
                                              encoding=encoding)  # type: ignore[arg-type]
            break
        except Exception as exc:  # ReadstatError, PyreadstatError, UnicodeDecodeError
            error = error or exc
    else:
        raise ResponseDataError(f"{path}: cannot read as an SPSS .sav file "
                                f"({type(error).__name__})") from None
    for col in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[col].dtype):
            text = frame[col].astype(object)
            frame[col] = text.where(text.notna() & (text.astype(str).str.strip() != ""), np.nan)
    missing = _missing_ranges(pyreadstat, path, encoding)
    labels = {str(col): {float(v): str(lab) for v, lab in mapping.items()
                         if isinstance(v, (int, float)) and not isinstance(v, bool)
                         and not _in_ranges(float(v), missing.get(str(col), []))}
              for col, mapping in (meta.variable_value_labels or {}).items()}
    return frame, {c: m for c, m in labels.items() if m}


def _missing_ranges(pyreadstat: Any, path: Path, encoding: str | None
                    ) -> dict[str, list[tuple[float, float]]]:
    """Declared user-missing values and ranges per variable (their labels are not answers)."""
    try:
        _, meta = pyreadstat.read_sav(str(path), metadataonly=True, user_missing=True,
                                      encoding=encoding)  # type: ignore[arg-type]
    except Exception:  # the data were readable; without ranges every label is kept
        return {}
    out: dict[str, list[tuple[float, float]]] = {}
    for col, ranges in (meta.missing_ranges or {}).items():
        for r in ranges:
            lo, hi = r.get("lo"), r.get("hi")
            if isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
                out.setdefault(str(col), []).append((float(lo), float(hi)))
    return out


def _in_ranges(value: float, ranges: list[tuple[float, float]]) -> bool:
    return any(lo <= value <= hi for lo, hi in ranges)


def label_disagreements(
    value_labels: Mapping[str, Mapping[float, str]],
    scales: Mapping[str, ResponseScale],
) -> dict[str, str]:
    """Per item column, the value labels that disagree with the item's option labels.

    A labelled value disagrees when its label names another option (``1 = "完全不会"`` on an
    item where 完全不会 is code 0) or no option of the item at all. Only the file's metadata is
    read (labels and values), never an answer.

    Returns
    -------
    dict column -> str
        ``"1 = '完全不会' (option code 0), 4 = '几乎每天' (option code 3)"``; columns whose
        labels all agree (or that have none) are left out.
    """
    out: dict[str, str] = {}
    for col, scale in scales.items():
        labels = value_labels.get(col)
        if not labels:
            continue
        known = option_labels(scale)
        bad = []
        for value, label in sorted(labels.items()):
            code = option_code(label, known)
            if code is None:
                bad.append(f"{value:g} = {label!r} (not an option of the item)")
            elif float(code) != value:
                bad.append(f"{value:g} = {label!r} (option code {code})")
        if bad:
            out[col] = ", ".join(bad)
    return out


def resolve_value_labels(
    frame: pd.DataFrame,
    value_labels: Mapping[str, Mapping[float, str]],
    scales: Mapping[str, ResponseScale],
) -> tuple[pd.DataFrame, list[str]]:
    """Replace stored values by option codes where the value labels name the options.

    Parameters
    ----------
    frame : DataFrame, shape (n_rows, n_columns)
        As returned by :func:`read_sav`.
    value_labels : mapping column -> {value: label}
    scales : mapping column -> ResponseScale
        The response scale of the item each answer column holds.

    Returns
    -------
    frame : DataFrame
        A copy with recoded columns (other columns untouched).
    recoded : list of str
        Columns whose values were recoded through their labels.

    Notes
    -----
    A column is recoded only when *every* labelled value resolves to an option of the item;
    a partly matching set of labels is ambiguous, and the stored numbers are kept as codes.
    In a recoded column, a value without a label cannot be placed on the scale; it is
    replaced by the text ``"<value> (no value label)"``, which scoring reports as a failure.
    """
    out = frame.copy()
    recoded: list[str] = []
    for col, scale in scales.items():
        labels = value_labels.get(col)
        if not labels or col not in out.columns:
            continue
        if not pd.api.types.is_numeric_dtype(out[col].dtype):
            continue
        known = option_labels(scale)
        mapping = {v: option_code(lab, known) for v, lab in labels.items()}
        if any(code is None for code in mapping.values()):
            continue
        if all(float(code) == v for v, code in mapping.items()):  # type: ignore[arg-type]
            continue
        values = out[col].to_numpy(dtype=float, copy=True)
        result = np.full(len(values), np.nan, dtype=object)
        for v, code in mapping.items():
            result[values == v] = float(code)  # type: ignore[arg-type]
        stray = ~np.isnan(values) & ~np.isin(values, list(mapping))
        # a value without a label cannot be placed on the scale: it becomes a failure
        result[stray] = [f"{v:g} (no value label)" for v in values[stray]]
        out[col] = pd.Series(result, index=out.index, dtype=object) if stray.any() else \
            pd.Series(result.astype(float), index=out.index)
        recoded.append(col)
    return out, recoded
