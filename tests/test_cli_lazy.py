"""The lazy top-level command group (issue 17 item 8) and the lazy top-level package names.

Oracles: each command's own help (built by typer from its module), and a reference app built
the eager way (``Typer.command`` / ``Typer.add_typer`` of every command, as ``cli/app.py`` did
before the group became lazy): every ``--help`` page must come out the same. What a fresh
process imports is read from ``sys.modules``; nothing here measures time.
"""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys

import pytest
import typer
import typer.main
from typer.testing import CliRunner

import xinli_screen
from xinli_screen.cli.app import COMMANDS, LazyCommand, app, load_command

WIDE = {"COLUMNS": "160", "TERMINAL_WIDTH": "160"}


def _eager_reference() -> typer.Typer:
    """The command line built the eager way, from the same modules and the same root options."""
    ref = typer.Typer(name="xinli-screen", help=app.info.help, epilog=app.info.epilog,
                      no_args_is_help=True, pretty_exceptions_enable=False)
    ref.callback()(app.registered_callback.callback)
    for row in COMMANDS:
        target = getattr(importlib.import_module(row.module), row.attribute)
        if isinstance(target, typer.Typer):
            ref.add_typer(target, name=row.name)
        else:
            ref.command(row.name)(target)
    return ref


def _help(application: typer.Typer, args: list[str]) -> str:
    run = CliRunner().invoke(application, [*args, "--help"], env=WIDE)
    assert run.exit_code == 0, (args, run.output)
    return run.output


def _first_paragraph(command: object) -> str:
    text = getattr(command, "short_help", None) or getattr(command, "help", None) or ""
    return inspect.cleandoc(text).split("\n\n")[0].strip()


@pytest.mark.parametrize("row", COMMANDS, ids=[r.name for r in COMMANDS])
def test_table_short_help_is_the_commands_own(row: LazyCommand) -> None:
    command = load_command(row)
    assert command.name == row.name
    assert _first_paragraph(command) == row.short_help


def test_table_names_are_unique_and_complete() -> None:
    names = [r.name for r in COMMANDS]
    assert len(names) == len(set(names))
    group = typer.main.get_command(app)
    assert group.list_commands(None) == names


def test_every_help_page_equals_the_eager_build() -> None:
    ref = _eager_reference()
    assert _help(app, []) == _help(ref, [])
    ref_group = typer.main.get_command(ref)
    for row in COMMANDS:
        assert _help(app, [row.name]) == _help(ref, [row.name]), row.name
        sub = ref_group.commands[row.name]
        for sub_name in getattr(sub, "commands", {}):
            assert _help(app, [row.name, sub_name]) == _help(ref, [row.name, sub_name]), (
                row.name, sub_name)


def test_mistyped_command_is_suggested() -> None:
    run = CliRunner().invoke(app, ["scroe"], env=WIDE)
    assert run.exit_code == 2
    assert "'score'" in run.output


def _modules_after(code: str) -> dict[str, bool]:
    """Run ``code`` in a fresh interpreter; which heavy packages and command modules it imported."""
    probe = [*(r.module for r in COMMANDS), "pandas", "pyarrow", "pydantic", "click"]
    script = (f"import sys\n{code}\nimport json\n"
              f"print(json.dumps({{m: m in sys.modules for m in {probe!r}}}))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


_RUN = ("sys.argv = ['xinli-screen', {args}]\nfrom xinli_screen.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\nprint()")


def test_help_imports_no_command_module_and_no_pandas() -> None:
    loaded = _modules_after(_RUN.format(args="'--help'"))
    assert not any(loaded.values()), {m for m, v in loaded.items() if v}


def test_a_command_imports_only_its_own_module() -> None:
    loaded = _modules_after(_RUN.format(args="'score', '--help'"))
    commands = {r.module for r in COMMANDS}
    assert {m for m, v in loaded.items() if v and m in commands} == {"xinli_screen.cli.score"}


def test_import_package_defers_pandas() -> None:
    loaded = _modules_after("import xinli_screen")
    assert not loaded["pandas"]


@pytest.mark.parametrize("name", sorted(xinli_screen.__all__))
def test_public_names_resolve_to_their_modules(name: str) -> None:
    value = getattr(xinli_screen, name)
    assert name in dir(xinli_screen)
    if name in xinli_screen._LAZY:
        module, attribute = xinli_screen._LAZY[name]
        expected = importlib.import_module(module)
        assert value is (expected if attribute is None else getattr(expected, attribute))


def test_from_import_works_in_a_fresh_process() -> None:
    code = ("from xinli_screen import screen, norms, Policy, TIER_ORDER, load_instrument\n"
            "from xinli_screen import *\n"
            "assert callable(screen) and callable(load_instrument) and TIER_ORDER\n"
            "assert norms.__name__ == 'xinli_screen.norms'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = xinli_screen.no_such_name
