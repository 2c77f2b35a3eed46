"""``xinli-screen report``: the pupil file (two views) and group reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xinli_screen.cli._archive_options import (
    ByOpt,
    KeyFileOpt,
    PolicyOpt,
    guarded,
    open_store,
)
from xinli_screen.cli.console import fail, stderr
from xinli_screen.cli.exit_codes import ExitCode

app = typer.Typer(help="Pupil and group reports.", no_args_is_help=True)


@app.command("pupil")
def pupil_command(
    pupil_id: Annotated[str, typer.Argument(help="Pupil id (or pseudonym).")],
    output: Annotated[Path, typer.Option("-o", "--output", help=".html or .json")],
    archive: Annotated[str, typer.Option("--archive", envvar="XINLI_ARCHIVE",
                                         help="Archive path or URL.")] = "xinli-archive.db",
    view: Annotated[str, typer.Option(
        "--view", help="psychologist (everything) or teacher (tier and advice only).")
    ] = "psychologist",
    with_name: Annotated[bool, typer.Option(
        "--with-name", help="Show the stored name (hidden by default).")] = False,
    lang: Annotated[str, typer.Option(
        "--lang", help="zh (Chinese first, English beside the headings) or en.")] = "zh",
    key_file: KeyFileOpt = None,
    policy: PolicyOpt = "default",
    by: ByOpt = "report",
) -> None:
    """One pupil's 一生一策 file: record fields, tiers, scores, reviews and actions (HTML or
    JSON; the HTML prints on A4). The teacher view shows tiers and advice only.

    Example: xinli-screen report pupil S001 --archive district.db --view teacher
    -o S001_班主任.html
    """
    from xinli_screen.report.pupil import LANGS, VIEWS, build_pupil_report, write_pupil_report

    if view not in VIEWS:
        fail(f"unknown view {view!r}; use one of {', '.join(VIEWS)}", ExitCode.USAGE)
    if lang not in LANGS:
        fail(f"unknown language {lang!r}; use one of {', '.join(LANGS)}", ExitCode.USAGE)
    if output.suffix.lower() not in (".html", ".htm", ".json"):
        fail("the report must be .html or .json", ExitCode.USAGE)
    store = open_store(archive, key_file, policy)
    report = guarded(lambda: build_pupil_report(
        store, pupil_id, view=view, include_name=with_name, by=by,  # type: ignore[arg-type]
        lang=lang))  # type: ignore[arg-type]
    store.close()
    write_pupil_report(report, output)
    stderr.print(f"wrote {output}")


@app.command("group")
def group_command(
    output: Annotated[Path, typer.Option("-o", "--output", help=".html, .xlsx or .json")],
    by_columns: Annotated[str, typer.Option(
        "--group-by", "--by", help="Comma-separated grouping columns, e.g. school,grade,class.")],
    results_file: Annotated[Path | None, typer.Argument(
        help="Results file (instead of --archive).")] = None,
    archive: Annotated[str | None, typer.Option(
        "--archive", envvar="XINLI_ARCHIVE", help="Archive path or URL.")] = None,
    wave: Annotated[list[str] | None, typer.Option(
        "--wave", help="Wave(s) from the archive; repeat to compare waves.")] = None,
    roster: Annotated[Path | None, typer.Option(
        "--roster", help="Results file only: CSV/XLSX with the id and grouping columns.")
    ] = None,
    weight: Annotated[str | None, typer.Option("--weight", help="Survey-weight column.")
    ] = None,
    min_cell: Annotated[int, typer.Option(
        "--min-cell", help="Smallest count shown (counts 1 to N-1 hidden); 3 or more.")] = 5,
    unsafe_min_cell: Annotated[bool, typer.Option(
        "--unsafe-min-cell", help="Allow --min-cell 1 or 2 (every page then says so).")
    ] = False,
    policy: PolicyOpt = "default",
    actor: Annotated[str, typer.Option("--actor", help="Who asks (audit trail).")] = "report",
    lang: Annotated[str, typer.Option(
        "--lang", help="zh (Chinese, English under the headers) or en.")] = "zh",
) -> None:
    """Counts and rates per tier and screen-positive scale per school, grade and class, with
    subtotals, small-cell suppression and (several --wave) a comparison per school.

    Every grouping of a wave (--by school, --by grade, --by school,grade,class ...) is a view
    of one suppressed school x grade x class table, so no combination of reports recomputes a
    hidden count (docs/privacy.md). A column outside school/grade/class (e.g. sex) may only
    be used alone; --min-cell below 3 needs --unsafe-min-cell.

    Example: xinli-screen report group --archive files.db --wave 2025-autumn
    --by school,grade,class -o district.xlsx
    """
    from xinli_screen.policy.models import TIER_ORDER
    from xinli_screen.report.group import LANGS, build_group_report, write_group_report

    by = [c.strip() for c in by_columns.split(",") if c.strip()]
    if output.suffix.lower() not in (".html", ".htm", ".xlsx", ".json"):
        fail("the report must be .html, .xlsx or .json", ExitCode.USAGE)
    if lang not in LANGS:
        fail(f"unknown language {lang!r}; use one of {', '.join(LANGS)}", ExitCode.USAGE)
    if (results_file is None) == (archive is None):
        fail("give either a results file or --archive with --wave", ExitCode.USAGE)
    from xinli_screen.report.group_protect import check_min_cell

    guarded(lambda: check_min_cell(min_cell, unsafe_min_cell))
    tables = {}
    labels: dict[str, str] = {}
    labels_en: dict[str, str] = {}
    if results_file is not None:
        from xinli_screen.archive import read_results_file
        from xinli_screen.cli.archive import read_roster

        table, prov = guarded(lambda: read_results_file(results_file))
        if roster is not None:
            id_col = prov.get("id_column")
            rost = read_roster(roster, id_col)
            if not id_col or id_col not in rost.columns:  # type: ignore[attr-defined]
                fail("the roster needs the results' id column", ExitCode.USAGE)
            extra = [c for c in rost.columns if c != id_col]  # type: ignore[attr-defined]
            table = table.drop(columns=[c for c in extra if c in table.columns]).merge(
                rost, how="left", on=id_col)
        tables[results_file.stem] = table
    else:
        if not wave:
            fail("--archive needs --wave", ExitCode.USAGE)
        store = open_store(archive, None, policy)  # type: ignore[arg-type]
        frozen = guarded(lambda: store.wave_policy(wave[-1]))  # the newest wave's own policy
        labels = {t: frozen.tiers.spec(t).label.get("zh") for t in TIER_ORDER}
        labels_en = {t: frozen.tiers.spec(t).label.get("en") for t in TIER_ORDER}
        from xinli_screen.archive.wave_blocks import wave_columns
        from xinli_screen.report.group_counts import cutoff_candidate
        from xinli_screen.report.group_protect import HIERARCHY

        needed = {*by, *HIERARCHY, *([weight] if weight else [])}

        def keep(col: str) -> bool:
            return (col == "warning_tier" or col in needed or cutoff_candidate(col)
                    or (col.startswith("attr.") and col[5:] in needed))

        for w in wave:
            t = guarded(lambda w=w: wave_columns(store, w, keep))
            tables[w] = t.rename(columns={c: c[5:] for c in t.columns if c.startswith("attr.")})
        store.log_access(None, "report_group", by=actor, wave=",".join(wave), group_by=by)
        store.close()
    report = guarded(lambda: build_group_report(
        tables, by, weight=weight, min_cell=min_cell, labels=labels, labels_en=labels_en,
        allow_unsafe_min_cell=unsafe_min_cell))
    if report.unsafe_min_cell:
        stderr.print(f"warning: --min-cell {min_cell} is below 3; the report says so on "
                     "every page")
    write_group_report(report, output, lang=lang)
    stderr.print(f"wrote {output}")
