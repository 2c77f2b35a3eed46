"""The rows of a part to import, built chunk by chunk from a results table.

:class:`_RosterJoin` matches each chunk of a results table with the roster (pupil key,
attributes, name when kept) and checks the attributes; :class:`_SheetRows` turns one chunk into
row tuples of :data:`~xinli_screen.archive.parts.ROW_COLUMNS`; :class:`_StreamedPart` is the
:class:`~xinli_screen.archive.parts.PartRows` over the chunks (content hash and batches).
Used by :mod:`xinli_screen.archive.importing`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen.archive.at_rest import (
    DEFAULT_ATTRIBUTES,
    allowed_attributes,
    engine_columns,
    refuse_sensitive,
)
from xinli_screen.archive.base import (
    NAME_COLUMNS,
    ArchiveError,
    _plain,
)
from xinli_screen.archive.encoding import ContentDigest, column_lists, encode_rows, texts
from xinli_screen.archive.parts import CHUNK_ROWS


class _RosterJoin:
    """What :meth:`~xinli_screen.archive.importing._Importing.import_wave` adds to each chunk
    of a results table: the roster match (pupil key, attributes, name when kept), checked
    attributes and the sheet columns. The roster is prepared once; each chunk is matched on
    its own."""

    def __init__(self, roster: pd.DataFrame | None, id_column: str,
                 attributes: Sequence[str] | None, keep_names: bool,
                 source_name: str) -> None:
        self.id_column, self.attributes, self.source_name = id_column, attributes, source_name
        self.roster: pd.DataFrame | None = None
        self.attr_map: dict[str, str] = {}
        self.names: pd.Series | None = None
        if roster is None:
            return
        if id_column not in roster.columns:
            raise ArchiveError(f"the roster has no column {id_column!r} (the pupil id)")
        rost = roster.astype(object)
        names = [c for c in rost.columns if str(c).strip().lower() in NAME_COLUMNS]
        chosen = list(attributes) if attributes else allowed_attributes(rost.columns)
        cols = [c for c in chosen if c in rost.columns and c != id_column and c not in names]
        refuse_sensitive(rost, cols, where=f"roster for {source_name}")
        self.roster, self.attr_map = rost, {str(c): str(c) for c in cols}
        if keep_names and names:
            lookup = rost.assign(_k=rost[id_column].astype(str)).drop_duplicates("_k")
            self.names = lookup.set_index("_k")[names[0]]

    def sheets(self, frame: pd.DataFrame, offset: int, part: str
               ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.Series]:
        """One chunk (rows ``offset ...`` of the table) -> sheet columns, result data,
        attributes and names.

        Raises
        ------
        ArchiveError
            An attribute holding identity numbers, phone numbers or IP addresses.
        """
        from xinli_screen.wave.reconcile import match_roster

        id_column = self.id_column
        sheets = pd.DataFrame({"id": frame[id_column].to_numpy(), "part": part,
                               "file_row": np.arange(offset + 2, offset + len(frame) + 2)})
        matched = match_roster(sheets, self.roster, roster_id=id_column,
                               attributes=self.attr_map or None, name_column=None)
        attrs = (matched[list(self.attr_map)].copy() if self.attr_map
                 else pd.DataFrame(index=frame.index))
        for c in (self.attributes or DEFAULT_ATTRIBUTES):
            if c in frame.columns and c not in attrs.columns and c != id_column:
                refuse_sensitive(frame, [c], where=self.source_name)
                attrs[c] = frame[c]
        names = (matched["pupil_key"].map(self.names) if self.names is not None
                 else pd.Series(None, index=frame.index, dtype=object))
        data = frame[engine_columns(c for c in frame.columns if c != id_column)]
        status = (data["status"].astype(str).to_numpy() if "status" in data.columns
                  else np.full(len(data), "scored"))
        extra = pd.DataFrame({"part": part, "file_row": sheets["file_row"],
                              "source_ref": None, "complete": status == "scored",
                              "name": names})
        return (pd.concat([extra, matched.drop(columns=list(self.attr_map))], axis=1), data,
                attrs, names)


class _StreamedPart:
    """:class:`~xinli_screen.archive.parts.PartRows` over prepared chunks.

    ``chunks()`` starts a pass: ``(frames to hash, rows())`` per chunk, where ``rows()``
    builds the chunk's :class:`_SheetRows` (only when the part is stored). ``digest`` is
    given (a wave run) or streamed over the frames with ``header``.
    """

    def __init__(self, chunks: Callable[[], Iterator[tuple[Mapping[str, Any],
                                                         Callable[[], _SheetRows]]]],
                 header: Mapping[str, Any] | None, digest: str | None = None) -> None:
        self._chunks, self._header, self._digest = chunks, header, digest

    def digest(self) -> str:
        """The content hash (one pass over the chunks, without building rows, when not
        known yet)."""
        if self._digest is None:
            h = ContentDigest(self._header or {})
            for frames, _ in self._chunks():
                h.feed(frames)
            self._digest = h.hexdigest()
        return self._digest

    def batches(self, wave_id: int, part_id: int) -> Iterator[list[tuple[Any, ...]]]:
        """Rows of every chunk, :data:`CHUNK_ROWS` at a time (hashed on the way when the
        digest is not known yet)."""
        h = ContentDigest(self._header or {}) if self._digest is None else None
        for frames, rows in self._chunks():
            if h is not None:
                h.feed(frames)
            yield from rows().batches(wave_id, part_id)
        if h is not None:
            self._digest = h.hexdigest()


class _SheetRows:
    """The rows of one chunk of a part (its first row is row ``offset`` of the part), built
    :data:`CHUNK_ROWS` sheets at a time when the part is stored."""

    def __init__(self, offset: int, keys: pd.Series, sheets: pd.DataFrame, match: pd.Series,
                 entered: pd.Series, add_entered: np.ndarray, data: pd.DataFrame,
                 attrs: pd.DataFrame) -> None:
        self.offset = offset
        self.keys, self.sheets, self.match, self.entered = keys, sheets, match, entered
        self.add_entered, self.data, self.attrs = add_entered, data, attrs
        self.data_names = [str(c) for c in data.columns]
        self.attr_names = [str(c) for c in attrs.columns]

    def _sheet(self, column: str, start: int, stop: int) -> list[Any]:
        if column not in self.sheets.columns:
            return [None] * (stop - start)
        return self.sheets[column].iloc[start:stop].tolist()

    def _chunk(self, start: int, stop: int, wave_id: int,
               part_id: int) -> list[tuple[Any, ...]]:
        n = stop - start
        dcols = column_lists(self.data, start, stop)
        by_name = dict(zip(self.data_names, dcols, strict=True))
        data_json = encode_rows(self.data_names, dcols, n)
        acols = column_lists(self.attrs, start, stop)
        attr_json = encode_rows(self.attr_names, acols, n)
        for i in np.flatnonzero(self.add_entered[start:stop]).tolist():
            attr = dict(zip(self.attr_names, (c[i] for c in acols), strict=True))
            attr["entered_id"] = self.entered.iat[start + i]
            attr_json[i] = encode_rows(list(attr), [[v] for v in attr.values()], 1)[0]

        def text(column: str, default: str) -> list[str]:
            values = by_name.get(column)
            return texts(values, default) if values is not None else [default] * n

        plain = [[v if v is None or type(v) is str else _plain(v) for v in col]
                 for col in (self._sheet("source_ref", start, stop),
                             self._sheet("name", start, stop))]
        return list(zip(
            repeat(wave_id), repeat(part_id), repeat(True),
            self.keys.iloc[start:stop].tolist(),
            range(self.offset + start, self.offset + stop),
            [int(v) for v in self._sheet("file_row", start, stop)], plain[0],
            self.match.iloc[start:stop].tolist(),
            [bool(v) for v in self._sheet("complete", start, stop)],
            text("warning_tier", "none"), text("review_status", "not_required"),
            text("critical_items", ""), text("reasons", ""), text("reason_codes", ""),
            data_json, attr_json, plain[1], repeat(None)))

    def batches(self, wave_id: int, part_id: int) -> Iterator[list[tuple[Any, ...]]]:
        """The rows as tuples of :data:`~xinli_screen.archive.parts.ROW_COLUMNS`,
        :data:`CHUNK_ROWS` at a time."""
        for start in range(0, len(self.keys), CHUNK_ROWS):
            yield self._chunk(start, min(start + CHUNK_ROWS, len(self.keys)), wave_id,
                              part_id)
