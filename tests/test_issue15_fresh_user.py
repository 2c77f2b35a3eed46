"""Issue 15, findings of the fresh-user check: files holding pupil ids are created 0600 (M3); a
full disk gives a one-line error naming the output file, exit code 2, no partial file (M2);
streamed Parquet with a list column gives the documented message (L1); ``archive import
--attributes`` names missing columns and refuses identity columns behind an alias (L4)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import xinli_screen as xs
from xinli_screen.archive import ArchiveError, ArchiveStore
from xinli_screen.errors import OutputWriteError
from xinli_screen.io import write_result

SENTINEL = "Zq7FRESHid"
ITEMS = [f"phq9_{i:02d}" for i in range(1, 10)]
NO_SPACE = os.strerror(errno.ENOSPC)
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture
def umask_022():
    """The usual umask, under which a plain ``open`` creates 0644 files."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _answers(path: Path, n: int = 6) -> Path:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"sid": [f"{SENTINEL}{i}" for i in range(n)]}
                         | {item: rng.integers(0, 4, n) for item in ITEMS})
    frame.to_csv(path, index=False)
    return path


def _archive(cli, tmp_path: Path) -> Path:
    res = tmp_path / "r.json"
    rows = [{"sid": f"{SENTINEL}{i}", **{item: "2" for item in ITEMS}} for i in range(3)]
    write_result(xs.screen(pd.DataFrame(rows), ["phq9"], id_column="sid"), res)
    db = tmp_path / "a.db"
    assert cli("archive", "import", res, "--wave", "w1", "--archive", db).code == 0
    assert cli("archive", "action", f"{SENTINEL}1", "--kind", "interview", "--by", "me",
               "--archive", db).code == 0  # an audit entry with the pupil's key
    return db


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- M3: files holding pupil ids are created 0600 ---------------------------------------------

@posix_only
@pytest.mark.parametrize("command", [
    ("report", "pupil", f"{SENTINEL}1", "-o", "p.json"),
    ("report", "pupil", f"{SENTINEL}1", "-o", "p.html"),
    ("archive", "export", f"{SENTINEL}1", "--by", "dpo", "-o", "ex.json"),
    ("archive", "audit", "-o", "au.csv"),
    ("archive", "audit", "-o", "au.json"),
])
def test_files_with_pupil_ids_are_owner_only(cli, tmp_path, umask_022, command):
    db = _archive(cli, tmp_path)
    out = tmp_path / command[-1]
    out.write_text("old", encoding="utf-8")  # an existing 0644 file is replaced, not reused
    out.chmod(0o644)
    run = cli(*command[:-1], out, "--archive", db)
    assert run.code == 0, run.err
    assert _mode(out) == 0o600
    assert f"{SENTINEL}1" in out.read_text("utf-8-sig")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["r.json",
                                                                 "a.db", out.name])


# --- M2: an output that cannot be written ------------------------------------------------------

def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, NO_SPACE)


def _check_clean_failure(run, tmp_path: Path, out: Path, inputs: set[str]) -> None:
    assert run.code == 2, run.err
    assert "Traceback" not in run.err + run.out and SENTINEL not in run.err + run.out
    lines = [line for line in run.err.splitlines() if line.startswith("error:")]
    assert lines == [f"error: cannot write {out}: {NO_SPACE} (docs/errors.md#output-files)"]
    assert {p.name for p in tmp_path.iterdir()} == inputs  # no partial or temporary file


@pytest.mark.parametrize("extra", [(), ("--chunk-size", "2")], ids=["memory", "streamed"])
def test_full_disk_csv_is_one_line(cli, tmp_path, monkeypatch, extra):
    src = _answers(tmp_path / "in.csv")
    monkeypatch.setattr("xinli_screen.io.writers.write_csv", _no_space)
    out = tmp_path / "o.csv"
    run = cli("score", src, "-i", "phq9", "--id-column", "sid", "-o", out, *extra)
    _check_clean_failure(run, tmp_path, out, {"in.csv"})


def test_full_disk_xlsx_is_one_line(cli, tmp_path, monkeypatch):
    import xlsxwriter.workbook

    src = _answers(tmp_path / "in.csv")
    monkeypatch.setattr(xlsxwriter.workbook.Workbook, "_store_workbook", _no_space)
    out = tmp_path / "o.xlsx"
    run = cli("score", src, "-i", "phq9", "--id-column", "sid", "-o", out)
    _check_clean_failure(run, tmp_path, out, {"in.csv"})


def test_full_disk_json_is_one_line(cli, tmp_path, monkeypatch):
    src = _answers(tmp_path / "in.csv")
    monkeypatch.setattr(xs.ScreeningResult, "to_json", _no_space)
    out = tmp_path / "o.json"
    run = cli("score", src, "-i", "phq9", "--id-column", "sid", "-o", out)
    _check_clean_failure(run, tmp_path, out, {"in.csv"})


def test_full_disk_archive_export_is_one_line(cli, tmp_path, monkeypatch):
    db = _archive(cli, tmp_path)
    monkeypatch.setattr(Path, "write_text", _no_space)
    out = tmp_path / "ex.json"
    run = cli("archive", "export", f"{SENTINEL}1", "--by", "dpo", "-o", out, "--archive", db)
    _check_clean_failure(run, tmp_path, out, {"r.json", "a.db"})


def test_write_result_raises_output_write_error(tmp_path, monkeypatch):
    result = xs.screen(pd.DataFrame([{"sid": "1", **{item: 1 for item in ITEMS}}]), ["phq9"],
                       id_column="sid")
    monkeypatch.setattr(xs.ScreeningResult, "to_json", _no_space)
    out = tmp_path / "o.json"
    with pytest.raises(OutputWriteError) as caught:
        write_result(result, out)
    assert isinstance(caught.value, OSError) and caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(out)
    assert str(caught.value) == f"cannot write {out}: {NO_SPACE}"
    assert list(tmp_path.iterdir()) == []


def test_any_os_error_in_a_writer_names_the_output(cli, tmp_path, monkeypatch):
    """Not only a full disk: any system error while a writer writes names the output file."""
    src = _answers(tmp_path / "in.csv")

    def failing(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(xs.ScreeningResult, "to_json", failing)
    out = tmp_path / "o.json"
    run = cli("score", src, "-i", "phq9", "--id-column", "sid", "-o", out)
    assert run.code == 2 and f"cannot write {out}: Input/output error" in run.err


# --- L1: streamed Parquet with a list column ---------------------------------------------------

def test_streamed_parquet_with_a_list_column_is_the_documented_error(cli, tmp_path):
    n = 4
    columns = [pa.array([f"{SENTINEL}{i}" for i in range(n)]),
               pa.array([[1, 2]] * n, type=pa.list_(pa.int64()))]
    columns += [pa.array(np.full(n, 1)) for _ in ITEMS[1:]]
    path = tmp_path / "list.parquet"
    pq.write_table(pa.table(columns, names=["sid", *ITEMS]), path)
    out = tmp_path / "o.csv"
    memory = cli("score", path, "-i", "phq9", "--id-column", "sid", "-o", out)
    streamed = cli("score", path, "-i", "phq9", "--id-column", "sid", "-o", out,
                   "--chunk-size", "2")
    assert memory.code == streamed.code == 1, streamed.err
    expected = ("Parquet column(s) 'phq9_01' (list<element: int64>) hold lists, records, maps "
                "or bytes")
    assert expected in memory.err and expected in streamed.err
    assert "docs/errors.md#parquet-nested" in streamed.err
    assert "Traceback" not in streamed.err and SENTINEL not in streamed.err + streamed.out
    assert not out.exists() and not out.with_name("o.csv.partial").exists()


# --- L4: archive import --attributes -----------------------------------------------------------

def _results_and_roster(tmp_path: Path) -> tuple[Path, Path]:
    res = tmp_path / "r.json"
    rows = [{"sid": f"{SENTINEL}{i}", **{item: "2" for item in ITEMS}} for i in range(3)]
    write_result(xs.screen(pd.DataFrame(rows), ["phq9"], id_column="sid"), res)
    roster = tmp_path / "roster.csv"
    pd.DataFrame({"sid": [f"{SENTINEL}{i}" for i in range(3)], "学校": ["一中"] * 3,
                  "身份证号": ["x", "y", "z"]}).to_csv(roster, index=False)
    return res, roster


def test_attribute_without_a_column_is_named_on_stderr(cli, tmp_path):
    res, roster = _results_and_roster(tmp_path)
    db = tmp_path / "a.db"
    run = cli("archive", "import", res, "--wave", "w1", "--archive", db, "--roster", roster,
              "--attributes", "学校,留守")
    assert run.code == 0, run.err
    assert ("warning: --attributes: no column '留守' in the roster or the results file; it is "
            "not stored") in run.err
    assert "'学校'" not in run.err and SENTINEL not in run.err
    with ArchiveStore(str(db)) as store:
        assert store.wave_table("w1")["attr.学校"].tolist() == ["一中"] * 3


@pytest.mark.parametrize("attributes", ["学校,身份证号", "学校,idno=身份证号",
                                        "学校,身份证号=学校"])
def test_identity_column_is_refused_under_any_name(cli, tmp_path, attributes):
    res, roster = _results_and_roster(tmp_path)
    db = tmp_path / "a.db"
    run = cli("archive", "import", res, "--wave", "w1", "--archive", db, "--roster", roster,
              "--attributes", attributes)
    assert run.code == 2, run.err
    assert "'身份证号' looks like personal contact or identity data by its name" in run.err
    assert SENTINEL not in run.err + run.out
    with ArchiveStore(str(db)) as store:
        assert store.waves().empty


def test_refuse_sensitive_names_judges_alias_and_source():
    from xinli_screen.archive.at_rest import refuse_sensitive_names

    refuse_sensitive_names({"school": "学校", "left_behind": "留守"}, where="w")
    refuse_sensitive_names(["学校", "lb=留守"], where="w")
    for names in ({"idno": "身份证号"}, {"手机": "备注"}, ["phone=联系人"], ["x=家庭住址"]):
        with pytest.raises(ArchiveError, match="by its name"):
            refuse_sensitive_names(names, where="w")
