"""``xinli-screen review``: record a psychologist's review (复核) of one pupil's result."""

from __future__ import annotations

from typing import Annotated

import typer

from xinli_screen.cli._archive_options import ArchiveOpt, ByOpt, KeyFileOpt, guarded, open_store
from xinli_screen.cli.console import stderr


def review_command(
    pupil_id: Annotated[str, typer.Argument(help="Pupil id (or pseudonym).")],
    wave: Annotated[str, typer.Option("--wave", help="Wave whose result was reviewed.")],
    outcome: Annotated[str, typer.Option(
        "--outcome", help="confirmed, not_confirmed, tier_changed or closed.")],
    by: ByOpt,
    note: Annotated[str, typer.Option("--note", help="Why (psychologist view only).")] = "",
    tier: Annotated[str | None, typer.Option(
        "--tier", help="New tier (none, class, school, district); needed for tier_changed.")
    ] = None,
    archive: ArchiveOpt = "xinli-archive.db",
    key_file: KeyFileOpt = None,
) -> None:
    """Record a review: it overrides the screen tier (who, when and why are kept).

    Example: xinli-screen review 20250101 --wave 2025-autumn --outcome confirmed --by 王老师
    --note "面谈确认" --archive files.db
    """
    store = open_store(archive, key_file)
    guarded(lambda: store.add_review(pupil_id, wave, outcome, by=by, note=note, tier=tier))
    store.close()
    stderr.print(f"recorded review {outcome} for wave {wave}")
