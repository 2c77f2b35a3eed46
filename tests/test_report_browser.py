"""Every HTML report of the district scenario, as a person sees it in Chromium (issue 13.5).

The generated 绿园区 scenario is built once with the guide's commands (wave 1, warning list,
return sheets filled by the demo script and imported, wave 2, follow-up list, group report,
pupil file in both views): see ``scripts/screenshots.py``, which this test loads for the
build and the screenshots. Each report is loaded in headless system Chromium (Debian's
``chromium`` with ``fonts-noto-cjk``) through Playwright, and the test checks:

- the Chinese text of the tables (school names, grades, scale names ...) is in the rendered
  page, and the Chinese text of the charts is in their SVG ``<text>`` nodes;
- that text is drawn with a CJK font: the Chrome DevTools Protocol's
  ``CSS.getPlatformFontsForNode`` names the platform fonts that drew each table cell and each
  chart ``<text>``; every one must be a CJK family (without a CJK font, Chinese is drawn as
  boxes by a non-CJK fallback font), and every character must be in the cmap of one of those
  fonts (read with fontTools from the file fontconfig names: a character the CJK font lacks is
  drawn as its own box and still reported under its name). The charts are
  ``<img src="data:image/svg+xml;...">``, whose inside the page's DOM cannot reach, so each
  chart's SVG is also opened as a document of its own in the same browser, with the same
  system fonts and the same font-family resolution;
- nothing is wider than the page: on screen at 794 px (A4 at 96 dpi) and in print emulation
  at 703 px (A4 less 12 mm margins), ``scrollWidth`` stays within the width and no element
  reaches past it;
- the class-teacher view of a pupil holds no score: none of the scale names, scores, item
  codes or reasons that the psychologist view of the same pupil shows, and no other number
  than dates, times, ids and class names;
- the four screenshots (794 px wide, first 1,400 px) are written and not blank. With
  ``XINLI_SCREENSHOT_DIR`` set they go there (``python scripts/screenshots.py`` writes them
  to docs/img/ directly).

Skipped, saying why, when ``chromium`` or ``playwright`` is missing; CI installs both.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import os
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ("group", "pupil_psychologist", "pupil_teacher", "followup")
CHART_REPORTS = ("group", "pupil_psychologist")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
#: families that hold the CJK glyphs (Noto Sans/Serif CJK, Source Han Sans/Serif)
CJK_FONT = re.compile(r"CJK|Source Han|思源", re.IGNORECASE)
SVG_PREFIX = "data:image/svg+xml;base64,"

#: marks the elements matching a selector whose own text has a Han character
_MARK = """([sel, cap]) => {
  const hits = [...document.querySelectorAll(sel)].filter(e => /\\p{Script=Han}/u.test(
      [...e.childNodes].filter(c => c.nodeType === 3).map(c => c.data).join('')));
  const step = Math.max(1, Math.ceil(hits.length / cap));
  const picked = hits.filter((_, i) => i % step === 0);
  picked.forEach((e, i) => e.setAttribute('data-cjk-probe', String(i)));
  return picked.map(e => e.textContent.trim());
}"""
#: elements whose box reaches past the given width (tag, class, right edge, text)
_WIDE = """(width) => [...document.querySelectorAll('body *')]
  .map(e => [e, e.getBoundingClientRect()])
  .filter(([e, r]) => r.width > 0 && r.right > width + 0.5)
  .slice(0, 8).map(([e, r]) => `${e.tagName.toLowerCase()}.${e.className}`
      + ` right=${Math.round(r.right)} "${(e.textContent || '').trim().slice(0, 30)}"`)"""


def _load_script() -> Any:
    path = ROOT / "scripts" / "screenshots.py"
    spec = importlib.util.spec_from_file_location("xinli_screenshots", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["xinli_screenshots"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


shots = _load_script()


@pytest.fixture(scope="module")
def sync_api() -> Any:
    """``playwright.sync_api``, or a skip naming what is missing."""
    if shots.find_chromium() is None:
        pytest.skip("chromium is not on PATH: the browser test needs Debian's chromium and "
                    "fonts-noto-cjk (.ci/run installs them)")
    return pytest.importorskip("playwright.sync_api",
                               reason="playwright is not installed (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def scenario(sync_api: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The district scenario with every HTML report rendered (about 1.5-3 minutes)."""
    return shots.build_scenario(tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def browser(sync_api: Any) -> Iterator[Any]:
    """One headless system Chromium for the module."""
    with sync_api.sync_playwright() as pw:
        chromium = shots.launch(pw)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def listed(scenario: Any) -> pd.DataFrame:
    """Wave 1's warning list (CSV written by ``wave list``)."""
    return pd.read_csv(scenario.folder / "lists" / "预警名单_2026-autumn.csv", dtype=str,
                       encoding="utf-8-sig")


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """``open_page(html, width=794)``: pages closed after the test."""
    pages: list[Any] = []

    def _open(html: Path, width: int = shots.A4_WIDTH) -> Any:
        page = shots.open_report(browser, html, width=width)
        pages.append(page)
        return page

    yield _open
    for page in pages:
        page.close()


Drawn = tuple[str, list[tuple[str, str]]]


def _fonts(page: Any, selector: str, cap: int = 150) -> list[Drawn]:
    """(text, [(family, PostScript name)]) of up to ``cap`` elements matching ``selector``
    whose own text is Chinese: the platform fonts that drew them, by the DevTools Protocol's
    ``CSS.getPlatformFontsForNode``."""
    texts = page.evaluate(_MARK, [selector, cap])
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        out = []
        for k, text in enumerate(texts):
            node = cdp.send("DOM.querySelector",
                            {"nodeId": root, "selector": f'[data-cjk-probe="{k}"]'})["nodeId"]
            fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
            out.append((text, [(f["familyName"], f.get("postScriptName", ""))
                               for f in fonts if f.get("glyphCount", 1)]))
        return out
    finally:
        cdp.detach()


@functools.cache
def _cmap(postscript: str) -> frozenset[int] | None:
    """The characters the installed font ``postscript`` has glyphs for (None: not found)."""
    fc_match = shutil.which("fc-match")
    if not postscript or fc_match is None:
        return None
    found = subprocess.run([fc_match, "-f", "%{file}\t%{index}\t%{postscriptname}",
                            f":postscriptname={postscript}"],
                           capture_output=True, text=True, check=False).stdout.split("\t")
    if len(found) != 3 or found[2] != postscript:
        return None
    from fontTools.ttLib import TTFont

    with TTFont(found[0], fontNumber=int(found[1] or 0), lazy=True) as font:
        return frozenset(font.getBestCmap())


def _not_cjk(fonts: list[Drawn]) -> list[str]:
    """Elements drawn with a non-CJK font, or with characters none of their fonts has a glyph
    for (a CJK primary font draws those as its own box, reported under its CJK name)."""
    bad = []
    for text, drawn in fonts:
        families = [family for family, _ in drawn]
        if not drawn or not all(CJK_FONT.search(f) for f in families):
            bad.append(f"{text[:40]!r}: fonts {families}")
            continue
        cmaps = [_cmap(ps) for _, ps in drawn]
        if any(c is None for c in cmaps):
            continue  # font file not found by fontconfig: the family check stands alone
        covered = frozenset().union(*cmaps)  # type: ignore[arg-type]
        boxes = sorted({ch for ch in text if not ch.isspace() and ord(ch) not in covered})
        if boxes:
            bad.append(f"{text[:40]!r}: no glyph in {families} for {boxes}")
    return bad


def _charts(page: Any) -> list[str]:
    """The SVG source of every chart image of the page (each must have loaded)."""
    images = page.evaluate("[...document.images].map(i => [i.src, i.complete, i.naturalWidth])")
    assert all(ok and width > 0 for _, ok, width in images), "a chart image did not load"
    return [base64.b64decode(src[len(SVG_PREFIX):]).decode("utf-8")
            for src, _, _ in images if src.startswith(SVG_PREFIX)]


# --- controls: the checks can fail ------------------------------------------------------------


def test_checks_catch_a_box_and_an_overflow(browser: Any) -> None:
    """A character no installed font has is drawn as a box by a non-CJK fallback font, which the
    font check reports; a table wider than A4 is reported by the width check."""
    page = browser.new_page(viewport={"width": shots.A4_WIDTH, "height": shots.A4_HEIGHT})
    try:
        page.set_content('<body style="font-family: \'Noto Sans CJK SC\', sans-serif">'
                         "<table><tr><td>学校</td><td>学校\U0003134a</td></tr></table>"
                         '<table style="width: 900px"><tr><td>宽表</td></tr></table></body>')
        fonts = _fonts(page, "td")
        assert [text for text, _ in fonts] == ["学校", "学校\U0003134a", "宽表"]
        flagged = _not_cjk(fonts)
        assert len(flagged) == 1 and "no glyph" in flagged[0] and "\U0003134a" in flagged[0], \
            flagged
        assert page.evaluate("document.documentElement.scrollWidth") > shots.A4_WIDTH
        assert page.evaluate(_WIDE, shots.A4_WIDTH)
    finally:
        page.close()


# --- the Chinese text is there ----------------------------------------------------------------


def _expected_text(report: str, scenario: Any, listed: pd.DataFrame) -> list[str]:
    schools = sorted(listed["学校"].dropna().unique())
    pupil = listed.loc[listed["学号"] == scenario.pupil].iloc[0]
    return {
        "group": [*schools, "全区合计", "四年级", "初三", "班级关注", "校级预警", "区级预警"],
        "followup": [*schools, "跟进待办", "复核逾期", "赵老师"],
        "pupil_psychologist": [pupil["学校"], pupil["年级"], "预警历程", "预警级别", "学习焦虑",
                               "复核记录", "心理教师"],
        "pupil_teacher": [pupil["学校"], pupil["年级"], "预警历程", "预警级别", "建议",
                          "跟进措施"],
    }[report]


def test_scenario_built_as_documented(scenario: Any) -> None:
    assert "not imported" in scenario.outputs["import"]          # the 5 spoilt rows, on purpose
    assert set(scenario.reports) == set(REPORTS)
    assert all(path.is_file() for path in scenario.reports.values())


@pytest.mark.parametrize("report", REPORTS)
def test_chinese_text_of_tables_is_shown(report: str, scenario: Any, listed: pd.DataFrame,
                                         open_page: Any) -> None:
    page = open_page(scenario.reports[report])
    shown = page.inner_text("body")
    missing = [t for t in _expected_text(report, scenario, listed) if t not in shown]
    assert not missing, f"{report}: not in the rendered page: {missing}"
    cells = " ".join(page.eval_on_selector_all("th, td", "els => els.map(e => e.innerText)"))
    assert len(HAN.findall(cells)) > 20, f"{report}: the tables hold almost no Chinese"


@pytest.mark.parametrize("report", REPORTS)
def test_tables_are_drawn_with_a_cjk_font(report: str, scenario: Any, open_page: Any) -> None:
    page = open_page(scenario.reports[report])
    fonts = _fonts(page, "th, td, h1, h2, p")
    assert len(fonts) >= 5, f"{report}: too few Chinese cells found ({len(fonts)})"
    bad = _not_cjk(fonts)
    assert not bad, (f"{report}: {len(bad)} of {len(fonts)} Chinese cells drawn with a non-CJK "
                     f"font (boxes or fallback glyphs): {bad[:5]}")


@pytest.mark.parametrize("report", CHART_REPORTS)
def test_charts_show_chinese_in_a_cjk_font(report: str, scenario: Any, listed: pd.DataFrame,
                                           open_page: Any, tmp_path: Path) -> None:
    page = open_page(scenario.reports[report])
    charts = _charts(page)
    assert charts, f"{report}: no SVG chart"
    every_text: list[str] = []
    for k, svg in enumerate(charts):
        assert "<text" in svg, f"{report} chart {k}: text was turned into paths"
        path = tmp_path / f"{report}_{k}.svg"
        path.write_text(svg, encoding="utf-8")
        doc = open_page(path)
        texts = doc.eval_on_selector_all("text", "els => els.map(e => e.textContent)")
        every_text += texts
        assert any(HAN.search(t) for t in texts), f"{report} chart {k}: no Chinese text: {texts}"
        bad = _not_cjk(_fonts(doc, "text", cap=400))
        assert not bad, f"{report} chart {k}: Chinese drawn with a non-CJK font: {bad[:5]}"
    joined = "\n".join(every_text)
    if report == "group":
        wanted = [*sorted(listed["学校"].dropna().unique()), "四年级", "初一", "区级预警"]
    else:
        wanted = ["学习焦虑", "对人焦虑", "分数"]
    missing = [t for t in wanted if t not in joined]
    assert not missing, f"{report}: not in any chart's <text>: {missing}"


# --- the page width ---------------------------------------------------------------------------


@pytest.mark.parametrize("media, width", [("screen", shots.A4_WIDTH),
                                          ("print", shots.PRINT_WIDTH)])
@pytest.mark.parametrize("report", REPORTS)
def test_nothing_overflows_the_page(report: str, media: str, width: int, scenario: Any,
                                    open_page: Any) -> None:
    page = open_page(scenario.reports[report], width=width)
    page.emulate_media(media=media)
    scroll = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(_WIDE, width)
    assert scroll <= width and not wide, (
        f"{report} ({media}, {width} px): scrollWidth {scroll}; elements past the edge: {wide}")


# --- the teacher view ---------------------------------------------------------------------------


def test_teacher_view_holds_no_score(scenario: Any, open_page: Any) -> None:
    psych = open_page(scenario.reports["pupil_psychologist"])
    rows = psych.evaluate("""[...document.querySelectorAll('tr')]
        .filter(r => r.querySelector('td.num'))
        .map(r => [r.cells[0].innerText.trim(), r.querySelector('td.num').innerText.trim()])""")
    assert len(rows) >= 10, "the psychologist view shows no score table to compare with"
    scales = {name for name, _ in rows if HAN.search(name)}
    scores = {score for _, score in rows if score}
    reasons = psych.evaluate("""[...document.querySelectorAll('th')]
        .filter(h => h.innerText.startsWith('预警原因'))
        .map(h => h.nextElementSibling.innerText.trim())""")

    teacher = open_page(scenario.reports["pupil_teacher"])
    text = teacher.inner_text("body")
    assert teacher.evaluate("document.querySelectorAll('td.num, img, svg').length") == 0
    leaked = sorted(s for s in scales if s in text)
    assert not leaked, f"teacher view names scales with scores: {leaked}"
    heads = " ".join(teacher.eval_on_selector_all("th, h2", "els => els.map(e => e.innerText)"))
    for word in ("分数", "Score", "作答题数", "等级", "预警原因", "筛查阳性", "关键题", "复核记录"):
        assert word not in heads, f"teacher view has a {word!r} heading"
    for sign in ("≥", " = ", "(#"):
        assert sign not in text, f"teacher view shows {sign!r} (a rule with its score)"
    assert not re.search(r"\b[a-z]+_\d+\b", text), "teacher view shows item codes"
    assert not [r for r in reasons if r and r in text], "teacher view shows the reasons"
    # no number left once dates, times, ids, wave names and class names are taken out
    rest = text.replace(scenario.pupil, " ")
    for pattern in (r"\d{4}-\d{2}-\d{2}", r"\d{1,2}:\d{2}", r"\d{4}-(?:autumn|spring)",
                    r"\d{4}年", r"\d+班"):
        rest = re.sub(pattern, " ", rest)
    numbers = [(m.group(), rest[max(0, m.start() - 15):m.end() + 15])
               for m in re.finditer(r"\d+(?:\.\d+)?", rest)]
    assert not numbers, f"teacher view shows numbers (scores here: {sorted(scores)}): {numbers}"


# --- screenshots --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def screenshots(scenario: Any, browser: Any, tmp_path_factory: pytest.TempPathFactory
                ) -> dict[str, Path]:
    """The four screenshots (into ``XINLI_SCREENSHOT_DIR`` when set, else a temporary folder)."""
    out = os.environ.get("XINLI_SCREENSHOT_DIR")
    folder = Path(out) if out else tmp_path_factory.mktemp("screenshots")
    return shots.take_screenshots(scenario, folder, browser)


@pytest.mark.parametrize("report", REPORTS)
def test_screenshot_written(report: str, screenshots: dict[str, Path]) -> None:
    from PIL import Image

    png = screenshots[report]
    assert png.name == shots.SHOTS[report]
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    assert width == shots.A4_WIDTH and 0 < height <= shots.SHOT_HEIGHT
    assert png.stat().st_size < 400 * 1024, f"{png.name}: {png.stat().st_size} bytes"
    with Image.open(png) as image:
        lo, hi = image.convert("L").getextrema()
    assert hi - lo > 100, f"{png.name} is blank"


# --- the issue-16 pages -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def evaluation_pages(scenario: Any) -> dict[str, Path]:
    """The accuracy report and the two panels of wave 1, written with the documented commands
    in the scenario built above (its reviews came from the return sheets)."""
    db = str(scenario.db)
    out = {}
    with shots._cwd(scenario.folder):
        shots.cli("validate-screen", "--archive", db, "--wave", shots.WAVES[0], "--n-boot",
                  "200", "-o", "accuracy.html")
        for panel in ("plausibility", "fairness"):
            shots.cli("panel", panel, "--archive", db, "--wave", shots.WAVES[1], "-o",
                      f"{panel}.html")
    for name in ("accuracy", "plausibility", "fairness"):
        out[name] = scenario.folder / f"{name}.html"
    return out


@pytest.mark.parametrize("media, width", [("screen", shots.A4_WIDTH),
                                          ("print", shots.PRINT_WIDTH)])
@pytest.mark.parametrize("report", ["accuracy", "plausibility", "fairness"])
def test_evaluation_pages_fit_and_draw_chinese(report: str, media: str, width: int,
                                               evaluation_pages: dict[str, Path],
                                               open_page: Any) -> None:
    page = open_page(evaluation_pages[report], width=width)
    page.emulate_media(media=media)
    scroll = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(_WIDE, width)
    assert scroll <= width and not wide, (
        f"{report} ({media}, {width} px): scrollWidth {scroll}; elements past the edge: {wide}")
    assert "筛查" in page.inner_text("body") or "预警" in page.inner_text("body")
