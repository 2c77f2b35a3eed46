"""``xinli-screen followup``: the follow-up list (待办) of a wave and its loop-closure figures.

``followup list --archive DB --wave W -o 待办.xlsx`` writes who is still pending, held,
reopened or overdue (and by how long), and critical-item pupils without an interview, per
school and psychologist, as XLSX, HTML or JSON (repeat ``-o``), and prints the figures per
school: counts only, never an id or a name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xinli_screen.cli._archive_options import ArchiveOpt, ByOpt, KeyFileOpt, guarded, open_store
from xinli_screen.cli.console import fail, stderr
from xinli_screen.cli.exit_codes import ExitCode

app = typer.Typer(help="The follow-up list (待办): pending and overdue 复核 and actions.",
                  no_args_is_help=True)

_SHOWN = {"listed": "列入名单", "reviewed": "已复核", "reviewed_pct": "复核率%",
          "median_days_to_review": "复核用时中位数（天）", "review_overdue": "复核逾期",
          "action_overdue": "干预逾期", "high_tier_with_action_pct": "区级+校级已干预%",
          "critical_no_interview": "关键题阳性未面谈", "held": "暂维持待复核",
          "reopened": "重新开启", "referred": "已转介", "returned": "已复学",
          "todo": "尚有待办"}


def require_archive(archive: str) -> None:
    """Exit 2 when ``archive`` is a file path that does not exist (reading commands must not
    create an empty archive from a mistyped path)."""
    if "://" not in archive and not Path(archive).expanduser().exists():
        fail(f"no archive at {archive} (check --archive)", ExitCode.USAGE)


def _figure(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    return str(value)


@app.command("list")
def list_command(
    wave: Annotated[str, typer.Option("--wave", help="Wave name in the archive.")],
    output: Annotated[list[Path] | None, typer.Option(
        "-o", "--output", help=".xlsx, .html or .json (repeatable).")] = None,
    archive: ArchiveOpt = "xinli-archive.db",
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Local date to draw the list up for (e.g. 2026-12-10; default today).")
    ] = None,
    with_names: Annotated[bool, typer.Option(
        "--with-names", help="Add the 姓名 column (stored only with --keep-names).")] = False,
    key_file: KeyFileOpt = None,
    by: ByOpt = "report",
) -> None:
    """Who is pending, held, reopened or overdue, per school and psychologist, with the
    loop-closure figures (median days to 复核, % with an action, % overdue, referrals).

    Deadlines come from the `follow_up:` section of the wave's frozen policy.

    Example: xinli-screen followup list --archive district.db --wave 2026-autumn
    -o 待办.xlsx -o 待办.html
    """
    from xinli_screen.followup.render import write_follow_up
    from xinli_screen.followup.return_sheet import parse_date
    from xinli_screen.followup.todo import follow_up

    when = None
    if as_of is not None:
        when = parse_date(as_of)
        if when is None:
            fail(f"--as-of {as_of!r} is not a date (e.g. 2026-12-10)", ExitCode.USAGE)
    require_archive(archive)
    for path in output or []:
        if path.suffix.lower() not in (".xlsx", ".html", ".htm", ".json"):
            fail(f"{path}: the follow-up list must be .xlsx, .html or .json", ExitCode.USAGE)
    store = open_store(archive, key_file)
    fu = guarded(lambda: follow_up(store, wave, as_of=when, include_names=with_names))
    store.log_access(None, "follow_up_list", by=by, wave=wave, as_of=fu.as_of.isoformat(),
                     names=with_names)
    store.close()
    stderr.print(f"{wave} 跟进情况（截至 {fu.as_of}）/ follow-up as of {fu.as_of}",
                 markup=False)
    for row in fu.by_school.to_dict(orient="records"):
        figures = "，".join(f"{label} {_figure(row[k])}" for k, label in _SHOWN.items())
        stderr.print(f"  {row['school']}：{figures}", markup=False)
    if fu.rules is None:
        stderr.print("the wave's policy declares no deadlines (follow_up:); nothing is "
                     "overdue", markup=False)
    for path in output or []:
        write_follow_up(fu, path)
        stderr.print(f"wrote {path} (ids: for the psychologists only)", markup=False)
