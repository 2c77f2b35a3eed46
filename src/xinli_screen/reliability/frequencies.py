"""Response frequencies per item (psych::response.frequencies)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen._analysis import check_missing, prepare
from xinli_screen.reliability.keys import InstrumentArg


def response_frequencies(items: Any, keys: Any = None, missing: str = "pairwise", *,
                         scale_range: tuple[float, float] | None = None,
                         instrument: InstrumentArg = None,
                         scales: Sequence[str] | None = None,
                         by: str | None = None) -> pd.DataFrame:
    """How often each answer was given, per item (tidy, one row per item and response).

    Parameters
    ----------
    items, keys, missing, scale_range, instrument, scales, by
        As :func:`cronbach_alpha`; the same respondents are counted (``missing`` decides who).

    Returns
    -------
    DataFrame
        Columns: ``by`` / ``scale`` when given, ``item`` (str), ``key`` (+1/-1), ``response``
        (float: the code **as answered**, before reverse keying), ``count`` (int),
        ``proportion`` (float, of the respondents who answered the item), and
        ``p_missing`` (float, share of the input rows that left the item blank, repeated on
        each row of the item). Responses are the instrument's declared codes (unused options
        included, count 0), else the integers of ``scale_range``, else the observed values.

    Notes
    -----
    Codes are counted before keying so that the table shows what respondents chose; psych's
    ``response.freq`` does the same.
    """
    check_missing(missing)
    inst = None
    if instrument is not None:
        from xinli_screen._analysis import _load_instrument

        inst = _load_instrument(instrument)
    prepared = prepare(items, keys=keys, scale_range=scale_range, instrument=inst,
                       scales=scales, by=by, missing=missing, min_items=1)
    frame = items if isinstance(items, pd.DataFrame) else None
    rows = []
    for s in prepared.sets:
        raw = s.raw if s.raw is not None else s.x
        if frame is not None and by is not None:
            group_rows = (frame[by].isna() if s.group is None else frame[by] == s.group)
            blank = frame.loc[group_rows, list(s.items)].isna().mean().to_numpy()
        elif frame is not None:
            blank = frame.loc[:, list(s.items)].isna().mean().to_numpy()
        else:
            blank = np.full(s.n_items, np.nan)
        for j, item in enumerate(s.items):
            col = raw[:, j]
            col = col[~np.isnan(col)]
            if inst is not None:
                item_obj = next(i for i in inst.items if i.id == item)
                codes = np.array(inst.response_scale_of(item_obj).codes, dtype=float)
            elif s.scale_range is not None and all(float(v).is_integer()
                                                   for v in s.scale_range) \
                    and s.scale_range[1] - s.scale_range[0] <= 100:
                codes = np.arange(s.scale_range[0], s.scale_range[1] + 1)
            else:
                codes = np.unique(col)
            extra = np.setdiff1d(np.unique(col), codes)
            codes = np.union1d(codes, extra)
            counts = (col[:, None] == codes[None, :]).sum(axis=0) if len(col) else \
                np.zeros(len(codes), dtype=int)
            for code, count in zip(codes, counts, strict=True):
                row = {}
                if prepared.by is not None:
                    row[prepared.by] = s.group
                if prepared.instrument is not None:
                    row["scale"] = s.scale
                row.update({"item": item, "key": s.keys[j], "response": float(code),
                            "count": int(count),
                            "proportion": count / len(col) if len(col) else math.nan,
                            "p_missing": float(blank[j])})
                rows.append(row)
    return pd.DataFrame(rows)


