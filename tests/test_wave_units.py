"""Waves, piece by piece: definition errors, roster matching, the counted sheet, carried
critical answers, and the unmatched row of the group report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinli_screen.report.group import UNMATCHED, group_counts, suppress
from xinli_screen.wave import WaveDefinitionError, load_wave, match_roster, select_active
from xinli_screen.wave.labels import grade_rank, sort_frame
from xinli_screen.wave.reconcile import carry_critical


def test_definition_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "wave.yaml"
    path.write_text(
        "id: w1\n"
        "policy: default\n"
        "duplicates: newest\n"
        "forms:\n"
        "  junior:\n"
        "    label: 初中版\n"
        "    instruments: [phqa]\n"
        "    id_column: 学号\n"
        "parts:\n"
        "  - {file: a.xlsx, form: senior}\n", encoding="utf-8")
    with pytest.raises(WaveDefinitionError) as err:
        load_wave(path)
    text = str(err.value)
    assert "wave.yaml:3 [duplicates]" in text
    path.write_text(path.read_text(encoding="utf-8").replace("newest", "latest"),
                    encoding="utf-8")
    with pytest.raises(WaveDefinitionError) as err:
        load_wave(path)
    assert "wave.yaml:10 [parts.0.form]" in str(err.value) and "senior" in str(err.value)


def test_unknown_instrument_and_bad_block_are_definition_errors(tmp_path: Path) -> None:
    path = tmp_path / "wave.yaml"
    path.write_text(
        "id: w1\n"
        "forms:\n"
        "  junior:\n"
        "    label: 初中版\n"
        "    instruments: [phqa, nosuch]\n"
        "    id_column: 学号\n"
        "    columns: {blocks: {phqa: {first_question: zero}}}\n", encoding="utf-8")
    with pytest.raises(WaveDefinitionError) as err:
        load_wave(path)
    text = str(err.value)
    assert "[forms.junior.instruments.1]" in text and "nosuch" in text
    assert "forms.junior.columns" in text


def _roster() -> pd.DataFrame:
    return pd.DataFrame({"学号": ["001", "002", "003"], "姓名": ["张三", "李四", "王五"],
                         "学校": ["一中", "一中", "二中"], "班级": ["1班", "2班", "1班"]})


def test_match_roster_by_id_by_name_or_not_at_all() -> None:
    sheets = pd.DataFrame({
        "id": ["001", "0O2", "", "", "９９９"], "part": "p", "file_row": [2, 3, 4, 5, 6],
        "name": ["张三", "李四", "王五", "赵六", "钱七"],
        "reported.school": ["一中", "一中", "二中", "二中", "三中"],
        "reported.class": ["1班", "2班", "1班", "3班", "1班"]})
    out = match_roster(sheets, _roster(), roster_id="学号", name_column="姓名",
                       attributes={"school": "学校", "class": "班级"})
    assert out["roster_match"].tolist() == ["roster", "name", "name", "no_id", "unmatched"]
    assert out["pupil_key"].tolist() == ["001", "002", "003", "NOID-p-5", "999"]
    assert out["entered_id"].tolist() == ["001", "0O2", "", "", "999"]
    # the roster's school for matched sheets; the sheet's own answer for the others
    assert out["school"].tolist() == ["一中", "一中", "二中", "二中", "三中"]


def test_name_match_only_when_unique() -> None:
    roster = pd.concat([_roster(), pd.DataFrame({"学号": ["004"], "姓名": ["张三"],
                                                 "学校": ["一中"], "班级": ["1班"]})])
    sheets = pd.DataFrame({"id": [""], "part": "p", "file_row": [2], "name": ["张三"],
                           "reported.school": ["一中"], "reported.class": ["1班"]})
    out = match_roster(sheets, roster, roster_id="学号", name_column="姓名",
                       attributes={"school": "学校", "class": "班级"})
    assert out["roster_match"].tolist() == ["no_id"]


def _sheets(rows: list[tuple[str, int, bool, bool]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["pupil_key", "order", "complete", "retest"])


def test_first_complete_latest_and_retest() -> None:
    rows = _sheets([("a", 1, False, False), ("a", 2, True, False), ("a", 3, True, False),
                    ("b", 1, True, False), ("b", 5, False, True), ("c", 4, False, False)])
    assert select_active(rows, "first_complete").tolist() == [
        False, True, False, False, True, True]
    assert select_active(rows, "latest").tolist() == [False, False, True, False, True, True]
    with pytest.raises(ValueError, match="unknown duplicate rule"):
        select_active(rows, "newest")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcde"), st.integers(0, 50), st.booleans(),
                          st.booleans()), min_size=1, max_size=40),
       st.sampled_from(["first_complete", "latest"]))
def test_exactly_one_counted_sheet_per_pupil(rows: list, rule: str) -> None:
    frame = _sheets(rows)
    active = select_active(frame, rule)
    counts = frame[active].groupby("pupil_key").size()
    assert set(counts.index) == set(frame["pupil_key"]) and (counts == 1).all()


def test_critical_answer_of_a_sheet_not_counted_is_carried() -> None:
    active = pd.DataFrame({"pupil_id": ["a", "b"], "wave_seq": [1, 1],
                           "warning_tier": ["none", "class"], "critical_items": ["", ""],
                           "reasons": ["", "x"], "reason_codes": ["", "r"],
                           "review_status": ["not_required", "pending_review"]})
    others = pd.DataFrame({"pupil_id": ["a"], "wave_seq": [1],
                           "critical_items": ["phqa.item9"], "warning_tier": ["school"]})
    out = carry_critical(active, others, "school")
    assert out["warning_tier"].tolist() == ["school", "class"]
    assert out["critical_items"].tolist() == ["phqa.item9", ""]
    assert out["review_status"].tolist() == ["pending_review", "pending_review"]
    assert "另一份答卷" in out["reasons"].iloc[0]
    assert out["reason_codes"].iloc[0] == "critical_in_other_sheet"


def test_unmatched_sheet_never_hides_a_school() -> None:
    """One sheet with no school must not force the suppression of a 692-pupil school."""
    rng = np.random.default_rng(1)
    tiers = rng.choice(["none", "class", "school", "district"], size=1200,
                       p=[0.8, 0.12, 0.06, 0.02])
    table = pd.DataFrame({"school": ["一中"] * 692 + ["二中"] * 508, "warning_tier": tiers})
    table = pd.concat([table, pd.DataFrame({"school": [None], "warning_tier": ["district"]})],
                      ignore_index=True)
    counts = group_counts(table, ["school"])
    hidden = suppress(counts, min_cell=5)
    assert counts["school"].tolist() == ["一中", "二中", UNMATCHED, "合计 total"]
    assert not hidden.iloc[:2].to_numpy().any()       # both schools fully shown
    assert not hidden.iloc[2].to_numpy().any()        # the unmatched row is explained, shown
    assert counts["n"].tolist() == [692, 508, 1, 1201]


def test_grades_in_school_order() -> None:
    assert sorted(["五年级", "六年级", "四年级", "初二", "高一", "初一"], key=grade_rank) == [
        "四年级", "五年级", "六年级", "初一", "初二", "高一"]
    frame = pd.DataFrame({"grade": ["六年级", "四年级", "四年级"], "class": ["1班", "10班", "2班"]})
    assert sort_frame(frame, ["grade", "class"])["class"].tolist() == ["2班", "10班", "1班"]


def test_instrument_object_hash_is_the_same_in_every_process() -> None:
    """A part's content hash decides whether `wave run` on unchanged files changes nothing; it
    must not depend on Python's per-process hash salt (a fresh-user run re-stored every part
    as a new version on each run)."""
    import subprocess
    import sys

    code = ("from xinli_screen.instrument.registry import load_instrument, "
            "load_instrument_with_hash as h; print(h(load_instrument('phq9')).sha256)")
    out = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONHASHSEED": seed},
                          check=True).stdout.strip() for seed in ("1", "2", "3")}
    assert len(out) == 1 and len(out.pop()) == 64


def test_pseudonymised_wave_run_reconciles_against_the_roster(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pseudonymised archive holds HMAC keys: the roster check must still match them (a
    fresh-user run reported every roster pupil absent)."""
    import re

    from typer.testing import CliRunner

    from xinli_screen.cli.app import app
    from xinli_screen.demo.district import write_district_scenario

    files = write_district_scenario(tmp_path, seed=5, n_pupils=200)
    monkeypatch.setenv("XINLI_HMAC_KEY", "0123456789abcdef-test-key")
    runs = {}
    for name, extra in (("plain", []), ("pseudo", ["--pseudonymise"])):
        out = CliRunner().invoke(app, ["wave", "run", str(files.wave1), "--archive",
                                       str(tmp_path / f"{name}.db"), "--by", "me", "-o",
                                       str(tmp_path / f"{name}.xlsx"), *extra])
        assert out.exit_code == 0, out.output
        runs[name] = re.search(r"matched by id (\d+).*absent (\d+)", out.output).groups()
    assert runs["pseudo"] == runs["plain"]
    assert int(runs["plain"][1]) < 100
