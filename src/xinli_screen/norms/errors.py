"""Exceptions and warnings of the norms subpackage.

Each inherits :class:`xinli_screen.errors.XinliScreenError` (or ``XinliScreenWarning``) and the
matching built-in, so generic ``except ValueError`` clauses keep working.
"""

from __future__ import annotations

from xinli_screen.errors import (
    DefinitionError,
    DefinitionIssue,
    XinliScreenError,
    XinliScreenWarning,
)

__all__ = [
    "NormDefinitionError",
    "NormMismatchError",
    "NormWarning",
    "SmallCellWarning",
]


class NormDefinitionError(DefinitionError):
    """A norm-table YAML is malformed or inconsistent.

    ``.issues`` holds every :class:`~xinli_screen.errors.DefinitionIssue` found, each naming
    file, line and field.
    """

    kind = "norm table"
    doc = "docs/norms.md"

    def __init__(self, issues: list[DefinitionIssue]) -> None:
        super().__init__(issues)


class NormMismatchError(XinliScreenError, ValueError):
    """A norm table cannot be applied to these scores (other instrument, scale or metric).

    ``.problems`` lists every reason; the message names the table, the scale and what differs
    (e.g. a mean-score norm applied to sum scores).
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        text = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"norm table cannot be applied:\n{text}\nSee docs/norms.md#metric.")


class NormWarning(XinliScreenWarning):
    """Something about norms the user should know (unmapped group values, version drift)."""


class SmallCellWarning(NormWarning):
    """A norm cell built from fewer cases than ``min_cell``: its norms are unstable."""
