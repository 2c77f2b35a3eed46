"""Row-level assembly shared by every batch: status, validity verdict, review status, provenance.

Helpers of :class:`xinli_screen.backends.kernel.BatchKernel`; pure functions of one batch's
frames, no psychometrics of their own.
"""

from __future__ import annotations

import datetime as dt
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen import __version__
from xinli_screen._text import decode_text, join_text, text_at, text_where
from xinli_screen.errors import ResponseDataError
from xinli_screen.instrument.models import Instrument
from xinli_screen.instrument.registry import LoadedInstrument
from xinli_screen.norms import LoadedNormTable, NormTable, load_norms_with_hash
from xinli_screen.responses import NOTE_CODES

__all__ = ["careless_checks", "check_group_columns", "norm_tables", "provenance",
           "review_status", "row_status", "unreadable_critical", "validity_verdict"]

#: Row statuses in order of precedence (a later one wins); see ``result.STATUSES``.
_STATUS_PRECEDENCE = ("scored", "incomplete", "no_answers", "invalid_protocol", "invalid",
                      "duplicate_id", "missing_id")


def row_status(
    prepared_failures: pd.DataFrame,
    ids: pd.Series | None,
    responses: pd.DataFrame,
    scores: pd.DataFrame,
    verdict: pd.arrays.BooleanArray,
    instruments: Sequence[Instrument],
) -> tuple[pd.api.extensions.ExtensionArray, pd.api.extensions.ExtensionArray]:
    """Row status and its detail text; the text is built only for the rows that need one."""
    n = len(responses)
    short = []
    for inst in instruments:
        for scale in inst.scales:
            if scale.optional or scale.is_composite:
                continue
            name = f"{inst.id}.{scale.id}"
            answered = scores[f"{name}.n_answered"].to_numpy()
            short.append((name, answered, answered < scale.required_answers, scale))
    unscored = np.logical_or.reduce([m for _, _, m, _ in short]) if short else np.zeros(
        n, dtype=bool)
    cell_fail = prepared_failures[prepared_failures["item"].notna()
                                  & ~prepared_failures["code"].isin(NOTE_CODES)]
    invalid = np.zeros(n, dtype=bool)
    invalid[cell_fail["row"].to_numpy()] = True
    rows = np.flatnonzero(unscored | invalid)
    detail = np.full(len(rows), "", dtype=object)
    for name, answered, missing, scale in short:
        hit = missing[rows]
        tail = f"/{len(scale.items)} answered, needs {scale.required_answers}"
        text = text_where(len(rows), hit, lambda i, a=answered[rows], name=name, tail=tail:
                          f"{name}: " + a[i].astype(str).astype(object) + tail)
        detail = join_text(detail, text, hit)
    if len(cell_fail):
        per_row = cell_fail.groupby("row")["item"].agg(lambda s: ", ".join(sorted(set(s))))
        where = np.searchsorted(rows, per_row.index.to_numpy())
        text = np.full(len(rows), "", dtype=object)
        text[where] = ("invalid answer in " + per_row).to_numpy(dtype=object)
        bad = invalid[rows]
        detail = np.where(bad, join_text(text, detail, bad & (detail != "")), detail)
    no_answers = np.ones(n, dtype=bool)  # column by column: no copy of the answer matrix
    for name in responses.columns:
        no_answers &= responses[name].isna().to_numpy()
    code = np.zeros(n, dtype=np.int8)
    code[unscored] = 1
    code[no_answers] = 2
    code[(~verdict).fillna(False).to_numpy(dtype=bool)] = 3
    code[invalid] = 4
    if ids is not None:  # the id problems are already in the failures table
        for status, failure in ((5, "duplicate-id"), (6, "missing-id")):
            rows_with = prepared_failures.loc[prepared_failures["code"] == failure, "row"]
            code[rows_with.to_numpy()] = status
    return decode_text(code, _STATUS_PRECEDENCE), text_at(n, rows, detail)


def norm_tables(
    norms: Sequence[str | Path | NormTable], instruments: Sequence[Instrument]
) -> dict[str, LoadedNormTable]:
    """Load the chosen norm tables, keyed by instrument id (at most one per instrument)."""
    screened = {i.id for i in instruments}
    tables: dict[str, LoadedNormTable] = {}
    for ref in norms:
        loaded = load_norms_with_hash(ref)
        inst = loaded.table.instrument
        if inst not in screened:
            raise ValueError(f"norm table {loaded.table.id!r} is for {inst!r}, which is not "
                             f"among the screened instruments ({', '.join(sorted(screened))})")
        if inst in tables:
            raise ValueError(f"two norm tables chosen for {inst!r}: {tables[inst].table.id!r} "
                             f"and {loaded.table.id!r}; choose one")
        tables[inst] = loaded
    return tables


def check_group_columns(tables: Mapping[str, LoadedNormTable], data: pd.DataFrame,
                        group_columns: Mapping[str, str] | None) -> None:
    """Refuse an input that lacks a norm table's group columns (ResponseDataError)."""
    for loaded in tables.values():
        wanted = {v: (group_columns or {}).get(v, v) for v in loaded.table.variable_ids}
        absent = {v: c for v, c in wanted.items() if c not in data.columns}
        if absent:
            pairs = ", ".join(f"{v} (looked for column {c!r})" for v, c in absent.items())
            raise ResponseDataError(
                f"norm table {loaded.table.id!r} groups by {pairs}, which the input lacks; "
                "name the columns with group_columns / --group-column sex=性别 "
                "(see docs/norms.md)")


def careless_checks(responses: pd.DataFrame, data: pd.DataFrame,
                    careless: bool | Mapping[str, float | None], time_column: str | None,
                    lang: str, moments: Any = None) -> pd.DataFrame:
    """Careless-responding checks (opt-in); an empty frame when none is asked for.

    ``moments`` (:class:`xinli_screen.validity.ItemMoments` of the whole input) makes the
    whole-sample indices of a batch those of the whole input (a streamed run's pass 2).
    """
    if not careless and time_column is None:
        return pd.DataFrame(index=range(len(responses)))
    from xinli_screen.validity import DEFAULT_THRESHOLDS, careless_screen  # loads scipy
    if careless is True:
        thresholds: dict[str, float | None] = {}
    elif careless:
        thresholds = dict(careless)
    else:  # only the response-time check
        keep = {"seconds_per_item", "min_seconds", "psychsyn_critval", "psychant_critval"}
        thresholds = {k: None for k in DEFAULT_THRESHOLDS if k not in keep}
    if time_column is not None and time_column not in data.columns:
        raise ResponseDataError(f"time column {time_column!r} is not in the input "
                                "(see docs/errors.md#id-column)")
    times = None if time_column is None else data[time_column].reset_index(drop=True)
    return careless_screen(responses.reset_index(drop=True), thresholds,
                           response_times=times, lang=lang, moments=moments)


def validity_verdict(
    lie: pd.DataFrame, checks: pd.DataFrame, instruments: Sequence[Instrument], lang: str
) -> tuple[pd.arrays.BooleanArray, pd.api.extensions.ExtensionArray]:
    """Combine validity scales (lie scales) and careless checks into ``protocol_valid``.

    False when any check fired, True when every check was decided and none fired, NA when
    none fired but one could not be decided. Never affects critical items or tiers.
    """
    n = len(lie)
    flags = lie.fillna(False).to_numpy(dtype=bool) if lie.shape[1] else np.zeros((n, 0), bool)
    fired = flags.any(axis=1)
    unknown = lie.isna().to_numpy().any(axis=1) if lie.shape[1] else np.zeros(n, dtype=bool)
    extra = (checks["validity_reasons"].to_numpy(dtype=object) if "protocol_valid" in
             checks.columns else np.full(n, "", dtype=object))
    rows = np.flatnonzero(fired | (extra != ""))
    text = np.full(len(rows), "", dtype=object)
    meanings = {f"{i.id}.{c.id}": c.meaning.get(lang) for i in instruments
                for c in i.validity_checks}
    for j, col in enumerate(lie.columns):
        hit = flags[rows, j]
        text = join_text(text, np.full(len(rows), meanings[col], dtype=object), hit)
    if "protocol_valid" in checks.columns:
        verdict = checks["protocol_valid"].reset_index(drop=True)
        fired |= (~verdict).fillna(False).to_numpy(dtype=bool)
        unknown |= verdict.isna().to_numpy()
        text = join_text(text, extra[rows], extra[rows] != "")
    valid = pd.arrays.BooleanArray(~fired, unknown & ~fired)
    return valid, text_at(n, rows, text)


def review_status(tier: np.ndarray, valid: pd.arrays.BooleanArray,
                  unreadable: np.ndarray,
                  critical: np.ndarray | None = None) -> pd.api.extensions.ExtensionArray:
    """``retest`` for an invalid protocol; ``pending_review`` (待复核) above tier none, and
    whenever a critical item's answer could not be read or is unknown (unanswered, skipped,
    not shown), unless the policy says ``unknown_critical_item: none``: a person must look
    at the sheet. A positive critical item (``critical`` true) or an unreadable one is
    ``pending_review`` even on an invalid protocol: a positive critical answer is never
    hidden behind a retest (issue 15)."""
    code = ((tier > 0) | unreadable).astype(np.int8)
    retest = (~valid).fillna(False).to_numpy(dtype=bool) & ~unreadable
    if critical is not None:
        retest &= ~critical
    code[retest] = 2
    return decode_text(code, ["not_required", "pending_review", "retest"])


def unreadable_critical(failures: pd.DataFrame, instruments: Sequence[Instrument],
                        n: int) -> np.ndarray:
    """Rows where a critical item's cell was present but not a valid answer."""
    items = {c.item for inst in instruments for c in inst.critical_items}
    bad = failures["item"].isin(items) & ~failures["code"].isin(NOTE_CODES)
    rows = failures.loc[bad, "row"].to_numpy()
    out = np.zeros(n, dtype=bool)
    out[rows] = True
    return out


def provenance(
    loaded: Sequence[LoadedInstrument], policy: Any, inactive: list[str], extra: dict[str, Any]
) -> dict[str, Any]:
    """Provenance of a result: package, time, instruments and policy with their hashes, and
    ``extra`` (options and input facts)."""
    return {
        "package": "xinli-screen",
        "package_version": __version__,
        "python": platform.python_version(),
        "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "instruments": [
            {"id": li.instrument.id, "version": li.instrument.version, "sha256": li.sha256,
             "source": li.path.name}
            for li in loaded
        ],
        "policy": {"id": policy.policy.id, "version": policy.policy.version,
                   "sha256": policy.sha256, "source": Path(policy.path).name,
                   "inactive_rules": inactive},
        **extra,
    }
