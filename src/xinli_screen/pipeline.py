"""``screen()``: bind the definitions once and run the batch kernel on the whole table.

This module holds no psychometrics of its own; each stage is importable and usable alone, and
the composition of the stages is :class:`xinli_screen.backends.kernel.BatchKernel`. A frame
of another engine (a dask DataFrame) goes to the adapter registered for it
(:func:`xinli_screen.backends.adapter_for`); no adapter is imported here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from xinli_screen.backends import adapter_for
from xinli_screen.backends.kernel import RESULT_COLUMNS, BatchKernel
from xinli_screen.errors import XinliScreenWarning
from xinli_screen.instrument.models import Instrument
from xinli_screen.norms import NormTable
from xinli_screen.policy.models import Policy
from xinli_screen.responses import PreparedResponses
from xinli_screen.result import ScreeningResult

__all__ = ["RESULT_COLUMNS", "STAGES", "screen", "screen_with_responses"]

#: Stages reported to the ``progress`` callback, in order.
STAGES = ("parse", "score", "policy", "assemble")


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
    data : DataFrame, dask DataFrame or Spark DataFrame, shape (n_rows, n_columns)
        One row per answer sheet (rows = respondents); item columns named like the item ids
        (``phq9_01``) or mapped with ``columns``. Cells may be codes, numeric text or option
        labels (``"好几天"``, ``"A.完全不会"``). A dask DataFrame is screened partition by
        partition on its scheduler (:func:`xinli_screen.backends.dask.screen_dask`; needs
        ``pip install 'xinli-screen[dask]'``); the result is a pandas result equal to the
        pandas path row for row. A Spark DataFrame (``pyspark.sql.DataFrame``) is screened
        on its executors by :func:`xinli_screen.backends.spark.screen` with its defaults
        (``progress`` is not used) and gives a lazy
        :class:`~xinli_screen.backends.spark.SparkScreeningResult` (Spark DataFrames with a
        ``row`` column), not a ScreeningResult. A 问卷星 download read with pandas (three or
        more of its metadata columns such as ``序号``, ``提交答卷时间``, ``所用时间``) is read as
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
    ScreeningResult or SparkScreeningResult
        A SparkScreeningResult for a Spark DataFrame (above), else a ScreeningResult:
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
    adapter = adapter_for(data)
    if adapter is not None:  # a dask or Spark DataFrame: the adapter of its engine
        return adapter(data, instruments, id_column=id_column, columns=columns,
                       policy=policy, missing_codes=missing_codes, lang=lang, norms=norms,
                       group_columns=group_columns, careless=careless,
                       time_column=time_column, answer_values=answer_values)
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
    kernel = BatchKernel.bind(instruments, policy, norms, id_column=id_column,
                              columns=columns, missing_codes=missing_codes, lang=lang,
                              group_columns=group_columns, careless=careless,
                              time_column=time_column, answer_values=answer_values)
    out = kernel.run(data, progress=progress)
    return out.result(), out.prepared
