"""The pupil file's side of follow-up: reviews and actions entered in bulk, and what the
follow-up list (待办) reads. Mixed into :class:`~xinli_screen.archive.store.ArchiveStore`.

Bulk entries come already validated (:mod:`xinli_screen.followup.review_import`); they are
written in one transaction, so a sheet is applied whole or not at all. Each review and
action keeps the fingerprint of the sheet row it came from (``source_key``): a row already
in the archive is skipped, so importing the same sheet again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinli_screen.archive.base import _StoreBase
from xinli_screen.archive.models import Action, Part, Result, Review

__all__ = ["BulkEntry", "local_date"]


def local_date(stamp: str | None, zone: str) -> dt.date | None:
    """The local date (in IANA ``zone``) of a stored ISO-8601 time; None stays None."""
    if not stamp:
        return None
    when = dt.datetime.fromisoformat(str(stamp))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(ZoneInfo(zone)).date()


@dataclass(frozen=True)
class BulkEntry:
    """One validated review or action to store.

    Attributes
    ----------
    pupil_key : str
        The stored key (school id or pseudonym), already resolved.
    kind : str
        ``"review"`` or an action kind (:data:`~xinli_screen.archive.models.ACTION_KINDS`).
    outcome, tier : str or None
        For reviews: the outcome and the reviewer's tier (None when not given).
    by : str
        Who reviewed or acted (from the sheet).
    on_date : date
        When it took place (local date from the sheet).
    note : str
    source_key : str
        Fingerprint of the content (SHA-256 hex).
    """

    pupil_key: str
    kind: str
    outcome: str | None
    tier: str | None
    by: str
    on_date: dt.date
    note: str
    source_key: str


def _source_keys(s: Session, wave_id: int) -> set[str]:
    """Fingerprints of the reviews and actions of one wave entered from sheets."""
    keys = set(s.scalars(select(Review.source_key).where(
        Review.wave_id == wave_id, Review.source_key.is_not(None))))
    keys |= set(s.scalars(select(Action.source_key).where(
        Action.wave_id == wave_id, Action.source_key.is_not(None))))
    return keys


class _FollowUp(_StoreBase):
    """Bulk reviews and actions, and the frames the follow-up list reads."""

    def wave_pupils(self, wave: str) -> set[str]:
        """Stored keys of the pupils with a counted result in ``wave``.

        Raises
        ------
        ArchiveError
            Unknown wave.
        """
        with Session(self.engine) as s:
            w = self._wave(s, wave)
            return set(s.scalars(select(Result.pupil_key).where(Result.wave_id == w.id,
                                                                Result.active)))

    def known_pupils(self) -> set[str]:
        """Stored keys of every pupil in the archive."""
        with Session(self.engine) as s:
            return set(s.scalars(select(Result.pupil_key).distinct()))

    def store_key(self, pupil_id: str, known: set[str]) -> str | None:
        """The stored key of ``pupil_id`` among ``known`` (the id, or its pseudonym when the
        store has a key); None when neither is known."""
        from xinli_screen.privacy import pseudonymise_one

        if pupil_id in known:
            return pupil_id
        if self.key is not None:
            pseudo = pseudonymise_one(pupil_id, self.key)
            if pseudo in known:
                return pseudo
        return None

    def existing_source_keys(self, wave: str) -> set[str]:
        """Fingerprints of the reviews and actions of ``wave`` entered from sheets."""
        with Session(self.engine) as s:
            return _source_keys(s, self._wave(s, wave).id)

    def add_bulk(self, wave: str, entries: Iterable[BulkEntry], *, by: str,
                 source: dict[str, Any]) -> dict[str, int]:
        """Store validated reviews and actions of ``wave`` in one transaction (audited).

        Parameters
        ----------
        wave : str
        entries : iterable of BulkEntry
        by : str
            Who imports (audit trail); each entry keeps its own reviewer.
        source : dict
            What was imported (file name, SHA-256, sheet rows ...), for the audit trail; no
            pupil data.

        Returns
        -------
        dict
            ``reviews`` and ``actions`` added, ``already_imported`` (skipped rows whose
            fingerprint is stored).

        Raises
        ------
        ArchiveError
            Unknown wave.
        """
        added = {"reviews": 0, "actions": 0, "already_imported": 0}
        with Session(self.engine) as s, s.begin():
            w = self._wave(s, wave)
            seen = _source_keys(s, w.id)
            now = self.clock()
            for e in entries:
                if e.source_key in seen:
                    added["already_imported"] += 1
                    continue
                seen.add(e.source_key)
                if e.kind == "review":
                    s.add(Review(wave_id=w.id, pupil_key=e.pupil_key, outcome=e.outcome,
                                 tier=e.tier, by=e.by, at=now, note=e.note,
                                 on_date=e.on_date.isoformat(), source_key=e.source_key))
                    added["reviews"] += 1
                    self._audit(s, by, "review", wave=wave, pupil_key=e.pupil_key,
                                outcome=e.outcome, tier=e.tier, reviewer=e.by,
                                on_date=e.on_date.isoformat(), via="return_sheet")
                else:
                    s.add(Action(wave_id=w.id, pupil_key=e.pupil_key, kind=e.kind, by=e.by,
                                 at=now, note=e.note, on_date=e.on_date.isoformat(),
                                 source_key=e.source_key))
                    added["actions"] += 1
                    self._audit(s, by, "action", wave=wave, pupil_key=e.pupil_key,
                                kind=e.kind, actor_on_sheet=e.by,
                                on_date=e.on_date.isoformat(), via="return_sheet")
            self._audit(s, by, "import_reviews", wave=wave, **source, **added)
        return added

    def follow_up_frames(self, wave: str) -> dict[str, Any]:
        """What the follow-up list of ``wave`` reads from the pupil file.

        Returns
        -------
        dict
            ``reviews`` (pupil_id, outcome, tier, by, at, on_date: local date),
            ``actions`` (pupil_id, kind, by, at, on_date), ``starts`` (part id -> local
            date the part was first imported under its name), ``timezone``,
            ``definition`` (the stored wave definition or None).

        Raises
        ------
        ArchiveError
            Unknown wave.
        """
        with Session(self.engine) as s:
            w = self._wave(s, wave)
            zone = w.timezone or "Asia/Shanghai"
            parts = s.execute(select(Part.id, Part.name, Part.imported_at)
                              .where(Part.wave_id == w.id)).all()
            first: dict[str, str] = {}
            for _, name, at in parts:
                first[name] = min(first.get(name, at), at)
            starts = {pid: local_date(first[name], zone) for pid, name, _ in parts}
            starts[None] = local_date(w.imported_at, zone)  # type: ignore[index]
            reviews = [{"pupil_id": r.pupil_key, "outcome": r.outcome, "tier": r.tier,
                        "by": r.by, "at": r.at,
                        "on_date": (dt.date.fromisoformat(r.on_date) if r.on_date
                                    else local_date(r.at, zone))}
                       for r in s.scalars(select(Review).where(Review.wave_id == w.id)
                                          .order_by(Review.id))]
            definition = w.definition
            wave_start = min(starts.values())
            actions = []
            for a in s.scalars(select(Action).where(
                    (Action.wave_id == w.id) | Action.wave_id.is_(None)).order_by(Action.id)):
                on = dt.date.fromisoformat(a.on_date) if a.on_date else local_date(a.at, zone)
                if a.wave_id is None and (on is None or on < wave_start):
                    continue  # an action without a wave counts from the wave's start
                actions.append({"pupil_id": a.pupil_key, "kind": a.kind, "by": a.by,
                                "at": a.at, "on_date": on})
        cols_r = ["pupil_id", "outcome", "tier", "by", "at", "on_date"]
        cols_a = ["pupil_id", "kind", "by", "at", "on_date"]
        return {"reviews": pd.DataFrame(reviews, columns=cols_r),
                "actions": pd.DataFrame(actions, columns=cols_a),
                "starts": starts, "timezone": zone, "definition": definition}
