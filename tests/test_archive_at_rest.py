"""What the pupil file keeps at rest (issue 15): the hash-chained audit trail and
`archive verify`, the key fingerprint, the attribute allow-list, refusal of identity numbers,
phone numbers and IP addresses, engine columns only, 0600 files, no values in database errors.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pytest
from archive_db import BACKENDS, fresh_target
from sqlalchemy import create_engine, insert, text
from sqlalchemy.exc import SQLAlchemyError

import xinli_screen as xs
from xinli_screen.archive import ArchiveStore
from xinli_screen.archive.base import ArchiveError
from xinli_screen.archive.models import ArchiveMeta
from xinli_screen.privacy import PrivacyKeyError

ITEMS = [f"phq9_{i:02d}" for i in range(1, 11)]
KEY_A = b"0123456789abcdef-key-A"
KEY_B = b"0123456789abcdef-key-B"


@pytest.fixture(params=BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_target(request.param, tmp_path)


def _result(ids: list[str], **extra: list[str]) -> xs.ScreeningResult:
    rows = [{"sid": sid, **{i: "2" for i in ITEMS}, **{k: v[n] for k, v in extra.items()}}
            for n, sid in enumerate(ids)]
    return xs.screen(pd.DataFrame(rows), ["phq9"], id_column="sid")


def _filled(target: str) -> None:
    r = _result(["001", "002", "003"])
    with ArchiveStore(target) as store:
        store.import_wave(r.table, r.provenance, "w1", by="me")
        store.add_review("001", "w1", "confirmed", by="psy", note="面谈")
        store.add_action("002", "interview", by="psy")
        store.add_review("003", "w1", "not_confirmed", by="psy")


def _sql(target: str, statement: str) -> None:
    engine = create_engine(target if "://" in target else f"sqlite:///{target}")
    with engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()


def test_intact_chain_verifies(target: str) -> None:
    _filled(target)
    with ArchiveStore(target) as store:
        result = store.verify_audit()
    assert result.ok and result.before_chain == 0
    assert result.verified == result.entries >= 5 and result.head == result.stored_head


@pytest.mark.parametrize(("statement", "broken"), [
    ("UPDATE audit SET actor = 'someone else' WHERE id = 3", "entry 3"),
    ("UPDATE audit SET detail = '{\"outcome\": \"not_confirmed\"}' WHERE event = 'review' "
     "AND id = (SELECT MIN(id) FROM audit WHERE event = 'review')", "entry"),
    ("DELETE FROM audit WHERE id = 2", "entry 3"),
    ("DELETE FROM audit WHERE id = (SELECT MAX(id) FROM audit)", "recorded head"),
    ("INSERT INTO audit (at, actor, event, wave, detail) VALUES "
     "('2026-01-01T00:00:00+00:00', 'x', 'review', 'w1', '{}')", "no chain value"),
    ("UPDATE audit SET pupil_key = '002' WHERE pupil_key = '001'", "pupil was changed"),
])
def test_edits_are_detected(target: str, statement: str, broken: str) -> None:
    _filled(target)
    _sql(target, statement)
    with ArchiveStore(target) as store:
        result = store.verify_audit()
    assert not result.ok
    assert any(broken in p for p in result.problems), result.problems
    assert not any("001" in p or "002" in p for p in result.problems)


def test_erasure_keeps_the_chain_and_unlinks(target: str) -> None:
    _filled(target)
    with ArchiveStore(target) as store:
        store.delete_pupil("001", by="dpo")
        assert store.verify_audit().ok
    engine = create_engine(target if "://" in target else f"sqlite:///{target}")
    with engine.connect() as conn:
        left = conn.execute(text("SELECT COUNT(*) FROM audit WHERE pupil_commit IS NOT NULL "
                                 "AND pupil_key IS NULL AND pupil_salt IS NULL")).scalar()
        dump = " ".join(str(r) for r in conn.execute(text("SELECT * FROM audit")))
    engine.dispose()
    assert left >= 1 and "'001'" not in dump


def test_cli_verify(cli, tmp_path: Path) -> None:
    db = str(tmp_path / "a.db")
    _filled(db)
    ok = cli("archive", "verify", "--archive", db)
    assert ok.code == 0 and "intact" in ok.err
    _sql(db, "UPDATE audit SET actor = 'x' WHERE id = 2")
    bad = cli("archive", "verify", "--archive", db)
    assert bad.code == 1 and "BROKEN: entry 2" in bad.err


def test_another_key_is_refused(target: str) -> None:
    r = _result(["001", "002"])
    with ArchiveStore(target, key=KEY_A) as store:
        store.import_wave(r.table, r.provenance, "w1", by="me", pseudonymise_ids=True)
    r2 = _result(["001", "004"])
    with ArchiveStore(target, key=KEY_B) as store:
        with pytest.raises(PrivacyKeyError, match="not the key") as err:
            store.import_wave(r2.table, r2.provenance, "w2", by="me", pseudonymise_ids=True)
        assert KEY_A.decode() not in str(err.value) and KEY_B.decode() not in str(err.value)
        with pytest.raises(PrivacyKeyError, match="not the key"):
            store.pupil_file("001")
        assert store.counts()["waves"] == 1
    with ArchiveStore(target, key=KEY_A) as store:
        store.import_wave(r2.table, r2.provenance, "w2", by="me", pseudonymise_ids=True)
        assert len(store.pupil_file("001")["waves"]) == 2


def test_roster_allow_list_and_refusals(target: str) -> None:
    r = _result(["001", "002", "003"])
    roster = pd.DataFrame({"sid": ["001", "002", "003"], "school": ["一中"] * 3,
                           "grade": ["初一"] * 3, "class": ["1班"] * 3,
                           "家长电话": ["13812345678", "13912345678", "13712345678"],
                           "备注": ["a", "b", "c"],
                           "证件": ["110101200901011234", "110101200901015678", "x"]})
    with ArchiveStore(target) as store:
        store.import_wave(r.table, r.provenance, "w1", by="me", roster=roster)
        table = store.wave_table("w1")
        assert {"attr.school", "attr.grade", "attr.class"} <= set(table.columns)
        assert not any(c.startswith("attr.") and c[5:] in ("家长电话", "备注", "证件")
                       for c in table.columns)
        for column in ("家长电话", "证件"):
            with pytest.raises(ArchiveError, match=column) as err:
                store.import_wave(r.table, r.provenance, "w2", by="me", roster=roster,
                                  attributes=["school", column])
            assert "138" not in str(err.value) and "1101" not in str(err.value)
        hidden = roster.assign(备注=["13812345678", "13912345678", "note"])
        with pytest.raises(ArchiveError, match="mobile phone"):
            store.import_wave(r.table, r.provenance, "w2", by="me", roster=hidden,
                              attributes=["school", "备注"])
        store.import_wave(r.table, r.provenance, "w2", by="me", roster=roster,
                          attributes=["school", "备注"])
        assert "attr.备注" in store.wave_table("w2").columns


def test_only_engine_columns_are_stored(tmp_path: Path) -> None:
    r = _result(["001", "002"])
    table = r.table.assign(IP=["10.1.2.3", "10.1.2.4"], 自由文本=["私密", "内容"])
    db = str(tmp_path / "a.db")
    with ArchiveStore(db) as store:
        store.import_wave(table, r.provenance, "w1", by="me")
        stored = store.wave_table("w1")
    assert "phq9.total" in stored.columns
    assert "IP" not in stored.columns and "自由文本" not in stored.columns
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        dump = " ".join(str(r) for r in conn.execute(text("SELECT data FROM results")))
    engine.dispose()
    assert "10.1.2.3" not in dump and "私密" not in dump


def test_new_sqlite_file_is_private(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    with ArchiveStore(str(db)):
        pass
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600


def test_long_id_refused_without_the_value(target: str) -> None:
    long_id = "X" * 200
    r = _result(["001", long_id])
    with ArchiveStore(target) as store, pytest.raises(ArchiveError, match="128") as err:
        store.import_wave(r.table, r.provenance, "w1", by="me")
    assert long_id not in str(err.value)
    with ArchiveStore(target) as store:
        assert store.counts()["results"] == 0


def test_database_errors_carry_no_values(target: str) -> None:
    with ArchiveStore(target) as store:
        with store.engine.begin() as conn:
            conn.execute(insert(ArchiveMeta).values(name="probe", value="SECRET-4711"))
        with pytest.raises(SQLAlchemyError) as err, store.engine.begin() as conn:
            conn.execute(insert(ArchiveMeta).values(name="probe", value="SECRET-4711"))
    assert "SECRET-4711" not in str(err.value)
