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
        [--from-truth DIR/truth/pupils_w1.csv [--interview-miss 0.10]
         [--interview-false-alarm 0.01] [--negative-share 0.10]]

The shares are illustrative, not data: 区级 90 %, 校级 75 %, 班级 40 % reviewed.

With ``--from-truth`` (``truth=``) the outcomes follow the generator's true state instead of
chance: a pupil is a case when the latent severity is at least :data:`CASE_THRESHOLD`, the
interview misses 10 % of cases and confirms 1 % of non-cases (:data:`INTERVIEW_ERROR`), and
:data:`NEGATIVE_SHARE` of each school's screen negatives are interviewed too (rows with
名单外学生 = 是), see :func:`interview_truth`.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from xinli_screen.demo._files import PSYCHOLOGISTS

__all__ = ["CASE_THRESHOLD", "INTERVIEW_ERROR", "NEGATIVE_SHARE", "fill_return_sheets",
           "interview_truth"]

#: Truth-driven mode: a pupil is truly a case when the generator's latent severity is at least
#: this (about 8 % of pupils: z ~ N(0, 1), 5 % shifted up by 1).
CASE_THRESHOLD = 1.5
#: Truth-driven mode: interview errors (stated, illustrative): a true case is not confirmed
#: with probability ``miss``, a pupil who is not a case is confirmed with ``false_alarm``.
INTERVIEW_ERROR = {"miss": 0.10, "false_alarm": 0.01}
#: Truth-driven mode: share of each school's screen-negative pupils interviewed as a check.
NEGATIVE_SHARE = 0.10

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
                       invalid: bool = True, truth: pd.DataFrame | str | Path | None = None,
                       case_threshold: float = CASE_THRESHOLD,
                       interview_error: dict[str, float] | None = None,
                       negative_share: float = NEGATIVE_SHARE) -> pd.DataFrame:
    """Fill every ``复核回执_*.xlsx`` in ``folder`` in place.

    Without ``truth`` the outcomes are random (the shares of the module docstring). With
    ``truth`` (the scenario's ``truth/pupils_w1.csv``, or that table) they follow the
    generator's true state instead, see :func:`interview_truth`: a listed pupil is interviewed
    with the same shares, and a small random sample of screen-negative pupils of each school
    (``negative_share``) is interviewed too and written in rows below the list with
    名单外学生 = 是, so that verification-bias corrections have data.

    Parameters
    ----------
    folder : str or Path
        Where ``xinli-screen wave list`` wrote the return sheets.
    on_date : date, optional
        The date written as 复核日期 (default: today).
    seed : int
    invalid : bool
        Spoil five rows on purpose (see the module docstring).
    truth : DataFrame, str or Path, optional
        Truth-driven outcomes (see above).
    case_threshold : float
        Truth-driven mode: latent severity from which a pupil is truly a case.
    interview_error : dict, optional
        Truth-driven mode: ``miss`` and ``false_alarm`` rates of the interview (default
        :data:`INTERVIEW_ERROR`).
    negative_share : float
        Truth-driven mode: share of screen negatives interviewed.

    Returns
    -------
    DataFrame
        One row per filled sheet row: ``file``, ``sheet_row``, ``pupil_id``, ``outcome``,
        ``new_tier``, ``measures``, ``referral``, ``valid`` and ``problem`` (the column the
        import must name for a spoilt row); with ``truth`` also ``off_list``, ``true_case``
        and ``interview_case``.

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
    if truth is not None:
        return _fill_from_truth(paths, on_date, seed, invalid, truth, case_threshold,
                                interview_error, negative_share)
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


def interview_truth(truth: pd.DataFrame | str | Path, *, seed: int = 2026,
                    case_threshold: float = CASE_THRESHOLD,
                    interview_error: dict[str, float] | None = None) -> pd.DataFrame:
    """What a 复核 interview would conclude for every pupil of the scenario.

    Parameters
    ----------
    truth : DataFrame, str or Path
        ``truth/pupils_w1.csv`` of the scenario (or that table): ``学号``, ``学校``,
        ``latent``, ``absent``.
    seed : int
        The interview errors are drawn from ``(seed, 1)``, the same for every call.
    case_threshold : float
        True state: a case when ``latent >= case_threshold``.
    interview_error : dict, optional
        ``miss``: chance that the interview does not confirm a true case; ``false_alarm``:
        chance that it confirms a pupil who is not a case; each pupil independently
        (illustrative figures, not data; default :data:`INTERVIEW_ERROR`).

    Returns
    -------
    DataFrame
        One row per roster pupil: ``学号`` (text), ``学校``, ``absent``, ``latent``,
        ``true_case`` and ``interview_case`` (bool) -- the verdict the interview gives if the
        pupil is interviewed, so the reference standard is known for every pupil and the
        accuracy of the screen against it can be computed over all pupils.
    """
    table = (pd.read_csv(truth, dtype={"学号": str}) if not isinstance(truth, pd.DataFrame)
             else truth.copy())
    out = table[["学号", "学校", "absent", "latent"]].copy()
    out["学号"] = out["学号"].astype(str)
    out["absent"] = out["absent"].astype(str).str.lower().isin(("true", "1"))
    out["true_case"] = out["latent"].astype(float) >= case_threshold
    err = {**INTERVIEW_ERROR, **(interview_error or {})}
    u = np.random.default_rng([seed, 1]).random(len(out))
    out["interview_case"] = np.where(out["true_case"], u >= err["miss"], u < err["false_alarm"])
    return out.reset_index(drop=True)


def _fill_from_truth(paths: list[Path], on_date: dt.date, seed: int, invalid: bool,
                     truth: pd.DataFrame | str | Path, case_threshold: float,
                     interview_error: dict[str, float] | None,
                     negative_share: float) -> pd.DataFrame:
    """Truth-driven return sheets (see :func:`fill_return_sheets`)."""
    from openpyxl import load_workbook

    verdicts = interview_truth(truth, seed=seed, case_threshold=case_threshold,
                               interview_error=interview_error)
    case = dict(zip(verdicts["学号"], verdicts["interview_case"], strict=True))
    true = dict(zip(verdicts["学号"], verdicts["true_case"], strict=True))
    rng = np.random.default_rng([seed, 2])
    rows: list[dict[str, object]] = []
    ids = set()
    for path in paths:
        sheet = load_workbook(path).worksheets[0]
        top, col = _header(sheet)
        ids |= {str(r[col["学号"] - 1]) for r in sheet.iter_rows(min_row=top + 1,
                                                               values_only=True)
                if r[col["学号"] - 1] is not None}
    if ids and not ids & set(case):
        raise ValueError("none of the return sheets' 学号 is in the truth file (a pseudonymised "
                         "archive?): truth-driven outcomes need the sheets of an archive "
                         "that keeps the school ids")
    for k, path in enumerate(paths):
        book = load_workbook(path)
        ws = book.worksheets[0]
        top, col = _header(ws)
        school = str(ws.cell(top + 1, col["学校"]).value or "")
        wave = ws.cell(top + 1, col["测评批次"]).value
        person = PSYCHOLOGISTS.get(school, "心理教师")
        filled, listed, last = [], set(), top
        for r in range(top + 1, ws.max_row + 1):
            pid = ws.cell(r, col["学号"]).value
            if pid is None:
                continue
            last = r
            pid = str(pid)
            listed.add(pid)
            tier = str(ws.cell(r, col["预警级别"]).value or "")
            critical = bool(ws.cell(r, col["关键题"]).value)
            if (tier not in _REVIEWED or rng.random() >= _REVIEWED[tier]) and not critical:
                continue
            positive = bool(case.get(pid, False))
            outcome, new_tier = ("复核确认", None) if positive else ("复核未确认", None)
            if positive and tier == "区级预警" and rng.random() < 0.15:
                outcome, new_tier = "复核调整级别", "校级预警"    # still a case, lower tier
            measures = "面谈、家校沟通" if positive or critical else "面谈"
            for name, value in {"复核结果": outcome, "调整后级别": new_tier, "干预措施": measures,
                                "复核人": person, "复核日期": on_date}.items():
                if value is not None:
                    ws.cell(r, col[name]).value = value
            ws.cell(r, col["复核日期"]).number_format = "yyyy-mm-dd"
            filled.append(r)
            rows.append({"file": path.name, "sheet_row": r, "pupil_id": pid, "outcome": outcome,
                         "new_tier": new_tier, "measures": measures, "referral": None,
                         "valid": True, "problem": None, "off_list": False,
                         "true_case": bool(true.get(pid, False)), "interview_case": positive})
        pool = verdicts[(verdicts["学校"] == school) & ~verdicts["absent"]
                        & ~verdicts["学号"].isin(listed)]["学号"].to_numpy()
        chosen = np.sort(rng.choice(pool, size=round(negative_share * len(pool)),
                                    replace=False)) if len(pool) else []
        for j, pid in enumerate(chosen):
            r = last + 1 + j
            positive = bool(case[pid])
            outcome, new_tier = (("复核调整级别", "班级关注") if positive else ("复核未确认", None))
            for name, value in {"测评批次": wave, "学号": pid, "学校": school, "复核结果": outcome,
                                "调整后级别": new_tier, "干预措施": "面谈", "复核人": person,
                                "复核日期": on_date, "名单外学生": "是"}.items():
                if value is not None:
                    ws.cell(r, col[name]).value = value
            ws.cell(r, col["复核日期"]).number_format = "yyyy-mm-dd"
            rows.append({"file": path.name, "sheet_row": r, "pupil_id": pid, "outcome": outcome,
                         "new_tier": new_tier, "measures": "面谈", "referral": None,
                         "valid": True, "problem": None, "off_list": True,
                         "true_case": bool(true[pid]), "interview_case": positive})
        if invalid and filled:
            _spoil(ws, col, k, filled, last + len(chosen), on_date, rows, path.name, person)
        book.save(path)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    """Command line: fill the return sheets in FOLDER and write returns_truth.csv there."""
    parser = argparse.ArgumentParser(prog="python -m xinli_screen.demo.returns",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--date", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-invalid", action="store_true")
    parser.add_argument("--from-truth", type=Path, default=None, metavar="PUPILS_CSV",
                        help="outcomes from the scenario's truth/pupils_w1.csv instead of "
                        "random ones (also writes interview_truth.csv: the verdict for every "
                        "pupil)")
    parser.add_argument("--interview-miss", type=float, default=INTERVIEW_ERROR["miss"])
    parser.add_argument("--interview-false-alarm", type=float,
                        default=INTERVIEW_ERROR["false_alarm"])
    parser.add_argument("--negative-share", type=float, default=NEGATIVE_SHARE)
    args = parser.parse_args(argv)
    errors = {"miss": args.interview_miss, "false_alarm": args.interview_false_alarm}
    truth = fill_return_sheets(args.folder, on_date=args.date, seed=args.seed,
                               invalid=not args.no_invalid, truth=args.from_truth,
                               interview_error=errors, negative_share=args.negative_share)
    if args.from_truth is not None:
        interview_truth(args.from_truth, seed=args.seed, interview_error=errors).to_csv(
            args.folder / "interview_truth.csv", index=False, encoding="utf-8")
    truth.to_csv(args.folder / "returns_truth.csv", index=False, encoding="utf-8")
    print(f"filled {int(truth['valid'].sum())} valid and {int((~truth['valid']).sum())} "
          f"spoilt rows in {truth['file'].nunique()} return sheet(s); truth: "
          f"{args.folder / 'returns_truth.csv'}")


if __name__ == "__main__":
    main()
