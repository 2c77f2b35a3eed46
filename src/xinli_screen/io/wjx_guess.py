"""Blocks of items found by their answers, for instruments without wording to match.

Many instruments used in schools ship without item wording (MHT, DSRSC, SCARED, PHQ-A: the
wording is licensed), so :func:`~xinli_screen.io.wjx.guess_columns` cannot match their items
to an export's header. In a 问卷星 export their items are consecutive questions whose answers
are the instrument's option labels (按选项文本: ``是``/``否`` for MHT) or option positions /
codes (按序号, 按分数). :func:`guess_blocks` finds runs of consecutive single-column questions
whose sample cells all fit the instrument's items, with run length equal to the item count,
and proposes a column-map block (``mht: {first_question: 7}``). Instruments that share a
response scale (DSRSC and SCARED both answer 没有/有时有/经常有) are told apart by their item
counts and by the order given (the ``-i`` order). The proposal must be confirmed by the user:
the CLI writes it with a comment saying how it was found.

Only the header and the cells of the sample rows are read; no cell value is ever returned or
written into a note.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from xinli_screen.instrument.models import Instrument, ResponseScale
from xinli_screen.io.column_map import QuestionBlock
from xinli_screen.io.wjx import (
    _SKIP_TEXT,
    IP_COLUMNS,
    METADATA_COLUMNS,
    SKIP_CODES,
    _clean_text,
    _letters,
    _nfkc,
    parse_header,
)

__all__ = ["BlockGuess", "BlockGuesses", "guess_blocks"]

#: Header words of fill-in / demographic questions, never taken into a block.
FILL_IN_HINTS = ("学号", "姓名", "名字", "性别", "年级", "班级", "学校", "年龄", "出生", "民族",
                 "手机", "电话", "编号", "考号", "学籍", "身份证", "住址", "地址")
#: Longest header text (letters) read as a fill-in question when it holds a hint above.
_FILL_IN_LENGTH = 8


@dataclass(frozen=True)
class BlockGuess:
    """A proposed block: where one instrument's items sit, found from the answers.

    Attributes
    ----------
    instrument : str
    block : QuestionBlock
        ``first_question`` of the run.
    columns : list of str, shape (n_items,)
        The run's columns, in item order.
    how : str
        How it was found (no cell values), for the map comment and stderr.
    """

    instrument: str
    block: QuestionBlock
    columns: list[str]
    how: str


@dataclass
class BlockGuesses:
    """What :func:`guess_blocks` found.

    Attributes
    ----------
    blocks : dict instrument id -> BlockGuess
        Instruments placed unambiguously, in the order given.
    unplaced : list of str
        Instruments without a (unique) placement.
    notes : list of str
        Remarks: shared answer scales told apart by order, ambiguous placements.
    """

    blocks: dict[str, BlockGuess] = field(default_factory=dict)
    unplaced: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Column:
    name: str
    number: int
    texts: frozenset[str]  # cleaned option texts in the sample
    numbers: frozenset[float]  # numbers in the sample (skip codes removed)

    @property
    def empty(self) -> bool:
        return not self.texts and not self.numbers


def _sample(name: str, series: pd.Series, number: int) -> _Column:
    texts: set[str] = set()
    numbers: set[float] = set()
    for value in pd.unique(series.dropna()):
        text = _nfkc(str(value))
        if text == "" or text in _SKIP_TEXT:
            continue
        try:
            x = float(text)
        except ValueError:
            texts.add(_letters(_clean_text(text)))
            continue
        if x not in SKIP_CODES and not np.isnan(x):
            numbers.add(x)
    return _Column(name, number, frozenset(texts), frozenset(numbers))


def _labels(scale: ResponseScale) -> frozenset[str]:
    out = set()
    for o in scale.options:
        out |= {_letters(t) for t in (o.label.zh, o.label.en, *o.aliases) if t}
    return frozenset(out - {""})


def _numbers(scale: ResponseScale) -> frozenset[float]:
    k = len(scale.options)
    return frozenset({*map(float, scale.codes), *map(float, scale.missing_codes),
                      *(float(i) for i in range(1, k + 1))})


def _candidates(frame: pd.DataFrame, taken: Collection[str]) -> list[_Column]:
    """Single-column numbered questions, in header order, that are not fill-in questions."""
    skip = set(taken) | {str(c) for c in frame.columns
                         if _nfkc(str(c)) in METADATA_COLUMNS + IP_COLUMNS}
    headers = [parse_header(c) for c in frame.columns]
    count: dict[int, int] = {}
    for h in headers:
        if h.number is not None:
            count[h.number] = count.get(h.number, 0) + 1
    out = []
    for col, h in zip(frame.columns, headers, strict=True):
        if h.number is None or count[h.number] != 1 or h.column in skip:
            continue
        label = _letters(h.text)
        if len(label) <= _FILL_IN_LENGTH and any(hint in label for hint in FILL_IN_HINTS):
            continue  # 学号, 你的姓名, 所在学校 ...; an item's wording is longer
        out.append(_sample(h.column, frame[col], h.number))
    return out


def guess_blocks(
    frame: pd.DataFrame,
    instruments: Sequence[Instrument],
    *,
    taken: Collection[str] = (),
) -> BlockGuesses:
    """Find each instrument's items as a run of consecutive questions, from the answers.

    Parameters
    ----------
    frame : DataFrame, shape (n_rows, n_columns)
        A 问卷星 export (a few hundred rows suffice), cells as read.
    instruments : sequence of Instrument
        The instruments to place, in the order they are expected in the export.
    taken : collection of str
        Columns already used (id column, columns matched by wording); never in a block.

    Returns
    -------
    BlockGuesses
        ``blocks[inst].block`` is ``{first_question: N}``; item k is question ``N + k - 1``.

    Notes
    -----
    A question fits item k when every non-empty cell of the sample is one of the option
    labels of the item's response scale (letter prefixes ``A.`` tolerated), or, in a numeric
    download, one of its codes or option positions 1..k (-2/-3 and ``(跳过)`` ignored). A
    download with option text anywhere is read as text throughout. Questions whose header
    names a fill-in field (学号, 姓名, 学校, 年级, 班级, 性别 ...) and matrix questions are
    never taken (a header text of at most 8 characters holding such a word; item wording
    that mentions 学校 is longer). Among all placements without overlap, the one placing most
    instruments is chosen, then the one whose runs end where the fitting questions end (or
    where the next block starts), then the one keeping the order of ``instruments``. When
    another placement scores the same, the instruments it places differently are left
    unplaced (listed in ``notes``).
    """
    cols = _candidates(frame, taken)
    insts = list(instruments)
    result = BlockGuesses()
    if not insts or not cols:
        result.unplaced = [i.id for i in insts]
        return result
    label_union = frozenset().union(*(_labels(s) for i in insts for s in i.response_scales))
    text_mode = any(c.texts and not c.numbers and c.texts <= label_union for c in cols)

    fits_cache: dict[tuple[int, str, str], bool] = {}

    def fits(p: int, inst: Instrument, scale: ResponseScale) -> bool:
        key = (p, inst.id, scale.id)
        if key not in fits_cache:
            c = cols[p]
            if text_mode:
                ok = not c.numbers and c.texts <= _labels(scale)
            else:
                ok = not c.texts and c.numbers <= _numbers(scale)
            fits_cache[key] = ok
        return fits_cache[key]

    n_cols = len(cols)
    scales = [[inst.response_scale_of(it) for it in inst.items] for inst in insts]
    starts: list[list[int]] = []
    for j, inst in enumerate(insts):
        n = len(inst.items)
        ok = []
        for p in range(n_cols - n + 1):
            if cols[p + n - 1].number != cols[p].number + n - 1:
                continue
            run = range(p, p + n)
            if (all(cols[q].number == cols[p].number + (q - p) for q in run)
                    and all(fits(q, inst, scales[j][q - p]) for q in run)
                    and not all(cols[q].empty for q in run)):
                ok.append(p)
        starts.append(ok)

    def left_tight(j: int, p: int) -> bool:
        return (p == 0 or cols[p - 1].number != cols[p].number - 1
                or not fits(p - 1, insts[j], scales[j][0]))

    def right_tight(j: int, p: int) -> bool:
        e = p + len(insts[j].items) - 1
        return (e == n_cols - 1 or cols[e + 1].number != cols[e].number + 1
                or not fits(e + 1, insts[j], scales[j][-1]))

    placements = _best_placements(insts, starts, left_tight, right_tight, n_cols)
    for j, inst in enumerate(insts):
        where = placements[j]
        if not where:
            result.unplaced.append(inst.id)
            continue
        if len(where) > 1:
            shown = sorted(cols[p].number for p in where if p >= 0)
            result.notes.append(
                f"{inst.id}: {len(inst.items)} consecutive questions fit at more than one "
                f"place (first question {', '.join(map(str, shown[:5]))}); no block proposed, "
                "write it yourself")
            result.unplaced.append(inst.id)
            continue
        p = where[0]
        n = len(inst.items)
        start, end = cols[p].number, cols[p + n - 1].number
        labels = "/".join(dict.fromkeys(o.label.zh for s in dict.fromkeys(
            scales[j]) for o in s.options))
        answers = (f"answers are all among {inst.id}'s option labels ({labels})" if text_mode
                   else f"answers are all among {inst.id}'s codes or option positions")
        how = (f"found from the answers, not the wording: questions {start}-{end} are {n} "
               f"consecutive questions whose {answers}; CONFIRM before use")
        result.blocks[inst.id] = BlockGuess(inst.id, QuestionBlock("first_question", start),
                                            [c.name for c in cols[p:p + n]], how)
    shared: dict[frozenset[str], list[str]] = {}
    for j, inst in enumerate(insts):
        if inst.id in result.blocks:
            shared.setdefault(frozenset(_letters(o.label.zh) for s in scales[j]
                                        for o in s.options), []).append(inst.id)
    for ids in shared.values():
        if len(ids) > 1:
            result.notes.append(f"{' and '.join(ids)} share their answer labels: told apart by "
                                "item count and by the order given with -i; check that the "
                                "export has them in this order")
    return result


Score = tuple[int, int, int]
State = tuple[int, int, int]


def _best_placements(
    insts: Sequence[Instrument],
    starts: Sequence[Sequence[int]],
    left_tight: Callable[[int, int], bool],
    right_tight: Callable[[int, int], bool],
    n_cols: int,
) -> list[list[int] | None]:
    """Best non-overlapping placement of the instruments over the candidate columns.

    A dynamic programme over (column p, instruments placed so far, how column p - 1 ended)
    maximises (instruments placed, tight run ends, -pairs out of the given order). The
    optimal moves form a DAG; counting paths through it tells, per instrument, whether every
    optimal placement puts it at the same start.

    Returns
    -------
    list, shape (n_instruments,)
        Per instrument: None (placed by no optimal placement), ``[p]`` (the same start in
        every optimal placement) or several starts / ``[p, -1]`` (differs between them).
    """
    m = len(insts)
    at: dict[int, list[int]] = {}
    for j, ok in enumerate(starts):
        for p in ok:
            at.setdefault(p, []).append(j)
    # flag 0: column p - 1 ended no block; 1: it ended a block already right-tight;
    # 2: it ended a block that is right-tight only if another block starts at p
    best: dict[State, Score] = {(n_cols, mask, flag): (0, 0, 0)
                                for mask in range(1 << m) for flag in range(3)}
    ways: dict[State, int] = dict.fromkeys(best, 1)
    moves: dict[State, list[tuple[State, int | None]]] = {}
    for p in range(n_cols - 1, -1, -1):
        for mask in range(1 << m):
            for flag in range(3):
                options: list[tuple[Score, State, int | None]] = [
                    (best[(p + 1, mask, 0)], (p + 1, mask, 0), None)]
                for j in at.get(p, []):
                    if mask >> j & 1:
                        continue
                    rt = right_tight(j, p)
                    nxt = (p + len(insts[j].items), mask | 1 << j, 1 if rt else 2)
                    tight = int(left_tight(j, p) or flag > 0) + int(flag == 2) + int(rt)
                    later = sum(1 for k in range(j + 1, m) if mask >> k & 1)
                    sub = best[nxt]
                    options.append(((sub[0] + 1, sub[1] + tight, sub[2] - later), nxt, j))
                top = max(o[0] for o in options)
                state = (p, mask, flag)
                best[state] = top
                moves[state] = [(nxt, j) for score, nxt, j in options if score == top]
                ways[state] = sum(ways[nxt] for nxt, _j in moves[state])
    start: State = (0, 0, 0)
    total = ways[start]
    reach: list[dict[State, int]] = [{} for _ in range(n_cols + 1)]  # paths to a state
    reach[0][start] = 1
    through: dict[int, dict[int, int]] = {}
    for p in range(n_cols):
        for state, count in reach[p].items():
            for nxt, j in moves[state]:
                reach[nxt[0]][nxt] = reach[nxt[0]].get(nxt, 0) + count
                if j is not None:
                    counts = through.setdefault(j, {})
                    counts[p] = counts.get(p, 0) + count * ways[nxt]
    out: list[list[int] | None] = []
    for j in range(m):
        counts = through.get(j)
        if not counts:
            out.append(None)
        elif len(counts) == 1 and next(iter(counts.values())) == total:
            out.append(list(counts))
        else:
            out.append(sorted(counts) + ([] if sum(counts.values()) == total else [-1]))
    return out
