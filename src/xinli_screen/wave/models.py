"""Pydantic v2 models of a wave definition (测评批次): forms, roster, parts, frozen policy.

A wave is what a district runs once a term or a year: one or more *forms* (e.g. 小学版 for
grades 4-6 with MHT + DSRSC + SCARED, 初中版 for grades 7-9 with MHT + PHQ-A + SCARED), each
answered in its own export; one roster; the policy that assigns the warning tiers, frozen
with the wave when it is imported; and the *parts*, i.e. the answer files (per form, per
school, late arrivals, retests). The YAML is data: it is validated, never evaluated.

Example (paths are relative to the YAML file)::

    id: 2026-autumn
    name: {zh: 绿园区2026年秋季心理健康测评}
    dates: {start: 2026-09-14, end: 2026-09-30}
    timezone: Asia/Shanghai
    policy: policy.yaml
    duplicates: first_complete
    roster:
      file: roster.csv
      id_column: 学号
      name_column: 姓名
      attributes: {school: 学校, grade: 年级, class: 班级, sex: 性别}
    forms:
      primary:
        label: 小学版
        instruments: [mht, dsrsc, scared]
        id_column: 学号
        attributes: {school: 学校, grade: 年级, class: 班级}
        time_column: 所用时间
        columns: {blocks: {mht: {first_question: 7}, dsrsc: {first_question: 107}}}
    parts:
      - {name: 小学版, file: exports/w1_小学版.xlsx, form: primary}
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from xinli_screen.instrument.models import LocalText
from xinli_screen.yaml_source import definition_json_schema

__all__ = ["DUPLICATE_RULES", "PART_KINDS", "Form", "Part", "Roster", "WaveDates",
           "WaveDefinition", "wave_json_schema"]

#: How double submissions of one pupil in one wave are resolved.
DUPLICATE_RULES = ("first_complete", "latest")
#: Kinds of part: ordinary answers, or a retest whose rows replace the pupil's earlier sheet.
PART_KINDS = ("answers", "retest")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WaveDates(_Frozen):
    """First and last day of the wave (local dates)."""

    start: dt.date
    end: dt.date | None = None


class Roster(_Frozen):
    """The pupils who should answer: one row per pupil, every cell read as text.

    ``attributes`` maps the standard attribute names used by the reports (``school``,
    ``grade``, ``class``, ``sex``, or any extra name) to roster columns.
    """

    file: str = Field(description="CSV (UTF-8, BOM or GBK, sniffed) or XLSX, relative to "
                                  "the wave file")
    id_column: str = Field(description="Pupil id column (学号)")
    name_column: str | None = Field(None, description="Name column (姓名); stored only with "
                                                      "--keep-names")
    attributes: dict[str, str] = Field(default_factory=dict,
                                       description="attribute -> roster column")


class Form(_Frozen):
    """One questionnaire of the wave, answered in its own export."""

    label: str = Field(description="Display name, e.g. 小学版")
    instruments: tuple[str, ...] = Field(min_length=1, description="Bundled ids or YAML "
                                                                   "paths")
    id_column: str = Field(description="Id column of the export: a header, or the stem of "
                                       "a 问卷星 header such as '1、学号'")
    name_column: str | None = None
    attributes: dict[str, str] = Field(
        default_factory=dict, description="attribute -> the export's own fill-in column "
        "(used only for pupils not found on the roster)")
    time_column: str | None = Field(None, description="Completion time (所用时间)")
    columns: str | dict[str, Any] | None = Field(
        None, description="Column map: a path to a map YAML, or the map inline (columns, "
        "blocks, missing_codes, answer_values)")
    missing_codes: tuple[float, ...] = ()
    careless: bool = False


class Part(_Frozen):
    """One answer file of the wave."""

    name: str | None = Field(None, description="Stable part name (default: the file name "
                                               "without extension); a changed file under "
                                               "the same name supersedes the earlier one")
    file: str
    form: str
    kind: Literal["answers", "retest"] = "answers"

    @property
    def part_name(self) -> str:
        """The part's name: ``name`` or the file stem."""
        if self.name:
            return self.name
        stem = self.file.replace("\\", "/").rsplit("/", 1)[-1]
        return stem.rsplit(".", 1)[0] if "." in stem else stem


class WaveDefinition(_Frozen):
    """A screening wave: forms, roster, policy, duplicate rule, time zone and parts."""

    id: str = Field(min_length=1, max_length=100, description="Wave name in the archive")
    name: LocalText | None = None
    dates: WaveDates | None = None
    timezone: str = Field("Asia/Shanghai", description="IANA zone for displayed times "
                                                       "(times are stored in UTC)")
    policy: str = Field("default", description="Bundled policy id or path; frozen with the "
                                               "wave at import")
    duplicates: Literal["first_complete", "latest"] = "first_complete"
    roster: Roster | None = None
    psychologists: dict[str, str] = Field(
        default_factory=dict, description="school -> the psychologist who follows its "
        "warnings up (the follow-up list per psychologist); a roster attribute "
        "'psychologist' takes precedence")
    forms: dict[str, Form] = Field(min_length=1)
    parts: tuple[Part, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as "
                             "Asia/Shanghai)") from exc
        return value


def wave_json_schema() -> dict[str, Any]:
    """JSON Schema of the wave YAML format (for editors)."""
    return definition_json_schema(WaveDefinition, "xinli-screen wave definition")
