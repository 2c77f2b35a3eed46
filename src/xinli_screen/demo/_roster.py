"""Synthetic roster of the district scenario: schools, classes, pupils, ids and names.

Everything is generated from a :class:`numpy.random.Generator`; names come from two short
character lists, so they are plainly synthetic (and often repeat, as real names do).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["JUNIOR_GRADES", "PRIMARY_GRADES", "ROSTER_COLUMNS", "SCHOOLS", "School",
           "make_roster", "write_roster"]

#: Roster columns, in file order.
ROSTER_COLUMNS = ("学号", "姓名", "学校", "年级", "班级", "性别")
#: Grades of a primary school and the year its pupils entered school (autumn 2026).
PRIMARY_GRADES = {"四年级": 2023, "五年级": 2022, "六年级": 2021}
#: Grades of a junior middle school and the year its pupils entered it.
JUNIOR_GRADES = {"初一": 2026, "初二": 2025, "初三": 2024}


@dataclass(frozen=True)
class School:
    """One school: its name, number (second digit of the 学号), form and relative size."""

    name: str
    number: int
    form: str  # "primary" or "junior"
    weight: int  # classes per grade at 3,000 pupils

    @property
    def grades(self) -> dict[str, int]:
        """Grade name -> year of entry."""
        return PRIMARY_GRADES if self.form == "primary" else JUNIOR_GRADES


#: The four schools; the first is clearly the largest (8 classes per grade against 6).
SCHOOLS = (
    School("绿园区第一实验小学", 1, "primary", 8),
    School("绿园区铁北小学", 2, "primary", 6),
    School("绿园区第一中学", 3, "junior", 6),
    School("绿园区新竹中学", 4, "junior", 6),
)

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
_GIVEN = "子浩宇轩梓涵欣怡雨晨嘉博文思一诗佳俊睿泽明昊然雅琪婷鑫磊杰涛航阳萱悦彤可馨瑶天铭"


def _names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` synthetic names: a surname (common ones more often) and one or two characters."""
    weights = 1.0 / np.arange(1, len(_SURNAMES) + 1) ** 0.7
    surname = rng.choice(len(_SURNAMES), size=n, p=weights / weights.sum())
    two = rng.random(n) < 0.7
    first = rng.integers(0, len(_GIVEN), size=n)
    second = rng.integers(0, len(_GIVEN), size=n)
    return [_SURNAMES[s] + _GIVEN[a] + (_GIVEN[b] if t else "")
            for s, a, b, t in zip(surname, first, second, two, strict=True)]


def _class_sizes(rng: np.random.Generator, n_classes: int, total: int) -> np.ndarray:
    """Class sizes drawn from 35-45 and rescaled (largest remainder) to add up to ``total``."""
    base = rng.integers(35, 46, size=n_classes).astype(float)
    share = base / base.sum() * total
    sizes = np.floor(share).astype(int)
    rest = total - sizes.sum()
    order = np.argsort(-(share - sizes), kind="stable")
    sizes[order[:rest]] += 1
    return sizes


def make_roster(rng: np.random.Generator, n_pupils: int) -> pd.DataFrame:
    """The district roster: one row per pupil, every cell text.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_pupils : int
        Number of pupils (exact).

    Returns
    -------
    DataFrame
        Columns :data:`ROSTER_COLUMNS` plus ``form`` (``primary``/``junior``) and ``seat``.
        The 学号 is eight digits: ``0``, school number, year of entry (two digits), class
        (two digits), seat (two digits), e.g. ``01230105``.
    """
    per_grade = [max(1, round(s.weight * n_pupils / 3120)) for s in SCHOOLS]
    units = [(s, g, c) for s, k in zip(SCHOOLS, per_grade, strict=True)
             for g in s.grades for c in range(1, k + 1)]
    sizes = _class_sizes(rng, len(units), n_pupils)
    rows = []
    for (school, grade, klass), size in zip(units, sizes, strict=True):
        year = school.grades[grade] % 100
        for seat in range(1, size + 1):
            rows.append((f"0{school.number}{year:02d}{klass:02d}{seat:02d}", school.name,
                         grade, f"{klass}班", school.form, seat))
    frame = pd.DataFrame(rows, columns=["学号", "学校", "年级", "班级", "form", "seat"])
    frame.insert(1, "姓名", _names(rng, len(frame)))
    frame.insert(5, "性别", np.where(rng.random(len(frame)) < 0.51, "男", "女"))
    return frame


def write_roster(roster: pd.DataFrame, path: Path) -> None:
    """Write the roster as Excel on Chinese Windows saves a CSV: GBK, CRLF line ends."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(ROSTER_COLUMNS)
    writer.writerows(roster[list(ROSTER_COLUMNS)].itertuples(index=False, name=None))
    path.write_bytes(buffer.getvalue().encode("gbk"))
