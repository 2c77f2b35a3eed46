"""``xinli-screen policy``: copy a bundled policy to adapt it, and validate a policy file."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from xinli_screen.cli.console import fail, stderr
from xinli_screen.cli.exit_codes import ExitCode
from xinli_screen.errors import InstrumentDefinitionError, PolicyDefinitionError
from xinli_screen.instrument.registry import list_instruments, load_instrument
from xinli_screen.policy.engine import bind_policy
from xinli_screen.policy.loader import load_policy

app = typer.Typer(help="Copy and validate warning policies.", no_args_is_help=True,
                  epilog="Example: xinli-screen policy copy default my_district.yaml")


@app.command("copy")
def copy_command(
    output: Annotated[Path, typer.Argument(help="Where to write the copy (.yaml).")],
    policy: Annotated[str, typer.Option("--from", help="Bundled policy id.")] = "default",
) -> None:
    """Write a bundled policy to a file, to adapt it for your district and pass it with --policy.

    Example: xinli-screen policy copy my_district.yaml
    """
    try:
        source = Path(load_policy(policy).path)
    except FileNotFoundError as exc:
        fail(str(exc), ExitCode.USAGE)
    if output.exists():
        fail(f"{output} exists; choose another name", ExitCode.USAGE)
    if not output.resolve().parent.is_dir():
        fail(f"folder {output.parent} does not exist; create it first", ExitCode.USAGE)
    shutil.copyfile(source, output)
    stderr.print(f"wrote {output}; edit it, then check it with: xinli-screen policy validate "
                 f"{output}")


@app.command("validate")
def validate_command(
    path: Annotated[str, typer.Argument(help="Policy YAML file or bundled id.")],
    instrument: Annotated[list[str] | None, typer.Option(
        "-i", "--instrument", help="Check against these instruments (default: all bundled).")
    ] = None,
) -> None:
    """Check a policy file and every scale, band, cut-off and item it names.

    Example: xinli-screen policy validate my_district.yaml -i phq9 -i gad7
    """
    try:
        loaded = load_policy(path)
        insts = [load_instrument(i) for i in (instrument or list_instruments())]
    except FileNotFoundError as exc:
        fail(str(exc), ExitCode.USAGE)
    except (PolicyDefinitionError, InstrumentDefinitionError) as exc:
        fail(str(exc), ExitCode.BAD_DEFINITION)
    rules, inactive, issues = bind_policy(loaded.policy, insts, loaded.lines, loaded.path)
    for issue in issues:
        stderr.print(str(issue))
    if any(i.level == "error" for i in issues):
        raise typer.Exit(int(ExitCode.BAD_DEFINITION))
    typer.echo(f"{path}: ok ({loaded.policy.id} v{loaded.policy.version}, {len(rules)} active "
               f"rules, {len(inactive)} inactive for these instruments)")
