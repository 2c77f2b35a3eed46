"""Build the same PHQ-9 answers in every input format the readers support (tests only).

``ANSWERS`` holds 40 answer sheets: codes 0-3 for items 1-10 (item 10 on its own 0-3 scale),
a few unanswered cells, ids with leading zeros. Each ``write_*`` function writes them as a
real file in one format / export style; scoring any of them must give the same table.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd

import xinli_screen as xs

N = 40
ITEMS = [f"phq9_{i:02d}" for i in range(1, 11)]
PHQ9 = xs.load_instrument("phq9")
FREQ_ZH = [o.label.zh for o in PHQ9.response_scales[0].options]
DIFF_ZH = [o.label.zh for o in PHQ9.response_scales[1].options]
ITEM_ZH = [i.text.zh for i in PHQ9.items]


def _answers() -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(20240607)
    codes = rng.integers(0, 4, size=(N, 10)).astype(float)
    codes[rng.random((N, 10)) < 0.05] = np.nan
    codes[3, :] = np.nan  # a pupil who answered nothing
    ids = [f"{k:06d}" for k in range(17, 17 + N)]
    ids[5] = "0000000"  # leading zeros only
    return ids, codes


IDS, CODES = _answers()


def _label(j: int, code: float) -> str:
    labels = DIFF_ZH if j == 9 else FREQ_ZH
    return labels[int(code)]


def write_csv(path: Path, encoding: str, *, labels: bool = False, id_column: str = "学号"
              ) -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow([id_column, *ITEMS])
        for sid, row in zip(IDS, CODES, strict=True):
            cells = ["" if np.isnan(c) else (_label(j, c) if labels else str(int(c)))
                     for j, c in enumerate(row)]
            writer.writerow([sid, *cells])
    return path


def frame_of_codes(id_column: str = "sid") -> pd.DataFrame:
    frame = pd.DataFrame(CODES, columns=ITEMS)
    frame.insert(0, id_column, IDS)
    return frame


def write_xlsx(path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["sid", *ITEMS])
    for sid, row in zip(IDS, CODES, strict=True):
        sheet.append([sid, *[None if np.isnan(c) else int(c) for c in row]])
    book.save(path)
    return path


def write_xls(path: Path) -> Path:
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("答卷")
    for j, name in enumerate(["sid", *ITEMS]):
        sheet.write(0, j, name)
    for r, (sid, row) in enumerate(zip(IDS, CODES, strict=True), start=1):
        sheet.write(r, 0, sid)
        for j, c in enumerate(row, start=1):
            if not np.isnan(c):
                sheet.write(r, j, int(c))
    book.save(str(path))
    return path


def write_sav(path: Path) -> Path:
    """SPSS coded 1-4 (as 问卷星's SPSS download), zh value labels, 9 = user-missing."""
    import pyreadstat

    frame = pd.DataFrame(np.where(np.isnan(CODES), 9.0, CODES + 1), columns=ITEMS)
    frame.insert(0, "sid", IDS)
    labels = {}
    for j, item in enumerate(ITEMS):
        names = DIFF_ZH if j == 9 else FREQ_ZH
        labels[item] = {float(k + 1): name for k, name in enumerate(names)} | {9.0: "未作答"}
    pyreadstat.write_sav(frame, str(path), variable_value_labels=labels,
                         missing_ranges={item: [9.0] for item in ITEMS})
    return path


def write_parquet(path: Path) -> Path:
    frame_of_codes().to_parquet(path, index=False)
    return path


def write_jsonl(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for sid, row in zip(IDS, CODES, strict=True):
            obj = {"sid": sid, **{item: None if np.isnan(c) else int(c)
                                  for item, c in zip(ITEMS, row, strict=True)}}
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return path


WJX_META = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP"]
PREFIXES = ["A.", "A、", "Ａ．", "", "(A)", "A．"]  # as authored on different forms


def _wjx_rows(style: str, id_mode: str) -> tuple[list[str], list[list[object]]]:
    header = list(WJX_META)
    if id_mode == "fill-in":
        header.append("1、你的学号：")
    header += [f"2、({text})" for text in ITEM_ZH[:9]]
    header.append(f"3、{ITEM_ZH[9]}")
    if id_mode == "link":
        header.append("自定义字段")
    rows = []
    for r, (sid, row) in enumerate(zip(IDS, CODES, strict=True)):
        meta = [r + 1, "2026/09/03 12:00:00", f"{100 + r}秒", "手机提交", "直接访问",
                f"10.{r}.0.1(北京-北京)"]
        cells: list[object] = []
        for j, c in enumerate(row):
            if np.isnan(c):
                cells.append("(跳过)" if style == "text" else -2 if j % 2 else -3)
            elif style == "text":
                letter = "ABCD"[int(c)]
                prefix = PREFIXES[(r + j) % len(PREFIXES)].replace("A", letter).replace(
                    "Ａ", chr(ord("Ａ") + int(c)))
                cells.append(prefix + _label(j, c))
            else:
                cells.append(int(c) + 1)
        out = [*meta, *([sid] if id_mode == "fill-in" else []), *cells,
               *([sid] if id_mode == "link" else [])]
        rows.append(out)
    return header, rows


def write_wjx(path: Path, style: str, id_mode: str = "fill-in") -> Path:
    """问卷星 download: ``style`` "text" (按选项文本) or "sequence" (按序号); the id from a
    fill-in question or the custom link parameter (自定义字段)."""
    header, rows = _wjx_rows(style, id_mode)
    if path.suffix == ".xlsx":
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(header)
        for row in rows:
            sheet.append([str(v) if isinstance(v, str) else v for v in row])
        book.save(path)
    elif path.suffix == ".xls":
        import xlwt

        book = xlwt.Workbook()
        sheet = book.add_sheet("Sheet1")
        for j, name in enumerate(header):
            sheet.write(0, j, name)
        for r, row in enumerate(rows, start=1):
            for j, v in enumerate(row):
                sheet.write(r, j, v)
        book.save(str(path))
    else:
        with path.open("w", encoding="gb18030", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\r\n")
            writer.writerow(header)
            writer.writerows(rows)
    return path
