"""HTML / XLSX / JSON of the plausibility and fairness panels (issue 16).

The panels are computed by :mod:`xinli_screen.evaluation.plausibility` and
:mod:`xinli_screen.evaluation.fairness`; this module only shows them: one self-contained HTML
page (autoescaped, the reports' Content-Security-Policy, SVG charts from
:mod:`xinli_screen.report._charts`), an XLSX workbook (:func:`xinli_screen.wave.xlsx.
write_sheets`) or JSON. No pupil id is in any of them: the panels hold counts and rates.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from xinli_screen.report._html import CSP, environment

__all__ = ["render_panel_html", "settings_in_words", "write_panel"]

_PAGE = """<!DOCTYPE html>
<html lang="zh">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="referrer" content="no-referrer">
<title>{{ title }}</title>
<style>
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif;
       font-size: 10pt; color: #222; max-width: 200mm; margin: 0 auto; padding: 10px; }
h1 { font-size: 15pt; } h2 { font-size: 12pt; border-bottom: 2px solid #4a6fa5; }
@page { size: A4; margin: 12mm; }
@media print { body { max-width: none; margin: 0; padding: 0; } }
table { border-collapse: collapse; width: 100%; font-size: 8.5pt; margin: 4px 0 10px;
        table-layout: fixed; }
th, td { border: 1px solid #c4c4c4; padding: 1px 4px; text-align: right;
         overflow-wrap: anywhere; }
th { background: #eef1f6; } td.g { text-align: left; }
tr.flag td { background: #fdecea; } p.meta { color: #555; font-size: 8.5pt; }
li.flag { color: #b71c1c; } img.chart { max-width: 100%; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
{%- if dif_only %}
<p class="meta">数据 data: {{ p.wave }} · n = {{ p.n }} 名（分析 analysed）</p>
{%- else %}
<p class="meta">测评批次 wave {{ p.wave }} · n = {{ p.n }} 名学生（有本次结果）</p>
{%- endif %}
<p class="meta">筛查结果不是诊断；以下提示是请复核规则、划界分或题目的线索，不是对学生的结论。
Screening is not diagnosis; the flags are prompts to review rules, cut-offs or items.</p>
<h2>提示 Flags ({{ p.flags | length }})</h2>
<ul>{% for f in p.flags %}<li class="flag">{{ f.text_zh }}<br>
<span class="meta">{{ f.text_en }}</span></li>{% else %}<li>无 none</li>{% endfor %}</ul>
{%- for c in charts %}<p><img class="chart" alt="{{ c.title }}" src="{{ c.uri }}"></p>{% endfor %}
{%- for s in sections %}
<h2>{{ s.title }}</h2>
{%- if s.note %}<p class="meta">{{ s.note }}</p>{% endif %}
<table><tr>{% for h in s.headers %}<th>{{ h }}</th>{% endfor %}</tr>
{%- for row in s.rows %}<tr{% if row.flag %} class="flag"{% endif %}>
{%- for v in row.cells %}<td{% if loop.index <= s.text_cols %} class="g"{% endif %}>
{{- v }}</td>{% endfor %}</tr>{% endfor %}
</table>
{%- endfor %}
<h2>排除 Exclusions</h2>
<table><tr><th>原因 reason</th><th>人数 n</th></tr>
{%- for k, v in p.exclusions.items() %}<tr><td class="g">{{ k }}</td><td>{{ v }}</td></tr>
{%- else %}<tr><td class="g">无 none</td><td>0</td></tr>{% endfor %}</table>
<h2>设置 Settings</h2>
<ul class="meta">{% for line in settings %}<li>{{ line }}</li>{% endfor %}</ul>
</body>
</html>
"""


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, bool):
        return "是" if v else ""
    if isinstance(v, float):
        return f"{100 * v:.1f}%" if pct else f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def _section(title: str, df: pd.DataFrame, cols: list[tuple[str, str, bool]],
             text_cols: int, note: str = "") -> dict[str, Any]:
    rows = []
    for rec in df.to_dict("records"):
        rows.append({"flag": bool(rec.get("flag")),
                     "cells": [_fmt(rec.get(c), pct) for c, _, pct in cols]})
    return {"title": title, "headers": [h for _, h, _ in cols], "rows": rows,
            "text_cols": text_cols, "note": note}


def _plausibility_parts(p: Any) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    from xinli_screen.report._charts import bar_chart

    rates = p.rates
    sections = [
        _section("阳性率与预期 Positive rates vs expected", rates, [
            ("label", "指标 indicator", False), ("n", "n", False), ("count", "人数 count", False),
            ("rate", "率 rate", True), ("ci_low", "95%CI 下限", True),
            ("ci_high", "95%CI 上限", True), ("expected_low", "预期下限 expected low", True),
            ("expected_high", "预期上限 expected high", True),
            ("expected_source", "预期来源 source", False), ("flag", "提示 flag", False)], 1,
            "Wilson 95% CI; expected = declared range or the previous wave's CI."),
        _section("规则 Rules (reason_codes)", p.rules, [
            ("rule", "规则 rule", False), ("fires", "成立人数 fires", False),
            ("rate", "占全体 of all", True), ("on_list", "名单中 on list", False),
            ("share_of_list", "占名单 of list", True),
            ("only_reason", "唯一原因 only reason", False),
            ("only_reason_share", "唯一原因占名单", True), ("flag", "提示 flag", False)], 1),
        _section("各校作答效度 Validity by school", p.validity, [
            ("school", "学校 school", False), ("n", "n", False),
            ("too_fast", "作答过快 too fast", False), ("too_fast_rate", "率", True),
            ("invalid", "无效答卷 invalid", False), ("invalid_rate", "率", True),
            ("flag", "提示 flag", False)], 1,
            "invalid = protocol_valid false (lie/validity scale or another check)."),
        _section("漏答 Missingness by scale", p.missingness, [
            ("scale", "量表 scale", False), ("n", "n", False), ("items", "题数 items", False),
            ("incomplete", "有漏答 incomplete", False), ("rate", "率", True),
            ("flag", "提示 flag", False)], 1,
            "The archive keeps items answered per scale, not the answers."),
    ]
    tiers = rates[rates["indicator"].str.startswith("warning_tier>=")]
    charts = []
    if len(tiers):
        uri = bar_chart([str(x) for x in tiers["label"]], {
            "本次 this wave": [None if pd.isna(v) else 100 * v for v in tiers["rate"]],
            "预期上限 expected high": [None if pd.isna(v) else 100 * v
                                       for v in tiers["expected_high"]]},
            ylabel="%", title="预警级别比例 tier rates")
        charts.append({"title": "tier rates", "uri": uri})
    return sections, charts


def _fairness_parts(p: Any) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    from xinli_screen.report._charts import bar_chart

    sections = [] if getattr(p, "kind", "fairness") == "dif" else [
        _section("各组预警比例与率比 Tier rates and rate ratios", p.rates, [
        ("attribute", "属性 attribute", False), ("group", "组 group", False),
        ("tier", "级别及以上 tier+", False), ("n", "n", False), ("count", "人数", False),
        ("rate", "率 rate", True), ("ci_low", "95%CI 下限", True),
        ("ci_high", "95%CI 上限", True), ("rr", "率比 RR vs others", False),
        ("rr_low", "RR 下限", False), ("rr_high", "RR 上限", False),
        ("flag", "提示 flag", False)], 3,
        "— = suppressed (small cell, as in the group report). RR: Katz 95% CI.")]
    for d in p.dif:
        df = pd.DataFrame(d["items"])
        if "note" not in df:
            df["note"] = ""
        group_n = d["settings"].get("group_n") or {}
        dropped = d["settings"].get("groups_dropped") or {}
        sizes = "; ".join(f"{k}: n = {v}" for k, v in group_n.items())
        gone = "; ".join(f"{k}: n = {v}" for k, v in dropped.items())
        sections.append(_section(
            f"项目功能差异 DIF: {d['scale']} by {d['attribute']} (n = {d['n']})", df, [
                ("item", "题目 item", False), ("ncat", "类别", False),
                ("chi12", "χ² 1v2", False), ("chi13", "χ² 1v3", False),
                ("chi23", "χ² 2v3", False), ("p13", "p 1v3", False),
                ("r2_mcfadden_13", "ΔR² McFadden 1v3", False), ("beta12", "β12", False),
                ("flagged", "标记 flagged", False), ("note", "说明 note", False)], 1,
            f"各组人数 groups: {sizes}."
            + (f" 人数不足 {d['settings'].get('min_group')} 的组未分析 groups left out "
               f"(under {d['settings'].get('min_group')} pupils): {gone}." if gone else "")
            + f" 判据 criterion {d['settings'].get('criterion')}; 匹配 matching "
              f"{d['settings'].get('matching')}; 排除 excluded: "
            + ("; ".join(f"{k} {v}" for k, v in d["excluded"].items()) or "none")
            + ". — = 不可估计 not estimable (see note)."))
    charts = []
    if getattr(p, "kind", "fairness") == "dif":
        return sections, charts
    cls = p.rates[(p.rates["tier"] == "class")]
    if len(cls):
        labels = [f"{a}={g}" for a, g in zip(cls["attribute"], cls["group"], strict=True)]
        uri = bar_chart(labels, {"班级关注及以上 class+": [
            None if pd.isna(v) else 100 * v for v in cls["rate"]]}, ylabel="%",
            title="各组比例 rates by group")
        charts.append({"title": "rates by group", "uri": uri})
    return sections, charts


def render_panel_html(panel: Any) -> str:
    """One self-contained HTML page of a plausibility or fairness panel.

    Parameters
    ----------
    panel : PlausibilityPanel or FairnessPanel

    Returns
    -------
    str
    """
    fair = hasattr(panel, "dif")
    dif_only = getattr(panel, "kind", "") == "dif"
    sections, charts = _fairness_parts(panel) if fair else _plausibility_parts(panel)
    title = ("项目功能差异 DIF（有序 logistic 回归）" if dif_only else
             "公平性面板 Fairness panel" if fair else "合理性面板 Plausibility panel")
    tpl = environment().from_string(_PAGE)
    return tpl.render(p=panel, title=title, csp=CSP, sections=sections, charts=charts,
                      dif_only=dif_only, settings=settings_in_words(panel.settings))


_SETTING_WORDS = {
    "criterion": "DIF 判据 criterion", "alpha": "显著性水平 alpha",
    "r2_change": "R² 变化阈值 R² change threshold", "pseudo_r2": "伪 R² pseudo R²",
    "beta_change": "β 变化阈值 beta change threshold",
    "min_cell": "小格阈值 minimum cell (counts below are hidden / categories merged)",
    "min_group": "最小组人数 minimum group size", "matching": "匹配变量 matching score",
    "stable": "纯化稳定 purification stable", "groups": "组 groups",
    "group_n": "各组人数 group sizes", "groups_dropped": "未分析的组 groups left out",
    "ratio": "率比提示阈值 rate-ratio flag threshold", "tier_column": "级别列 tier column",
    "attributes": "分组属性 attributes", "tier_basis": "比较基础 tier compared",
}


def settings_in_words(settings: dict[str, Any]) -> list[str]:
    """A panel's settings as readable lines (label: value), not raw JSON.

    Parameters
    ----------
    settings : dict

    Returns
    -------
    list of str
    """
    lines = []
    for key, value in settings.items():
        if isinstance(value, dict):
            text = "; ".join(f"{k}: {v}" for k, v in value.items()) or "none"
        elif isinstance(value, (list, tuple)):
            text = ", ".join(str(v) for v in value) or "none"
        elif isinstance(value, bool):
            text = "是 yes" if value else "否 no"
        else:
            text = str(value)
        lines.append(f"{_SETTING_WORDS.get(key, key.replace('_', ' '))}: {text}")
    return lines


def write_panel(panel: Any, path: str | Path) -> Path:
    """Write a panel as ``.html``, ``.xlsx`` or ``.json`` (by the extension).

    Raises
    ------
    ValueError
        Another extension.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".json":
        path.write_text(json.dumps(panel.to_json(), ensure_ascii=False, indent=1,
                                   default=str), encoding="utf-8")
    elif ext in (".html", ".htm"):
        path.write_text(render_panel_html(panel), encoding="utf-8")
    elif ext == ".xlsx":
        from xinli_screen.wave.xlsx import Sheet, write_sheets

        info = pd.DataFrame({"item": ["wave", "n", *panel.exclusions.keys(), "note"],
                             "value": [panel.wave, panel.n, *panel.exclusions.values(),
                                       "Screening is not diagnosis; flags are prompts."]})
        flags = pd.DataFrame(panel.flags, columns=["code", "what", "text_zh", "text_en"])
        sheets = [Sheet("说明 about", info), Sheet("提示 flags", flags)]
        if hasattr(panel, "dif"):
            if getattr(panel, "kind", "") != "dif":
                sheets.append(Sheet("率与率比 rates", panel.rates))
            for k, d in enumerate(panel.dif):
                sheets.append(Sheet(f"DIF {k + 1}", pd.DataFrame(d["items"]),
                                    title=f"{d['scale']} by {d['attribute']}, n = {d['n']}"))
        else:
            sheets += [Sheet("阳性率 rates", panel.rates), Sheet("规则 rules", panel.rules),
                       Sheet("效度 validity", panel.validity),
                       Sheet("漏答 missing", panel.missingness)]
        write_sheets(path, sheets)
    else:
        raise ValueError(f"unknown output format {ext!r}; use .html, .xlsx or .json")
    return path
