"""Pydantic v2 models of a norm table (the YAML format of ``instruments/norms/*.yaml``).

A norm table belongs to one instrument and gives, per scale, the reference distribution of
the scale score in one or more norm groups (cells): a mean and SD (``kind: mean_sd``), a
raw-score-to-percentile table (``kind: percentile``) or a continuous model over age or grade
(``kind: continuous``). Every model is frozen and forbids unknown keys. These models check
structure only; cross-references (a cell naming an unknown level, points out of order ...) are
checked in :mod:`xinli_screen.norms.checks`, the match with the instrument's scoring rule in
:func:`check_metric`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

from xinli_screen.instrument.models import Citation, Instrument, LocalText, Scale
from xinli_screen.yaml_source import definition_json_schema

__all__ = [
    "Cell",
    "Code",
    "ContinuousModel",
    "Covariate",
    "GroupVariable",
    "Level",
    "Metric",
    "NormKind",
    "NormTable",
    "ScaleNorm",
    "Term",
    "code_key",
    "metric_of",
    "metric_problems",
    "norm_json_schema",
]

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
NormKind = Literal["mean_sd", "percentile", "continuous"]
#: A level code as written in YAML: a whole number (grade ``7``) or a word (``female``).
Code = StrictInt | StrictStr


def code_key(code: Any) -> str:
    """Canonical text key of a level code: ``7``, ``"7"`` and ``7.0`` all give ``"7"``."""
    if isinstance(code, float) and math.isfinite(code) and code.is_integer():
        return str(int(code))
    return str(code)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Level(_Frozen):
    """One level of a group variable.

    ``code`` is what the norm table's cells use; ``label`` and ``aliases`` are other spellings
    found in answer exports (``男``, ``M``, ``1`` for ``male``; ``初一``, ``七年级`` for grade 7),
    matched after Unicode NFKC normalisation, trimming and case folding. ``min``/``max`` make a
    numeric band: a number ``x`` with ``min <= x < max`` maps to this level (age bands).
    """

    code: Code
    label: LocalText | None = None
    aliases: tuple[Code, ...] = ()
    min: float | None = Field(None, description="numeric band: lowest value (inclusive)")
    max: float | None = Field(None, description="numeric band: upper bound (exclusive)")

    @property
    def key(self) -> str:
        """Canonical text key of the code."""
        return code_key(self.code)


class GroupVariable(_Frozen):
    """A variable that defines norm groups (sex, grade, age band, region, urban/rural)."""

    id: str = Field(pattern=ID_PATTERN)
    name: LocalText | None = None
    levels: tuple[Level, ...] = Field(min_length=1)

    def level(self, key: str) -> Level:
        """The level whose code key is ``key``; raises KeyError."""
        for lev in self.levels:
            if lev.key == key:
                return lev
        raise KeyError(key)


class Covariate(_Frozen):
    """The continuous variable of a ``kind: continuous`` table (age in years, or grade)."""

    id: str = Field(pattern=ID_PATTERN)
    name: LocalText | None = None
    unit: str | None = Field(None, description='e.g. "years" or "grade"')


class Metric(_Frozen):
    """The score metric a scale's norms were computed on.

    It must match the instrument's scale (``method``, ``multiplier`` and, when given, the
    lowest and highest possible score ``range``), otherwise the table is refused: a norm for
    factor *means* on 1-5 coding cannot be applied to *sums* or to 0-4 coding.
    """

    method: Literal["sum", "mean", "count"]
    multiplier: float = 1.0
    range: tuple[float, float] | None = Field(
        None, description="lowest and highest possible score, as Instrument.scale_range gives")
    note: str | None = None


class Cell(_Frozen):
    """The norms of one scale in one norm group.

    ``group`` maps every group variable of the table to a level code (``{}`` when the table
    has no group variables). ``mean_sd`` cells need ``mean`` and ``sd``; ``percentile`` cells
    need ``points``: ``[raw score, percentile rank 0-100]`` pairs, raw scores strictly
    increasing. ``min``/``max`` are the lowest and highest raw scores observed in the norm
    sample: a score outside them is flagged ``beyond_norms``.
    """

    group: dict[str, Code] = Field(default_factory=dict)
    n: int | None = Field(None, ge=1)
    mean: float | None = None
    sd: float | None = Field(None, gt=0)
    min: float | None = None
    max: float | None = None
    points: tuple[tuple[float, float], ...] = ()
    source: str | None = Field(None, description="table or page of the source")

    @property
    def key(self) -> tuple[tuple[str, str], ...]:
        """Sorted (variable, level key) pairs identifying the cell."""
        return tuple(sorted((k, code_key(v)) for k, v in self.group.items()))


class Term(_Frozen):
    """One term ``coef * L**power_l * a**power_a`` of a continuous model.

    ``level``: the term applies only to respondents of this factor level (dummy).
    """

    power_l: int = Field(ge=0, le=8, description="power of the location L (normal score z)")
    power_a: int = Field(ge=0, le=6, description="power of the standardised covariate a")
    level: Code | None = Field(None, description="factor level the term applies to (dummy)")
    coef: float


class ContinuousModel(_Frozen):
    """Raw score as a polynomial in location and covariate (cNORM-style continuous norming).

    ``raw = sum(coef * L**l * a**a * [factor == level])`` with ``L`` the normal score (z) and
    ``a = (covariate - covariate_center) / covariate_scale``. The model is monotone increasing in
    ``L`` over ``[location_min, location_max] x [covariate_min, covariate_max]`` for every factor
    level (checked when fitted and again when loaded).
    """

    factor: str | None = Field(None, description="group variable id used as a factor (sex)")
    covariate_center: float
    covariate_scale: float = Field(gt=0)
    covariate_min: float
    covariate_max: float
    location_min: float
    location_max: float
    terms: tuple[Term, ...] = Field(min_length=1)
    ranking: str | None = Field(None, description="how percentile ranks were formed")
    r2: float | None = None
    rmse: float | None = None
    n: int | None = Field(None, ge=1)


class ScaleNorm(_Frozen):
    """The norms of one scale: its metric and its cells (or continuous model)."""

    metric: Metric
    cells: tuple[Cell, ...] = ()
    model: ContinuousModel | None = None


class NormTable(_Frozen):
    """A norm table: reference distribution(s) of an instrument's scale scores.

    Shapes: ``scales`` maps scale id -> :class:`ScaleNorm`; each holds one cell per
    combination of the levels of ``group_variables`` that the source covers. Use
    :func:`xinli_screen.norms.load_norms` to read and check a file.
    """

    id: str = Field(pattern=ID_PATTERN)
    version: str
    instrument: str = Field(pattern=ID_PATTERN)
    instrument_version: str | None = None
    name: LocalText
    kind: NormKind
    citation: tuple[Citation, ...] = Field(min_length=1)
    population: LocalText
    year: int | None = Field(description="year of publication (or of a local reference wave); "
                             "null only when not retrieved, say why in notes")
    collected: str | None = Field(None, description="when the norm sample was collected")
    sample_size: int | None = Field(ge=1, description="total n of the norm sample; null only "
                                    "when the source does not give it")
    percentile_definition: Literal["mid_point", "at_or_below"] = Field(
        "mid_point", description="how the percentile ranks of a percentile table were defined")
    group_variables: tuple[GroupVariable, ...] = ()
    covariate: Covariate | None = None
    min_cell: int | None = Field(None, ge=1, description="minimum cell size used when built")
    scales: dict[str, ScaleNorm] = Field(min_length=1)
    verification: str | None = Field(None, description="how the numbers were checked")
    notes: str | None = None

    @model_validator(mode="after")
    def _continuous_covariate(self) -> NormTable:
        if self.kind == "continuous" and self.covariate is None:
            raise ValueError("kind: continuous needs a covariate (age or grade)")
        if self.kind != "continuous" and self.covariate is not None:
            raise ValueError("covariate is only used with kind: continuous")
        return self

    @property
    def label(self) -> str:
        """``id@version``, recorded with every normed score."""
        return f"{self.id}@{self.version}"

    @property
    def variable_ids(self) -> tuple[str, ...]:
        """Ids of the group variables (then the covariate, for continuous tables)."""
        ids = tuple(v.id for v in self.group_variables)
        return (*ids, self.covariate.id) if self.covariate is not None else ids

    def variable(self, var_id: str) -> GroupVariable:
        """The group variable ``var_id``; raises KeyError."""
        for v in self.group_variables:
            if v.id == var_id:
                return v
        raise KeyError(var_id)

    def summary(self) -> dict[str, Any]:
        """A JSON-serialisable summary (ids, kind, source, groups, scales, cell sizes)."""
        return {
            "id": self.id,
            "version": self.version,
            "instrument": self.instrument,
            "kind": self.kind,
            "name_zh": self.name.zh,
            "name_en": self.name.en,
            "year": self.year,
            "sample_size": self.sample_size,
            "population": self.population.get("en"),
            "groups": {v.id: [lev.key for lev in v.levels] for v in self.group_variables},
            "covariate": None if self.covariate is None else self.covariate.id,
            "scales": {s: len(n.cells) for s, n in self.scales.items()},
            "citation": [c.text for c in self.citation],
        }


def metric_of(instrument: Instrument, scale: Scale) -> Metric:
    """The metric of an instrument's scale (method, multiplier, possible range)."""
    return Metric(method=scale.method, multiplier=scale.multiplier,
                  range=instrument.scale_range(scale))


def metric_problems(table: NormTable, instrument: Instrument) -> list[str]:
    """Reasons why ``table`` cannot be applied to ``instrument`` (empty list: it can).

    Checks the instrument id, that every normed scale exists, and that each scale's metric
    (``method``, ``multiplier``, ``range``) equals the instrument's scoring rule.
    """
    out: list[str] = []
    if table.instrument != instrument.id:
        return [f"norm table {table.id!r} is for instrument {table.instrument!r}, not "
                f"{instrument.id!r}"]
    for sid, norm in table.scales.items():
        try:
            scale = instrument.scale(sid)
        except KeyError:
            out.append(f"scale {sid!r} of norm table {table.id!r} is not a scale of "
                       f"{instrument.id!r} (scales: {', '.join(s.id for s in instrument.scales)})")
            continue
        have, want = metric_of(instrument, scale), norm.metric
        if have.method != want.method:
            out.append(f"{instrument.id}.{sid}: norm table {table.id!r} is on {want.method} "
                       f"scores but the instrument scores this scale as a {have.method}; a "
                       f"{want.method} norm cannot be applied to {have.method} scores")
        if not math.isclose(have.multiplier, want.multiplier, rel_tol=1e-9):
            out.append(f"{instrument.id}.{sid}: norm table {table.id!r} assumes multiplier "
                       f"{want.multiplier:g}, the instrument uses {have.multiplier:g}")
        if want.range is not None and have.range is not None and not all(
                math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
                for a, b in zip(want.range, have.range, strict=True)):
            out.append(f"{instrument.id}.{sid}: norm table {table.id!r} is on a "
                       f"{want.range[0]:g}-{want.range[1]:g} score range, the instrument's "
                       f"scale runs {have.range[0]:g}-{have.range[1]:g} (different item "
                       "coding, e.g. 0-4 versus 1-5?)")
        if have.range is not None:
            out += _cells_off_range(f"{instrument.id}.{sid}", table.id, norm, have)
    return out


def _cells_off_range(name: str, table_id: str, norm: ScaleNorm, have: Metric) -> list[str]:
    """Cells whose contents cannot come from the instrument's scale (``range`` given or not).

    A norm computed on the instrument's own metric has every cell mean, observed ``min`` /
    ``max`` and percentile-table raw score inside the possible range ``[lo, hi]``
    (:meth:`Instrument.scale_range`), and every SD at most ``(hi - lo) / 2`` (times
    ``sqrt(n / (n - 1))`` for a sample SD of a cell of ``n``): the variance of a variable
    bounded by ``lo`` and ``hi`` is at most ``(hi - lo)**2 / 4`` (Popoviciu 1935,
    "Sur les équations algébriques ayant toutes leurs racines réelles", Mathematica 9:129-145;
    Bhatia & Davis 2000, Amer. Math. Monthly 107:353-357). A mean of 5.19 on a 1-5 mean-score
    scale, or a sum-score mean of 23 on a 1-5 mean scale, is another metric: the table is
    refused rather than producing T scores with ``norm_status`` ok. Continuous (model) norms
    are checked by their own model range when fitted.
    """
    lo, hi = have.range  # type: ignore[misc]
    tol = 1e-9 * max(1.0, abs(lo), abs(hi))
    out: list[str] = []
    for c, cell in enumerate(norm.cells):
        where = f"{name}: norm table {table_id!r} cell {c}"
        values = [("mean", cell.mean), ("min", cell.min), ("max", cell.max),
                  *(("percentile-table raw score", raw) for raw, _ in cell.points)]
        off = [(what, v) for what, v in values if v is not None
               and not lo - tol <= v <= hi + tol]
        if off:
            what, v = off[0]
            out.append(f"{where}: {what} {v:g} lies outside the scale's possible range "
                       f"{lo:g}-{hi:g} ({have.method} score): the norms are on another metric "
                       "(sum versus mean, other item coding?)")
        # a sample SD (n - 1 denominator) may exceed the population bound by sqrt(n / (n-1))
        largest = (hi - lo) / 2 * (math.sqrt(cell.n / (cell.n - 1))
                                   if cell.n is not None and cell.n > 1 else 1.0)
        if cell.sd is not None and cell.sd > largest + tol:
            out.append(f"{where}: sd {cell.sd:g} exceeds {largest:g}, the largest SD a "
                       f"score bounded by {lo:g}-{hi:g} can have: the norms are on another "
                       "metric")
    return out


def norm_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the norm-table YAML format."""
    return definition_json_schema(NormTable, "xinli-screen norm table")
