"""``xinli-screen wave``: check, run and list a screening wave defined in YAML.

- ``wave check WAVE.yaml``: the definition, the roster and every answer file, before scoring;
- ``wave run WAVE.yaml --archive DB``: score every part, store it in the pupil file (a changed
  file supersedes its earlier version) and write the roster reconciliation file;
- ``wave list --archive DB --wave W -o FOLDER``: the warning list (预警名单) per school, the
  district summary, CSV and JSON, with effective tiers under the wave's frozen policy, and a
  return sheet (复核回执) per school for ``review import``;
- ``wave what-if WAVE.yaml --policy P -o FOLDER``: the same list under another policy, marked
  as a what-if on every page and file, audited, never stored as the wave's result.

Nothing here prints an id, a name or an answer: lists go to files.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from xinli_screen.cli._archive_options import (
    ArchiveOpt,
    ByOpt,
    KeyFileOpt,
    guarded,
    open_store,
    optional_key,
)
from xinli_screen.cli.console import fail, stderr
from xinli_screen.cli.exit_codes import ExitCode

app = typer.Typer(help="A screening wave (测评批次) defined in YAML: forms, roster, parts, "
                       "frozen policy; the warning list (预警名单).", no_args_is_help=True)

WaveFile = Annotated[Path, typer.Argument(help="Wave definition YAML (see docs/guide.md).")]


def _load(path: Path) -> Any:
    from xinli_screen.errors import DefinitionError
    from xinli_screen.wave.definition import load_wave

    if not path.is_file():
        fail(f"{path}: no such file", ExitCode.USAGE)
    try:
        return load_wave(path)
    except DefinitionError as exc:
        fail(str(exc), ExitCode.BAD_DEFINITION)
    except ValueError as exc:
        fail(f"{path}: {exc}", ExitCode.BAD_DEFINITION)


@app.command("check")
def check_command(wave_file: WaveFile) -> None:
    """Check the definition, the roster and every answer file against its form (no scoring).

    Exit codes: 0 fine, 1 a file does not fit, 3 the definition is wrong.
    """
    from xinli_screen.wave.run import check_wave

    loaded = _load(wave_file)
    parts, roster_problems = check_wave(loaded)
    d = loaded.definition
    stderr.print(f"wave {d.id}: {len(d.forms)} form(s), {len(d.parts)} part(s), policy "
                 f"{loaded.policy.policy.id} {loaded.policy.policy.version}", markup=False)
    bad = bool(roster_problems)
    for problem in roster_problems:
        stderr.print(f"roster: {problem}", markup=False)
    for p in parts:
        state = "ok" if p.ok else "PROBLEM"
        stderr.print(f"part {p.part} (form {p.form}, {Path(p.file).name}): {state}: "
                     f"{p.rows} rows, {p.items_found}/{p.items_expected} item columns, "
                     f"id column {p.id_column!r}", markup=False)
        for problem in p.problems:
            stderr.print(f"  - {problem}", markup=False)
        bad = bad or not p.ok
    if bad:
        raise typer.Exit(int(ExitCode.DATA_PROBLEMS))


@app.command("run")
def run_command(
    wave_file: WaveFile,
    archive: ArchiveOpt = "xinli-archive.db",
    by: ByOpt = "import",
    part: Annotated[list[str] | None, typer.Option(
        "--part", help="Only this part (repeatable); default: every part.")] = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Reconciliation file (.xlsx); default: "
        "<wave>_名册核对.xlsx beside the wave file.")] = None,
    keep_names: Annotated[bool, typer.Option(
        "--keep-names", help="Store pupils' names (from the roster) in the pupil file.")
    ] = False,
    drop_names: Annotated[bool, typer.Option(
        "--drop-names", help="Store this run without names even where the archive holds "
        "names from an earlier --keep-names run (refused without this option).")] = False,
    pseudonymise: Annotated[bool, typer.Option(
        "--pseudonymise", help="Store HMAC pseudonyms instead of ids (key: XINLI_HMAC_KEY "
        "or --key-file; never stored).")] = False,
    key_file: KeyFileOpt = None,
) -> None:
    """Score every part of the wave, store it in the pupil file and reconcile the roster.

    Running again with unchanged files changes nothing; a corrected file under the same part
    name supersedes the earlier version (kept and audited); a part with kind retest replaces
    the retested pupils' sheets. Writes the reconciliation file (unmatched ids, 缺测名单,
    double submissions) and prints counts only. A part whose stored version holds names
    (an earlier --keep-names run) is never stored again without them silently: give
    --keep-names again, or --drop-names to drop them (exit 2 otherwise, nothing stored).

    Example: xinli-screen wave run wave1.yaml --archive district.db --by 王老师
    """
    from xinli_screen.errors import ResponseDataError
    from xinli_screen.wave.reconcile import reconcile
    from xinli_screen.wave.run import score_wave
    from xinli_screen.wave.xlsx import write_reconciliation

    if keep_names and drop_names:
        fail("give either --keep-names or --drop-names, not both", ExitCode.USAGE)
    loaded = _load(wave_file)
    if pseudonymise:
        optional_key(key_file, required=True)
    store = open_store(archive, key_file, str(loaded.policy.path))
    started = time.perf_counter()
    try:
        run = score_wave(loaded, part)
    except ResponseDataError as exc:
        fail(str(exc), ExitCode.DATA_PROBLEMS)
    except KeyError as exc:
        fail(str(exc).strip("'\""), ExitCode.USAGE)
    scored = time.perf_counter()
    summary = guarded(lambda: store.import_wave_run(run, by=by, pseudonymise_ids=pseudonymise,
                                                    keep_names=keep_names,
                                                    drop_names=drop_names))
    d = loaded.definition
    sheets = store.sheets(d.id)
    spec = d.roster
    if pseudonymise and run.roster is not None and spec is not None:
        # the archive holds pseudonyms: match them to the roster by pseudonymising its ids
        # (the reconciliation file, for the psychologist, shows the roster's own ids)
        from xinli_screen.privacy import pseudonymise as to_pseudonyms
        from xinli_screen.wave.reconcile import clean_id

        ids = run.roster[spec.id_column].map(clean_id)
        back = dict(zip(to_pseudonyms(ids, store.key), ids, strict=True))
        sheets = sheets.assign(pupil_key=sheets["pupil_key"].map(lambda k: back.get(k, k)))
    rec = reconcile(sheets, run.roster, roster_id=spec.id_column if spec else "id",
                    attributes=spec.attributes if spec else None,
                    name_column=spec.name_column if spec else None, rule=d.duplicates)
    target = output or wave_file.with_name(f"{d.id}_名册核对.xlsx")
    write_reconciliation(rec, target, wave=d.id)
    tiers = store.wave_table(d.id)["warning_tier"].astype(str).value_counts()
    store.close()
    for p in summary.parts:
        stderr.print(f"part {p.name}: {p.outcome} (version {p.version}, {p.rows} sheets "
                     "stored)", markup=False)
    s = rec.summary
    stderr.print(f"wave {d.id}: {s['sheets']} sheets, {s['pupils']} pupils; roster "
                 f"{s['roster_pupils']}: matched by id {s['matched_by_id']}, by name "
                 f"{s['matched_by_name']}, not on roster {s['unmatched']}, no id {s['no_id']}, "
                 f"absent {s['absent']}; double submissions {s['duplicate_pupils']} "
                 f"({s['sheets_not_kept']} sheets not counted, "
                 f"{s['critical_in_sheets_not_kept']} with a critical answer carried over)",
                 markup=False)
    stderr.print("effective tier: " + ", ".join(f"{t} {int(tiers.get(t, 0))}" for t in
                                                 ("none", "class", "school", "district")),
                 markup=False)
    stderr.print(f"wrote {target} (ids and names: for the psychologist only); scoring "
                 f"{scored - started:.1f} s, storing {time.perf_counter() - scored:.1f} s",
                 markup=False)


def _write_list(store: Any, wave: str, output: Path, with_names: bool,
                what_if: str | None = None) -> list[Path]:
    from xinli_screen.policy.models import TIER_ORDER
    from xinli_screen.wave.warning_list import warning_list
    from xinli_screen.wave.xlsx import write_warning_lists

    table, scales = warning_list(store, wave, include_names=with_names)
    named = table["name"].fillna("").astype(str).str.strip().ne("") if len(table) else None
    if with_names and named is not None and not named.any():
        stderr.print(f"warning: --with-names, but the archive holds no names for the pupils "
                     f"on the list of wave {wave!r} (names are stored only by `wave run "
                     "--keep-names`): the lists have no 姓名 column", markup=False)
    policy = store.wave_policy(wave)
    labels = {t: policy.tiers.spec(t).label.get("zh") for t in TIER_ORDER}
    info = store.wave_info(wave)
    written = write_warning_lists(table, scales, output, wave=wave, labels=labels,
                                  title=info.get("title"), what_if=what_if)
    if what_if is None and len(table):
        from xinli_screen.followup.return_sheet import write_return_sheets

        written += write_return_sheets(table, output, wave=wave, labels=labels,
                                       title=info.get("title"), include_names=with_names)
    return written


@app.command("list")
def list_command(
    wave: Annotated[str, typer.Option("--wave", help="Wave name in the archive.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the lists.")],
    archive: ArchiveOpt = "xinli-archive.db",
    with_names: Annotated[bool, typer.Option(
        "--with-names", help="Add the 姓名 column (names are stored only with "
        "`wave run --keep-names`; a warning says when the archive holds none).")] = False,
    key_file: KeyFileOpt = None,
    by: ByOpt = "report",
) -> None:
    """Write the warning list (预警名单): one XLSX per school, the district summary, CSV and
    JSON, with effective tiers (history and reviews) under the wave's frozen policy; and one
    return sheet (复核回执) per school for `xinli-screen review import`.

    Example: xinli-screen wave list --archive district.db --wave 2026-autumn -o 预警名单/
    """
    store = open_store(archive, key_file)
    written = guarded(lambda: _write_list(store, wave, output, with_names))
    store.log_access(None, "warning_list", by=by, wave=wave, names=with_names)
    store.close()
    stderr.print(f"wrote {len(written)} file(s) to {output}", markup=False)


@app.command("what-if")
def what_if_command(
    wave_file: WaveFile,
    policy: Annotated[str, typer.Option("--policy", help="The other policy (id or YAML).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the lists.")],
    by: ByOpt,
    archive: Annotated[str | None, typer.Option(
        "--archive", envvar="XINLI_ARCHIVE", help="The pupil file, where the what-if run is "
        "audited (it is not changed otherwise).")] = None,
) -> None:
    """The warning list of a wave re-scored under another policy, marked 假设分析 (what-if)
    on every sheet and file name. It shows this wave's screen tiers under that policy
    (without earlier waves' history or reviews); the archive is not changed.

    Example: xinli-screen wave what-if wave1.yaml --policy strict.yaml -o what-if/ --by 李主任
    """
    import tempfile

    from xinli_screen.errors import DefinitionError
    from xinli_screen.wave.definition import with_policy
    from xinli_screen.wave.run import score_wave

    loaded = _load(wave_file)
    try:
        other = with_policy(loaded, policy)
    except FileNotFoundError as exc:
        fail(str(exc), ExitCode.USAGE)
    except DefinitionError as exc:
        fail(str(exc), ExitCode.BAD_DEFINITION)
    run = score_wave(other)
    label = f"{other.policy.policy.id} {other.policy.policy.version}"
    if archive is not None:
        real = open_store(archive)
        real.log_access(None, "what_if", by=by, wave=loaded.definition.id,
                        policy=other.policy.policy.id, policy_sha256=other.policy.sha256)
        real.close()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = open_store(str(Path(tmp) / "what-if.db"), None, str(other.policy.path))
        scratch.import_wave_run(run, by=by)
        written = _write_list(scratch, loaded.definition.id, output, False, what_if=label)
        scratch.close()
    stderr.print(f"wrote {len(written)} what-if file(s) to {output} under policy {label} "
                 "(not the wave's result)", markup=False)
