"""Reading stored results back as frames: the counted sheets and reviews of one pupil, of a
block of pupils or of all, the slim population the reliable-change r and SD are estimated
from, and the effective tiers computed from them.

Mixed into :class:`~xinli_screen.archive.store.ArchiveStore`, whose public reads
(:meth:`~xinli_screen.archive.store.ArchiveStore.wave_table`,
:meth:`~xinli_screen.archive.store.ArchiveStore.pupil_file`) and
:func:`xinli_screen.archive.wave_blocks.wave_columns` are built on it. Stored results are
streamed from the database cursor in chunks of :data:`_READ_CHUNK` rows, in the order of a
wave read whole (wave, part, row); each chunk is decoded by orjson into a frame and the chunks
are joined with each column's type inferred over the whole column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import pandas as pd
from sqlalchemy import Text, cast, or_, select
from sqlalchemy.orm import Session

from xinli_screen.archive.base import _StoreBase
from xinli_screen.archive.models import Part, Result, Review, Wave
from xinli_screen.evaluation.change import NOT_CUTOFF_TAILS
from xinli_screen.policy.history import ChangePopulation, run_history
from xinli_screen.policy.models import TIER_ORDER, ChangeCondition, Policy, condition_leaves

#: Stored results read per chunk by :meth:`ArchiveStore.wave_table` and the pupil file.
_READ_CHUNK = 20_000
#: What is read of ``results`` (``data`` and ``attributes`` as JSON text, decoded by orjson).
_LIVE_COLUMNS = (Result.active, Result.pupil_key, Result.name, Result.screen_tier,
                 Result.review_status, Result.critical_items, Result.reasons,
                 Result.reason_codes, Result.roster_match, Result.source_row, Result.source_ref,
                 Result.part_id, cast(Result.data, Text), cast(Result.attributes, Text))


class _Frames(_StoreBase):
    """Stored results as frames and their effective tiers (see the module docstring)."""

    def _frames(self, s: Session, *, pupil_key: str | None = None,
                max_seq: int | None = None, key_range: tuple[str, str] | None = None,
                row_order: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Stored results (counted sheets) and reviews, of one pupil, of the pupils whose key
        lies in ``key_range`` (inclusive, in the database's order) or of all; ``row_order``
        adds ``_row_index`` (the sheet's row in its part: with ``part_id``, the order of a
        wave read whole)."""
        extra = (Result.row_index,) if row_order else ()
        live = (select(*_LIVE_COLUMNS, Wave.name, Wave.seq, *extra)
                .join(Wave, Wave.id == Result.wave_id)
                .outerjoin(Part, Part.id == Result.part_id)
                .where(or_(Part.id.is_(None), Part.superseded_at.is_(None))))
        rq = select(Review, Wave.seq).join(Wave, Wave.id == Review.wave_id)
        if pupil_key is not None:
            live = live.where(Result.pupil_key == pupil_key)
            rq = rq.where(Review.pupil_key == pupil_key)
        if key_range is not None:
            live = live.where(Result.pupil_key.between(*key_range))
            rq = rq.where(Review.pupil_key.between(*key_range))
        if max_seq is not None:
            live = live.where(Wave.seq <= max_seq)
            rq = rq.where(Wave.seq <= max_seq)
        chunks, others = [], []
        result = s.execute(live.order_by(Wave.seq, Result.part_id, Result.row_index)
                           .execution_options(yield_per=_READ_CHUNK))
        for rows in result.partitions():
            chunk, inactive = _screen_chunk(rows)
            others.extend(inactive)
            if chunk is not None:
                chunks.append(chunk)
        reviews = [{"pupil_id": r.pupil_key, "wave_seq": seq, "outcome": r.outcome,
                    "tier": r.tier, "by": r.by, "at": r.at, "note": r.note,
                    "on_date": r.on_date, "_id": r.id}
                   for r, seq in s.execute(rq.order_by(Review.id))]
        screens = _concat_screens(chunks)
        if len(screens) and others:
            from xinli_screen.wave.reconcile import carry_critical

            floors = {seq: self._wave_policy(s, seq).critical_item_tier
                      for seq in screens["wave_seq"].unique()}
            parts = [carry_critical(screens[screens["wave_seq"] == seq],
                                    pd.DataFrame(others), floor)
                     for seq, floor in floors.items()]
            screens = pd.concat(parts).sort_index()
        review_frame = pd.DataFrame(reviews, columns=["pupil_id", "wave_seq", "outcome", "tier",
                                                      "by", "at", "note", "on_date", "_id"])
        return screens, review_frame

    def _wave_policy(self, s: Session, seq: int) -> Policy:
        """The policy frozen with the wave ``seq`` (the store's policy for older waves)."""
        row = s.execute(select(Wave.policy_sha256, Wave.policy_text)
                        .where(Wave.seq == int(seq))).first()
        if row is None or not row[0] or not row[1]:
            return self._policy.policy
        sha, text = row
        if sha not in self._wave_policies:
            from xinli_screen.errors import PolicyDefinitionError
            from xinli_screen.yaml_source import read_yaml, validate_model

            doc = read_yaml(text, is_text=True)
            model, issues = validate_model(Policy, doc)
            if model is None:
                raise PolicyDefinitionError(issues)
            self._wave_policies[sha] = model
        return self._wave_policies[sha]

    def effective(self, screens: pd.DataFrame, reviews: pd.DataFrame,
                  population: pd.DataFrame | ChangePopulation | None = None) -> pd.DataFrame:
        """Effective tiers of stored results (history rules, then reviews), wave by wave,
        each wave under the policy frozen with it (``population``: every pupil's scores, for
        the reliable-change r and SD when ``screens`` is one pupil's)."""
        if not len(screens):
            return screens
        with Session(self.engine) as s:
            policies = {int(seq): self._wave_policy(s, seq)
                        for seq in screens["wave_seq"].unique()}
        rules = {int(k): p.history for k, p in policies.items()}
        labels = {int(k): {t: p.tiers.spec(t).label.get("zh") for t in TIER_ORDER}
                  for k, p in policies.items()}
        return run_history(screens, reviews, self.history_rules, labels=self.labels,
                           rules_by_wave=rules, labels_by_wave=labels,
                           change_population=population)

    def _population(self, s: Session, max_seq: int | None = None) -> pd.DataFrame:
        """Every pupil's counted result per wave, reduced to what the reliable-change r and
        SD are estimated from (:func:`~xinli_screen.policy.history.wave_change`).

        Streamed from the database in chunks of :data:`_READ_CHUNK` rows, in the order of
        :meth:`ArchiveStore.wave_table` (wave, part, row), so that pairs and sums are taken
        in the same order as on the whole table.

        Returns
        -------
        DataFrame, shape (counted results of waves up to ``max_seq``, k)
            ``pupil_id`` (Arrow string), ``wave_seq``, and of the stored data only the
            scores with a cut-off, their ``.n_answered`` and cut-off columns, and the scales
            named by the waves' change rules (:func:`_change_keys`); integers downcast.
        """
        names: set[str] = set()
        for (seq,) in s.execute(select(Wave.seq)):
            change = (h := self._wave_policy(s, seq).history) and h.change
            if change and (max_seq is None or seq <= max_seq):
                names.update(change.scales)
                names.update(leaf.change for r in h.rules for leaf in condition_leaves(r.when)
                             if isinstance(leaf, ChangeCondition))
        q = (select(Result.pupil_key, cast(Result.data, Text), Wave.seq)
             .join(Wave, Wave.id == Result.wave_id)
             .outerjoin(Part, Part.id == Result.part_id)
             .where(or_(Part.id.is_(None), Part.superseded_at.is_(None)),
                    Result.active.is_(True)))
        if max_seq is not None:
            q = q.where(Wave.seq <= max_seq)
        result = s.execute(q.order_by(Wave.seq, Result.part_id, Result.row_index)
                           .execution_options(yield_per=_READ_CHUNK))
        return _concat_screens([_change_chunk(rows, frozenset(names))
                                for rows in result.partitions()])


def _loads(text: Any) -> dict[str, Any]:
    """A stored JSON object (text, or already decoded by the driver)."""
    if text is None:
        return {}
    if isinstance(text, (str, bytes)):
        return orjson.loads(text)
    return dict(text)


def _change_keys(keys: tuple[str, ...], names: frozenset[str]) -> tuple[str, ...]:
    """Of one stored result's keys, those the reliable-change parameters read: ``names``,
    and each score with a cut-off key (``{score}.{cut}``, ``{score}.n_answered`` present)
    with its ``.n_answered`` and cut-off keys."""
    cut = {k.rpartition(".")[0] for k in keys
           if k.count(".") == 2 and k.rpartition(".")[2] not in NOT_CUTOFF_TAILS}
    scores = {k for k in cut if f"{k}.n_answered" in keys}
    return tuple(k for k in keys if k in names or k in scores
                 or (k.rpartition(".")[0] in scores
                     and (k.endswith(".n_answered")
                          or k.rpartition(".")[2] not in NOT_CUTOFF_TAILS)))


def _change_chunk(rows: Sequence[Any], names: frozenset[str]) -> pd.DataFrame:
    """One chunk of (pupil key, data JSON, wave seq) as the population's frame: the kept keys
    of :func:`_change_keys`, ids as Arrow strings, integers in their smallest type."""
    kept: dict[tuple[str, ...], tuple[str, ...]] = {}
    records = []
    for key, text, seq in rows:
        data = _loads(text)
        keys = tuple(data)
        if keys not in kept:
            kept[keys] = _change_keys(keys, names)
        records.append({**{k: data[k] for k in kept[keys]}, "pupil_id": key, "wave_seq": seq})
    frame = pd.DataFrame(records)
    frame["pupil_id"] = frame["pupil_id"].astype("string[pyarrow]")
    for col in frame.columns:
        if pd.api.types.is_integer_dtype(frame[col].dtype):
            frame[col] = pd.to_numeric(frame[col], downcast="integer")
    return frame


def _screen_chunk(rows: Sequence[Any]) -> tuple[pd.DataFrame | None, list[dict[str, Any]]]:
    """One chunk of stored results (rows of :data:`_LIVE_COLUMNS`, wave name, wave seq) as
    the counted sheets' frame, and the critical items of the sheets that do not count
    (a trailing ``row_index``, when selected, becomes the column ``_row_index``).

    Columns as the per-sheet dict ``{**data, **attr.*, pupil_id, name, wave, ...}`` always
    gave: the stored result columns first (the fixed ones overwritten in place), then the
    attributes, then the fixed columns not among the result columns.
    """
    (active, key, name, tier, review, critical, reasons, codes, match, source_row,
     source_ref, part_id, data, attrs, wave, seq, *order) = (list(c)
                                                             for c in zip(*rows, strict=True))
    others = [{"pupil_id": key[i], "wave_seq": seq[i], "critical_items": critical[i],
               "warning_tier": tier[i]}
              for i, a in enumerate(active) if not a and critical[i]]
    keep = [i for i, a in enumerate(active) if a]
    if not keep:
        return None, others
    if len(keep) < len(active):
        (key, name, tier, review, critical, reasons, codes, match, source_row, source_ref,
         part_id, data, attrs, wave, seq, *order) = ([col[i] for i in keep] for col in (
             key, name, tier, review, critical, reasons, codes, match, source_row,
             source_ref, part_id, data, attrs, wave, seq, *order))
    frame = pd.DataFrame([_loads(d) for d in data])
    attr_frame = pd.DataFrame([_loads(a) for a in attrs], index=frame.index)
    for col in attr_frame.columns:
        frame[f"attr.{col}"] = attr_frame[col]
    fixed = {"pupil_id": key, "name": name, "wave": wave, "wave_seq": seq,
             "warning_tier": tier, "review_status": review, "critical_items": critical,
             "reasons": reasons, "reason_codes": codes, "roster_match": match,
             "source_row": source_row, "source_ref": source_ref, "part_id": part_id,
             **({"_row_index": order[0]} if order else {})}
    for col, values in fixed.items():
        frame[col] = pd.Series(values, index=frame.index)
    return frame, others


def _concat_screens(chunks: list[pd.DataFrame]) -> pd.DataFrame:
    """The chunks as one frame, each column's type inferred over the whole column (as one
    frame built at once would have it)."""
    if not chunks:
        return pd.DataFrame()
    if len(chunks) == 1:
        return chunks[0]
    dtypes: dict[str, set[str]] = {}
    for chunk in chunks:
        for col, dtype in chunk.dtypes.items():
            dtypes.setdefault(str(col), set()).add(str(dtype))
    frame = pd.concat(chunks, ignore_index=True, sort=False)
    for col, kinds in dtypes.items():
        uneven = len(kinds) > 1 or any(col not in c.columns for c in chunks)
        if uneven and frame[col].dtype == object:
            frame[col] = frame[col].infer_objects()
    return frame
