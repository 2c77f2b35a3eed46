"""Files a psychologist hands out: warning lists per school, the district summary, the
reconciliation file. XLSX written with XlsxWriter (formats, filters, frozen header, widths,
print set-up), plus CSV and JSON for other systems.

Text cells are always written as text (never as a formula), with XML-illegal control
characters replaced by U+FFFD. Files are created readable by the owner only (0600): they
hold pupils' ids and, when names are kept, names.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen.policy.models import TIER_ORDER
from xinli_screen.wave.labels import sort_frame
from xinli_screen.wave.warning_list import LIST_COLUMNS, UNMATCHED_SCHOOL

__all__ = ["Sheet", "safe_file_name", "write_reconciliation", "write_sheets",
           "write_warning_lists"]

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_FILL = {"district": "#F8CBAD", "school": "#FCE4D6", "class": "#FFF2CC"}
_SAFE_NAME = re.compile(r"[\\/:*?\"<>|\x00-\x1f]")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _ILLEGAL.sub("\ufffd", value)
    return value


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


class Sheet:
    """One worksheet to write: a frame, its headers, a title line and options.

    Parameters
    ----------
    name : str
        Sheet name (cut to 31 characters).
    frame : DataFrame
    headers : mapping column -> header text, optional
        Columns not named keep their own name.
    title : str, optional
        A first line above the header (e.g. the wave and school); marks a what-if run too.
    row_tiers : sequence of str, optional
        Tier id of each row; rows are shaded by tier.
    choices : mapping column -> sequence of str, optional
        Columns filled in by hand: a drop-down list of the allowed values (Excel data
        validation; a value outside the list is refused by Excel, and again on import).
    dates : sequence of str, optional
        Columns of dates: shown as ``yyyy-mm-dd``, and Excel accepts only dates there.
    spare_rows : int
        Empty rows below the data that keep the drop-down lists (for rows added by hand).
    text : sequence of str, optional
        Columns formatted as text (Excel keeps a typed 04260229 as text, leading zero and
        all).
    open_choices : sequence of str, optional
        Columns of ``choices`` where Excel only warns about a value outside the list (the
        import checks it anyway), e.g. combinations of measures.
    widths : mapping column -> width, optional
        Minimum column widths (characters) for the columns a person fills in.
    """

    def __init__(self, name: str, frame: pd.DataFrame, headers: Mapping[str, str] | None = None,
                 title: str | None = None, row_tiers: Sequence[str] | None = None, *,
                 choices: Mapping[str, Sequence[str]] | None = None,
                 dates: Sequence[str] = (), spare_rows: int = 0, text: Sequence[str] = (),
                 open_choices: Sequence[str] = (),
                 widths: Mapping[str, float] | None = None) -> None:
        self.name = _SAFE_NAME.sub("-", name)[:31] or "sheet"
        self.frame = frame
        self.headers = dict(headers or {})
        self.title = title
        self.row_tiers = None if row_tiers is None else list(row_tiers)
        self.choices = {k: list(v) for k, v in (choices or {}).items()}
        self.dates = list(dates)
        self.spare_rows = spare_rows
        self.text = list(text)
        self.open_choices = set(open_choices)
        self.widths = dict(widths or {})


def write_sheets(path: str | Path, sheets: Sequence[Sheet], *, landscape: bool = True) -> Path:
    """Write sheets into one XLSX file (0600), with frozen header, filters, widths and print
    set-up (A4, fit to page width, header row repeated on every page).

    Returns
    -------
    Path
    """
    import xlsxwriter

    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False,
                                          "strings_to_urls": False,
                                          "nan_inf_to_errors": False})
    head = book.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1,
                            "text_wrap": True, "valign": "top"})
    title_fmt = book.add_format({"bold": True, "font_size": 13})
    # a text column's cells carry the text number format themselves ("@"): a cell's own format
    # overrides its column's, so Excel keeps a re-typed 04260229 as text in written rows too
    fills = {(t, as_text): book.add_format({"bg_color": c, "valign": "top", "text_wrap": True,
                                            **({"num_format": "@"} if as_text else {})})
             for t, c in _FILL.items() for as_text in (False, True)}
    plains = {as_text: book.add_format({"valign": "top", "text_wrap": True,
                                        **({"num_format": "@"} if as_text else {})})
              for as_text in (False, True)}
    date_fmt = book.add_format({"num_format": "yyyy-mm-dd", "valign": "top"})
    text_fmt = book.add_format({"num_format": "@", "valign": "top"})
    for sheet in sheets:
        ws = book.add_worksheet(sheet.name)
        frame = sheet.frame
        top = 0
        if sheet.title:
            ws.write_string(0, 0, _clean(sheet.title), title_fmt)
            top = 1
        cols = list(frame.columns)
        for j, col in enumerate(cols):
            ws.write_string(top, j, _clean(str(sheet.headers.get(col, col))), head)
        tiers = sheet.row_tiers
        widths = [max(4, min(40, len(str(sheet.headers.get(c, c))) * 2)) for c in cols]
        is_text = [c in sheet.text for c in cols]
        for i, row in enumerate(frame.itertuples(index=False, name=None)):
            for j, value in enumerate(row):
                r = top + 1 + i
                fmt = fills.get((tiers[i], is_text[j]), plains[is_text[j]]) if tiers \
                    else plains[is_text[j]]
                if _missing(value):
                    ws.write_blank(r, j, None, fmt)
                elif isinstance(value, (dt.date, pd.Timestamp)):
                    ws.write_datetime(r, j, pd.Timestamp(value).to_pydatetime(), date_fmt)
                elif isinstance(value, bool):
                    ws.write_boolean(r, j, value, fmt)
                elif isinstance(value, (int, float, np.integer, np.floating)):
                    ws.write_number(r, j, float(value), fmt)
                    widths[j] = max(widths[j], 6)
                else:
                    text = _clean(str(value))
                    ws.write_string(r, j, text, fmt)
                    widths[j] = max(widths[j], min(60, len(text) * 2 if text.isascii()
                                                   else len(text) * 2 + 2))
        for r in range(top + 1 + len(frame), top + 1 + len(frame) + sheet.spare_rows):
            for j in (j for j, flag in enumerate(is_text) if flag):
                ws.write_blank(r, j, None, plains[True])   # spare rows: text cells, too
        for j, w in enumerate(widths):
            least = sheet.widths.get(cols[j], 0)
            ws.set_column(j, j, max(min(w, 60) / 1.6 + 2, least),
                          text_fmt if cols[j] in sheet.text else None)
        ws.freeze_panes(top + 1, 0)
        _validations(ws, sheet, top, date_fmt)
        if len(cols):
            ws.autofilter(top, 0, top + len(frame), len(cols) - 1)
        ws.set_paper(9)
        if landscape:
            ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(top)
        ws.set_footer("&C第 &P 页 / 共 &N 页")
    book.close()
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def _validations(ws: Any, sheet: Sheet, top: int, date_fmt: Any) -> None:
    """Drop-down lists and date checks on the columns a person fills in."""
    cols = list(sheet.frame.columns)
    last = top + len(sheet.frame) + sheet.spare_rows
    for col, values in sheet.choices.items():
        if col not in cols:
            continue
        j = cols.index(col)
        ws.data_validation(top + 1, j, last, j, {
            "validate": "list", "source": [_clean(str(v)) for v in values],
            "error_type": "warning" if col in sheet.open_choices else "stop",
            "error_title": "不在可选范围", "error_message": "请从下拉列表中选择。",
            "input_title": str(sheet.headers.get(col, col))[:32],
            "input_message": ("可选：" + " / ".join(str(v) for v in values))[:255]})
    for col in sheet.dates:
        if col not in cols:
            continue
        j = cols.index(col)
        ws.set_column(j, j, 12, date_fmt)
        ws.data_validation(top + 1, j, last, j, {
            "validate": "date", "criteria": "between",
            "minimum": dt.datetime(2000, 1, 1), "maximum": dt.datetime(2100, 12, 31),
            "error_title": "日期", "error_message": "请填写日期，例如 2026-09-20。",
            "input_title": "日期", "input_message": "例如 2026-09-20"})


def safe_file_name(text: str) -> str:
    """``text`` made safe as a file name on Windows and Linux (``\\ / : * ? " < > |`` and
    control characters become ``_``)."""
    return _SAFE_NAME.sub("_", text).strip() or "unnamed"


def _tier_counts(table: pd.DataFrame, by: list[str], labels: Mapping[str, str]) -> pd.DataFrame:
    shown = [labels.get(t, t) for t in reversed(TIER_ORDER[1:])]
    frame = table.assign(_tier=table["tier"].map(lambda t: labels.get(t, t)))
    counts = (frame.groupby([*by, "_tier"], dropna=False).size().unstack("_tier", fill_value=0)
              .reindex(columns=shown, fill_value=0))
    counts.columns = list(shown)
    counts = sort_frame(counts.reset_index(), by)
    counts["合计"] = counts[shown].sum(axis=1)
    return counts


def write_warning_lists(table: pd.DataFrame, scale_columns: Mapping[str, str],
                        folder: str | Path, *, wave: str, labels: Mapping[str, str],
                        title: str | None = None, what_if: str | None = None,
                        formats: Sequence[str] = ("xlsx", "csv", "json")) -> list[Path]:
    """Write the warning list: one XLSX per school, a district summary, CSV and JSON.

    Parameters
    ----------
    table, scale_columns
        From :func:`~xinli_screen.wave.warning_list.warning_list`.
    folder : str or Path
        Created when absent.
    wave : str
    labels : mapping tier -> label (the wave's policy)
    title : str, optional
        Wave title shown on every sheet.
    what_if : str, optional
        When set (the policy of a what-if run), every sheet and file name says so.
    formats : sequence of {"xlsx", "csv", "json"}

    Returns
    -------
    list of Path
        ``预警名单_{school}.xlsx`` per school, ``预警名单_区级汇总.xlsx``,
        ``预警名单_{wave}.csv`` and ``.json``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    prefix = "假设分析_" if what_if else ""
    mark = (f"【假设分析 WHAT-IF：按政策 {what_if} 重新计算，并非本批次正式结果】"
            if what_if else "")
    head = f"{mark}{title or wave} 预警名单（筛查结果，须经复核，不是诊断）"
    headers = {k: v[0] for k, v in LIST_COLUMNS.items()}
    headers.update(scale_columns)
    shown = [c for c in [*LIST_COLUMNS, *scale_columns] if c in table.columns
             and (c != "name" or table["name"].notna().any())]
    written: list[Path] = []
    if "xlsx" in formats:
        for school, sub in table.groupby("school", sort=False):
            path = folder / f"{prefix}预警名单_{safe_file_name(str(school))}.xlsx"
            summary = _tier_counts(sub, ["grade", "class"], labels)
            sheets = [Sheet("预警名单", sub[shown].assign(rank=range(1, len(sub) + 1)),
                            headers, f"{head} · {school}", row_tiers=sub["tier"].tolist()),
                      Sheet("按班级汇总", summary.rename(columns={"grade": "年级",
                                                                "class": "班级"}),
                            title=f"{head} · {school}")]
            written.append(write_sheets(path, sheets))
        district = _tier_counts(table, ["school"], labels).rename(columns={"school": "学校"})
        notes = pd.DataFrame({"说明": [
            "计数为列入预警名单的学生人数（按有效预警级别，含复核与历史规则）。",
            f"{UNMATCHED_SCHOOL}：学号不在名册、且答卷未填学校的学生，单列一行，不计入任何学校。",
            "本表含学生人数，不含姓名与学号，可按规定上报；各校名单含个人信息，仅限本校心理教师使用。",
            "筛查结果不是诊断。"]})
        written.append(write_sheets(folder / f"{prefix}预警名单_区级汇总.xlsx",
                                    [Sheet("区级汇总", district, title=head),
                                     Sheet("说明", notes)]))
    flat = table[[c for c in [*LIST_COLUMNS, "tier", *scale_columns] if c in table.columns]]
    if "csv" in formats:
        path = folder / f"{prefix}预警名单_{safe_file_name(wave)}.csv"
        from xinli_screen.io.writers import csv_safe

        out = csv_safe(flat.rename(columns=headers))
        out.to_csv(path, index=False, encoding="utf-8-sig")
        os.chmod(path, 0o600)
        written.append(path)
    if "json" in formats:
        path = folder / f"{prefix}预警名单_{safe_file_name(wave)}.json"
        doc = {"wave": wave, "title": title, "what_if_policy": what_if,
               "note": "screening results pending review; not a diagnosis",
               "columns": {k: headers.get(k, k) for k in flat.columns},
               "rows": json.loads(flat.to_json(orient="records", force_ascii=False))}
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        os.chmod(path, 0o600)
        written.append(path)
    return written


def write_reconciliation(rec: Any, path: str | Path, *, wave: str) -> Path:
    """Write a :class:`~xinli_screen.wave.reconcile.Reconciliation` as XLSX (0600): 汇总,
    未匹配名册, 缺测名单, 重复提交."""
    summary_zh = {
        "sheets": "答卷数", "pupils": "学生数（去重后）", "roster_pupils": "名册人数",
        "matched_by_id": "按学号匹配", "matched_by_name": "按姓名+学校+班级匹配（请核对）",
        "unmatched": "学号不在名册", "no_id": "未填学号", "absent": "缺测（名册有、无答卷）",
        "duplicate_pupils": "重复提交的学生", "sheets_not_kept": "未采用的答卷",
        "critical_in_sheets_not_kept": "未采用答卷中关键题阳性（已并入采用的答卷）"}
    summary = pd.DataFrame({"项目": [summary_zh.get(k, k) for k in rec.summary],
                            "数量": list(rec.summary.values())})
    common = {"part": "答卷文件（部分）", "file_row": "文件行号（表头=第1行）",
              "source_ref": "问卷星序号", "entered_id": "填写的学号", "pupil_key": "档案学号",
              "school": "学校", "grade": "年级", "class": "班级", "name": "姓名",
              "how": "匹配方式", "critical_items": "关键题", "active": "采用",
              "complete": "完整作答", "retest": "重测", "kept": "采用", "rule": "规则",
              "warning_tier": "本份答卷筛查级别"}
    unmatched = rec.unmatched.drop(columns=["roster_match"], errors="ignore")
    sheets = [Sheet("汇总", summary, title=f"{wave} 名册核对（含个人信息，仅限心理教师使用）"),
              Sheet("未匹配名册", unmatched, common),
              Sheet("缺测名单", rec.absent, common),
              Sheet("重复提交", rec.duplicates, common)]
    return write_sheets(path, sheets)
