"""``screen()``: compose the stages (responses -> scoring -> policy) into one result.

This module holds no psychometrics of its own; each stage is importable and usable alone.
"""

from __future__ import annotations

import datetime as dt
import platform
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from xinli_screen import __version__
from xinli_screen._text import decode_text, join_text, text_at, text_where
from xinli_screen.code_offsets import (
    check_code_offsets,
    resolve_answer_values,
    shift_for,
)
from xinli_screen.errors import PolicyDefinitionError, ResponseDataError, XinliScreenWarning
from xinli_screen.instrument.models import Instrument
from xinli_screen.instrument.registry import LoadedInstrument, load_instrument_with_hash
from xinli_screen.norms import (
    LoadedNormTable,
    NormTable,
    apply_norms,
    load_norms_with_hash,
    map_groups,
)
from xinli_screen.policy.engine import (
    PolicyOutcome,
    bind_policy,
    evaluate_policy,
    extra_columns,
    uses_norm_scores,
)
from xinli_screen.policy.loader import load_policy
from xinli_screen.policy.models import TIER_ORDER, Policy
from xinli_screen.responses import (
    NOTE_CODES,
    SOURCE_REF_COLUMN,
    PreparedResponses,
    locate_failures,
    prepare_responses,
    source_refs,
)
from xinli_screen.result import ScreeningResult
from xinli_screen.scoring import critical_item_flags, score_with_bounds, validity_flags

__all__ = ["STAGES", "screen", "screen_with_responses"]

#: Stages reported to the ``progress`` callback, in order.
STAGES = ("parse", "score", "policy", "assemble")


#: Row statuses in order of precedence (a later one wins); see ``result.STATUSES``.
_STATUS_PRECEDENCE = ("scored", "incomplete", "no_answers", "invalid_protocol", "invalid",
                      "duplicate_id", "missing_id")


def _status(
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
    x = responses.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        no_answers = np.isnan(np.fmax.reduce(x, axis=1)) if x.shape[1] else np.ones(n, bool)
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


def _norm_tables(
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


def _check_group_columns(tables: Mapping[str, LoadedNormTable], data: pd.DataFrame,
                         group_columns: Mapping[str, str] | None) -> None:
    for loaded in tables.values():
        wanted = {v: (group_columns or {}).get(v, v) for v in loaded.table.variable_ids}
        absent = {v: c for v, c in wanted.items() if c not in data.columns}
        if absent:
            pairs = ", ".join(f"{v} (looked for column {c!r})" for v, c in absent.items())
            raise ResponseDataError(
                f"norm table {loaded.table.id!r} groups by {pairs}, which the input lacks; "
                "name the columns with group_columns / --group-column sex=性别 "
                "(see docs/norms.md)")


def _careless(responses: pd.DataFrame, data: pd.DataFrame,
              careless: bool | Mapping[str, float | None], time_column: str | None,
              lang: str) -> pd.DataFrame:
    """Careless-responding checks (opt-in); an empty frame when none is asked for."""
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
                           response_times=times, lang=lang)


def _validity_verdict(
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


def _review_status(tier: np.ndarray, valid: pd.arrays.BooleanArray,
                   unreadable_critical: np.ndarray,
                   critical: np.ndarray | None = None) -> pd.api.extensions.ExtensionArray:
    """``retest`` for an invalid protocol; ``pending_review`` (待复核) above tier none, and
    whenever a critical item's answer could not be read or is unknown (unanswered, skipped,
    not shown), unless the policy says ``unknown_critical_item: none``: a person must look
    at the sheet. A positive critical item (``critical`` true) or an unreadable one is
    ``pending_review`` even on an invalid protocol: a positive critical answer is never
    hidden behind a retest (issue 15)."""
    code = ((tier > 0) | unreadable_critical).astype(np.int8)
    retest = (~valid).fillna(False).to_numpy(dtype=bool) & ~unreadable_critical
    if critical is not None:
        retest &= ~critical
    code[retest] = 2
    return decode_text(code, ["not_required", "pending_review", "retest"])


def _unreadable_critical(failures: pd.DataFrame, instruments: Sequence[Instrument],
                         n: int) -> np.ndarray:
    """Rows where a critical item's cell was present but not a valid answer."""
    items = {c.item for inst in instruments for c in inst.critical_items}
    bad = failures["item"].isin(items) & ~failures["code"].isin(NOTE_CODES)
    rows = failures.loc[bad, "row"].to_numpy()
    out = np.zeros(n, dtype=bool)
    out[rows] = True
    return out


def _check_offsets(prepared: PreparedResponses, instruments: Sequence[Instrument],
                   modes: Mapping[str, str]) -> list[Any]:
    """Evidence of shifted codes; refused where the instrument's mode is ``auto`` (or a
    问卷星 reading), warned about where the user chose ``code`` or a shift."""
    return check_code_offsets(prepared.responses, prepared.failures, instruments, modes,
                              shifts=shift_for(modes, instruments), stacklevel=3)


def _provenance(
    loaded: Sequence[LoadedInstrument], policy: Any, inactive: list[str], extra: dict[str, Any]
) -> dict[str, Any]:
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


def screen(
    data: pd.DataFrame | Any,
    instruments: Sequence[str | Path | Instrument],
    *,
    id_column: str | None = None,
    columns: Mapping[str, str] | None = None,
    policy: str | Path | Policy = "default",
    missing_codes: Iterable[float] = (),
    lang: Literal["zh", "en"] = "zh",
    norms: Sequence[str | Path | NormTable] = (),
    group_columns: Mapping[str, str] | None = None,
    careless: bool | Mapping[str, float | None] = False,
    time_column: str | None = None,
    progress: Callable[[str], None] | None = None,
    answer_values: str | Mapping[str, str] | None = None,
) -> ScreeningResult:
    """Score answer sheets and assign warning tiers with reasons.

    Parameters
    ----------
    data : DataFrame or dask DataFrame, shape (n_rows, n_columns)
        One row per answer sheet (rows = respondents); item columns named like the item ids
        (``phq9_01``) or mapped with ``columns``. Cells may be codes, numeric text or option
        labels (``"好几天"``, ``"A.完全不会"``). A dask DataFrame is screened partition by
        partition on its scheduler (:func:`xinli_screen.distributed.screen_dask`; needs
        ``pip install 'xinli-screen[dask]'``); the result is a pandas result equal to the
        pandas path row for row. A 问卷星 download read with pandas (three or more of its
        metadata columns such as ``序号``, ``提交答卷时间``, ``所用时间``) is read as
        ``xinli-screen score`` reads the file: ``(跳过)``/``(空)``/-2/-3 are unanswered,
        option letters are stripped, 按序号 positions become codes, and item and id columns
        not given are guessed from the header (with a warning); a table prepared by
        :func:`xinli_screen.io.load_answers` is taken as it is.
    instruments : sequence of str, Path or Instrument
        Bundled ids (``"phq9"``), YAML paths, or models.
    id_column : str, optional
        Respondent id column, kept as text (leading zeros survive).
    columns : mapping item id -> column, optional
    policy : str, Path or Policy
        Warning policy, bundled id (``"default"``) or path.
    missing_codes : iterable of numbers
        Codes meaning "no answer" in this data set (NHANES: 7 refused, 9 don't know).
    lang : {"zh", "en"}
        Language of ``warning_label`` and ``reasons`` in the table (the reasons table holds
        both).
    norms : sequence of str, Path or NormTable
        Norm tables (bundled ids such as ``"cesd_zhang2010_urban"``, paths, or models), at
        most one per instrument; each adds ``{instrument}.{scale}.z``, ``.t``, ``.percentile``,
        ``.stanine``, ``.sten``, ``.norm_status`` and ``{instrument}.norm_group``,
        ``.norm_status``, ``.norm_table`` (see :func:`xinli_screen.norms.apply_norms`).
    group_columns : mapping norm variable -> column, optional
        Where the norm-group variables are (``{"sex": "性别", "grade": "年级"}``); default:
        columns named like the variables.
    careless : bool or mapping, default False
        Careless-responding checks over all screened items
        (:func:`xinli_screen.validity.careless_screen`): True for the documented defaults, a
        mapping to override thresholds (``None`` switches a check off). Off by default: on
        short symptom scales an all-zero or all-maximum protocol is plausible and honest.
        Adds ``careless.*`` index columns.
    time_column : str, optional
        Completion-time column (e.g. the 问卷星 ``所用时间``: seconds or ``"2分3秒"``); flags
        protocols faster than ``seconds_per_item`` x items (default 2 s) or ``min_seconds``.
    progress : callable, optional
        Called with each stage name of :data:`STAGES` as it starts.
    answer_values : str or mapping instrument id -> str, optional
        How the numbers in item cells are read, for every instrument or per instrument
        (:data:`xinli_screen.code_offsets.OFFSET_MODES`): ``auto`` (default) checks every
        instrument for answers that look like its codes shifted by one
        (:func:`xinli_screen.code_offsets.detect_code_offsets`) and refuses them with
        :class:`~xinli_screen.code_offsets.CodeOffsetError`; ``code`` scores the numbers as
        they are (a suspected offset is only warned about); ``shift-down`` subtracts 1 from
        every number (a file coded 1-4 for a 0-3 instrument), ``shift-up`` adds 1. For a
        问卷星 download ``text`` / ``sequence`` / ``code`` also say how its cells are read.
        The choice and any evidence are recorded in the provenance (``answer_values``,
        ``code_offsets``).

    Returns
    -------
    ScreeningResult
        ``table`` has exactly one row per input row, in input order. ``failures`` has the
        columns :data:`~xinli_screen.responses.RESULT_FAILURE_COLUMNS`: ``row`` (0-based
        position), ``file_row`` (the row in the input file, header = row 1) and
        ``source_ref`` (``"序号 17"`` when the input has the 问卷星 ``序号`` column) before
        ``id``, ``item``, ``column``, ``code``, ``value``.

    Raises
    ------
    FileNotFoundError
        Unknown instrument or policy id / path.
    InstrumentDefinitionError, PolicyDefinitionError
        A definition is malformed, or the policy names a scale/item the screened
        instruments lack.
    ResponseDataError
        The id column or a mapped column is absent, or no item of an instrument has a column.
    CodeOffsetError
        (a ResponseDataError) With ``answer_values`` ``auto``: an instrument's answers look
        like its codes shifted by one (the message names the instrument and the evidence).
    NormDefinitionError, NormMismatchError
        A norm table is malformed, or does not fit the instrument (other metric or scale).

    Examples
    --------
    >>> import pandas as pd, xinli_screen as xs
    >>> df = pd.DataFrame({"sid": ["007"], **{f"phq9_0{i}": [1] for i in range(1, 10)}})
    >>> r = xs.screen(df, ["phq9"], id_column="sid", lang="en")
    >>> r.table.loc[0, ["sid", "phq9.total", "phq9.total.band", "warning_tier"]].tolist()
    ['007', 9.0, 'mild', 'school']
    """
    if _is_dask(data):
        from xinli_screen.distributed import screen_dask

        result = screen_dask(data, instruments, id_column=id_column, columns=columns,
                             policy=policy, missing_codes=missing_codes, lang=lang,
                             norms=norms, group_columns=group_columns, careless=careless,
                             time_column=time_column)
        # each partition numbered its rows from 0: file rows and 序号 from the whole table
        refs = (source_refs(data[[SOURCE_REF_COLUMN]].compute())
                if SOURCE_REF_COLUMN in data.columns else None)
        object.__setattr__(result, "failures", locate_failures(result.failures, refs))
        return result
    missing_codes = tuple(missing_codes)
    wjx = _wjx_input(data, instruments, id_column, columns, missing_codes,
                     answer_values if answer_values in ("text", "sequence", "code") else None)
    plan = None
    if wjx is not None:
        data, plan = wjx
        id_column, columns = plan.id_column, plan.columns or None
        missing_codes = plan.missing_codes
    result = screen_with_responses(
        data, instruments, id_column=id_column, columns=columns, policy=policy,
        missing_codes=missing_codes, lang=lang, norms=norms, group_columns=group_columns,
        careless=careless, time_column=time_column, progress=progress,
        answer_values=answer_values)[0]
    if plan is not None:
        result.provenance["input"] = plan.provenance
    return result


def _wjx_input(data: pd.DataFrame, instruments: Sequence[str | Path | Instrument],
               id_column: str | None, columns: Mapping[str, str] | None,
               missing_codes: tuple[float, ...],
               answer_values: str | None = None) -> tuple[pd.DataFrame, Any] | None:
    """A 问卷星 download read with pandas, prepared as the CLI prepares the file.

    :func:`xinli_screen.io.source.plan_input` (item and id columns guessed from the header
    when not given; answers read as option text, 按序号 positions or codes) and
    :func:`~xinli_screen.io.source.apply_plan` (``(跳过)``/``(空)``/-2/-3 unanswered, option
    letters stripped, positions as codes, IP columns dropped). Returns (table, plan), or None
    for any other table and for a table ``apply_plan`` (``load_answers``) already prepared.
    """
    from xinli_screen.io.source import PLAN_APPLIED
    from xinli_screen.io.wjx import is_wjx

    if data.attrs.get(PLAN_APPLIED) or not is_wjx(data.columns):
        return None
    from xinli_screen.instrument.registry import load_instrument
    from xinli_screen.io.column_map import ColumnMap
    from xinli_screen.io.source import apply_plan, plan_input

    if isinstance(instruments, (str, Path, Instrument)):
        instruments = [instruments]
    insts = [i if isinstance(i, Instrument) else load_instrument(i) for i in instruments]
    plan = plan_input(data, {"format": "dataframe"}, insts,
                      column_map=ColumnMap(columns=dict(columns or {})), id_column=id_column,
                      answer_values=answer_values, missing_codes=missing_codes)
    for note in plan.notes:
        if "guessed" in note:
            warnings.warn(note, XinliScreenWarning, stacklevel=3)
    return apply_plan(data, plan), plan


#: Output columns that an input id column may not be named like.
RESULT_COLUMNS = frozenset({
    "status", "status_detail", "critical_items", "critical_unknown", "protocol_valid",
    "validity_reasons",
    "warning_tier", "warning_label", "review_status", "tier_settled", "reasons", "reason_codes",
})


def _is_dask(data: Any) -> bool:
    """True for a dask DataFrame (checked without importing dask)."""
    return type(data).__module__.split(".")[0] == "dask" and hasattr(data, "map_partitions")


def screen_with_responses(
    data: pd.DataFrame,
    instruments: Sequence[str | Path | Instrument],
    *,
    id_column: str | None = None,
    columns: Mapping[str, str] | None = None,
    policy: str | Path | Policy = "default",
    missing_codes: Iterable[float] = (),
    lang: Literal["zh", "en"] = "zh",
    norms: Sequence[str | Path | NormTable] = (),
    group_columns: Mapping[str, str] | None = None,
    careless: bool | Mapping[str, float | None] = False,
    time_column: str | None = None,
    progress: Callable[[str], None] | None = None,
    answer_values: str | Mapping[str, str] | None = None,
) -> tuple[ScreeningResult, PreparedResponses]:
    """:func:`screen`, also returning the parsed item responses (streaming, statistics).

    Returns
    -------
    (ScreeningResult, PreparedResponses)
        The result, and the item codes it was scored from (``responses``: shape
        (n_rows, n_items), before reverse keying).
    """
    step = progress or (lambda _stage: None)
    if isinstance(instruments, (str, Path, Instrument)):
        instruments = [instruments]  # one instrument given on its own
    if not instruments:
        raise ValueError("choose at least one instrument (e.g. instruments=['phq9'])")
    loaded = [load_instrument_with_hash(i) for i in instruments]
    insts = [li.instrument for li in loaded]
    if id_column is not None and (id_column in RESULT_COLUMNS or any(
            id_column.startswith(f"{i.id}.") for i in insts)):
        raise ValueError(f"the id column is named {id_column!r} like an output column; rename "
                         "it in the input (e.g. to 学号 or student_id)")
    by_id = {i.id: i for i in insts}
    dup = sorted({i.id for i in insts if [j.id for j in insts].count(i.id) > 1})
    if dup:
        raise ValueError(f"instrument(s) selected twice: {', '.join(dup)}")
    tables = _norm_tables(norms, insts)
    pol = load_policy(policy)
    rules, inactive, issues = bind_policy(pol.policy, insts, pol.lines, pol.path,
                                          normed=frozenset(tables))
    if any(i.level == "error" for i in issues):
        raise PolicyDefinitionError(issues)
    modes = resolve_answer_values(answer_values, insts)
    step("parse")
    missing_codes = tuple(missing_codes)
    prepared = prepare_responses(data, insts, columns=columns, id_column=id_column,
                                 missing_codes=missing_codes, shifts=shift_for(modes, insts))
    offsets = _check_offsets(prepared, insts, modes)
    step("score")
    scored = [score_with_bounds(prepared.responses, i) for i in insts]
    scores = pd.concat([sc for sc, _ in scored], axis=1)
    bounds = pd.concat([b for _, b in scored], axis=1)
    critical = pd.concat([critical_item_flags(prepared.responses, i) for i in insts], axis=1)
    wanted = extra_columns(rules)
    absent = [c for c in wanted if c not in data.columns]
    if absent:
        raise ResponseDataError(
            f"the policy uses input column(s) {', '.join(map(repr, absent))} (life events, "
            "reports or flags), which the input lacks (see docs/policy.md)")
    extra = data[wanted].reset_index(drop=True) if wanted else None
    if tables:
        _check_group_columns(tables, data, group_columns)

    def policy_on(table: pd.DataFrame) -> PolicyOutcome:
        return evaluate_policy(pol.policy, rules, table, prepared.responses, critical, insts,
                               prepared.ids, extra, bounds=bounds,
                               unanswered=prepared.failures)

    # Unless a rule compares T scores or percentiles, the policy does not wait for the
    # norms: it runs on a second thread while this one norms and checks validity (numpy and
    # Arrow release the GIL). The result is the same either way.
    with ThreadPoolExecutor(max_workers=1) as pool:
        early = None if uses_norm_scores(rules) else pool.submit(policy_on, scores)
        if tables:
            plain = data.reset_index(drop=True)
            normed = [apply_norms(scores, by_id[i], t.table, map_groups(plain, t.table,
                                                                         group_columns))
                      for i, t in tables.items()]
            scores = pd.concat([scores, *normed], axis=1)
        validity = pd.concat([validity_flags(scores, i) for i in insts], axis=1)
        checks = _careless(prepared.responses, data, careless, time_column, lang)
        step("policy")
        outcome = early.result() if early is not None else policy_on(scores)
    step("assemble")
    verdict, validity_text = _validity_verdict(validity, checks, insts, lang)
    status, detail = _status(prepared.failures, prepared.ids, prepared.responses, scores,
                             verdict, insts)
    labels = [pol.policy.tiers.spec(t).label.get(lang) for t in TIER_ORDER]
    head = {} if prepared.ids is None else {id_column: prepared.ids.array}
    table = pd.concat([
        pd.DataFrame({**head, "status": status, "status_detail": detail}, copy=False),
        scores.reset_index(drop=True),
        checks.drop(columns=["protocol_valid", "validity_reasons", "validity_reason_codes"],
                    errors="ignore").add_prefix("careless.").reset_index(drop=True),
        pd.DataFrame({
            "critical_items": outcome.critical,
            "critical_unknown": outcome.unknown,
            "protocol_valid": verdict,
            "validity_reasons": validity_text,
            "warning_tier": pd.Categorical.from_codes(outcome.tier, categories=TIER_ORDER,
                                                      ordered=True),
            "warning_label": decode_text(outcome.tier, labels),
            "review_status": _review_status(
                outcome.tier, verdict,
                _unreadable_critical(prepared.failures, insts, len(data)) | (
                    np.asarray(outcome.unknown != "", dtype=bool)
                    if pol.policy.unknown_critical_item == "pending_review"
                    else np.zeros(len(data), dtype=bool)),
                np.asarray(outcome.critical != "", dtype=bool)),
            "tier_settled": outcome.settled,
            "reasons": outcome.text[lang],
            "reason_codes": outcome.text["codes"],
        }, copy=False),
    ], axis=1)
    provenance = _provenance(loaded, pol, inactive, {
        "id_column": id_column,
        "missing_codes": [float(c) for c in missing_codes],
        "answer_values": modes,
        "code_offsets": [o.to_dict() for o in offsets],
        "column_map": dict(columns) if columns else None,
        "missing_item_columns": prepared.missing_columns,
        "unused_input_columns": prepared.unused_columns,
        "norms": [t.provenance() for t in tables.values()],
        "group_columns": dict(group_columns) if group_columns else None,
        "lang": lang,
        "rows_in": len(data),
        "rows_out": len(table),
    })
    failures = locate_failures(prepared.failures, source_refs(data))
    return ScreeningResult(table=table, failures=failures, reasons=outcome.reasons,
                           provenance=provenance), prepared
