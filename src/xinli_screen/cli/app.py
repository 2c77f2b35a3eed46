"""The ``xinli-screen`` command: one typer app, one module per command, loaded on demand.

Each command module imports what its command needs (pandas, pyarrow, the pydantic models,
...), and typer needs a command's signature to build it, so building every command costs most
of a second. The top-level group is therefore lazy (Click's "lazy loading of subcommands"
pattern, https://click.palletsprojects.com/en/stable/complex/#lazily-loading-subcommands):
``xinli-screen --help`` lists the commands from :data:`COMMANDS` without importing any command
module, and ``xinli-screen score ...`` imports only :mod:`xinli_screen.cli.score`.
``tests/test_cli_lazy.py`` checks that each command's own help agrees with its row of the table.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any, NamedTuple

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

from xinli_screen import __version__
from xinli_screen.cli.exit_codes import ExitCode

if TYPE_CHECKING:  # typer's own copy of click (the click package is not imported for --help)
    from typer._click import Command, Context, HelpFormatter


class LazyCommand(NamedTuple):
    """One row of the command table.

    Attributes
    ----------
    name : str
        The command's name on the command line (``xinli-screen NAME``).
    module : str
        The module that defines it, imported only when the command is run or its own help is
        shown.
    attribute : str
        The module attribute: a :class:`typer.Typer` (a command group) or a function (one
        command, registered as ``typer.Typer().command(name)`` would).
    short_help : str
        The line shown by ``xinli-screen --help``: the first paragraph of the command's own
        help, character for character (a test compares them).
    """

    name: str
    module: str
    attribute: str
    short_help: str


#: Every top-level command, in the order ``xinli-screen --help`` lists them.
COMMANDS: tuple[LazyCommand, ...] = (
    LazyCommand("score", "xinli_screen.cli.score", "score_command",
                "Score answer sheets and assign warning tiers with reasons."),
    LazyCommand("reliability", "xinli_screen.cli.reliability", "reliability_command",
                "Cronbach's alpha (Feldt CI), McDonald's omega and item analysis for each "
                "scale."),
    LazyCommand("example-data", "xinli_screen.cli.example", "example_data_command",
                "Write the bundled sample (NHANES 2017-2018 PHQ-9, public domain) and its "
                "column map."),
    LazyCommand("validate-screen", "xinli_screen.cli.validate_screen",
                "validate_screen_command",
                "How well the screen agrees with the district's 复核 outcomes: sensitivity, "
                "specificity,\nPPV, NPV and likelihood ratios (naive and Begg-Greenes corrected "
                "for verification bias),\nROC/AUC with DeLong CIs and optimal cut-offs, per "
                "instrument cut-off and by grade, sex and\nschool. Screening is not diagnosis."),
    LazyCommand("instruments", "xinli_screen.cli.instruments", "app",
                "List, show and validate instrument definitions."),
    LazyCommand("policy", "xinli_screen.cli.policy", "app",
                "Copy and validate warning policies."),
    LazyCommand("norms", "xinli_screen.cli.norms", "app",
                "Build local norm tables; list, show and validate norm tables."),
    LazyCommand("archive", "xinli_screen.cli.archive", "app",
                "Pupil file store (一生一策档案): waves, reviews, actions, audit trail."),
    LazyCommand("review", "xinli_screen.cli.review", "app",
                "Record reviews (复核) and actions: one pupil (add) or filled return sheets "
                "(import)."),
    LazyCommand("followup", "xinli_screen.cli.followup", "app",
                "The follow-up list (待办): pending and overdue 复核 and actions."),
    LazyCommand("report", "xinli_screen.cli.report", "app", "Pupil and group reports."),
    LazyCommand("columns", "xinli_screen.cli.columns", "app",
                "Column maps: which file column holds which item."),
    LazyCommand("wave", "xinli_screen.cli.wave", "app",
                "A screening wave (测评批次) defined in YAML: forms, roster, parts, frozen "
                "policy; the warning list (预警名单)."),
    LazyCommand("panel", "xinli_screen.cli.panels", "app",
                "Is the screen plausible and fair here? Panels of a stored wave (issue 16). "
                "Flags are prompts for review, not findings."),
)


def load_command(row: LazyCommand) -> Command:
    """Import ``row.module`` and build its click command, named ``row.name``.

    Parameters
    ----------
    row : LazyCommand
        The table row.

    Returns
    -------
    typer._click.Command
        A typer group (:func:`typer.main.get_group`, as ``Typer.add_typer`` builds it) or a
        single typer command (:func:`typer.main.get_command` of a one-command app without
        shell-completion options, as ``Typer.command`` builds it).

    Raises
    ------
    ImportError, AttributeError
        When the table names a module or attribute that does not exist (a packaging error).
    """
    target = getattr(importlib.import_module(row.module), row.attribute)
    if isinstance(target, typer.Typer):
        command: Command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(row.name)(target)
        command = typer.main.get_command(single)
    command.name = row.name
    return command


class _LazyCommands(MutableMapping[str, "Command"]):
    """The group's ``commands`` mapping: names from :data:`COMMANDS`, commands built on access.

    Click and typer read the names (suggestions for a mistyped command, completion) and
    ``get_command`` reads one value; only that one command's module is imported.
    """

    def __init__(self) -> None:
        self._rows = {row.name: row for row in COMMANDS}
        self._loaded: dict[str, Command] = {}

    def __getitem__(self, name: str) -> Command:
        if name not in self._loaded:
            self._loaded[name] = load_command(self._rows[name])
        return self._loaded[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        self._rows.pop(name, None)
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(self._rows), **dict.fromkeys(self._loaded)})

    def __len__(self) -> int:
        return len(set(self._rows) | set(self._loaded))


class LazyGroup(TyperGroup):
    """A typer group whose subcommands come from :data:`COMMANDS` and load on first use.

    Its own help lists each command with the table's short help, without importing the
    command modules. Everything else (parsing, dispatch, suggestions for a mistyped name,
    shell completion) is typer's, over the lazy ``commands`` mapping.
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _LazyCommands()
        self._listing = False

    def list_commands(self, ctx: Context) -> list[str]:
        """The command names in table order, without building the commands."""
        return list(self.commands)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        """The command named ``cmd_name``; while this group formats its help, a stand-in."""
        if self._listing:
            row = next((r for r in COMMANDS if r.name == cmd_name), None)
            if row is not None:
                return TyperCommand(name=row.name, help=row.short_help)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: Context) -> Any:
        """Run the command; an output file that cannot be written (a full disk ...) ends in a
        one-line error and exit code 2 (:func:`~xinli_screen.cli.console.output_problems`)."""
        from xinli_screen.cli.console import output_problems

        with output_problems():
            return super().invoke(ctx)

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        """Format the group's help, listing the commands from the table."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="xinli-screen",
    cls=LazyGroup,
    help="School mental-health screening: score answer files, assign warning tiers with "
    "reasons. Screening results are not a diagnosis.",
    epilog="Example: xinli-screen score answers.csv -i phq9 -i gad7 --id-column student_id "
    "-o results.xlsx",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


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
