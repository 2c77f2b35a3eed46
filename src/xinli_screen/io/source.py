"""From a read file to the table :func:`xinli_screen.screen` scores: export conventions applied.

Readers give text tables; exports add conventions that need the instruments to undo:

* 问卷星 downloads: metadata columns, matrix headers, option text with letter prefixes, option
  positions (按序号), -2/-3 for skipped questions (:mod:`~xinli_screen.io.wjx`);
* SPSS value labels (:func:`~xinli_screen.io.spss.resolve_value_labels`);
* FHIR linkIds and LOINC codes (:func:`~xinli_screen.io.fhir.fhir_item_columns`).

:func:`plan_input` decides once (column map, id column, answer coding) from the whole table or,
when streaming, from the first chunk; :func:`apply_plan` applies the decisions to a table or to
each chunk, so every chunk is treated exactly like the whole file. IP-address columns are
dropped from every input, whatever its format.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen.errors import ResponseDataError, XinliScreenWarning
from xinli_screen.instrument.models import Instrument, ResponseScale
from xinli_screen.io.column_map import ColumnMap
from xinli_screen.io.fhir import RESPONSE_COLUMN, SUBJECT_COLUMN, fhir_item_columns
from xinli_screen.io.readers import DUPLICATES, duplicate_message, read_table
from xinli_screen.io.spss import SPSS_VALUES, label_disagreements, resolve_value_labels
from xinli_screen.io.wjx import (
    SKIP_CODES,
    UNDECIDED,
    AnswerValuesUndecidedError,
    detect_answer_values,
    drop_ip_columns,
    guess_columns,
    is_wjx,
    normalise_answers,
    undecided_message,
)

__all__ = ["PLAN_APPLIED", "InputPlan", "LoadedAnswers", "apply_plan", "load_answers",
           "numeric_codes", "plan_input"]

#: Key in ``DataFrame.attrs`` of a table :func:`apply_plan` prepared: :func:`xinli_screen.screen`
#: does not apply the 问卷星 conventions to it a second time.
PLAN_APPLIED = "xinli_screen.plan_applied"


@dataclass(frozen=True)
class InputPlan:
    """Decisions taken once for a whole input file.

    Attributes
    ----------
    columns : dict item id -> column
        Explicit (map file), FHIR-matched or guessed (问卷星) columns; items not listed are
        looked up by their id when scoring.
    id_column : str or None
    missing_codes : tuple of float
    answer_values : str or None
        ``sequence``/``code``/``text`` for a 问卷星 export (None: not one).
    scales : dict column -> ResponseScale
        Each item column with its item's response scale.
    value_labels : dict column -> {value: label}
        SPSS value labels (resolved per chunk when ``spss_values`` is ``labels``).
    spss_values : {"codes", "labels"} or None
        How SPSS item values are read (None: not an SPSS file with value labels).
    notes : list of str
        What was recognised or guessed, for the summary (no data values).
    provenance : dict
        JSON-ready record of the decisions.
    """

    columns: dict[str, str]
    id_column: str | None
    missing_codes: tuple[float, ...] = ()
    answer_values: str | None = None
    scales: dict[str, ResponseScale] = field(default_factory=dict)
    value_labels: dict[str, dict[float, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    spss_values: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadedAnswers:
    """A file read and prepared for :func:`xinli_screen.screen`: table plus plan plus info."""

    data: pd.DataFrame
    plan: InputPlan
    info: dict[str, Any]


def _item_columns(columns: Sequence[str], explicit: Mapping[str, str],
                  instruments: Sequence[Instrument]) -> dict[str, str]:
    """Item id -> column, by the rule :func:`~xinli_screen.responses.prepare_responses` uses
    (explicit map, then exact id, then case-insensitive id)."""
    present = set(columns)
    lower = {str(c).strip().casefold(): c for c in columns}
    out: dict[str, str] = {}
    for inst in instruments:
        for item in inst.items:
            if item.id in explicit and explicit[item.id] in present:
                out[item.id] = explicit[item.id]
            elif item.id in present:
                out[item.id] = item.id
            elif item.id.casefold() in lower:
                out[item.id] = lower[item.id.casefold()]
    return out


def plan_input(
    frame: pd.DataFrame,
    info: Mapping[str, Any],
    instruments: Sequence[Instrument],
    *,
    column_map: ColumnMap | None = None,
    id_column: str | None = None,
    answer_values: str | None = None,
    missing_codes: Sequence[float] = (),
    spss_values: str | None = None,
) -> InputPlan:
    """Decide the column map, id column and answer coding of an input.

    Parameters
    ----------
    frame : DataFrame, shape (n_rows, n_columns)
        The whole table, or the first chunk when streaming.
    info : mapping
        What :func:`~xinli_screen.io.readers.read_table` reported (``format``,
        ``value_labels``, FHIR ``item_codes`` ...).
    instruments : sequence of Instrument
    column_map : ColumnMap, optional
        From ``--columns``; its entries win over anything recognised.
    id_column : str, optional
        ``--id-column``; else the map's ``id_column``; else FHIR ``subject``; else the
        问卷星 guess (学号 fill-in column, or the custom link parameter ``自定义字段``).
    answer_values : {"auto", "sequence", "code"}, optional
        How numbers in 问卷星 item cells are read; else the map's; else ``auto``.
    missing_codes : sequence of float
        Extra missing codes (the map's are added).
    spss_values : {"codes", "labels"}, optional
        SPSS files: ``codes`` (default) takes the stored numbers as the codes; ``labels``
        maps them through their value labels. Labels that disagree with the item's option
        labels are reported per variable either way (a note, a
        :class:`~xinli_screen.errors.XinliScreenWarning` and the provenance).

    Returns
    -------
    InputPlan

    Raises
    ------
    ResponseDataError
        The id column is an IP-address column (never read), or an item or id column's
        header name is given more than once (docs/errors.md#duplicate-columns).
    AnswerValuesUndecidedError
        (a ResponseDataError) A 问卷星 download whose numbers fit both option positions and
        codes, with ``answer_values`` ``auto`` (docs/errors.md#wjx-undecided).
    ValueError
        ``spss_values`` is not ``codes`` or ``labels``.
    """
    cmap = column_map or ColumnMap({})
    frame, dropped = drop_ip_columns(frame)
    explicit = dict(cmap.columns)
    notes: list[str] = []
    prov: dict[str, Any] = {"format": info.get("format")}
    if dropped:
        notes.append(f"IP column dropped ({', '.join(dropped)}); it is never written")
    chosen_id = id_column or cmap.id_column
    if chosen_id is not None and chosen_id in dropped:
        raise ResponseDataError(f"id column {chosen_id!r} holds IP addresses, which are never "
                                "read; choose the 学号 column (see docs/cli.md#wjx-exports)")
    if (info.get("encoding") == "gb18030" and chosen_id is not None
            and chosen_id not in frame.columns):
        _refuse_big5(list(frame.columns), chosen_id)
    wjx = is_wjx(frame.columns)
    if info.get("format") == "fhir":
        found = fhir_item_columns(list(frame.columns), info, instruments)
        explicit = {**found, **explicit}
        notes.append(f"FHIR: {len(found)} item(s) matched by linkId or LOINC code")
        if chosen_id is None and frame[SUBJECT_COLUMN].notna().any():
            chosen_id = SUBJECT_COLUMN
    mode = None
    if wjx:
        prov["wjx"] = True
        resolved = _item_columns(list(frame.columns), explicit, instruments)
        if len(resolved) < sum(len(i.items) for i in instruments):
            guess = guess_columns(frame, instruments)
            added = {k: v for k, v in guess.columns.items()
                     if k not in resolved and v not in resolved.values()}
            explicit = {**added, **explicit}
            if added:
                notes.append(f"问卷星 export: {len(added)} item column(s) guessed from the "
                             "header; check them with 'xinli-screen columns guess' and save "
                             "the map")
            if chosen_id is None and guess.id_column is not None:
                chosen_id = guess.id_column
                notes.append(f"问卷星 export: id column {guess.id_column!r} guessed")
    items = _item_columns(list(frame.columns), explicit, instruments)
    dups = {**(info.get(DUPLICATES) or {}), **frame.attrs.get(DUPLICATES, {})}
    if dups:
        ids = {item.id.casefold() for inst in instruments for item in inst.items}
        used = {*items.values(), *explicit.values(), *([chosen_id] if chosen_id else [])}
        read = {name: where for name, where in dups.items()
                if name in used or name.casefold() in ids}
        if read:
            where = f"{info['source']}: " if info.get("source") else ""
            raise ResponseDataError(where + duplicate_message(read))
        notes.append(f"{len(dups)} header name(s) repeated in columns not scored (the repeats "
                     "are named NAME.1 ...)")
    by_id = {item.id: inst.response_scale_of(item) for inst in instruments
             for item in inst.items}
    scales = {col: by_id[item] for item, col in items.items()}
    values = answer_values or cmap.answer_values or "auto"
    if wjx or values != "auto":
        mode = detect_answer_values(frame, scales) if values == "auto" else values
        if mode == UNDECIDED:
            raise AnswerValuesUndecidedError(undecided_message())
        notes.append(f"answers read as {_MODE_TEXT[mode]}")
        prov["answer_values"] = mode
    labels = dict(info.get("value_labels") or {})
    spss = None
    if labels:
        spss = spss_values or "codes"
        if spss not in SPSS_VALUES:
            raise ValueError(f"spss_values must be one of {', '.join(SPSS_VALUES)}, not "
                             f"{spss!r}")
        stale = label_disagreements(labels, scales)
        prov["spss_values"] = spss
        prov["spss_label_disagreements"] = stale
        if stale:
            how = ("read as codes (the stored numbers); --spss-values labels maps them "
                   "through the labels" if spss == "codes" else
                   "read through the labels where every label names an option")
            text = (f"SPSS value labels disagree with the instrument's option labels in "
                    f"{len(stale)} variable(s), {how}: "
                    + "; ".join(f"{c}: {t}" for c, t in list(stale.items())[:10]))
            notes.append(text)
            warnings.warn(text, XinliScreenWarning, stacklevel=2)
    prov.update({"id_column": chosen_id, "dropped_columns": dropped,
                 "columns_from_input": {k: v for k, v in explicit.items()
                                        if k not in cmap.columns}})
    if info.get("encoding"):
        prov["encoding"] = info["encoding"]
    codes = (*cmap.missing_codes, *missing_codes)
    if mode is not None:  # 问卷星 -2 (skipped) and -3 (not shown) are kept, declared missing
        codes = (*codes, *(c for c in SKIP_CODES if c not in codes))
    return InputPlan(columns=explicit, id_column=chosen_id,
                     missing_codes=codes, answer_values=mode,
                     scales=scales, value_labels=labels, notes=notes, provenance=prov,
                     spss_values=spss)


def _refuse_big5(columns: list[object], id_column: str) -> None:
    """A header read as GB18030 lacks the id column but holds it when read as Big5: the
    file is Big5 (繁體), read as garbage. Only the header is re-read, never a cell."""
    raw = "\x1f".join(map(str, columns)).encode("gb18030", errors="replace")
    try:
        alt = raw.decode("big5").split("\x1f")
    except UnicodeDecodeError:
        return
    if id_column in [c.strip() for c in alt]:
        raise ResponseDataError(
            f"id column {id_column!r} is not in the header as read with GB18030/GBK, but is "
            "when the file is read as Big5 (繁體中文): the file is Big5-encoded; save it as "
            "'CSV UTF-8' or as .xlsx (see docs/errors.md#encoding)")


_MODE_TEXT = {"text": "option text (按选项文本)", "sequence": "option positions (按序号)",
              "code": "codes"}


def apply_plan(frame: pd.DataFrame, plan: InputPlan) -> pd.DataFrame:
    """Apply a plan to a table or one chunk: drop IP columns, resolve SPSS value labels,
    normalise 问卷星 answers. Rows are neither added, dropped nor reordered.

    Returns
    -------
    DataFrame, shape (n_rows, n_columns - dropped)
        Marked as prepared (``attrs[PLAN_APPLIED]``), so that :func:`xinli_screen.screen`
        does not normalise 问卷星 answers twice.
    """
    source = frame
    frame, _ = drop_ip_columns(frame)
    if plan.value_labels and plan.spss_values == "labels":
        frame, _ = resolve_value_labels(frame, plan.value_labels, plan.scales)
    if plan.answer_values is not None:
        frame, _ = normalise_answers(frame, plan.scales, plan.answer_values)
    out = numeric_codes(frame, plan.scales, plan.missing_codes)
    out = out.copy(deep=False) if out is source else out
    out.attrs[PLAN_APPLIED] = True
    return out


def numeric_codes(frame: pd.DataFrame, scales: Mapping[str, ResponseScale],
                  missing_codes: Sequence[float] = ()) -> pd.DataFrame:
    """Item columns of text that hold only valid codes, as float columns (a fast path).

    A text column (as CSV is read) is converted only when every non-empty cell parses as a
    number (pyarrow's strict cast: no spaces, no full-width digits, no labels) that is one of
    the item's codes or a declared missing code. Such a column scores exactly as its text
    would, with no failure either way, but skips the per-value text parsing (about 10x
    faster on 10^6 rows). Any other column is left as text for
    :func:`~xinli_screen.responses.prepare_responses`, which reports its bad cells with their
    text.

    Returns
    -------
    DataFrame
        The same frame, or a copy with some item columns as float64.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    new: dict[str, np.ndarray] = {}
    extra = [float(c) for c in missing_codes]
    for col, scale in scales.items():
        if col not in frame.columns:
            continue
        series = frame[col]
        if not (pd.api.types.is_object_dtype(series.dtype)
                or pd.api.types.is_string_dtype(series.dtype)):
            continue
        try:
            arrow = (pa.array(series.array) if pd.api.types.is_string_dtype(series.dtype)
                     and not pd.api.types.is_object_dtype(series.dtype)
                     else pa.array(series, type=pa.string(), from_pandas=True))
            if not pa.types.is_string(arrow.type) and not pa.types.is_large_string(arrow.type):
                continue
            values = pc.cast(arrow, pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
            continue
        values = np.where(pd.isna(values), np.nan, values).astype(float)
        allowed = [*scale.codes, *scale.missing_codes, *extra]
        if not np.all(np.isnan(values) | np.isin(values, allowed)):
            continue
        new[col] = values
    if not new:
        return frame
    out = frame.copy(deep=False)  # unchanged columns are shared, not copied
    for col, values in new.items():
        out[col] = values
    return out


def _typed_items(instruments: Sequence[Instrument], cmap: ColumnMap, id_column: str | None,
                 answer_values: str | None, missing_codes: Sequence[float]) -> Any:
    """For :func:`~xinli_screen.io.readers.read_table`: the header -> the item columns to read
    as numbers, each with the values :func:`numeric_codes` accepts (its codes, its missing
    codes and the declared ones). None of a 问卷星 export, nor when answers are re-coded."""
    if (answer_values or cmap.answer_values or "auto") != "auto":
        return None
    extra = [float(c) for c in (*cmap.missing_codes, *missing_codes)]
    by_id = {item.id: inst.response_scale_of(item) for inst in instruments
             for item in inst.items}
    skip = {id_column or cmap.id_column}

    def typed(header: Sequence[str]) -> dict[str, list[float]]:
        if is_wjx(header):
            return {}
        items = _item_columns(list(header), dict(cmap.columns), instruments)
        return {col: [*by_id[item].codes, *by_id[item].missing_codes, *extra]
                for item, col in items.items() if col not in skip}

    return typed


def load_answers(
    path: str | Path,
    instruments: Sequence[Instrument],
    *,
    column_map: ColumnMap | None = None,
    id_column: str | None = None,
    answer_values: str | None = None,
    missing_codes: Sequence[float] = (),
    spss_values: str | None = None,
    int_codes: bool = False,
) -> LoadedAnswers:
    """Read ``path`` and apply the export conventions; see :func:`plan_input`.

    ``int_codes``: CSV and Parquet item columns of whole codes as small integers instead of
    float64 (:func:`~xinli_screen.io.readers.read_table`), scored the same.

    Returns
    -------
    LoadedAnswers
        ``data`` has one row per input row, in file order.
    """
    frame, info = read_table(path, typed=_typed_items(
        instruments, column_map or ColumnMap({}), id_column, answer_values, missing_codes),
        int_codes=int_codes)
    plan = plan_input(frame, info, instruments, column_map=column_map, id_column=id_column,
                      answer_values=answer_values, missing_codes=missing_codes,
                      spss_values=spss_values)
    return LoadedAnswers(apply_plan(frame, plan), plan, info)


#: Columns the FHIR reader adds (re-exported for callers that write FHIR back).
FHIR_COLUMNS = (SUBJECT_COLUMN, RESPONSE_COLUMN)
