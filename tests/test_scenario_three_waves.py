"""The three-wave scenario of issue 6 (also in docs/scenario.md), end to end through the CLI.

Each wave is screened with the real ``xs.screen`` (PHQ-9 answers), written with
``write_result`` and imported with ``xinli-screen archive import``; reviews and actions go through
``xinli-screen review`` / ``archive action``; the outcome is read from the pupil report (JSON
and HTML, both views), the audit trail and the group report.

Pupils of the small class 初一(1)班 (three pupils):

- S001 enters wave 1 at school tier (PHQ-9 total 15); a review confirms; wave 2 is school
  again, so the persistence rule escalates to district.
- S002 enters at school tier (16), confirmed; wave 2 screens none, the tier is held at school
  pending review; a not_confirmed review lowers it to none.
- S003 enters at district (item 9 = 2), is interviewed and referred; after the return to
  school the file is closed in wave 2; in wave 3 a new critical answer (item 9 = 1) re-opens it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from archive_db import BACKENDS, fresh_target
from typer.testing import CliRunner

import xinli_screen as xs
from xinli_screen.cli.app import app
from xinli_screen.io import write_result
from xinli_screen.report.group import HIDDEN

ITEMS = [f"phq9_{i:02d}" for i in range(1, 10)]
WAVES = ["2025-autumn", "2026-spring", "2026-autumn"]
#: PHQ-9 items 1-9 of the three pupils of the small class, per wave.
ANSWERS = {
    "2025-autumn": {"S001": [2, 2, 2, 2, 2, 2, 2, 1, 0],    # 15 -> school
                    "S002": [2, 2, 2, 2, 2, 2, 2, 2, 0],    # 16 -> school
                    "S003": [3, 3, 2, 2, 2, 2, 2, 2, 2]},   # item 9 = 2 -> district
    "2026-spring": {"S001": [2, 2, 2, 2, 2, 2, 2, 1, 0],    # school again -> district
                    "S002": [1, 1, 1, 1, 0, 0, 0, 0, 0],    # 4 -> none, held until review
                    "S003": [1, 1, 1, 1, 1, 1, 0, 0, 0]},   # 6 -> none (held, then closed)
    "2026-autumn": {"S001": [1, 1, 1, 1, 1, 1, 1, 1, 0],    # 8 -> none (held at district)
                    "S002": [0, 1, 0, 1, 0, 1, 0, 0, 0],    # 3 -> none
                    "S003": [1, 1, 1, 1, 1, 1, 0, 0, 1]},   # item 9 = 1 -> critical, re-open
}


def wave_answers(wave: str) -> pd.DataFrame:
    """The answer sheets of one wave: the three pupils above plus two classes of 12."""
    rng = np.random.default_rng(WAVES.index(wave) + 11)
    rows = [{"学号": sid, **dict(zip(ITEMS, ans, strict=True))}
            for sid, ans in ANSWERS[wave].items()]
    for k in range(24):
        ans = rng.choice(4, size=9, p=[0.55, 0.3, 0.1, 0.05])
        ans[8] = 0
        rows.append({"学号": f"S{100 + k:03d}", **dict(zip(ITEMS, ans.tolist(), strict=True))})
    frame = pd.DataFrame(rows)
    frame["phq9_10"] = 0
    return frame.astype(str)


def roster() -> pd.DataFrame:
    """School, grade and class of every pupil (and a name, which must never be shown)."""
    ids = ["S001", "S002", "S003", *[f"S{100 + k:03d}" for k in range(24)]]
    classes = ["初一(1)班"] * 3 + ["初一(2)班"] * 12 + ["初一(3)班"] * 12
    return pd.DataFrame({"学号": ids, "school": "第一中学", "grade": "初一", "class": classes,
                         "姓名": [f"NAME-{i}" for i in ids]})


def run_scenario(cli: Callable[..., object], folder: Path, archive: str) -> dict[str, object]:
    """Run every step; return the report documents and CLI outputs."""
    roster().to_csv(folder / "roster.csv", index=False)
    out: dict[str, object] = {}

    def ok(*args: object) -> object:
        run = cli(*args)
        assert run.code == 0, (args, run.err)  # type: ignore[attr-defined]
        return run

    def load(wave: str) -> None:
        result = xs.screen(wave_answers(wave), ["phq9"], id_column="学号")
        write_result(result, folder / f"{wave}.json")
        ok("archive", "import", folder / f"{wave}.json", "--wave", wave, "--archive", archive,
           "--roster", folder / "roster.csv", "--by", "数据管理员")

    def review(pid: str, wave: str, outcome: str, note: str, *extra: str) -> None:
        ok("review", pid, "--wave", wave, "--outcome", outcome, "--by", "王老师(心理)",
           "--note", note, "--archive", archive, *extra)

    def action(pid: str, wave: str, kind: str, note: str) -> None:
        ok("archive", "action", pid, "--kind", kind, "--wave", wave, "--by", "王老师(心理)",
           "--note", note, "--archive", archive)

    load(WAVES[0])
    out["reimport"] = cli("archive", "import", folder / f"{WAVES[0]}.json", "--wave", WAVES[0],
                          "--archive", archive, "--roster", folder / "roster.csv")
    review("S001", WAVES[0], "confirmed", "面谈确认情绪低落两周")
    review("S002", WAVES[0], "confirmed", "面谈确认")
    action("S003", WAVES[0], "interview", "当日面谈")
    action("S003", WAVES[0], "parent_contact", "通知监护人")
    action("S003", WAVES[0], "referral", "绿色通道转介")
    review("S003", WAVES[0], "confirmed", "危机评估后转介")

    load(WAVES[1])
    review("S001", WAVES[1], "confirmed", "持续，升区级")
    review("S002", WAVES[1], "not_confirmed", "面谈未见明显问题")
    action("S003", WAVES[1], "return_to_school", "医院评估后复学")
    review("S003", WAVES[1], "closed", "复学后稳定，结案")

    load(WAVES[2])
    for pid in ("S001", "S002", "S003"):
        for view in ("psychologist", "teacher"):
            ok("report", "pupil", pid, "--archive", archive, "--view", view,
               "-o", folder / f"{pid}-{view}.json")
            ok("report", "pupil", pid, "--archive", archive, "--view", view,
               "-o", folder / f"{pid}-{view}.html")
            out[f"{pid}-{view}"] = json.loads((folder / f"{pid}-{view}.json").read_text("utf-8"))
    ok("archive", "audit", "--archive", archive, "-o", folder / "audit.json")
    out["audit"] = json.loads((folder / "audit.json").read_text("utf-8"))
    ok("report", "group", "--archive", archive, "--wave", WAVES[2], "--wave", WAVES[1],
       "--by", "school,grade,class", "-o", folder / "group.json")
    ok("report", "group", "--archive", archive, "--wave", WAVES[2],
       "--by", "school,grade,class", "-o", folder / "group.html")
    ok("report", "group", "--archive", archive, "--wave", WAVES[2],
       "--by", "school,grade,class", "-o", folder / "group.xlsx")
    out["group"] = json.loads((folder / "group.json").read_text("utf-8"))
    return out


@pytest.fixture(scope="module", params=BACKENDS)
def scenario(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], Path]:
    """The whole scenario, run once per back end."""
    folder = tmp_path_factory.mktemp(f"scenario_{request.param}")
    archive = fresh_target(request.param, folder)
    runner = CliRunner()

    def cli(*args: object) -> SimpleNamespace:
        result = runner.invoke(app, [str(a) for a in args])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return SimpleNamespace(code=result.exit_code, out=result.stdout, err=result.stderr)

    return run_scenario(cli, folder, archive), folder


def _tiers(report: dict) -> list[tuple[str, str, str, str]]:
    return [(w["wave"], w.get("screen_tier", ""), w["tier"], w["review_status"])
            for w in report["waves"]]


def test_school_entry_confirmed_then_escalated(scenario: tuple[dict, Path]) -> None:
    out, _ = scenario
    rep = out["S001-psychologist"]
    assert _tiers(rep) == [
        ("2025-autumn", "school", "school", "confirmed"),
        ("2026-spring", "school", "district", "confirmed"),
        ("2026-autumn", "none", "district", "pending_review"),
    ]
    w2 = rep["waves"][1]
    assert "persistent_tier" in w2["history_codes"]
    assert "连续 2 次测评" in w2["history_reasons_zh"]
    assert w2["reviews"][0]["by"] == "王老师(心理)" and w2["reviews"][0]["note"]
    assert "held_until_review" in rep["waves"][2]["history_codes"]


def test_lowered_after_not_confirmed_review(scenario: tuple[dict, Path]) -> None:
    out, _ = scenario
    rep = out["S002-psychologist"]
    assert _tiers(rep) == [
        ("2025-autumn", "school", "school", "confirmed"),
        ("2026-spring", "none", "none", "not_confirmed"),
        ("2026-autumn", "none", "none", "not_required"),
    ]
    # before the review the improved pupil was held at school; the reason says so
    assert "held_until_review" in rep["waves"][1]["history_codes"]
    assert rep["waves"][1]["reviews"][0]["outcome"] == "not_confirmed"


def test_closed_file_reopened_by_critical_answer(scenario: tuple[dict, Path]) -> None:
    out, _ = scenario
    rep = out["S003-psychologist"]
    assert _tiers(rep) == [
        ("2025-autumn", "district", "district", "confirmed"),
        ("2026-spring", "none", "none", "closed"),
        ("2026-autumn", "school", "school", "pending_review"),
    ]
    assert [w["file_status"] for w in rep["waves"]] == ["open", "closed", "reopened"]
    assert [a["kind"] for a in rep["waves"][0]["actions"]] == [
        "interview", "parent_contact", "referral"]
    assert [a["kind"] for a in rep["waves"][1]["actions"]] == ["return_to_school"]
    w3 = rep["waves"][2]
    assert "reopened_by_critical_item" in w3["history_codes"]
    assert w3["critical_items"] == "phq9.self_harm_thoughts"


def test_every_step_in_the_audit_trail(scenario: tuple[dict, Path]) -> None:
    out, _ = scenario
    audit = out["audit"]
    events = [(e["event"], e["wave"]) for e in audit]
    assert events.count(("import_part", "2025-autumn")) == 1  # the re-import changed nothing
    assert [e["event"] for e in audit if e["pupil_key"] == "S003"][:5] == [
        "action", "action", "action", "review", "action"]
    reviews = [e for e in audit if e["event"] == "review"]
    assert len(reviews) == 6 and all(e["actor"] == "王老师(心理)" for e in reviews)
    rep = out["S003-psychologist"]
    assert [e["event"] for e in rep["audit"]][:6] == [
        "action", "action", "action", "review", "action", "review"]
    assert "nothing changed" in out["reimport"].err


def test_teacher_view_hides_scores_and_notes(scenario: tuple[dict, Path]) -> None:
    out, folder = scenario
    rep = out["S003-teacher"]
    assert [w["tier"] for w in rep["waves"]] == ["district", "none", "school"]
    text = json.dumps(rep, ensure_ascii=False)
    for secret in ("scales", "phq9", "reasons", "\"note\"", "绿色通道", "NAME-"):
        assert secret not in text
    html = (folder / "S003-teacher.html").read_text("utf-8")
    assert "phq9" not in html and "绿色通道" not in html and "NAME-" not in html
    assert "转介就医" in html  # the kind and date of an action are shown
    psy = (folder / "S003-psychologist.html").read_text("utf-8")
    assert "phq9.total" in psy and "data:image/svg+xml;base64," in psy and "NAME-" not in psy


def test_group_report_hides_the_class_of_three(scenario: tuple[dict, Path]) -> None:
    out, folder = scenario
    for wave, rows in out["group"]["waves"].items():
        small = next(r for r in rows if r["class"] == "初一(1)班")
        shown = {k: v for k, v in small.items() if k == "n" or ":" in k}
        assert set(shown.values()) == {HIDDEN}, wave
        # nothing hidden can be recomputed: no column or tier row with one hidden cell
        counts = [k for k in rows[0] if k == "n" or k.startswith("count:")]
        for k in counts:
            assert sum(r[k] == HIDDEN for r in rows[:-1]) != 1, (wave, k)
        tiers = [k for k in counts if k.split(":")[-1] in xs.TIER_ORDER if k != "n"]
        for r in rows[:-1]:
            if r["n"] != HIDDEN:
                assert sum(r[k] == HIDDEN for k in tiers) != 1
    assert "初一(1)班" in (folder / "group.html").read_text("utf-8")
    assert (folder / "group.xlsx").stat().st_size > 0
