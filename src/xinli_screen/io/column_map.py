"""Column maps: which file column holds which item, and the data set's own missing codes.

A map file is YAML (read with ``yaml.safe_load`` semantics), either a plain mapping::

    phq9_01: DPQ010
    phq9_02: DPQ020

or, to also declare codes that mean "no answer" in this data set::

    columns:
      phq9_01: DPQ010
    missing_codes: [7, 9]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xinli_screen.errors import DefinitionIssue, ResponseDataError
from xinli_screen.yaml_source import read_yaml

__all__ = ["ColumnMap", "read_column_map"]


@dataclass(frozen=True)
class ColumnMap:
    """Item id -> column name, plus missing codes declared for the data set."""

    columns: dict[str, str]
    missing_codes: tuple[float, ...] = ()


def _fail(path: Path, issues: list[DefinitionIssue]) -> ResponseDataError:
    text = "\n".join(f"  {i}" for i in issues)
    return ResponseDataError(f"bad column map {path}:\n{text}\n(see docs/errors.md#column-map)")


def read_column_map(path: str | Path) -> ColumnMap:
    """Read a column-map YAML file.

    Raises
    ------
    ResponseDataError
        Unreadable file, YAML syntax error, or a value that is not a column name / number;
        the message names the file and line.
    """
    path = Path(path)
    doc = read_yaml(path)
    if doc.issues:
        raise _fail(path, doc.issues)
    data = doc.data
    structured = isinstance(data, dict) and isinstance(data.get("columns"), dict)
    mapping = data.get("columns") if structured else data
    codes = data.get("missing_codes", []) if structured else []
    issues: list[DefinitionIssue] = []
    if not isinstance(mapping, dict):
        issues.append(DefinitionIssue("not-a-mapping", "expected 'item_id: column' lines",
                                      source=str(path), line=1))
        raise _fail(path, issues)
    if structured:
        for key in sorted(set(data) - {"columns", "missing_codes"}, key=str):
            issues.append(DefinitionIssue("unknown-key", f"unknown key {key!r}", source=str(path),
                                          line=doc.line_of([key]), field=str(key)))
    prefix = ["columns"] if structured else []
    for item, col in mapping.items():
        if not isinstance(col, (str, int)) or isinstance(col, bool):
            issues.append(DefinitionIssue("bad-column", f"column for {item!r} must be a name",
                                          source=str(path), line=doc.line_of([*prefix, item]),
                                          field=str(item)))
    if not isinstance(codes, list) or not all(
            isinstance(c, (int, float)) and not isinstance(c, bool) for c in codes):
        issues.append(DefinitionIssue("bad-missing-codes", "missing_codes must be a list of "
                                      "numbers", source=str(path),
                                      line=doc.line_of(["missing_codes"]), field="missing_codes"))
    if issues:
        raise _fail(path, issues)
    return ColumnMap({str(k): str(v) for k, v in mapping.items()},
                     tuple(float(c) for c in codes))
