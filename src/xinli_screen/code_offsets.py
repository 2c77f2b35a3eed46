"""Code-offset detection: answers that look like the declared codes shifted by one.

A file coded 1-4 for a 0-3 instrument (or 问卷星 option positions read as codes) scores every
pupil too high, and on PHQ-9 item 9 gives every pupil a self-harm alarm; a file coded 0-4 for a
1-5 instrument (SCL-90 as often entered) scores every pupil too low and hides them. Neither may
pass silently. :func:`detect_code_offsets` looks, per instrument and response scale, at how
often the declared lowest and highest codes and the values one step outside them occur, and
:func:`resolve_answer_values` / :func:`shift_for` turn the user's decision (``answer_values``)
into a shift.

The rule (docs/errors.md#code-offset, with its false-alarm behaviour), for a response scale
with contiguous codes ``lo..hi`` and at least :data:`MIN_ANSWERS` answered cells:

* **shifted up** (``lo`` never used):

  - *strong*: ``hi + 1`` occurs (an out-of-range failure) and no other out-of-range value;
    a correctly coded file has no ``hi + 1`` at all, let alone with ``lo`` absent;
  - *large n* (scales with three or more codes): ``lo`` never used although ``lo + 1`` is
    used at least :data:`MIN_SECOND_LOWEST` times. If the lowest option is at least a tenth as
    frequent as the second lowest (true of the bundled symptom and trait scales: the lowest
    option, "not at all" / 没有, is the commonest answer on symptom items, and mixed-keyed
    scales have their lowest raw code common on the reversed items), the chance that a
    correctly coded file shows this is at most ``(10/11) ** 150 < 1e-6`` per scale.

* **shifted down** (``hi`` never used): ``lo - 1`` occurs and no other out-of-range value.
  "The highest code never used" alone is *not* evidence: severe answers are rare on symptom
  scales, so that rule would alarm on healthy schools.

Screening is not diagnosis; this guards the arithmetic only.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen.errors import ResponseDataError
from xinli_screen.instrument.models import Instrument, ResponseScale

__all__ = ["MIN_ANSWERS", "MIN_SECOND_LOWEST", "OFFSET_MODES", "CodeOffset",
           "CodeOffsetError", "detect_code_offsets", "offset_message",
           "resolve_answer_values", "shift_for"]

#: Answered cells a response scale needs before any offset is judged.
MIN_ANSWERS = 10
#: Uses of the second-lowest code needed to call "lowest code never used" evidence.
MIN_SECOND_LOWEST = 150
#: How numbers are read, per instrument: ``auto`` (check, refuse on evidence of an offset),
#: ``code`` (the numbers are the codes, as coded: score them even if they look shifted),
#: ``shift-down`` (the numbers are codes + 1: subtract 1), ``shift-up`` (codes - 1: add 1).
#: 问卷星 files also know ``text`` and ``sequence`` (option positions, 按序号).
OFFSET_MODES = ("auto", "code", "shift-down", "shift-up", "text", "sequence")


class CodeOffsetError(ResponseDataError):
    """The answers of an instrument look like its codes shifted by one; choose how to read
    them with ``answer_values`` / ``--answer-values`` (docs/errors.md#code-offset)."""


@dataclass(frozen=True)
class CodeOffset:
    """Evidence that one instrument's answers are shifted (counts only, never a pupil's).

    Attributes
    ----------
    instrument : str
    direction : {"up", "down"}
        ``up``: the numbers look like codes + 1 (``shift-down`` undoes it); ``down``: codes - 1.
    strength : {"strong", "large-n"}
    lo, hi : int
        Declared lowest and highest code of the response scale.
    sheets, answers : int
        Answer sheets with at least one answer on these items, and answered cells.
    count_lo, count_second, count_hi, count_above, count_below : int
        Uses of ``lo``, ``lo + 1``, ``hi``, ``hi + 1`` and ``lo - 1``.
    items : int
        Items of the instrument on this response scale.
    """

    instrument: str
    direction: str
    strength: str
    lo: int
    hi: int
    sheets: int
    answers: int
    count_lo: int
    count_second: int
    count_hi: int
    count_above: int
    count_below: int
    items: int

    @property
    def evidence(self) -> str:
        """The evidence in words: ``phq9: code 0 never used in 1,200 answer sheets ...``."""
        if self.direction == "up":
            text = (f"{self.instrument}: code {self.lo} never used in {self.sheets:,} answer "
                    f"sheet(s) ({self.answers:,} answers) although code {self.lo + 1} was used "
                    f"{self.count_second:,} times")
            if self.count_above:
                text += (f", and {self.hi + 1} (one above the highest code {self.hi}) used "
                         f"{self.count_above:,} times")
            return text + (f": the numbers look like the codes {self.lo}-{self.hi} shifted up "
                           f"by one ({self.lo + 1}-{self.hi + 1}, or option positions)")
        return (f"{self.instrument}: {self.lo - 1} (one below the lowest code {self.lo}) used "
                f"{self.count_below:,} times and the highest code {self.hi} never used in "
                f"{self.sheets:,} answer sheet(s) ({self.answers:,} answers): the numbers look "
                f"like the codes {self.lo}-{self.hi} shifted down by one "
                f"({self.lo - 1}-{self.hi - 1})")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record for the provenance."""
        return {**asdict(self), "evidence": self.evidence}


def _contiguous(rs: ResponseScale) -> bool:
    codes = rs.codes
    return len(codes) >= 2 and all(b - a == 1 for a, b in itertools.pairwise(codes))


def detect_code_offsets(
    responses: pd.DataFrame, failures: pd.DataFrame, instruments: Sequence[Instrument],
) -> list[CodeOffset]:
    """Evidence of answers shifted by one code, per instrument and response scale.

    Parameters
    ----------
    responses : DataFrame, shape (n_rows, n_items)
        Parsed codes (NaN = missing), as :func:`xinli_screen.responses.prepare_responses`
        returns them; out-of-range cells are NaN there and listed in ``failures``.
    failures : DataFrame
        The failures table (``row``, ``item``, ``code``, ``value``).
    instruments : sequence of Instrument

    Returns
    -------
    list of CodeOffset
        One entry per (instrument, response scale) that fits the rule of the module
        docstring; empty for a correctly coded file.
    """
    oor = failures[failures["code"] == "out-of-range"]
    oor_values = pd.to_numeric(oor["value"], errors="coerce").to_numpy(dtype=float)
    oor_items = oor["item"].to_numpy(dtype=object)
    found: list[CodeOffset] = []
    for inst in instruments:
        groups: dict[tuple[int, ...], list[str]] = {}
        scales: dict[tuple[int, ...], ResponseScale] = {}
        for item in inst.items:
            rs = inst.response_scale_of(item)
            if item.id in responses.columns and _contiguous(rs):
                groups.setdefault(rs.codes, []).append(item.id)
                scales[rs.codes] = rs
        for codes, items in groups.items():
            lo, hi = codes[0], codes[-1]
            x = responses[items].to_numpy(dtype=float)
            answered = ~np.isnan(x)
            outside = oor_values[np.isin(oor_items, items)]
            n_answers = int(answered.sum()) + len(outside)
            if n_answers < MIN_ANSWERS:
                continue
            above = int((outside == hi + 1).sum())
            below = int((outside == lo - 1).sum())
            others = len(outside) - above - below
            c_lo, c_second, c_hi = (int((x == v).sum()) for v in (lo, lo + 1, hi))
            sheets = int(answered.any(axis=1).sum())
            direction = strength = None
            if c_lo == 0 and above and not below and not others:
                direction, strength = "up", "strong"
            elif (c_lo == 0 and not outside.size and len(codes) >= 3
                  and c_second >= MIN_SECOND_LOWEST):
                direction, strength = "up", "large-n"
            elif c_hi == 0 and below and not above and not others:
                direction, strength = "down", "strong"
            if direction is not None:
                found.append(CodeOffset(inst.id, direction, strength, lo, hi, sheets,
                                        n_answers, c_lo, c_second, c_hi, above, below,
                                        len(items)))
    return found


def resolve_answer_values(answer_values: str | Mapping[str, str] | None,
                          instruments: Sequence[Instrument]) -> dict[str, str]:
    """Per instrument id, how its numbers are read (``auto`` when not said).

    ``answer_values`` is one mode for every instrument (``"shift-down"``) or a mapping
    ``{instrument id: mode}``; the CLI accepts ``MODE`` or ``ID=MODE`` (repeatable).

    Raises
    ------
    ValueError
        An unknown mode or an instrument id that is not screened.
    """
    ids = [i.id for i in instruments]
    if answer_values is None:
        return dict.fromkeys(ids, "auto")
    if isinstance(answer_values, str):
        chosen = dict.fromkeys(ids, answer_values)
    else:
        unknown = sorted(set(answer_values) - set(ids))
        if unknown:
            raise ValueError(f"answer_values names instrument(s) not screened: "
                             f"{', '.join(unknown)} (screened: {', '.join(ids)})")
        chosen = {i: answer_values.get(i, "auto") for i in ids}
    bad = sorted({m for m in chosen.values() if m not in OFFSET_MODES})
    if bad:
        raise ValueError(f"answer_values must be one of {', '.join(OFFSET_MODES)}, not "
                         f"{', '.join(map(repr, bad))}")
    return chosen


def shift_for(modes: Mapping[str, str], instruments: Sequence[Instrument]) -> dict[str, float]:
    """Item id -> number added to every numeric answer (``shift-down`` -1, ``shift-up`` +1)."""
    step = {"shift-down": -1.0, "shift-up": 1.0}
    return {item.id: step[modes[inst.id]] for inst in instruments
            if modes.get(inst.id) in step for item in inst.items}


def offset_message(found: Sequence[CodeOffset]) -> str:
    """The data problem for the evidence found: what was seen and how to choose."""
    lines = [f.evidence for f in found]
    fixes = ", ".join(f"{f.instrument}={'shift-down' if f.direction == 'up' else 'shift-up'}"
                      for f in found)
    keep = ", ".join(f"{f.instrument}=code" for f in found)
    return ("the answers look like the codes shifted by one; they were not scored:\n  "
            + "\n  ".join(lines)
            + f"\nChoose how to read them: --answer-values {fixes} (shift the numbers), or "
            f"--answer-values {keep} (score them as they are); in Python "
            "answer_values={'ID': 'shift-down'|'shift-up'|'code'} "
            "(see docs/errors.md#code-offset)")
