"""Reverse keying of item responses before any reliability statistic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen._analysis import prepare
from xinli_screen.instrument.models import Instrument

InstrumentArg = str | Path | Instrument | None


def apply_keys(items: pd.DataFrame, keys: Any = None,
               scale_range: tuple[float, float] | None = None, *,
               instrument: InstrumentArg = None) -> pd.DataFrame:
    """Reverse-key items exactly as every function of this module does.

    Parameters
    ----------
    items : DataFrame, shape (n_respondents, n_items)
        Numeric codes, NaN = missing.
    keys : list of str, or mapping of str to {+1, -1}, optional
        Reverse-keyed columns, or a key per column (unlisted columns are +1).
    scale_range : (min, max), optional
        Declared response range; required when any key is -1 and no instrument is given.
    instrument : str, Path or Instrument, optional
        Use the instrument's reverse keys and response scales instead (its item columns only).

    Returns
    -------
    DataFrame, same shape, index and columns as the items used
        ``min + max - x`` for reverse-keyed items, unchanged otherwise; NaN stays NaN.
        Applying the same keys twice gives back the input.

    Raises
    ------
    AnalysisError
        Unknown key names, keys other than +1/-1, or reversal without a declared range.
    ResponseDataError
        Non-numeric columns, or answers outside the declared range.
    """
    prepared = prepare(items, keys=keys, scale_range=scale_range, instrument=instrument,
                       missing="pairwise", per_scale=False, min_items=1)
    frame = items if isinstance(items, pd.DataFrame) else pd.DataFrame(np.asarray(items))
    s = prepared.sets[0]
    cols = list(s.items)
    x = frame.loc[:, cols].to_numpy(dtype=float, na_value=np.nan)
    key = np.array(s.keys)
    if instrument is not None:
        from xinli_screen._analysis import _load_instrument
        from xinli_screen.scoring import reverse_key

        inst = _load_instrument(instrument)
        full = pd.DataFrame(np.nan, index=frame.index, columns=list(inst.item_ids))
        full.loc[:, cols] = x
        return reverse_key(full, inst).loc[:, cols]
    if s.scale_range is None:
        return pd.DataFrame(x, index=frame.index, columns=cols)
    lo, hi = s.scale_range
    return pd.DataFrame(np.where(key < 0, lo + hi - x, x), index=frame.index, columns=cols)


