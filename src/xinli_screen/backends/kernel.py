"""One batch kernel: a batch of answer sheets -> a batch of results plus mergeable statistics.

Instruments, the warning policy and norm tables are loaded, checked and bound **once**
(:meth:`BatchKernel.bind`); :meth:`BatchKernel.run` is then a pure function of one batch
(a pandas DataFrame, a ``pyarrow.RecordBatch`` or a ``pyarrow.Table``) and its row offset in
the whole input. Every stage of the per-respondent path is row-wise, so a batch's rows get
exactly what they would get in one run over the whole input, except for the facts that need
all rows, which are bound into the kernel before the batches run:

* ids repeated in other batches (:meth:`BatchKernel.with_duplicates`; found by the adapter,
  e.g. a pre-pass over the id column);
* the sample moments of the items for the whole-sample careless indices (Mahalanobis D²,
  psychometric synonym/antonym pairs): :meth:`BatchKernel.item_moments` per batch (pass 1),
  merged with :meth:`~xinli_screen.validity.ItemMoments.merge`, bound with
  :meth:`BatchKernel.with_moments` (pass 2).

Summaries and run statistics (counts per status and tier, score moments, alpha from pairwise
sufficient statistics) come out of every batch as :class:`BatchStats` and add up exactly
(:meth:`BatchStats.merge`). The in-memory path (:func:`xinli_screen.screen`) is the kernel run
on one batch; the streamed, Dask and Spark adapters in :mod:`xinli_screen.backends` run it on
chunks, partitions and Arrow record batches.

Examples
--------
>>> import pandas as pd
>>> from xinli_screen.backends.kernel import BatchKernel
>>> kernel = BatchKernel.bind(["phq9"], "default", id_column="sid", lang="en")
>>> batch = pd.DataFrame({"sid": ["007", "008"],
...                       **{f"phq9_0{i}": [1, 0] for i in range(1, 10)}})
>>> out = kernel.run(batch, offset=1000)
>>> out.table["warning_tier"].astype(str).tolist()
['school', 'none']
>>> out.stats.summary["rows"], out.failures["row"].tolist()
(2, [])
>>> total = out.stats.merge(kernel.run(batch.iloc[:1], offset=1002).stats)
>>> total.summary["warning_tier"]["school"]
2
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from xinli_screen._text import TEXT_DTYPE, decode_text
from xinli_screen.backends._rows import (
    careless_checks,
    check_group_columns,
    norm_tables,
    provenance,
    review_status,
    row_status,
    unreadable_critical,
    validity_verdict,
)
from xinli_screen.code_offsets import (
    check_code_offsets,
    count_code_offsets,
    merge_code_counts,
    resolve_answer_values,
    shift_for,
)
from xinli_screen.errors import PolicyDefinitionError, ResponseDataError, XinliScreenWarning
from xinli_screen.instrument.models import Instrument
from xinli_screen.instrument.registry import LoadedInstrument, load_instrument_with_hash
from xinli_screen.norms import LoadedNormTable, NormTable, apply_norms, map_groups
from xinli_screen.numeric_answers import float_codes
from xinli_screen.policy.engine import (
    PolicyOutcome,
    bind_policy,
    evaluate_policy,
    extra_columns,
    uses_norm_scores,
)
from xinli_screen.policy.loader import LoadedPolicy, load_policy
from xinli_screen.policy.models import TIER_ORDER, Policy
from xinli_screen.responses import (
    FAILURE_COLUMNS,
    PreparedResponses,
    locate_failures,
    prepare_responses,
    source_refs,
)
from xinli_screen.result import STATUSES, ScreeningResult
from xinli_screen.runstats import RunStatistics
from xinli_screen.scoring import critical_item_flags, score_with_bounds, validity_flags

__all__ = ["RESULT_COLUMNS", "BatchKernel", "BatchStats", "KernelOutput", "mark_duplicates",
           "merge_summaries"]

#: Output columns that an input id column may not be named like.
RESULT_COLUMNS = frozenset({
    "status", "status_detail", "critical_items", "critical_unknown", "protocol_valid",
    "validity_reasons",
    "warning_tier", "warning_label", "review_status", "tier_settled", "reasons", "reason_codes",
})


#: Text columns of the failures table (``str`` in every batch).
_FAILURE_TEXT = ("id", "item", "column", "code", "value")


def merge_summaries(parts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Add up :meth:`ScreeningResult.summary` dicts of disjoint row sets.

    Parameters
    ----------
    parts : iterable of dict
        Summaries of batches, chunks or partitions.

    Returns
    -------
    dict
        The summary of their union (failure codes most frequent first).
    """
    out: dict[str, Any] = {"rows": 0, "status": dict.fromkeys(STATUSES, 0),
                           "warning_tier": dict.fromkeys(TIER_ORDER, 0), "failures": {},
                           "notes": {}, "critical_unknown": 0, "tier_not_settled": 0}
    for s in parts:
        out["rows"] += s["rows"]
        out["tier_not_settled"] += s["tier_not_settled"]
        out["critical_unknown"] += s.get("critical_unknown", 0)
        for key in ("status", "warning_tier", "failures", "notes"):
            for k, v in s.get(key, {}).items():
                out[key][k] = out[key].get(k, 0) + v
    out["failures"] = dict(sorted(out["failures"].items(), key=lambda kv: -kv[1]))
    return out


@dataclass(frozen=True)
class BatchStats:
    """Statistics of one batch that merge exactly with those of other batches.

    Attributes
    ----------
    summary : dict
        :meth:`ScreeningResult.summary` of the batch (rows per status and tier, failures by
        code, notes, rows with an unknown critical item, rows whose tier is not settled).
    run : RunStatistics or None
        Per-group counts, score moments and alpha sufficient statistics (when the kernel was
        bound with ``run_stats=True``).
    offsets : list or None
        The batch's code-offset counts (:func:`xinli_screen.code_offsets.count_code_offsets`)
        when the kernel defers the judgement (:meth:`BatchKernel.deferring_offsets`).
    """

    summary: dict[str, Any]
    run: RunStatistics | None = None
    offsets: list[Any] | None = None

    def merge(self, other: BatchStats) -> BatchStats:
        """The statistics of both batches (a new object; neither operand is changed).

        Raises
        ------
        ValueError
            One side has run statistics (or code-offset counts) and the other not.
        """
        if (self.run is None) != (other.run is None) or (
                (self.offsets is None) != (other.offsets is None)):
            raise ValueError("cannot merge batch statistics with and without run statistics "
                             "or code-offset counts")
        run = None
        if self.run is not None and other.run is not None:  # merge() shares what it adds
            run = copy.deepcopy(self.run).merge(copy.deepcopy(other.run))
        offsets = None
        if self.offsets is not None and other.offsets is not None:
            offsets = merge_code_counts(self.offsets, other.offsets)
        return BatchStats(merge_summaries([self.summary, other.summary]), run, offsets)


@dataclass(frozen=True)
class KernelOutput:
    """What :meth:`BatchKernel.run` returns for one batch.

    Attributes
    ----------
    table : DataFrame, one row per input row of the batch, in order (index 0..n-1)
        As :attr:`ScreeningResult.table`.
    failures : DataFrame
        :data:`~xinli_screen.responses.RESULT_FAILURE_COLUMNS`; ``row`` and ``file_row``
        already count from the start of the whole input (the batch offset added).
    reasons : DataFrame
        Long-form reasons, ``row`` global as in ``failures``.
    stats : BatchStats
    provenance : dict
        As :attr:`ScreeningResult.provenance` (``rows_in``/``rows_out`` of this batch).
    prepared : PreparedResponses
        The batch's item codes (``responses``: shape (n, n_items), before reverse keying).
    """

    table: pd.DataFrame
    failures: pd.DataFrame
    reasons: pd.DataFrame
    stats: BatchStats
    provenance: dict[str, Any]
    prepared: PreparedResponses

    def result(self) -> ScreeningResult:
        """The batch as a :class:`ScreeningResult`."""
        return ScreeningResult(table=self.table, failures=self.failures, reasons=self.reasons,
                               provenance=self.provenance)


def mark_duplicates(table: pd.DataFrame, failures: pd.DataFrame, id_column: str,
                    duplicates: frozenset[str] | set[str]) -> pd.DataFrame:
    """Rows whose id occurs on another batch's row: status and failure as in one run.

    Parameters
    ----------
    table : DataFrame
        A batch's result table (its ``status`` column is updated in place).
    failures : DataFrame
        The batch's failures (``row`` counted within the batch), columns
        :data:`~xinli_screen.responses.FAILURE_COLUMNS`.
    id_column : str
    duplicates : set of str
        Normalised ids that occur on more than one row of the whole input.

    Returns
    -------
    DataFrame
        The failures with a ``duplicate-id`` row for each newly marked row, in row order.
    """
    ids = table[id_column]
    status = table["status"].to_numpy(dtype=object)
    new = ids.isin(duplicates).to_numpy() & (status != "duplicate_id") & (status != "missing_id")
    if not new.any():
        return failures
    status = status.copy()
    status[new] = "duplicate_id"
    # the column keeps its text dtype (pandas 2 would store the object array as object)
    table["status"] = pd.array(status, dtype=table["status"].dtype)
    rows = np.nonzero(new)[0]
    extra = pd.DataFrame({"row": rows.astype("int64"),
                          "id": ids.to_numpy(dtype=object)[rows], "item": None,
                          "column": id_column, "code": "duplicate-id", "value": None},
                         columns=FAILURE_COLUMNS)
    extra = extra.astype(failures[FAILURE_COLUMNS].dtypes.to_dict())  # as one run's table
    both = pd.concat([extra, failures[FAILURE_COLUMNS]], ignore_index=True) if len(
        failures) else extra
    both = both.sort_values(["row", "item"], kind="stable", na_position="first")
    return both.reset_index(drop=True)


def _as_frame(batch: Any) -> pd.DataFrame:
    """A pandas DataFrame of ``batch`` (DataFrame, Arrow RecordBatch or Table), index 0..n-1."""
    if isinstance(batch, pd.DataFrame):  # codes held as small integers: float64 per batch
        return float_codes(batch.reset_index(drop=True))
    if hasattr(batch, "to_pandas") and hasattr(batch, "schema"):
        frame = batch.to_pandas()
        frame.columns = [str(c) for c in frame.columns]
        return frame
    raise TypeError(f"a batch must be a pandas DataFrame or a pyarrow RecordBatch/Table, "
                    f"not {type(batch).__name__}")


@dataclass(frozen=True)
class BatchKernel:
    """Definitions bound once; :meth:`run` screens one batch of answer sheets.

    Build it with :meth:`bind`; the attributes are the bound definitions and options (a
    kernel is immutable and picklable, so it can be shipped to Dask or Spark workers).
    """

    loaded: tuple[LoadedInstrument, ...]
    policy: LoadedPolicy
    rules: Any
    inactive: tuple[str, ...]
    tables: Mapping[str, LoadedNormTable]
    modes: Mapping[str, str]
    id_column: str | None = None
    columns: Mapping[str, str] | None = None
    missing_codes: tuple[float, ...] = ()
    lang: Literal["zh", "en"] = "zh"
    group_columns: Mapping[str, str] | None = None
    careless: bool | Mapping[str, float | None] = False
    time_column: str | None = None
    run_stats: bool = False
    stats_by: str | None = None
    duplicates: frozenset[str] = frozenset()
    moments: Any = None
    defer_offsets: bool = False
    _by_id: Mapping[str, Instrument] = field(default_factory=dict, repr=False)

    @property
    def instruments(self) -> list[Instrument]:
        """The bound instruments, in the order given."""
        return [li.instrument for li in self.loaded]

    @classmethod
    def bind(
        cls,
        instruments: Sequence[str | Path | Instrument] | str | Path | Instrument,
        policy: str | Path | Policy = "default",
        norms: Sequence[str | Path | NormTable] = (),
        *,
        id_column: str | None = None,
        columns: Mapping[str, str] | None = None,
        missing_codes: Iterable[float] = (),
        lang: Literal["zh", "en"] = "zh",
        group_columns: Mapping[str, str] | None = None,
        careless: bool | Mapping[str, float | None] = False,
        time_column: str | None = None,
        answer_values: str | Mapping[str, str] | None = None,
        run_stats: bool = False,
        stats_by: str | None = None,
    ) -> BatchKernel:
        """Load, check and bind instruments, policy and norm tables once.

        Parameters
        ----------
        instruments, policy, norms, id_column, columns, missing_codes, lang, group_columns,
        careless, time_column, answer_values
            As :func:`xinli_screen.screen` (answers of a 问卷星 download must have been
            prepared by :func:`xinli_screen.io.source.apply_plan` first).
        run_stats : bool, default False
            Also fill :class:`~xinli_screen.runstats.RunStatistics` per batch (score
            moments and alpha: costs a pass over the keyed items).
        stats_by : str, optional
            Input column to group the run statistics by (e.g. 学校).

        Returns
        -------
        BatchKernel

        Raises
        ------
        ValueError
            No instrument, one chosen twice, an id column named like an output column, two
            norm tables for one instrument or one for an instrument not screened.
        FileNotFoundError, InstrumentDefinitionError, PolicyDefinitionError,
        NormDefinitionError, NormMismatchError
            As :func:`xinli_screen.screen`.
        """
        if isinstance(instruments, (str, Path, Instrument)):
            instruments = [instruments]  # one instrument given on its own
        if not instruments:
            raise ValueError("choose at least one instrument (e.g. instruments=['phq9'])")
        loaded = tuple(load_instrument_with_hash(i) for i in instruments)
        insts = [li.instrument for li in loaded]
        if id_column is not None and (id_column in RESULT_COLUMNS or any(
                id_column.startswith(f"{i.id}.") for i in insts)):
            raise ValueError(f"the id column is named {id_column!r} like an output column; "
                             "rename it in the input (e.g. to 学号 or student_id)")
        ids = [i.id for i in insts]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"instrument(s) selected twice: {', '.join(dup)}")
        tables = norm_tables(norms, insts)
        pol = load_policy(policy)
        rules, inactive, issues = bind_policy(pol.policy, insts, pol.lines, pol.path,
                                              normed=frozenset(tables))
        if any(i.level == "error" for i in issues):
            raise PolicyDefinitionError(issues)
        return cls(loaded=loaded, policy=pol, rules=rules, inactive=tuple(inactive),
                   tables=tables, modes=resolve_answer_values(answer_values, insts),
                   id_column=id_column, columns=dict(columns) if columns else None,
                   missing_codes=tuple(float(c) for c in missing_codes), lang=lang,
                   group_columns=dict(group_columns) if group_columns else None,
                   careless=careless, time_column=time_column, run_stats=run_stats,
                   stats_by=stats_by, _by_id={i.id: i for i in insts})

    def with_duplicates(self, ids: Iterable[str]) -> BatchKernel:
        """This kernel with the normalised ids that repeat anywhere in the whole input."""
        return dataclasses.replace(self, duplicates=frozenset(ids))

    def deferring_offsets(self) -> BatchKernel:
        """This kernel with the code-offset judgement left to the adapter: each batch's
        counts go to :attr:`BatchStats.offsets` (nothing refused or warned per batch, and
        ``code_offsets`` of the batch provenance empty); the adapter judges the merged counts
        once with :func:`xinli_screen.code_offsets.judge_code_offsets`, as one run on the
        whole table would."""
        return dataclasses.replace(self, defer_offsets=True)

    def with_moments(self, moments: Any) -> BatchKernel:
        """This kernel with the item moments of the whole input (careless indices, pass 2).

        Parameters
        ----------
        moments : xinli_screen.validity.ItemMoments
            Merged :meth:`item_moments` of every batch.
        """
        return dataclasses.replace(self, moments=moments)

    def prepare(self, batch: Any, *, ids: bool = True) -> PreparedResponses:
        """The batch's item codes and cell failures
        (:func:`xinli_screen.responses.prepare_responses` with the bound options; without
        the id column when ``ids`` is False)."""
        insts = self.instruments
        return prepare_responses(_as_frame(batch), insts, columns=self.columns,
                                 id_column=self.id_column if ids else None,
                                 missing_codes=self.missing_codes,
                                 shifts=shift_for(self.modes, insts))

    def item_moments(self, batch: Any) -> Any:
        """Pass 1 of the careless indices: pairwise item moments of one batch.

        Returns
        -------
        xinli_screen.validity.ItemMoments
            Mergeable (:meth:`~xinli_screen.validity.ItemMoments.merge`), centred at each
            item's declared midpoint so that batches add up exactly.
        """
        from xinli_screen.validity import ItemMoments  # loads scipy

        insts = self.instruments
        centre = np.concatenate([np.round((lo + hi) / 2) for lo, hi in
                                 (i.item_bounds for i in insts)])
        with threadpool_limits(1, user_api="blas"):
            return ItemMoments.of(self.prepare(batch, ids=False).responses, centre)

    def merged_moments(self, batches: Iterable[Any]) -> Any:
        """Pass 1 of the careless indices over ``batches``: their :meth:`item_moments`, merged.

        Warnings of pass 1 are silenced: pass 2 (:meth:`run`) raises the same ones.

        Raises
        ------
        ValueError
            ``batches`` is empty.
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", XinliScreenWarning)
            merged = None
            for batch in batches:
                part = self.item_moments(batch)
                merged = part if merged is None else merged.merge(part)
        if merged is None:
            raise ValueError("no batch to take item moments from")
        return merged

    def run(self, batch: Any, offset: int = 0, *,
            progress: Callable[[str], None] | None = None) -> KernelOutput:
        """Screen one batch.

        Parameters
        ----------
        batch : DataFrame, pyarrow.RecordBatch or pyarrow.Table, shape (n, n_columns)
            One row per answer sheet, columns as :func:`xinli_screen.screen` takes them.
        offset : int, default 0
            Position of the batch's first row in the whole input (added to ``row`` and
            ``file_row`` of failures and reasons).
        progress : callable, optional
            Called with each stage name of :data:`xinli_screen.pipeline.STAGES`.

        Returns
        -------
        KernelOutput

        Raises
        ------
        ResponseDataError
            The id column, a mapped column, a policy input column or a norm-group column is
            absent, or no item of an instrument has a column; code offsets (``auto``).
        TypeError
            ``batch`` is not a DataFrame or Arrow batch.
        """
        # the stages multiply blocks of 4,096 rows: OpenBLAS threads cost more than they save
        with threadpool_limits(1, user_api="blas"):
            return self._run(_as_frame(batch), offset, progress or (lambda _stage: None))

    def _run(self, data: pd.DataFrame, offset: int, step: Callable[[str], None]
             ) -> KernelOutput:
        insts = self.instruments
        pol = self.policy.policy
        step("parse")
        prepared = self.prepare(data)
        shifts = shift_for(self.modes, insts)
        counts = (count_code_offsets(prepared.responses, prepared.failures, insts, shifts)
                  if self.defer_offsets else None)
        offsets = [] if counts is not None else check_code_offsets(
            prepared.responses, prepared.failures, insts, self.modes, shifts=shifts,
            stacklevel=3)
        step("score")
        scored = [score_with_bounds(prepared.responses, i) for i in insts]
        scores = pd.concat([sc for sc, _ in scored], axis=1)
        bounds = pd.concat([b for _, b in scored], axis=1)
        critical = pd.concat([critical_item_flags(prepared.responses, i) for i in insts],
                             axis=1)
        wanted = extra_columns(self.rules)
        absent = [c for c in wanted if c not in data.columns]
        if absent:
            raise ResponseDataError(
                f"the policy uses input column(s) {', '.join(map(repr, absent))} (life "
                "events, reports or flags), which the input lacks (see docs/policy.md)")
        extra = data[wanted] if wanted else None
        if self.tables:
            check_group_columns(self.tables, data, self.group_columns)

        def policy_on(table: pd.DataFrame) -> PolicyOutcome:
            return evaluate_policy(pol, self.rules, table, prepared.responses, critical, insts,
                                   prepared.ids, extra, bounds=bounds,
                                   unanswered=prepared.failures)

        # Unless a rule compares T scores or percentiles, the policy does not wait for the
        # norms: it runs on a second thread while this one norms and checks validity (numpy
        # and Arrow release the GIL). The result is the same either way.
        with ThreadPoolExecutor(max_workers=1) as pool:
            early = None if uses_norm_scores(self.rules) else pool.submit(policy_on, scores)
            if self.tables:
                normed = [apply_norms(scores, self._by_id[i], t.table,
                                      map_groups(data, t.table, self.group_columns))
                          for i, t in self.tables.items()]
                scores = pd.concat([scores, *normed], axis=1)
            validity = pd.concat([validity_flags(scores, i) for i in insts], axis=1)
            checks = careless_checks(prepared.responses, data, self.careless, self.time_column,
                                     self.lang, self.moments)
            step("policy")
            outcome = early.result() if early is not None else policy_on(scores)
        step("assemble")
        table = self._table(data, prepared, scores, validity, checks, outcome)
        failures = prepared.failures
        # the text columns as one type whatever made the batch's failures (a batch with only
        # notes or id problems had object columns; a whole table str)
        failures = failures.astype(dict.fromkeys(_FAILURE_TEXT, TEXT_DTYPE))
        if self.duplicates and self.id_column is not None:
            failures = mark_duplicates(table, failures, self.id_column, self.duplicates)
        failures = locate_failures(failures, source_refs(data))
        reasons = outcome.reasons
        if offset:
            failures["row"] += offset
            failures["file_row"] += offset
            if len(reasons):
                reasons = reasons.assign(row=reasons["row"] + offset)
        result = ScreeningResult(table=table, failures=failures, reasons=reasons,
                                 provenance=self._provenance(data, prepared, offsets))
        return KernelOutput(table=table, failures=failures, reasons=reasons,
                            stats=BatchStats(result.summary(), self._run_stats(
                                table, prepared, data), counts),
                            provenance=result.provenance, prepared=prepared)

    def _table(self, data: pd.DataFrame, prepared: PreparedResponses, scores: pd.DataFrame,
               validity: pd.DataFrame, checks: pd.DataFrame, outcome: PolicyOutcome
               ) -> pd.DataFrame:
        """The result table of one batch (one row per input row, in order)."""
        insts, pol, lang, n = self.instruments, self.policy.policy, self.lang, len(data)
        verdict, validity_text = validity_verdict(validity, checks, insts, lang)
        status, detail = row_status(prepared.failures, prepared.ids, prepared.responses,
                                    scores, verdict, insts)
        labels = [pol.tiers.spec(t).label.get(lang) for t in TIER_ORDER]
        head = {} if prepared.ids is None else {self.id_column: prepared.ids.array}
        unknown = (np.asarray(outcome.unknown != "", dtype=bool)
                   if pol.unknown_critical_item == "pending_review" else np.zeros(n, bool))
        return pd.concat([
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
                "review_status": review_status(
                    outcome.tier, verdict,
                    unreadable_critical(prepared.failures, insts, n) | unknown,
                    np.asarray(outcome.critical != "", dtype=bool)),
                "tier_settled": outcome.settled,
                "reasons": outcome.text[lang],
                "reason_codes": outcome.text["codes"],
            }, copy=False),
        ], axis=1)

    def _provenance(self, data: pd.DataFrame, prepared: PreparedResponses,
                    offsets: list[Any]) -> dict[str, Any]:
        return provenance(self.loaded, self.policy, list(self.inactive), {
            "id_column": self.id_column,
            "missing_codes": list(self.missing_codes),
            "answer_values": dict(self.modes),
            "code_offsets": [o.to_dict() for o in offsets],
            "column_map": dict(self.columns) if self.columns else None,
            "missing_item_columns": prepared.missing_columns,
            "unused_input_columns": prepared.unused_columns,
            "norms": [t.provenance() for t in self.tables.values()],
            "group_columns": dict(self.group_columns) if self.group_columns else None,
            "lang": self.lang,
            "rows_in": len(data),
            "rows_out": len(data),
        })

    def _run_stats(self, table: pd.DataFrame, prepared: PreparedResponses,
                   data: pd.DataFrame) -> RunStatistics | None:
        if not self.run_stats:
            return None
        groups = None
        if self.stats_by is not None:
            if self.stats_by not in data.columns:
                raise ResponseDataError(f"--stats-by column {self.stats_by!r} is not in the "
                                        "input")
            groups = data[self.stats_by]
        stats = RunStatistics(self.instruments, by=self.stats_by)
        stats.update(table, prepared.responses, groups)
        return stats
