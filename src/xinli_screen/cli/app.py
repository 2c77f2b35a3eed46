"""The ``xinli-screen`` command: one typer app, one module per command."""

from __future__ import annotations

import typer

from xinli_screen import __version__
from xinli_screen.cli import archive as archive_cli
from xinli_screen.cli import columns, followup, instruments, panels, policy
from xinli_screen.cli import norms as norms_cli
from xinli_screen.cli import report as report_cli
from xinli_screen.cli import review as review_cli
from xinli_screen.cli import wave as wave_cli
from xinli_screen.cli.example import example_data_command
from xinli_screen.cli.exit_codes import ExitCode
from xinli_screen.cli.reliability import reliability_command
from xinli_screen.cli.score import score_command
from xinli_screen.cli.validate_screen import validate_screen_command

app = typer.Typer(
    name="xinli-screen",
    help="School mental-health screening: score answer files, assign warning tiers with "
    "reasons. Screening results are not a diagnosis.",
    epilog="Example: xinli-screen score answers.csv -i phq9 -i gad7 --id-column student_id "
    "-o results.xlsx",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("score")(score_command)
app.command("reliability")(reliability_command)
app.command("example-data")(example_data_command)
app.add_typer(instruments.app, name="instruments")
app.add_typer(policy.app, name="policy")
app.add_typer(norms_cli.app, name="norms")
app.add_typer(archive_cli.app, name="archive")
app.add_typer(review_cli.app, name="review")
app.add_typer(followup.app, name="followup")
app.add_typer(report_cli.app, name="report")
app.add_typer(columns.app, name="columns")
app.add_typer(wave_cli.app, name="wave")
app.command("validate-screen")(validate_screen_command)
app.add_typer(panels.app, name="panel")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"xinli-screen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """School mental-health screening engine."""


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        raise SystemExit(int(ExitCode.INTERRUPTED)) from None
