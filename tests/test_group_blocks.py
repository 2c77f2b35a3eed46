"""A wave read in blocks of pupils (report group's path) equals the wave read whole."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from archive_db import BACKENDS, fresh_target

import xinli_screen as xs
from xinli_screen.archive import ArchiveStore
from xinli_screen.archive.wave_blocks import wave_columns
from xinli_screen.policy.loader import load_policy
from xinli_screen.report.group import build_group_report, write_group_report
from xinli_screen.report.group_counts import cutoff_candidate

ITEMS = [f"phq9_{i:02d}" for i in range(1, 11)]
BY = ["school", "grade", "class"]


def _keep(col: str) -> bool:
    return (col == "warning_tier" or cutoff_candidate(col)
            or (col.startswith("attr.") and col[5:] in BY))


def _answers(ids: list[str], seed: int) -> pd.DataFrame:
    """Each pupil keeps about 70% of their answers from wave to wave (scores correlate
    between waves, so r is estimated from the pupils and reliable change is computed)."""
    p = [0.45, 0.3, 0.13, 0.12]
    own = np.random.default_rng(99).choice(4, size=(1000, 10), p=p)[[int(i[1:]) for i in ids]]
    rng = np.random.default_rng(seed)
    fresh = rng.choice(4, size=(len(ids), 10), p=p)
    codes = np.where(rng.random((len(ids), 10)) < 0.3, fresh, own)
    frame = pd.DataFrame(codes.astype(str), columns=ITEMS)
    frame.insert(0, "sid", ids)
    return frame.sample(frac=1, random_state=seed)   # file order is not key order


def _roster(ids: list[str]) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    roster = pd.DataFrame({"sid": ids,
                           "school": rng.choice(["一中", "二中", "实验小学"], len(ids)),
                           "grade": rng.choice(["初一", "初二", "七年级"], len(ids)),
                           "class": rng.choice(["1", "2", "10"], len(ids))})
    return roster.iloc[: len(ids) - 6]   # six pupils not on the roster: the unmatched row


def _store(path: str, policy: object, waves: int) -> ArchiveStore:
    """Waves of 90 pupils (20 leave and 20 join each wave), reviews on a few of them."""
    ids = [f"S{k:04d}" for k in range(150)]
    store = ArchiveStore(path)
    for w in range(waves):
        pupils = ids[20 * w: 20 * w + 90]
        r = xs.screen(_answers(pupils, seed=w), ["phq9"], id_column="sid")
        store.import_wave(r.table, r.provenance, f"w{w}", by="test", roster=_roster(ids),
                          policy=policy)  # type: ignore[arg-type]
        flagged = r.table.loc[r.table["warning_tier"] != "none", "sid"].tolist()
        for pid, outcome in zip(flagged[:6], ["confirmed", "not_confirmed", "closed"] * 2,
                                strict=False):
            store.add_review(pid, f"w{w}", outcome, by="psy")
    return store


def _no_change_policy() -> object:
    policy = load_policy("default").policy
    return policy.model_copy(update={"history": policy.history.model_copy(
        update={"change": None})})


def _report(tables: dict[str, pd.DataFrame], out: Path) -> bytes:
    tables = {w: t.rename(columns={c: c[5:] for c in t.columns if c.startswith("attr.")})
              for w, t in tables.items()}
    write_group_report(build_group_report(tables, BY, min_cell=3), out)
    return out.read_bytes()


def _keep_change(col: str) -> bool:
    """The group report's columns and every reliable-change column (r, SD, RCI, status)."""
    return _keep(col) or col.startswith("change.")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("waves", "change"), [(3, False), (1, True), (3, True)])
def test_blocks_equal_whole_table(tmp_path: Path, waves: int, change: bool,
                                  backend: str) -> None:
    """Block boundaries come from the database's own key order (PostgreSQL collation too);
    with change rules, r and SD are those of all pupils, not of the block."""
    policy = load_policy("default").policy if change else _no_change_policy()
    store = _store(fresh_target(backend, tmp_path), policy, waves)
    keep = _keep_change if change else _keep
    for w in range(waves):
        whole = store.wave_table(f"w{w}")
        whole = whole[[c for c in whole.columns if keep(str(c))]]
        if change and w:
            assert whole["change.phq9.total.reliability"].notna().all()
            assert whole["change.phq9.total.status"].notna().any()
        for size in (1, 7, 10_000, None):   # None: the default, BLOCK_PUPILS // waves
            blocked = wave_columns(store, f"w{w}", keep, block_pupils=size)
            pd.testing.assert_frame_equal(blocked, whole, check_exact=True)
    names = [f"w{w}" for w in range(waves)]
    a = _report({w: store.wave_table(w) for w in names}, tmp_path / "whole.json")
    b = _report({w: wave_columns(store, w, _keep, block_pupils=7) for w in names},
                tmp_path / "blocked.json")
    assert a == b and json.loads(a)
    store.close()


def test_history_is_seen_across_blocks(tmp_path: Path) -> None:
    """Persistence (校级 twice -> 区级) needs each pupil's earlier waves in its block."""
    store = _store(str(tmp_path / "a.db"), _no_change_policy(), 3)
    whole = store.wave_table("w2")
    assert (whole["warning_tier"] != whole["screen_tier"]).any()
    blocked = wave_columns(store, "w2", _keep, block_pupils=5)
    assert blocked["warning_tier"].tolist() == whole["warning_tier"].tolist()
    store.close()


def test_block_size_must_be_positive(tmp_path: Path) -> None:
    store = _store(str(tmp_path / "a.db"), _no_change_policy(), 1)
    with pytest.raises(ValueError, match="at least 1"):
        wave_columns(store, "w0", _keep, block_pupils=0)
    store.close()


def test_pupil_file_change_equals_wave_table(tmp_path: Path) -> None:
    """One pupil's file estimates r and SD on the same slim population as the blocks: its
    change columns equal the whole table's, also for a pupil whose only wave is the last
    (the whole table gives them empty change columns, with r and SD)."""
    store = _store(str(tmp_path / "a.db"), load_policy("default").policy, 3)
    whole = store.wave_table("w2").set_index("pupil_id")
    cols = [c for c in whole.columns if str(c).startswith("change.")]
    assert cols and whole["change.phq9.total.rci"].notna().any()
    for pid in ("S0045", "S0105", "S0125"):   # in all three waves; from w1 on; only in w2
        waves = store.pupil_file(pid)["waves"]
        rec = waves[-1]
        assert rec["wave_seq"] == 3 and (len(waves) == 1) == (pid == "S0125")
        for col in cols:
            assert col in rec, col
            got, want = rec[col], whole.at[pid, col]
            assert got == want or (pd.isna(got) and pd.isna(want)), col
    first = store.pupil_file("S0005")["waves"]   # only in w0: neither table has change columns
    assert len(first) == 1 and not any(str(c).startswith("change.") for c in first[0])
    assert not any(str(c).startswith("change.") for c in store.wave_table("w0").columns)
    store.close()
