"""Exceptions, warnings and the issue record shared by every stage.

One base class, :class:`XinliScreenError`; each subclass also inherits the matching
built-in (``ValueError``, ``LookupError``) so that generic ``except`` clauses keep working.
Messages never contain a pupil identifier or an answer: they name files, lines, columns,
item ids and row numbers only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DefinitionError",
    "DefinitionIssue",
    "InstrumentDefinitionError",
    "OutputWriteError",
    "PolicyDefinitionError",
    "ResponseDataError",
    "XinliScreenError",
    "XinliScreenWarning",
]


@dataclass(frozen=True)
class DefinitionIssue:
    """One problem found in an instrument or policy YAML file.

    Attributes
    ----------
    code : str
        Stable kebab-case code, e.g. ``"unknown-item-in-scale"``.
    message : str
        What is wrong, expected versus got.
    level : {"error", "warning"}
        Errors block loading; warnings are reported only.
    source : str
        File path (or ``"<string>"``) the definition came from.
    line : int or None
        1-based line of the offending YAML node, when known.
    field : str
        Dotted path of the field, e.g. ``"scales.0.items"``.
    """

    code: str
    message: str
    level: Literal["error", "warning"] = "error"
    source: str = "<string>"
    line: int | None = None
    field: str = ""

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        field = f" [{self.field}]" if self.field else ""
        return f"{where}{field}: {self.level}: {self.message} ({self.code})"


class XinliScreenError(Exception):
    """Base class of every error raised by xinli_screen."""


class XinliScreenWarning(UserWarning):
    """Base class of every warning issued by xinli_screen."""


class DefinitionError(XinliScreenError, ValueError):
    """A definition file (instrument, policy, norm table) is malformed; ``.issues`` lists all."""

    kind = "definition"
    doc = "docs/instruments.md"

    def __init__(self, issues: list[DefinitionIssue]) -> None:
        self.issues = list(issues)
        errors = [i for i in self.issues if i.level == "error"]
        lines = "\n".join(f"  {i}" for i in errors)
        super().__init__(
            f"{len(errors)} error(s) in {self.kind} definition:\n{lines}\n"
            f"See {self.doc} for the YAML format."
        )


class InstrumentDefinitionError(DefinitionError):
    """An instrument YAML is malformed or inconsistent.

    ``.issues`` holds every :class:`DefinitionIssue` found (all problems are collected
    before raising), each naming file, line and field.
    """

    kind = "instrument"


class PolicyDefinitionError(DefinitionError):
    """A warning-policy YAML is malformed, inconsistent, or refers to unknown scales/items."""

    kind = "policy"
    doc = "docs/policy.md"


class ResponseDataError(XinliScreenError, ValueError):
    """Response data cannot be used at all (missing columns, empty file, undecodable file).

    Cell-level problems never raise; they are reported in ``ScreeningResult.failures``.
    ``.failures`` optionally carries a DataFrame of bad cells (row, item, code, value).
    """

    def __init__(self, message: str, failures: pd.DataFrame | None = None) -> None:
        self.failures = failures
        super().__init__(message)


class OutputWriteError(XinliScreenError, OSError):
    """An output file could not be written (a full disk, a quota, a read-only folder).

    Raised by the writers of :mod:`xinli_screen.io.writers` (and the streamed writer) in place
    of the operating system's error, which often names no file or only a temporary one. The
    message names the output file and the system's reason, never cell contents; ``errno``,
    ``strerror`` and ``filename`` (the output file) are those of :class:`OSError`.
    """

    def __init__(self, path: object, reason: OSError) -> None:
        super().__init__(reason.errno, reason.strerror or str(reason) or type(reason).__name__,
                         str(path))

    def __str__(self) -> str:
        return f"cannot write {self.filename}: {self.strerror}"
