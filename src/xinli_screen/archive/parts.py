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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from xinli_screen.archive.models import Part, Result, Wave

__all__ = ["PartImport", "PartOutcome", "reselect_active", "store_part"]


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
    content_sha256 : str
    provenance : dict
        JSON-ready provenance of the scoring run.
    rows : list of dict
        One per sheet, keys: ``pupil_key``, ``row_index``, ``source_row``, ``source_ref``,
        ``roster_match``, ``complete``, ``data`` (dict), ``attributes`` (dict), ``name``,
        ``note``.
    """

    name: str
    form: str | None
    kind: str
    source_name: str
    content_sha256: str
    provenance: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)


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
            and latest.content_sha256 == part.content_sha256:
        return PartOutcome(part.name, "unchanged", latest.version, 0)
    version = 1 if latest is None else latest.version + 1
    if latest is not None and latest.superseded_at is None:
        latest.superseded_at = now
        s.execute(update(Result).where(Result.part_id == latest.id).values(active=False))
        audit(s, by, "supersede_part", wave=wave.name, part=part.name,
              version=latest.version, by_version=version,
              content_sha256=latest.content_sha256)
    row = Part(wave_id=wave.id, name=part.name, form=part.form, kind=part.kind,
               version=version, source_name=part.source_name,
               content_sha256=part.content_sha256, imported_at=now, imported_by=by,
               n_rows=len(part.rows), provenance=part.provenance)
    s.add(row)
    s.flush()
    s.add_all([Result(wave_id=wave.id, part_id=row.id, active=False, **r)
               for r in part.rows])
    audit(s, by, "import_part", wave=wave.name, part=part.name, version=version,
          kind=part.kind, rows=len(part.rows), source=part.source_name,
          content_sha256=part.content_sha256)
    return PartOutcome(part.name, "corrected" if version > 1 else "new", version,
                       len(part.rows))


def _candidates(s: Session, wave: Wave) -> pd.DataFrame:
    first = (select(Part.name, func.min(Part.id).label("first_id"))
             .where(Part.wave_id == wave.id).group_by(Part.name).subquery())
    q = (select(Result.id, Result.pupil_key, Result.active, Result.complete,
                Result.source_row, Result.row_index, Part.kind, first.c.first_id)
         .join(Part, Part.id == Result.part_id)
         .join(first, first.c.name == Part.name)
         .where(Result.wave_id == wave.id, Part.superseded_at.is_(None)))
    rows = s.execute(q).all()
    return pd.DataFrame(rows, columns=["id", "pupil_key", "active", "complete", "source_row",
                                       "row_index", "kind", "first_id"])


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


def _set_active(s: Session, ids: Sequence[int], value: bool) -> None:
    ids = [int(i) for i in ids]
    for start in range(0, len(ids), 500):
        s.execute(update(Result).where(Result.id.in_(ids[start:start + 500]))
                  .values(active=value))
