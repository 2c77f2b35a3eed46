"""问卷星 (Wenjuanxing) exports: recognise them, guess the column map, normalise the answers.

What an export looks like (shared research, china_practice.md section 3.1):

* leading metadata columns ``序号``, ``提交答卷时间``, ``所用时间``, ``来源``, ``来源详情``,
  ``来自IP`` (:data:`METADATA_COLUMNS`); the IP column is dropped on reading and never reaches
  any output;
* question columns headed ``N、stem``; the sub-rows of a matrix question (how a PHQ-9 battery
  is usually built) become one column each, headed ``N、(sub-row)``, ``第N题(sub-row)`` or
  ``N_k`` / ``QN_k``; their order is the item order;
* two downloads of the same answers: "按选项文本" (cells hold the option text, ``A.完全不会``,
  ``A、从不``, ``完全不会``) and "按序号" (cells hold the option's position, 1 = first
  option); skipped or not-shown questions are ``-2`` / ``-3`` in the numeric download and
  ``(跳过)`` / ``(空)`` in the text download;
* the pupil id in a fill-in question (``学号``) or in the custom link parameter
  (``sojumpparm``, exported as ``自定义字段``).

:func:`guess_columns` builds a column map from the header (and a few rows); the CLI command
``xinli-screen columns guess`` writes it as YAML for reuse. :func:`normalise_answers` turns
the cells of the mapped item columns into what :func:`xinli_screen.responses.prepare_responses`
reads: option text (letter prefix and full-width punctuation tolerated) or codes.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from xinli_screen.errors import ResponseDataError
from xinli_screen.instrument.models import Instrument, ResponseScale

__all__ = [
    "ANSWER_VALUES",
    "IP_COLUMNS",
    "LINK_PARAMETER_COLUMNS",
    "METADATA_COLUMNS",
    "SKIP_CODES",
    "UNDECIDED",
    "AnswerValuesUndecidedError",
    "ColumnGuess",
    "Header",
    "detect_answer_values",
    "drop_ip_columns",
    "guess_columns",
    "is_wjx",
    "normalise_answers",
    "parse_header",
    "undecided_message",
]

#: Metadata columns of a 问卷星 download, in the order they appear.
METADATA_COLUMNS = ("序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP")
#: Columns holding the respondent's IP address: dropped on reading, never written.
IP_COLUMNS = ("来自IP", "IP", "IP地址", "来源IP")
#: Columns holding the custom link parameter (``sojumpparm``).
LINK_PARAMETER_COLUMNS = ("自定义字段", "sojumpparm", "自定义链接参数", "链接参数")
#: Values 问卷星 writes for a question skipped by logic (-2) or not shown (-3).
SKIP_CODES = (-2.0, -3.0)
_SKIP_TEXT = {"(跳过)", "跳过", "(空)", "(未填)", "-2", "-3", "(-2)", "(-3)"}
#: What each skip text means: -2 skipped by logic, -3 not shown, NaN plainly unanswered. The
#: codes are kept (not blanked) so that the reason an answer is missing survives to the
#: failures/notes table; :func:`~xinli_screen.io.source.plan_input` declares them missing.
_SKIP_VALUE = {"(跳过)": -2.0, "跳过": -2.0, "(-2)": -2.0, "-2": -2.0,
               "(空)": -3.0, "(-3)": -3.0, "-3": -3.0, "(未填)": np.nan}
#: How the numbers in item cells are read: ``sequence`` (按序号: 1 = the first option),
#: ``code`` (the numbers are the item's codes, e.g. 按分数 or a cleaned file), ``auto``.
ANSWER_VALUES = ("auto", "text", "sequence", "code")
AnswerValues = Literal["auto", "text", "sequence", "code"]

_ID_HINTS = ("学号", "学籍号", "考号", "准考证号", "studentid", "student_id", "student id",
             "学生编号", "编号")
_LETTER = re.compile(r"^\(?\s*[A-Za-z]\s*[.、:)\]]\s*")
_HEADERS = (
    # 8、(做事时提不起劲)  /  8.(...)
    re.compile(r"^(?:Q|第)?(?P<n>\d+)(?:题)?\s*[、.:]?\s*\((?P<sub>.*)\)\s*$"),
    # 8_1, Q8_1, 8.1, 8-1, 第8题_1
    re.compile(r"^(?:Q|第)?(?P<n>\d+)(?:题)?[_.\-](?P<k>\d+)$"),
    # 8、stem—sub-row  /  8、stem_sub-row
    re.compile(r"^(?:Q|第)?(?P<n>\d+)(?:题)?\s*[、.:]\s*(?P<stem>.+?)\s*[—–]+\s*(?P<sub>.+)$"),
    # 8、stem
    re.compile(r"^(?:Q|第)?(?P<n>\d+)(?:题)?\s*[、.:]\s*(?P<stem>.+)$"),
    # Q8, 第8题 (no wording)
    re.compile(r"^(?:Q(?P<n>\d+)|第(?P<m>\d+)题)$"),
)


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip()


def _letters(text: str) -> str:
    """Text reduced to letters and digits (CJK included), case-folded, for matching."""
    return "".join(ch for ch in _nfkc(text).casefold()
                   if unicodedata.category(ch)[0] in {"L", "N"})


def is_wjx(columns: Sequence[object]) -> bool:
    """True when at least three of the 问卷星 metadata columns are present."""
    names = {_nfkc(str(c)) for c in columns}
    return sum(m in names for m in METADATA_COLUMNS) >= 3


def drop_ip_columns(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Remove IP-address columns (问卷星 ``来自IP``). Returns the frame and what was dropped."""
    drop = [c for c in frame.columns if _nfkc(str(c)) in IP_COLUMNS]
    return (frame.drop(columns=drop) if drop else frame), [str(c) for c in drop]


@dataclass(frozen=True)
class Header:
    """A parsed question header: question number, sub-row text or index, stem text."""

    column: str
    number: int | None
    sub: str | None = None
    index: int | None = None
    stem: str = ""

    @property
    def text(self) -> str:
        """The text that names the item: the sub-row when there is one, else the stem."""
        return self.sub if self.sub else self.stem


def parse_header(column: object) -> Header:
    """Parse a 问卷星 question header (NFKC-folded).

    Reads ``8、(做事时提不起劲)``, ``第8题(...)``, ``Q8_1``, ``8.1``, ``8、stem``,
    ``8.stem``, ``8、stem—sub-row``, ``Q8`` and ``第8题``.

    Parameters
    ----------
    column : object
        One column name.

    Returns
    -------
    Header
        ``number`` is None when the name is not a question header (``学号``, ``序号`` ...).
    """
    name = str(column)
    text = _nfkc(name)
    for pattern in _HEADERS:
        m = pattern.match(text)
        if m:
            parts = m.groupdict()
            number = parts.get("n") or parts.get("m")
            return Header(name, int(number), sub=(parts.get("sub") or None),
                          index=int(parts["k"]) if parts.get("k") else None,
                          stem=parts.get("stem") or "")
    return Header(name, None, stem=text)


@dataclass
class ColumnGuess:
    """A column map guessed from an export's header.

    Attributes
    ----------
    columns : dict item id -> column
    how : dict item id -> "id", "text" or "matrix order" (how the column was found)
    id_column, time_column : str or None
    unmatched : list of str
        Item ids without a column.
    answer_values : {"auto", "text", "sequence", "code", "undecided"}
        How the numbers in item cells are to be read (from the sample rows); ``undecided``:
        they fit both positions and codes, the user must choose (never written to a map).
    wjx : bool
        The header has the 问卷星 metadata columns.
    notes : list of str
        Remarks for the person checking the map (written as YAML comments).
    """

    columns: dict[str, str] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)
    id_column: str | None = None
    time_column: str | None = None
    unmatched: list[str] = field(default_factory=list)
    answer_values: str = "auto"
    wjx: bool = False
    notes: list[str] = field(default_factory=list)


def _similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    short, long_ = sorted((a, b), key=len)
    if len(short) >= 4 and short in long_:
        return 0.9
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


_ID_NAMES = {"id", "sid", "pid", "学号", "studentid", "学生id", "学籍号", "考号"}


def _id_column(headers: Sequence[Header], frame: pd.DataFrame | None) -> str | None:
    for h in headers:
        if _letters(h.column) in _ID_NAMES:
            return h.column
    for h in headers:
        label = _letters(h.text or h.column)
        if any(_letters(hint) and _letters(hint) in label for hint in _ID_HINTS[:5]):
            return h.column
    for h in headers:
        if _nfkc(h.column) in LINK_PARAMETER_COLUMNS and (
                frame is None or frame[h.column].notna().any()):
            return h.column
    for h in headers:
        label = _letters(h.text or h.column)
        if any(_letters(hint) in label for hint in _ID_HINTS[5:]):
            return h.column
    return None


def guess_columns(
    frame: pd.DataFrame,
    instruments: Sequence[Instrument],
    *,
    min_similarity: float = 0.6,
) -> ColumnGuess:
    """Guess which column holds which item, the id column and how answers are coded.

    Parameters
    ----------
    frame : DataFrame, shape (n_rows, n_columns)
        The export (a few rows suffice; the header is what counts).
    instruments : sequence of Instrument
    min_similarity : float
        Smallest text similarity (0-1) between a header and an item's wording to match.

    Returns
    -------
    ColumnGuess

    Notes
    -----
    Columns are matched, in this order: (1) a header equal to the item id; (2) the header's
    sub-row or stem text against the item's zh/en wording (exact, contained, or
    ``difflib`` similarity >= ``min_similarity``; best pairs first); (3) for items still
    unmatched, the sub-columns of a matrix question in order, when their count equals the
    number of unmatched items of the instrument sharing one response scale.
    """
    headers = [parse_header(c) for c in frame.columns]
    guess = ColumnGuess(wjx=is_wjx(frame.columns))
    taken: set[str] = set()
    ip = {str(c) for c in frame.columns if _nfkc(str(c)) in IP_COLUMNS}
    meta = {str(c) for c in frame.columns if _nfkc(str(c)) in METADATA_COLUMNS}
    guess.id_column = _id_column([h for h in headers if h.column not in ip | meta], frame)
    if guess.id_column:
        taken.add(guess.id_column)
    taken |= ip | meta
    if "所用时间" in {_nfkc(c) for c in map(str, frame.columns)}:
        guess.time_column = next(str(c) for c in frame.columns if _nfkc(str(c)) == "所用时间")
    items = [(inst, item) for inst in instruments for item in inst.items]
    # (1) exact ids
    for _inst, item in items:
        for h in headers:
            if h.column not in taken and _nfkc(h.column).casefold() == item.id.casefold():
                guess.columns[item.id] = h.column
                guess.how[item.id] = "id"
                taken.add(h.column)
                break
    # (2) wording
    pairs: list[tuple[float, str, str]] = []
    for _inst, item in items:
        if item.id in guess.columns or item.text is None:
            continue
        wording = [_letters(t) for t in (item.text.zh, item.text.en) if t]
        for h in headers:
            if h.column in taken:
                continue
            label = _letters(h.text)
            score = max((_similarity(label, w) for w in wording), default=0.0)
            if score >= min_similarity:
                pairs.append((score, item.id, h.column))
    for _score, item_id, col in sorted(pairs, key=lambda p: -p[0]):
        if item_id not in guess.columns and col not in taken:
            guess.columns[item_id] = col
            guess.how[item_id] = "text"
            taken.add(col)
    # (3) matrix order
    groups: dict[int, list[Header]] = {}
    for h in headers:
        if h.number is not None and (h.sub is not None or h.index is not None):
            groups.setdefault(h.number, []).append(h)
    for inst in instruments:
        left = [i for i in inst.items if i.id not in guess.columns]
        if not left:
            continue
        by_scale: dict[str, list] = {}
        for i in left:
            by_scale.setdefault(inst.response_scale_of(i).id, []).append(i)
        for subset in sorted(by_scale.values(), key=len, reverse=True):
            subset = sorted(subset, key=lambda i: i.number)
            for number, group in sorted(groups.items()):
                free = [h for h in group if h.column not in taken]
                if len(free) == len(group) == len(subset):
                    for it, h in zip(subset, sorted(free, key=_sub_order(group)), strict=True):
                        guess.columns[it.id] = h.column
                        guess.how[it.id] = "matrix order"
                        taken.add(h.column)
                    guess.notes.append(f"{inst.id}: items {subset[0].number}-"
                                       f"{subset[-1].number} taken from the sub-columns of "
                                       f"question {number} in order")
                    break
    guess.unmatched = [i.id for _inst, i in items if i.id not in guess.columns]
    scales = {guess.columns[i.id]: inst.response_scale_of(i) for inst, i in items
              if i.id in guess.columns}
    if guess.wjx and scales:
        guess.answer_values = detect_answer_values(frame, scales)
    return guess


def _sub_order(group: Sequence[Header]) -> Callable[[Header], int]:
    position = {h.column: k for k, h in enumerate(group)}
    return lambda h: (h.index if h.index is not None else position[h.column])


def _numeric(series: pd.Series) -> np.ndarray:
    text = series.dropna().astype(str).map(_nfkc)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)


#: What :func:`detect_answer_values` returns when the numbers fit both readings.
UNDECIDED = "undecided"


class AnswerValuesUndecidedError(ResponseDataError):
    """The numbers of a 问卷星 download fit both option positions (按序号) and codes (按分数);
    the user must say which (docs/errors.md#wjx-undecided)."""


def undecided_message(where: str = "") -> str:
    """The data problem for a download whose numbers fit both readings (no data values)."""
    return (f"{where}the numbers in the item columns of this 问卷星 download fit both readings: "
            "option positions (按序号, 1 = the first option) and codes (按分数); no cell "
            "holds a number only a code can be (such as 0) or only a position can be (such as "
            "4 on a 0-3 item), as happens when nobody chose the first or the last option. "
            "Read the wrong way every answer moves by one (a PHQ-9 item 9 answer of 1 becomes "
            "0); nothing was scored. Say how the file was downloaded: --answer-values sequence "
            "(按序号) or --answer-values code (按分数); in a column map 'answer_values: "
            "sequence' or 'answer_values: code' (see docs/errors.md#wjx-undecided)")


def detect_answer_values(frame: pd.DataFrame, scales: Mapping[str, ResponseScale]) -> str:
    """Decide how the numbers in the item columns are coded.

    Returns ``"text"`` when no item cell is a number (按选项文本); ``"code"`` when some number
    (other than -2/-3) is not an option position 1..k of its item (0, a fraction, a number
    above k: numbers are the item codes, e.g. 按分数); ``"sequence"`` when every number is an
    option position and some number is not a code of its item (4 on a 0-3 item), or when
    every item's codes are its positions (1..k, both readings agree); :data:`UNDECIDED` when
    every number is both a position and a code of its item and some item's codes are not
    its positions (a 按分数 download of a 0-3 item where nobody chose option A reads as
    按序号 with every answer one lower: the caller must refuse and ask).
    """
    seen = False
    position_only = False
    differs = False
    for col, scale in scales.items():
        v = _numeric(frame[col])
        v = v[~np.isnan(v) & ~np.isin(v, SKIP_CODES)]
        if not len(v):
            continue
        seen = True
        k = len(scale.options)
        if v.min() < 1 or v.max() > k or np.any(v % 1):
            return "code"
        codes = np.asarray(scale.codes, dtype=float)
        if not np.array_equal(np.sort(codes), np.arange(1, k + 1, dtype=float)):
            differs = True
            position_only = position_only or bool(np.any(~np.isin(v, codes)))
    if not seen:
        return "text"
    return UNDECIDED if differs and not position_only else "sequence"


def _clean_text(value: str) -> str:
    text = _nfkc(value)
    return _LETTER.sub("", text) if _LETTER.match(text) and len(_LETTER.sub("", text)) else text


def normalise_answers(
    frame: pd.DataFrame,
    scales: Mapping[str, ResponseScale],
    answer_values: str = "auto",
) -> tuple[pd.DataFrame, str]:
    """Bring the item cells of a 问卷星 export into the form scoring reads.

    Parameters
    ----------
    frame : DataFrame, shape (n_rows, n_columns)
    scales : mapping column -> ResponseScale
        The item columns and the response scale of the item each holds.
    answer_values : {"auto", "sequence", "code"}
        ``sequence``: a number k is the k-th option (按序号); ``code``: numbers are codes;
        ``auto``: :func:`detect_answer_values` on these rows.

    Returns
    -------
    frame : DataFrame
        A copy: ``(跳过)`` -> -2 and ``(空)`` -> -3 (kept as numbers, to be declared
        missing codes: :data:`SKIP_CODES`), ``(未填)`` -> missing; option text with its letter
        prefix (``A.``, ``A、``, ``（A）``) stripped; in ``sequence`` mode numbers ->
        option codes (a position outside 1..k stays as text ``"序号 k"`` and is reported
        as a failure).
    mode : str
        The mode used (``text`` when ``auto`` found no numbers).

    Raises
    ------
    ResponseDataError
        ``sequence`` was asked for but a cell holds 0 (positions start at 1): the file is
        probably a 按分数 download; set ``answer_values: code``.
    AnswerValuesUndecidedError
        (a ResponseDataError) ``auto``, and the numbers fit both positions and codes
        (:data:`UNDECIDED`).
    """
    mode = detect_answer_values(frame, scales) if answer_values == "auto" else answer_values
    if mode == UNDECIDED:
        raise AnswerValuesUndecidedError(undecided_message())
    if mode not in {"text", "sequence", "code"}:
        raise ValueError(f"answer_values must be one of {ANSWER_VALUES}, not {answer_values!r}")
    out = frame.copy()
    for col, scale in scales.items():
        series = out[col]
        codes = [o.code for o in scale.options]
        uniques = pd.unique(series.dropna())
        mapping: dict[object, object] = {}
        for u in uniques:
            text = _nfkc(str(u))
            if text in _SKIP_TEXT or text == "":
                mapping[u] = _SKIP_VALUE.get(text, np.nan)
                continue
            try:
                number = float(text)
            except ValueError:
                mapping[u] = _clean_text(text)
                continue
            if number in SKIP_CODES:
                mapping[u] = number
            elif mode == "sequence":
                if number == 0:
                    raise ResponseDataError(
                        f"column {col!r} holds 0, which is not an option position (按序号 "
                        "numbers start at 1): this looks like a 按分数 download; set "
                        "'answer_values: code' in the column map or --answer-values code "
                        "(see docs/cli.md#wjx-exports)")
                k = int(number) if number == int(number) else None
                mapping[u] = (str(codes[k - 1]) if k is not None and 1 <= k <= len(codes)
                              else f"序号 {text}")
            else:
                mapping[u] = u
        if mapping:
            notna = series.notna()
            mapped = series[notna].map(mapping)
            new = pd.Series(np.nan, index=series.index, dtype=object)
            new[notna] = mapped.to_numpy(dtype=object)
            out[col] = new
    return out, mode
