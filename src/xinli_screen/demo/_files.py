"""Text files of the district scenario: the district policy and the wave definitions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from xinli_screen.demo._answers import FORMS
from xinli_screen.instrument.registry import load_instrument, resolve_definition

__all__ = ["FORM_LABELS", "PSYCHOLOGISTS", "first_questions", "policy_text", "wave_text"]

#: The school psychologist who follows each school's warnings up (synthetic names).
PSYCHOLOGISTS: dict[str, str] = {
    "绿园区第一实验小学": "王老师", "绿园区铁北小学": "李老师",
    "绿园区第一中学": "张老师", "绿园区新竹中学": "赵老师",
}

#: Form id -> label (the part names of the exports).
FORM_LABELS = {"primary": "小学版", "junior": "初中版"}

_POLICY_HEAD = """\
# 绿园区 2026 warning policy (synthetic demonstration, written by xinli_screen.demo.district).
# Made from the bundled default (instruments/policies/default.yaml): the same rules, plus
#  - the opt-in practice critical items MHT 85 / 97 and DSRSC 10 switched on, and
#  - two district-tier rules: DSRSC item 10 answered 经常有 (the counterpart of PHQ-A item 9
#    on more than half the days), and MHT total >= 65 with MHT item 85 or 97 answered 是.
"""

_DISTRICT_RULE = """\
  # ---- 绿园区 additions for the primary form (the default has no district rule for it).
  - id: dsrsc_item10_frequent
    tier: district
    when: {item: dsrsc_10, op: ">=", value: 2}
    reason:
      zh: 经常觉得活着没意思（{evidence}）
      en: Often feels life is not worth living ({evidence})
    source: 绿园区 district adaptation (counterpart of phqa_item9_frequent; DSRSC 2 = 经常有)
  - id: mht_total_high_with_critical
    tier: district
    when:
      all:
        - {cutoff: mht.total.screen_positive}
        - any:
            - {item: mht_085, op: "==", value: 1}
            - {item: mht_097, op: "==", value: 1}
    reason:
      zh: MHT 总焦虑倾向 ≥ 65 且第85或97题答“是”（{evidence}）
      en: MHT total anxiety tendency at 65 or above with item 85 or 97 answered yes ({evidence})
    source: 绿园区 district adaptation (parallel to phq9_severe_with_item9 of the default)
"""


def _replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise ValueError(f"default policy: expected {old!r} once, found {text.count(old)}")
    return text.replace(old, new)


def policy_text() -> str:
    """The district policy ``lvyuan_2026`` as YAML text (the default's comments kept)."""
    text = resolve_definition("default", subdir="policies").read_text(encoding="utf-8")
    enabled = []
    for name, items in (("mht", ("mht_085", "mht_097")), ("dsrsc", ("dsrsc_10",))):
        inst = load_instrument(name)
        enabled += [f"{name}.{c.id}" for c in inst.critical_items if c.item in items]
    text = _replace_once(text, "\nid: default\n", "\nid: lvyuan_2026\n")
    text = _replace_once(text, '\nversion: "1.0.0"\n', '\nversion: "2026.1"\n')
    text = _replace_once(text, "  zh: 默认三级预警规则（示例起点）\n",
                         "  zh: 绿园区2026年心理健康筛查三级预警规则（演示）\n")
    text = _replace_once(text, "  en: Default three-tier warning policy (starting point)\n",
                         "  en: Lüyuan district 2026 three-tier warning policy (demonstration)\n")
    text = _replace_once(
        text, "\ncritical_item_tier: school\n",
        "\ncritical_item_tier: school\n# 绿园区: practice critical items used as well "
        "(MHT items 85 and 97, DSRSC item 10).\n"
        f"enable_critical_items: [{', '.join(enabled)}]\n")
    lines = text.rstrip("\n").split("\n")
    head = next(k for k, line in enumerate(lines) if not line.startswith("#"))
    tail = len(lines)
    while lines[tail - 1].startswith("#"):  # a closing comment stays last
        tail -= 1
    return "\n".join([_POLICY_HEAD.rstrip("\n"), *lines[head:tail], _DISTRICT_RULE.rstrip("\n"),
                      *lines[tail:]]) + "\n"


def first_questions(form: str) -> dict[str, int]:
    """Instrument id -> 问卷星 question number of its first item (fill-ins are 1-6)."""
    out, question = {}, 7
    for name in FORMS[form]:
        out[name] = question
        question += len(load_instrument(name).items)
    return out


def _form_block(form: str) -> str:
    blocks = "".join(f"        {name}: {{first_question: {q}}}\n"
                     for name, q in first_questions(form).items())
    return (f"  {form}:\n"
            f"    label: {FORM_LABELS[form]}\n"
            f"    instruments: [{', '.join(FORMS[form])}]\n"
            "    id_column: 学号\n"
            "    name_column: 姓名\n"
            "    attributes: {school: 学校, grade: 年级, class: 班级}\n"
            "    time_column: 所用时间\n"
            "    columns:\n"
            "      blocks:\n" + blocks)


def wave_text(wave_id: str, name: tuple[str, str], dates: tuple[str, str],
              parts: Sequence[tuple[str, Path | str, str, str]], comment: str) -> str:
    """A wave definition (the format of the wave spec); ``parts``: (name, file, form, kind)."""
    lines = [f"# {comment}",
             "# Synthetic data written by xinli_screen.demo.district; paths are relative to "
             "this file.",
             f"id: {wave_id}",
             f"name: {{zh: {name[0]}, en: {name[1]}}}",
             f"dates: {{start: {dates[0]}, end: {dates[1]}}}",
             "timezone: Asia/Shanghai",
             "policy: policy.yaml",
             "duplicates: first_complete",
             "roster:",
             "  file: roster.csv",
             "  id_column: 学号",
             "  name_column: 姓名",
             "  attributes: {school: 学校, grade: 年级, class: 班级, sex: 性别}",
             "# who follows the warnings of each school up (the 待办 list per psychologist)",
             "psychologists:",
             *[f"  {school}: {person}" for school, person in PSYCHOLOGISTS.items()],
             "forms:"]
    text = "\n".join(lines) + "\n" + "".join(_form_block(f) for f in FORMS) + "parts:\n"
    for part, file, form, kind in parts:
        tail = "" if kind == "answers" else f", kind: {kind}"
        text += f"  - {{name: {part}, file: {Path(file).as_posix()}, form: {form}{tail}}}\n"
    return text
