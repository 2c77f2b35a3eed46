"""The group report as a person reads it: Chinese labels, A4 HTML, charts.

:func:`view` turns a :class:`~xinli_screen.report.group.GroupReport` into what the template
``group.html.j2`` shows (headers in Chinese with English under them, or English; subtotal rows
marked; hidden cells as ``*``); :func:`render_html` adds the SVG charts and renders the page.
The same labels serve the XLSX writer (:func:`column_label`, :func:`row_labels`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from xinli_screen.policy.models import TIER_ORDER
from xinli_screen.report.group_counts import HIDDEN, UNMATCHED

if TYPE_CHECKING:
    from xinli_screen.report.group_model import GroupReport

__all__ = ["BY_LABELS", "TEXT", "charts", "column_label", "notes", "render_html",
           "row_labels", "unsafe_notice", "view"]

#: Display names of the usual grouping columns.
BY_LABELS = {"zh": {"school": "学校", "grade": "年级", "class": "班级", "sex": "性别",
                    "district": "区县"},
             "en": {"school": "School", "grade": "Grade", "class": "Class", "sex": "Sex",
                    "district": "District"}}
#: Interface text of the report (zh, en).
TEXT: dict[str, dict[str, str]] = {
    "zh": {"title": "群体报告 / Group report", "n": "人数", "count": "人数", "rate": "%",
           "low": "95%CI下限", "high": "95%CI上限", "subtotal": "小计", "total": "全区合计",
           "grade_total": "全区", "grade_total_tail": "合计", "unmatched": "（未匹配名册）",
           "wave": "测评批次", "summary": "概览：各校", "by_grade": "全区各年级",
           "detail": "明细：各校、年级、班级（含小计）", "scales": "各量表筛查阳性",
           "comparison": "批次比较（各校）", "change": "变化", "notes": "说明",
           "not_given": "—", "scale": "量表", "chart_schools": "各校预警比例（%）",
           "chart_grades": "全区各年级预警比例（%）", "rate_axis": "比例（%）",
           "not_diagnosis": "筛查结果不是诊断：预警表示需要复核与关注，不表示患有任何疾病。",
           "lang": "zh-CN"},
    "en": {"title": "群体报告 / Group report", "n": "Pupils", "count": "n", "rate": "%",
           "low": "95% CI low", "high": "95% CI high", "subtotal": "Subtotal",
           "total": "District total", "grade_total": "District", "grade_total_tail": "total",
           "unmatched": "(not on roster)", "wave": "Wave", "summary": "Summary by school",
           "by_grade": "District by grade", "detail": "Detail: school, grade, class "
           "(with subtotals)", "scales": "Screen-positive by scale",
           "comparison": "Comparison between waves (by school)", "change": "change",
           "notes": "Notes", "not_given": "—", "scale": "Scale",
           "chart_schools": "Warning rates by school (%)",
           "chart_grades": "Warning rates by grade, district (%)", "rate_axis": "rate (%)",
           "not_diagnosis": "Screening results are not a diagnosis: a warning means a review "
           "is due, not that a pupil has any disorder.", "lang": "en"},
}
_WARN = TIER_ORDER[1:]  # the tiers shown in the HTML (无预警 is the rest)
_CHUNK = 5  # groups per transposed scale table (A4 width)


def column_label(report: GroupReport, key: str, lang: str, *, tier: bool = False) -> str:
    """Display name of a grouping column, ``n``, a tier (``tier=True``: ``class`` is both a
    grouping column and a tier id) or a cut-off column id, in ``lang``."""
    if tier:
        return report.tier_label(key, lang)
    if key in report.by:
        return BY_LABELS[lang].get(key, key)
    if key == "n":
        return TEXT[lang]["n"]
    if key in TIER_ORDER:
        return report.tier_label(key, lang)
    return report.indicators.get(key, {}).get(lang, key)


def row_labels(report: GroupReport, row: pd.Series, lang: str) -> list[str]:
    """The grouping cells of a published row as shown: subtotal and total rows named."""
    text = TEXT[lang]
    by = report.by
    level, depth = row["level"], int(row["depth"])
    values = [str(row[c]) for c in by]
    if level == "total":
        return [text["total"], *[""] * (len(by) - 1)]
    if level == "unmatched":
        return [text["unmatched"] if values[0] == UNMATCHED else values[0],
                *[""] * (len(by) - 1)]
    if level == "grade_total":
        gpos = by.index("grade")
        out = [""] * len(by)
        out[0] = text["grade_total"]
        out[gpos] = values[gpos]
        if gpos + 1 < len(by):
            out[gpos + 1] = text["grade_total_tail"]
        return out
    out = values[:depth] + [""] * (len(by) - depth)
    if level == "subtotal":
        out[depth] = text["subtotal"]
    return out


def _num(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if value == HIDDEN:
        return HIDDEN
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _head(report: GroupReport, key: str, lang: str, tier: bool = False) -> dict[str, str]:
    main = column_label(report, key, lang, tier=tier)
    sub = column_label(report, key, "en", tier=tier) if lang == "zh" else ""
    return {"main": main, "sub": sub if sub != main else ""}


def _row_class(level: str, depth: int) -> str:
    if level == "subtotal":
        return "sub1" if depth == 1 else "sub"
    return {"total": "total", "grade_total": "gt", "unmatched": "unm"}.get(level, "")


def _tier_table(report: GroupReport, table: pd.DataFrame, lang: str, blank_repeats: bool,
                show: Sequence[int] | None = None) -> dict[str, Any]:
    """Rows with the grouping cells (positions ``show``; all by default), n, and per warning
    tier count and rate."""
    show = list(range(len(report.by))) if show is None else list(show)
    head = [_head(report, report.by[i], lang) for i in show] + [_head(report, "n", lang)]
    tiers = [_head(report, t, lang, True) for t in _WARN]
    rows = []
    last: list[str] = [""] * len(report.by)
    for _, row in table.iterrows():
        labels = row_labels(report, row, lang)
        shown = list(labels)
        if blank_repeats and row["level"] == "group":
            for i in range(len(labels) - 1):
                if labels[: i + 1] == last[: i + 1]:
                    shown[i] = ""
        last = labels if row["level"] in ("group", "subtotal") else [""] * len(labels)
        cells = [_num(row["n"])]
        for t in _WARN:
            cells += [_num(row[f"count:{t}"]), _num(row[f"rate:{t}"])]
        if row["level"] in ("total", "unmatched") and show[0] != 0:
            shown[show[0]] = labels[0]
        rows.append({"groups": [shown[i] for i in show], "cells": cells,
                     "cls": _row_class(row["level"], int(row["depth"]))})
    return {"head": head, "tiers": tiers, "rows": rows,
            "sub": [TEXT[lang]["count"], TEXT[lang]["rate"]]}


def _short_label(report: GroupReport, row: pd.Series, lang: str) -> str:
    """A row's name in a chart or a one-column table: the school, the grade, 全区合计."""
    labels = row_labels(report, row, lang)
    if row["level"] == "grade_total":
        return labels[report.by.index("grade")]
    return labels[0] if row["level"] != "group" else " ".join(x for x in labels if x)


def _top_rows(report: GroupReport, table: pd.DataFrame) -> pd.DataFrame:
    top = 1 if len(report.by) > 1 else len(report.by)
    keep = ((table["depth"] == top) & table["level"].isin(["group", "subtotal"])) | \
        table["level"].isin(["unmatched", "total"])
    return table[keep]


def _scale_tables(report: GroupReport, table: pd.DataFrame, lang: str) -> list[dict[str, Any]]:
    """Rows = cut-offs, columns = first-level groups (chunks of five) + the total."""
    names = [c[6:] for c in table.columns if c.startswith("count:") and c[6:] not in TIER_ORDER]
    if not names:
        return []
    top = _top_rows(report, table)
    groups = [r for _, r in top.iterrows() if r["level"] != "total"]
    total = top[top["level"] == "total"].iloc[0]
    out = []
    for start in range(0, max(len(groups), 1), _CHUNK):
        cols = [*groups[start:start + _CHUNK], total]
        head = [_short_label(report, r, lang) for r in cols]
        rows = []
        for name in names:
            cells = []
            for r in cols:
                den = r.get(f"n:{name}")
                if den == 0:
                    cells.append(TEXT[lang]["not_given"])
                elif r[f"count:{name}"] == HIDDEN:
                    cells.append(HIDDEN)
                else:
                    cells.append(f"{_num(r[f'count:{name}'])}（{_num(r[f'rate:{name}'])}%）"
                                 if lang == "zh" else
                                 f"{_num(r[f'count:{name}'])} ({_num(r[f'rate:{name}'])}%)")
            rows.append({"label": column_label(report, name, lang), "cells": cells})
        out.append({"head": head, "rows": rows})
    return out


def _comparison(report: GroupReport, lang: str) -> dict[str, Any] | None:
    comp = report.comparison
    if len(report.waves) < 2 or not len(comp):
        return None
    text = TEXT[lang]
    head = [_head(report, report.by[0], lang), {"main": text["wave"], "sub": "Wave"
                                               if lang == "zh" else ""},
            _head(report, "n", lang)] + [_head(report, t, lang, True) for t in _WARN]
    order = list(dict.fromkeys(comp[report.by[0]]))
    rows = []
    for group in order:
        sub = comp[comp[report.by[0]] == group]
        for k, (_, r) in enumerate(sub.iterrows()):
            label = {"total": text["total"], "unmatched": text["unmatched"]}.get(
                r["level"], str(group))
            cells = [label if k == 0 else "", str(r["wave"]), _num(r["n"])]
            for t in _WARN:
                rate, change = _num(r[f"rate:{t}"]), r[f"change:{t}"]
                if change is None or (isinstance(change, float) and change != change):
                    cells.append(rate)
                elif change == HIDDEN:
                    cells.append(f"{rate}（{HIDDEN}）")
                else:
                    cells.append(f"{rate}（{float(change):+.1f}）")
            rows.append({"cells": cells, "cls": "total" if r["level"] == "total" else ""})
    return {"head": head, "rows": rows}


def unsafe_notice(report: GroupReport, lang: str = "zh") -> str:
    """The warning every page carries when ``min_cell`` is below 3, else ``""``."""
    if not report.unsafe_min_cell:
        return ""
    m = report.min_cell
    if lang == "zh":
        return (f"【注意：最小显示人数设为 {m}（低于安全下限 3），{m} 人及以上的计数均显示，"
                "可能识别到个别学生；本报告不得外传或公开。】")
    return (f"[Warning: minimum cell size set to {m} (below the safe floor of 3); counts of "
            f"{m} or more are shown and may identify pupils; do not forward or publish.]")


def notes(report: GroupReport, lang: str = "zh") -> list[str]:
    """The report's notes in ``lang``: suppression, the unmatched row, rates, weights.

    Parameters
    ----------
    report : GroupReport
    lang : {"zh", "en"}

    Returns
    -------
    list of str
    """
    m = report.min_cell
    if lang == "zh":
        notes = [
            "隐藏在全区各校、各年级、各班同一张总表上统一计算，各种分组方式（按学校、按年级、"
            "按学校和年级、按班级）和多个批次的报告只是这张表的不同部分，相互对照或相减也"
            "不能算出被隐藏的数。",
            f"“{HIDDEN}”表示已隐藏：1–{m - 1} 人的计数和不足 {m} 人的组不显示；并按需要另隐藏"
            "一些格子，使隐藏的数不能由同一行（各预警级别之和等于人数）、同一列或任何小计、"
            "合计反推出来（学校内各班与小计、各校小计与全区合计、各年级合计分别作为一张表检查）。"
            f"图中“{HIDDEN}”和斜线表示隐藏的值，不是 0。",
            "“未匹配名册”一行是未能对应到名册、也未填学校的答卷，单独列出，不参与隐藏。",
            "% 为占该组人数的百分比；量表阳性率的分母是该组有该量表分数的学生"
            "（“—”表示该组未施测此量表）。"
            "95% 置信区间（Wilson）见 XLSX 与 JSON 文件。",
            "批次比较中括号内为与上一批次相比的变化（百分点）。",
            "预警级别名称来自预警规则（policy），量表名称来自量表定义文件。",
            TEXT["zh"]["not_diagnosis"],
        ]
        if report.weight:
            notes.insert(3, f"比例按权重列 {report.weight} 加权（置信区间用 Kish 有效样本量）；"
                         "人数不加权。")
    else:
        notes = [
            "Suppression is computed once per wave on the full school x grade x class table; "
            "every grouping (by school, by grade, by school and grade, by class) and every "
            "multi-wave report shows parts of that one table, so comparing or subtracting "
            "reports does not recover a hidden count.",
            f"“{HIDDEN}” = hidden: counts from 1 to {m - 1} and groups under {m} pupils are not "
            "shown, and further cells are hidden so that none can be recomputed from its row "
            "(the tiers add up to the pupils), its column or any subtotal or total (each "
            "school's classes with its subtotals, the schools with the district total, the "
            f"grades with the district are checked as tables). In charts, “{HIDDEN}” and "
            "hatching mark a hidden value, not zero.",
            "The unmatched row holds sheets that match no roster pupil and name no school; it "
            "is shown in full, outside suppression.",
            "% = percent of the group's pupils; for a scale, of the pupils with a score on it "
            "(“—”: not given in that group). 95% Wilson intervals are in the XLSX and JSON.",
            "In the comparison, the change since the previous wave is in brackets "
            "(percentage points).",
            "Tier names come from the warning policy, scale names from the instrument files.",
            TEXT["en"]["not_diagnosis"],
        ]
        if report.weight:
            notes.insert(3, f"Rates weighted by {report.weight} (Kish effective n for the "
                         "intervals); counts unweighted.")
    if report.unsafe_min_cell:
        notes.insert(0, unsafe_notice(report, lang))
    return notes


def _definitions(report: GroupReport, lang: str) -> list[dict[str, str]]:
    return [{"label": v.get(lang, k), "text": v.get(f"def_{lang}", k)}
            for k, v in report.indicators.items()]


def view(report: GroupReport, lang: str = "zh") -> dict[str, Any]:
    """What the HTML template shows, in ``lang``.

    Parameters
    ----------
    report : GroupReport
    lang : {"zh", "en"}

    Returns
    -------
    dict
        ``text`` (interface strings), ``by`` (column names), ``notes``, ``definitions``,
        ``waves`` (per wave: ``name``, ``summary`` and ``grades`` and ``detail`` tier tables,
        ``scales`` tables), ``comparison`` (or None).
    """
    waves = []
    for name, table in report.waves.items():
        top = _top_rows(report, table)
        grades = table[table["level"].isin(["grade_total", "total"])]
        gpos = report.by.index("grade") if "grade" in report.by else 0
        waves.append({
            "name": name,
            "summary": _tier_table(report, top, lang, False,
                                   [0] if len(report.by) > 1 else None),
            "grades": (_tier_table(report, grades, lang, False, [gpos])
                       if (table["level"] == "grade_total").any() else None),
            "detail": (_tier_table(report, table, lang, True) if len(report.by) > 1
                       else None),
            "scales": _scale_tables(report, table, lang),
        })
    return {"text": TEXT[lang], "lang": lang, "by": [column_label(report, c, lang)
                                                     for c in report.by],
            "notes": notes(report, lang), "definitions": _definitions(report, lang),
            "unsafe": unsafe_notice(report, lang),
            "waves": waves, "comparison": _comparison(report, lang)}


def _series(report: GroupReport, rows: pd.DataFrame, lang: str) -> dict[str, list[Any]]:
    return {report.tier_label(t, lang): [None if v == HIDDEN or v is None else float(v)
                                         for v in rows[f"rate:{t}"]] for t in _WARN}


def charts(report: GroupReport, lang: str = "zh") -> dict[str, list[dict[str, str]]]:
    """SVG charts per wave: warning rates per school (and the district), and per grade.

    Parameters
    ----------
    report : GroupReport
    lang : {"zh", "en"}

    Returns
    -------
    dict wave -> list of {"title", "alt", "uri"}
        ``uri``: ``data:image/svg+xml;base64,...`` (:mod:`xinli_screen.report._charts`).
    """
    from xinli_screen.plotting import TIER_COLOURS
    from xinli_screen.report._charts import HIDDEN_NOTE, bar_chart

    text = TEXT[lang]
    colours = {report.tier_label(t, lang): TIER_COLOURS[t] for t in _WARN}
    out: dict[str, list[dict[str, str]]] = {}
    for name, table in report.waves.items():
        found = []
        for rows, title in ((_top_rows(report, table), text["chart_schools"]),
                            (table[table["level"].isin(["grade_total", "total"])],
                             text["chart_grades"])):
            if title == text["chart_grades"] and not (rows["level"] == "grade_total").any():
                continue
            labels: Sequence[str] = [_short_label(report, r, lang) for _, r in rows.iterrows()]
            uri = bar_chart(labels, _series(report, rows, lang), text["rate_axis"],
                            colours=colours, hidden_note=HIDDEN_NOTE[lang])
            found.append({"title": title, "alt": f"{title} {name}", "uri": uri})
        out[name] = found
    return out


def render_html(report: GroupReport, lang: str = "zh") -> str:
    """The HTML page of :func:`~xinli_screen.report.group.render_group_html`."""
    from xinli_screen.report._html import environment

    env = environment()
    return env.get_template("group.html.j2").render(r=report, v=view(report, lang or "zh"),
                                                    charts=charts(report, lang),
                                                    hidden=HIDDEN, lang=lang)
