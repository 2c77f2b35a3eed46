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
    by_id = {i.id: i for i in inst.items}
    scales = {s.id for s in inst.scales}
    for n, tv in enumerate(inst.test_vectors):
        for item_id in tv.answers:
            if item_id not in items:
                yield ("unknown-item-in-test-vector", f"test vector {n} answers unknown item "
                       f"{item_id!r}", ("test_vectors", n, "answers", item_id), "error")
                continue
            answer = tv.answers[item_id]
            rs = inst.response_scale_of(by_id[item_id]) if _known_rs(inst, by_id[item_id]) \
                else None
            if answer is not None and rs is not None and answer not in rs.codes:
                yield ("test-vector-answer-out-of-range", f"test vector {n} answers item "
                       f"{item_id!r} with {answer}, not one of its codes {list(rs.codes)}",
                       ("test_vectors", n, "answers", item_id), "error")
        checks = {c.id for c in inst.validity_checks}
        for check_id in tv.expected_validity:
            if check_id not in checks:
                yield ("unknown-check-in-test-vector", f"test vector {n} expects unknown "
                       f"validity check {check_id!r}", ("test_vectors", n), "error")
        for scale_id in (*tv.expected_scores, *tv.expected_bands):
            if scale_id not in scales:
                yield ("unknown-scale-in-test-vector", f"test vector {n} expects unknown scale "
                       f"{scale_id!r}", ("test_vectors", n), "error")


def _partitions(inst: Instrument) -> Iterator[Finding]:
    """Declared partitions: no item in two of their scales; a complete one leaves none out."""
    scales = {s.id: s for s in inst.scales}
    items = set(inst.item_ids)
    for n, part in enumerate(inst.partitions):
        where = ("partitions", n)
        unknown = [s for s in part.scales if s not in scales]
        for s in unknown:
            yield ("unknown-scale-in-partition", f"partition {part.id!r} names unknown scale "
                   f"{s!r}", (*where, "scales"), "error")
        for item_id in part.outside:
            if item_id not in items:
                yield ("unknown-item-in-partition", f"partition {part.id!r} leaves out unknown "
                       f"item {item_id!r}", (*where, "outside"), "error")
        if part.outside and not part.complete:
            yield ("outside-without-effect", f"partition {part.id!r}: outside applies only to "
                   "a complete partition", (*where, "outside"), "warning")
        for dup in _duplicates(list(part.scales)):
            yield ("duplicate-scale-in-partition", f"partition {part.id!r} lists scale {dup!r} "
                   "twice", (*where, "scales"), "error")
        owners: dict[str, list[str]] = {}
        for sid in dict.fromkeys(s for s in part.scales if s in scales):
            for item_id in dict.fromkeys(inst.scale_items(scales[sid])):
                owners.setdefault(item_id, []).append(sid)
        for item_id, holders in owners.items():
            if len(holders) > 1:
                yield ("item-in-two-scales", f"partition {part.id!r}: item {item_id!r} is in "
                       f"{len(holders)} of its scales ({', '.join(holders)}); each item belongs "
                       "to one", (*where, "scales"), "error")
            if item_id in part.outside:
                yield ("outside-item-in-partition", f"partition {part.id!r}: item {item_id!r} "
                       f"is listed in outside but scale {holders[0]!r} keys it",
                       (*where, "outside"), "error")
        if part.complete and not unknown:
            left = [i for i in inst.item_ids if i not in owners and i not in part.outside]
            if left:
                yield ("item-in-no-scale", f"partition {part.id!r} is complete but item(s) "
                       f"{', '.join(left[:10])}{' ...' if len(left) > 10 else ''} are in none of "
                       f"its scales ({', '.join(part.scales)}); key them or list them under "
                       "outside", (*where, "scales"), "error")


def _unscored_items(inst: Instrument) -> Iterator[Finding]:
    """An item that no scale, critical item or partition mentions is likely a lost key."""
    used = {i for s in inst.scales if not s.is_composite for i in s.items}
    used |= {c.item for c in inst.critical_items}
    used |= {i for p in inst.partitions for i in p.outside}
    for n, item in enumerate(inst.items):
        if item.id not in used:
            yield ("item-unused", f"item {item.id!r} is in no scale and is not a critical item; "
                   "its answers are read but never scored", ("items", n, "id"), "warning")


CHECKS: tuple[Check, ...] = (
    _unique_ids,
    _item_ids_prefixed,
    _response_scales,
    _scales,
    _composites,
    _validity,
    _critical_items,
    _licence,
    _partitions,
    _unscored_items,
    _test_vectors,
)


def _known_rs(inst: Instrument, item: object) -> bool:
    try:
        inst.response_scale_of(item)  # type: ignore[arg-type]
    except KeyError:
        return False
    return True


def _vector_results(inst: Instrument) -> Iterator[Finding]:
    """Score every test vector and compare with its expected scores, bands and flags.

    Runs only on an otherwise error-free definition (called by :func:`check_instrument`), so a
    key shifted by one, a wrong reverse key or a mistyped expectation is an error at load time
    for every file, not only for the bundled ones. Critical items (opt-in ones included) and
    validity checks are compared only when the vector states ``expected_critical`` /
    ``expected_validity`` (an empty list states "none fires").
    """
    import math

    import pandas as pd

    from xinli_screen.scoring import critical_item_flags, score_instrument, validity_flags

    for n, tv in enumerate(inst.test_vectors):
        where: tuple[str | int, ...] = ("test_vectors", n)
        label = f"test vector {n} ({tv.description})"
        row = {i: tv.answers.get(i) for i in inst.item_ids}
        frame = pd.DataFrame([row], columns=list(inst.item_ids), dtype=float)
        scores = score_instrument(frame, inst)
        for scale_id, expected in tv.expected_scores.items():
            got = float(scores.loc[0, f"{inst.id}.{scale_id}"])
            ok = (math.isnan(got) if expected is None
                  else not math.isnan(got) and math.isclose(got, expected, abs_tol=1e-9))
            if not ok:
                shown = "missing" if math.isnan(got) else f"{got:g}"
                want = "missing" if expected is None else f"{expected:g}"
                yield ("test-vector-score", f"{label}: scale {scale_id!r} expected {want}, "
                       f"the key scores {shown}", (*where, "expected_scores", scale_id), "error")
        for scale_id, band in tv.expected_bands.items():
            got_band = scores.loc[0, f"{inst.id}.{scale_id}.band"]
            got_band = got_band if isinstance(got_band, str) else None
            if got_band != band:
                yield ("test-vector-band", f"{label}: scale {scale_id!r} expected band {band!r}, "
                       f"the key gives {got_band!r}", (*where, "expected_bands", scale_id),
                       "error")
        given = tv.model_fields_set  # flags are compared only when the vector states them
        for key, code, what, flags, declared in (
                ("expected_validity", "test-vector-validity", "validity checks",
                 validity_flags(scores, inst), inst.validity_checks),
                ("expected_critical", "test-vector-critical", "critical items",
                 critical_item_flags(frame, inst), inst.critical_items)):
            fired = [c.id for c in declared if _fired(flags.loc[0, f"{inst.id}.{c.id}"])]
            expected = list(getattr(tv, key))
            if key in given and sorted(fired) != sorted(expected):
                yield (code, f"{label}: expected {what} {expected}, fired {fired}",
                       (*where, key), "error")


def _fired(value: object) -> bool:
    import pandas as pd

    return value is not pd.NA and value is not None and bool(value)


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
        All findings, errors and warnings; never raises. When no error is found, the file's
        own ``test_vectors`` are scored and every disagreement is an error too.
    """
    source = doc.source if doc else "<model>"
    issues: list[DefinitionIssue] = []
    for check in CHECKS:
        try:
            findings = list(check(inst))
        except Exception as exc:  # a bug in one check must not hide the others
            findings = [("check-crashed", f"check {check.__name__} failed: {exc!r}", (), "error")]
        _attach(issues, findings, doc, source)
    if inst.test_vectors and not any(i.level == "error" for i in issues):
        try:
            findings = list(_vector_results(inst))
        except Exception as exc:
            findings = [("check-crashed", f"running the test vectors failed: {exc!r}", (),
                         "error")]
        _attach(issues, findings, doc, source)
    return issues


def _attach(issues: list[DefinitionIssue], findings: list[Finding], doc: YamlDocument | None,
            source: str) -> None:
    for code, message, path, level in findings:
        issues.append(DefinitionIssue(
            code,
            message,
            level="warning" if level == "warning" else "error",
            source=source,
            line=doc.line_of(path) if doc else None,
            field=".".join(str(p) for p in path),
        ))
