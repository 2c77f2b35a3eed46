"""Import filled return sheets (复核回执): reviews and actions of many pupils in one step.

Every row is checked before anything is stored (:func:`check_rows`): the pupil must be in
the archive and have a result in the sheet's wave, the wave cell must name that wave, the
outcome, tier and measures must be among the allowed values, a tier change must give the
new tier, the reviewer and the date must be there and the date must not lie in the future,
a date before the pupil was listed is refused, 复核未确认 may only lower the tier, and a
pupil not on the wave's warning list needs 名单外学生 = 是. A row with only its
pre-filled cells is not yet reviewed and is skipped.

By default a sheet with any invalid row is refused whole (:class:`ReviewImportError` lists
every row, with its sheet row number and column); ``skip_invalid=True`` stores the valid rows
and returns the rest. Either way a row is never half-applied: its review and actions are
stored together. Each stored review and action carries the fingerprint of its content, so
importing the same sheet again adds nothing (idempotent). Who imported which file, with its
SHA-256 and the counts, goes to the audit trail. Messages never contain a pupil id or name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from xinli_screen.archive.followup import BulkEntry, local_date
from xinli_screen.archive.models import ACTION_KINDS
from xinli_screen.errors import XinliScreenError
from xinli_screen.followup.return_sheet import (
    FILLED_BY_HAND,
    RETURN_COLUMNS,
    parse_date,
    read_return_sheet,
)
from xinli_screen.policy.history import REVIEW_OUTCOMES
from xinli_screen.policy.models import TIER_ORDER

__all__ = ["ReviewImport", "ReviewImportError", "RowError", "check_rows",
           "import_return_sheets"]

_SPLIT = "、,，;；/／+＋ "
_TIER_RANK = {t: k for k, t in enumerate(TIER_ORDER)}
_YES = {"是", "yes", "y", "true", "1", "√"}
_NO = {"否", "no", "n", "false", "0"}


@dataclass(frozen=True)
class RowError:
    """One invalid row: file, sheet row (as Excel shows it), column header and why."""

    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file} 第{self.row}行 [{self.column}]: {self.message}"


class ReviewImportError(XinliScreenError, ValueError):
    """Invalid rows in return sheets; nothing was stored.

    Attributes
    ----------
    errors : list of RowError
    """

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        shown = "\n".join(f"  {e}" for e in self.errors[:50])
        more = f"\n  ... and {len(self.errors) - 50} more" if len(self.errors) > 50 else ""
        super().__init__(f"{len(self.errors)} invalid row(s); nothing was imported. Correct "
                         f"them and import again (rows already imported are skipped):\n"
                         f"{shown}{more}")


@dataclass
class ReviewImport:
    """What an import did.

    Attributes
    ----------
    wave : str
    files : list of str
    rows : int
        Rows below the header (including empty spare rows).
    not_reviewed : int
        Rows with nothing filled in by hand (skipped).
    valid : int
        Rows that passed every check.
    reviews, actions : int
        Reviews and actions stored now.
    already_imported : int
        Reviews and actions skipped because the same row was imported before.
    replaced : int
        Pupils whose earlier review of this wave had another outcome: the new review
        counts from now on (both stay in the pupil file).
    errors : list of RowError
        Invalid rows (only with ``skip_invalid``; otherwise the import raised).
    """

    wave: str
    files: list[str] = field(default_factory=list)
    rows: int = 0
    not_reviewed: int = 0
    valid: int = 0
    reviews: int = 0
    actions: int = 0
    already_imported: int = 0
    replaced: int = 0
    errors: list[RowError] = field(default_factory=list)


def _clean_id(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def _text(value: Any) -> str:
    return "" if value is None else unicodedata.normalize("NFKC", str(value)).strip()


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps([str(p) for p in parts], ensure_ascii=False)
                          .encode("utf-8")).hexdigest()


def _measures(text: str) -> list[str] | None:
    """Action kinds named in a 干预措施 cell, or None if one is not allowed."""
    by_word = {v: k for k, v in ACTION_KINDS.items()} | {k: k for k in ACTION_KINDS}
    by_word["转介"] = "referral"
    tokens = [text]
    for sep in _SPLIT:
        tokens = [p for t in tokens for p in t.split(sep)]
    kinds = []
    for tok in (t.strip() for t in tokens):
        if not tok:
            continue
        if tok not in by_word:
            return None
        kinds.append(by_word[tok])
    return list(dict.fromkeys(kinds))


def check_rows(rows: pd.DataFrame, *, file: str, wave: str, labels: Mapping[str, str],
               today: dt.date, resolve: Any, wave_pupils: set[str], listed: set[str],
               listed_tier: Mapping[str, str] | None = None,
               listed_on: Mapping[str, dt.date] | None = None,
               ) -> tuple[list[BulkEntry], list[RowError], int]:
    """Check the rows of one return sheet and turn the valid ones into entries.

    Parameters
    ----------
    rows : DataFrame
        From :func:`~xinli_screen.followup.return_sheet.read_return_sheet`.
    file : str
        File name for the messages.
    wave : str
        The wave the rows must belong to.
    labels : mapping tier -> label
        The wave's tier labels (the allowed 调整后级别 values; tier ids are accepted too).
    today : date
        Local date of the import; a later 复核日期 is refused.
    resolve : callable str -> str or None
        School id -> stored key (None: not in the archive).
    wave_pupils : set of str
        Stored keys with a result in ``wave``.
    listed : set of str
        Stored keys on the wave's warning list, or flagged by any sheet of the wave (a list
        handed out before a retest lowered the tier).
    listed_tier : mapping key -> tier, optional
        The tier each pupil was listed with; 复核未确认 may only give a lower tier.
    listed_on : mapping key -> date, optional
        The local date each pupil was listed; an earlier 复核日期 is refused (the clock of
        the follow-up list starts then).

    Returns
    -------
    (entries, errors, not_reviewed)
        Entries of the valid rows (a review and/or actions per row), one error per problem
        found, and the number of rows left blank.
    """
    outcome_by_word = {v: k for k, v in REVIEW_OUTCOMES.items()} | {k: k for k in
                                                                   REVIEW_OUTCOMES}
    tier_by_word = {v: k for k, v in labels.items()} | {t: t for t in TIER_ORDER}
    entries: list[BulkEntry] = []
    errors: list[RowError] = []
    blank = 0
    seen: dict[str, tuple[str, int]] = {}
    for rec in rows.to_dict(orient="records"):
        row = int(rec["sheet_row"])
        if all(rec.get(c) is None for c in FILLED_BY_HAND):
            blank += 1
            continue
        errs: list[tuple[str, str]] = []

        def bad(col: str, msg: str, errs: list[tuple[str, str]] = errs) -> None:
            errs.append((RETURN_COLUMNS[col], msg))

        sheet_wave = _text(rec.get("wave"))
        if sheet_wave and sheet_wave != wave:
            bad("wave", f"this row belongs to wave {sheet_wave!r}, not {wave!r}")
        key = None
        if rec.get("pupil_id") is None:
            bad("pupil_id", "no pupil id")
        else:
            key = resolve(_clean_id(rec["pupil_id"]))
            if key is None:
                hint = ("; the cell is a number: were leading zeros lost? Format the 学号 "
                        "column as text and type the id again"
                        if isinstance(rec["pupil_id"], (int, float)) else "")
                bad("pupil_id", "no pupil with this id in the archive" + hint)
            elif key not in wave_pupils:
                bad("pupil_id", f"the pupil has no result in wave {wave!r}")
            elif key not in listed and _text(rec.get("off_list")).lower() not in _YES:
                bad("off_list", "the pupil is not on this wave's warning list; to record a "
                    "review anyway, write 是 in 名单外学生")
        outcome = None
        if rec.get("outcome") is not None:
            outcome = outcome_by_word.get(_text(rec["outcome"]))
            if outcome is None:
                bad("outcome", "not an allowed outcome; use one of "
                    + " / ".join(REVIEW_OUTCOMES.values()))
        tier = None
        if rec.get("new_tier") is not None:
            tier = tier_by_word.get(_text(rec["new_tier"]))
            if tier is None:
                bad("new_tier", "not an allowed tier; use one of "
                    + " / ".join(labels.get(t, t) for t in TIER_ORDER))
            elif outcome in ("confirmed", "closed"):
                bad("new_tier", "a new tier goes with 复核调整级别 or 复核未确认, not with "
                    f"{REVIEW_OUTCOMES[outcome]}")
            elif outcome == "not_confirmed" and key is not None and listed_tier and \
                    _TIER_RANK[tier] >= _TIER_RANK.get(listed_tier.get(key, "none"), 0):
                bad("new_tier", "复核未确认 lowers the warning: the new tier must be below "
                    "the listed one (to raise it, use 复核调整级别)")
        if outcome == "tier_changed" and tier is None and rec.get("new_tier") is None:
            bad("new_tier", "复核调整级别 needs the new tier")
        kinds: list[str] = []
        if rec.get("measures") is not None:
            found = _measures(_text(rec["measures"]))
            if found is None:
                bad("measures", "not an allowed measure; use "
                    + " / ".join(ACTION_KINDS.values()) + " (several joined with 、)")
            else:
                kinds = found
        if rec.get("referral") is not None:
            yn = _text(rec["referral"]).lower()
            if yn in _YES:
                kinds = [*kinds, "referral"] if "referral" not in kinds else kinds
            elif yn not in _NO:
                bad("referral", "write 是 or 否")
        if outcome is None and not kinds and rec.get("outcome") is None \
                and rec.get("measures") is None and rec.get("referral") is None:
            bad("outcome", "a 复核结果 or a 干预措施 is needed (a row with only a note, "
                "reviewer or date records nothing)")
        by = _text(rec.get("by"))
        if not by:
            bad("by", "who reviewed or acted is required")
        on = parse_date(rec.get("on_date")) if rec.get("on_date") is not None else None
        if rec.get("on_date") is None:
            bad("on_date", "the date is required")
        elif on is None:
            bad("on_date", "not a date (write e.g. 2026-09-20)")
        elif on > today:
            bad("on_date", f"a date in the future ({on.isoformat()} is after {today})")
        elif key is not None and listed_on and key in listed_on and on < listed_on[key]:
            bad("on_date", f"{on.isoformat()} is before the pupil was put on this wave's list "
                f"({listed_on[key].isoformat()})")
        if key is not None and outcome is not None and not errs:
            prev = seen.get(key)
            if prev is not None and prev[0] != outcome:
                bad("outcome", f"the same pupil has another outcome on row {prev[1]}")
            seen[key] = (outcome, row)
        if errs or key is None or on is None:  # a missing key or date always left an error
            errors.extend(RowError(file, row, col, msg) for col, msg in errs)
            continue
        note = _text(rec.get("note"))
        if outcome is not None:
            entries.append(BulkEntry(key, "review", outcome, tier, by, on, note,
                                     _fingerprint(wave, key, "review", outcome, tier, by,
                                                  on, note)))
        for kind in kinds:
            entries.append(BulkEntry(key, kind, None, None, by, on, note,
                                     _fingerprint(wave, key, "action", kind, by, on)))
    return entries, errors, blank


def import_return_sheets(store: Any, paths: Sequence[str | Path], *, by: str,
                         wave: str | None = None, skip_invalid: bool = False,
                         today: dt.date | None = None) -> ReviewImport:
    """Import filled return sheets into the pupil file.

    Parameters
    ----------
    store : ArchiveStore
    paths : sequence of path
        Filled ``复核回执_*.xlsx`` files of one wave.
    by : str
        Who imports (audit trail).
    wave : str, optional
        The wave; default: the one named in the sheets' 测评批次 column on most rows (rows
        naming another wave are invalid).
    skip_invalid : bool
        Store the valid rows and return the invalid ones instead of refusing everything.
    today : date, optional
        Local date of the import (default: today in the wave's time zone); later dates
        are refused.

    Returns
    -------
    ReviewImport

    Raises
    ------
    ReviewImportError
        Invalid rows and ``skip_invalid`` is false: nothing was stored.
    ReturnSheetError
        A file is not a return sheet, or the wave cannot be told from the sheets.
    ArchiveError
        Unknown wave.
    """
    from xinli_screen.followup.return_sheet import ReturnSheetError
    from xinli_screen.followup.todo import listed_mask

    sheets = [(Path(p), read_return_sheet(p)) for p in paths]
    if wave is None:
        named = pd.Series([_text(v) for _, r in sheets if "wave" in r for v in r["wave"]
                           if v is not None], dtype=object).value_counts()
        if not len(named) or named.iloc[0] * 2 <= named.sum():
            raise ReturnSheetError("cannot tell the wave from the sheets' 测评批次 column "
                                   f"(no value on most rows among {len(named)}); give --wave")
        wave = str(named.index[0])  # rows naming another wave are reported
    policy = store.wave_policy(wave)
    labels = {t: policy.tiers.spec(t).label.get("zh") for t in TIER_ORDER}
    zone = store.wave_info(wave)["timezone"]
    today = today or local_date(store.clock(), zone) or dt.date.today()
    table = store.wave_table(wave)
    mask = listed_mask(table)
    listed = set(table.loc[mask, "pupil_id"].astype(str))
    # a pupil listed on an earlier list of this wave (before a retest or a corrected file
    # lowered the tier) had a warning when the sheet was handed out
    stored_sheets = store.sheets(wave)
    if len(stored_sheets):
        flagged = stored_sheets["warning_tier"].astype(str).ne("none") | \
            stored_sheets["critical_items"].fillna("").astype(str).ne("")
        listed |= set(stored_sheets.loc[flagged, "pupil_key"].astype(str))
    listed_tier = dict(zip(table["pupil_id"].astype(str),
                           (table["tier_before_review"] if "tier_before_review" in table
                            else table["warning_tier"]).astype(str), strict=True))
    frames = store.follow_up_frames(wave)
    starts = frames["starts"]
    listed_on = ({str(k): starts.get(None if pd.isna(p) else int(p), starts[None])
                  for k, p in zip(table["pupil_id"], table["part_id"], strict=True)}
                 if "part_id" in table else {})
    before = frames["reviews"].sort_values("at", kind="stable").groupby("pupil_id")[
        "outcome"].last().to_dict() if len(frames["reviews"]) else {}
    wave_pupils = store.wave_pupils(wave)
    known = store.known_pupils()
    report = ReviewImport(wave=wave)
    per_file: list[tuple[Path, list[BulkEntry]]] = []
    for path, rows in sheets:
        entries, errors, blank = check_rows(
            rows, file=path.name, wave=wave, labels=labels, today=today,
            resolve=lambda pid: store.store_key(pid, known), wave_pupils=wave_pupils,
            listed=listed, listed_tier=listed_tier, listed_on=listed_on)
        report.files.append(path.name)
        report.rows += len(rows)
        report.not_reviewed += blank
        bad_rows = {e.row for e in errors}
        report.valid += len(rows) - blank - len(bad_rows)
        report.errors.extend(errors)
        per_file.append((path, entries))
    if report.errors and not skip_invalid:
        raise ReviewImportError(report.errors)
    stored = store.existing_source_keys(wave)
    report.replaced = len({e.pupil_key for _, entries in per_file for e in entries
                           if e.kind == "review" and e.source_key not in stored
                           and before.get(e.pupil_key) not in (None, e.outcome)})
    for path, entries in per_file:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        added = store.add_bulk(wave, entries, by=by, source={
            "file": path.name, "sha256": digest,
            "invalid_rows": sum(1 for e in report.errors if e.file == path.name)})
        report.reviews += added["reviews"]
        report.actions += added["actions"]
        report.already_imported += added["already_imported"]
    return report
