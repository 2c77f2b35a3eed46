"""``xinli-screen archive``: import waves, record actions, export or delete one pupil, audit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from xinli_screen.cli._archive_options import (
    ArchiveOpt,
    ByOpt,
    KeyFileOpt,
    guarded,
    open_store,
)
from xinli_screen.cli.console import fail, stderr
from xinli_screen.cli.exit_codes import ExitCode

app = typer.Typer(help="Pupil file store (一生一策档案): waves, reviews, actions, audit trail.",
                  no_args_is_help=True)


def read_roster(path: Path, id_column: str | None) -> object:
    """Read a roster (CSV in UTF-8, BOM or GBK, or XLSX) with every cell as text."""
    from xinli_screen.io.readers import read_side_table

    if not path.exists():
        fail(f"roster file not found: {path}", ExitCode.USAGE)
    return guarded(lambda: read_side_table(path))


def check_attributes(names: list[str], results_columns: list[str], roster: Any) -> None:
    """Check ``--attributes`` before importing: refuse identity columns, name missing ones.

    A name (or, in ``ALIAS=COLUMN``, either name) that says identity number, phone, IP
    address ... is refused as the import would refuse the column
    (:func:`~xinli_screen.archive.at_rest.refuse_sensitive_names`). A name that is neither a
    column of the results file nor of the roster is stored for no sheet: a warning on stderr
    names it (column names only, never a value).

    Parameters
    ----------
    names : list of str
        The ``--attributes`` names.
    results_columns : list of str
        Columns of the results file.
    roster : DataFrame or None
        The ``--roster`` table.

    Raises
    ------
    typer.Exit
        Code 2 for an identity, contact or IP column.
    """
    from xinli_screen.archive.at_rest import refuse_sensitive_names

    guarded(lambda: refuse_sensitive_names(names, where="--attributes"))
    available = {str(c) for c in results_columns}
    if roster is not None:
        available |= {str(c) for c in roster.columns}
    where = "the results file" if roster is None else "the roster or the results file"
    for name in names:
        if not name or name in available:
            continue
        hint = (" (archive import stores columns under their own names; ALIAS=COLUMN is for "
                "roster.attributes in a wave definition)") if "=" in name else ""
        stderr.print(f"warning: --attributes: no column {name!r} in {where}; it is not "
                     f"stored{hint}", markup=False)


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
        "--attributes", help="Comma-separated roster columns to store (default: school, "
        "grade, class, sex / 学校, 年级, 班级, 性别). Identity numbers, phone numbers and IP "
        "addresses are refused.")] = None,
    pseudonymise: Annotated[bool, typer.Option(
        "--pseudonymise", help="Store HMAC pseudonyms instead of ids (key: XINLI_HMAC_KEY or "
        "--key-file; never stored).")] = False,
    keep_names: Annotated[bool, typer.Option(
        "--keep-names", help="Store the roster's name column (dropped by default).")] = False,
    drop_names: Annotated[bool, typer.Option(
        "--drop-names", help="Store this part without names even where its stored version "
        "holds names (otherwise refused; the earlier version stays, superseded).")] = False,
    part: Annotated[str, typer.Option(
        "--part", help="Part of the wave this file is (default 'main'); importing changed "
        "content under the same part is a correction: the earlier version is superseded "
        "(kept and audited).")] = "main",
    retest: Annotated[bool, typer.Option(
        "--retest", help="The file is a retest: each sheet replaces the pupil's earlier "
        "sheet in this wave.")] = False,
    key_file: KeyFileOpt = None,
    policy: Annotated[str, typer.Option(
        "--policy", help="The policy the results were scored with (id or YAML path); it is "
        "frozen with a new wave.")] = "default",
    by: ByOpt = "import",
) -> None:
    """Import scored results as a part of a wave; importing the same file again changes
    nothing, a changed file under the same --part supersedes the earlier version.

    For a whole wave with several forms, files and a roster use `xinli-screen wave run`.

    Example: xinli-screen archive import results.json --wave 2025-autumn --archive files.db
    """
    from xinli_screen.archive.result_chunks import open_result_chunks
    from xinli_screen.cli._archive_options import optional_key

    chunks = guarded(lambda: open_result_chunks(results_file))  # header checks only
    if pseudonymise:
        optional_key(key_file, required=True)
    store = open_store(archive, key_file, policy)
    rost = None if roster is None else read_roster(roster, chunks.provenance.get("id_column"))
    attrs = None if attributes is None else [a.strip() for a in attributes.split(",")]
    if attrs:
        check_attributes(attrs, chunks.columns, rost)
    summary = guarded(lambda: store.import_results_file(
        results_file, wave, by=by, roster=rost, attributes=attrs,
        pseudonymise_ids=pseudonymise, keep_names=keep_names, part=part, retest=retest,
        policy=policy, drop_names=drop_names))
    store.close()
    if summary.changed:
        outcome = ", ".join(f"{p.name} {p.outcome} (version {p.version})"
                            for p in summary.parts)
        stderr.print(f"wave {wave}: imported {summary.imported} sheets: {outcome}; "
                     f"sheets without id {summary.without_id} (kept under a provisional "
                     f"key), sheets not counted (double submissions) "
                     f"{summary.duplicate_sheets}")
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
        from xinli_screen.io.private_files import write_private_text

        write_private_text(output, table.to_json(orient="records", force_ascii=False, indent=1))
    else:  # pupil keys: created 0600 like every file holding ids
        from xinli_screen.io.private_files import replaced_on_success
        from xinli_screen.io.writers import csv_safe

        with replaced_on_success(output) as tmp:
            csv_safe(table).to_csv(tmp, index=False, encoding="utf-8-sig")


@app.command("verify")
def verify_command(archive: ArchiveOpt = "xinli-archive.db") -> None:
    """Check the audit trail's hash chain: an entry edited, inserted or removed in the
    database is found. Prints the head of the chain: note it down (e.g. in the wave's paper
    file) to detect later removal of the last entries.

    Exit codes: 0 intact, 1 the chain is broken (the entries are named by number).

    Example: xinli-screen archive verify --archive district.db
    """
    store = open_store(archive)
    result = guarded(store.verify_audit)
    store.close()
    stderr.print(f"audit trail: {result.entries} entries, {result.verified} verified, "
                 f"{result.before_chain} written before the chain existed (not covered); "
                 f"head {result.head}", markup=False)
    for problem in result.problems:
        stderr.print(f"  BROKEN: {problem}", markup=False)
    if not result.ok:
        raise typer.Exit(int(ExitCode.DATA_PROBLEMS))
    stderr.print("intact", markup=False)


@app.command("export")
def export_command(
    pupil_id: Annotated[str, typer.Argument(help="Pupil id (or pseudonym).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="JSON file to write.")],
    by: ByOpt,
    archive: ArchiveOpt = "xinli-archive.db",
    key_file: KeyFileOpt = None,
) -> None:
    """Export everything stored about one pupil as JSON (audited)."""
    from xinli_screen.io.private_files import write_private_text

    store = open_store(archive, key_file)
    record = guarded(lambda: store.export_pupil(pupil_id, by=by))
    store.close()
    write_private_text(output, json.dumps(record, ensure_ascii=False, indent=1, default=str))
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
