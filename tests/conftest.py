"""Shared fixtures: a CLI runner that keeps stdout and stderr apart, the example data, and the
bfi data of the R oracle tests."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from bfi_oracle import read_bfi
from typer.testing import CliRunner

from xinli_screen.cli.app import app

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass(frozen=True)
class CliRun:
    """Outcome of one CLI invocation (ANSI escapes removed)."""

    code: int
    out: str
    err: str


@pytest.fixture
def cli() -> Callable[..., CliRun]:
    """Invoke ``xinli-screen`` in-process; an unexpected exception (a crash) fails the test.

    A crash would otherwise look like exit code 1, which is also the code for data problems.
    """
    runner = CliRunner()

    def invoke(*args: object) -> CliRun:
        result = runner.invoke(app, [str(a) for a in args])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliRun(result.exit_code, _ANSI.sub("", result.stdout),
                      _ANSI.sub("", result.stderr))

    return invoke


@pytest.fixture(scope="session")
def example_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled NHANES sample, written once with ``xinli-screen example-data``."""
    folder = tmp_path_factory.mktemp("example") / "sample"
    result = CliRunner().invoke(app, ["example-data", str(folder)])
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    """The psych bfi table (GPL, read from ../shared; only for tests marked ``needs_bfi``)."""
    return read_bfi()
