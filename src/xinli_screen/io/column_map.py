"""Column maps: which file column holds which item, and how the data set codes its answers.

A map file is YAML (read with ``yaml.safe_load`` semantics), either a plain mapping::

    phq9_01: DPQ010
    phq9_02: DPQ020

or, to also declare codes that mean "no answer" in this data set, the id column, how the
numbers of a 问卷星 download are to be read, and blocks of items by 问卷星 question number::

    columns:
      phq9_01: "8、(做事时提不起劲或没有兴趣)"
    blocks:                      # instrument id -> where its items sit, by question number
      mht: {first_question: 7}   # item k (in the instrument's item order) is question 7 + k - 1
      dsrsc: {questions: "107-124"}
      phqa: {question: 125}      # one matrix question; its sub-columns in order are the items
    missing_codes: [7, 9]
    id_column: 自定义字段
    answer_values: sequence      # auto | text | sequence (按序号) | code

A block is resolved against an export's header with :func:`resolve_column_map` (question
numbers as :func:`xinli_screen.io.wjx.parse_header` reads them: ``7、stem``, ``7.stem``,
``Q7``, ``第7题`` ...); explicit ``columns:`` entries win over blocks. The same structure can
be embedded in another YAML file (a wave definition) and read with
:func:`column_map_from_mapping`. ``xinli-screen columns guess FILE -i ID`` writes a map from an
export's header (:func:`format_column_map`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from xinli_screen.errors import DefinitionIssue, ResponseDataError
from xinli_screen.instrument.models import Instrument
from xinli_screen.io.wjx import Header, _sub_order, parse_header
from xinli_screen.yaml_source import read_yaml

__all__ = ["ANSWER_VALUES", "BLOCK_KINDS", "ColumnMap", "QuestionBlock",
           "column_map_from_mapping", "format_column_map", "read_column_map",
           "resolve_column_map"]

#: Allowed ``answer_values``.
ANSWER_VALUES = ("auto", "text", "sequence", "code")
#: The ways a block names its questions (exactly one per block).
BLOCK_KINDS = ("first_question", "questions", "question")
_KEYS = {"columns", "blocks", "missing_codes", "id_column", "answer_values"}
_RANGE = re.compile(r"^(\d+)\s*[-–—~]\s*(\d+)$")

LineOf = Callable[[Sequence[str | int]], "int | None"]


@dataclass(frozen=True)
class QuestionBlock:
    """Where one instrument's items sit in a 问卷星 export, by question number.

    Attributes
    ----------
    kind : {"first_question", "questions", "question"}
        ``first_question``: item k is question ``start + k - 1`` (one column per question);
        ``questions``: the columns of questions ``start`` .. ``end`` in order;
        ``question``: the sub-columns of the matrix question ``start`` in order.
    start : int
        First (or only) question number, from 1.
    end : int or None
        Last question number (``questions`` only).
    line : int or None
        Line of the block in its YAML file (for error messages; not compared).
    """

    kind: Literal["first_question", "questions", "question"]
    start: int
    end: int | None = None
    line: int | None = field(default=None, compare=False)

    def to_yaml(self) -> str:
        """The block as a YAML flow mapping, e.g. ``{first_question: 7}``."""
        if self.kind == "questions":
            return f'{{questions: "{self.start}-{self.end}"}}'
        return f"{{{self.kind}: {self.start}}}"


@dataclass(frozen=True)
class ColumnMap:
    """Item id -> column name, blocks by question number, missing codes, id column and coding.

    Attributes
    ----------
    columns : dict item id -> column name
    missing_codes : tuple of float
        Codes meaning "no answer" in this data set.
    id_column : str or None
        Pupil id column (used when ``--id-column`` is not given).
    answer_values : str or None
        ``auto``, ``sequence`` (问卷星 按序号: 1 = first option) or ``code``; None = auto.
    blocks : dict instrument id -> QuestionBlock
        Items found by 问卷星 question number (:func:`resolve_column_map`).
    source : str or None
        File (or description) the map was read from, for error messages; not compared.
    """

    columns: dict[str, str]
    missing_codes: tuple[float, ...] = ()
    id_column: str | None = None
    answer_values: str | None = None
    blocks: dict[str, QuestionBlock] = field(default_factory=dict)
    source: str | None = field(default=None, compare=False)


def _fail(source: str, issues: list[DefinitionIssue]) -> ResponseDataError:
    text = "\n".join(f"  {i}" for i in issues)
    return ResponseDataError(f"bad column map {source}:\n{text}\n(see docs/errors.md#column-map)")


def read_column_map(path: str | Path) -> ColumnMap:
    """Read a column-map YAML file.

    Parameters
    ----------
    path : str or Path
        A YAML file: plain ``item: column`` lines, or the structured form with ``columns:``,
        ``blocks:``, ``missing_codes:``, ``id_column:``, ``answer_values:``.

    Returns
    -------
    ColumnMap
        ``source`` is the path; every block carries its line.

    Raises
    ------
    ResponseDataError
        Unreadable file, YAML syntax error, an unknown key, or a value that is not a column
        name / number / block; every problem is listed with file, line and field.
    """
    path = Path(path)
    doc = read_yaml(path)
    if doc.issues:
        raise _fail(str(path), doc.issues)
    return _parse(doc.data, str(path), doc.line_of)


def column_map_from_mapping(data: Mapping[Any, Any], source: str, *,
                            line_of: LineOf | None = None) -> ColumnMap:
    """A column map from an in-memory mapping (e.g. the ``columns:`` of a wave YAML form).

    Parameters
    ----------
    data : mapping
        The same structure as a map file: plain ``item: column`` pairs, or ``columns:``,
        ``blocks:``, ``missing_codes:``, ``id_column:``, ``answer_values:``.
    source : str
        Named in error messages (e.g. ``"wave1.yaml, forms.primary.columns"``).
    line_of : callable(path) -> int or None, optional
        Line of a field path inside ``data`` (e.g. ``["blocks", "mht"]``); for a mapping
        embedded in a YAML document, ``lambda p: doc.line_of([*prefix, *p])``. Without it,
        messages name the source and field but no line.

    Returns
    -------
    ColumnMap

    Raises
    ------
    ResponseDataError
        As :func:`read_column_map`.
    """
    return _parse(data, source, line_of or (lambda _path: None))


def _issue(code: str, message: str, source: str, line_of: LineOf, path: Sequence[str | int],
           ) -> DefinitionIssue:
    return DefinitionIssue(code, message, source=source, line=line_of(list(path)),
                           field=".".join(str(p) for p in path))


def _is_name(value: object) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool)


def _question_number(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return None


def _parse_block(inst: str, spec: object, source: str, line_of: LineOf
                 ) -> tuple[QuestionBlock | None, list[DefinitionIssue]]:
    path: list[str | int] = ["blocks", inst]
    line = line_of(path)
    if not isinstance(spec, Mapping):
        return None, [_issue("bad-block", f"block of {inst!r} must be a mapping such as "
                             "{first_question: 7}", source, line_of, path)]
    issues = [_issue("unknown-key", f"unknown key {key!r} in a block (one of "
                     f"{', '.join(BLOCK_KINDS)})", source, line_of, [*path, str(key)])
              for key in sorted(set(spec) - set(BLOCK_KINDS), key=str)]
    given = [k for k in BLOCK_KINDS if k in spec]
    if len(given) != 1:
        issues.append(_issue("bad-block", f"block of {inst!r} needs exactly one of "
                             f"{', '.join(BLOCK_KINDS)}; got "
                             f"{', '.join(given) if given else 'none'}", source, line_of, path))
        return None, issues
    kind = given[0]
    value = spec[kind]
    where = [*path, kind]
    if kind in ("first_question", "question"):
        number = _question_number(value)
        if number is None:
            issues.append(_issue("bad-question-number", f"{kind} must be a question number "
                                 f"(a whole number from 1), got {value!r}", source, line_of,
                                 where))
            return None, issues
        return (None if issues else QuestionBlock(kind, number, line=line)), issues
    if _question_number(value) is not None:
        first = last = int(value)
    else:
        m = _RANGE.match(unicodedata.normalize("NFKC", str(value)).strip()) if isinstance(
            value, str) else None
        if m is None:
            issues.append(_issue("bad-question-range", 'questions must be a range of question '
                                 f'numbers such as "7-106", got {value!r}', source, line_of,
                                 where))
            return None, issues
        first, last = int(m.group(1)), int(m.group(2))
        if first < 1 or last < first:
            issues.append(_issue("bad-question-range", f"questions {first}-{last}: the first "
                                 "number must be at least 1 and not above the last", source,
                                 line_of, where))
            return None, issues
    return (None if issues else QuestionBlock("questions", first, last, line=line)), issues


def _parse(data: Any, source: str, line_of: LineOf) -> ColumnMap:
    """Validate plain data (from YAML or a mapping) into a :class:`ColumnMap`."""
    issues: list[DefinitionIssue] = []
    if not isinstance(data, Mapping):
        issues.append(DefinitionIssue("not-a-mapping", "expected 'item_id: column' lines",
                                      source=source, line=line_of([]) or 1))
        raise _fail(source, issues)
    structured = "columns" in data or "blocks" in data
    mapping = data.get("columns", {}) if structured else data
    mapping = {} if mapping is None else mapping
    codes = data.get("missing_codes", []) if structured else []
    id_column = data.get("id_column") if structured else None
    answer_values = data.get("answer_values") if structured else None
    raw_blocks = data.get("blocks", {}) if structured else {}
    raw_blocks = {} if raw_blocks is None else raw_blocks
    if structured:
        for key in sorted(set(data) - _KEYS, key=str):
            issues.append(_issue("unknown-key", f"unknown key {key!r}", source, line_of, [key]))
        if id_column is not None and not _is_name(id_column):
            issues.append(_issue("bad-id-column", "id_column must be a column name", source,
                                 line_of, ["id_column"]))
        if answer_values is not None and answer_values not in ANSWER_VALUES:
            issues.append(_issue("bad-answer-values", "answer_values must be one of "
                                 f"{', '.join(ANSWER_VALUES)}", source, line_of,
                                 ["answer_values"]))
    if not isinstance(mapping, Mapping):
        issues.append(_issue("not-a-mapping", "columns must be 'item_id: column' lines",
                             source, line_of, ["columns"]))
        mapping = {}
    prefix = ["columns"] if structured else []
    for item, col in mapping.items():
        if not _is_name(col):
            issues.append(DefinitionIssue("bad-column", f"column for {item!r} must be a name",
                                          source=source, line=line_of([*prefix, item]),
                                          field=str(item)))
    if not isinstance(codes, list) or not all(
            isinstance(c, (int, float)) and not isinstance(c, bool) for c in codes):
        issues.append(_issue("bad-missing-codes", "missing_codes must be a list of numbers",
                             source, line_of, ["missing_codes"]))
        codes = []
    blocks: dict[str, QuestionBlock] = {}
    if not isinstance(raw_blocks, Mapping):
        issues.append(_issue("not-a-mapping", "blocks must be 'instrument_id: {first_question: "
                             "N}' lines", source, line_of, ["blocks"]))
        raw_blocks = {}
    for inst, spec in raw_blocks.items():
        block, found = _parse_block(str(inst), spec, source, line_of)
        issues += found
        if block is not None:
            blocks[str(inst)] = block
    if issues:
        raise _fail(source, issues)
    return ColumnMap({str(k): str(v) for k, v in mapping.items()},
                     tuple(float(c) for c in codes),
                     None if id_column is None else str(id_column),
                     None if answer_values is None else str(answer_values),
                     blocks, source)


def _ranges(numbers: Sequence[int]) -> str:
    """``[3, 4, 5, 9]`` -> ``"3-5, 9"``."""
    parts: list[str] = []
    start = prev = None
    for n in [*sorted(numbers), None]:
        if start is not None and (n is None or n != prev + 1):  # type: ignore[operator]
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = None
        if n is not None and start is None:
            start = n
        prev = n
    return ", ".join(parts)


def _block_columns(inst: Instrument, block: QuestionBlock, questions: Mapping[int, list[Header]],
                   last: int | None) -> tuple[list[str] | None, str | None, str]:
    """The columns of a block in item order, or None with the problem (and its code)."""
    n = len(inst.items)
    if block.kind == "question":
        group = questions.get(block.start)
        if not group:
            return None, (f"{inst.id}: question {block.start} is not in the header"
                          + ("" if last is None else f" (its last question is {last})")), (
                              "question-not-found")
        cols = [h.column for h in sorted(group, key=_sub_order(group))]
        if len(cols) != n:
            return None, (f"{inst.id} has {n} items but question {block.start} has "
                          f"{len(cols)} column(s)"), "block-length"
        return cols, None, ""
    end = block.start + n - 1 if block.kind == "first_question" else int(block.end or 0)
    wanted = range(block.start, end + 1)
    missing = [q for q in wanted if q not in questions]
    if missing:
        need = (f"{inst.id} has {n} items, so first_question {block.start} needs questions "
                f"{block.start}-{end}; " if block.kind == "first_question"
                else f"{inst.id}: questions {block.start}-{end}: ")
        return None, (f"{need}question(s) {_ranges(missing)} not in the header"
                      + ("" if last is None else f" (its last question is {last})")), (
                          "question-not-found")
    if block.kind == "first_question":
        matrix = [q for q in wanted if len(questions[q]) > 1]
        if matrix:
            q = matrix[0]
            return None, (f"{inst.id}: question {q} has {len(questions[q])} columns (a "
                          "matrix question); first_question needs one column per question: "
                          f'use {{question: {q}}} or {{questions: "{block.start}-...'
                          '"}'), "matrix-in-block"
        return [questions[q][0].column for q in wanted], None, ""
    cols = [h.column for q in wanted
            for h in sorted(questions[q], key=_sub_order(questions[q]))]
    if len(cols) != n:
        return None, (f"{inst.id} has {n} items but questions {block.start}-{end} give "
                      f"{len(cols)} column(s)"), "block-length"
    return cols, None, ""


def resolve_column_map(cmap: ColumnMap, header: Sequence[object],
                       instruments: Sequence[Instrument]) -> dict[str, str]:
    """The plain item id -> column mapping of a map for one file's header.

    Parameters
    ----------
    cmap : ColumnMap
    header : sequence, shape (n_columns,)
        The file's column names (only the header is read, never a cell).
    instruments : sequence of Instrument
        Blocks of instruments not in this list are ignored.

    Returns
    -------
    dict item id -> column
        Every explicit ``columns:`` entry, plus the items of each block: item k of an
        instrument (in ``instrument.items`` order) gets the k-th column of its block.
        An explicit entry wins over the block for the same item.

    Raises
    ------
    ResponseDataError
        A block does not fit the header: a question number is not found, a matrix question
        sits where one column per question is needed, the number of columns differs from
        the instrument's item count, or a block column is also given to another item. The
        message names the map source and line, the instrument and the question numbers
        (never a cell value).
    """
    explicit = dict(cmap.columns)
    if not cmap.blocks:
        return explicit
    questions: dict[int, list[Header]] = {}
    for h in (parse_header(c) for c in header):
        if h.number is not None:
            questions.setdefault(h.number, []).append(h)
    last = max(questions) if questions else None
    source = cmap.source or "<column map>"
    issues: list[DefinitionIssue] = []
    from_block: dict[str, tuple[str, str]] = {}  # item -> (column, instrument)
    by_id = {inst.id: inst for inst in instruments}
    for inst_id, block in cmap.blocks.items():
        inst = by_id.get(inst_id)
        if inst is None:
            continue
        cols, problem, code = _block_columns(inst, block, questions, last)
        if cols is None:
            issues.append(DefinitionIssue(code, f"{problem}", source=source, line=block.line,
                                          field=f"blocks.{inst_id}"))
            continue
        for item, col in zip(inst.items, cols, strict=True):
            from_block[item.id] = (col, inst_id)
    out = {item: col for item, (col, _inst) in from_block.items() if item not in explicit}
    users: dict[str, list[str]] = {}
    for item, col in {**out, **explicit}.items():
        users.setdefault(col, []).append(item)
    for col, items in users.items():
        blocked = [i for i in items if i in out]
        if len(items) > 1 and blocked:
            inst_id = from_block[blocked[0]][1]
            number = parse_header(col).number
            issues.append(DefinitionIssue(
                "column-used-twice", f"question {number} ({col!r}) of block {inst_id!r} is also "
                f"given to {', '.join(i for i in items if i != blocked[0])}; a column holds one "
                "item", source=source, line=cmap.blocks[inst_id].line, field=f"blocks.{inst_id}"))
    if issues:
        text = "\n".join(f"  {i}" for i in issues)
        raise ResponseDataError(f"column map {source} does not fit the header of this file:\n"
                                f"{text}\n(see docs/errors.md#column-map)")
    return {**out, **explicit}


def format_column_map(cmap: ColumnMap, comments: dict[str, str] | None = None,
                      header: list[str] | None = None,
                      block_comments: dict[str, list[str]] | None = None) -> str:
    """YAML text of a column map (structured form), with optional comments.

    Parameters
    ----------
    cmap : ColumnMap
    comments : dict item id -> text, optional
        Written after each ``item: column`` line (e.g. how the column was found).
    header : list of str, optional
        Comment lines written at the top.
    block_comments : dict instrument id -> list of str, optional
        Comment lines written above each block (how it was found; what to confirm).

    Returns
    -------
    str
        YAML that :func:`read_column_map` reads back to an equal map.
    """
    lines = [f"# {h}" for h in header or []]
    lines.append("columns:" if cmap.columns or not cmap.blocks else "columns: {}")
    for item, col in cmap.columns.items():
        value = yaml.safe_dump(col, allow_unicode=True, default_style='"').strip()
        note = f"  # {comments[item]}" if comments and item in comments else ""
        lines.append(f"  {item}: {value}{note}")
    if cmap.blocks:
        lines.append("blocks:")
        for inst_id, block in cmap.blocks.items():
            lines += [f"  # {c}" for c in (block_comments or {}).get(inst_id, [])]
            lines.append(f"  {inst_id}: {block.to_yaml()}")
    if cmap.missing_codes:
        lines.append(f"missing_codes: [{', '.join(f'{c:g}' for c in cmap.missing_codes)}]")
    if cmap.id_column is not None:
        value = yaml.safe_dump(cmap.id_column, allow_unicode=True, default_style='"').strip()
        lines.append(f"id_column: {value}")
    if cmap.answer_values is not None:
        lines.append(f"answer_values: {cmap.answer_values}")
    return "\n".join(lines) + "\n"
