"""``xinli-screen score``: score an answer file and write per-respondent results."""

from __future__ import annotations

import glob
import sys
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from xinli_screen.cli.console import fail, stderr
from xinli_screen.cli.exit_codes import ExitCode
from xinli_screen.cli.score_batched import batchable, score_in_batches
from xinli_screen.cli.score_common import (
    Terminated,
    exit_codes,
    in_file,
    print_summary,
    raise_on_sigterm,
    restore_sigterm,
    write_stats,
)
from xinli_screen.errors import (
    InstrumentDefinitionError,
    PolicyDefinitionError,
    ResponseDataError,
    XinliScreenWarning,
)
from xinli_screen.instrument.models import Instrument
from xinli_screen.instrument.registry import load_instrument
from xinli_screen.io import read_column_map, write_failures, write_result
from xinli_screen.io.column_map import ANSWER_VALUES, ColumnMap, resolve_column_map
from xinli_screen.io.fhir import RESPONSE_COLUMN
from xinli_screen.io.readers import read_table
from xinli_screen.io.source import LoadedAnswers, apply_plan, load_answers, plan_input
from xinli_screen.io.stream import STREAM_INPUTS, STREAM_OUTPUTS
from xinli_screen.io.writers import FAILURE_FORMATS, OUTPUT_FORMATS
from xinli_screen.norms import NormDefinitionError, NormMismatchError
from xinli_screen.pipeline import STAGES, screen, screen_with_responses
from xinli_screen.result import ScreeningResult
from xinli_screen.runstats import RunStatistics

#: Row count from which a progress bar is shown (unless --no-progress).
LARGE_FILE_ROWS = 20_000
#: Inputs larger than this are streamed unless --chunk-size 0.
AUTO_STREAM_BYTES = 256 << 20
#: Rows per chunk of a streamed run (about 1.5 GB peak with 100 items; docs/performance.md).
DEFAULT_CHUNK_ROWS = 100_000


def _should_stream(input_file: Path, output: Path | None, failures: Path | None,
                   chunk_size: int | None, scheduler: str | None) -> bool:
    """Stream when asked (--chunk-size N) or when the input is large and streamable."""
    if chunk_size is not None and chunk_size < 0:
        fail("--chunk-size must be 0 or more", ExitCode.USAGE)
    if chunk_size == 0 or scheduler is not None:
        return False
    problems = []
    if input_file.suffix.lower() not in STREAM_INPUTS:
        problems.append(f"input must be {', '.join(STREAM_INPUTS)}")
    if output is not None and output.suffix.lower() not in STREAM_OUTPUTS:
        problems.append(f"output must be {', '.join(STREAM_OUTPUTS)} or stdout")
    if output is not None and output.name.lower().endswith(".fhir.json"):
        problems.append("FHIR output must be .ndjson")
    if failures is not None and failures.suffix.lower() != ".csv":
        problems.append("--failures must be .csv")
    if chunk_size is None:
        big = input_file.is_file() and input_file.stat().st_size > AUTO_STREAM_BYTES
        if big and problems:
            stderr.print("note: large input read into memory (" + "; ".join(problems)
                         + " to stream it)", markup=False)
        return big and not problems
    if problems:
        fail("--chunk-size: " + "; ".join(problems), ExitCode.USAGE)
    return True


def _to_dask(data: Any, scheduler: str) -> Any:
    """The table as a dask DataFrame, with a client on ``scheduler`` (address or 'local')."""
    try:
        from xinli_screen.distributed import connect, to_dask
    except ImportError as exc:
        fail(f"--scheduler needs dask: pip install 'xinli-screen[dask]' ({exc})",
             ExitCode.USAGE)
    connect(scheduler)
    return to_dask(data)


#: Inputs the workers read themselves with --scheduler and a folder as --output.
WORKER_INPUTS = (".parquet", ".csv")


def _worker_source(input_file: Path, output: Path | None, scheduler: str | None) -> str | None:
    """What the workers read (a file or a glob of parts) when the run goes
    to :func:`xinli_screen.backends.dask.screen_files`: with ``--scheduler``, Parquet or CSV
    in (one file, a folder of parts or a glob) and a folder out (an existing folder or a
    name without a suffix). None keeps the client-side run."""
    if scheduler is None or output is None or (output.suffix and not output.is_dir()):
        return None
    text = str(input_file)
    if any(c in input_file.name for c in "*?["):
        return text if input_file.suffix.lower() in WORKER_INPUTS else None
    if input_file.is_dir():
        for suffix in WORKER_INPUTS:
            if any(input_file.glob(f"*{suffix}")):
                return str(input_file / f"*{suffix}")
        return None
    return text if input_file.suffix.lower() in WORKER_INPUTS else None


def _score_on_workers(source: str, input_file: Path, scheduler: str, output: Path,
                      failures: Path | None, cmap: ColumnMap | None,
                      options: dict[str, Any]) -> dict[str, Any]:
    """Workers read their partitions of ``source``, screen them and write Parquet parts to
    ``output`` (and ``failures``); returns the merged summary."""
    if failures is not None and failures.suffix and not failures.is_dir():
        fail("with a folder as --output, --failures must be a folder too", ExitCode.USAGE)
    if cmap is not None and cmap.blocks:
        fail("--scheduler with a folder as --output: the column map must name columns, not "
             "问卷星 question blocks", ExitCode.USAGE)
    try:
        from xinli_screen.backends.dask import connect, screen_files
    except ImportError as exc:
        fail(f"--scheduler needs dask: pip install 'xinli-screen[dask]' ({exc})",
             ExitCode.USAGE)
    if cmap is not None:
        options = {**options, "columns": cmap.columns or None,
                   "id_column": options["id_column"] or cmap.id_column,
                   "missing_codes": (*options["missing_codes"], *cmap.missing_codes),
                   "answer_values": options["answer_values"] or cmap.answer_values}
    connect(scheduler)
    with exit_codes(input_file):
        done = screen_files(source, options.pop("instruments"), output, failures=failures,
                            **options)
    return done["summary"]


def _score_streamed(input_file: Path, names: list[str], insts: list[Instrument], *,
                    chunk_rows: int, cmap: Any, id_column: str | None,
                    answer_values: str | dict[str, str] | None, missing_code: list[float],
                    policy: str,
                    lang: str, norms: list[str], groups: dict[str, str], careless: bool,
                    time_column: str | None, output: Path | None, failures: Path | None,
                    bom: bool, stats: Path | None, stats_by: str | None) -> None:
    """``score`` in chunks: same files as the in-memory run, bounded memory."""
    import json

    from xinli_screen.io.fhir import result_observations
    from xinli_screen.io.stream import ChunkWriter
    from xinli_screen.io.writers import is_fhir_output, write_sidecar
    from xinli_screen.streaming import screen_stream

    out = None if output is None else ChunkWriter(output, bom=bom)
    fails = None if failures is None else ChunkWriter(failures, bom=bom)
    state = {"header": True, "fail_rows": 0}
    id_col: list[str | None] = [None]

    def on_chunk(result: ScreeningResult, offset: int) -> None:
        if out is None:  # as the in-memory run writes stdout
            result.table.to_csv(sys.stdout, index=False, header=state["header"])
            state["header"] = False
        elif is_fhir_output(out.path):
            out.write_lines(json.dumps(o, ensure_ascii=False) for o in result_observations(
                result.table, insts, id_column=id_col[0], row_offset=offset))
        else:
            out.write_table(result.table)
        if fails is not None and (len(result.failures) or fails.rows == 0):
            fails.write_table(result.failures)

    run_stats = RunStatistics(insts, by=stats_by) if stats is not None else None
    previous = raise_on_sigterm()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", XinliScreenWarning)
            id_col[0] = id_column or (cmap.id_column if cmap else None)
            outcome = screen_stream(
                input_file, names, chunk_rows=chunk_rows, column_map=cmap,
                id_column=id_column, answer_values=answer_values, missing_codes=missing_code,
                policy=policy, lang=lang,  # type: ignore[arg-type]
                norms=norms, group_columns=groups or None, careless=careless,
                time_column=time_column, stats=run_stats, stats_by=stats_by,
                on_chunk=_with_plan(on_chunk, id_col))
    except BaseException as exc:
        for writer in (out, fails):
            if writer is not None:
                writer.abort()
        if isinstance(exc, FileNotFoundError):
            fail(str(exc), ExitCode.USAGE)
        if isinstance(exc, (InstrumentDefinitionError, PolicyDefinitionError,
                            NormDefinitionError)):
            fail(str(exc), ExitCode.BAD_DEFINITION)
        if isinstance(exc, NormMismatchError):  # the table's definition (docs/errors.md)
            fail(str(exc), ExitCode.BAD_DEFINITION)
        if isinstance(exc, ResponseDataError):
            fail(in_file(input_file, exc), ExitCode.DATA_PROBLEMS)
        if isinstance(exc, ValueError):
            fail(str(exc), ExitCode.USAGE)
        raise
    written: list[Path] = []
    try:  # SIGTERM stays handled until the outputs are renamed into place
        for note in outcome.plan.notes:
            stderr.print(f"note: {note}", markup=False)
        for message in outcome.warnings:
            stderr.print(f"warning: {message}", markup=False)
        if out is not None:
            written.append(out.close())
            # provenance beside every output, as in memory
            written.append(write_sidecar(out.path, outcome.provenance))
        if fails is not None:
            written.append(fails.close())
    except Terminated:
        for writer in (out, fails):
            if writer is not None:
                writer.abort()
        raise
    finally:
        restore_sigterm(previous)
    if run_stats is not None and stats is not None:
        written.append(write_stats(run_stats, stats))
    stderr.print(f"streamed {outcome.chunks} chunk(s) of up to {chunk_rows} rows",
                 markup=False)
    print_summary(outcome.summary, written)
    if sum(outcome.summary["failures"].values()):
        raise typer.Exit(int(ExitCode.DATA_PROBLEMS))


def _with_plan(on_chunk: Any, id_col: list[str | None]) -> Any:
    """Learn the id column the plan chose (e.g. guessed from a 问卷星 header) on the first
    chunk, before the chunk is written."""
    def wrapped(result: ScreeningResult, offset: int) -> None:
        if id_col[0] is None:
            id_col[0] = result.provenance.get("id_column")
        on_chunk(result, offset)
    return wrapped


def _stream_header(input_file: Path) -> list[str]:
    """Column names of a streamable input, from its first chunk (exit 1 if unreadable)."""
    from xinli_screen.io.stream import iter_chunks

    try:
        chunks = iter_chunks(input_file, 1)
        first = next(chunks, None)
        chunks.close()
        return list((first if first is not None else read_table(input_file)[0]).columns)
    except ResponseDataError as exc:
        fail(str(exc), ExitCode.DATA_PROBLEMS)


def _resolve_blocks(cmap: ColumnMap, header: list[str], insts: list[Instrument],
                    input_file: Path) -> ColumnMap:
    """The map with its question-number blocks resolved into item columns (exit 1 when a
    block does not fit the file's header)."""
    try:
        columns = resolve_column_map(cmap, header, insts)
    except ResponseDataError as exc:
        fail(in_file(input_file, exc), ExitCode.DATA_PROBLEMS)
    return replace(cmap, columns=columns, blocks={})


def _answer_values(values: list[str] | None) -> str | dict[str, str] | None:
    """``--answer-values`` as given: one MODE for every instrument, or ID=MODE pairs
    (exit 2 for an unknown mode or a mix of both forms)."""
    from xinli_screen.code_offsets import OFFSET_MODES

    if not values:
        return None
    pairs = [v.partition("=") for v in values]
    bad = [v for v, (_, eq, m) in zip(values, pairs, strict=True)
           if (m if eq else v) not in OFFSET_MODES]
    if bad:
        fail(f"--answer-values: {', '.join(bad)}: a mode must be one of "
             f"{', '.join(OFFSET_MODES)} (ID=MODE for one instrument)", ExitCode.USAGE)
    if all(eq for _, eq, _ in pairs):
        return {k: m for k, _, m in pairs}
    if len(values) == 1:
        return values[0]
    fail("--answer-values: give one MODE for all instruments or ID=MODE per instrument",
         ExitCode.USAGE)


def _wjx_values(values: str | dict[str, str] | None) -> str | None:
    """The part of ``--answer-values`` that says how a 问卷星 file's cells are read."""
    return values if isinstance(values, str) and values in ANSWER_VALUES else None


def load_instruments(names: list[str]) -> list[Instrument]:
    """Load the ``-i`` instruments, exiting 2 (unknown id / file) or 3 (bad definition)."""
    out = []
    for name in names:
        try:
            out.append(load_instrument(name))
        except FileNotFoundError as exc:
            fail(str(exc), ExitCode.USAGE)
        except InstrumentDefinitionError as exc:
            fail(str(exc), ExitCode.BAD_DEFINITION)
    return out


def score_command(
    input_file: Annotated[Path, typer.Argument(
        help="Answers: .csv, .xlsx, .xls, .sav, .parquet, .jsonl, or FHIR .json/.ndjson.")],
    instrument: Annotated[list[str], typer.Option(
        "-i", "--instrument", help="Bundled instrument id or YAML path; repeat for several.")],
    id_column: Annotated[str | None, typer.Option(
        "--id-column", help="Column holding the pupil id (kept as text).")] = None,
    columns: Annotated[Path | None, typer.Option(
        "--columns", help="YAML map of item id -> file column, or blocks by 问卷星 question "
        "number (and optional missing_codes).")
    ] = None,
    policy: Annotated[str, typer.Option(
        "--policy", help="Warning policy: bundled id or YAML path.")] = "default",
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Result file: .csv, .xlsx, .parquet, .json, or .fhir.json / "
        ".ndjson for FHIR Observations (default: CSV to stdout); with --scheduler, a folder "
        "(no suffix) for Parquet parts written by the workers.")] = None,
    failures: Annotated[Path | None, typer.Option(
        "--failures", help="Also write the failures table (.csv or .xlsx).")] = None,
    missing_code: Annotated[list[float] | None, typer.Option(
        "--missing-code", help="A code meaning 'no answer' in this file (repeatable).")] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language of labels and reasons: zh or en.")
                    ] = "zh",
    norms: Annotated[list[str] | None, typer.Option(
        "--norms", help="Norm table (bundled id or YAML path) for T scores and percentiles; "
        "repeat for several instruments.")] = None,
    group_column: Annotated[list[str] | None, typer.Option(
        "--group-column", help="Norm-group variable and its column, e.g. sex=性别 "
        "(repeatable; default: columns named like the variables).")] = None,
    careless: Annotated[bool, typer.Option(
        "--careless", help="Careless-responding checks (longstring, Mahalanobis) over all "
        "items; off by default (see docs/reliability.md#careless-responding).")] = False,
    time_column: Annotated[str | None, typer.Option(
        "--time-column", help="Completion-time column (e.g. 所用时间) for the too-fast check.")
    ] = None,
    progress: Annotated[bool | None, typer.Option(
        "--progress/--no-progress", help=f"Progress bar (default: on from {LARGE_FILE_ROWS} "
        "rows).")] = None,
    answer_values: Annotated[list[str] | None, typer.Option(
        "--answer-values", help="How numbers in item cells are read, for all instruments or "
        "per instrument (ID=MODE, repeatable): auto (check for codes shifted by one and "
        "refuse them), code (score the numbers as they are), shift-down (subtract 1: a file "
        "coded 1-4 for a 0-3 instrument), shift-up (add 1); for 问卷星 files also sequence "
        "(按序号: 1 = first option) or text (default: the map's answer_values, else auto).")
    ] = None,
    spss_values: Annotated[str | None, typer.Option(
        "--spss-values", help="SPSS .sav files: codes (default: the stored numbers are the "
        "codes) or labels (map them through their value labels); labels that disagree with "
        "the instrument's options are reported per variable either way.")
    ] = None,
    bom: Annotated[bool, typer.Option(
        "--bom/--no-bom", help="CSV output starts with a UTF-8 byte-order mark (default: on, "
        "so Excel on Chinese Windows shows Chinese text).")] = True,
    chunk_size: Annotated[int | None, typer.Option(
        "--chunk-size", help="Stream the input in chunks of N rows (CSV or Parquet in; CSV, "
        "Parquet or .ndjson out); default: stream inputs over "
        f"{AUTO_STREAM_BYTES >> 20} MiB in chunks of {DEFAULT_CHUNK_ROWS} rows; 0 = never.")
    ] = None,
    stats: Annotated[Path | None, typer.Option(
        "--stats", help="Write run statistics (rows per status and tier, score mean/SD, "
        "alpha) as JSON.")] = None,
    stats_by: Annotated[str | None, typer.Option(
        "--stats-by", help="Input column to group the statistics by (e.g. 学校).")] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Run on a dask.distributed cluster: its address "
        "(tcp://host:8786) or 'local' (needs pip install 'xinli-screen\\[dask]'). Parquet or "
        "CSV in (a file, folder or glob of parts) and a folder out: the workers read and "
        "write the parts; otherwise the file is read here and sent.")] = None,
) -> None:
    """Score answer sheets and assign warning tiers with reasons.

    Example:
      xinli-screen score answers.csv -i phq9 -i gad7 --id-column student_id -o results.xlsx

    With norms: ... -i cesd --norms cesd_zhang2010_urban_sex --group-column sex=性别

    Exit codes: 0 ok, 1 data problems found (see --failures), 2 usage, 3 bad instrument,
    policy, norm-table (also one that does not fit the instrument) or column-map file.
    """
    if lang not in {"zh", "en"}:
        fail("--lang must be zh or en", ExitCode.USAGE)
    answer_values = _answer_values(answer_values)
    if spss_values is not None and spss_values not in ("codes", "labels"):
        fail("--spss-values must be codes or labels", ExitCode.USAGE)
    source = _worker_source(input_file, output, scheduler)
    if output is not None and source is None and output.suffix.lower() not in OUTPUT_FORMATS:
        fail(f"output {output} must end in one of {', '.join(OUTPUT_FORMATS)}", ExitCode.USAGE)
    if (failures is not None and source is None
            and failures.suffix.lower() not in FAILURE_FORMATS):
        fail(f"--failures {failures} must end in one of {', '.join(FAILURE_FORMATS)}",
             ExitCode.USAGE)
    for target in (output, failures) if source is None else ():
        if target is not None and not target.resolve().parent.is_dir():
            fail(f"folder {target.parent} does not exist; create it first", ExitCode.USAGE)
        if target is not None and target.is_dir():
            fail(f"{target} is a folder; give a file name", ExitCode.USAGE)
        if target is not None and target.resolve() == input_file.resolve():
            fail(f"{target} is the input file; choose another output name", ExitCode.USAGE)
    if output is not None and failures is not None and output.resolve() == failures.resolve():
        fail("--output and --failures name the same file", ExitCode.USAGE)
    if not input_file.exists() and not (source is not None and glob.glob(source)):
        fail(f"{input_file}: no such file", ExitCode.USAGE)
    if columns is not None and not columns.is_file():
        fail(f"column map {columns}: no such file", ExitCode.USAGE)
    groups: dict[str, str] = {}
    for spec in group_column or []:
        var, sep, col = spec.partition("=")
        if not sep or not var.strip() or not col.strip():
            fail(f"--group-column {spec!r} must look like sex=性别", ExitCode.USAGE)
        groups[var.strip()] = col.strip()
    try:
        cmap = read_column_map(columns) if columns else None
    except ResponseDataError as exc:
        fail(str(exc), ExitCode.BAD_DEFINITION)
    insts = load_instruments(instrument)
    blocks = cmap is not None and bool(cmap.blocks)
    if stats is not None and stats.suffix.lower() != ".json":
        fail(f"--stats {stats} must end in .json", ExitCode.USAGE)
    if stats_by is not None and stats is None:
        fail("--stats-by needs --stats", ExitCode.USAGE)
    if source is not None and output is not None and scheduler is not None:
        if stats is not None or spss_values is not None or chunk_size is not None:
            fail("--scheduler with a folder as --output takes no --stats, --spss-values or "
                 "--chunk-size", ExitCode.USAGE)
        summary = _score_on_workers(source, input_file, scheduler, output, failures, cmap, {
            "instruments": instrument, "id_column": id_column, "policy": policy,
            "missing_codes": tuple(missing_code or ()), "lang": lang, "norms": norms or (),
            "group_columns": groups or None, "careless": careless,
            "time_column": time_column, "answer_values": answer_values})
        print_summary(summary, [p for p in (output, failures) if p is not None])
        if sum(summary["failures"].values()):
            raise typer.Exit(int(ExitCode.DATA_PROBLEMS))
        return
    if _should_stream(input_file, output, failures, chunk_size, scheduler):
        if blocks:  # question-number blocks -> item columns, from the header alone
            cmap = _resolve_blocks(cmap, _stream_header(input_file), insts, input_file)
        _score_streamed(
            input_file, instrument, insts, chunk_rows=chunk_size or DEFAULT_CHUNK_ROWS,
            cmap=cmap, id_column=id_column, answer_values=answer_values,
            missing_code=missing_code or [], policy=policy, lang=lang, norms=norms or [],
            groups=groups, careless=careless, time_column=time_column, output=output,
            failures=failures,
            bom=bom, stats=stats, stats_by=stats_by)
        return
    batched = batchable(output, failures, scheduler)
    try:
        with warnings.catch_warnings():
            # the plan's warnings (SPSS labels ...) are printed as notes below
            warnings.simplefilter("ignore", XinliScreenWarning)
            if blocks:  # as load_answers, with the blocks resolved against the header read
                raw, info = read_table(input_file)
                cmap = _resolve_blocks(cmap, list(raw.columns), insts, input_file)
                plan = plan_input(raw, info, insts, column_map=cmap, id_column=id_column,
                                  answer_values=_wjx_values(answer_values),
                                  missing_codes=missing_code or [], spss_values=spss_values)
                loaded = LoadedAnswers(apply_plan(raw, plan), plan, info)
                del raw
            else:
                loaded = load_answers(input_file, insts, column_map=cmap, id_column=id_column,
                                      answer_values=_wjx_values(answer_values),
                                      missing_codes=missing_code or [],
                                      spss_values=spss_values, int_codes=batched)
    except ResponseDataError as exc:
        fail(str(exc), ExitCode.DATA_PROBLEMS)
    data, plan = loaded.data, loaded.plan
    for note in plan.notes:
        stderr.print(f"note: {note}", markup=False)
    if batched:
        del loaded
        score_in_batches(data, plan, input_file, instrument, output=output, failures=failures,
                          bom=bom, stats=stats, stats_by=stats_by, progress=progress,
                          options={"id_column": plan.id_column,
                                   "columns": plan.columns or None, "policy": policy,
                                   "missing_codes": list(plan.missing_codes), "lang": lang,
                                   "norms": norms or (), "group_columns": groups or None,
                                   "careless": careless, "time_column": time_column,
                                   "answer_values": answer_values},
                         large_rows=LARGE_FILE_ROWS)
        return
    show = progress if progress is not None else len(data) >= LARGE_FILE_ROWS
    codes = list(plan.missing_codes)
    with warnings.catch_warnings(record=True) as caught, Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
        console=stderr, transient=True, disable=not show,
    ) as bar:
        warnings.simplefilter("always", XinliScreenWarning)
        task = bar.add_task("scoring", total=len(STAGES))

        def step(stage: str) -> None:
            bar.update(task, advance=0 if stage == STAGES[0] else 1, description=stage)

        with exit_codes(input_file):
            frame: Any = data
            if scheduler is not None:
                frame = _to_dask(data, scheduler)
                result = screen(frame, instrument, id_column=plan.id_column,
                                columns=plan.columns or None, policy=policy,
                                missing_codes=codes, lang=lang,  # type: ignore[arg-type]
                                norms=norms or (), group_columns=groups or None,
                                careless=careless, time_column=time_column,
                                answer_values=answer_values)
                prepared = None
            else:
                result, prepared = screen_with_responses(
                    data, instrument, id_column=plan.id_column,
                    columns=plan.columns or None, policy=policy,
                    missing_codes=codes, lang=lang,  # type: ignore[arg-type]
                    norms=norms or (), group_columns=groups or None,
                    careless=careless, time_column=time_column, progress=step,
                    answer_values=answer_values)
    for w in caught:
        if issubclass(w.category, XinliScreenWarning):
            stderr.print(f"warning: {w.message}", markup=False)
    result.provenance["input"] = plan.provenance
    written: list[Path] = []
    if output is None:
        result.table.to_csv(sys.stdout, index=False)
    else:
        refs = (data[RESPONSE_COLUMN].tolist() if RESPONSE_COLUMN in data.columns else None)
        written += write_result(result, output, bom=bom, instruments=insts, response_ids=refs)
    if failures is not None:
        written.append(write_failures(result, failures, bom=bom))
    if stats is not None:
        run_stats = RunStatistics(insts, by=stats_by)
        if stats_by is not None and stats_by not in data.columns:
            fail(f"--stats-by column {stats_by!r} is not in the input", ExitCode.DATA_PROBLEMS)
        run_stats.update(result.table, None if prepared is None else prepared.responses,
                         None if stats_by is None else data[stats_by])
        written.append(write_stats(run_stats, stats))
    summary = result.summary()
    print_summary(summary, written)
    if sum(summary["failures"].values()):
        raise typer.Exit(int(ExitCode.DATA_PROBLEMS))
