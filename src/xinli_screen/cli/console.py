"""Shared console output for CLI commands: messages go to stderr, data to stdout or files."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

from xinli_screen.cli.exit_codes import ExitCode

__all__ = ["fail", "stderr"]

stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: ExitCode) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code``."""
    stderr.print(f"[bold red]error:[/] {message}", markup=True)
    raise typer.Exit(int(code))
