"""Turn a raw answer table into item responses and a failures table.

Rows are respondents in input order; nothing is dropped. Every cell is parsed once per distinct
value (not once per row): numbers, numeric text (full-width digits allowed), and option labels as a
问卷星 text export shows them (``"A.完全不会"``, ``"好几天"``, ``"Several days"``) become codes.
Declared missing codes (the instrument's, plus those passed by the caller, e.g. NHANES 7 = refused
and 9 = don't know) become missing without a failure; every other unusable cell becomes missing
*and* a failures row (row, id, item, column, code, value).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
import warnings
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen._text import TEXT_DTYPE
from xinli_screen.errors import ResponseDataError, XinliScreenWarning
from xinli_screen.instrument.labels import norm_text, option_code, option_labels
from xinli_screen.instrument.models import Instrument, ResponseScale
from xinli_screen.instrument.registry import load_instrument
from xinli_screen.numeric_answers import (
    _as_block,
    _cell_number,
    _parse_numeric,
    _shifted,
    _split_columns,
    cell_values,
)

__all__ = [
    "FAILURE_CODES",
    "FAILURE_COLUMNS",
    "FIRST_DATA_ROW",
    "NOTE_CODES",
    "RESULT_FAILURE_COLUMNS",
    "SOURCE_REF_COLUMN",
    "PreparedResponses",
    "locate_failures",
    "normalise_ids",
    "prepare_responses",
    "source_refs",
]

#: Columns of the failures table of :func:`prepare_responses`, in order.
FAILURE_COLUMNS = ["row", "id", "item", "column", "code", "value"]
#: Columns of the failures table of a screening result (:func:`locate_failures`): ``row`` is
#: the 0-based position in the result table; ``file_row`` the row in the input file as a
#: spreadsheet shows it (header = row 1, first answer sheet = row 2); ``source_ref`` the
#: 问卷星 ``序号`` of the answer sheet (``"序号 17"``) when the input has that column.
RESULT_FAILURE_COLUMNS = ["row", "file_row", "source_ref", "id", "item", "column", "code",
                          "value"]
#: ``file_row`` of the first answer sheet (the header is row 1).
FIRST_DATA_ROW = 2
#: The 问卷星 column that numbers the answer sheets (the reference shown in 问卷星 itself).
SOURCE_REF_COLUMN = "序号"

#: Failure codes and their meaning (docs/errors.md explains each).
FAILURE_CODES = {
    "out-of-range": "a whole number that is not one of the item's declared codes",
    "not-a-code": "a number that is not a whole number",
    "unrecognised-text": "text that is neither a number nor an option label of the item",
    "duplicate-id": "the respondent id occurs on more than one row",
    "missing-id": "the id column is empty on this row",
    "critical-blank": "note: a critical item is unanswered (empty cell)",
    "critical-missing-code": "note: a critical item holds a declared missing code",
    "critical-skipped": "note: a critical item was skipped (问卷星 -2, (跳过))",
    "critical-not-shown": "note: a critical item was not shown (问卷星 -3, (空))",
}
#: Failure codes that are notes, not bad cells: why a critical item has no answer. They do not
#: make a row ``invalid``; the policy reports the critical item as unknown (docs/policy.md).
NOTE_CODES = frozenset({"critical-blank", "critical-missing-code", "critical-skipped",
                        "critical-not-shown"})
#: 问卷星 codes for a question skipped by logic (-2) and not shown (-3), when declared missing.
_SKIPPED, _NOT_SHOWN = -2.0, -3.0

_FLOAT_ID = re.compile(r"^(\d+)\.0+$")


@dataclass(frozen=True)
class PreparedResponses:
    """Item responses ready for scoring.

    Attributes
    ----------
    responses : DataFrame, shape (n_rows, n_items)
        Float codes (before reverse keying), NaN = missing; columns = item ids of every
        instrument in order; index = 0..n_rows-1 (input row position).
    ids : Series of str or None
        Respondent ids as strings (None when no id column was given).
    failures : DataFrame
        One row per bad cell, columns :data:`FAILURE_COLUMNS`.
    missing_columns : list of str
        Item ids for which the input had no column (all missing).
    unused_columns : list of str
        Input columns that were not mapped to any item or the id.
    """

    responses: pd.DataFrame
    ids: pd.Series | None
    failures: pd.DataFrame
    missing_columns: list[str] = field(default_factory=list)
    unused_columns: list[str] = field(default_factory=list)


def _parse_value(value: Any, labels: Mapping[str, int]) -> tuple[float, str | None]:
    """One distinct cell value -> (number or NaN, failure code or None)."""
    if isinstance(value, bool):
        return float(value), None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value), None
    text = norm_text(str(value))
    if text == "" or text in {"nan", "na", "n/a", "none", "null"}:
        return np.nan, None
    try:
        return float(text), None
    except ValueError:
        pass
    code = option_code(text, labels)
    return (np.nan, "unrecognised-text") if code is None else (float(code), None)


def _parse_column(
    col: pd.Series, rs: ResponseScale, extra_missing: frozenset[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Parse one text (or mixed, or boolean) column -> (float codes with NaN, failure-code
    array of object/None); each distinct value is parsed once."""
    n = len(col)
    codes = np.array(rs.codes, dtype=float)
    missing = frozenset(float(c) for c in rs.missing_codes) | extra_missing
    labels = option_labels(rs)
    uniques = pd.unique(col.dropna())
    parsed = {u: _parse_value(u, labels) for u in uniques}
    notna = col.notna().to_numpy()
    values = np.full(n, np.nan)
    fail = np.full(n, None, dtype=object)
    if parsed:
        present = col[notna]
        values[notna] = present.map({u: v for u, (v, _) in parsed.items()}).to_numpy(
            dtype=float, na_value=np.nan)
        mapped = present.map({u: f for u, (_, f) in parsed.items()}).to_numpy(dtype=object)
        fail[notna] = np.where(pd.notna(mapped), mapped, None)
    if missing:
        is_missing = np.isin(values, list(missing))
        values[is_missing] = np.nan
    present = ~np.isnan(values)
    whole = present & (np.floor(values) == values)
    not_code = present & ~whole
    out_of_range = whole & ~np.isin(values, codes)
    fail[not_code] = "not-a-code"
    fail[out_of_range] = "out-of-range"
    values[not_code | out_of_range] = np.nan
    return values, fail


def _failures(data: pd.DataFrame, rows: np.ndarray, item: str, column: Any, code: Any,
              ids: pd.Series | None) -> pd.DataFrame:
    """Failures rows for the bad cells ``rows`` of one item column."""
    raw = cell_values(data[column], rows)
    return pd.DataFrame({
        "row": rows.astype("int64"),
        "id": None if ids is None else ids.iloc[rows].to_numpy(dtype=object, na_value=None),
        "item": item,
        "column": str(column),
        "code": code,
        "value": [str(v) for v in raw],
    }, columns=FAILURE_COLUMNS)


def normalise_ids(ids: pd.Series) -> pd.Series:
    """Respondent ids as text, leading zeros kept.

    Whitespace is stripped, full-width characters are folded (NFKC), and the trailing ``.0``
    that a float export writes after an integer id (``"93705.0"``) is removed. Returns a
    pandas ``str`` Series (Arrow-backed, same index); empty and absent ids are missing (NaN).
    The text operations run in Arrow (``utf8_normalize``, ``utf8_trim_whitespace``,
    ``replace_substring_regex``), not per row in Python.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if pd.api.types.is_float_dtype(ids.dtype):
        whole = ids.notna() & (ids % 1 == 0)
        out = ids.astype(object)
        out[whole] = ids[whole].astype("int64").astype(str)
        out[~whole & ids.notna()] = ids[~whole & ids.notna()].astype(str)
        return out.where(ids.notna(), None).astype(TEXT_DTYPE)
    if pd.api.types.is_integer_dtype(ids.dtype):
        return ids.astype(TEXT_DTYPE).where(ids.notna())
    text = pa.array(ids.astype(TEXT_DTYPE).array, type=pa.large_string())
    text = pc.utf8_trim_whitespace(pc.utf8_normalize(text, form="NFKC"))
    text = pc.replace_substring_regex(text, pattern=_FLOAT_ID.pattern, replacement=r"\1")
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.large_string()), text)
    return pd.Series(pd.array(text, dtype=TEXT_DTYPE), index=ids.index, name=ids.name)


def _read_ids(column: pd.Series, name: str | None) -> tuple[pd.Series, pd.DataFrame]:
    """Normalised ids (named ``name``) and their failures (missing and duplicate ids)."""
    ids = normalise_ids(column).rename(name)
    return ids, _id_failures(ids)


def _id_failures(ids: pd.Series) -> pd.DataFrame:
    missing = ids.isna().to_numpy()
    codes, _ = pd.factorize(ids)  # one hash pass; missing ids get -1
    dup = (np.bincount(codes[~missing], minlength=len(ids))[codes] > 1) & ~missing
    rows = np.concatenate([np.nonzero(missing)[0], np.nonzero(dup)[0]])
    labels = ["missing-id"] * int(missing.sum()) + ["duplicate-id"] * int(dup.sum())
    return pd.DataFrame({
        "row": rows.astype("int64"),
        "id": ids.iloc[rows].to_numpy(dtype=object, na_value=None),
        "item": None,
        "column": ids.name,
        "code": labels,
        "value": None,
    }, columns=FAILURE_COLUMNS)


def source_refs(data: pd.DataFrame) -> pd.Series | None:
    """Per row, the reference a person finds the answer sheet by: ``"序号 17"``.

    Parameters
    ----------
    data : DataFrame, shape (n_rows, n_columns)
        The input table (or one chunk of it).

    Returns
    -------
    Series of str, length n_rows, or None
        None when the input has no :data:`SOURCE_REF_COLUMN` column (问卷星 ``序号``); an
        empty cell gives a missing reference.
    """
    names = [c for c in data.columns
             if isinstance(c, str) and unicodedata.normalize("NFKC", c).strip()
             == SOURCE_REF_COLUMN]
    if len(names) != 1:
        return None
    numbers = normalise_ids(data[names[0]].reset_index(drop=True))
    return ("序号 " + numbers).where(numbers.notna())


def locate_failures(failures: pd.DataFrame, refs: pd.Series | None = None) -> pd.DataFrame:
    """Add where each failure is in the input file: ``file_row`` and ``source_ref``.

    Parameters
    ----------
    failures : DataFrame
        A failures table (:data:`FAILURE_COLUMNS`; earlier ``file_row``/``source_ref``
        columns are recomputed).
    refs : Series, optional
        :func:`source_refs` of the rows ``failures["row"]`` counts in (positions).

    Returns
    -------
    DataFrame
        Columns :data:`RESULT_FAILURE_COLUMNS`: ``file_row`` = ``row`` + :data:`FIRST_DATA_ROW`
        (int64; one header row, every data row counted), ``source_ref`` the row's reference or
        None. Streamed and distributed runs add their row offset to ``row`` and ``file_row``
        alike.
    """
    out = failures.drop(columns=["file_row", "source_ref"], errors="ignore").copy()
    rows = out["row"].to_numpy(dtype="int64")
    out["file_row"] = rows + FIRST_DATA_ROW
    out["source_ref"] = (None if refs is None or not len(rows)
                         else refs.iloc[rows].to_numpy(dtype=object, na_value=None))
    return out[RESULT_FAILURE_COLUMNS].reset_index(drop=True)


def _critical_notes(
    data: pd.DataFrame, responses: np.ndarray, item_ids: list[str],
    mapping: Mapping[str, Any], instruments: Sequence[Instrument], failures: pd.DataFrame,
    missing: frozenset[float], ids: pd.Series | None,
) -> pd.DataFrame:
    """Why each unanswered critical item has no answer: one note per cell.

    A critical item's cell that is missing after parsing and is not a bad cell (those are
    failures already) gets a note: ``critical-skipped`` (问卷星 -2), ``critical-not-shown``
    (问卷星 -3), ``critical-missing-code`` (another declared missing code) or
    ``critical-blank`` (empty). Items without a column get no notes (the whole column is
    missing: a warning and the provenance say so). Only the rows with a missing critical
    answer are visited.
    """
    bad_rows = failures["row"].to_numpy(dtype=np.int64)
    bad_items = failures["item"].to_numpy(dtype=object)
    parts = []
    seen: set[str] = set()
    for inst in instruments:
        for crit in inst.critical_items:
            item = crit.item
            column = mapping.get(item)
            if item in seen or column is None:
                continue
            seen.add(item)
            rows = np.flatnonzero(np.isnan(responses[:, item_ids.index(item)]))
            rows = rows[~np.isin(rows, bad_rows[bad_items == item])].astype(np.int64)
            if not len(rows):
                continue
            raw = cell_values(data[column], rows)
            codes, uniques = pd.factorize(raw)  # each distinct cell parsed once; NaN -> -1
            numbers = np.array([_cell_number(v) for v in uniques] + [np.nan], dtype=float)
            x = numbers[codes]
            code = np.full(len(rows), "critical-blank", dtype=object)
            declared = np.isin(x, list(missing)) if missing else np.zeros(len(x), bool)
            code[declared] = "critical-missing-code"
            code[declared & (x == _SKIPPED)] = "critical-skipped"
            code[declared & (x == _NOT_SHOWN)] = "critical-not-shown"
            parts.append(pd.DataFrame({
                "row": rows,
                "id": None if ids is None else ids.iloc[rows].to_numpy(dtype=object,
                                                                      na_value=None),
                "item": item,
                "column": str(column),
                "code": code,
                "value": ["" if pd.isna(v) else str(v) for v in raw],
            }, columns=FAILURE_COLUMNS))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FAILURE_COLUMNS})
    return pd.concat(parts, ignore_index=True)


def _resolve_columns(
    data: pd.DataFrame, instruments: Sequence[Instrument], columns: Mapping[str, str] | None,
    id_column: str | None = None,
) -> tuple[dict[str, str], list[str]]:
    all_items = [i.id for inst in instruments for i in inst.items]
    known = set(all_items)
    mapping: dict[str, str] = {}
    if columns:
        unknown_items = sorted(set(columns) - known)
        if unknown_items:
            warnings.warn(
                f"column map names {len(unknown_items)} item id(s) not in the selected "
                f"instruments ({', '.join(unknown_items[:5])}); they are ignored",
                XinliScreenWarning, stacklevel=3)
        absent = sorted({c for i, c in columns.items() if i in known and c not in data.columns})
        if absent:
            raise ResponseDataError(
                f"the column map names {len(absent)} column(s) that are not in the input: "
                f"{', '.join(map(str, absent[:10]))}. Check the spelling in the map file "
                "(see docs/errors.md#column-map).")
        mapping.update({i: c for i, c in columns.items() if i in known})
    lower = {str(c).strip().casefold(): c for c in data.columns}
    for item_id in all_items:
        if item_id not in mapping:
            col = item_id if item_id in data.columns else lower.get(item_id.casefold())
            if col is not None:
                mapping[item_id] = col
    shared = sorted({str(c) for c in mapping.values() if list(mapping.values()).count(c) > 1})
    if shared:
        raise ResponseDataError(
            f"the column map gives the same column to several items: {', '.join(shared[:5])}; "
            "each item needs its own column (see docs/errors.md#column-map)")
    if id_column is not None and id_column in mapping.values():
        raise ResponseDataError(
            f"column {id_column!r} is both the id column and an item's column; check the column "
            "map and --id-column (see docs/errors.md#column-map)")
    missing = [i for i in all_items if i not in mapping]
    for inst in instruments:
        if all(i.id in missing for i in inst.items):
            raise ResponseDataError(
                f"no column found for any item of instrument {inst.id!r} (expected columns "
                f"named like {inst.items[0].id!r}; the input has {data.shape[1]} columns). "
                "Check that the first row is the header, or give a column map "
                "(--columns MAP.yaml) that maps item ids to column names "
                "(see docs/errors.md#column-map).")
    return mapping, missing


_QUESTION_NUMBER = re.compile(r"^\s*\d+\s*[、.．:：]\s*")


def _wjx_numbered(data: pd.DataFrame, id_column: str | None) -> str | None:
    """The id column as named, or its 问卷星 header with a question number (``1、学号``)."""
    if id_column is None or id_column in data.columns:
        return id_column
    numbered = [c for c in data.columns if isinstance(c, str)
                and _QUESTION_NUMBER.sub("", c).strip() == id_column]
    return numbered[0] if len(numbered) == 1 else id_column


def _check_missing_codes(extra: frozenset[float], instruments: Sequence[Instrument]) -> None:
    """Refuse missing codes that are valid answers of a critical item; warn for other items.

    A ``--missing-code 1`` on PHQ-9 would read every item 9 answer of 1 as "no answer" and
    switch the self-harm item off without a word (issue 15).
    """
    critical: dict[str, list[str]] = {}
    other: dict[str, list[str]] = {}
    for inst in instruments:
        crit = {c.item for c in inst.critical_items}
        for item in inst.items:
            codes = {float(c) for c in inst.response_scale_of(item).codes}
            clash = sorted(codes & extra)
            if clash:
                target = critical if item.id in crit else other
                for c in clash:
                    target.setdefault(f"{c:g}", []).append(item.id)
    if critical:
        listed = "; ".join(f"{code} is an answer of {', '.join(items[:5])}"
                           for code, items in critical.items())
        raise ValueError(
            f"missing code(s) {', '.join(critical)} are valid answers of critical item(s) "
            f"({listed}): read as 'no answer' they would switch the critical item off; "
            "choose missing codes outside the answer codes (see "
            "docs/errors.md#missing-code-clash)")
    if other:
        listed = "; ".join(f"{code} on {len(items)} item(s) ({', '.join(items[:3])})"
                           for code, items in other.items())
        warnings.warn(f"missing code(s) {', '.join(other)} are also valid answers ({listed}): "
                      "those answers are read as 'no answer' (see "
                      "docs/errors.md#missing-code-clash)", XinliScreenWarning, stacklevel=3)


def prepare_responses(
    data: pd.DataFrame,
    instruments: Sequence[Instrument | str],
    *,
    columns: Mapping[str, str] | None = None,
    id_column: str | None = None,
    missing_codes: Iterable[float] = (),
    shifts: Mapping[str, float] | None = None,
) -> PreparedResponses:
    """Map input columns to item ids and parse every cell into a code.

    Parameters
    ----------
    data : DataFrame, shape (n_rows, n_columns)
        One row per answer sheet, in input order; any dtypes (text cells are parsed).
    instruments : sequence of Instrument or bundled id / YAML path
        The instruments whose items are read.
    columns : mapping item id -> column name, optional
        Where each item is; unmapped items are looked up by their id (exact, then
        case-insensitive).
    id_column : str, optional
        Column holding the respondent id; read as text (leading zeros kept). A 问卷星 header
        that only adds a question number (``1、学号`` for ``学号``) is accepted when unique.
    missing_codes : iterable of numbers
        Extra codes meaning "no answer" in this data set (e.g. 7 and 9 in NHANES).
    shifts : mapping item id -> number, optional
        Added to every numeric answer of the item before it is checked (``-1`` for a file
        coded 1-4 for a 0-3 item; :func:`xinli_screen.code_offsets.shift_for`). Declared
        missing codes and option labels are not shifted.

    Returns
    -------
    PreparedResponses
        ``responses`` has exactly ``len(data)`` rows in input order.

    Raises
    ------
    ResponseDataError
        The id column or a mapped column does not exist, no column was found for any item
        of an instrument, or the id or an item would be read from a column name that occurs
        twice. Messages name columns, never values.
    ValueError
        ``missing_codes`` holds something that is not a number.

    Warns
    -----
    XinliScreenWarning
        Some (not all) items of an instrument have no column; they are treated as missing.
    """
    instruments = [i if isinstance(i, Instrument) else load_instrument(i) for i in instruments]
    source_id = _wjx_numbered(data, id_column)
    if source_id is not None and source_id not in data.columns:
        close = difflib.get_close_matches(id_column, [str(c) for c in data.columns], n=3,
                                          cutoff=0.8)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ResponseDataError(
            f"id column {id_column!r} is not in the input ({data.shape[1]} columns).{hint} "
            "Check the spelling and that the first row is the header "
            "(see docs/errors.md#id-column)")
    mapping, missing = _resolve_columns(data, instruments, columns, source_id)
    repeated = set(data.columns[data.columns.duplicated()])
    clash = sorted(str(c) for c in repeated & ({*mapping.values(), source_id} - {None}))
    if clash:
        raise ResponseDataError(
            f"the input has {len(clash)} repeated column name(s) that an item or the id is "
            f"read from: {', '.join(map(repr, clash[:5]))}; give each column its own name "
            "(see docs/errors.md#column-map)")
    if missing:
        warnings.warn(
            f"{len(missing)} item(s) have no column in the input and are treated as missing: "
            f"{', '.join(missing[:10])}", XinliScreenWarning, stacklevel=2)
    try:
        extra = frozenset(float(c) for c in missing_codes)
    except (TypeError, ValueError):
        raise ValueError("missing_codes must be numbers (codes meaning 'no answer', e.g. "
                         "[7, 9])") from None
    n = len(data)
    item_ids = [i.id for inst in instruments for i in inst.items]
    scales = {i.id: inst.response_scale_of(i) for inst in instruments for i in inst.items}
    if extra:
        _check_missing_codes(extra, instruments)
    if shifts:
        data = _shifted(data, {mapping[i]: (d, extra | {float(c) for c in
                                                        scales[i].missing_codes})
                               for i, d in shifts.items() if i in mapping and d})
    numeric, text = _split_columns(data, item_ids, mapping, scales, extra)
    bad_cells: list[tuple[np.ndarray, str, Any, Any]] = []  # rows, item, column, code(s)
    # the ids (text normalising and hashing, in Arrow) are read on a second thread while
    # this one checks the answers (numpy): both release the GIL
    with ThreadPoolExecutor(max_workers=1) as pool:
        id_job = (pool.submit(_read_ids, data[source_id], id_column) if source_id
                  else None)
        parsed = {key: _parse_numeric(data, [mapping[i] for i in items], *key)
                  for key, items in numeric.items()}
        unchanged = not text and all(changed is False for _, _, _, changed in parsed.values())
        responses = _as_block(data, item_ids, mapping, numeric) if unchanged else None
        matrix = np.full((n, len(item_ids)), np.nan, order="F") if responses is None else None
        for key, items in numeric.items():
            values, bad, kind, _ = parsed[key]
            if matrix is not None:
                matrix[:, [item_ids.index(i) for i in items]] = values
            for rows, pos, code in zip(*bad, kind, strict=True):
                bad_cells.append((rows, items[pos], mapping[items[pos]], code))
        for item in text:
            col_name = mapping[item]
            values, fail = _parse_column(data[col_name], scales[item], extra)
            matrix[:, item_ids.index(item)] = values  # type: ignore[index]
            bad = np.nonzero(pd.notna(fail))[0]
            if len(bad):
                bad_cells.append((bad, item, col_name, fail[bad]))
        ids, id_failures = id_job.result() if id_job is not None else (None, None)
    if matrix is not None:
        responses = pd.DataFrame(matrix, columns=item_ids)
    fail_parts = [_failures(data, rows, item, col, code, ids)
                  for rows, item, col, code in bad_cells]
    if id_failures is not None:
        fail_parts.append(id_failures)
    failures = (pd.concat([p for p in fail_parts if len(p)], ignore_index=True)
                if any(len(p) for p in fail_parts)
                else pd.DataFrame({c: pd.Series(dtype=object) for c in FAILURE_COLUMNS}))
    failures["row"] = failures["row"].astype("int64")
    notes = _critical_notes(data, responses.to_numpy(dtype=float), item_ids, mapping,
                            instruments, failures,
                            extra | {float(c) for rs in scales.values()
                                     for c in rs.missing_codes}, ids)
    if len(notes):
        failures = pd.concat([failures, notes], ignore_index=True)
        failures["row"] = failures["row"].astype("int64")
    failures = failures.sort_values(["row", "item"], kind="stable", na_position="first")
    used = set(mapping.values()) | ({source_id} if source_id else set())
    return PreparedResponses(
        responses=responses,
        ids=ids,
        failures=failures.reset_index(drop=True),
        missing_columns=missing,
        unused_columns=[str(c) for c in data.columns if c not in used],
    )
