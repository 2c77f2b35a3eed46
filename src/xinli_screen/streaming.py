"""Screen a file larger than memory chunk by chunk (re-exported from
:mod:`xinli_screen.backends.streamed`, where the streamed adapter of the batch kernel lives)."""

from __future__ import annotations

from xinli_screen.backends.streamed import (
    StreamOutcome,
    duplicate_ids,
    merge_summaries,
    screen_stream,
)

__all__ = ["StreamOutcome", "duplicate_ids", "merge_summaries", "screen_stream"]
