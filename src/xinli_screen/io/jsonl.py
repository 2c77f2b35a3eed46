"""Read JSON lines (``.jsonl``/``.ndjson``): one flat JSON object per answer sheet.

The 问卷星 open API and many school platforms push one JSON object per answer sheet
(``{"joinid": ..., "q1": 2, ...}``). Each object becomes a row (in file order), each key a
column (in first-seen order); values become text (``2`` -> ``"2"``, ``null`` -> missing).
Lines holding FHIR resources (``"resourceType"``) are read by :mod:`xinli_screen.io.fhir`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen.errors import ResponseDataError

__all__ = ["cell_text", "iter_json_lines", "read_json_lines"]


def cell_text(value: Any) -> Any:
    """A JSON scalar as table text: numbers without a spurious ``.0``, null -> NaN."""
    if value is None:
        return np.nan
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return np.nan
        return str(int(value)) if value == int(value) else repr(value)
    return str(value)


#: Longest JSON integer read (digits); a longer one is refused, not converted.
MAX_JSON_INT_DIGITS = 100


class _JsonLimit(ValueError):
    """A JSON document exceeds a reading limit."""


def _bounded_int(text: str) -> int:
    if len(text) > MAX_JSON_INT_DIGITS:
        raise _JsonLimit(f"a number with more than {MAX_JSON_INT_DIGITS} digits")
    return int(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise _JsonLimit(f"key {key!r} appears twice in one object (the second "
                                 "would silently replace the first)")
            seen.add(key)
    return out


def loads_bounded(text: str, where: str) -> Any:
    """``json.loads`` with bounds: integers of at most :data:`MAX_JSON_INT_DIGITS` digits,
    nesting as deep as the interpreter allows (a deeper document is refused, not a crash),
    and no key twice in one object (``json.loads`` keeps the last silently).

    Parameters
    ----------
    text : str
    where : str
        The file (and line) for the message.

    Raises
    ------
    json.JSONDecodeError
        Invalid JSON (the caller reports line and column).
    ResponseDataError
        Nested too deeply, an integer too long or a key given twice
        (docs/errors.md#json-limits).
    """
    try:
        return json.loads(text, parse_int=_bounded_int, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise ResponseDataError(f"{where}: JSON nested too deeply to read (see "
                                "docs/errors.md#json-limits)") from None
    except _JsonLimit as exc:
        raise ResponseDataError(f"{where}: {exc} (see docs/errors.md#json-limits)") from None


def iter_json_lines(path: Path) -> Any:
    """Yield ``(line_number, object)`` for each non-blank line of ``path`` (UTF-8, BOM ok).

    Raises
    ------
    ResponseDataError
        A line is not valid JSON or not an object (names the file and line only).
    """
    try:
        handle = path.open(encoding="utf-8-sig")
    except OSError as exc:
        raise ResponseDataError(f"{path}: cannot open ({type(exc).__name__})") from None
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    obj = loads_bounded(line, f"{path}: line {number}")
                except json.JSONDecodeError as exc:
                    raise ResponseDataError(
                        f"{path}: line {number} is not valid JSON ({exc.msg}, column "
                        f"{exc.colno}) (see docs/cli.md#input-formats)") from None
                if not isinstance(obj, dict):
                    raise ResponseDataError(f"{path}: line {number} is not a JSON object "
                                            "(see docs/cli.md#input-formats)")
                yield number, obj
        except UnicodeDecodeError as exc:
            raise ResponseDataError(f"{path}: not UTF-8 (first bad byte at offset "
                                    f"{exc.start} of a line); JSON lines must be UTF-8 "
                                    "(see docs/cli.md#input-formats)") from None


def read_json_lines(path: Path) -> pd.DataFrame:
    """Read flat JSON objects, one per line, into a text table.

    Parameters
    ----------
    path : Path
        UTF-8 file, one JSON object per line; blank lines are skipped.

    Returns
    -------
    DataFrame, shape (n_objects, n_keys)
        One row per object in file order; a key absent from an object is a missing cell.

    Raises
    ------
    ResponseDataError
        Invalid JSON, a line that is not an object, or a nested value (object or list);
        the message names the file, line and key, never a value.
    """
    rows: list[dict[str, Any]] = []
    columns: dict[str, None] = {}
    for number, obj in iter_json_lines(path):
        row = {}
        for key, value in obj.items():
            if isinstance(value, (dict, list)):
                raise ResponseDataError(
                    f"{path}: line {number}, key {key!r}: nested values are not read; flatten "
                    "the objects to one value per key (see docs/cli.md#input-formats)")
            row[str(key)] = cell_text(value)
            columns.setdefault(str(key), None)
        rows.append(row)
    frame = pd.DataFrame.from_records(rows, columns=list(columns))
    return frame.astype(object).where(frame.notna(), np.nan)
