"""Shared console output for CLI commands: messages go to stderr, data to stdout or files."""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from xinli_screen.cli.exit_codes import ExitCode
from xinli_screen.errors import DefinitionError, OutputWriteError

__all__ = ["WRITE_ERRNOS", "fail", "load_or_fail", "output_problems", "stderr",
           "validate_files"]

T = TypeVar("T")

stderr = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def fail(message: str, code: ExitCode) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code``."""
    stderr.print(Text.assemble(("error: ", "bold red"), message))
    raise typer.Exit(int(code))


#: ``errno`` values that only writing gives: a full disk, a quota, a file too large for the file
#: system, a read-only file system.
WRITE_ERRNOS: frozenset[int] = frozenset(
    getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EFBIG", "EROFS")
    if hasattr(errno, name))


@contextlib.contextmanager
def output_problems() -> Iterator[None]:
    """Exit with a one-line error (code 2) when an output file cannot be written.

    Catches :class:`~xinli_screen.errors.OutputWriteError` (raised by the writers, naming the
    output file and the system's reason) and any other :class:`OSError` whose ``errno`` is in
    :data:`WRITE_ERRNOS` (a full disk ...), which would otherwise end in a traceback. Every
    command runs inside it (``cli.app.LazyGroup.invoke``). See docs/errors.md#output-files.

    Raises
    ------
    typer.Exit
        Code :attr:`ExitCode.USAGE` (2) after printing ``error: cannot write FILE: REASON``.
    """
    try:
        yield
    except OutputWriteError as exc:
        fail(f"{exc} (docs/errors.md#output-files)", ExitCode.USAGE)
    except OSError as exc:
        if exc.errno not in WRITE_ERRNOS:
            raise
        where = exc.filename if exc.filename is not None else "an output file"
        fail(f"cannot write {where}: {exc.strerror} (docs/errors.md#output-files)",
             ExitCode.USAGE)


def load_or_fail(load: Callable[[str], T], name: str,
                 bad_definition: type[DefinitionError]) -> T:
    """``load(name)``, exiting on failure: an unknown id or missing file is a usage error (2),
    a ``bad_definition`` error a bad definition file (3)."""
    try:
        return load(name)
    except FileNotFoundError as exc:
        fail(str(exc), ExitCode.USAGE)
    except bad_definition as exc:
        fail(str(exc), ExitCode.BAD_DEFINITION)


def validate_files(paths: Iterable[Path],
                   validate: Callable[[Path], tuple[T | None, list[Any], str]],
                   describe: Callable[[T], str]) -> None:
    """Body of the ``validate`` commands: check each definition file with ``validate``.

    Every issue goes to stderr; each valid file gets ``{path}: ok ({describe(model)})`` on
    stdout. Exits with code 3 when any file has an error.
    """
    bad = False
    for path in paths:
        model, issues, _ = validate(path)
        for issue in issues:
            stderr.print(str(issue), markup=False)
        if model is None:
            bad = True
        else:
            typer.echo(f"{path}: ok ({describe(model)})")
    if bad:
        raise typer.Exit(int(ExitCode.BAD_DEFINITION))
