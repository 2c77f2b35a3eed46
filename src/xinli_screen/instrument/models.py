"""Pydantic v2 models of an instrument definition (the YAML schema).

Every model is frozen and forbids unknown keys, so a typo in a YAML file is an error, not a
silently ignored field. These models check structure only; cross-references (a scale naming an
unknown item, bands out of order ...) are checked in :mod:`xinli_screen.instrument.checks`.
``xinli-screen instruments schema`` prints :func:`instrument_json_schema` for editors.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from xinli_screen.yaml_source import definition_json_schema

__all__ = [
    "Band",
    "Citation",
    "Comparison",
    "CriticalItem",
    "Cutoff",
    "Instrument",
    "Item",
    "ItemFilter",
    "Licence",
    "LocalText",
    "Partition",
    "ResponseOption",
    "ResponseScale",
    "Scale",
    "TestVector",
    "ValidityCheck",
    "instrument_json_schema",
]

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
Comparison = Literal[">=", ">", "<=", "<", "=="]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LocalText(_Frozen):
    """A text in Chinese and/or English; at least one must be given."""

    zh: str | None = None
    en: str | None = None

    @model_validator(mode="after")
    def _one_language(self) -> LocalText:
        if not (self.zh or self.en):
            raise ValueError("give the text in at least one of zh, en")
        return self

    def get(self, lang: str) -> str:
        """Text in ``lang`` ("zh" or "en"), falling back to the other language."""
        first, second = (self.zh, self.en) if lang == "zh" else (self.en, self.zh)
        return first or second or ""


class Citation(_Frozen):
    """A bibliographic reference: full text, optional DOI/URL and what it is cited for."""

    text: str
    doi: str | None = None
    url: str | None = None
    used_for: str | None = Field(None, description="what this source is cited for")


class Licence(_Frozen):
    """Licence of the instrument and whether item wording may be shipped."""

    name: str
    item_text_allowed: bool = Field(description="true only where the licence allows item wording")
    statement: str = Field(description="who holds the rights and what use is permitted")
    source: str | None = None


class ResponseOption(_Frozen):
    """One answer option: its code (as scored, before reverse keying) and labels.

    ``aliases`` lists other spellings seen in exports (e.g. ``"没有"``) that map to this code.
    """

    code: int
    label: LocalText
    aliases: tuple[str, ...] = ()


class ResponseScale(_Frozen):
    """Allowed codes of a set of items.

    The declared minimum and maximum (``min_code``/``max_code``) are used for reverse keying,
    never values observed in data. ``missing_codes`` are codes that mean "no answer"
    (e.g. refused) and become missing, not failures.
    """

    id: str = Field(pattern=ID_PATTERN)
    options: tuple[ResponseOption, ...] = Field(min_length=2)
    missing_codes: tuple[int, ...] = ()

    @property
    def codes(self) -> tuple[int, ...]:
        """Valid answer codes, ascending."""
        return tuple(sorted(o.code for o in self.options))

    @property
    def min_code(self) -> int:
        """Lowest declared code."""
        return min(self.codes)

    @property
    def max_code(self) -> int:
        """Highest declared code."""
        return max(self.codes)


class Item(_Frozen):
    """One item: stable id (``{instrument}_{nn}``), number as printed, optional wording."""

    id: str = Field(pattern=ID_PATTERN)
    number: int = Field(ge=1, description="item number as printed on the form")
    text: LocalText | None = Field(None, description="only where licence.item_text_allowed")
    response_scale: str | None = Field(None, description="id; default: the first scale")
    reverse_keyed: bool = False
    loinc: str | None = None


class Band(_Frozen):
    """A severity band: scores ``>= min`` (and below the next band's ``min``)."""

    id: str = Field(pattern=ID_PATTERN)
    min: float = Field(allow_inf_nan=False, description="a finite number (.nan would "
                       "compare false with every score and shift the labels)")
    label: LocalText


class Cutoff(_Frozen):
    """A cut-off: the scale score compared with ``value`` gives screen positive.

    ``op`` is ``>=`` or ``>`` for scales where high is bad, ``<=`` or ``<`` where low is bad
    (WHO-5 well-being).
    """

    id: str = Field(pattern=ID_PATTERN)
    op: Comparison = ">="
    value: float = Field(allow_inf_nan=False)
    label: LocalText
    source: str = Field(description="paper, manual, page or table the cut-off comes from")


class Retest(_Frozen):
    """A published test-retest reliability of a scale (used by the reliable change index)."""

    r: float = Field(gt=0, lt=1)
    interval_days: int | None = Field(None, ge=1)
    n: int | None = Field(None, ge=2)
    source: str = Field(description="paper, table or page the value comes from")


class ItemFilter(_Frozen):
    """Which keyed answers count, e.g. SCL-90 positive items: ``{op: ">=", value: 2}``."""

    op: Comparison
    value: float


class Scale(_Frozen):
    """A scale or subscale: keyed items (or other scales) combined by a scoring rule.

    ``method``: ``sum`` or ``mean`` of the keyed items, or ``count`` of the answered items that
    meet ``item_filter``. With ``item_filter`` on a sum or mean, only the items that meet it
    contribute (SCL-90 positive-symptom mean: mean of the items >= 2).

    ``scales`` instead of ``items`` makes a composite: the sum or mean of other scales' scores
    (SDQ total difficulties = sum of four subscales), missing if any component is missing.

    ``min_answered`` is the minimum number of answered items for a score (default: all).
    With ``method: sum`` and fewer items answered, a score exists only when ``prorate`` is
    true (prorated score = sum of answered keyed items x n_items / n_answered). With
    ``method: mean``, the mean of the answered items is used when ``min_answered`` is met.
    ``multiplier`` rescales the result (DASS-21 x2, WHO-5 x4, Zung index x1.25), then
    ``rounding`` applies (``nearest`` rounds halves up, ``floor`` keeps the integer part).

    ``role: validity`` marks a validity scale (lie scale); ``validity_checks`` on the
    instrument turn it into a retest flag.
    """

    id: str = Field(pattern=ID_PATTERN)
    name: LocalText
    items: tuple[str, ...] = ()
    scales: tuple[str, ...] = Field((), description="component scale ids (composite scale)")
    method: Literal["sum", "mean", "count"] = "sum"
    item_filter: ItemFilter | None = None
    multiplier: float = 1.0
    rounding: Literal["none", "nearest", "floor"] = "none"
    min_answered: int | None = Field(None, ge=1)
    prorate: bool = False
    optional: bool = Field(False, description="an unscored optional scale (e.g. PHQ-9 item 10, "
                           "skipped when no symptom is reported) does not make a protocol "
                           "incomplete")
    role: Literal["scale", "validity"] = "scale"
    bands: tuple[Band, ...] = ()
    cutoffs: tuple[Cutoff, ...] = ()
    retest: Retest | None = Field(None, description="test-retest reliability, for reliable change")
    loinc: str | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _items_or_scales(self) -> Scale:
        if bool(self.items) == bool(self.scales):
            raise ValueError("give either items or scales (a composite), not both or neither")
        if self.method == "count" and self.item_filter is None:
            raise ValueError("method: count needs an item_filter")
        if self.scales and (self.method == "count" or self.item_filter or self.prorate
                            or self.min_answered is not None):
            raise ValueError("a composite (scales:) is a plain sum or mean of its scales")
        return self

    @property
    def is_composite(self) -> bool:
        """True when the scale combines other scales rather than items."""
        return bool(self.scales)

    @property
    def required_answers(self) -> int:
        """Minimum answered items for a score (0 for a composite)."""
        if self.is_composite:
            return 0
        return len(self.items) if self.min_answered is None else self.min_answered


class ValidityCheck(_Frozen):
    """A rule on a validity scale that makes a protocol untrustworthy (retest).

    Example: MHT lie scale ``>= 7`` means the answer sheet may not be valid and the pupil
    should be retested. An invalid protocol never hides a critical item.
    """

    id: str = Field(pattern=ID_PATTERN)
    scale: str
    op: Comparison = ">="
    value: float
    meaning: LocalText
    source: str


class CriticalItem(_Frozen):
    """An item whose answer alone triggers escalation (self-harm, suicide).

    Read straight from the answers: missing data elsewhere or a failed validity check can
    never hide it.
    """

    id: str = Field(pattern=ID_PATTERN)
    item: str
    op: Comparison = ">="
    value: float
    meaning: LocalText
    source: str
    active: bool = Field(True, description="false: opt-in, enabled by a policy's "
                         "enable_critical_items (a practice item, not in the manual)")


class Partition(_Frozen):
    """Scales that split the items between them, each item in at most one (factors, subscales).

    ``complete: true`` (the default) declares a full partition: every item of the instrument
    belongs to exactly one of ``scales``, except the items listed in ``outside`` (a lie scale,
    an unscored functioning item). ``complete: false`` only forbids an item in two scales.
    ``instruments validate`` and loading check both, so a key with an item in two factors or in
    none is an error, not a silently different score.

    Example (SDQ)::

        partitions:
          - id: subscales
            scales: [emotional, conduct, hyperactivity, peer, prosocial]
    """

    id: str = Field(pattern=ID_PATTERN)
    scales: tuple[str, ...] = Field(min_length=2)
    complete: bool = Field(True, description="every item (except `outside`) is in exactly one "
                           "of the scales")
    outside: tuple[str, ...] = Field((), description="item ids a complete partition leaves out")


class TestVector(_Frozen):
    """A worked example: answers by item id (None = missing) and the expected results."""

    description: str
    source: str
    answers: dict[str, int | None]
    expected_scores: dict[str, float | None]
    expected_bands: dict[str, str | None] = {}
    expected_critical: tuple[str, ...] = ()
    expected_validity: tuple[str, ...] = ()


class Instrument(_Frozen):
    """A questionnaire with its scoring key, as declared in one YAML file.

    Shapes: ``items`` in printed order; ``scales`` in output order. Use
    :func:`xinli_screen.load_instrument` to read and check a file; constructing this model
    directly performs only the structural checks.
    """

    id: str = Field(pattern=ID_PATTERN)
    version: str
    name: LocalText
    short_name: str | None = None
    description: LocalText | None = None
    citation: tuple[Citation, ...] = Field(min_length=1)
    licence: Licence
    loinc: str | None = None
    population: str | None = None
    response_scales: tuple[ResponseScale, ...] = Field(min_length=1)
    items: tuple[Item, ...] = Field(min_length=1)
    scales: tuple[Scale, ...] = Field(min_length=1)
    critical_items: tuple[CriticalItem, ...] = ()
    validity_checks: tuple[ValidityCheck, ...] = ()
    partitions: tuple[Partition, ...] = Field((), description="scales that split the items "
                                              "(checked: no item in two, none left out)")
    test_vectors: tuple[TestVector, ...] = ()
    notes: str | None = None

    @cached_property
    def item_ids(self) -> tuple[str, ...]:
        """Item ids in printed order."""
        return tuple(i.id for i in self.items)

    def response_scale_of(self, item: Item) -> ResponseScale:
        """The response scale an item uses (its own, else the first declared)."""
        wanted = item.response_scale or self.response_scales[0].id
        for rs in self.response_scales:
            if rs.id == wanted:
                return rs
        raise KeyError(wanted)

    @cached_property
    def item_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Declared (min, max) code per item, arrays of shape (n_items,)."""
        scales = [self.response_scale_of(i) for i in self.items]
        lo = np.array([s.min_code for s in scales], dtype=float)
        hi = np.array([s.max_code for s in scales], dtype=float)
        return lo, hi

    def scale(self, scale_id: str) -> Scale:
        """The scale with id ``scale_id``; raises KeyError if absent."""
        for s in self.scales:
            if s.id == scale_id:
                return s
        raise KeyError(scale_id)

    def scale_items(self, scale: Scale) -> tuple[str, ...]:
        """Item ids a scale draws on (through its components for a composite)."""
        if not scale.is_composite:
            return scale.items
        return tuple(i for c in scale.scales for i in self.scale_items(self.scale(c)))

    def scale_range(self, scale: Scale) -> tuple[float, float]:
        """Lowest and highest possible score of ``scale`` (after keying, multiplier, rounding).

        Raises KeyError when the scale names an unknown item or scale.
        """
        lo, hi = self._raw_range(scale)
        return (float(apply_rounding(lo * scale.multiplier, scale.rounding)),
                float(apply_rounding(hi * scale.multiplier, scale.rounding)))

    def _raw_range(self, scale: Scale) -> tuple[float, float]:
        if scale.is_composite:
            parts = [self.scale_range(self.scale(s)) for s in scale.scales]
            los, his = [p[0] for p in parts], [p[1] for p in parts]
            if scale.method == "mean":
                return float(np.mean(los)), float(np.mean(his))
            return float(sum(los)), float(sum(his))
        by_id = {i.id: i for i in self.items}
        codes = [self.response_scale_of(by_id[i]).codes for i in scale.items]
        if scale.item_filter is not None:
            f = scale.item_filter
            codes = [tuple(c for c in cs if _compare(c, f.op, f.value)) for cs in codes]
        if scale.method == "count":
            return 0.0, float(sum(1 for cs in codes if cs))
        usable = [cs for cs in codes if cs]
        if not usable:
            return 0.0, 0.0
        if scale.method == "mean":
            return float(min(min(cs) for cs in usable)), float(max(max(cs) for cs in usable))
        lo = sum(min(cs) for cs in usable) if scale.item_filter is None else 0.0
        return float(lo), float(sum(max(cs) for cs in usable))

    def summary(self) -> dict[str, Any]:
        """A JSON-serialisable summary (id, version, names, items, scales, licence)."""
        return {
            "id": self.id,
            "version": self.version,
            "name_zh": self.name.zh,
            "name_en": self.name.en,
            "n_items": len(self.items),
            "scales": [s.id for s in self.scales],
            "critical_items": [c.item for c in self.critical_items],
            "item_text_shipped": any(i.text for i in self.items),
            "licence": self.licence.name,
        }

    def _repr_html_(self) -> str:
        """Summary card for Jupyter: names, items, scales with bands and cut-offs, critical
        items, licence and first citation."""
        import html

        def esc(value: Any) -> str:
            return html.escape(str(value))

        def cut(c: Cutoff) -> str:
            return f"{c.op} {c.value:g}"

        scale_rows = "".join(
            f"<tr><td><code>{esc(s.id)}</code></td><td>{esc(s.name.get('zh'))}</td>"
            f"<td>{len(self.scale_items(s))}</td><td>{esc(s.method)}</td>"
            f"<td>{esc(', '.join(f'{b.id} ≥ {b.min:g}' for b in s.bands))}</td>"
            f"<td>{esc('; '.join(cut(c) for c in s.cutoffs))}</td></tr>"
            for s in self.scales)
        critical = "; ".join(
            f"{c.item} {c.op} {c.value:g}" + ("" if c.active else " (opt-in)")
            for c in self.critical_items) or "none"
        first = self.citation[0]
        return (
            "<div style='border:1px solid #ccc;border-radius:6px;padding:8px 12px'>"
            f"<p><b>{esc(self.name.zh or '')}</b> {esc(self.name.en or '')}<br>"
            f"<code>{esc(self.id)}</code> version {esc(self.version)}; "
            f"{len(self.items)} items; population: {esc(self.population or 'not stated')}</p>"
            "<table><tr><th>scale</th><th>name</th><th>items</th><th>method</th>"
            f"<th>bands</th><th>cut-offs</th></tr>{scale_rows}</table>"
            f"<p>Critical items: {esc(critical)}<br>"
            f"Licence: {esc(self.licence.name)} (item wording "
            f"{'shipped' if any(i.text for i in self.items) else 'not shipped'})<br>"
            f"Source: {esc(first.text)}</p>"
            "<p><small>A screening instrument: a score is not a diagnosis.</small></p></div>")


def _compare(x: float, op: str, value: float) -> bool:
    return {">=": x >= value, ">": x > value, "<=": x <= value, "<": x < value,
            "==": x == value}[op]


def apply_rounding(value: Any, rounding: str) -> Any:
    """Round a score (scalar or array) as declared: ``nearest`` (halves up), ``floor``, ``none``."""
    if rounding == "nearest":
        return np.floor(np.asarray(value, dtype=float) + 0.5)
    if rounding == "floor":
        return np.floor(np.asarray(value, dtype=float))
    return value


def instrument_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the instrument YAML format."""
    return definition_json_schema(Instrument, "xinli-screen instrument definition")
