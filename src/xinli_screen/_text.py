"""Vectorised text helpers for per-respondent messages (reasons, status details).

Text is built only for the rows that need it and joined column by column (one pass per rule or
scale, never one per respondent).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

__all__ = ["TEXT_DTYPE", "decode_text", "fmt_numbers", "join_text", "text_at", "text_where"]


def _text_dtype() -> pd.StringDtype:
    """The dtype of every text column the library builds: Arrow-backed, NaN for missing.

    pandas 3 gives text columns this dtype by default (``"str"``); pandas 2 reads ``"str"`` as
    numpy ``<U`` text, which turns a missing value into the text ``"None"``. pandas 2.3 spells
    the dtype ``StringDtype("pyarrow", na_value=np.nan)``, pandas 2.1 and 2.2
    ``StringDtype("pyarrow_numpy")``; both compare equal to ``"str"`` under pandas 3.
    """
    try:
        return pd.StringDtype("pyarrow", na_value=np.nan)
    except TypeError:  # pandas < 2.3: no na_value argument, the same dtype by its first name
        return pd.StringDtype("pyarrow_numpy")


#: pandas ``str`` (Arrow storage, NaN missing) under pandas 2.2, 2.3 and 3.x alike.
TEXT_DTYPE: pd.StringDtype = _text_dtype()


def fmt_numbers(values: np.ndarray) -> np.ndarray:
    """Numbers as short text (2 decimals at most, no trailing ``.0``); object array."""
    return np.array([f"{v:g}" for v in np.round(np.asarray(values, dtype=float), 2)],
                    dtype=object)


def text_where(n: int, where: np.ndarray, make: Callable[[np.ndarray], np.ndarray]
               ) -> np.ndarray:
    """Object array of length ``n``: ``make(rows)`` in the rows ``where`` holds, else ""."""
    out = np.full(n, "", dtype=object)
    idx = np.nonzero(where)[0]
    if len(idx):
        out[idx] = make(idx)
    return out


def join_text(acc: np.ndarray, add: np.ndarray, where: np.ndarray, sep: str = "; "
              ) -> np.ndarray:
    """``acc`` with ``add`` appended (joined by ``sep``) in the rows ``where`` holds."""
    out = acc.copy()
    idx = np.nonzero(where)[0]
    if len(idx):
        old = acc[idx]
        out[idx] = np.where(old == "", add[idx], old + sep + add[idx])
    return out


def decode_text(codes: np.ndarray, labels: Sequence[str | None]
                ) -> pd.api.extensions.ExtensionArray:
    """Per-row text from integer codes into a small list of labels, without Python objects.

    Parameters
    ----------
    codes : ndarray of int, shape (n,)
        Index into ``labels`` per row; a negative code means missing.
    labels : sequence of str or None
        The distinct texts (None = missing).

    Returns
    -------
    pandas ``str`` array, shape (n,)
        ``labels[codes]`` as an Arrow-backed string array (the dtype pandas gives text
        columns), NaN where the code is negative or the label is None. Built by Arrow's
        ``take``, so the cost does not grow with the number of Python objects.
    """
    import pyarrow as pa

    codes = np.asarray(codes)
    dictionary = pa.array(list(labels), type=pa.large_string())
    taken = dictionary.take(pa.array(codes, mask=codes < 0))
    return pd.array(taken, dtype=TEXT_DTYPE)


def text_at(n: int, rows: np.ndarray, texts: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Per-row text of length ``n``: ``texts[k]`` in row ``rows[k]``, "" in every other row.

    Parameters
    ----------
    n : int
        Number of rows.
    rows : ndarray of int, shape (m,)
        Distinct row positions that carry a text.
    texts : array_like of str, shape (m,)
        Their texts (None or "" for none).

    Returns
    -------
    pandas ``str`` array, shape (n,)
        Built from the distinct texts only (:func:`decode_text`), never "NaN".
    """
    codes = np.zeros(n, dtype=np.int64)
    labels: list[str | None] = [""]
    if len(rows):
        found, uniques = pd.factorize(np.asarray(texts, dtype=object))
        codes[rows] = found + 1
        labels += [str(u) for u in uniques]
    return decode_text(codes, labels)
