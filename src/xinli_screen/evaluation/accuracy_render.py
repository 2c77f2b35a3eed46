"""Write an :class:`~xinli_screen.evaluation.accuracy_report.AccuracyReport` as HTML, XLSX or
JSON.

HTML goes through the report environment (:func:`xinli_screen.report._html.environment`:
autoescape and the Content-Security-Policy of every report); charts are SVG data URIs drawn
with the report chart style (CJK fonts); XLSX through :func:`xinli_screen.wave.xlsx.write_sheets`.
No pupil id is in any output: the report holds counts and figures only.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from xinli_screen.evaluation.accuracy import MEASURES
from xinli_screen.evaluation.accuracy_report import AccuracyReport

__all__ = ["accuracy_tables", "roc_chart", "write_accuracy"]

_BY_ZH = {"all": "全区", "attr.grade": "年级", "attr.sex": "性别", "attr.school": "学校"}
_HEADERS = {"rule": "筛查规则 / rule", "by": "分组 / by", "group": "组 / group",
            "measure": "指标 / measure", "n": "人数 n", "n_verified": "已复核 verified",
            "tp": "真阳性 TP", "fp": "假阳性 FP", "fn": "漏检 FN", "tn": "真阴性 TN",
            "naive_text": "仅复核者（未校正）/ naive", "corrected_text":
            "Begg-Greenes 校正 / corrected", "note": "说明 / note"}


def _fmt(est: float, lo: float, hi: float, reason: str, digits: int = 3) -> str:
    if reason:
        return f"不可估计 not estimable: {reason}" if not reason.startswith("hidden") \
            else "已隐藏（小格）hidden (small cell)"
    if est is None or not math.isfinite(est):
        return "—"
    ci = f" ({lo:.{digits}f}–{hi:.{digits}f})" if math.isfinite(lo) and math.isfinite(hi) \
        else ""
    return f"{est:.{digits}f}{ci}"


def accuracy_tables(report: AccuracyReport) -> dict[str, pd.DataFrame]:
    """The report as display tables (Chinese and English headers).

    Parameters
    ----------
    report : AccuracyReport

    Returns
    -------
    dict name -> DataFrame
        ``figures`` (every test, group and measure with formatted naive and corrected figures
        and their 95 % CIs), ``roc``, ``verification``, ``exclusions``, ``about``.
    """
    m = report.measures.copy()
    if not m.empty:
        m["measure"] = m["measure"].map(lambda k: f"{MEASURES[k][0]} {MEASURES[k][1]}")
        m["by"] = m["by"].map(lambda b: _BY_ZH.get(b, b))
        m["naive_text"] = [_fmt(*r) for r in m[["naive", "naive_lower", "naive_upper",
                                                  "naive_reason"]].itertuples(index=False)]
        m["corrected_text"] = [_fmt(*r) for r in m[["corrected", "corrected_lower",
                                                      "corrected_upper",
                                                      "corrected_reason"]].itertuples(
            index=False)]
        m = m[["rule", "by", "group", "measure", "n", "n_verified", "tp", "fp", "fn", "tn",
               "naive_text", "corrected_text"]].rename(columns=_HEADERS)
    roc = report.roc.copy()
    about = pd.DataFrame({"项目 / item": [
        "批次 wave", "参照标准 reference standard", "学生数 pupils", "排除 excluded",
        "分析 analysed", "已复核 verified", "其中名单内 of them on the list",
        "其中名单外 of them not on the list", "已复核但被排除 verified but excluded",
        "置信水平 confidence level",
        "成本比 cost ratio (missed case : false alarm)", "小格阈值 min cell"],
        "内容 / value": [
        report.wave, report.reference, report.counts["pupils"], report.counts["excluded"],
        report.counts["analysed"], report.counts["verified"],
        report.counts["verified_screen_positive"], report.counts["verified_screen_negative"],
        report.counts["verified_excluded"], report.settings.get("level"),
        report.settings.get("cost"), report.settings.get("min_cell")]})
    return {"figures": m, "roc": roc, "verification": report.verification,
            "exclusions": report.exclusions, "about": about,
            "notes": pd.DataFrame({"说明 / notes": report.notes})}


def _compact(measures: pd.DataFrame) -> pd.DataFrame:
    """One row per test and group: counts, then naive and corrected sens/spec/PPV/NPV."""
    if measures.empty:
        return measures
    rows = []
    for (_test, by, group), sub in measures.groupby(["test", "by", "group"], sort=False):
        sub = sub.set_index("measure")
        first = sub.iloc[0]
        row: dict[str, Any] = {
            _HEADERS["rule"]: first["rule"], _HEADERS["by"]: _BY_ZH.get(by, by),
            _HEADERS["group"]: group, _HEADERS["n"]: int(first["n"]),
            _HEADERS["n_verified"]: ("·" if pd.isna(first["n_verified"])
                                     else int(first["n_verified"])),
            "TP/FP/FN/TN": "/".join("·" if pd.isna(first[k]) else str(int(first[k]))
                                    for k in ("tp", "fp", "fn", "tn"))}
        for key in ("sensitivity", "specificity", "ppv", "npv"):
            r = sub.loc[key]
            row[f"{MEASURES[key][0]} 未校正"] = _fmt(r["naive"], r["naive_lower"],
                                                  r["naive_upper"], r["naive_reason"])
            row[f"{MEASURES[key][0]} 校正"] = _fmt(r["corrected"], r["corrected_lower"],
                                                r["corrected_upper"], r["corrected_reason"])
        rows.append(row)
    return pd.DataFrame(rows)


def roc_chart(curves: dict[str, pd.DataFrame], title: str | None = None) -> str:
    """ROC curves (sensitivity against 1 - specificity), one line per scale, as an SVG URI.

    Parameters
    ----------
    curves : mapping label -> DataFrame with ``sensitivity`` and ``specificity``
    title : str, optional

    Returns
    -------
    str
        ``data:image/svg+xml;base64,...``
    """
    from matplotlib.figure import Figure

    from xinli_screen.report import _charts

    with _charts._style():
        fig = Figure(figsize=(5.2, 4.6), layout="constrained")
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1], color="#9e9e9e", linestyle=":", linewidth=1)
        for j, (label, c) in enumerate(curves.items()):
            ax.step(1 - c["specificity"], c["sensitivity"], where="post",
                    linestyle=("-", "--", ":")[j // 10 % 3], label=str(label))
        ax.set_xlabel("1 − 特异度 (1 − specificity)")
        ax.set_ylabel("灵敏度 (sensitivity)")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.grid(alpha=0.3)
        if title:
            ax.set_title(title, fontsize=10)
        if curves:
            _charts._legend(fig, ax.get_legend_handles_labels()[0], ncols=2)
        return _charts._uri(fig)


def _json(report: AccuracyReport) -> dict[str, Any]:
    def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return json.loads(frame.to_json(orient="records", force_ascii=False))

    return {"wave": report.wave, "reference_standard": report.reference,
            "counts": report.counts, "exclusions": records(report.exclusions),
            "verification": records(report.verification),
            "measures": records(report.measures), "roc": records(report.roc),
            "notes": report.notes, "settings": report.settings,
            "disclaimer": "Screening is not diagnosis: figures compare the screen with the "
                          "district's 复核 outcomes."}


def write_accuracy(report: AccuracyReport, path: str | Path) -> Path:
    """Write the report as ``.html``, ``.xlsx`` or ``.json`` (by suffix).

    Parameters
    ----------
    report : AccuracyReport
    path : str or Path

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        Another suffix.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    tables = accuracy_tables(report)
    if suffix == ".json":
        path.write_text(json.dumps(_json(report), ensure_ascii=False, indent=1,
                                   allow_nan=False, default=str),
                        encoding="utf-8")
        return path
    if suffix == ".xlsx":
        from xinli_screen.wave.xlsx import Sheet, write_sheets

        title = f"{report.wave} 筛查准确性（对照复核结果；筛查不是诊断）"
        sheets = [Sheet("说明", tables["about"], title=title),
                  Sheet("准确性", tables["figures"], title=title),
                  Sheet("ROC", tables["roc"], title=title),
                  Sheet("复核覆盖", tables["verification"], title=title),
                  Sheet("排除", tables["exclusions"], title=title),
                  Sheet("注释", tables["notes"], title=title)]
        return write_sheets(path, sheets)
    if suffix in (".html", ".htm"):
        from xinli_screen.report._charts import bar_chart
        from xinli_screen.report._html import environment

        m = report.measures
        district = m[m["by"] == "all"] if not m.empty else m
        chart_tests = [t for t in dict.fromkeys(district["test"])][:12] if not m.empty else []
        bars = {}
        for key in ("sensitivity", "specificity"):
            sub = district[district["measure"] == key].set_index("test")
            for kind, zh in (("naive", "未校正"), ("corrected", "校正")):
                vals = [sub.loc[t, kind] if t in sub.index else None for t in chart_tests]
                bars[f"{MEASURES[key][0]}·{zh}"] = [
                    None if v is None or not math.isfinite(v) else 100 * float(v) for v in vals]
        labels = [district[district["test"] == t]["rule"].iloc[0] for t in chart_tests]
        bar = bar_chart(labels, bars, ylabel="%") if chart_tests else None
        curves = {report.roc.set_index("score").loc[k, "rule"]
                  if k in set(report.roc.get("score", [])) else k: c
                  for k, c in list(report.curves.items())[:10]}
        roc_uri = roc_chart(curves, "ROC（仅已复核学生）") if curves else None
        compact = _compact(m)
        by_col = _HEADERS["by"]
        ver = report.verification.copy()
        ver["share_verified"] = (100 * ver["share_verified"]).round(1)
        ver = ver.rename(columns={"tier_before_review": "复核前级别 tier before review",
                                  "critical": "关键题 critical", "n": "人数 n",
                                  "verified": "已复核 verified", "confirmed": "确认 confirmed",
                                  "share_verified": "复核比例 % verified"})
        html = environment().get_template("accuracy.html.j2").render(
            report=report, about=tables["about"],
            figures=compact[compact[by_col] == _BY_ZH["all"]] if not m.empty else compact,
            groups=compact[compact[by_col] != _BY_ZH["all"]] if not m.empty else compact,
            roc=_roc_display(report.roc), verification=ver,
            exclusions=report.exclusions, bar=bar, roc_uri=roc_uri)
        path.write_text(html, encoding="utf-8")
        return path
    raise ValueError(f"{path}: the accuracy report must be .html, .xlsx or .json")


def _roc_display(roc: pd.DataFrame) -> pd.DataFrame:
    """ROC table for the HTML page (formatted)."""
    if roc.empty:
        return roc
    rows = []
    for r in roc.to_dict(orient="records"):
        ge = "≤" if r.get("direction") == ">" else "≥"
        if r.get("reason"):
            rows.append({"量表 scale": r["score"], "病例/非病例 cases/non-cases":
                         f"{r['n_cases']}/{r['n_controls']}", "AUC (95% CI, DeLong)":
                         f"不可估计: {r['reason']}", "Youden 最佳切分 (bootstrap 95% CI)": "",
                         "成本加权切分 cost-weighted": ""})
            continue
        rows.append({
            "量表 scale": r["score"],
            "病例/非病例 cases/non-cases": f"{r['n_cases']}/{r['n_controls']}",
            "AUC (95% CI, DeLong)": _fmt(r["auc"], r["auc_lower"], r["auc_upper"], ""),
            "AUC 校正 corrected (IPW, bootstrap CI)": _fmt(
                r["auc_corrected"], r["auc_corrected_lower"], r["auc_corrected_upper"],
                r["auc_corrected_reason"] if isinstance(r.get("auc_corrected_reason"), str)
                else ""),
            "Youden 最佳切分 (bootstrap 95% CI)":
                f"{ge} {r['youden']:g} ({r['youden_lower']:g}–{r['youden_upper']:g}); "
                f"Se {r['youden_sensitivity']:.2f}, Sp {r['youden_specificity']:.2f}",
            "成本加权切分 cost-weighted":
                f"{ge} {r['cost_cutoff']:g} ({r['cost_lower']:g}–{r['cost_upper']:g}); "
                f"cost {r['cost']:g}, prevalence {r['prevalence']:.3f}"})
    return pd.DataFrame(rows)
