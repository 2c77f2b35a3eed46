"""Code-offset detection: answers that look like the declared codes shifted by one.

A file coded 1-4 for a 0-3 instrument (or 问卷星 option positions read as codes) scores every
pupil too high, and on PHQ-9 item 9 gives every pupil a self-harm alarm; a file coded 0-4 for a
1-5 instrument (SCL-90 as often entered) scores every pupil too low and hides them. Neither may
pass silently. :func:`detect_code_offsets` looks, per instrument and response scale, at how
often the declared lowest and highest codes and the values one step outside them occur, and
:func:`resolve_answer_values` / :func:`shift_for` turn the user's decision (``answer_values``)
into a shift.

The rule (docs/errors.md#code-offset, with its false-alarm behaviour), for each response scale
with contiguous codes ``lo..hi`` (the items of an instrument that share it pooled; items on
another scale, such as PHQ-9 item 10, judged on their own) and at least :data:`MIN_ANSWERS`
answered cells. A *handful* of stray values is at most :data:`STRAY_SHARE` (0.1 %) of the
scale's answers (rounded down): one mistyped cell does not hide a shifted file.

* **shifted up** (``lo`` never used, or used by at most a handful of answers):

  - *strong*: ``hi + 1`` occurs (an out-of-range failure), ``lo - 1`` and other out-of-range
    values at most a handful, and ``lo`` at most a hundredth as frequent as ``lo + 1``; a
    correctly coded file has no ``hi + 1`` at all, let alone with ``lo`` (almost) absent;
  - *large n* (scales with three or more codes): ``lo + 1`` used at least
    :data:`MIN_SECOND_LOWEST` times and ``lo`` so rarely that, were the lowest option at least
    a tenth as frequent as the second lowest, seeing so few would have a probability below
    :data:`FALSE_ALARM` (one-sided binomial test on the ``lo`` / ``lo + 1`` answers). This
    premise holds on the bundled symptom and trait scales (the lowest option, "not at all" /
    没有, is the commonest answer on symptom items, and mixed-keyed scales have their lowest
    raw code common on the reversed items), so a correctly coded file alarms with probability
    below 1e-6 per scale (with ``lo`` never used it needs ``lo + 1`` 145 times or more:
    ``(10/11) ** 145 < 1e-6``).

* **shifted down** (``hi`` at most a handful of answers): ``lo - 1`` occurs at least ten times
  as often as ``hi`` (once when ``hi`` is never used), ``hi + 1`` and other out-of-range values
  at most a handful. "The highest code never used" alone is *not* evidence: severe answers are
  rare on symptom scales, so that rule would alarm on healthy schools.

Below these thresholds a small file whose scale starts at 0 and whose 0 is never used gets a
non-blocking warning (:func:`possible_code_offsets`, strength ``possible``): 5-15 answer sheets
of a healthy class coded 1-4 show no ``hi + 1`` and too few answers to tell.

Screening is not diagnosis; this guards the arithmetic only.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen.errors import ResponseDataError, XinliScreenWarning
from xinli_screen.instrument.models import Instrument, ResponseScale

__all__ = ["FALSE_ALARM", "MIN_ANSWERS", "MIN_SECOND_LOWEST", "OFFSET_MODES", "STRAY_SHARE",
           "CodeOffset", "CodeOffsetError", "check_code_offsets", "count_code_offsets",
           "detect_code_offsets", "judge_code_offsets", "merge_code_counts", "offset_message",
           "possible_code_offsets", "resolve_answer_values", "shift_for"]

#: Answered cells a response scale needs before any offset is judged.
MIN_ANSWERS = 10
#: Uses of the second-lowest code needed to call "lowest code (almost) never used" evidence.
MIN_SECOND_LOWEST = 150
#: Share of a scale's answers that may be stray values (a mistyped lowest code, an odd
#: out-of-range number) without hiding the evidence: 0.1 %, rounded down.
STRAY_SHARE = 0.001
#: Largest chance of the large-n rule alarming on a correctly coded scale whose lowest option
#: is at least a tenth as frequent as its second lowest (one-sided binomial test).
FALSE_ALARM = 1e-6
#: Premise of the large-n rule: P(lowest | lowest or second lowest) >= 1/11.
_LOWEST_SHARE = 1 / 11
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
    """Evidence that one response scale's answers are shifted (counts only, never a pupil's).

    Attributes
    ----------
    instrument : str
    direction : {"up", "down"}
        ``up``: the numbers look like codes + 1 (``shift-down`` undoes it); ``down``: codes - 1.
    strength : {"strong", "large-n", "possible"}
        ``possible`` (a small file, lowest code 0 never used) is a warning, never a refusal.
    lo, hi : int
        Declared lowest and highest code of the response scale.
    sheets, answers : int
        Answer sheets with at least one answer on these items, and answered cells
        (out-of-range numbers included).
    count_lo, count_second, count_hi, count_above, count_below : int
        Uses of ``lo``, ``lo + 1``, ``hi``, ``hi + 1`` and ``lo - 1``.
    items : int
        Items of the instrument on this response scale.
    scale : str
        Id of the response scale (``frequency``, ``difficulty`` ...).
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
    scale: str = ""

    @property
    def blocking(self) -> bool:
        """Whether the evidence refuses an ``auto`` run (``possible`` only warns)."""
        return self.strength != "possible"

    def _name(self) -> str:
        where = f" (response scale '{self.scale}', {self.items} item(s))" if self.scale else ""
        return f"{self.instrument}{where}"

    @staticmethod
    def _used(code: int, count: int) -> str:
        return f"code {code} never used" if count == 0 else (
            f"code {code} used only {count:,} time(s)")

    @property
    def evidence(self) -> str:
        """The evidence in words: ``phq9 (...): code 0 never used in 1,200 answer sheets ...``."""
        if self.strength == "possible":
            return (f"{self._name()}: {self._used(self.lo, self.count_lo)} in {self.sheets:,} "
                    f"answer sheet(s) ({self.answers:,} answers; code {self.lo + 1} used "
                    f"{self.count_second:,} times): too few answers to tell a correctly coded "
                    f"file from one coded {self.lo + 1}-{self.hi + 1} (option positions); check "
                    f"that the file uses the codes {self.lo}-{self.hi} before trusting the list "
                    "(docs/errors.md#code-offset)")
        if self.direction == "up":
            text = (f"{self._name()}: {self._used(self.lo, self.count_lo)} in {self.sheets:,} "
                    f"answer sheet(s) ({self.answers:,} answers) although code {self.lo + 1} "
                    f"was used {self.count_second:,} times")
            if self.count_above:
                text += (f", and {self.hi + 1} (one above the highest code {self.hi}) used "
                         f"{self.count_above:,} times")
            return text + (f": the numbers look like the codes {self.lo}-{self.hi} shifted up "
                           f"by one ({self.lo + 1}-{self.hi + 1}, or option positions)")
        hi_text = ("the highest code {hi} never used" if self.count_hi == 0 else
                   "the highest code {hi} used only {n:,} time(s)").format(hi=self.hi,
                                                                           n=self.count_hi)
        return (f"{self._name()}: {self.lo - 1} (one below the lowest code {self.lo}) used "
                f"{self.count_below:,} times and {hi_text} in "
                f"{self.sheets:,} answer sheet(s) ({self.answers:,} answers): the numbers look "
                f"like the codes {self.lo}-{self.hi} shifted down by one "
                f"({self.lo - 1}-{self.hi - 1})")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record for the provenance."""
        return {**asdict(self), "evidence": self.evidence}


def _contiguous(rs: ResponseScale) -> bool:
    codes = rs.codes
    return len(codes) >= 2 and all(b - a == 1 for a, b in itertools.pairwise(codes))


def _binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), summed in log space (exact; k is small here)."""
    if k >= n:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1)
             + j * log_p + (n - j) * log_q for j in range(k + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def _out_of_range(failures: pd.DataFrame, shifts: Mapping[str, float]
                  ) -> tuple[np.ndarray, np.ndarray, dict[Any, int]]:
    """Out-of-range failures once: their numbers (shifts undone; NaN when not a number),
    their item as a small integer, and item id -> that integer."""
    oor = failures[failures["code"] == "out-of-range"]
    values = pd.to_numeric(oor["value"], errors="coerce").to_numpy(dtype=float)
    items = oor["item"].to_numpy(dtype=object)
    if shifts and len(values):
        values = values - np.array([shifts.get(i, 0.0) for i in items], dtype=float)
    codes, names = pd.factorize(items)
    return values, codes, {name: k for k, name in enumerate(names)}


def _block_counts(responses: pd.DataFrame, items: Sequence[str], values: Sequence[int],
                  shifts: Mapping[str, float]) -> tuple[int, int, list[int]]:
    """(rows with an answer, answered cells, uses of each of ``values``) over ``items``.

    One item column at a time, as a view of the frame where it is float64 already (no copy
    of the rows x items block); ``np.count_nonzero`` on the comparisons.
    """
    rows = np.zeros(len(responses), dtype=bool)
    answered = 0
    counts = [0] * len(values)
    for item in items:
        x = responses[item].to_numpy(dtype=float, na_value=np.nan)
        back = shifts.get(item, 0.0)
        if back:
            x = x - back
        given = ~np.isnan(x)
        rows |= given
        answered += int(np.count_nonzero(given))
        for k, v in enumerate(values):
            counts[k] += int(np.count_nonzero(x == v))
    return int(np.count_nonzero(rows)), answered, counts


def _scale_counts(
    responses: pd.DataFrame, failures: pd.DataFrame, instruments: Sequence[Instrument],
    shifts: Mapping[str, float] | None,
) -> list[tuple[CodeOffset, int, int]]:
    """Counts per (instrument, response scale): a CodeOffset without a verdict, the number
    of other out-of-range values (neither ``hi + 1`` nor ``lo - 1``) and the number of codes.

    ``shifts`` (item id -> number added, :func:`shift_for`) is undone first, so the counts
    describe the numbers as they were in the file. Each item column is read once per scale
    it is counted on (no copy of the answer block); the failures table is read once.
    """
    shifts = shifts or {}
    oor_values, oor_codes, oor_index = _out_of_range(failures, shifts)
    out: list[tuple[CodeOffset, int, int]] = []
    for inst in instruments:
        groups: dict[str, list[str]] = {}
        scales: dict[str, ResponseScale] = {}
        for item in inst.items:
            rs = inst.response_scale_of(item)
            if item.id in responses.columns and _contiguous(rs):
                groups.setdefault(rs.id, []).append(item.id)
                scales[rs.id] = rs
        for scale_id, items in groups.items():
            codes = scales[scale_id].codes
            lo, hi = codes[0], codes[-1]
            sheets, answered, (c_lo, c_second, c_hi) = _block_counts(
                responses, items, (lo, lo + 1, hi), shifts)
            mine = [oor_index[i] for i in items if i in oor_index]
            outside = oor_values[np.isin(oor_codes, mine)]
            above, below = int((outside == hi + 1).sum()), int((outside == lo - 1).sum())
            counts = CodeOffset(
                inst.id, "", "", lo, hi, sheets, answered + len(outside), c_lo, c_second,
                c_hi, above, below, len(items), scale_id)
            out.append((counts, len(outside) - above - below, len(codes)))
    return out


def _verdict(c: CodeOffset, others: int, n_codes: int) -> tuple[str, str] | None:
    """(direction, strength) by the rule of the module docstring, or None."""
    if c.answers < MIN_ANSWERS:
        return None
    stray = int(c.answers * STRAY_SHARE)  # a handful: at most 0.1 % of the answers
    if c.count_lo <= stray and c.count_below <= stray and others <= stray:
        if c.count_above and c.count_second >= 100 * c.count_lo:
            return "up", "strong"
        if (n_codes >= 3 and c.count_second >= MIN_SECOND_LOWEST
                and _binom_cdf(c.count_lo, c.count_lo + c.count_second, _LOWEST_SHARE)
                < FALSE_ALARM):
            return "up", "large-n"
    if (c.count_hi <= stray and c.count_above <= stray and others <= stray
            and c.count_below >= max(1, 10 * c.count_hi)):
        return "down", "strong"
    return None


def _detected(scales: Sequence[tuple[CodeOffset, int, int]]) -> list[CodeOffset]:
    """The counts of :func:`_scale_counts` that fit the rule, with their verdict."""
    found = []
    for counts, others, n_codes in scales:
        verdict = _verdict(counts, others, n_codes)
        if verdict is not None:
            found.append(replace(counts, direction=verdict[0], strength=verdict[1]))
    return found


def _possible(scales: Sequence[tuple[CodeOffset, int, int]]) -> list[CodeOffset]:
    """The small-file hints (strength ``possible``) among the counts of :func:`_scale_counts`."""
    found = []
    for counts, others, n_codes in scales:
        if (counts.lo == 0 and counts.count_lo == 0 and counts.count_second > 0
                and counts.answers >= MIN_ANSWERS and _verdict(counts, others, n_codes) is None):
            found.append(replace(counts, direction="up", strength="possible"))
    return found


def detect_code_offsets(
    responses: pd.DataFrame, failures: pd.DataFrame, instruments: Sequence[Instrument],
    shifts: Mapping[str, float] | None = None,
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
    shifts : mapping item id -> number, optional
        Shifts already applied by ``prepare_responses`` (:func:`shift_for`); undone before
        counting, so a chosen ``shift-down`` still records the evidence it answers.

    Returns
    -------
    list of CodeOffset
        One entry per (instrument, response scale) that fits the rule of the module
        docstring (strength ``strong`` or ``large-n``); empty for a correctly coded file.

    Notes
    -----
    Items of one instrument on different response scales are judged apart (PHQ-9 item 10,
    the difficulty question, has its own scale); a handful of stray values (at most
    :data:`STRAY_SHARE` of a scale's answers) does not hide the evidence. False-alarm bound
    of the large-n rule: a one-sided binomial test at :data:`FALSE_ALARM` under the premise
    that the lowest option is at least a tenth as frequent as the second lowest.
    """
    return _detected(_scale_counts(responses, failures, instruments, shifts))


def possible_code_offsets(
    responses: pd.DataFrame, failures: pd.DataFrame, instruments: Sequence[Instrument],
    shifts: Mapping[str, float] | None = None,
) -> list[CodeOffset]:
    """Small-file hints: a response scale starting at 0 whose 0 is never used, too few
    answers for :func:`detect_code_offsets` to judge (strength ``possible``, a warning only).

    A class of 5-15 pupils coded 1-4 without any 4 scores every pupil 9 too high on PHQ-9
    and alarms on item 9 for all; a healthy class may also never choose 0 on some scale of
    a small file, so this is never a refusal. Parameters as :func:`detect_code_offsets`.
    """
    return _possible(_scale_counts(responses, failures, instruments, shifts))


def check_code_offsets(
    responses: pd.DataFrame, failures: pd.DataFrame, instruments: Sequence[Instrument],
    modes: Mapping[str, str], shifts: Mapping[str, float] | None = None,
    stacklevel: int = 2,
) -> list[CodeOffset]:
    """Judge the evidence for a run: refuse, warn and return what goes in the provenance.

    Evidence (:func:`detect_code_offsets`) is refused where the instrument's mode is
    ``auto`` (or a 问卷星 reading) and warned about where the user chose ``code`` or a shift;
    small-file hints (:func:`possible_code_offsets`) are warned about unless the user chose.

    Returns
    -------
    list of CodeOffset
        Everything found, for the provenance (``code_offsets``).

    Raises
    ------
    CodeOffsetError
        Evidence on an instrument read ``auto``.
    """
    return judge_code_offsets(_scale_counts(responses, failures, instruments, shifts), modes,
                              stacklevel=stacklevel + 1)


def count_code_offsets(
    responses: pd.DataFrame, failures: pd.DataFrame, instruments: Sequence[Instrument],
    shifts: Mapping[str, float] | None = None,
) -> list[tuple[CodeOffset, int, int]]:
    """The counts :func:`check_code_offsets` judges, for one batch of rows.

    Counts of disjoint batches add up (:func:`merge_code_counts`), so a run in batches is
    judged once on the counts of all its rows, as a run on the whole table. Parameters as
    :func:`detect_code_offsets`.

    Returns
    -------
    list of (CodeOffset, int, int)
        Per (instrument, response scale): the counts (no verdict), the number of other
        out-of-range values and the number of codes.
    """
    return _scale_counts(responses, failures, instruments, shifts)


def merge_code_counts(a: Sequence[tuple[CodeOffset, int, int]],
                      b: Sequence[tuple[CodeOffset, int, int]]
                      ) -> list[tuple[CodeOffset, int, int]]:
    """The :func:`count_code_offsets` of two disjoint row sets of one table, added up.

    Raises
    ------
    ValueError
        The two lists are not of the same scales (different instruments or columns).
    """
    summed = ("sheets", "answers", "count_lo", "count_second", "count_hi", "count_above",
              "count_below")
    if [(c.instrument, c.scale) for c, _, _ in a] != [(c.instrument, c.scale) for c, _, _ in b]:
        raise ValueError("code-offset counts of different scales cannot be merged")
    return [(replace(x, **{k: getattr(x, k) + getattr(y, k) for k in summed}), ox + oy, n)
            for (x, ox, n), (y, oy, _) in zip(a, b, strict=True)]


def judge_code_offsets(scales: Sequence[tuple[CodeOffset, int, int]], modes: Mapping[str, str],
                       stacklevel: int = 2) -> list[CodeOffset]:
    """:func:`check_code_offsets` on counts already made (:func:`count_code_offsets`, merged
    over the batches of a run): refuse, warn and return what goes in the provenance.

    Raises
    ------
    CodeOffsetError
        Evidence on an instrument read ``auto``.
    """
    found = _detected(scales)
    decided = {"code", "shift-down", "shift-up"}
    refuse = [f for f in found if modes.get(f.instrument, "auto") not in decided]
    if refuse:
        raise CodeOffsetError(offset_message(refuse))
    for f in found:
        warnings.warn(f"{f.evidence}; read as {modes[f.instrument]!r} as chosen "
                      "(answer_values)", XinliScreenWarning, stacklevel=stacklevel + 1)
    hints = [f for f in _possible(scales) if modes.get(f.instrument, "auto") not in decided]
    for f in hints:
        warnings.warn(f"possible code offset: {f.evidence}; if it is coded "
                      f"{f.lo + 1}-{f.hi + 1}, rerun with --answer-values "
                      f"{f.instrument}=shift-down (Python answer_values="
                      f"{{'{f.instrument}': 'shift-down'}})", XinliScreenWarning,
                      stacklevel=stacklevel + 1)
    return found + hints


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
