"""``xinli-screen norms``: build local norm tables, list and show bundled ones, validate files."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from xinli_screen.cli.console import fail, load_or_fail, stderr, validate_files
from xinli_screen.cli.exit_codes import ExitCode
from xinli_screen.errors import (
    DefinitionIssue,
    InstrumentDefinitionError,
    ResponseDataError,
    XinliScreenWarning,
)
from xinli_screen.instrument.registry import load_instrument
from xinli_screen.io import read_column_map, read_table
from xinli_screen.norms import fit, list_norms, load_norms, to_yaml, validate_norm_file
from xinli_screen.norms.checks import check_against_instrument
from xinli_screen.norms.errors import NormDefinitionError
from xinli_screen.norms.models import NormTable
from xinli_screen.responses import prepare_responses
from xinli_screen.scoring import score_instrument

app = typer.Typer(help="Build local norm tables; list, show and validate norm tables.",
                  no_args_is_help=True,
                  epilog="Example: xinli-screen norms build wave1.csv -i cesd --by sex,grade "
                  "-o cesd_local.yaml")

KINDS = ("mean_sd", "percentile")


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").replace("，", ",").split(",") if p.strip()]


@app.command("build")
def build_command(
    input_file: Annotated[Path, typer.Argument(help="Answers of the reference wave: .csv, "
                                               ".xlsx or .parquet.")],
    instrument: Annotated[str, typer.Option("-i", "--instrument",
                                            help="Bundled instrument id or YAML path.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Norm table to write (.yaml).")],
    by: Annotated[str | None, typer.Option(
        "--by", help="Group columns, comma-separated: sex,grade or sex=性别,grade=年级 "
        "(variable=column). With --continuous: the factor (at most one, e.g. sex).")] = None,
    columns: Annotated[Path | None, typer.Option(
        "--columns", help="YAML map of item id -> file column (and optional missing_codes).")
    ] = None,
    id_column: Annotated[str | None, typer.Option(
        "--id-column", help="Pupil id column; duplicated or missing ids are left out.")] = None,
    min_cell: Annotated[int, typer.Option(
        "--min-cell", min=1, help="Warn about norm cells with fewer scored pupils.")] = 30,
    kind: Annotated[str, typer.Option(
        "--kind", help="mean_sd (linear T) or percentile (normalised T).")] = "mean_sd",
    continuous: Annotated[bool, typer.Option(
        "--continuous", help="Continuous norms over age or grade (needs --age-column).")
    ] = False,
    age_column: Annotated[str | None, typer.Option(
        "--age-column", help="Covariate column for --continuous: age in years, or grade "
        "(age or age=年龄).")] = None,
    rank_by: Annotated[str | None, typer.Option(
        "--rank-by", help="--continuous: column of ranking groups (grade, age band).")] = None,
    window: Annotated[float | None, typer.Option(
        "--window", help="--continuous: rank within a sliding covariate window of this "
        "width instead.")] = None,
    scales: Annotated[str | None, typer.Option(
        "--scales", help="Scale ids to norm, comma-separated (default: all).")] = None,
    table_id: Annotated[str | None, typer.Option(
        "--table-id", help="Id of the new table (default: {instrument}_local).")] = None,
    population: Annotated[str | None, typer.Option(
        "--population", help="Who the reference wave is, e.g. 'Grade 7-9, district X'.")
    ] = None,
    year: Annotated[int | None, typer.Option("--year", help="Year of the reference wave.")
                    ] = None,
    missing_code: Annotated[list[float] | None, typer.Option(
        "--missing-code", help="A code meaning 'no answer' in this file (repeatable).")] = None,
) -> None:
    """Build a norm table from a reference wave and write it as YAML.

    The answers are read and scored as `xinli-screen score` does; each norm cell (every
    combination of the --by groups) gets its n, mean, SD, observed range (and percentile
    points with --kind percentile). Cells under --min-cell are reported. Use the table in
    later waves with the norms API (apply_norms) or `score --norms`.

    Example:
      xinli-screen norms build wave1.csv -i cesd --by sex=性别,grade=年级 -o cesd_local.yaml

    Exit codes: 0 ok, 1 data problems (bad cells, duplicate ids: the table is still written),
    2 usage, 3 bad instrument or column-map file.
    """
    if output.suffix.lower() not in {".yaml", ".yml"}:
        fail(f"output {output} must end in .yaml or .yml", ExitCode.USAGE)
    if not output.resolve().parent.is_dir():
        fail(f"folder {output.parent} does not exist; create it first", ExitCode.USAGE)
    if kind not in KINDS:
        fail(f"--kind must be one of {', '.join(KINDS)}; got {kind!r}", ExitCode.USAGE)
    if continuous and not age_column:
        fail("--continuous needs --age-column (age in years, or grade)", ExitCode.USAGE)
    if not continuous and (age_column or rank_by or window is not None):
        fail("--age-column, --rank-by and --window are used with --continuous only",
             ExitCode.USAGE)
    if columns is not None and not columns.is_file():
        fail(f"column map {columns}: no such file", ExitCode.USAGE)
    inst = load_or_fail(load_instrument, instrument, InstrumentDefinitionError)
    try:
        cmap = read_column_map(columns) if columns else None
    except ResponseDataError as exc:
        fail(str(exc), ExitCode.BAD_DEFINITION)
    try:
        data, _info = read_table(input_file)
        prepared = prepare_responses(
            data, [inst], columns=cmap.columns if cmap else None, id_column=id_column,
            missing_codes=[*(cmap.missing_codes if cmap else ()), *(missing_code or [])])
    except ResponseDataError as exc:
        fail(f"{input_file}: {exc}", ExitCode.DATA_PROBLEMS)
    scores = score_instrument(prepared.responses, inst)
    groups = data.reset_index(drop=True)
    keep = np.ones(len(data), dtype=bool)
    if prepared.ids is not None:
        ids = prepared.ids.reset_index(drop=True)
        keep &= ~(ids.duplicated(keep=False) & ids.notna()).to_numpy() & ids.notna().to_numpy()
    left_out = int((~keep).sum())
    scores, groups = scores[keep].reset_index(drop=True), groups[keep].reset_index(drop=True)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", XinliScreenWarning)
            common = dict(instrument=inst, groups=groups, scales=_split(scales) or None,
                          min_cell=min_cell, table_id=table_id, population=population,
                          year=year)
            if continuous:
                table = fit(scores, _split(by), kind="continuous", covariate=age_column,
                            rank_by=rank_by, width=window, **common)
            else:
                table = fit(scores, _split(by), kind=kind, **common)  # type: ignore[arg-type]
    except (KeyError, ValueError) as exc:
        fail(str(exc).strip('"'), ExitCode.USAGE)
    for w in caught:
        if issubclass(w.category, XinliScreenWarning):
            stderr.print(f"warning: {w.message}", markup=False)
    to_yaml(table, output)
    _report(table, prepared.failures, left_out, output)
    if len(prepared.failures):
        raise typer.Exit(int(ExitCode.DATA_PROBLEMS))


def _report(table: NormTable, failures: object, left_out: int, output: Path) -> None:
    n_fail = len(failures)  # type: ignore[arg-type]
    stderr.print(f"norm table {table.label} ({table.kind}) for {table.instrument}: "
                 f"n = {table.sample_size}" + (f"; {left_out} row(s) with a missing or "
                                               "duplicated id left out" if left_out else ""))
    for sid, norm in table.scales.items():
        if norm.model is not None:
            m = norm.model
            stderr.print(f"  {sid}: {len(m.terms)} terms, R2 {m.r2:.4f}, n {m.n}, "
                         f"{table.covariate.id if table.covariate else ''} "
                         f"{m.covariate_min:g}-{m.covariate_max:g}")
            continue
        cells = ", ".join(
            f"{'/'.join(str(v) for v in c.group.values()) or 'all'} n={c.n}"
            for c in norm.cells)
        stderr.print(f"  {sid}: {cells}")
    if n_fail:
        stderr.print(f"data problems: {n_fail} bad cell(s) or id(s); those answers were "
                     "treated as missing (see docs/errors.md)")
    stderr.print(f"wrote {output}")


@app.command("list")
def list_command(
    instrument: Annotated[str | None, typer.Option(
        "-i", "--instrument", help="Only the tables of this instrument.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the bundled norm tables.

    Example: xinli-screen norms list -i cesd
    """
    summaries = [load_norms(i).summary() for i in list_norms(instrument)]
    if as_json:
        typer.echo(json.dumps(summaries, ensure_ascii=False, indent=1))
        return
    for s in summaries:
        typer.echo(f"{s['id']:<28} {s['instrument']:<8} {s['kind']:<10} "
                   f"{s['year'] or '----'}  n={s['sample_size'] or '?':<6} "
                   f"{s['name_zh'] or s['name_en']}")


@app.command("show")
def show_command(
    table: Annotated[str, typer.Argument(help="Bundled norm-table id or path to a YAML file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full table.")] = False,
) -> None:
    """Show one norm table: source, population, groups, metric and cells of every scale.

    Example: xinli-screen norms show cesd_zhang2010_urban
    """
    t = load_or_fail(load_norms, table, NormDefinitionError)
    if as_json:
        typer.echo(t.model_dump_json(indent=1, exclude_none=True))
        return
    typer.echo(f"{t.label}: {t.name.get('zh')} / {t.name.get('en')}")
    typer.echo(f"instrument {t.instrument}, kind {t.kind}, year {t.year or 'not given'}, "
               f"n {t.sample_size or 'not given'}")
    typer.echo(f"population: {t.population.get('zh')} / {t.population.get('en')}")
    for c in t.citation:
        typer.echo(f"source: {c.text}")
    for v in t.group_variables:
        typer.echo(f"group {v.id}: {', '.join(lev.key for lev in v.levels)}")
    if t.covariate is not None:
        typer.echo(f"covariate: {t.covariate.id}")
    for sid, norm in t.scales.items():
        m = norm.metric
        rng = f", range {m.range[0]:g}-{m.range[1]:g}" if m.range else ""
        typer.echo(f"scale {sid}: {m.method} x{m.multiplier:g}{rng}")
        for c in norm.cells:
            grp = ", ".join(f"{k}={v}" for k, v in c.group.items()) or "all"
            stats = (f"mean {c.mean:g}, sd {c.sd:g}" if c.mean is not None and c.sd is not None
                     else "")
            pts = f", {len(c.points)} percentile points" if c.points else ""
            typer.echo(f"  [{grp}] n={c.n or '?'} {stats}{pts}")
        if norm.model is not None:
            md = norm.model
            typer.echo(f"  continuous model: {len(md.terms)} terms, R2 {md.r2}, covariate "
                       f"{md.covariate_min:g}-{md.covariate_max:g}, factor {md.factor}")
    if t.verification:
        typer.echo(f"verification: {t.verification}")
    if t.notes:
        typer.echo(f"notes: {t.notes}")


@app.command("validate")
def validate_command(
    paths: Annotated[list[Path], typer.Argument(help="Norm-table YAML files.")],
    instrument: Annotated[str | None, typer.Option(
        "-i", "--instrument", help="Instrument (bundled id or YAML path) to check the tables "
        "against (default: the bundled instrument each table names).")] = None,
) -> None:
    """Check norm-table YAML files; every problem is listed with file, line and field.

    A table that names a bundled instrument (or is checked against -i) is also checked
    against that instrument's scoring as `score --norms` does: method (sum or mean),
    multiplier, range, and every cell's mean, min/max and SD within the possible scores.

    Exit code 0 when all are valid, 3 when any has an error.

    Example: xinli-screen norms validate cesd_local.yaml
      xinli-screen norms validate my_norms.yaml -i my_scale.yaml
    """
    given = (load_or_fail(load_instrument, instrument, InstrumentDefinitionError)
             if instrument is not None else None)

    def validate(path: Path) -> tuple[NormTable | None, list[DefinitionIssue], str]:
        table, issues, digest = validate_norm_file(path)
        if table is None:
            return table, issues, digest
        inst = given
        if inst is None:
            try:
                inst = load_instrument(table.instrument)
            except (FileNotFoundError, InstrumentDefinitionError):
                issues = [*issues, DefinitionIssue(
                    "norm-metric-unchecked", f"instrument {table.instrument!r} is not bundled: "
                    "the cells were not checked against its possible scores; give it with -i",
                    level="warning", source=str(path))]
                return table, issues, digest
        metric = check_against_instrument(table, inst, str(path))
        return (None if metric else table), [*issues, *metric], digest

    validate_files(paths, validate,
                   lambda m: f"{m.label}, {m.kind}, {len(m.scales)} scales")


@app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of norm-table YAML files, for editor validation.

    Example: xinli-screen norms schema > norms.schema.json
    """
    from xinli_screen.norms import norm_json_schema

    typer.echo(json.dumps(norm_json_schema(), ensure_ascii=False, indent=1))
