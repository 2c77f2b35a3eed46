"""``xinli-screen archive``: import waves, record actions, export or delete one pupil, audit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from xinli_screen.cli._archive_options import (
    ArchiveOpt,
    ByOpt,
    KeyFileOpt,
    PolicyOpt,
    guarded,
    open_store,
)
from xinli_screen.cli.console import fail, stderr
from xinli_screen.cli.exit_codes import ExitCode

app = typer.Typer(help="Pupil file store (一生一策档案): waves, reviews, actions, audit trail.",
                  no_args_is_help=True)


def read_roster(path: Path, id_column: str | None) -> object:
    """Read a roster (CSV/XLSX) with every cell as text."""
    import pandas as pd

    if not path.exists():
        fail(f"roster file not found: {path}", ExitCode.USAGE)
    if path.suffix.lower() in (".xlsx", ".xls"):
        return pd.read_excel(path, dtype=str)
    return pd.read_csv(path, dtype=str, encoding="utf-8-sig")


@app.command("import")
def import_command(
    results_file: Annotated[Path, typer.Argument(
        help="Results written by `xinli-screen score` (.json, .xlsx, .csv, .parquet).")],
    wave: Annotated[str, typer.Option("--wave", help="Wave name, e.g. 2025-autumn.")],
    archive: ArchiveOpt = "xinli-archive.db",
    roster: Annotated[Path | None, typer.Option(
        "--roster", help="CSV/XLSX with the id column and school, grade, class ... columns.")
    ] = None,
    attributes: Annotated[str | None, typer.Option(
        "--attributes", help="Comma-separated roster columns to store (default: all but "
        "names).")] = None,
    pseudonymise: Annotated[bool, typer.Option(
        "--pseudonymise", help="Store HMAC pseudonyms instead of ids (key: XINLI_HMAC_KEY or "
        "--key-file; never stored).")] = False,
    keep_names: Annotated[bool, typer.Option(
        "--keep-names", help="Store the roster's name column (dropped by default).")] = False,
    key_file: KeyFileOpt = None,
    policy: PolicyOpt = "default",
    by: ByOpt = "import",
) -> None:
    """Import one wave's scored results; importing the same wave again changes nothing.

    Example: xinli-screen archive import results.json --wave 2025-autumn --archive files.db
    """
    from xinli_screen.archive import read_results_file
    from xinli_screen.cli._archive_options import optional_key

    table, provenance = guarded(lambda: read_results_file(results_file))
    if pseudonymise:
        optional_key(key_file, required=True)
    store = open_store(archive, key_file, policy)
    rost = None if roster is None else read_roster(roster, provenance.get("id_column"))
    attrs = None if attributes is None else [a.strip() for a in attributes.split(",")]
    summary = guarded(lambda: store.import_wave(
        table, provenance, wave, by=by, source_name=results_file.name, roster=rost,
        attributes=attrs, pseudonymise_ids=pseudonymise, keep_names=keep_names))
    store.close()
    if summary.changed:
        stderr.print(f"wave {wave}: imported {summary.imported} results"
                     f" (skipped: missing id {summary.skipped_missing_id}, duplicate id "
                     f"{summary.skipped_duplicate_id})")
    else:
        stderr.print(f"wave {wave}: already in the archive with the same content; nothing "
                     "changed")


@app.command("action")
def action_command(
    pupil_id: Annotated[str, typer.Argument(help="Pupil id (or pseudonym).")],
    kind: Annotated[str, typer.Option(
        "--kind", help="interview, parent_contact, referral, return_to_school or other.")],
    by: ByOpt,
    note: Annotated[str, typer.Option("--note", help="What was done and why.")] = "",
    wave: Annotated[str | None, typer.Option("--wave", help="Wave it follows up.")] = None,
    archive: ArchiveOpt = "xinli-archive.db",
    key_file: KeyFileOpt = None,
) -> None:
    """Record a follow-up action (面谈, 家校沟通, 转介就医, 复学)."""
    store = open_store(archive, key_file)
    guarded(lambda: store.add_action(pupil_id, kind, by=by, note=note, wave=wave))
    store.close()
    stderr.print(f"recorded action {kind}")


@app.command("waves")
def waves_command(archive: ArchiveOpt = "xinli-archive.db") -> None:
    """List the waves in the archive."""
    store = open_store(archive)
    typer.echo(store.waves().to_string(index=False))
    store.close()


@app.command("audit")
def audit_command(
    archive: ArchiveOpt = "xinli-archive.db",
    pupil_id: Annotated[str | None, typer.Option("--pupil", help="Only this pupil.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help=".csv or .json")] = None,
    key_file: KeyFileOpt = None,
) -> None:
    """Show the audit trail (who did what, when)."""
    store = open_store(archive, key_file)
    table = guarded(lambda: store.audit(pupil_id)).fillna("")
    store.close()
    if output is None:
        typer.echo(table.to_string(index=False))
    elif output.suffix.lower() == ".json":
        output.write_text(table.to_json(orient="records", force_ascii=False, indent=1),
                          encoding="utf-8")
    else:
        table.to_csv(output, index=False, encoding="utf-8-sig")


@app.command("export")
def export_command(
    pupil_id: Annotated[str, typer.Argument(help="Pupil id (or pseudonym).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="JSON file to write.")],
    by: ByOpt,
    archive: ArchiveOpt = "xinli-archive.db",
    key_file: KeyFileOpt = None,
) -> None:
    """Export everything stored about one pupil as JSON (audited)."""
    store = open_store(archive, key_file)
    record = guarded(lambda: store.export_pupil(pupil_id, by=by))
    store.close()
    output.write_text(json.dumps(record, ensure_ascii=False, indent=1, default=str),
                      encoding="utf-8")
    stderr.print(f"wrote {output}")


@app.command("delete")
def delete_command(
    pupil_id: Annotated[str, typer.Argument(help="Pupil id (or pseudonym).")],
    by: ByOpt,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm the deletion.")] = False,
    archive: ArchiveOpt = "xinli-archive.db",
    key_file: KeyFileOpt = None,
) -> None:
    """Delete one pupil's results, reviews and actions (the deletion is audited, without id)."""
    if not yes:
        fail("deleting a pupil's data cannot be undone; add --yes to confirm", ExitCode.USAGE)
    store = open_store(archive, key_file)
    removed = guarded(lambda: store.delete_pupil(pupil_id, by=by))
    store.close()
    stderr.print("deleted: " + ", ".join(f"{k} {v}" for k, v in removed.items()))
