"""Semantic checks of an instrument definition.

Each check is a small function ``(instrument) -> list[(code, message, path, level)]``; none
raises. :func:`check_instrument` runs them all (a crash inside one check becomes an issue, so a
bug in one rule cannot hide the findings of the others) and attaches file and line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from xinli_screen.errors import DefinitionIssue
from xinli_screen.instrument.models import Instrument
from xinli_screen.yaml_source import YamlDocument

__all__ = ["RESERVED_SCALE_IDS", "RESERVED_SUFFIXES", "check_instrument"]

Finding = tuple[str, str, tuple[str | int, ...], str]
Check = Callable[[Instrument], Iterator[Finding]]

#: Output column suffixes used by the engine; a cut-off may not take one of these ids.
RESERVED_SUFFIXES = frozenset({"n_answered", "band", "prorated", "t", "percentile", "z",
                               "stanine", "sten", "norm_status", "lo", "hi"})
#: Scale ids the norms stage uses for instrument-level columns.
RESERVED_SCALE_IDS = frozenset({"norm_group", "norm_status", "norm_table", "critical"})


def _duplicates(values: list[str]) -> list[str]:
    return [v for v, n in Counter(values).items() if n > 1]


def _unique_ids(inst: Instrument) -> Iterator[Finding]:
    for kind, ids in (
        ("item", [i.id for i in inst.items]),
        ("scale", [s.id for s in inst.scales]),
        ("response scale", [r.id for r in inst.response_scales]),
        ("critical item", [c.id for c in inst.critical_items]),
    ):
        for dup in _duplicates(ids):
            yield "duplicate-id", f"{kind} id {dup!r} is declared more than once", (), "error"
    for dup in _duplicates([str(i.number) for i in inst.items]):
        yield "duplicate-item-number", f"item number {dup} is used twice", ("items",), "error"


def _item_ids_prefixed(inst: Instrument) -> Iterator[Finding]:
    for n, item in enumerate(inst.items):
        if not item.id.startswith(f"{inst.id}_"):
            yield ("item-id-prefix", f"item id {item.id!r} must start with '{inst.id}_' so ids "
                   "stay unique when several instruments are screened together",
                   ("items", n, "id"), "error")


def _response_scales(inst: Instrument) -> Iterator[Finding]:
    known = {r.id for r in inst.response_scales}
    for n, item in enumerate(inst.items):
        if item.response_scale is not None and item.response_scale not in known:
            yield ("unknown-response-scale", f"item {item.id!r} uses response scale "
                   f"{item.response_scale!r}; declared: {sorted(known)}",
                   ("items", n, "response_scale"), "error")
    for n, rs in enumerate(inst.response_scales):
        codes = [o.code for o in rs.options]
        if len(set(codes)) != len(codes):
            yield ("duplicate-code", f"response scale {rs.id!r} repeats a code",
                   ("response_scales", n, "options"), "error")
        clash = set(codes) & set(rs.missing_codes)
        if clash:
            yield ("missing-code-is-answer", f"response scale {rs.id!r}: codes {sorted(clash)} "
                   "are both answers and missing codes", ("response_scales", n, "missing_codes"),
                   "error")
        labels = [t for o in rs.options for t in (o.label.zh, o.label.en, *o.aliases) if t]
        for dup in _duplicates(labels):
            yield ("duplicate-label", f"response scale {rs.id!r}: label {dup!r} maps to two "
                   "codes", ("response_scales", n, "options"), "error")


def _composites(inst: Instrument) -> Iterator[Finding]:
    order = {s.id: n for n, s in enumerate(inst.scales)}
    for n, scale in enumerate(inst.scales):
        for k, comp in enumerate(scale.scales):
            if comp not in order:
                yield ("unknown-scale-in-composite", f"scale {scale.id!r} combines unknown "
                       f"scale {comp!r}", ("scales", n, "scales", k), "error")
            elif order[comp] >= n:
                yield ("composite-order", f"scale {scale.id!r} must come after its component "
                       f"{comp!r}", ("scales", n, "scales", k), "error")


def _validity(inst: Instrument) -> Iterator[Finding]:
    scales = {s.id: s for s in inst.scales}
    for n, check in enumerate(inst.validity_checks):
        scale = scales.get(check.scale)
        if scale is None:
            yield ("unknown-validity-scale", f"validity check {check.id!r} names unknown scale "
                   f"{check.scale!r}", ("validity_checks", n, "scale"), "error")
        elif scale.role != "validity":
            yield ("validity-role", f"validity check {check.id!r}: scale {check.scale!r} should "
                   "declare role: validity", ("validity_checks", n, "scale"), "warning")


def _scales(inst: Instrument) -> Iterator[Finding]:
    items = set(inst.item_ids)
    for n, scale in enumerate(inst.scales):
        for k, item_id in enumerate(scale.items):
            if item_id not in items:
                yield ("unknown-item-in-scale", f"scale {scale.id!r} lists item {item_id!r}, "
                       "which is not declared under items", ("scales", n, "items", k), "error")
        if scale.id in RESERVED_SCALE_IDS:
            yield ("reserved-id", f"scale id {scale.id!r} is reserved for output columns",
                   ("scales", n, "id"), "error")
        for dup in _duplicates(list(scale.items)):
            yield ("duplicate-item-in-scale", f"scale {scale.id!r} lists item {dup!r} twice",
                   ("scales", n, "items"), "error")
        if scale.min_answered is not None and scale.min_answered > len(scale.items):
            yield ("min-answered-too-large", f"scale {scale.id!r}: min_answered "
                   f"{scale.min_answered} exceeds its {len(scale.items)} items",
                   ("scales", n, "min_answered"), "error")
        partial = scale.required_answers < len(scale.items)
        plain_sum = scale.method == "sum" and scale.item_filter is None
        if plain_sum and not scale.is_composite and partial and not scale.prorate:
            yield ("partial-sum", f"scale {scale.id!r}: a sum over fewer than all items is not "
                   "comparable; set prorate: true or min_answered to the number of items",
                   ("scales", n, "min_answered"), "error")
        if scale.prorate and (scale.method != "sum" or not partial):
            yield ("prorate-without-effect", f"scale {scale.id!r}: prorate applies only to a "
                   "sum scale whose min_answered is below its number of items",
                   ("scales", n, "prorate"), "warning")
        yield from _bands_and_cutoffs(inst, n)


def _bands_and_cutoffs(inst: Instrument, n: int) -> Iterator[Finding]:
    scale = inst.scales[n]
    known = {s.id for s in inst.scales[:n]}
    mins = [b.min for b in scale.bands]
    if mins and mins != sorted(mins):
        yield ("bands-not-ascending", f"scale {scale.id!r}: band minimums must ascend",
               ("scales", n, "bands"), "error")
    if len(set(mins)) != len(mins):
        yield ("duplicate-band-min", f"scale {scale.id!r}: two bands start at the same score",
               ("scales", n, "bands"), "error")
    for dup in _duplicates([b.id for b in scale.bands]):
        yield ("duplicate-id", f"scale {scale.id!r}: band id {dup!r} repeats",
               ("scales", n, "bands"), "error")
    if any(i not in inst.item_ids for i in scale.items) or any(
            c not in known for c in scale.scales):
        return  # the range is unknown; reported as unknown-item-in-scale / composite
    lo, hi = inst.scale_range(scale)
    if mins and min(mins) != lo:
        yield ("bands-do-not-cover", f"scale {scale.id!r}: the first band must start at the "
               f"lowest possible score {lo:g}, got {min(mins):g}", ("scales", n, "bands", 0),
               "error")
    for k, band in enumerate(scale.bands):
        if band.min > hi:
            yield ("band-out-of-range", f"scale {scale.id!r}: band {band.id!r} starts at "
                   f"{band.min:g}, above the highest possible score {hi:g}",
                   ("scales", n, "bands", k, "min"), "error")
    for k, cut in enumerate(scale.cutoffs):
        if not lo <= cut.value <= hi:
            yield ("cutoff-out-of-range", f"scale {scale.id!r}: cut-off {cut.id!r} = "
                   f"{cut.value:g} is outside the score range {lo:g}-{hi:g}",
                   ("scales", n, "cutoffs", k, "value"), "error")
        if cut.id in RESERVED_SUFFIXES:
            yield ("reserved-id", f"cut-off id {cut.id!r} is reserved for output columns",
                   ("scales", n, "cutoffs", k, "id"), "error")


def _critical_items(inst: Instrument) -> Iterator[Finding]:
    by_id = {i.id: i for i in inst.items}
    for n, crit in enumerate(inst.critical_items):
        item = by_id.get(crit.item)
        if item is None:
            yield ("unknown-critical-item", f"critical item {crit.id!r} names unknown item "
                   f"{crit.item!r}", ("critical_items", n, "item"), "error")
            continue
        rs = inst.response_scale_of(item)
        if not rs.min_code <= crit.value <= rs.max_code:
            yield ("critical-value-out-of-range", f"critical item {crit.id!r}: value "
                   f"{crit.value:g} is outside the codes {rs.min_code}-{rs.max_code}",
                   ("critical_items", n, "value"), "error")


def _licence(inst: Instrument) -> Iterator[Finding]:
    if inst.licence.item_text_allowed:
        return
    for n, item in enumerate(inst.items):
        if item.text is not None:
            yield ("text-not-licensed", f"item {item.id!r} carries wording but the licence "
                   "does not allow shipping it (licence.item_text_allowed is false)",
                   ("items", n, "text"), "error")


def _test_vectors(inst: Instrument) -> Iterator[Finding]:
    items = set(inst.item_ids)
    scales = {s.id for s in inst.scales}
    for n, tv in enumerate(inst.test_vectors):
        for item_id in tv.answers:
            if item_id not in items:
                yield ("unknown-item-in-test-vector", f"test vector {n} answers unknown item "
                       f"{item_id!r}", ("test_vectors", n, "answers", item_id), "error")
        checks = {c.id for c in inst.validity_checks}
        for check_id in tv.expected_validity:
            if check_id not in checks:
                yield ("unknown-check-in-test-vector", f"test vector {n} expects unknown "
                       f"validity check {check_id!r}", ("test_vectors", n), "error")
        for scale_id in (*tv.expected_scores, *tv.expected_bands):
            if scale_id not in scales:
                yield ("unknown-scale-in-test-vector", f"test vector {n} expects unknown scale "
                       f"{scale_id!r}", ("test_vectors", n), "error")


CHECKS: tuple[Check, ...] = (
    _unique_ids,
    _item_ids_prefixed,
    _response_scales,
    _scales,
    _composites,
    _validity,
    _critical_items,
    _licence,
    _test_vectors,
)


def check_instrument(inst: Instrument, doc: YamlDocument | None = None) -> list[DefinitionIssue]:
    """Run every semantic check on ``inst``.

    Parameters
    ----------
    inst : Instrument
        A structurally valid instrument.
    doc : YamlDocument, optional
        The parsed file, used to attach file names and line numbers.

    Returns
    -------
    list of DefinitionIssue
        All findings, errors and warnings; never raises.
    """
    source = doc.source if doc else "<model>"
    issues: list[DefinitionIssue] = []
    for check in CHECKS:
        try:
            findings = list(check(inst))
        except Exception as exc:  # a bug in one check must not hide the others
            findings = [("check-crashed", f"check {check.__name__} failed: {exc!r}", (), "error")]
        for code, message, path, level in findings:
            issues.append(
                DefinitionIssue(
                    code,
                    message,
                    level="warning" if level == "warning" else "error",
                    source=source,
                    line=doc.line_of(path) if doc else None,
                    field=".".join(str(p) for p in path),
                )
            )
    return issues
