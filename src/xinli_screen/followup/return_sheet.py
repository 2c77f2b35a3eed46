"""Return sheets (复核回执): the sheet a school psychologist fills in after the 复核 talks and
hands back, one XLSX per school.

Written with XlsxWriter next to the warning list: one row per listed pupil, the columns a
person fills in with drop-down lists of the allowed values (复核结果, 调整后级别, 干预措施,
转介, 名单外学生) and a date check on 复核日期, plus spare rows for pupils added by hand.
:func:`read_return_sheet` reads a filled sheet back (calamine, openpyxl as fallback) as
raw cells with the row number a person sees in Excel; validation and import are
:mod:`xinli_screen.followup.review_import`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from xinli_screen.archive.models import ACTION_KINDS
from xinli_screen.errors import XinliScreenError
from xinli_screen.policy.history import REVIEW_OUTCOMES, REVIEW_STATUS_LABELS
from xinli_screen.policy.models import TIER_ORDER

__all__ = ["FILLED_BY_HAND", "MEASURES", "RETURN_COLUMNS", "YES_NO", "ReturnSheetError",
           "parse_date", "read_return_sheet",
           "return_sheet_frame", "write_return_sheets"]

#: Column key -> Chinese header of a return sheet, in order.
RETURN_COLUMNS: dict[str, str] = {
    "wave": "测评批次",
    "pupil_id": "学号",
    "name": "姓名",
    "school": "学校",
    "grade": "年级",
    "class": "班级",
    "tier": "预警级别",
    "critical": "关键题",
    "status": "当前复核状态",
    "outcome": "复核结果",
    "new_tier": "调整后级别",
    "measures": "干预措施",
    "referral": "转介就医",
    "note": "备注",
    "by": "复核人",
    "on_date": "复核日期",
    "off_list": "名单外学生",
}
#: Columns a person fills in (the others are filled in when the sheet is written).
FILLED_BY_HAND = ("outcome", "new_tier", "measures", "referral", "note", "by", "on_date",
                  "off_list")
#: Drop-down values of 干预措施 (several may be joined with 、).
MEASURES: tuple[str, ...] = (ACTION_KINDS["interview"], ACTION_KINDS["parent_contact"],
                             f"{ACTION_KINDS['interview']}、{ACTION_KINDS['parent_contact']}",
                             ACTION_KINDS["return_to_school"], ACTION_KINDS["other"])
YES_NO = ("是", "否")
_REQUIRED = ("pupil_id", "outcome", "measures", "by", "on_date")


class ReturnSheetError(XinliScreenError, ValueError):
    """A return sheet cannot be read (not an XLSX, or its header row is missing)."""


def return_sheet_frame(listed: pd.DataFrame, wave: str, labels: Mapping[str, str],
                       *, include_names: bool = False) -> pd.DataFrame:
    """The pre-filled rows of a return sheet.

    Parameters
    ----------
    listed : DataFrame
        Warning-list rows (:func:`~xinli_screen.wave.warning_list.warning_list`):
        ``pupil_id``, ``school``, ``grade``, ``class``, ``name``, ``tier``, ``critical``,
        ``review_status``.
    wave : str
    labels : mapping tier -> label
    include_names : bool

    Returns
    -------
    DataFrame, columns :data:`RETURN_COLUMNS` keys
    """
    n = len(listed)
    out = pd.DataFrame({
        "wave": [wave] * n,
        "pupil_id": listed["pupil_id"].astype(str).to_numpy(),
        "name": (listed["name"].to_numpy() if include_names and "name" in listed
                 else [None] * n),
        "school": listed["school"].to_numpy(), "grade": listed["grade"].to_numpy(),
        "class": listed["class"].to_numpy(),
        "tier": listed["tier"].map(lambda t: labels.get(t, t)).to_numpy(),
        "critical": listed["critical"].to_numpy(),
        "status": listed["review_status"].map(lambda s: REVIEW_STATUS_LABELS.get(s, s))
        .to_numpy(),
    })
    for col in FILLED_BY_HAND:
        out[col] = None
    return out[list(RETURN_COLUMNS)]


def write_return_sheets(listed: pd.DataFrame, folder: str | Path, *, wave: str,
                        labels: Mapping[str, str], title: str | None = None,
                        include_names: bool = False, spare_rows: int = 30) -> list[Path]:
    """Write one return sheet per school: ``复核回执_{school}.xlsx`` (0600).

    Parameters
    ----------
    listed : DataFrame
        The warning list of the wave (see :func:`return_sheet_frame`).
    folder : str or Path
    wave : str
    labels : mapping tier -> label (the wave's policy)
    title : str, optional
    include_names : bool
        Fill 姓名 (names are in the file only when they were kept).
    spare_rows : int
        Empty rows with the drop-down lists, for pupils added by hand.

    Returns
    -------
    list of Path
    """
    from xinli_screen.wave.xlsx import Sheet, safe_file_name, write_sheets

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    choices = {"outcome": list(REVIEW_OUTCOMES.values()),
               "new_tier": [labels.get(t, t) for t in TIER_ORDER],
               "measures": list(MEASURES), "referral": list(YES_NO),
               "off_list": list(YES_NO)}
    guide = pd.DataFrame({"填写说明": [
        "每位列入预警名单的学生一行。请在复核（面谈）后填写：复核结果、干预措施、复核人、复核日期；"
        "其余列已预先填好，请勿修改。",
        "复核结果：复核确认 = 维持预警级别；复核未确认 = 解除预警（可在“调整后级别”填较低级别）；"
        "复核调整级别 = 必须填写“调整后级别”；结案 = 已转介并复学等，档案关闭。",
        "干预措施：面谈、家校沟通、复学、其他，可用“、”连接多项（下拉列表之外的组合会提示，可继续填写）；"
        "转介就医填“是”。学号列为文本格式，补充行请保留学号开头的0。"
        "未复核也可只登记干预措施。",
        "复核日期不能晚于导入当天。尚未复核的学生整行留空即可，不会被导入。",
        "名单外学生：为不在本名单上的学生登记复核（如班主任转介）时，在空行填写学号并在此列填“是”。",
        "导入：xinli-screen review import 本文件 --archive 档案库 --by 导入人。"
        "有错误的行会连同行号一起列出，整表不导入；改正后重新导入即可，重复导入不会重复登记。",
        "本表含学生个人信息，仅限本校心理教师使用。筛查结果不是诊断。"]})
    head = f"{title or wave} 复核回执（筛查结果须经复核，不是诊断）"
    written = []
    for school, sub in listed.groupby("school", sort=False):
        frame = return_sheet_frame(sub, wave, labels, include_names=include_names)
        if not include_names:
            frame = frame.drop(columns=["name"])
        sheets = [Sheet("复核回执", frame, RETURN_COLUMNS, f"{head} · {school}",
                        row_tiers=sub["tier"].tolist(), choices=choices, dates=["on_date"],
                        spare_rows=spare_rows, text=["pupil_id"], open_choices=["measures"],
                        widths={"outcome": 14, "new_tier": 12, "measures": 16,
                                "referral": 9, "note": 30, "by": 10, "off_list": 10}),
                  Sheet("填写说明", guide)]
        written.append(write_sheets(folder / f"复核回执_{safe_file_name(str(school))}.xlsx",
                                    sheets))
    return written


def _read_cells(path: Path) -> pd.DataFrame:
    """The cells of the sheet named 复核回执 (else the first sheet), as read."""
    try:
        book = pd.read_excel(path, sheet_name=None, header=None, dtype=object,
                             engine="calamine")
    except ImportError:  # python-calamine missing: openpyxl reads the same cells
        book = pd.read_excel(path, sheet_name=None, header=None, dtype=object,
                             engine="openpyxl")
    return book.get("复核回执", next(iter(book.values())) if book else pd.DataFrame())


def read_return_sheet(path: str | Path) -> pd.DataFrame:
    """Read a filled return sheet as raw cells.

    Parameters
    ----------
    path : str or Path
        An ``.xlsx`` written by :func:`write_return_sheets` and filled in by hand (the sheet
        named 复核回执 is read, else the first; columns may be moved: they are found by their
        Chinese header).

    Returns
    -------
    DataFrame
        One row per sheet row below the header, columns :data:`RETURN_COLUMNS` keys that
        the sheet has, plus ``sheet_row`` (the row number shown by Excel). Cells are as
        read: text, numbers, dates or None.

    Raises
    ------
    ReturnSheetError
        The file cannot be read as XLSX, or no header row with 学号 and 复核结果 is found
        in its first 10 rows (the message names the file and the missing headers).
    FileNotFoundError
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        cells = _read_cells(path)
    except Exception as exc:  # any reader failure (calamine, zip, XML): not an XLSX we wrote
        raise ReturnSheetError(f"{path.name}: cannot be read as an XLSX return sheet "
                               f"({type(exc).__name__}); save it as .xlsx from Excel or WPS "
                               "and import that file") from exc
    by_header = {v: k for k, v in RETURN_COLUMNS.items()}
    for r in range(min(10, len(cells))):
        heads = [str(v).strip() if v is not None else "" for v in cells.iloc[r]]
        if "学号" in heads and "复核结果" in heads:
            body = cells.iloc[r + 1:]
            out = pd.DataFrame({"sheet_row": body.index.to_numpy() + 1})
            for j, h in enumerate(heads):
                if h in by_header:
                    out[by_header[h]] = pd.Series(  # object: a date column keeps None
                        [None if _blank(v) else v for v in body.iloc[:, j]], dtype=object)
            missing = [RETURN_COLUMNS[k] for k in _REQUIRED if k not in out]
            if missing:
                raise ReturnSheetError(f"{path.name}: header row {r + 1} lacks the column(s) "
                                       f"{', '.join(missing)}")
            return out.reset_index(drop=True)
    raise ReturnSheetError(f"{path.name}: no header row with 学号 and 复核结果 in the first "
                           "10 rows; is this a 复核回执 written by xinli-screen?")


def _blank(value: object) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and not value.strip()


def parse_date(value: object) -> dt.date | None:
    """A date from a cell: a date/datetime, an Excel serial number, or text such as
    ``2026-09-20``, ``2026/9/20``, ``2026.9.20`` or ``2026年9月20日``; None when it is none
    of these."""
    import re

    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 30000 <= float(value) <= 80000:  # Excel serial day numbers (1982 .. 2119)
            return dt.date(1899, 12, 30) + dt.timedelta(days=int(value))
        return None
    m = re.fullmatch(r"\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                     r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?\s*", str(value))
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
