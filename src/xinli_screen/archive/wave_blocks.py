"""One wave's effective tiers read in blocks of pupils, keeping only the columns asked for.

:meth:`ArchiveStore.wave_table <xinli_screen.archive.store.ArchiveStore.wave_table>` holds
every stored column of every pupil of every wave up to the one asked for (about 1.6 GB at
10^6 pupils, 5.0 GB for their second wave). A group report needs a handful of columns of one
wave. :func:`wave_columns` reads the pupils in blocks of consecutive stored keys (in the
database's own order), each block with all of its pupils' waves and reviews, so the history
rules see each pupil's whole record; it keeps the asked-for columns of the wave's rows and
puts the blocks back in the order of the whole table.

Reliable-change rules estimate r and SD over all pupils, which one block cannot see: when a
wave up to the one asked for (other than the first) has change rules under its frozen policy,
a first pass reads the population once (:meth:`ArchiveStore._population
<xinli_screen.archive.frames._Frames._population>`: pupil key, wave and only the score
and cut-off columns, streamed from the database cursor in the whole table's order), and every
block's history stage takes r and SD from it (a
:class:`~xinli_screen.policy.history.ChangePopulation`, which estimates them once per wave),
so each block gets the same r, SD and change columns as the whole table.

Measured (docs/performance.md, "Archive at scale", 10^6 pupils, peak RSS of ``report group``
in a fresh process): first wave 798 MB on SQLite (``wave_table`` 1.6 GB); second wave under
the ``default`` policy's reliable-change rules 882 MB on SQLite and 923 MB on PostgreSQL,
against 5,021 and 5,036 MB when it read the whole table (``wave_table``: 5.0 GB).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinli_screen.archive.frames import _concat_screens
from xinli_screen.archive.models import Result, Wave
from xinli_screen.archive.store import ArchiveStore
from xinli_screen.policy.history import ChangePopulation

__all__ = ["BLOCK_PUPILS", "wave_columns"]

#: Pupils per block for a single wave; with several waves, ``BLOCK_PUPILS // waves`` (all of a
#: block's pupils' waves are read together, so a block holds about this many sheets).
BLOCK_PUPILS = 50_000
_ORDER = ["part_id", "_row_index"]


def wave_columns(store: ArchiveStore, wave: str, keep: Callable[[str], bool], *,
                 block_pupils: int | None = None) -> pd.DataFrame:
    """The columns of :meth:`ArchiveStore.wave_table` for which ``keep`` is true, read in
    blocks of pupils.

    Parameters
    ----------
    store : ArchiveStore
    wave : str
        Wave name.
    keep : callable str -> bool
        Which columns of the wave table to keep (e.g. ``warning_tier`` and ``attr.school``).
    block_pupils : int, optional
        Pupils per block (at least 1); memory grows with it, the result does not change.
        Default: :data:`BLOCK_PUPILS` divided by the number of waves up to ``wave``.

    Returns
    -------
    DataFrame, shape (n pupils of the wave, k)
        Equal to ``store.wave_table(wave)`` restricted to the kept columns: the same rows in
        the same order, the same values and types.

    Raises
    ------
    ArchiveError
        Unknown wave.
    ValueError
        ``block_pupils`` below 1.
    """
    if block_pupils is not None and block_pupils < 1:
        raise ValueError("block_pupils must be at least 1")
    with Session(store.engine) as s:
        w = store._wave(s, wave)
        seqs = s.scalars(select(Wave.seq).where(Wave.seq <= w.seq).order_by(Wave.seq)).all()
        change = any((h := store._wave_policy(s, q).history) is not None
                     and h.change is not None for q in seqs[1:])
        size = block_pupils or max(1, BLOCK_PUPILS // len(seqs))
        population = (ChangePopulation(store._population(s, max_seq=w.seq)) if change
                      else None)
        keys = s.scalars(select(Result.pupil_key).join(Wave, Wave.id == Result.wave_id)
                         .where(Wave.seq <= w.seq).distinct()
                         .order_by(Result.pupil_key)).all()
        blocks = []
        for start in range(0, len(keys), size):
            bounds = (keys[start], keys[min(start + size, len(keys)) - 1])
            screens, reviews = store._frames(s, max_seq=w.seq, key_range=bounds,
                                             row_order=True)
            if not len(screens):
                continue
            table = store.effective(screens, reviews, population)
            table = table[table["wave_seq"] == w.seq]
            if not len(table):   # pupils who left before this wave: no columns to lend
                continue
            blocks.append(table[[c for c in table.columns
                                 if keep(str(c)) or c in _ORDER]])
    if not blocks:
        return store.wave_table(wave)
    out = _concat_screens(blocks).sort_values(_ORDER, kind="stable", na_position="first")
    out = out.drop(columns=[c for c in _ORDER if not keep(c)])
    return out.reset_index(drop=True)
