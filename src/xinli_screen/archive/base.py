"""Foundations of the pupil file store: errors, the import summary, value conversion, and
the store's connection, schema upgrade, audit and look-up helpers.

See :class:`~xinli_screen.archive.store.ArchiveStore`, the public class built on them.
"""


from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from xinli_screen.archive.audit_chain import (
    GENESIS,
    canonical_detail,
    chain_hash,
    commit_pupil,
    key_fingerprint,
)
from xinli_screen.archive.models import (
    ArchiveMeta,
    AuditEvent,
    Result,
    Wave,
)
from xinli_screen.archive.parts import PartOutcome
from xinli_screen.errors import XinliScreenError
from xinli_screen.policy.loader import load_policy
from xinli_screen.policy.models import TIER_ORDER, HistoryRules, Policy
from xinli_screen.privacy import pseudonymise_one

__all__ = ["NAME_COLUMNS", "ArchiveError", "ImportSummary", "PupilNotFoundError", "archive_url"]

#: Roster columns treated as names: stored only with ``keep_names=True``.
NAME_COLUMNS = ("姓名", "学生姓名", "name", "student_name")
_MIGRATIONS = Path(__file__).with_name("migrations")


class ArchiveError(XinliScreenError, ValueError):
    """An archive operation was refused (conflicting re-import, unknown wave, bad outcome)."""


class PupilNotFoundError(XinliScreenError, LookupError):
    """No pupil with the given id (or its pseudonym) is in the archive."""


@dataclass(frozen=True)
class ImportSummary:
    """What an import did.

    Attributes
    ----------
    wave : str
    changed : bool
        False when every part was already there with the same content.
    imported : int
        Sheets stored by this import (every sheet of every new or corrected part).
    without_id : int
        Sheets stored under a provisional key (``NOID-{part}-{row}``) because the id was
        empty; they stay in the pupil file and on the warning list.
    duplicate_sheets : int
        Sheets of the wave that do not count because the pupil has another sheet that does
        (double submissions, sheets replaced by a retest); kept, inactive.
    parts : tuple of PartOutcome
        Per part: new, corrected (earlier version superseded) or unchanged.
    """

    wave: str
    changed: bool
    imported: int
    without_id: int = 0
    duplicate_sheets: int = 0
    parts: tuple[PartOutcome, ...] = ()


def archive_url(target: str | Path) -> str:
    """A SQLAlchemy URL: ``target`` itself when it has a scheme, else a SQLite file path."""
    text = str(target)
    if "://" in text:
        return text
    return "sqlite:///" + str(Path(text).expanduser().resolve())


def _private_sqlite_file(url: str) -> None:
    """Create a new SQLite archive file readable by its owner only (0600) before SQLite
    creates it with the process umask (an existing file keeps its mode)."""
    import os

    if not url.startswith("sqlite:///") or url in ("sqlite:///", "sqlite:///:memory:"):
        return
    path = Path(url[len("sqlite:///"):])
    if not path.exists() and path.parent.is_dir():
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return value.isoformat()
    return value if isinstance(value, (str, int)) else str(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in r.items()}
            for r in frame.astype(object).to_dict(orient="records")]


_S = TypeVar("_S", bound="_StoreBase")


class _StoreBase:
    """Connection, schema, audit and look-ups shared by the store's methods (see
    :class:`~xinli_screen.archive.store.ArchiveStore` for the parameters)."""

    def __init__(self, target: str | Path, *, key: bytes | None = None,
                 policy: str | Path | Policy = "default",
                 clock: Callable[[], str] | None = None) -> None:
        self.url = archive_url(target)
        _private_sqlite_file(self.url)
        # hide_parameters: a database error's text never carries the row values (ids,
        # critical items, reasons quoting answers), only the statement
        self.engine: Engine = create_engine(self.url, hide_parameters=True)
        self.key = key
        self._policy = load_policy(policy)
        loaded = self._policy.policy
        self._wave_policies: dict[str, Policy] = {}
        self.history_rules: HistoryRules | None = loaded.history
        self.labels = {t: loaded.tiers.spec(t).label.get("zh") for t in TIER_ORDER}
        self.labels_en = {t: loaded.tiers.spec(t).label.get("en") for t in TIER_ORDER}
        self.clock = clock or _now
        self.upgrade()

    # -- schema ---------------------------------------------------------------------------
    def upgrade(self) -> None:
        """Create or upgrade the schema to the newest Alembic revision."""
        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers ----------------------------------------------------------------------------
    def _audit(self, s: Session, actor: str, event: str, *, wave: str | None = None,
               pupil_key: str | None = None, **detail: Any) -> None:
        """Append one entry to the hash-chained audit trail (within the caller's
        transaction; the chain head is read with a row lock)."""
        plain = canonical_detail({k: _plain(v) for k, v in detail.items()})
        at = self.clock()
        commit, salt = commit_pupil(pupil_key)
        head = s.scalar(select(ArchiveMeta).where(ArchiveMeta.name == "audit_head")
                        .with_for_update())
        prev = head.value if head is not None else GENESIS
        chain = chain_hash(prev, at=at, actor=actor, event=event, wave=wave,
                           pupil_commit=commit, detail=plain)
        s.add(AuditEvent(at=at, actor=actor, event=event, wave=wave, pupil_key=pupil_key,
                         detail=plain, chain=chain, pupil_commit=commit, pupil_salt=salt))
        if head is None:
            s.add(ArchiveMeta(name="audit_head", value=chain))
        else:
            head.value = chain
        s.flush()

    def _check_key(self, s: Session, *, record: bool = False) -> None:
        """Refuse a pseudonymisation key other than the one the archive was written with;
        with ``record``, remember this key's fingerprint when none is stored yet."""
        if self.key is None:
            return
        mine = key_fingerprint(self.key)
        stored = s.get(ArchiveMeta, "key_fingerprint")
        if stored is None:
            if record:
                s.add(ArchiveMeta(name="key_fingerprint", value=mine))
            return
        if stored.value != mine:
            from xinli_screen.privacy import PrivacyKeyError

            raise PrivacyKeyError(
                f"this key (fingerprint {mine[:12]}) is not the key the archive's pseudonyms "
                f"were made with (fingerprint {stored.value[:12]}); with another key every "
                "pupil's file would split in two. Use the archive's key")

    def _wave(self, s: Session, name: str) -> Wave:
        wave = s.scalar(select(Wave).where(Wave.name == name))
        if wave is None:
            known = s.scalars(select(Wave.name).order_by(Wave.seq)).all()
            raise ArchiveError(f"no wave named {name!r} in the archive (waves: "
                               f"{', '.join(known) or 'none'})")
        return wave

    def _pupil_key(self, s: Session, pupil_id: str) -> str:
        """The stored key of a pupil: the id itself, or its pseudonym when a key is set."""
        candidates = [str(pupil_id)]
        if self.key is not None:
            candidates.append(pseudonymise_one(str(pupil_id), self.key))
        for key in candidates:
            if s.scalar(select(func.count()).select_from(Result)
                        .where(Result.pupil_key == key)):
                return key
        self._check_key(s)
        pseudo = s.scalar(select(func.count()).select_from(Wave).where(Wave.pseudonymised))
        hint = (" (the archive holds pseudonymised ids: give the key, e.g. XINLI_HMAC_KEY)"
                if pseudo and self.key is None else "")
        raise PupilNotFoundError("no pupil with the given id in the archive" + hint)

    # -- import -----------------------------------------------------------------------------
