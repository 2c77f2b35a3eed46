"""Pseudonymised ids (keyed HMAC), export and deletion of one pupil, no ids in messages."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from archive_db import BACKENDS, fresh_target
from sqlalchemy import create_engine, text

import xinli_screen as xs
from xinli_screen.archive import ArchiveStore, PupilNotFoundError
from xinli_screen.io import write_result
from xinli_screen.privacy import PrivacyKeyError, load_key, pseudonymise, pseudonymise_one

KEY = b"0123456789abcdef-test-key"
ITEMS = [f"phq9_{i:02d}" for i in range(1, 11)]


@pytest.fixture(params=BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_target(request.param, tmp_path)


def _result(ids: list[str]) -> xs.ScreeningResult:
    rows = [{"sid": sid, **{i: "2" for i in ITEMS}} for sid in ids]
    return xs.screen(pd.DataFrame(rows), ["phq9"], id_column="sid")


def test_pseudonyms_are_keyed_and_stable() -> None:
    ids = pd.Series(["001", "002", "001", None])
    out = pseudonymise(ids, KEY)
    assert out[0] == out[2] != out[1] and out[3] is None
    assert out[0].startswith("p_") and len(out[0]) == 34
    assert pseudonymise_one("001", b"another-key-of-16-bytes") != out[0]


def test_key_from_env_or_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINLI_HMAC_KEY", KEY.decode())
    assert load_key() == KEY
    (tmp_path / "k").write_bytes(b"file-key-0123456789\n")
    assert load_key(tmp_path / "k") == b"file-key-0123456789"
    monkeypatch.setenv("XINLI_HMAC_KEY", "short")
    with pytest.raises(PrivacyKeyError) as err:
        load_key()
    assert "short" not in str(err.value)


def test_pseudonymised_archive_never_holds_the_id(target: str) -> None:
    r = _result(["SECRET-ID-4711", "002"])
    with ArchiveStore(target, key=KEY) as store:
        store.import_wave(r.table, r.provenance, "w1", by="me", pseudonymise_ids=True)
        store.add_review("SECRET-ID-4711", "w1", "confirmed", by="psy")
        assert store.pupil_file("SECRET-ID-4711")["pupil_key"] == pseudonymise_one(
            "SECRET-ID-4711", KEY)
    url = target if "://" in target else f"sqlite:///{target}"
    engine = create_engine(url)
    with engine.connect() as conn:
        dump = " ".join(str(row) for table in ("waves", "results", "reviews", "audit")
                        for row in conn.execute(text(f"SELECT * FROM {table}")))
    engine.dispose()
    assert "SECRET-ID-4711" not in dump and KEY.decode() not in dump
    with ArchiveStore(target) as store, pytest.raises(PupilNotFoundError, match="XINLI_HMAC_KEY"):
        store.pupil_file("SECRET-ID-4711")


def test_export_and_delete_one_pupil(target: str) -> None:
    r = _result(["001", "002"])
    with ArchiveStore(target) as store:
        store.import_wave(r.table, r.provenance, "w1", by="me")
        store.add_review("001", "w1", "confirmed", by="psy", note="n")
        store.add_action("001", "referral", by="psy")
        exported = store.export_pupil("001", by="dpo")
        assert exported["pupil_key"] == "001" and exported["waves"][0]["reviews"]
        json.dumps(exported, default=str)
        removed = store.delete_pupil("001", by="dpo")
        assert removed["results"] == 1 and removed["reviews"] == 1 and removed["actions"] == 1
        with pytest.raises(PupilNotFoundError):
            store.pupil_file("001")
        assert store.wave_table("w1")["pupil_id"].tolist() == ["002"]
        audit = store.audit()
        assert "001" not in audit["pupil_key"].fillna("").tolist()
        assert audit["event"].iloc[-1] == "delete_pupil"
        assert "001" not in " ".join(audit["detail"])


def test_cli_pseudonymise_export_delete(cli, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    res = tmp_path / "r.json"
    write_result(_result(["SECRET-ID-4711"]), res)
    db = tmp_path / "a.db"
    monkeypatch.delenv("XINLI_HMAC_KEY", raising=False)
    no_key = cli("archive", "import", res, "--wave", "w1", "--archive", db, "--pseudonymise")
    assert no_key.code == 2 and "key" in no_key.err
    monkeypatch.setenv("XINLI_HMAC_KEY", KEY.decode())
    assert cli("archive", "import", res, "--wave", "w1", "--archive", db,
               "--pseudonymise").code == 0
    out = tmp_path / "export.json"
    assert cli("archive", "export", "SECRET-ID-4711", "-o", out, "--by", "dpo",
               "--archive", db).code == 0
    assert "SECRET-ID-4711" not in out.read_text("utf-8")
    assert cli("archive", "delete", "SECRET-ID-4711", "--by", "dpo", "--archive", db).code == 2
    run = cli("archive", "delete", "SECRET-ID-4711", "--by", "dpo", "--yes", "--archive", db)
    assert run.code == 0 and "SECRET-ID-4711" not in run.err + run.out
    gone = cli("report", "pupil", "SECRET-ID-4711", "-o", tmp_path / "p.json", "--archive", db)
    assert gone.code == 2 and "SECRET-ID-4711" not in gone.err
