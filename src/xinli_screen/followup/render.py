"""The follow-up list (待办) as XLSX, HTML or JSON.

- XLSX (XlsxWriter, 0600): 待办 (open items only, most urgent first), 全部名单 (every listed
  pupil), 按学校, 按心理教师, 全区 (loop-closure figures) and 说明 (the deadlines used).
- HTML: the figures and one table of open items per school, printable on A4, in the same
  escaped, script-free template environment as the other reports.
- JSON: stable English keys for other systems.

All three name pupils by id (and name only when asked), so they stay with the school
psychologists; the figures sheets alone carry no pupil data.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from xinli_screen.followup.todo import FollowUp

__all__ = ["FIGURE_COLUMNS", "TODO_COLUMNS", "deadline_lines", "render_follow_up_html",
           "write_follow_up"]

#: Column key -> Chinese header of the follow-up list, in order.
TODO_COLUMNS: dict[str, str] = {
    "school": "学校", "grade": "年级", "class": "班级", "pupil_id": "学号", "name": "姓名",
    "psychologist": "负责心理教师", "tier_label": "预警级别", "critical_label": "关键题",
    "start": "列入名单日期", "review_due": "复核期限", "review_state_label": "复核状态",
    "reviewed_on": "复核日期", "review_days_overdue": "复核逾期天数",
    "action_due": "首次干预期限", "first_action_label": "首次干预",
    "first_action_on": "干预日期", "action_state_label": "干预状态",
    "action_days_overdue": "干预逾期天数", "open_items": "待办事项",
}
#: Figure key -> Chinese header of the loop-closure figures, in order.
FIGURE_COLUMNS: dict[str, str] = {
    "school": "学校", "psychologist": "心理教师", "listed": "列入名单",
    "tier_district": "区级", "tier_school": "校级", "tier_class": "班级",
    "critical": "关键题阳性", "reviewed": "已复核",
    "reviewed_pct": "复核率%", "median_days_to_review": "复核用时中位数（天）",
    "review_overdue": "复核逾期", "action_overdue": "干预逾期", "overdue_pct": "逾期比例%",
    "high_tier_with_action_pct": "区级+校级已干预%",
    "critical_no_interview": "关键题阳性未面谈", "referred": "已转介", "returned": "已复学",
    "closed": "已结案", "held": "暂维持待复核", "reopened": "重新开启", "todo": "尚有待办",
}
#: Columns of the HTML list (it must fit an A4 page: the XLSX has every column).
_HTML_COLUMNS = ("grade", "class", "pupil_id", "name", "psychologist", "tier_label",
                 "critical_label", "review_due", "review_state_label", "first_action_label",
                 "action_state_label", "open_items")
#: Short columns kept on one line.
_NO_WRAP = ("grade", "class", "pupil_id", "tier_label", "review_due")
_UNITS = {"days": "天", "school_days": "个上学日"}
_TIERS = ("district", "school", "class", "critical_item")


def deadline_lines(fu: FollowUp) -> list[str]:
    """The deadlines in force, one line per tier, in Chinese (empty list: none declared)."""
    if fu.rules is None:
        return []
    lines = []
    for tier in _TIERS:
        spec = fu.rules.for_tier(tier)
        if spec is None:
            continue
        name = "关键题阳性" if tier == "critical_item" else fu.labels.get(tier, tier)

        def when(d: Any) -> str:
            return "当天" if d.within == 0 else f"{d.within}{_UNITS[d.unit]}内"

        action = f"，首次干预{when(spec.action)}" if spec.action is not None else ""
        lines.append(f"{name}：复核{when(spec.review)}{action}")
    if fu.rules.source:
        lines.append(f"依据：{fu.rules.source}")
    return lines


def _figures(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["high_tier"], errors="ignore")


def _headers(frame: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Chinese headers and blank cells for missing values (HTML display)."""
    shown = frame.astype(object)
    shown = shown.where(shown.notna(), "")
    return shown.rename(columns={k: v for k, v in names.items() if k in frame.columns})


def _todo_frame(fu: FollowUp, rows: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in TODO_COLUMNS if c in rows.columns
            and (c != "name" or rows["name"].astype(str).ne("").any())]
    return rows[cols]


def render_follow_up_html(fu: FollowUp) -> str:
    """One self-contained HTML page: deadlines, figures, and open items per school."""
    from xinli_screen.report._html import environment

    todo = fu.todo
    shown = [c for c in _todo_frame(fu, todo).columns if c in _HTML_COLUMNS]
    schools = [(school, _headers(sub[shown], TODO_COLUMNS))
               for school, sub in todo.groupby("school", sort=False)]
    return environment().get_template("followup.html.j2").render(
        fu=fu, deadlines=deadline_lines(fu), schools=schools,
        short={TODO_COLUMNS[c] for c in _NO_WRAP},
        district=_headers(_figures(fu.district), FIGURE_COLUMNS),
        by_school=_headers(_figures(fu.by_school), FIGURE_COLUMNS),
        by_psychologist=_headers(_figures(fu.by_psychologist), FIGURE_COLUMNS))


def _json_value(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return None
    return value.item() if hasattr(value, "item") else value


def write_follow_up(fu: FollowUp, path: str | Path) -> Path:
    """Write the follow-up list as ``.xlsx``, ``.html`` or ``.json`` (file mode 0600).

    Raises
    ------
    ValueError
        Another extension.
    """
    from xinli_screen.wave.xlsx import Sheet, write_sheets

    path = Path(path)
    suffix = path.suffix.lower()
    head = f"{fu.title or fu.wave} 跟进待办（截至 {fu.as_of.isoformat()}；筛查结果不是诊断）"
    if suffix == ".xlsx":
        notes = pd.DataFrame({"说明": [
            *(deadline_lines(fu) or ["本批次的预警规则未规定复核与干预期限。"]),
            "期限从学生所在答卷文件首次导入之日起算；逾期天数按截至日期计算。",
            "“待办”表只列尚有未完成事项的学生；“全部名单”含本批次列入预警名单的全部学生。",
            "本文件含学生个人信息，仅限心理教师使用；“全区”“按学校”“按心理教师”三表只有人数。"]})
        tiers = fu.todo["tier"].tolist()
        sheets = [Sheet("待办", _todo_frame(fu, fu.todo), TODO_COLUMNS, head, row_tiers=tiers),
                  Sheet("全部名单", _todo_frame(fu, fu.table), TODO_COLUMNS, head,
                        row_tiers=fu.table["tier"].tolist()),
                  Sheet("按学校", _figures(fu.by_school), FIGURE_COLUMNS, head),
                  Sheet("按心理教师", _figures(fu.by_psychologist), FIGURE_COLUMNS, head),
                  Sheet("全区", _figures(fu.district), FIGURE_COLUMNS, head),
                  Sheet("说明", notes)]
        return write_sheets(path, sheets)
    if suffix in (".html", ".htm"):
        text = render_follow_up_html(fu)
    elif suffix == ".json":
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [{str(k): _json_value(v) for k, v in r.items()}
                    for r in frame.astype(object).to_dict(orient="records")]

        keep = [c for c in [*TODO_COLUMNS, "critical_items", "tier", "effective_tier",
                            "review_state",
                            "action_state", "first_action", "held", "reopened",
                            "critical_no_interview", "referred", "returned", "closed",
                            "todo"] if c in fu.table.columns]
        text = json.dumps({
            "wave": fu.wave, "as_of": fu.as_of.isoformat(),
            "note": "follow-up of screening results; not a diagnosis",
            "deadlines": fu.rules.model_dump(mode="json", by_alias=True) if fu.rules else None,
            "pupils": records(fu.table[keep]),
            "by_school": records(fu.by_school), "by_psychologist": records(fu.by_psychologist),
            "district": records(fu.district)}, ensure_ascii=False, indent=1)
    else:
        raise ValueError(f"unsupported follow-up list type {suffix!r}; use .xlsx, .html or "
                         ".json")
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path
