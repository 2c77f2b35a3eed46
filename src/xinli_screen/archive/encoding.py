"""Rows of the pupil file store as JSON text, chunk by chunk, and the streamed content hash.

A wave of 10^6 sheets is never a list of 10^6 dicts: the importer takes each chunk of rows
of the result table as column lists (``Series.tolist``) and encodes each row's ``data`` and
``attributes`` with orjson, and the content hash of a results table (what decides a no-op
re-import) is fed column by column and chunk by chunk (:class:`ContentDigest`). The values
are those of :func:`~xinli_screen.archive.base._plain`: NaN and NA are ``null``, numpy
scalars plain numbers, dates ISO text; a row orjson cannot encode (an integer beyond 64 bits,
a lone surrogate) is encoded by the standard library the way it always was.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import pandas as pd

from xinli_screen.archive.base import _plain

__all__ = ["HASH_CHUNK", "ContentDigest", "column_lists", "encode_rows", "texts"]

_OPT = orjson.OPT_SERIALIZE_NUMPY
#: Rows per chunk read and fed to the content hash (fixed: the hash depends on it).
HASH_CHUNK = 50_000


def _default(value: Any) -> Any:
    """What orjson cannot encode natively, made plain (never the same object back)."""
    plain = _plain(value)
    if plain is value:
        return str(value)
    return plain


def column_lists(frame: pd.DataFrame, start: int, stop: int) -> list[list[Any]]:
    """The rows ``start:stop`` of ``frame``, one Python list per column (by position)."""
    return [frame.iloc[start:stop, j].tolist() for j in range(frame.shape[1])]


def encode_rows(names: Sequence[str], columns: Sequence[Sequence[Any]],
                n: int | None = None) -> list[str]:
    """One JSON object per row: ``{names[j]: columns[j][i]}``.

    Parameters
    ----------
    names : sequence of str
        Keys, in order (a repeated name keeps its last value, as ``dict`` does).
    columns : sequence of sequences
        One list of values per name, all the same length.
    n : int, optional
        Number of rows (needed when there are no columns).

    Returns
    -------
    list of str
    """
    if not names:
        return ["{}"] * (n if n is not None else 0)
    names = list(names)
    try:
        return [orjson.dumps(dict(zip(names, row, strict=True)), default=_default,
                             option=_OPT).decode()
                for row in zip(*columns, strict=True)]
    except (TypeError, orjson.JSONEncodeError):
        return [json.dumps({k: _plain(v) for k, v in zip(names, row, strict=True)},
                           ensure_ascii=False, default=str)
                for row in zip(*columns, strict=True)]


def texts(values: Sequence[Any], default: str) -> list[str]:
    """``str(value)`` of each plain value, ``default`` for an empty one (None, NaN, NA, "")."""
    out = []
    for v in values:
        if type(v) is str:
            out.append(v or default)
        else:
            p = _plain(v)
            out.append(str(p) if p else default)
    return out


def _feed(h: Any, values: list[Any]) -> None:
    try:
        h.update(orjson.dumps(values, default=_default, option=_OPT))
    except (TypeError, orjson.JSONEncodeError):
        h.update(json.dumps([_plain(v) for v in values], ensure_ascii=False,
                            default=str).encode("utf-8"))


class ContentDigest:
    """SHA-256 of a part's content, fed chunk by chunk as the rows are read (never the whole
    table as text): per chunk, each table's column names, row count and every value (as
    plain values), column by column.

    The digest depends on the chunk boundaries, so every importer feeds chunks of exactly
    :data:`HASH_CHUNK` rows (the last one fewer).

    Parameters
    ----------
    header : mapping
        JSON-ready facts that belong to the content (part name, kind, pseudonymised, id
        column ...).
    """

    def __init__(self, header: Mapping[str, Any]) -> None:
        self._h = hashlib.sha256(b"xinli-screen archive content v3\n")
        self._h.update(json.dumps(dict(header), sort_keys=True, ensure_ascii=False,
                                  default=str).encode("utf-8"))

    def feed(self, frames: Mapping[str, pd.DataFrame | pd.Series]) -> None:
        """Add one chunk.

        Parameters
        ----------
        frames : mapping of name -> DataFrame or Series
            The chunk's tables (the same names, columns and row count for each table).
        """
        for label, frame in frames.items():
            table = frame.to_frame() if isinstance(frame, pd.Series) else frame
            self._h.update(json.dumps([label, [str(c) for c in table.columns], len(table)],
                                      ensure_ascii=False).encode("utf-8"))
            for j in range(table.shape[1]):
                _feed(self._h, table.iloc[:, j].tolist())

    def hexdigest(self) -> str:
        """The digest of the chunks fed so far (hex)."""
        return self._h.hexdigest()
