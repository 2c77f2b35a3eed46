"""Storing the parts of a wave: versions, supersession and the one counted sheet per pupil.

A *part* is one answer file of a wave. Importing a part whose content hash is already the
latest version of that part changes nothing; a different content under the same part name is
a correction: the earlier version is marked superseded (its rows stay, inactive, and the
supersession is audited) and the new version is stored. After every import the wave's
counted sheet per pupil is chosen again over every non-superseded sheet with the wave's rule
for double submissions (:func:`xinli_screen.wave.reconcile.select_active`), so a late part, a
corrected part or a retest always gives one result per pupil and wave.

These functions work inside the caller's session and transaction; they never log or raise
with an id, a name or an answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from xinli_screen.archive.models import Part, Result, Wave

__all__ = ["CHUNK_ROWS", "ROW_COLUMNS", "PartImport", "PartOutcome", "PartRows",
           "reselect_active", "store_part"]


#: Sheets inserted per statement batch: a part is stored chunk by chunk, so that the rows of a
#: whole wave are never Python dicts or JSON text all at once.
CHUNK_ROWS = 10_000


#: Columns of ``results`` in the order of the tuples :attr:`PartImport.batches` yields.
ROW_COLUMNS: tuple[str, ...] = (
    "wave_id", "part_id", "active", "pupil_key", "row_index", "source_row", "source_ref",
    "roster_match", "complete", "screen_tier", "review_status", "critical_items", "reasons",
    "reason_codes", "data", "attributes", "name", "note")


def _insert_sql(s: Session) -> str:
    """``INSERT INTO results`` of :data:`ROW_COLUMNS` in the driver's parameter style
    (``data`` and ``attributes`` are bound as JSON text)."""
    dialect = s.get_bind().dialect
    mark = {"qmark": "?", "format": "%s", "pyformat": "%s", "numeric": ":{n}",
            "named": ":p{n}"}[dialect.paramstyle]
    json_cast = "CAST({} AS JSON)" if dialect.name == "postgresql" else "{}"
    values = []
    for n, col in enumerate(ROW_COLUMNS, start=1):
        m = mark.format(n=n)
        values.append(json_cast.format(m) if col in ("data", "attributes") else m)
    return (f"INSERT INTO {Result.__tablename__} ({', '.join(ROW_COLUMNS)}) "
            f"VALUES ({', '.join(values)})")


def _insert_rows(s: Session, batches: Iterator[list[tuple[Any, ...]]]) -> int:
    """Insert the rows chunk by chunk in the caller's transaction: ``COPY ... FROM STDIN``
    on PostgreSQL with psycopg 3, else the driver's ``executemany`` on plain tuples (no
    per-row work in SQLAlchemy). Returns the number of rows."""
    conn = s.connection()
    raw = conn.connection.dbapi_connection
    stored = 0
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        copy_sql = (f"COPY {Result.__tablename__} ({', '.join(ROW_COLUMNS)}) FROM STDIN")
        with raw.cursor() as cur:  # type: ignore[union-attr]
            for batch in batches:
                with cur.copy(copy_sql) as copy:
                    for r in batch:
                        copy.write_row(r)
                stored += len(batch)
        return stored
    sql = _insert_sql(s)
    for batch in batches:
        conn.exec_driver_sql(sql, batch)
        stored += len(batch)
    return stored


class PartRows(Protocol):
    """The sheets of one part, read (again) from their source on each pass."""

    def digest(self) -> str:
        """The part's content hash: given, or streamed over the rows without building them
        (computed once; after :meth:`batches` has run, the hash of the rows it yielded)."""
        ...

    def batches(self, wave_id: int, part_id: int) -> Iterator[list[tuple[Any, ...]]]:
        """The sheets in order, by chunks of at most :data:`CHUNK_ROWS`, each a list of
        tuples of the values of :data:`ROW_COLUMNS` (``active`` True: the counted sheets
        are chosen again in the same transaction, and only a sheet that is not counted, a
        double submission, is then updated, not every row; ``data`` and
        ``attributes`` JSON text)."""
        ...


@dataclass(frozen=True)
class PartImport:
    """One part ready to store.

    Attributes
    ----------
    name : str
        Part name (stable across corrections).
    form : str or None
    kind : {"answers", "retest"}
    source_name : str
        File name (no folder).
    provenance : dict
        JSON-ready provenance of the scoring run.
    rows : PartRows
        The sheets: :meth:`PartRows.digest` decides whether the part is unchanged (no row is
        built then), :meth:`PartRows.batches` is called only when the part is stored.
    """

    name: str
    form: str | None
    kind: str
    source_name: str
    provenance: dict[str, Any]
    rows: PartRows


@dataclass(frozen=True)
class PartOutcome:
    """What storing one part did: ``new``, ``corrected`` (an earlier version superseded) or
    ``unchanged``; the version stored and the rows stored."""

    name: str
    outcome: str
    version: int
    rows: int


def store_part(s: Session, wave: Wave, part: PartImport, *, by: str, now: str,
               audit: Callable[..., None]) -> PartOutcome:
    """Store one part version (or nothing, when its content is already the latest).

    Parameters
    ----------
    s : Session
        Open session inside a transaction.
    wave : Wave
    part : PartImport
    by : str
        Who imports (audit trail).
    now : str
        ISO time of the import.
    audit : callable
        ``audit(session, actor, event, wave=..., **detail)`` of the store.

    Returns
    -------
    PartOutcome
    """
    latest = s.scalar(select(Part).where(Part.wave_id == wave.id, Part.name == part.name)
                      .order_by(Part.version.desc()).limit(1))
    if latest is not None and latest.superseded_at is None \
            and latest.content_sha256 == part.rows.digest():
        return PartOutcome(part.name, "unchanged", latest.version, 0)
    version = 1 if latest is None else latest.version + 1
    if latest is not None and latest.superseded_at is None:
        latest.superseded_at = now
        s.execute(update(Result).where(Result.part_id == latest.id).values(active=False)
                  .execution_options(synchronize_session=False))
        audit(s, by, "supersede_part", wave=wave.name, part=part.name,
              version=latest.version, by_version=version,
              content_sha256=latest.content_sha256)
    row = Part(wave_id=wave.id, name=part.name, form=part.form, kind=part.kind,
               version=version, source_name=part.source_name, content_sha256="",
               imported_at=now, imported_by=by, n_rows=0, provenance=part.provenance)
    s.add(row)
    s.flush()
    stored = _insert_rows(s, part.rows.batches(wave.id, row.id))
    row.content_sha256, row.n_rows = part.rows.digest(), stored
    audit(s, by, "import_part", wave=wave.name, part=part.name, version=version,
          kind=part.kind, rows=stored, source=part.source_name,
          content_sha256=row.content_sha256)
    return PartOutcome(part.name, "corrected" if version > 1 else "new", version, stored)


_CANDIDATE_COLUMNS = ["id", "pupil_key", "active", "complete", "source_row", "row_index",
                      "kind", "first_id"]


def _candidates(s: Session, wave: Wave) -> pd.DataFrame:
    """Every sheet of ``wave`` in a part version in force, read by chunks into columns
    (never one Python object per sheet for the whole wave)."""
    first = (select(Part.name, func.min(Part.id).label("first_id"))
             .where(Part.wave_id == wave.id).group_by(Part.name).subquery())
    q = (select(Result.id, Result.pupil_key, Result.active, Result.complete,
                Result.source_row, Result.row_index, Part.kind, first.c.first_id)
         .join(Part, Part.id == Result.part_id)
         .join(first, first.c.name == Part.name)
         .where(Result.wave_id == wave.id, Part.superseded_at.is_(None)))
    conn = s.connection()
    # the driver's own cursor (SQLAlchemy's row processing took over half the time at 10^6
    # sheets), server-side on PostgreSQL so that rows come by chunks; the query holds no
    # value but integer ids
    sql = str(q.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    raw: Any = conn.connection.dbapi_connection
    server = conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"
    cur = raw.cursor(name="xinli_candidates") if server else raw.cursor()
    chunks = []
    try:
        cur.execute(sql)
        while rows := cur.fetchmany(CHUNK_ROWS * 5):
            chunk = pd.DataFrame(rows, columns=_CANDIDATE_COLUMNS)
            chunk["active"] = chunk["active"].astype(bool)  # SQLite gives 0 / 1
            chunk["complete"] = chunk["complete"].astype(bool)
            chunk["kind"] = chunk["kind"].astype("category")
            chunks.append(chunk)
    finally:
        cur.close()
    if not chunks:
        return pd.DataFrame(columns=_CANDIDATE_COLUMNS)
    frame = pd.concat(chunks, ignore_index=True)
    frame["kind"] = frame["kind"].astype(object)
    return frame


def reselect_active(s: Session, wave: Wave, rule: str) -> int:
    """Choose again the counted sheet of every pupil of ``wave``.

    Parameters
    ----------
    s : Session
    wave : Wave
    rule : {"first_complete", "latest"}

    Returns
    -------
    int
        Number of sheets whose ``active`` flag changed.
    """
    from xinli_screen.wave.reconcile import select_active

    frame = _candidates(s, wave)
    if not len(frame):
        return 0
    within = frame["source_row"].fillna(frame["row_index"] + 2).to_numpy(dtype=np.int64)
    frame["order"] = frame["first_id"].to_numpy(dtype=np.int64) * 10**9 + within
    frame["retest"] = frame["kind"] == "retest"
    chosen = select_active(frame, rule)
    changed = chosen != frame["active"].astype(bool).to_numpy()
    _set_active(s, frame["id"].to_numpy()[changed & chosen], True)
    _set_active(s, frame["id"].to_numpy()[changed & ~chosen], False)
    return int(changed.sum())


def _set_active(s: Session, ids: Sequence[int] | np.ndarray, value: bool) -> None:
    """Set ``active`` of the sheets ``ids``: runs of consecutive ids (a part is inserted in
    order) by one ``BETWEEN`` each, the rest by ``IN`` lists of 500."""
    ids = np.unique(np.asarray(ids, dtype=np.int64))
    if not len(ids):
        return
    breaks = np.flatnonzero(np.diff(ids) != 1) + 1
    starts = np.concatenate(([0], breaks))
    ends = np.concatenate((breaks, [len(ids)]))
    single: list[int] = []
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        if b - a >= 8:
            s.execute(update(Result).where(Result.id.between(int(ids[a]), int(ids[b - 1])))
                      .values(active=value).execution_options(synchronize_session=False))
        else:
            single.extend(int(i) for i in ids[a:b])
    for start in range(0, len(single), 500):
        s.execute(update(Result).where(Result.id.in_(single[start:start + 500]))
                  .values(active=value).execution_options(synchronize_session=False))
