"""``xinli-screen review``: record reviews (复核) and actions.

- ``review add PUPIL --wave W --outcome O --by WHO``: one pupil (``review PUPIL ...`` without
  ``add`` still works);
- ``review import SHEET... --archive DB --by WHO``: filled return sheets (复核回执) of a wave,
  every row checked first; a sheet with an invalid row is refused whole unless
  ``--skip-invalid``; importing the same sheet again adds nothing.

Only counts and row numbers are printed, never an id or a name.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from xinli_screen.cli._archive_options import ArchiveOpt, ByOpt, KeyFileOpt, guarded, open_store
from xinli_screen.cli.console import fail, stderr
from xinli_screen.cli.exit_codes import ExitCode


class _DefaultAdd(TyperGroup):
    """``review PUPIL ...`` (the form before ``review import`` existed) means ``review add``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["add", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_DefaultAdd, no_args_is_help=True,
                  help="Record reviews (复核) and actions: one pupil (add) or filled return "
                       "sheets (import).")


@app.command("add")
def review_command(
    pupil_id: Annotated[str, typer.Argument(help="Pupil id (or pseudonym).")],
    wave: Annotated[str, typer.Option("--wave", help="Wave whose result was reviewed.")],
    outcome: Annotated[str, typer.Option(
        "--outcome", help="confirmed, not_confirmed, tier_changed or closed.")],
    by: ByOpt,
    note: Annotated[str, typer.Option("--note", help="Why (psychologist view only).")] = "",
    tier: Annotated[str | None, typer.Option(
        "--tier", help="New tier (none, class, school, district); needed for tier_changed.")
    ] = None,
    archive: ArchiveOpt = "xinli-archive.db",
    key_file: KeyFileOpt = None,
) -> None:
    """Record one review: it overrides the screen tier (who, when and why are kept).

    Example: xinli-screen review add 20250101 --wave 2025-autumn --outcome confirmed
    --by 王老师 --note "面谈确认" --archive files.db
    """
    store = open_store(archive, key_file)
    guarded(lambda: store.add_review(pupil_id, wave, outcome, by=by, note=note, tier=tier))
    store.close()
    stderr.print(f"recorded review {outcome} for wave {wave}")


def _write_rejected(errors: list[Any], path: Path) -> None:
    import pandas as pd

    from xinli_screen.wave.xlsx import Sheet, write_sheets

    frame = pd.DataFrame([{"文件": e.file, "行号": e.row, "列": e.column, "问题": e.message}
                          for e in errors])
    write_sheets(path, [Sheet("未导入的行", frame,
                              title="复核回执中未导入的行（请改正后重新导入）")])


@app.command("import")
def import_command(
    sheets: Annotated[list[Path], typer.Argument(help="Filled 复核回执_*.xlsx of one wave.")],
    by: ByOpt,
    archive: ArchiveOpt = "xinli-archive.db",
    wave: Annotated[str | None, typer.Option(
        "--wave", help="The wave (default: the sheets' 测评批次 column).")] = None,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Store the valid rows and list the invalid ones (default: "
        "refuse everything when a row is invalid).")] = False,
    rejected: Annotated[Path | None, typer.Option(
        "--rejected", help="Write the invalid rows with their problems to this .xlsx.")
    ] = None,
    key_file: KeyFileOpt = None,
) -> None:
    """Import filled return sheets (复核回执): reviews and actions of many pupils at once.

    Every row is checked first (pupil in the wave, allowed outcome, tier and measures,
    reviewer, date not in the future, pupils not on the list marked 名单外学生). Invalid rows
    are listed by file, row and column; then nothing is stored unless --skip-invalid. Rows
    already imported are skipped, so importing a sheet again is safe. Audited.

    Exit codes: 0 imported; 1 invalid rows (nothing stored, or with --skip-invalid the valid
    rows stored); 2 usage.

    Example: xinli-screen review import 复核回执_第一中学.xlsx --archive district.db --by 王老师
    """
    from xinli_screen.cli.followup import require_archive
    from xinli_screen.errors import XinliScreenError
    from xinli_screen.followup.review_import import ReviewImportError, import_return_sheets

    require_archive(archive)
    store = open_store(archive, key_file)
    started = time.perf_counter()
    try:
        result = import_return_sheets(store, sheets, by=by, wave=wave,
                                      skip_invalid=skip_invalid)
    except ReviewImportError as exc:
        store.close()
        if rejected is not None:
            _write_rejected(exc.errors, rejected)
            stderr.print(f"wrote {rejected}", markup=False)
        fail(str(exc), ExitCode.DATA_PROBLEMS)
    except (FileNotFoundError, XinliScreenError) as exc:
        store.close()
        fail(str(exc), ExitCode.USAGE)
    else:
        store.close()
    elapsed = time.perf_counter() - started
    stderr.print(f"wave {result.wave}: {len(result.files)} sheet(s), {result.rows} rows: "
                 f"{result.valid} valid, {len(result.errors)} problem(s), "
                 f"{result.not_reviewed} not filled in; stored {result.reviews} review(s) and "
                 f"{result.actions} action(s); {result.already_imported} review(s)/action(s) "
                 f"were already in the archive ({elapsed:.1f} s)", markup=False)
    if result.replaced:
        stderr.print(f"  {result.replaced} pupil(s) had another 复核结果 recorded for this wave "
                     "before: the new one counts from now on (both are kept in the pupil "
                     "file and the audit trail)", markup=False)
    if result.errors:
        for e in result.errors[:50]:
            stderr.print(f"  not imported: {e}", markup=False)
        if rejected is not None:
            _write_rejected(result.errors, rejected)
            stderr.print(f"wrote {rejected}", markup=False)
        raise typer.Exit(int(ExitCode.DATA_PROBLEMS))
