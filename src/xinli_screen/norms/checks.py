"""Semantic checks of a norm table, one function per rule, returning issues (never raising).

:func:`check_norm_table` runs them all; a crash inside one check becomes an issue, so one bug
cannot hide the other findings. Each issue names file, line and field when the table came from
a YAML document.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

import numpy as np

from xinli_screen.errors import DefinitionIssue
from xinli_screen.instrument.models import Instrument
from xinli_screen.norms.models import NormTable, code_key, metric_problems
from xinli_screen.norms.vocabulary import normalise_text
from xinli_screen.yaml_source import YamlDocument

__all__ = ["check_against_instrument", "check_norm_table", "monotone_violation"]

Finding = tuple[str, str, tuple[str | int, ...], str]
Check = Callable[[NormTable], Iterator[Finding]]


def _group_variables(t: NormTable) -> Iterator[Finding]:
    ids = [v.id for v in t.group_variables]
    for dup in [v for v, n in Counter(ids).items() if n > 1]:
        yield "duplicate-variable", f"group variable {dup!r} is declared twice", \
            ("group_variables",), "error"
    if t.covariate is not None and t.covariate.id in ids:
        yield ("covariate-is-group", f"{t.covariate.id!r} is both the covariate and a group "
               "variable", ("covariate", "id"), "error")
    for n, var in enumerate(t.group_variables):
        keys = [lev.key for lev in var.levels]
        for dup in [k for k, c in Counter(keys).items() if c > 1]:
            yield ("duplicate-level", f"level {dup!r} of {var.id!r} is declared twice",
                   ("group_variables", n, "levels"), "error")
        seen: dict[str, str] = {}
        for m, lev in enumerate(var.levels):
            texts = [lev.code, *lev.aliases, *((lev.label.zh, lev.label.en) if lev.label else ())]
            for text in texts:
                key = normalise_text(text)
                if key is None:
                    continue
                if seen.setdefault(key, lev.key) != lev.key:
                    yield ("ambiguous-alias", f"group variable {var.id!r}: {text!r} is a "
                           f"spelling of both {seen[key]!r} and {lev.key!r}",
                           ("group_variables", n, "levels", m), "error")
        for m, lev in enumerate(var.levels):
            if lev.min is not None and lev.max is not None and lev.min >= lev.max:
                yield ("bad-band", f"level {lev.key!r} of {var.id!r}: min {lev.min:g} must be "
                       f"below max {lev.max:g}", ("group_variables", n, "levels", m), "error")


def _cells(t: NormTable) -> Iterator[Finding]:
    levels = {v.id: {lev.key for lev in v.levels} for v in t.group_variables}
    needed = set(levels)
    for sid, norm in t.scales.items():
        first: dict[tuple, int] = {}
        for c, cell in enumerate(norm.cells):
            where = ("scales", sid, "cells", c)
            given = set(cell.group)
            if given != needed:
                yield ("cell-groups", f"{sid} cell {c}: group must give a level for exactly "
                       f"{sorted(needed) or 'no variable'}; got {sorted(given) or 'none'}",
                       (*where, "group"), "error")
            for var, code in cell.group.items():
                if var in levels and code_key(code) not in levels[var]:
                    yield ("unknown-level", f"{sid} cell {c}: {code!r} is not a level of "
                           f"{var!r} (levels: {sorted(levels[var])})",
                           (*where, "group", var), "error")
            if cell.key in first:
                text = ", ".join(f"{k}={v}" for k, v in cell.key) or "the whole population"
                yield ("duplicate-cell", f"{sid} cell {c}: a second cell for {text} (first: "
                       f"cell {first[cell.key]})", where, "error")
            first.setdefault(cell.key, c)


def _kind_content(t: NormTable) -> Iterator[Finding]:
    for sid, norm in t.scales.items():
        base = ("scales", sid)
        if t.kind == "continuous":
            if norm.model is None:
                yield ("missing-model", f"{sid}: kind continuous needs a model",
                       base, "error")
            if norm.cells:
                yield ("cells-in-continuous", f"{sid}: kind continuous takes a model, not "
                       "cells", (*base, "cells"), "error")
            continue
        if norm.model is not None:
            yield ("model-not-continuous", f"{sid}: a model is only used with kind: continuous",
                   (*base, "model"), "error")
        if not norm.cells:
            yield "no-cells", f"{sid}: no cells", base, "error"
        for c, cell in enumerate(norm.cells):
            where = (*base, "cells", c)
            if t.kind == "mean_sd" and (cell.mean is None or cell.sd is None):
                yield ("mean-sd-missing", f"{sid} cell {c}: kind mean_sd needs mean and sd",
                       where, "error")
            if t.kind == "percentile":
                yield from _points(sid, c, cell.points, where)
            if cell.min is not None and cell.max is not None and cell.min > cell.max:
                yield ("bad-range", f"{sid} cell {c}: min {cell.min:g} above max {cell.max:g}",
                       where, "error")
            rng = norm.metric.range
            if rng is not None and cell.mean is not None and not (
                    rng[0] <= cell.mean <= rng[1]):
                yield ("mean-outside-range", f"{sid} cell {c}: mean {cell.mean:g} outside the "
                       f"metric range {rng[0]:g}-{rng[1]:g} (wrong metric?)",
                       (*where, "mean"), "error")


def _points(sid: str, c: int, points: tuple, where: tuple) -> Iterator[Finding]:
    if len(points) < 2:
        yield ("too-few-points", f"{sid} cell {c}: a percentile table needs at least 2 points",
               (*where, "points"), "error")
        return
    arr = np.asarray(points, dtype=float)
    if np.any(np.diff(arr[:, 0]) <= 0):
        yield ("points-order", f"{sid} cell {c}: raw scores must increase strictly",
               (*where, "points"), "error")
    if np.any(np.diff(arr[:, 1]) < 0):
        yield ("points-not-monotone", f"{sid} cell {c}: percentile ranks must not decrease as "
               "the raw score rises", (*where, "points"), "error")
    if np.any((arr[:, 1] <= 0) | (arr[:, 1] >= 100)):
        yield ("points-range", f"{sid} cell {c}: percentile ranks must lie strictly between 0 "
               "and 100 (a normalised T needs a finite normal score)", (*where, "points"),
               "error")


def _metric(t: NormTable) -> Iterator[Finding]:
    for sid, norm in t.scales.items():
        rng = norm.metric.range
        if rng is not None and rng[0] >= rng[1]:
            yield ("bad-metric-range", f"{sid}: metric range must be [lowest, highest]",
                   ("scales", sid, "metric", "range"), "error")


def monotone_violation(t: NormTable) -> list[str]:
    """Scales whose continuous model decreases in the location somewhere in its domain."""
    from xinli_screen.norms.continuous import model_is_monotone

    bad = []
    for sid, norm in t.scales.items():
        if norm.model is None:
            continue
        levels = None
        if norm.model.factor is not None:
            try:
                levels = [lev.key for lev in t.variable(norm.model.factor).levels]
            except KeyError:
                continue
        if not model_is_monotone(norm.model, levels):
            bad.append(sid)
    return bad


def _continuous(t: NormTable) -> Iterator[Finding]:
    group_ids = {v.id for v in t.group_variables}
    for sid, norm in t.scales.items():
        m = norm.model
        if m is None:
            continue
        where = ("scales", sid, "model")
        if m.factor is not None and m.factor not in group_ids:
            yield ("unknown-factor", f"{sid}: factor {m.factor!r} is not a group variable",
                   (*where, "factor"), "error")
        if m.covariate_min > m.covariate_max or m.location_min >= m.location_max:
            yield "bad-domain", f"{sid}: model domain is empty", where, "error"
        levels = ({lev.key for lev in t.variable(m.factor).levels}
                  if m.factor in group_ids else set())
        for n, term in enumerate(m.terms):
            if term.level is not None and code_key(term.level) not in levels:
                yield ("unknown-level", f"{sid}: term {n} names level {term.level!r} of no "
                       "factor", (*where, "terms", n, "level"), "error")
    for sid in monotone_violation(t):
        yield ("not-monotone", f"{sid}: the continuous model decreases in the location inside "
               "its domain; a higher raw score could get a lower T", ("scales", sid, "model"),
               "error")


CHECKS: tuple[Check, ...] = (_group_variables, _cells, _kind_content, _metric, _continuous)


def check_norm_table(table: NormTable, doc: YamlDocument | None = None) -> list[DefinitionIssue]:
    """Run every semantic check; issues carry file and line when ``doc`` is given."""
    source = doc.source if doc is not None else "<model>"
    issues: list[DefinitionIssue] = []
    for check in CHECKS:
        try:
            findings = list(check(table))
        except Exception as exc:  # a bug in one check must not hide the others
            findings = [("check-crashed", f"check {check.__name__} failed: {exc!r}", (),
                         "error")]
        for code, message, path, level in findings:
            line = doc.line_of(path) if doc is not None else None
            issues.append(DefinitionIssue(code, message, level=level,  # type: ignore[arg-type]
                                          source=source, line=line,
                                          field=".".join(str(p) for p in path)))
    return issues


def check_against_instrument(table: NormTable, instrument: Instrument,
                             source: str = "<model>") -> list[DefinitionIssue]:
    """The metric check ``score --norms`` / :func:`~xinli_screen.norms.apply_norms` runs,
    as definition issues (code ``norm-metric``, level error) for ``norms validate``.

    Uses :func:`~xinli_screen.norms.models.metric_problems`: instrument id, normed scales,
    method (sum versus mean), multiplier, declared range, and every cell's mean, min/max,
    percentile-table raw scores inside the instrument's possible range with SD at most half
    of it (Popoviciu's inequality), whether or not the table states ``metric.range``.

    Parameters
    ----------
    table : NormTable
    instrument : Instrument
        The instrument the table names (bundled) or the one given with ``-i``.
    source : str
        File the table came from, for the issue.

    Returns
    -------
    list of DefinitionIssue
        Empty when the table can be applied to the instrument's scores.
    """
    return [DefinitionIssue("norm-metric", message, level="error", source=source)
            for message in metric_problems(table, instrument)]
