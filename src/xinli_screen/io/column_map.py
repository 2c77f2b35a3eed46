"""Column maps: which file column holds which item, and how the data set codes its answers.

A map file is YAML (read with ``yaml.safe_load`` semantics), either a plain mapping::

    phq9_01: DPQ010
    phq9_02: DPQ020

or, to also declare codes that mean "no answer" in this data set, the id column, and how the
numbers of a 问卷星 download are to be read::

    columns:
      phq9_01: "8、(做事时提不起劲或没有兴趣)"
    missing_codes: [7, 9]
    id_column: 自定义字段
    answer_values: sequence      # auto | text | sequence (按序号) | code

``xinli-screen columns guess FILE -i ID`` writes such a file from an export's header
(:func:`format_column_map`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from xinli_screen.errors import DefinitionIssue, ResponseDataError
from xinli_screen.yaml_source import read_yaml

__all__ = ["ANSWER_VALUES", "ColumnMap", "format_column_map", "read_column_map"]

#: Allowed ``answer_values``.
ANSWER_VALUES = ("auto", "text", "sequence", "code")
_KEYS = {"columns", "missing_codes", "id_column", "answer_values"}


@dataclass(frozen=True)
class ColumnMap:
    """Item id -> column name, plus missing codes, id column and answer coding of the data set.

    Attributes
    ----------
    columns : dict item id -> column name
    missing_codes : tuple of float
        Codes meaning "no answer" in this data set.
    id_column : str or None
        Pupil id column (used when ``--id-column`` is not given).
    answer_values : str or None
        ``auto``, ``sequence`` (问卷星 按序号: 1 = first option) or ``code``; None = auto.
    """

    columns: dict[str, str]
    missing_codes: tuple[float, ...] = ()
    id_column: str | None = None
    answer_values: str | None = None


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
    id_column = data.get("id_column") if structured else None
    answer_values = data.get("answer_values") if structured else None
    if structured:
        for key in sorted(set(data) - _KEYS, key=str):
            issues.append(DefinitionIssue("unknown-key", f"unknown key {key!r}", source=str(path),
                                          line=doc.line_of([key]), field=str(key)))
        if id_column is not None and (not isinstance(id_column, (str, int))
                                      or isinstance(id_column, bool)):
            issues.append(DefinitionIssue("bad-id-column", "id_column must be a column name",
                                          source=str(path), line=doc.line_of(["id_column"]),
                                          field="id_column"))
        if answer_values is not None and answer_values not in ANSWER_VALUES:
            issues.append(DefinitionIssue(
                "bad-answer-values", f"answer_values must be one of {', '.join(ANSWER_VALUES)}",
                source=str(path), line=doc.line_of(["answer_values"]), field="answer_values"))
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
                     tuple(float(c) for c in codes),
                     None if id_column is None else str(id_column),
                     None if answer_values is None else str(answer_values))


def format_column_map(cmap: ColumnMap, comments: dict[str, str] | None = None,
                      header: list[str] | None = None) -> str:
    """YAML text of a column map (structured form), with optional comments.

    Parameters
    ----------
    cmap : ColumnMap
    comments : dict item id -> text, optional
        Written after each ``item: column`` line (e.g. how the column was found).
    header : list of str, optional
        Comment lines written at the top.
    """
    lines = [f"# {h}" for h in header or []]
    lines.append("columns:")
    for item, col in cmap.columns.items():
        value = yaml.safe_dump(col, allow_unicode=True, default_style='"').strip()
        note = f"  # {comments[item]}" if comments and item in comments else ""
        lines.append(f"  {item}: {value}{note}")
    if cmap.missing_codes:
        lines.append(f"missing_codes: [{', '.join(f'{c:g}' for c in cmap.missing_codes)}]")
    if cmap.id_column is not None:
        value = yaml.safe_dump(cmap.id_column, allow_unicode=True, default_style='"').strip()
        lines.append(f"id_column: {value}")
    if cmap.answer_values is not None:
        lines.append(f"answer_values: {cmap.answer_values}")
    return "\n".join(lines) + "\n"
