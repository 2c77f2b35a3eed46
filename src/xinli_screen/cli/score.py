"""``xinli-screen score``: score an answer file and write per-respondent results."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from xinli_screen.cli.console import fail, stderr
from xinli_screen.cli.exit_codes import ExitCode
from xinli_screen.errors import (
    InstrumentDefinitionError,
    PolicyDefinitionError,
    ResponseDataError,
    XinliScreenWarning,
)
from xinli_screen.io import read_column_map, read_table, write_failures, write_result
from xinli_screen.io.writers import FAILURE_FORMATS, OUTPUT_FORMATS
from xinli_screen.norms import NormDefinitionError, NormMismatchError
from xinli_screen.pipeline import STAGES, screen
from xinli_screen.result import ScreeningResult

#: Row count from which a progress bar is shown (unless --no-progress).
LARGE_FILE_ROWS = 20_000


def _summary(result: ScreeningResult, outputs: list[Path]) -> None:
    s = result.summary()
    st, tiers = s["status"], s["warning_tier"]
    stderr.print(f"rows read {s['rows']}: scored {st['scored']}, incomplete {st['incomplete']}, "
                 f"invalid {st['invalid']}, retest {st['invalid_protocol']}, no answers "
                 f"{st['no_answers']}, duplicate id {st['duplicate_id']}, missing id "
                 f"{st['missing_id']}")
    stderr.print("warning tier: " + ", ".join(f"{k} {v}" for k, v in tiers.items())
                 + " (a missing answer could still raise the tier for "
                 f"{s['tier_not_settled']} rows)")
    if s["failures"]:
        stderr.print("data problems: " + ", ".join(f"{k} {v}" for k, v in s["failures"].items())
                     + " (see the failures table and docs/errors.md)")
    for path in outputs:
        stderr.print(f"wrote {path}")
    stderr.print("Screening results are not a diagnosis; every warning is pending review (待复核).")


def score_command(
    input_file: Annotated[Path, typer.Argument(help="Answers: .csv, .xlsx or .parquet.")],
    instrument: Annotated[list[str], typer.Option(
        "-i", "--instrument", help="Bundled instrument id or YAML path; repeat for several.")],
    id_column: Annotated[str | None, typer.Option(
        "--id-column", help="Column holding the pupil id (kept as text).")] = None,
    columns: Annotated[Path | None, typer.Option(
        "--columns", help="YAML map of item id -> file column (and optional missing_codes).")
    ] = None,
    policy: Annotated[str, typer.Option(
        "--policy", help="Warning policy: bundled id or YAML path.")] = "default",
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Result file: .csv, .xlsx, .parquet or .json (default: CSV "
        "to stdout).")] = None,
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
        "items; off by default (see docs/validity.md).")] = False,
    time_column: Annotated[str | None, typer.Option(
        "--time-column", help="Completion-time column (e.g. 所用时间) for the too-fast check.")
    ] = None,
    progress: Annotated[bool | None, typer.Option(
        "--progress/--no-progress", help=f"Progress bar (default: on from {LARGE_FILE_ROWS} "
        "rows).")] = None,
) -> None:
    """Score answer sheets and assign warning tiers with reasons.

    Example:
      xinli-screen score answers.csv -i phq9 -i gad7 --id-column student_id -o results.xlsx

    With norms: ... -i cesd --norms cesd_zhang2010_urban_sex --group-column sex=性别

    Exit codes: 0 ok, 1 data problems found (see --failures), 2 usage, 3 bad instrument,
    policy or column-map file.
    """
    if lang not in {"zh", "en"}:
        fail("--lang must be zh or en", ExitCode.USAGE)
    if output is not None and output.suffix.lower() not in OUTPUT_FORMATS:
        fail(f"output {output} must end in one of {', '.join(OUTPUT_FORMATS)}", ExitCode.USAGE)
    if failures is not None and failures.suffix.lower() not in FAILURE_FORMATS:
        fail(f"--failures {failures} must end in one of {', '.join(FAILURE_FORMATS)}",
             ExitCode.USAGE)
    for target in (output, failures):
        if target is not None and not target.resolve().parent.is_dir():
            fail(f"folder {target.parent} does not exist; create it first", ExitCode.USAGE)
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
    try:
        data, _info = read_table(input_file)
    except ResponseDataError as exc:
        fail(str(exc), ExitCode.DATA_PROBLEMS)
    show = progress if progress is not None else len(data) >= LARGE_FILE_ROWS
    codes = [*(cmap.missing_codes if cmap else ()), *(missing_code or [])]
    with warnings.catch_warnings(record=True) as caught, Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
        console=stderr, transient=True, disable=not show,
    ) as bar:
        warnings.simplefilter("always", XinliScreenWarning)
        task = bar.add_task("scoring", total=len(STAGES))

        def step(stage: str) -> None:
            bar.update(task, advance=0 if stage == STAGES[0] else 1, description=stage)

        try:
            result = screen(data, instrument, id_column=id_column,
                            columns=cmap.columns if cmap else None, policy=policy,
                            missing_codes=codes, lang=lang,  # type: ignore[arg-type]
                            norms=norms or (), group_columns=groups or None,
                            careless=careless, time_column=time_column, progress=step)
        except FileNotFoundError as exc:
            fail(str(exc), ExitCode.USAGE)
        except (InstrumentDefinitionError, PolicyDefinitionError, NormDefinitionError) as exc:
            fail(str(exc), ExitCode.BAD_DEFINITION)
        except NormMismatchError as exc:
            fail(str(exc), ExitCode.USAGE)
        except ResponseDataError as exc:
            fail(f"{input_file}: {exc}", ExitCode.DATA_PROBLEMS)
        except ValueError as exc:
            fail(str(exc), ExitCode.USAGE)
    for w in caught:
        if issubclass(w.category, XinliScreenWarning):
            stderr.print(f"warning: {w.message}", markup=False)
    written: list[Path] = []
    if output is None:
        result.table.to_csv(sys.stdout, index=False)
    else:
        written += write_result(result, output)
    if failures is not None:
        written.append(write_failures(result, failures))
    _summary(result, written)
    if len(result.failures):
        raise typer.Exit(int(ExitCode.DATA_PROBLEMS))
