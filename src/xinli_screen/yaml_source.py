"""Read YAML definition files with line numbers and validate them into pydantic models.

YAML is parsed with PyYAML's *safe* loader only (``yaml.compose`` with ``SafeLoader``): no tag
can construct a Python object and no value is ever evaluated. While building plain Python data
from the node tree, the 1-based line of every mapping key and sequence entry is recorded under
its dotted path (``"scales.0.items.3"``), so that both pydantic errors and semantic checks can
name the file, line and field of a problem. Duplicate mapping keys, which ``yaml.safe_load``
silently overwrites, are reported as issues.

Parsing is bounded (issue 15: a 1 KB "billion laughs" file grew past 4.7 GB; a 100,000-deep
flow sequence crashed the C composer; a 5,000-digit integer raised a traceback): before the
node tree is composed, the event stream is checked for size (:data:`MAX_YAML_BYTES`), nesting
depth (:data:`MAX_DEPTH`), aliases (:data:`MAX_ALIASES`) and integer length
(:data:`MAX_INT_DIGITS`), and building the data stops after :data:`MAX_VALUES` values (aliases
expanded). Each limit gives a ``yaml-limit`` issue naming the file and line, never a crash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from xinli_screen.errors import DefinitionIssue

__all__ = [
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "MAX_VALUES",
    "MAX_YAML_BYTES",
    "YamlDocument",
    "definition_json_schema",
    "read_yaml",
    "validate_definition_file",
    "validate_model",
    "without_unknown_keys",
]

M = TypeVar("M", bound=BaseModel)
#: Largest definition file read (bytes); the biggest bundled one is under 100 KB.
MAX_YAML_BYTES = 10 * 1024 * 1024
#: Deepest nesting of mappings and sequences.
MAX_DEPTH = 64
#: Most alias uses (``*name``) in one document.
MAX_ALIASES = 100
#: Most values built from one document, aliases expanded.
MAX_VALUES = 250_000
#: Longest plain integer (digits); a longer one is refused, not converted.
MAX_INT_DIGITS = 100
_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML document with its line map.

    Attributes
    ----------
    data : Any
        Plain Python data (dict/list/str/int/float/bool/None).
    lines : dict[str, int]
        Dotted field path -> 1-based line number.
    source : str
        File path or ``"<string>"``.
    sha256 : str
        Hex SHA-256 of the file bytes (content hash for provenance).
    issues : list[DefinitionIssue]
        Problems found while parsing (YAML syntax, duplicate keys).
    """

    data: Any
    lines: dict[str, int]
    source: str
    sha256: str
    issues: list[DefinitionIssue] = field(default_factory=list)

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """Line of the longest prefix of ``path`` that has a recorded line."""
        parts = [str(p) for p in path]
        while parts:
            line = self.lines.get(".".join(parts))
            if line is not None:
                return line
            parts.pop()
        return self.lines.get("")


class _LimitError(Exception):
    """A parsing limit was reached (message and 1-based line)."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


_INT_TAG = "tag:yaml.org,2002:int"


def _check_events(text: str) -> None:
    """Walk the event stream once (no tree is built) and stop at the first limit exceeded.

    Raises
    ------
    _LimitError
        Nesting deeper than :data:`MAX_DEPTH`, more than :data:`MAX_ALIASES` aliases, or a
        plain integer longer than :data:`MAX_INT_DIGITS` digits.
    yaml.YAMLError
        A syntax error (reported by the caller as ``yaml-syntax``).
    """
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    depth = aliases = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            line = event.start_mark.line + 1 if event.start_mark else None
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _LimitError(f"mappings and lists nested more than {MAX_DEPTH} deep",
                                      line)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise _LimitError(f"more than {MAX_ALIASES} aliases (*name); a definition "
                                      "needs none (an alias bomb?)", line)
            elif (isinstance(event, yaml.ScalarEvent) and event.style is None
                  and len(event.value) > MAX_INT_DIGITS
                  and event.value.lstrip("+-").replace("_", "").isdigit()):
                raise _LimitError(f"an integer with more than {MAX_INT_DIGITS} digits", line)
    except yaml.MarkedYAMLError as exc:
        # libyaml >= 0.2.5 (bundled with PyYAML 6.0.4 wheels) stops at its own nesting limit
        # while scanning ahead, before the events above reach MAX_DEPTH: the same limit
        if "maximum nesting depth" not in str(exc.problem):
            raise
        mark = exc.problem_mark
        raise _LimitError(f"mappings and lists nested more than {MAX_DEPTH} deep",
                          None if mark is None else mark.line + 1) from None
    finally:
        loader.dispose()


def _scalar(node: yaml.ScalarNode, loader: yaml.SafeLoader) -> Any:
    if node.tag == _INT_TAG and len(node.value) > MAX_INT_DIGITS:
        raise _LimitError(f"an integer with more than {MAX_INT_DIGITS} digits",
                          node.start_mark.line + 1)
    return loader.construct_object(node, deep=True)


def _build(
    node: yaml.Node,
    path: list[str],
    lines: dict[str, int],
    issues: list[DefinitionIssue],
    source: str,
    loader: yaml.SafeLoader,
    budget: list[int] | None = None,
) -> Any:
    budget = [MAX_VALUES] if budget is None else budget
    budget[0] -= 1
    if budget[0] < 0:
        raise _LimitError(f"more than {MAX_VALUES:,} values once aliases are expanded (an "
                          "alias bomb?)", node.start_mark.line + 1)
    if len(path) > MAX_DEPTH:
        raise _LimitError(f"mappings and lists nested more than {MAX_DEPTH} deep",
                          node.start_mark.line + 1)
    key = ".".join(path)
    lines.setdefault(key, node.start_mark.line + 1)
    if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
        raise yaml.constructor.ConstructorError(
            None, None, f"tag {node.tag!r} is not allowed (plain YAML only)", node.start_mark)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            k = _scalar(knode, loader) if isinstance(knode, yaml.ScalarNode) else str(knode)
            if k in out:
                issues.append(
                    DefinitionIssue(
                        "duplicate-key",
                        f"key {k!r} appears twice in the same mapping; the second would "
                        "silently replace the first",
                        source=source,
                        line=knode.start_mark.line + 1,
                        field=".".join([*path, str(k)]),
                    )
                )
            child = [*path, str(k)]
            lines[".".join(child)] = knode.start_mark.line + 1
            out[k] = _build(vnode, child, lines, issues, source, loader, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(child, [*path, str(i)], lines, issues, source, loader, budget)
            for i, child in enumerate(node.value)
        ]
    return _scalar(node, loader)


def read_yaml(path_or_text: str | Path, *, is_text: bool = False) -> YamlDocument:
    """Parse one YAML document safely, recording the line of every field.

    Parameters
    ----------
    path_or_text : str or Path
        A file path, or the YAML text itself when ``is_text`` is true.
    is_text : bool
        Treat ``path_or_text`` as YAML text (source reported as ``"<string>"``).

    Returns
    -------
    YamlDocument
        ``data`` is None and ``issues`` holds a ``yaml-syntax``, ``unreadable-file``,
        ``not-utf8`` or ``yaml-limit`` error when the text cannot be parsed or exceeds a
        limit (size, depth, aliases, integer length: see the module docstring). This
        function never raises for bad content.
    """
    if is_text:
        raw = str(path_or_text).encode("utf-8")
        source = "<string>"
    else:
        source = str(path_or_text)
        try:
            size = Path(path_or_text).stat().st_size
            if size > MAX_YAML_BYTES:
                issue = DefinitionIssue(
                    "yaml-limit", f"file is {size:,} bytes; definition files are read up to "
                    f"{MAX_YAML_BYTES:,} bytes (see docs/errors.md#yaml-limits)", source=source)
                return YamlDocument(None, {}, source, "", [issue])
            raw = Path(path_or_text).read_bytes()
        except OSError as exc:
            issue = DefinitionIssue("unreadable-file", f"cannot read file: {exc.strerror}",
                                    source=source)
            return YamlDocument(None, {}, source, "", [issue])
    if len(raw) > MAX_YAML_BYTES:
        issue = DefinitionIssue(
            "yaml-limit", f"text is {len(raw):,} bytes; definitions are read up to "
            f"{MAX_YAML_BYTES:,} bytes (see docs/errors.md#yaml-limits)", source=source)
        return YamlDocument(None, {}, source, "", [issue])
    digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        issue = DefinitionIssue("not-utf8", f"file is not UTF-8 text (byte {exc.start})",
                                source=source)
        return YamlDocument(None, {}, source, digest, [issue])
    issues: list[DefinitionIssue] = []
    lines: dict[str, int] = {}
    try:
        _check_events(text)
    except _LimitError as exc:
        issues.append(DefinitionIssue("yaml-limit", f"{exc} (see docs/errors.md#yaml-limits)",
                                      source=source, line=exc.line))
        return YamlDocument(None, lines, source, digest, issues)
    except yaml.YAMLError:
        pass  # the same error is reported below, with its line
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)  # libyaml when built in
    try:
        root = loader.get_single_node()
        data = None if root is None else _build(root, [], lines, issues, source, loader)
    except _LimitError as exc:
        issues.append(DefinitionIssue("yaml-limit", f"{exc} (see docs/errors.md#yaml-limits)",
                                      source=source, line=exc.line))
        return YamlDocument(None, lines, source, digest, issues)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        problem = getattr(exc, "problem", None) or str(exc)
        issues.append(DefinitionIssue("yaml-syntax", f"YAML syntax error: {problem}",
                                      source=source, line=line))
        return YamlDocument(None, lines, source, digest, issues)
    finally:
        loader.dispose()
    return YamlDocument(data, lines, source, digest, issues)


def validate_model(model: type[M], doc: YamlDocument) -> tuple[M | None, list[DefinitionIssue]]:
    """Validate ``doc.data`` into ``model``, turning every pydantic error into an issue.

    Returns
    -------
    (model instance or None, issues)
        The instance is None when pydantic reported any error; all errors are returned
        at once, each with file, line and dotted field path.
    """
    if doc.data is None and doc.issues:
        return None, []
    if not isinstance(doc.data, dict):
        return None, [DefinitionIssue("not-a-mapping", "the document must be a YAML mapping "
                                      f"(key: value), got {type(doc.data).__name__}",
                                      source=doc.source, line=1)]
    try:
        return model.model_validate(doc.data), []
    except ValidationError as exc:
        errors = exc.errors()
    issues = [_issue(err, doc) for err in errors]
    return None, issues


def _clean_loc(err: Any) -> list[str | int]:
    return [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]


def _issue(err: Any, doc: YamlDocument) -> DefinitionIssue:
    loc = _clean_loc(err)
    return DefinitionIssue("schema", err["msg"], source=doc.source, line=doc.line_of(loc),
                           field=".".join(str(p) for p in loc))


def without_unknown_keys(model: type[M], doc: YamlDocument) -> M | None:
    """Validate after dropping the keys pydantic reported as unknown (``extra_forbidden``).

    Used only to run the semantic checks as well when the sole structural problems are
    misspelt or unknown keys, so that one typo does not hide every other finding. Returns
    None when other structural errors remain.
    """
    import copy

    data = copy.deepcopy(doc.data)
    for _ in range(3):
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors()
        if any(e["type"] != "extra_forbidden" for e in errors):
            return None
        for err in errors:
            *parents, key = _clean_loc(err)
            node = data
            for p in parents:
                node = node[p]
            node.pop(key, None)
    return None


def validate_definition_file(
    model: type[M],
    checker: Callable[[M, YamlDocument], list[DefinitionIssue]],
    path: str | Path,
) -> tuple[M | None, list[DefinitionIssue], str]:
    """Load one definition file into ``model`` and run its semantic checks, collecting every
    problem.

    Parameters
    ----------
    model : pydantic model class
        The definition format (e.g. ``Instrument``, ``NormTable``).
    checker : callable (model instance, YamlDocument) -> list of DefinitionIssue
        The semantic checks of that format. They also run when the only structural problems
        are unknown keys (see :func:`without_unknown_keys`), so that one typo does not hide
        every other finding.
    path : str or Path

    Returns
    -------
    (model instance or None, issues, sha256)
        Parse, schema and semantic issues in that order; the instance is None when any of
        them is an error.
    """
    doc = read_yaml(path)
    instance, issues = validate_model(model, doc)
    issues = [*doc.issues, *issues]
    checkable = instance if instance is not None else (
        without_unknown_keys(model, doc) if issues and not doc.issues else None)
    if checkable is not None:
        issues += checker(checkable, doc)
    if any(i.level == "error" for i in issues):
        instance = None
    return instance, issues, doc.sha256


def definition_json_schema(model: type[BaseModel], title: str) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a YAML definition format, for editor validation."""
    schema = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = title
    return schema
