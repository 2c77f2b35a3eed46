"""Completion times: parsing duration texts and the too-fast check."""

from __future__ import annotations

import math
import re
import unicodedata

import numpy as np
import pandas as pd

# --------------------------------------------------------------------------- response time

_DURATION_UNITS = (
    (3600.0, r"(?:小时|時|时|h|hr|hrs|hour|hours)"),
    (60.0, r"(?:分钟|分鐘|分|m|min|mins|minute|minutes)"),
    (1.0, r"(?:秒钟|秒鐘|秒|s|sec|secs|second|seconds)"),
)
_NUMBER = r"(\d+(?:\.\d+)?)"
_UNIT_RE = re.compile(
    "^" + "".join(f"(?:{_NUMBER}{unit})?" for _, unit in _DURATION_UNITS) + "$",
    re.IGNORECASE)
_PLAIN_RE = re.compile(rf"^{_NUMBER}$")
_CLOCK_RE = re.compile(r"^(\d+):([0-5]?\d)(?::([0-5]?\d(?:\.\d+)?))?$")


def _parse_one(text: str) -> tuple[float, str | None]:
    s = unicodedata.normalize("NFKC", text).strip().replace(" ", "").replace(",", "")
    if not s:
        return math.nan, "time-missing"
    if (hit := _PLAIN_RE.match(s)) is not None:
        return float(hit.group(1)), None
    if (hit := _CLOCK_RE.match(s)) is not None:
        a, b, c = hit.groups()
        if c is None:  # m:ss
            return 60.0 * float(a) + float(b), None
        return 3600.0 * float(a) + 60.0 * float(b) + float(c), None
    hit = _UNIT_RE.match(s)
    if hit is not None and any(g is not None for g in hit.groups()):
        return sum(f * float(g) for (f, _), g in zip(_DURATION_UNITS, hit.groups(),
                                                      strict=True) if g is not None), None
    return math.nan, "time-unparseable"


def parse_duration(values: pd.Series) -> pd.DataFrame:
    """Completion times as seconds, e.g. the 问卷星 (Wenjuanxing) ``所用时间`` column.

    Parameters
    ----------
    values : Series, shape (n_respondents,)
        Numbers (seconds) or text: ``"120"``, ``"120秒"``, ``"2分3秒"``, ``"2分钟"``,
        ``"1小时2分3秒"``, ``"1h2m3s"``, ``"2:03"`` (m:ss), ``"1:02:03"`` (h:mm:ss); full-width
        digits and spaces are accepted.

    Returns
    -------
    DataFrame, shape (n_respondents, 2), same index as ``values``
        ``seconds`` (float, NaN when not available) and ``problem`` (object): None, or
        ``"time-missing"`` (empty cell), ``"time-unparseable"`` (text in no known format,
        including negative numbers) or ``"time-negative"`` (a negative number).

    Notes
    -----
    Each distinct text is parsed once, so a column of 100,000 times with a few hundred
    distinct values costs a few hundred parses.
    """
    if not isinstance(values, pd.Series):
        raise TypeError("the values parameter of parse_duration must be a pandas Series; "
                        f"got {type(values).__name__}")
    seconds = np.full(len(values), np.nan)
    problem = np.full(len(values), None, dtype=object)
    missing = values.isna().to_numpy()
    problem[missing] = "time-missing"
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        num = values.to_numpy(dtype=float, na_value=np.nan)
        seconds[~missing] = num[~missing]
    else:
        present = values[~missing]
        is_num = present.map(lambda v: isinstance(v, (int, float, np.integer, np.floating))
                             and not isinstance(v, bool)).to_numpy(dtype=bool)
        pos = np.flatnonzero(~missing)
        seconds[pos[is_num]] = present[is_num].to_numpy(dtype=float)
        texts = present[~is_num].astype(str)
        parsed = {t: _parse_one(t) for t in pd.unique(texts)}
        seconds[pos[~is_num]] = [parsed[t][0] for t in texts]
        problem[pos[~is_num]] = [parsed[t][1] for t in texts]
    negative = seconds < 0
    seconds[negative] = np.nan
    problem[negative] = "time-negative"
    return pd.DataFrame({"seconds": seconds,
                         "problem": pd.Series(problem, index=values.index, dtype=object)},
                        index=values.index)


def response_time(times: pd.Series, min_seconds: float) -> pd.DataFrame:
    """Flag protocols completed faster than a minimum time.

    Parameters
    ----------
    times : Series, shape (n_respondents,)
        Completion times, numbers in seconds or text as accepted by :func:`parse_duration`.
    min_seconds : float
        A protocol completed in fewer seconds is too fast. Huang et al. (2012) suggest about
        2 seconds per item (``min_seconds = 2 * n_items``).

    Returns
    -------
    DataFrame, shape (n_respondents, 3), same index as ``times``
        ``response_seconds`` (float, NaN when unavailable), ``too_fast`` (pandas ``boolean``,
        NA when the time is unavailable) and ``response_time_problem`` (None or a code from
        :func:`parse_duration`).

    References
    ----------
    .. [1] Huang, J. L., Curran, P. G., Keeney, J., Poposki, E. M., & DeShon, R. P. (2012).
       Detecting and deterring insufficient effort responding to surveys. *Journal of
       Business and Psychology, 27*(1), 99-114. https://doi.org/10.1007/s10869-011-9231-8
    """
    if isinstance(min_seconds, bool) or not isinstance(min_seconds, (int, float)) \
            or not min_seconds > 0:
        raise ValueError("the min_seconds parameter of response_time must be a positive "
                         f"number of seconds; got {min_seconds!r}")
    parsed = parse_duration(times)
    sec = parsed["seconds"].to_numpy()
    with np.errstate(invalid="ignore"):
        fast = sec < float(min_seconds)
    return pd.DataFrame({
        "response_seconds": sec,
        "too_fast": pd.array(np.where(np.isnan(sec), None, fast), dtype="boolean"),
        "response_time_problem": parsed["problem"],
    }, index=times.index)
