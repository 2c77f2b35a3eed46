"""Shared console output for CLI commands: messages go to stderr, data to stdout or files."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

from xinli_screen.cli.exit_codes import ExitCode

__all__ = ["fail", "stderr"]

stderr = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def fail(message: str, code: ExitCode) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code``."""
    stderr.print(Text.assemble(("error: ", "bold red"), message))
    raise typer.Exit(int(code))
