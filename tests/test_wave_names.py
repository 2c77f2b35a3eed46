"""Names in the pupil file: a wave run without --keep-names never silently drops the names an
earlier --keep-names run stored, and `wave list --with-names` says when there are none
(found by a Chinese-only user check: both parts were re-stored as version 2 without names)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from xinli_screen.archive import ArchiveStore
from xinli_screen.cli.app import app
from xinli_screen.demo.district import write_district_scenario


def _run(*args: object) -> tuple[int, str]:
    out = CliRunner().invoke(app, [str(a) for a in args])
    return out.exit_code, out.output


@pytest.fixture(scope="module")
def wave(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_district_scenario(tmp_path_factory.mktemp("names"), seed=7,
                                   n_pupils=150).wave1


def _names(db: Path) -> int:
    """Pupils of the wave (counted sheets) with a stored name."""
    store = ArchiveStore(str(db))
    try:
        table = store.wave_table("2026-autumn")
    finally:
        store.close()
    return int(table["name"].notna().sum())


def _wave_run(wave: Path, db: Path, *extra: str) -> tuple[int, str]:
    return _run("wave", "run", wave, "--archive", db, "--by", "me", "-o",
                db.with_suffix(".xlsx"), *extra)


def test_rerun_without_keep_names_is_refused_and_changes_nothing(wave: Path,
                                                                 tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    code, _ = _wave_run(wave, db, "--keep-names")
    assert code == 0
    stored = _names(db)
    assert stored > 0
    code, output = _wave_run(wave, db)
    assert code == 2, output
    assert "--keep-names" in output and "--drop-names" in output
    assert "Nothing was stored" in output
    assert _names(db) == stored
    # the same run with --keep-names is unchanged: no new version
    code, output = _wave_run(wave, db, "--keep-names")
    assert code == 0 and "corrected" not in output
    assert re.findall(r"part \S+: unchanged \(version 1,", output)


def test_refusal_names_no_pupil(wave: Path, tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    _wave_run(wave, db, "--keep-names")
    _, output = _wave_run(wave, db)
    store = ArchiveStore(str(db))
    table = store.wave_table("2026-autumn")
    store.close()
    for value in pd.concat([table["name"].dropna(), table["pupil_id"].dropna()]).astype(str):
        assert value not in output


def test_drop_names_is_explicit(wave: Path, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    _wave_run(wave, db, "--keep-names")
    code, output = _wave_run(wave, db, "--keep-names", "--drop-names")
    assert code == 2 and "not both" in output
    code, output = _wave_run(wave, db, "--drop-names")
    assert code == 0, output
    assert len(re.findall(r"part \S+: corrected \(version 2,", output)) == 2
    assert _names(db) == 0
    # an archive without names: a run without --keep-names is fine and changes nothing
    code, output = _wave_run(wave, db)
    assert code == 0 and "corrected" not in output


def test_list_with_names_warns_when_the_archive_holds_none(wave: Path, tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    _wave_run(wave, db)
    code, output = _run("wave", "list", "--archive", db, "--wave", "2026-autumn", "-o",
                        tmp_path / "lists", "--with-names")
    assert code == 0, output
    assert "warning" in output and "--keep-names" in output and "姓名" in output
    named = tmp_path / "named.db"
    _wave_run(wave, named, "--keep-names")
    code, output = _run("wave", "list", "--archive", named, "--wave", "2026-autumn", "-o",
                        tmp_path / "lists2", "--with-names")
    assert code == 0 and "warning" not in output
