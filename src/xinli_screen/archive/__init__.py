"""Pupil file store (一生一策档案): waves, results, reviews, actions, audit trail.

See :class:`~xinli_screen.archive.store.ArchiveStore`. Needs SQLAlchemy 2 and Alembic.
"""

from __future__ import annotations

from xinli_screen.archive.models import ACTION_KINDS
from xinli_screen.archive.results_file import read_results_file
from xinli_screen.archive.store import (
    ArchiveError,
    ArchiveStore,
    ImportSummary,
    PupilNotFoundError,
    archive_url,
)

__all__ = ["ACTION_KINDS", "ArchiveError", "ArchiveStore", "ImportSummary",
           "PupilNotFoundError", "archive_url", "read_results_file"]
