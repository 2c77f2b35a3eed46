"""Pydantic v2 models of a warning policy (evidence -> warning tier).

A policy is data: structured conditions combined with ``all`` / ``any`` / ``at_least``, never an
expression evaluated as code. Tiers are ordered ``none < class < school < district``; their display
labels (班级关注 / 校级预警 / 区级预警), colours and numbering are configuration.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from xinli_screen.instrument.models import Comparison, LocalText
from xinli_screen.yaml_source import definition_json_schema

__all__ = [
    "TIER_ORDER",
    "AllOf",
    "AnyOf",
    "AtLeast",
    "BandCondition",
    "ChangeCondition",
    "ChangeRules",
    "ColumnCondition",
    "Condition",
    "CutoffCondition",
    "Deadline",
    "FollowUpRules",
    "HistoryRules",
    "ItemCondition",
    "PersistenceRule",
    "Policy",
    "ReopenRule",
    "Rule",
    "ScaleCondition",
    "TierDeadlines",
    "TierSpec",
    "Tiers",
    "condition_leaves",
    "policy_json_schema",
]

#: Warning tiers from least to most severe.
TIER_ORDER: tuple[str, ...] = ("none", "class", "school", "district")
TierId = Literal["class", "school", "district"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ScaleCondition(_Frozen):
    """Compare a scale score: ``{scale: phq9.total, op: ">=", value: 10}``.

    ``metric`` compares a standard score instead of the raw/prorated score: ``t`` (T score),
    ``percentile`` (percentile rank 0-100) or ``z``; these need a norm table chosen for the
    instrument (``screen(norms=...)``, ``--norms``), e.g. ``{scale: cesd.total, metric: t,
    op: ">=", value: 70}``.
    """

    scale: str = Field(description="'{instrument}.{scale}'")
    metric: Literal["score", "t", "percentile", "z"] = "score"
    op: Comparison = ">="
    value: float


class BandCondition(_Frozen):
    """A scale's severity band is one of the listed band ids."""

    band: str = Field(description="'{instrument}.{scale}' whose band is tested")
    in_: tuple[str, ...] = Field(alias="in", min_length=1)


class CutoffCondition(_Frozen):
    """A declared cut-off is met: ``{cutoff: phq9.total.screen_positive}``."""

    cutoff: str = Field(description="'{instrument}.{scale}.{cutoff id}'")


class ItemCondition(_Frozen):
    """Compare one item's answer code (as answered, not reverse keyed)."""

    item: str = Field(description="item id, e.g. phq9_09")
    op: Comparison = ">="
    value: float


class ColumnCondition(_Frozen):
    """Compare an extra input column given with the answers: life events, teacher or parent
    reports, special-group flags, e.g. ``{column: 留守, op: "==", value: 1}`` or
    ``{column: 班主任报告, op: "==", value: 是}``.

    Numbers compare numerically; text compares for equality (``==``) after trimming. A blank
    cell is unknown. The column must exist in the input (checked when screening).
    """

    column: str = Field(min_length=1)
    op: Comparison = "=="
    value: float | str


#: Reliable-change statuses a :class:`ChangeCondition` can test (Jacobson & Truax 1991).
CHANGE_STATUSES = ("reliable_deterioration", "reliable_improvement", "no_reliable_change",
                   "clinically_significant_deterioration", "clinically_significant_improvement")


class ChangeCondition(_Frozen):
    """Reliable change since the pupil's previous wave:
    ``{change: phqa.total, is: reliable_deterioration}``.

    Evaluated in the history stage (``policy.history``), which knows the previous wave; a rule
    using it belongs under ``history.rules``. ``clinically_significant_*`` also needs the
    scale's cut-off to be crossed (Jacobson & Truax 1991). Unknown (no previous score, no
    reliability) is never true.
    """

    change: str = Field(description="'{instrument}.{scale}'")
    is_: Literal["reliable_deterioration", "reliable_improvement", "no_reliable_change",
                 "clinically_significant_deterioration",
                 "clinically_significant_improvement"] = Field(alias="is")


class AllOf(_Frozen):
    """True when every condition is true."""

    all: tuple[Condition, ...] = Field(min_length=1)


class AnyOf(_Frozen):
    """True when at least one condition is true."""

    any: tuple[Condition, ...] = Field(min_length=1)


class AtLeast(_Frozen):
    """True when at least ``at_least`` of the conditions in ``of`` are true."""

    at_least: int = Field(ge=1)
    of: tuple[Condition, ...] = Field(min_length=1)


_KEYS = {"scale": "scale", "band": "band", "cutoff": "cutoff", "item": "item",
         "column": "column", "change": "change", "all": "all", "any": "any",
         "at_least": "at_least"}


def _condition_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for key, tag in _KEYS.items():
            if key in value:
                return tag
        return None
    for cls, tag in ((ScaleCondition, "scale"), (BandCondition, "band"),
                     (CutoffCondition, "cutoff"), (ItemCondition, "item"),
                     (ColumnCondition, "column"), (ChangeCondition, "change"),
                     (AllOf, "all"),
                     (AnyOf, "any"), (AtLeast, "at_least")):
        if isinstance(value, cls):
            return tag
    return None


Condition = Annotated[
    Annotated[ScaleCondition, Tag("scale")]
    | Annotated[BandCondition, Tag("band")]
    | Annotated[CutoffCondition, Tag("cutoff")]
    | Annotated[ItemCondition, Tag("item")]
    | Annotated[ColumnCondition, Tag("column")]
    | Annotated[ChangeCondition, Tag("change")]
    | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[AtLeast, Tag("at_least")],
    Discriminator(
        _condition_kind,
        custom_error_type="unknown-condition",
        custom_error_message="a condition needs one of the keys: scale, band, cutoff, item, "
        "column, change, all, any, at_least",
    ),
]

for _model in (AllOf, AnyOf, AtLeast):
    _model.model_rebuild()


class Rule(_Frozen):
    """One rule: when ``when`` holds, the respondent is raised to at least ``tier``.

    ``reason`` is a template in zh/en; ``{evidence}`` is replaced by the observed values and
    thresholds of the conditions that fired (e.g. ``phq9.total = 16 ≥ 15``). No other
    substitution or evaluation is performed.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    tier: TierId
    when: Condition
    reason: LocalText
    source: str | None = None


class TierSpec(_Frozen):
    """Display of one tier: label, colour and the local number (e.g. 一级)."""

    label: LocalText
    colour: str | None = None
    number: str | None = Field(None, description="local numbering, e.g. 一级 (most severe)")


class Tiers(_Frozen):
    """Labels of the four tiers (the order none < class < school < district is fixed)."""

    none: TierSpec
    class_: TierSpec = Field(alias="class")
    school: TierSpec
    district: TierSpec

    def spec(self, tier: str) -> TierSpec:
        """Spec of ``tier`` by id."""
        return self.class_ if tier == "class" else getattr(self, tier)


class PersistenceRule(_Frozen):
    """Escalate a tier that persists: ``{tier: school, waves: 2, to: district}``.

    A pupil at ``tier`` or above in this wave *and* in each of the ``waves - 1`` waves before it
    (their effective tier, i.e. after any review) is raised to at least ``to``.
    """

    tier: TierId = "school"
    waves: int = Field(2, ge=2)
    to: TierId = "district"


class ReopenRule(_Frozen):
    """Re-open a closed pupil file when a critical item fires again.

    A pupil whose file was closed (review outcome ``closed``, e.g. after referral and return to
    school) is re-opened with at least ``tier`` and review status ``pending_review`` when a
    critical item of the current wave fires.
    """

    tier: TierId = "school"


class ChangeRules(_Frozen):
    """Reliable change index between a pupil's consecutive waves (Jacobson & Truax 1991).

    ``RCI = (x2 - x1) / (sqrt(2) * SD * sqrt(1 - r))``; ``|RCI| > z`` is reliable change.
    ``reliability`` and ``sd`` declare r and SD per scale (``{phqa.total: 0.84}``) with their
    ``source``; a scale without a declared value uses the instrument's declared test-retest
    value, else the correlation of the scale between the two waves (pupils in both), and
    the SD of the first wave in which the scale was scored. ``scales``: the scales to
    follow (default: every scale with a cut-off, and those named by change conditions).
    ``higher_is_better``: scales on which a higher score is better (WHO-5, RSES).
    """

    scales: tuple[str, ...] = ()
    reliability: dict[str, float] = Field(default_factory=dict)
    sd: dict[str, float] = Field(default_factory=dict)
    higher_is_better: tuple[str, ...] = ()
    z: float = Field(1.96, gt=0, description="two-sided criterion (1.96: 95%)")
    source: str | None = None


class HistoryRules(_Frozen):
    """How earlier waves change the current tier (``policy.history.apply_history``).

    ``persistence``: a persisting tier escalates. ``lower_only_after_review``: a screen tier
    below the previous wave's effective tier keeps the previous tier, pending a review, until
    a person records one. ``reopen``: a closed file is re-opened by a new critical answer.
    ``change``: the reliable change index since the previous wave (:class:`ChangeRules`).
    ``rules``: rules that need the previous wave (change conditions), raising the tier like
    the policy's own rules. Any part set to null is switched off.
    """

    persistence: PersistenceRule | None = PersistenceRule()
    lower_only_after_review: bool = True
    reopen: ReopenRule | None = ReopenRule()
    change: ChangeRules | None = Field(
        ChangeRules(), description="reliable change since the previous wave (null: off)")
    rules: tuple[Rule, ...] = Field(
        (), description="rules evaluated with the previous wave: may use change conditions "
        "as well as scale, band, cut-off and column conditions on the stored results")


class Deadline(_Frozen):
    """How soon something is due after a pupil is put on the warning list.

    ``within: 0`` means the same day. ``unit: school_days`` counts Monday to Friday, less
    the ``holidays`` of :class:`FollowUpRules`; ``days`` counts calendar days. A deadline
    falls at the end of its day in the wave's time zone.
    """

    within: int = Field(ge=0, le=366)
    unit: Literal["days", "school_days"] = "days"


class TierDeadlines(_Frozen):
    """Deadlines for one tier: the 复核 and, optionally, the first follow-up action."""

    review: Deadline
    action: Deadline | None = None


class FollowUpRules(_Frozen):
    """Follow-up deadlines per warning tier (``xinli_screen.followup``).

    The clock starts on the local date the pupil's answer file was first imported (the day
    the warning list exists). A pupil with a critical answer is due by the earlier of the
    tier's and the ``critical_item`` deadline. The figures are a district's own
    configuration; the bundled defaults follow the example of issue 13 (区级 within 1 day,
    校级 within 3 school days, 班级 within 2 weeks, a critical answer the same day) and the
    school crisis-plan templates collected in shared/research/china_practice.md, section
    1.5 (a red-level risk is acted on within 24 h).
    """

    district: TierDeadlines | None = None
    school: TierDeadlines | None = None
    class_: TierDeadlines | None = Field(None, alias="class")
    critical_item: TierDeadlines | None = None
    holidays: tuple[dt.date, ...] = Field(
        (), description="school holidays on weekdays (local dates), skipped by school_days")
    source: str | None = None

    def for_tier(self, tier: str) -> TierDeadlines | None:
        """Deadlines of ``tier`` (``class``, ``school``, ``district`` or ``critical_item``)."""
        return self.class_ if tier == "class" else getattr(self, tier, None)


class Policy(_Frozen):
    """A warning policy: tier labels, the tier for critical items, and rules.

    ``critical_item_tier`` is the tier every triggered critical item of every screened
    instrument raises a respondent to (at least); it cannot be ``none``, so no policy can
    switch the critical-item rule off.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: str
    name: LocalText
    description: LocalText | None = None
    tiers: Tiers
    critical_item_tier: TierId = "school"
    enable_critical_items: tuple[str, ...] = Field(
        (), description="opt-in critical items ('{instrument}.{critical id}') to use as well; "
        "active critical items cannot be switched off")
    rules: tuple[Rule, ...] = ()
    history: HistoryRules | None = Field(
        None, description="optional rules on earlier waves (persistence, lowering only after "
        "a review, re-opening a closed file); applied by policy.history.apply_history")
    follow_up: FollowUpRules | None = Field(
        None, description="optional deadlines per tier for the 复核 and the first action "
        "(xinli_screen.followup); without it the follow-up list shows no due dates")
    unknown_critical_item: Literal["pending_review", "none"] = Field(
        "pending_review", description="review status of a pupil whose critical item is "
        "unanswered, skipped (问卷星 -2) or not shown (-3): pending_review (default: a person "
        "looks at the sheet) or none (listed in critical_unknown and the reasons only)")
    notes: str | None = None

    @model_validator(mode="after")
    def _change_in_history(self) -> Policy:
        for rule in self.rules:
            if any(isinstance(leaf, ChangeCondition) for leaf in condition_leaves(rule.when)):
                raise ValueError(f"rule {rule.id!r} uses a change condition, which needs the "
                                 "previous wave: put it under history.rules")
        return self


def condition_leaves(cond: Condition) -> list[Condition]:
    """The leaf conditions of ``cond`` (all / any / at_least opened), in order."""
    if isinstance(cond, AllOf):
        kids = cond.all
    elif isinstance(cond, AnyOf):
        kids = cond.any
    elif isinstance(cond, AtLeast):
        kids = cond.of
    else:
        return [cond]
    return [leaf for kid in kids for leaf in condition_leaves(kid)]


def policy_json_schema() -> dict[str, Any]:
    """JSON Schema of the policy YAML format."""
    return definition_json_schema(Policy, "xinli-screen warning policy")
