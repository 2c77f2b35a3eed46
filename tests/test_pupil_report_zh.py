"""The pupil file as its readers see it (issue 13, item 4): Chinese names from the instrument
YAML, scores by the scale's type, 学校 / 年级 / 班级 from the roster, local times, audit entries
in words, a printable page, and a teacher view without a single score."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from itertools import count
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen.archive import ArchiveStore
from xinli_screen.report._format import format_local_time, format_number
from xinli_screen.report._pupil_labels import audit_detail
from xinli_screen.report.pupil import build_pupil_report, render_pupil_html, write_pupil_report

PHQ9 = [f"phq9_{i:02d}" for i in range(1, 11)]
SCL90 = [f"scl90_{i:02d}" for i in range(1, 91)]
CESD = [f"cesd_{i:02d}" for i in range(1, 21)]
PUPIL = "P0001"
#: A note without a break opportunity, which must not widen the page.
LONG_NOTE = "https://example.org/" + "a" * 160


def _clock(start: str = "2026-09-15T06:03:00+00:00", step: int = 1):
    """A UTC clock that ticks ``step`` minutes per call (06:03 UTC = 14:03 in Asia/Shanghai)."""
    base = pd.Timestamp(start)
    ticks = count()
    return lambda: (base + pd.Timedelta(minutes=step * next(ticks))).isoformat()


def _answers(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.concat([
        pd.DataFrame(rng.choice(4, size=(n, 10)).astype(str), columns=PHQ9),
        pd.DataFrame(rng.choice([1, 2, 3, 4, 5], size=(n, 90)).astype(str), columns=SCL90),
        pd.DataFrame(rng.choice(4, size=(n, 20)).astype(str), columns=CESD)], axis=1)
    frame.insert(0, "sid", [PUPIL, *[f"P{k:04d}" for k in range(2, n + 1)]])
    return frame


ROSTER = pd.DataFrame({"sid": [PUPIL, *[f"P{k:04d}" for k in range(2, 9)]],
                       "school": "绿园区实验中学", "grade": "初二", "class": "3班",
                       "姓名": ["张小明", *[f"N{k}" for k in range(2, 9)]]})


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two waves of PHQ-9 (sums), SCL-90 (means) and CES-D (with a T-score norm); a review, an
    action and two report accesses, all at fixed UTC times."""
    db = tmp_path_factory.mktemp("zh") / "a.db"
    with ArchiveStore(db, clock=_clock()) as store:
        for k, wave in enumerate(("2026-autumn", "2027-spring")):
            r = xs.screen(_answers(8, seed=k), ["phq9", "scl90", "cesd"], id_column="sid",
                          norms=["cesd_zhang2010_urban"])
            store.import_wave(r.table, r.provenance, wave, by="王老师", roster=ROSTER,
                              keep_names=True)
        store.add_review(PUPIL, "2026-autumn", "tier_changed", tier="class", by="李老师",
                         note="面谈后调整")
        store.add_action(PUPIL, "parent_contact", by="李老师", wave="2026-autumn",
                         note="电话 " + LONG_NOTE)
    return db


@pytest.fixture(scope="module")
def reports(archive: Path) -> dict[str, dict]:
    with ArchiveStore(archive, clock=_clock("2026-09-16T01:00:00+00:00", step=0)) as store:
        # the teacher's access first: it is then in the psychologist's audit table
        return {view: build_pupil_report(store, PUPIL, view=view, by="test")  # type: ignore[arg-type]
                for view in ("teacher", "psychologist")}


class _Text(HTMLParser):
    """The text a person reads (no tags, no style sheet)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._skip = tag in ("style", "title")

    def handle_endtag(self, tag: str) -> None:
        self._skip = False

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


def _html(report: dict) -> str:
    return render_pupil_html(report)


def _without_reasons(text: str, report: dict) -> str:
    """``text`` without the stored reasons (worded by the policy engine, values and all)."""
    for w in report["waves"]:
        for reason in w.get("reason_list", []):
            text = text.replace(reason, " ")
    return text


def test_scale_and_band_names_come_from_the_yaml(reports: dict[str, dict]) -> None:
    psy = reports["psychologist"]
    text = _Text(_html(psy)).text
    for name in ("PHQ-9", "总分", "躯体化", "强迫症状", "抑郁"):
        assert name in text
    assert any(len(w["reason_list"]) > 1 for w in psy["waves"])  # one line per reason
    text = _without_reasons(text, psy)
    assert not re.search(r"\b(phq9|scl90|cesd)\.[a-z_]+", text), "scale ids shown"
    phq = next(s for s in psy["waves"][0]["scales"] if s["scale"] == "phq9.total")
    assert phq["name"] == {"zh": "总分", "en": "Total score"}
    band = phq["band_name"]
    assert band and band["zh"] != phq["band"] and band["zh"] in text  # a label, not the id
    for english in ("minimal", "mild", "moderate", "moderately_severe", "severe"):
        assert f">{english}<" not in _html(psy)


def test_scores_are_shown_by_the_scale_type(reports: dict[str, dict]) -> None:
    scales = {s["scale"]: s for w in reports["psychologist"]["waves"] for s in w["scales"]}
    phq = scales["phq9.total"]
    assert float(phq["score"]).is_integer()
    assert phq["score_text"] == str(int(phq["score"]))  # 15, never 15.0
    som = scales["scl90.somatization"]  # a mean of items: two decimals
    assert re.fullmatch(r"\d\.\d\d", som["score_text"])
    cesd = scales["cesd.total"]
    assert cesd["t_text"] and re.fullmatch(r"-?\d+", cesd["t_text"])  # T: an integer
    assert re.fullmatch(r"\d+", cesd["percentile_text"])
    text = _Text(_html(reports["psychologist"])).text
    for s in scales.values():
        if s["score_text"] and "." not in s["score_text"]:
            assert not re.search(rf"(?<![\d.]){s['score_text']}\.0(?![\d.])", text)
    text = _without_reasons(text, reports["psychologist"])
    assert not re.search(r"(?<![\d.])\d+\.0(?![\d.])", text), "an integer printed as N.0"


def test_record_fields_from_the_roster(reports: dict[str, dict]) -> None:
    for view, report in reports.items():
        assert report["pupil"]["school"] == "绿园区实验中学"
        assert report["pupil"]["grade"] == "初二" and report["pupil"]["class"] == "3班"
        text = _Text(_html(report)).text
        for value in ("学校", "绿园区实验中学", "年级", "初二", "班级", "3班", "学号", PUPIL):
            assert value in text, (view, value)
        assert "张小明" not in text and report["pupil"]["name"] is None  # only with --with-name


def test_name_only_when_asked(archive: Path) -> None:
    with ArchiveStore(archive) as store:
        report = build_pupil_report(store, PUPIL, view="teacher", include_name=True)
    assert "张小明" in _Text(_html(report)).text


def test_times_are_local(reports: dict[str, dict]) -> None:
    psy = reports["psychologist"]
    html = _html(psy)
    text = _Text(html).text
    # the first wave was created at 06:03 UTC: 14:03 in Asia/Shanghai (UTC+08:00)
    assert psy["waves"][0]["imported_at"].startswith("2026-09-15T06:03")
    assert psy["waves"][0]["imported_at_local"] == "2026-09-15 14:03"
    assert "2026-09-15 14:03" in text
    assert "+00:00" not in html and "T06:" not in html
    review = psy["waves"][0]["reviews"][0]
    assert review["at_local"] == format_local_time(review["at"], "Asia/Shanghai")
    assert review["at_local"] in text and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d",
                                                       review["at_local"])
    assert psy["generated_at"] == "2026-09-16 09:00"  # 01:00 UTC
    assert format_local_time("2026-09-15T06:03:00+00:00", "Asia/Shanghai") == "2026-09-15 14:03"
    assert format_local_time("2026-09-15T06:03:00", None) == "2026-09-15 14:03"  # naive = UTC
    assert format_local_time("2026-01-15T12:00:00Z", "Europe/Berlin") == "2026-01-15 13:00"


def test_audit_entries_are_words(reports: dict[str, dict]) -> None:
    psy = reports["psychologist"]
    events = [e["event"] for e in psy["audit"]]
    assert {"review", "action", "report_pupil"} <= set(events)
    html = _html(psy)
    start = html.index("操作记录")
    audit = _Text(html[start:]).text
    assert "{" not in audit and "}" not in audit and "'" not in audit
    for words in ("记录复核", "记录跟进措施", "查看一生一策档案", "结果: 复核调整级别",
                  "级别: 班级关注", "措施: 家校沟通", "视图: 班主任"):
        assert words in audit, words
    assert audit_detail({"outcome": "confirmed", "tier": None}) == "结果: 复核确认"
    assert audit_detail({"names": True, "group_by": ["school", "class"]}) == \
        "含姓名: 是；分组: school、class"
    assert audit_detail('{"kind": "referral"}', "en") == "kind: referral"
    assert audit_detail({"outcome": "closed", "on_date": "2026-09-20", "via": "return_sheet"}) \
        == "结果: 结案；日期: 2026-09-20；方式: 复核回执导入"


def test_screening_words_not_diagnosis(reports: dict[str, dict]) -> None:
    for report in reports.values():
        text = _Text(_html(report)).text
        assert "预警级别" in text and "不是诊断" in text
        assert "诊断为" not in text and "diagnosed" not in text.lower()


def test_teacher_view_has_no_score(reports: dict[str, dict]) -> None:
    teacher, psy = reports["teacher"], reports["psychologist"]
    blob = json.dumps(teacher, ensure_ascii=False)
    for key in ("scales", "reasons", "reviews", "audit", "critical_items", "charts"):
        assert f'"{key}"' not in blob
    assert not re.search(r"(phq9|scl90|cesd)", blob)
    text = _Text(_html(teacher)).text
    for name in ("PHQ-9", "SCL-90", "CES-D", "躯体化", "总分", "Score", "筛查阳性", "关键题"):
        assert name not in text
    # numbers a person can read: only dates, times, the id, wave names, grade and class
    allowed = re.sub(r"\d{4}-\d\d-\d\d( \d\d:\d\d)?|P\d{4}|20\d\d-(autumn|spring)|3班", " ",
                     text)
    assert not re.search(r"\d", allowed), allowed
    scores = {s["score_text"] for w in psy["waves"] for s in w["scales"] if s["score_text"]}
    assert scores  # the pupil does have scores
    for reason in (r for w in psy["waves"] for r in w["reason_list"]):
        assert reason not in text


def test_printable_layout(reports: dict[str, dict]) -> None:
    html = _html(reports["psychologist"])
    assert "@page { size: A4" in html and "break-before: page" in html
    assert "max-width: 794px" in html and "overflow-wrap: anywhere" in html
    assert html.count("<h2") >= 4  # tiers, charts, two waves, audit


def test_english_first(archive: Path, tmp_path: Path) -> None:
    with ArchiveStore(archive) as store:
        report = build_pupil_report(store, PUPIL, lang="en")
        with pytest.raises(ValueError, match="unknown language"):
            build_pupil_report(store, PUPIL, lang="fr")  # type: ignore[arg-type]
    text = _Text(_html(report)).text
    assert "Total score" in text and "Somatization" in text and "Pupil file" in text
    write_pupil_report(report, tmp_path / "p.json")
    assert json.loads((tmp_path / "p.json").read_text("utf-8"))["lang"] == "en"


def test_cli_lang_and_view(archive: Path, tmp_path: Path, cli) -> None:
    out = tmp_path / "t.html"
    run = cli("report", "pupil", PUPIL, "--archive", archive, "--view", "teacher", "--lang",
              "zh", "-o", out)
    assert run.code == 0, run
    assert "绿园区实验中学" in out.read_text("utf-8")
    assert cli("report", "pupil", PUPIL, "--archive", archive, "--lang", "fr", "-o",
               out).code == 2


def test_number_format_rounds_half_up() -> None:
    assert [format_number(v, d) for v, d in [(15.0, 0), (2.5, 0), (1.845, 2), (-0.04, 1),
                                              (float("nan"), 0), (None, 1)]] == \
        ["15", "3", "1.85", "0.0", "", ""]


_CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_CHROMIUM is None, reason="chromium is not on PATH (Debian: apt-get install "
                    "chromium fonts-noto-cjk)")
@pytest.mark.parametrize("view", ["psychologist", "teacher"])
def test_nothing_overflows_an_a4_width_in_chromium(reports: dict[str, dict], view: str,
                                                    tmp_path: Path) -> None:
    """At 794 px (A4 at 96 dpi) the page is no wider than the window. The report forbids
    script, so a probe copy without the CSP writes the widths into its title."""
    html = _html(reports[view])
    assert (LONG_NOTE in html) == (view == "psychologist")
    probe = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html).replace(
        "</body>", "<script>document.title = 'W=' + document.documentElement.scrollWidth + "
        "',C=' + document.documentElement.clientWidth;</script></body>")
    page = tmp_path / "probe.html"
    page.write_text(probe, encoding="utf-8")
    assert _CHROMIUM is not None
    run = subprocess.run(
        [_CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--window-size=794,1200", f"--user-data-dir={tmp_path / 'profile'}",
         "--disable-background-networking", "--no-first-run", "--dump-dom",
         page.resolve().as_uri()], capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    m = re.search(r"<title>W=(\d+),C=(\d+)</title>", run.stdout)
    assert m, run.stdout[:500]
    assert int(m.group(1)) <= int(m.group(2)) <= 794, m.group(0)
