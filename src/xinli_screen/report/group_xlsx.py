"""The group report as an XLSX a district education bureau (教育局) can forward.

Written with XlsxWriter: per wave a sheet of warning tiers (counts, rates, 95% intervals) and
a sheet of screen-positive scales, both per school, grade and class with subtotal rows (bold)
and the district total; a comparison sheet when there are several waves; a notes sheet that
explains suppression and the cut-offs. Chinese headers (or English), a title line, frozen
header and group columns, number formats (counts as integers, rates with one decimal),
hidden cells as the text ``*``, A4 landscape fitted to the page width with the header repeated
on every printed page. Text cells are written as text, never as formulas.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xinli_screen.policy.models import TIER_ORDER
from xinli_screen.report.group_counts import HIDDEN
from xinli_screen.report.group_render import (
    TEXT,
    column_label,
    notes,
    row_labels,
    unsafe_notice,
)

if TYPE_CHECKING:
    from xinli_screen.report.group_model import GroupReport

__all__ = ["SHEETS", "write_xlsx"]

#: Sheet name parts (zh, en).
SHEETS = {"zh": {"tiers": "预警级别", "scales": "量表阳性", "comparison": "批次比较",
                 "notes": "说明"},
          "en": {"tiers": "Tiers", "scales": "Screen-positive", "comparison": "Comparison",
                 "notes": "Notes"}}
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
_STYLE = {"sub1": {"bold": True, "bg_color": "#DCE6F1"}, "sub": {"bold": True,
                                                                 "bg_color": "#F2F5FA"},
          "gt": {"bg_color": "#FAF5E8"}, "total": {"bold": True, "bg_color": "#E7E6E6",
                                                   "top": 2},
          "unm": {"italic": True, "font_color": "#595959"}, "": {}}


def _clean(text: Any) -> str:
    return _ILLEGAL.sub("\ufffd", str(text))


def _kind(level: str, depth: int) -> str:
    if level == "subtotal":
        return "sub1" if depth == 1 else "sub"
    return {"total": "total", "grade_total": "gt", "unmatched": "unm"}.get(level, "")


class _Book:
    """An XlsxWriter workbook with the report's cell formats."""

    def __init__(self, path: Path) -> None:
        import xlsxwriter

        self.book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                                    "strings_to_urls": False,
                                                    "nan_inf_to_errors": False})
        self.head = self.book.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1,
                                          "text_wrap": True, "valign": "vcenter",
                                          "align": "center"})
        self.title = self.book.add_format({"bold": True, "font_size": 13})
        self.wrap = self.book.add_format({"text_wrap": True, "valign": "top"})
        self.names: set[str] = set()
        self._formats: dict[tuple[str, str], Any] = {}

    def fmt(self, kind: str, style: str) -> Any:
        """Format of a body cell: ``kind`` of row, ``style`` text / int / rate / hidden."""
        key = (kind, style)
        if key not in self._formats:
            spec: dict[str, Any] = {"border": 1, "border_color": "#BFBFBF", **_STYLE[kind]}
            if style == "int":
                spec["num_format"] = "0"
            elif style == "rate":
                spec["num_format"] = "0.0"
            elif style in ("hidden", "dash"):
                spec["align"] = "right"
            self._formats[key] = self.book.add_format(spec)
        return self._formats[key]

    def sheet(self, name: str) -> Any:
        """A new worksheet named ``name`` (cleaned, cut to 31 characters, made unique)."""
        base = _SHEET_BAD.sub("-", name).strip("'")[:31] or "sheet"
        out, k = base, 2
        while out.lower() in self.names:
            out = f"{base[:28]}~{k}"
            k += 1
        self.names.add(out.lower())
        return self.book.add_worksheet(out)


def _write_value(book: _Book, ws: Any, r: int, c: int, value: Any, kind: str,
                 style: str) -> None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        ws.write_blank(r, c, None, book.fmt(kind, "text"))
    elif value == HIDDEN:
        ws.write_string(r, c, HIDDEN, book.fmt(kind, "hidden"))
    elif style == "dash":
        ws.write_string(r, c, "—", book.fmt(kind, "dash"))
    elif style in ("int", "rate") and isinstance(value, (int, float)):
        ws.write_number(r, c, int(value) if style == "int" else float(value),
                        book.fmt(kind, style))
    else:
        ws.write_string(r, c, _clean(value), book.fmt(kind, "text"))


def _mark(ws: Any, report: GroupReport, lang: str) -> None:
    """Print the unsafe-minimum-cell warning in the header of every page of ``ws``."""
    notice = unsafe_notice(report, lang)
    if notice:
        ws.set_header("&L&B" + notice.replace("&", "&&"))


def _setup(ws: Any, header_row: int, frozen_cols: int, widths: list[float]) -> None:
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    ws.freeze_panes(header_row + 1, frozen_cols)
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0, header_row)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.set_footer("&C第 &P 页 / 共 &N 页")


def _table_sheet(book: _Book, report: GroupReport, wave: str, lang: str, kind: str) -> None:
    """One wave's tiers or scales, per group with subtotals."""
    table = report.waves[wave]
    text = TEXT[lang]
    names = (list(TIER_ORDER) if kind == "tiers" else
             [c[6:] for c in table.columns if c.startswith("count:")
              and c[6:] not in TIER_ORDER])
    if not names:
        return
    ws = book.sheet(f"{SHEETS[lang][kind]} {wave}")
    title = (f"群体报告 — {text['wave']} {wave} — {SHEETS[lang][kind]}" if lang == "zh"
             else f"Group report — {text['wave']} {wave} — {SHEETS[lang][kind]}")
    ws.write_string(0, 0, _clean(" ".join(filter(None, [title, unsafe_notice(report, lang)]))),
                    book.title)
    _mark(ws, report, lang)
    parts = ["count", "rate", "low", "high"] if kind == "tiers" else ["count", "rate"]
    header = [column_label(report, c, lang) for c in report.by] + [text["n"]]
    for name in names:
        label = column_label(report, name, lang, tier=kind == "tiers")
        header += [f"{label} {text[p] if p != 'rate' else '%'}" for p in parts]
    for j, h in enumerate(header):
        ws.write_string(1, j, _clean(h), book.head)
    k = len(report.by)
    for i, (_, row) in enumerate(table.iterrows()):
        r = i + 2
        style = _kind(row["level"], int(row["depth"]))
        for j, label in enumerate(row_labels(report, row, lang)):
            _write_value(book, ws, r, j, label, style, "text")
        _write_value(book, ws, r, k, row["n"], style, "int")
        c = k + 1
        for name in names:
            not_given = kind == "scales" and row.get(f"n:{name}") == 0
            for p in parts:
                _write_value(book, ws, r, c, row[f"{p}:{name}"], style,
                             "dash" if not_given else ("int" if p == "count" else "rate"))
                c += 1
    ws.set_row(1, 48)
    _setup(ws, 1, k + 1, [14.0] + [8.0] * (k - 1) + [7.0] + [8.5] * (len(header) - k - 1))


def _comparison_sheet(book: _Book, report: GroupReport, lang: str) -> None:
    comp = report.comparison
    text = TEXT[lang]
    ws = book.sheet(SHEETS[lang]["comparison"])
    ws.write_string(0, 0, _clean("批次比较（各校）" if lang == "zh"
                                 else "Comparison between waves (by school)")
                    + unsafe_notice(report, lang), book.title)
    _mark(ws, report, lang)
    header = [column_label(report, report.by[0], lang), text["wave"], text["n"]]
    for t in TIER_ORDER[1:]:
        label = report.tier_label(t, lang)
        header += [f"{label} {text['count']}", f"{label} %",
                   f"{label} {'变化（百分点）' if lang == 'zh' else 'change (points)'}"]
    for j, h in enumerate(header):
        ws.write_string(1, j, _clean(h), book.head)
    for i, rec in enumerate(comp.to_dict(orient="records")):
        r = i + 2
        style = "total" if rec["level"] == "total" else ""
        name = {"total": text["total"], "unmatched": text["unmatched"]}.get(
            rec["level"], rec[report.by[0]])
        _write_value(book, ws, r, 0, name, style, "text")
        _write_value(book, ws, r, 1, rec["wave"], style, "text")
        _write_value(book, ws, r, 2, rec["n"], style, "int")
        c = 3
        for t in TIER_ORDER[1:]:
            for key, fmt in ((f"count:{t}", "int"), (f"rate:{t}", "rate"),
                             (f"change:{t}", "rate")):
                _write_value(book, ws, r, c, rec[key], style, fmt)
                c += 1
    ws.set_row(1, 48)
    _setup(ws, 1, 2, [16.0, 12.0, 7.0] + [9.0] * (len(header) - 3))


def _notes_sheet(book: _Book, report: GroupReport, lang: str) -> None:
    ws = book.sheet(SHEETS[lang]["notes"])
    ws.write_string(0, 0, ("说明" if lang == "zh" else "Notes ") + unsafe_notice(report, lang),
                    book.title)
    _mark(ws, report, lang)
    r = 1
    for k, note in enumerate(notes(report, lang), start=1):
        ws.write_string(r, 0, _clean(f"{k}. {note}"), book.wrap)
        r += 1
    extra = ("95% 置信区间：Wilson 区间（百分比）。" if lang == "zh" else
             "95% confidence intervals: Wilson score interval (percent).")
    ws.write_string(r, 0, extra, book.wrap)
    r += 2
    if report.indicators:
        ws.write_string(r, 0, "量表 / 阳性标准" if lang == "zh" else "Scale / cut-off",
                        book.head)
        r += 1
        for key, names in report.indicators.items():
            line = f"{names.get(lang, key)}：{names.get(f'def_{lang}', key)}（{key}）"
            ws.write_string(r, 0, _clean(line), book.wrap)
            r += 1
    ws.set_column(0, 0, 110)
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)


def write_xlsx(report: GroupReport, path: str | Path, lang: str = "zh") -> Path:
    """Write the group report as XLSX.

    Parameters
    ----------
    report : GroupReport
    path : str or Path
    lang : {"zh", "en"}
        Language of sheet names, headers and notes.

    Returns
    -------
    Path
        The file, written atomically (a partial file is renamed when complete).
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    book = _Book(tmp)
    try:
        for wave in report.waves:
            _table_sheet(book, report, wave, lang, "tiers")
            _table_sheet(book, report, wave, lang, "scales")
        if len(report.waves) > 1 and len(report.comparison):
            _comparison_sheet(book, report, lang)
        _notes_sheet(book, report, lang)
    finally:
        book.book.close()
    os.replace(tmp, path)
    return path
