"""Vectorised text helpers for per-respondent messages (reasons, status details).

Text is built only for the rows that need it and joined column by column (one pass per rule or
scale, never one per respondent).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["fmt_numbers", "join_text", "text_where"]


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
