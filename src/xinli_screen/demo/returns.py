"""Fill the return sheets (复核回执) of the generated district scenario as psychologists would.

Stands in for the school psychologists of the scenario: opens each ``复核回执_*.xlsx`` written
by ``xinli-screen wave list`` with openpyxl (as Excel would keep it), and fills in, for a
seeded random share of the listed pupils, a 复核结果, a new tier where the outcome needs one,
the measures taken (面谈, 家校沟通, 转介), the psychologist and the date. Every pupil with a
critical answer gets an interview. With ``invalid=True`` a few rows are spoilt on purpose,
each with one problem the import must report: an outcome not in the list, a date in the
future, 复核调整级别 without the new tier, an unknown 学号 in a spare row, and a row of another
wave. The rows filled and their expected verdicts are returned (and written as
``returns_truth.csv`` by the command line).

Command line::

    python -m xinli_screen.demo.returns FOLDER [--date 2026-09-25] [--seed 2026] [--no-invalid]

The shares are illustrative, not data: 区级 90 %, 校级 75 %, 班级 40 % reviewed.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from xinli_screen.demo._files import PSYCHOLOGISTS

__all__ = ["fill_return_sheets"]

_REVIEWED = {"区级预警": 0.90, "校级预警": 0.75, "班级关注": 0.40}
#: outcome shares per listed tier: (confirmed, not confirmed, tier changed) and the new tier
_OUTCOMES = {"区级预警": ((0.75, 0.10, 0.15), "校级预警"),
             "校级预警": ((0.55, 0.35, 0.10), "班级关注"),
             "班级关注": ((0.40, 0.60, 0.00), "无预警")}


def _header(ws: object) -> tuple[int, dict[str, int]]:
    for r in range(1, 11):
        heads = {str(c.value).strip(): c.column for c in ws[r] if c.value is not None}
        if "学号" in heads and "复核结果" in heads:
            return r, heads
    raise ValueError(f"{ws.title}: no header row")


def fill_return_sheets(folder: str | Path, *, on_date: dt.date | None = None, seed: int = 2026,
                       invalid: bool = True) -> pd.DataFrame:
    """Fill every ``复核回执_*.xlsx`` in ``folder`` in place.

    Parameters
    ----------
    folder : str or Path
        Where ``xinli-screen wave list`` wrote the return sheets.
    on_date : date, optional
        The date written as 复核日期 (default: today).
    seed : int
    invalid : bool
        Spoil five rows on purpose (see the module docstring).

    Returns
    -------
    DataFrame
        One row per filled sheet row: ``file``, ``sheet_row``, ``pupil_id``, ``outcome``,
        ``new_tier``, ``measures``, ``referral``, ``valid`` and ``problem`` (the column the
        import must name for a spoilt row).

    Raises
    ------
    FileNotFoundError
        No return sheet in ``folder``.
    """
    from openpyxl import load_workbook

    folder = Path(folder)
    paths = sorted(folder.glob("复核回执_*.xlsx"))
    if not paths:
        raise FileNotFoundError(f"{folder}: no 复核回执_*.xlsx (run xinli-screen wave list)")
    on_date = on_date or dt.date.today()
    rng = np.random.default_rng(seed)
    rows = []
    for k, path in enumerate(paths):
        book = load_workbook(path)
        ws = book.worksheets[0]
        top, col = _header(ws)
        school = str(ws.cell(top + 1, col["学校"]).value or "")
        person = PSYCHOLOGISTS.get(school, "心理教师")
        filled = []
        last = top
        for r in range(top + 1, ws.max_row + 1):
            pid = ws.cell(r, col["学号"]).value
            if pid is None:
                continue
            last = r
            tier = str(ws.cell(r, col["预警级别"]).value or "")
            critical = bool(ws.cell(r, col["关键题"]).value)
            if (tier not in _REVIEWED or rng.random() >= _REVIEWED[tier]) and not critical:
                continue
            shares, lower = _OUTCOMES.get(tier, ((1.0, 0.0, 0.0), tier))
            pick = rng.choice(3, p=shares)
            outcome = ("复核确认", "复核未确认", "复核调整级别")[pick]
            new_tier = lower if pick == 2 else None
            measures = None
            referral = None
            if critical or (pick == 0 and tier in ("区级预警", "校级预警")):
                measures = "面谈、家校沟通" if tier == "区级预警" or critical else "面谈"
            elif pick == 0 and rng.random() < 0.5:
                measures = "面谈"
            if tier == "区级预警" and pick == 0 and rng.random() < 0.4:
                referral = "是"
            values = {"复核结果": outcome, "调整后级别": new_tier, "干预措施": measures,
                      "转介就医": referral, "复核人": person, "复核日期": on_date,
                      "备注": "面谈后评估" if measures else None}
            for name, value in values.items():
                if value is not None:
                    ws.cell(r, col[name]).value = value
            ws.cell(r, col["复核日期"]).number_format = "yyyy-mm-dd"
            filled.append(r)
            rows.append({"file": path.name, "sheet_row": r, "pupil_id": str(pid),
                         "outcome": outcome, "new_tier": new_tier, "measures": measures,
                         "referral": referral, "valid": True, "problem": None})
        if invalid and filled:
            _spoil(ws, col, k, filled, last, on_date, rows, path.name, person)
        book.save(path)
    return pd.DataFrame(rows)


def _spoil(ws: object, col: dict[str, int], k: int, filled: list[int], last: int,
           on_date: dt.date, rows: list[dict[str, object]], file: str, person: str) -> None:
    """Spoil rows on purpose: the first sheet three, the second two."""
    def mark(r: int, problem: str) -> None:
        for rec in rows:
            if rec["file"] == file and rec["sheet_row"] == r:
                rec.update(valid=False, problem=problem)

    if k == 0 and len(filled) >= 3:
        ws.cell(filled[0], col["复核结果"]).value = "确认了"
        mark(filled[0], "复核结果")
        ws.cell(filled[1], col["复核日期"]).value = on_date + dt.timedelta(days=30)
        mark(filled[1], "复核日期")
        ws.cell(filled[2], col["复核结果"]).value = "复核调整级别"
        ws.cell(filled[2], col["调整后级别"]).value = None
        mark(filled[2], "调整后级别")
    elif k == 1 and len(filled) >= 1:
        r = last + 1
        for name, value in (("测评批次", ws.cell(filled[0], col["测评批次"]).value),
                            ("学号", "99999999"), ("复核结果", "复核确认"),
                            ("干预措施", "面谈"), ("复核人", person), ("复核日期", on_date)):
            ws.cell(r, col[name]).value = value
        rows.append({"file": file, "sheet_row": r, "pupil_id": "99999999",
                     "outcome": "复核确认", "new_tier": None, "measures": "面谈",
                     "referral": None, "valid": False, "problem": "学号"})
        ws.cell(filled[0], col["测评批次"]).value = "2025-spring"
        mark(filled[0], "测评批次")


def main(argv: list[str] | None = None) -> None:
    """Command line: fill the return sheets in FOLDER and write returns_truth.csv there."""
    parser = argparse.ArgumentParser(prog="python -m xinli_screen.demo.returns",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--date", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-invalid", action="store_true")
    args = parser.parse_args(argv)
    truth = fill_return_sheets(args.folder, on_date=args.date, seed=args.seed,
                               invalid=not args.no_invalid)
    truth.to_csv(args.folder / "returns_truth.csv", index=False, encoding="utf-8")
    print(f"filled {int(truth['valid'].sum())} valid and {int((~truth['valid']).sum())} "
          f"spoilt rows in {truth['file'].nunique()} return sheet(s); truth: "
          f"{args.folder / 'returns_truth.csv'}")


if __name__ == "__main__":
    main()
