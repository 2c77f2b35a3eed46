"""The pupil file store on SQLite (always) and PostgreSQL (when XINLI_TEST_PG_URL is set)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from archive_db import BACKENDS, fresh_target
from sqlalchemy import create_engine, inspect

import xinli_screen as xs
from xinli_screen.archive import ArchiveError, ArchiveStore, PupilNotFoundError, read_results_file
from xinli_screen.io import write_result

ITEMS = [f"phq9_{i:02d}" for i in range(1, 11)]


@pytest.fixture(params=BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_target(request.param, tmp_path)


def _result(scores: dict[str, int]) -> xs.ScreeningResult:
    rows = [{"sid": sid, **{i: (str(v) if i != "phq9_09" else "0") for i in ITEMS}}
            for sid, v in scores.items()]
    return xs.screen(pd.DataFrame(rows), ["phq9"], id_column="sid")


def test_schema_created_by_alembic(target: str) -> None:
    ArchiveStore(target).close()
    engine = create_engine(target if "://" in target else f"sqlite:///{target}")
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"waves", "results", "reviews", "actions", "audit", "alembic_version"} <= names


def test_import_is_idempotent_and_a_correction_supersedes(target: str) -> None:
    r = _result({"001": 2, "002": 0})
    with ArchiveStore(target) as store:
        first = store.import_wave(r.table, r.provenance, "w1", by="me")
        counts = store.counts()
        again = store.import_wave(r.table, r.provenance, "w1", by="me")
        assert first.changed and first.imported == 2
        assert not again.changed and store.counts() == counts
        table = store.wave_table("w1")
        assert table["pupil_id"].tolist() == ["001", "002"]
        assert table["warning_tier"].astype(str).tolist() == ["school", "none"]
        assert table.loc[0, "phq9.total"] == 16
        # the same part with other content is a correction: it supersedes, nothing is deleted
        other = _result({"001": 1, "002": 0})
        fixed = store.import_wave(other.table, other.provenance, "w1", by="me")
        assert fixed.changed and [p.outcome for p in fixed.parts] == ["corrected"]
        after = store.counts()
        assert after["results"] == counts["results"] + 2 and after["waves"] == 1
        parts = store.parts("w1")
        assert parts["version"].tolist() == [1, 2]
        assert parts["superseded_at"].notna().tolist() == [True, False]
        table = store.wave_table("w1")
        assert table["pupil_id"].tolist() == ["001", "002"]
        assert table.loc[0, "phq9.total"] == 8
        events = store.audit()["event"].tolist()
        assert events.count("supersede_part") == 1


def test_rows_without_a_usable_id_are_kept(target: str) -> None:
    """A sheet without id gets a provisional key; a double submission is kept, inactive."""
    table = _result({"001": 1, "002": 1, "003": 1}).table
    table.loc[1, "sid"] = None
    table.loc[2, "sid"] = "001"
    with ArchiveStore(target) as store:
        s = store.import_wave(table, {"id_column": "sid"}, "w1", by="me")
        assert (s.imported, s.without_id, s.duplicate_sheets) == (3, 1, 1)
        wave = store.wave_table("w1")
        assert sorted(wave["pupil_id"]) == ["001", "NOID-main-3"]
        sheets = store.sheets("w1")
        assert len(sheets) == 3 and sheets["active"].sum() == 2


def test_reviews_actions_and_audit(target: str) -> None:
    r = _result({"001": 2})
    with ArchiveStore(target) as store:
        store.import_wave(r.table, r.provenance, "w1", by="admin")
        store.add_review("001", "w1", "tier_changed", tier="class", by="psy", note="why")
        store.add_action("001", "interview", by="psy", wave="w1")
        with pytest.raises(ArchiveError, match="needs the new tier"):
            store.add_review("001", "w1", "tier_changed", by="psy")
        with pytest.raises(ArchiveError, match="unknown action"):
            store.add_action("001", "gossip", by="psy")
        with pytest.raises(ArchiveError, match="no wave named"):
            store.add_review("001", "w9", "confirmed", by="psy")
        with pytest.raises(PupilNotFoundError) as err:
            store.add_review("SECRET-ID-4711", "w1", "confirmed", by="psy")
        assert "SECRET-ID-4711" not in str(err.value)
        file = store.pupil_file("001")
        wave = file["waves"][0]
        assert (wave["screen_tier"], wave["warning_tier"], wave["review_status"]) == (
            "school", "class", "tier_changed")
        assert wave["reviews"][0]["note"] == "why" and wave["actions"][0]["kind"] == "interview"
        audit = store.audit()
        assert audit["event"].tolist() == ["create_wave", "import_part", "review", "action"]
        assert audit["actor"].tolist() == ["admin", "admin", "psy", "psy"]
        assert "001" not in " ".join(audit["detail"])


def test_results_files_round_trip(tmp_path: Path) -> None:
    r = _result({"007": 2, "008": 0})
    for suffix in (".json", ".xlsx", ".csv", ".parquet"):
        path = tmp_path / f"res{suffix}"
        write_result(r, path)
        table, prov = read_results_file(path)
        assert table["sid"].tolist() == ["007", "008"], suffix
        assert table["warning_tier"].astype(str).tolist() == ["school", "none"], suffix
        assert prov.get("id_column") == "sid", suffix


def test_roster_attributes_and_names(tmp_path: Path) -> None:
    r = _result({"001": 1, "002": 1})
    roster = pd.DataFrame({"sid": ["001", "002"], "class": ["c1", "c2"],
                           "姓名": ["NAME-A", "NAME-B"]})
    with ArchiveStore(tmp_path / "a.db") as store:
        store.import_wave(r.table, r.provenance, "w1", by="me", roster=roster)
        t = store.wave_table("w1")
        assert t["attr.class"].tolist() == ["c1", "c2"]
        assert t["name"].isna().all()
        assert "NAME-A" not in json.dumps(store.export_pupil("001", by="me"), default=str)
    with ArchiveStore(tmp_path / "b.db") as store:
        store.import_wave(r.table, r.provenance, "w1", by="me", roster=roster, keep_names=True)
        assert store.pupil_file("001")["name"] == "NAME-A"


def test_reimport_without_keep_names_never_drops_stored_names(cli, tmp_path: Path) -> None:
    """A corrected results file imported without --keep-names over a part that holds names is
    refused (nothing stored) unless --drop-names says so (found by a new-user check)."""
    roster = tmp_path / "roster.csv"
    roster.write_text("sid,class,姓名\n001,c1,NAME-A\n002,c2,NAME-B\n", encoding="utf-8")
    first, fixed = tmp_path / "r1.json", tmp_path / "r2.json"
    write_result(_result({"001": 1, "002": 1}), first)
    write_result(_result({"001": 2, "002": 1}), fixed)       # a corrected file, same part
    db = tmp_path / "a.db"
    base = ("--wave", "w1", "--archive", db, "--roster", roster)
    assert cli("archive", "import", first, *base, "--keep-names").code == 0
    refused = cli("archive", "import", fixed, *base)
    assert refused.code == 2 and "--drop-names" in refused.err
    assert "NAME-A" not in refused.err and "001" not in refused.err
    with ArchiveStore(db) as store:
        assert store.pupil_file("001")["name"] == "NAME-A"
        with pytest.raises(ArchiveError, match="not both"):
            store.import_results_file(fixed, "w1", by="me", keep_names=True, drop_names=True)
    assert cli("archive", "import", fixed, *base, "--drop-names").code == 0
    with ArchiveStore(db) as store:
        assert store.pupil_file("001")["name"] is None


def test_cli_import_review_action(cli, tmp_path: Path) -> None:
    res = tmp_path / "r.json"
    write_result(_result({"001": 2}), res)
    db = tmp_path / "files.db"
    run = cli("archive", "import", res, "--wave", "w1", "--archive", db)
    assert run.code == 0 and "imported 1" in run.err
    assert "nothing changed" in cli("archive", "import", res, "--wave", "w1",
                                    "--archive", db).err
    assert cli("review", "001", "--wave", "w1", "--outcome", "confirmed", "--by", "psy",
               "--archive", db).code == 0
    bad = cli("review", "SECRET-ID-4711", "--wave", "w1", "--outcome", "confirmed", "--by",
              "psy", "--archive", db)
    assert bad.code == 2 and "SECRET-ID-4711" not in bad.err
    assert cli("review", "001", "--wave", "w1", "--outcome", "maybe", "--by", "psy",
               "--archive", db).code == 2
    assert cli("archive", "action", "001", "--kind", "referral", "--by", "psy",
               "--archive", db).code == 0
    waves = cli("archive", "waves", "--archive", db)
    assert waves.code == 0 and "w1" in waves.out
    audit = cli("archive", "audit", "--archive", db)
    assert "review" in audit.out and "action" in audit.out
