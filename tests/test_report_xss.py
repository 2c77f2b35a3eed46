"""HTML reports escape every stored field and carry a CSP that forbids script (issue 15, High 1).

Payloads are planted in the pupil id, the stored name, the wave name, the roster's school and
class, the importer, the reviewer and the review note, the action's author and note. The pupil
report (both views) and the group report are rendered through the CLI; the HTML text must hold
each payload escaped and no element or event-handler attribute that the payload brought in.
When ``chromium`` is on PATH, each file is also loaded headless (``--dump-dom``) and must come
back with its own title and without any injected element; a control page proves that the
headless browser does run inline script, and a page rendered *without* escaping proves that the
CSP alone stops the payloads.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from jinja2 import Environment, FileSystemLoader
from markupsafe import escape

import xinli_screen as xs
from xinli_screen.archive import ArchiveStore
from xinli_screen.report._html import CSP, TEMPLATES, environment
from xinli_screen.report.pupil import build_pupil_report

ITEMS = [f"phq9_{i:02d}" for i in range(1, 11)]
FIELDS = ("id", "name", "wave", "school", "class", "importer", "reviewer", "review_note",
          "action_by", "action_note")
#: Tags a report may contain; anything else came from a payload.
TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "b", "br", "span",
        "table", "thead", "tbody", "tr", "th", "td", "img"}  # tbody: added by the browser
TITLES = {"pupil": "一生一策档案 / Pupil file", "group": "群体报告 / Group report"}


def payload(field: str) -> str:
    """Four classic injections, each setting the page title to ``PWNED-<field>`` (the id gets
    the first two: the archive refuses ids longer than 128 characters)."""
    js = f"document.title='PWNED-{field}'"
    if field == "id":
        return f"<script>{js}</script><img src=x onerror=\"{js}\">"
    return (f"<script>{js}</script>"
            f"<img src=x onerror=\"{js}\">"
            f"\"><svg onload=\"{js}\">"
            f"'><iframe srcdoc=\"<script>parent.{js}</script>\"></iframe>")


P = {f: payload(f) for f in FIELDS}
#: Where each field is shown.
SHOWN = {
    "psychologist": ("id", "name", "wave", "reviewer", "review_note", "action_by",
                     "action_note"),
    "teacher": ("id", "name", "wave"),
    "group": ("wave", "school", "class"),
}


class _Dom(HTMLParser):
    """Tags, event-handler attributes, image sources and the title of an HTML text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.handlers: list[str] = []
        self.img_src: list[str] = []
        self.csp: list[str] = []
        self.title = ""
        self._in_title = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self._in_title = tag == "title"
        self.handlers += [k for k, _ in attrs if k.lower().startswith("on")]
        values = dict(attrs)
        if tag == "img":
            self.img_src.append(values.get("src") or "")
        if tag == "meta" and (values.get("http-equiv") or "").lower() == \
                "content-security-policy":
            self.csp.append(values.get("content") or "")

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def _assert_clean(text: str, kind: str) -> None:
    dom = _Dom(text)
    assert dom.tags <= TAGS, f"injected elements: {dom.tags - TAGS}"
    assert dom.handlers == [], f"injected event handlers: {dom.handlers}"
    assert all(s.startswith(("data:image/png;base64,", "data:image/svg+xml;base64,"))
               for s in dom.img_src), dom.img_src
    assert dom.title == TITLES[kind]
    assert "PWNED" not in dom.title


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An SQLite archive full of payloads, and the HTML reports rendered from it by the CLI."""
    from typer.testing import CliRunner

    from xinli_screen.cli.app import app

    folder = tmp_path_factory.mktemp("xss")
    rng = np.random.default_rng(15)
    ids = [P["id"], *[f"S{k:03d}" for k in range(23)]]
    answers = pd.DataFrame(rng.choice(3, size=(len(ids), 10)).astype(str), columns=ITEMS)
    answers.insert(0, "sid", ids)
    answers.loc[0, ITEMS] = ["2"] * 8 + ["1", "2"]  # the payload pupil: school or district tier
    result = xs.screen(answers, ["phq9"], id_column="sid")
    roster = pd.DataFrame({"sid": ids, "school": P["school"],
                           "class": [P["class"]] * 12 + ["初一(2)班"] * 12,
                           "姓名": [P["name"]] + [f"N{k}" for k in range(23)]})
    db = folder / "a.db"
    with ArchiveStore(db) as store:
        store.import_wave(result.table, result.provenance, P["wave"], by=P["importer"],
                          roster=roster, keep_names=True)
        store.add_review(P["id"], P["wave"], "confirmed", by=P["reviewer"],
                         note=P["review_note"])
        store.add_action(P["id"], "interview", by=P["action_by"], note=P["action_note"],
                         wave=P["wave"])
    runner = CliRunner()
    out = {}
    for view in ("psychologist", "teacher"):
        out[view] = folder / f"{view}.html"
        run = runner.invoke(app, ["report", "pupil", P["id"], "--archive", str(db), "--view",
                                  view, "--with-name", "-o", str(out[view])])
        assert run.exit_code == 0, (run.output, run.exception)
    out["group"] = folder / "group.html"
    run = runner.invoke(app, ["report", "group", "--archive", str(db), "--wave", P["wave"],
                              "--by", "school,class", "-o", str(out["group"])])
    assert run.exit_code == 0, (run.output, run.exception)
    return out


@pytest.mark.parametrize("kind", ["psychologist", "teacher", "group"])
def test_every_field_is_escaped(reports: dict[str, Path], kind: str) -> None:
    text = reports[kind].read_text("utf-8")
    for field in SHOWN[kind]:
        assert str(escape(P[field])) in text, f"{field} missing or not escaped"
    for field in FIELDS:
        assert P[field] not in text, f"{field} written raw"
    _assert_clean(text, "group" if kind == "group" else "pupil")
    assert _Dom(text).csp == [CSP]


def test_the_teacher_view_still_hides_notes(reports: dict[str, Path]) -> None:
    text = reports["teacher"].read_text("utf-8")
    for field in ("review_note", "action_note", "reviewer"):
        assert f"PWNED-{field}" not in text


def test_every_template_autoescapes_and_carries_the_csp() -> None:
    env = environment()
    assert env.autoescape is True
    templates = sorted(TEMPLATES.glob("*.j2"))
    assert templates
    for path in templates:
        source = path.read_text("utf-8")
        assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in source, path
        assert "|safe" not in source.replace(" ", ""), path
        assert "autoescape false" not in source, path
        assert env.get_template(path.name).render  # loads under the shared environment
    assert "script-src 'none'" in CSP and "img-src data:" in CSP and "default-src 'none'" in CSP


# -- in a browser ----------------------------------------------------------------------------
_CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    _CHROMIUM is None,
    reason="chromium is not on PATH (Debian: apt-get install chromium fonts-noto-cjk); the "
           "HTML-text checks above still ran")


def _dump_dom(page: Path, profile: Path) -> str:
    assert _CHROMIUM is not None
    run = subprocess.run(
        [_CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "<html" in run.stdout, run.stderr[-2000:]
    return run.stdout


@needs_chromium
def test_the_headless_browser_runs_inline_script(tmp_path: Path) -> None:
    """Control: without CSP and escaping a payload does run, so the checks below mean something."""
    page = tmp_path / "control.html"
    page.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>t</title></head>"
                    f"<body>{payload('control')}</body></html>", encoding="utf-8")
    assert _Dom(_dump_dom(page, tmp_path / "profile")).title == "PWNED-control"


@needs_chromium
@pytest.mark.parametrize("kind", ["psychologist", "teacher", "group"])
def test_no_payload_runs_in_chromium(reports: dict[str, Path], kind: str,
                                     tmp_path: Path) -> None:
    dom = _dump_dom(reports[kind], tmp_path / "profile")
    _assert_clean(dom, "group" if kind == "group" else "pupil")


@needs_chromium
@pytest.mark.parametrize("template", ["pupil", "group"])
def test_the_csp_alone_stops_the_payloads(reports: dict[str, Path], template: str,
                                          tmp_path: Path) -> None:
    """Defence in depth: the same reports rendered without escaping still run no script."""
    raw_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=False)
    render: Callable[[], str]
    if template == "pupil":
        with ArchiveStore(reports["psychologist"].parent / "a.db") as store:
            rep = build_pupil_report(store, P["id"], include_name=True)
        render = lambda: raw_env.get_template("pupil.html.j2").render(  # noqa: E731
            r=rep, chart=None, colours={}, tiers=xs.TIER_ORDER)
    else:
        from xinli_screen.report.group import HIDDEN, build_group_report
        from xinli_screen.report.group_render import view

        t = pd.DataFrame({"g": [P["school"]] * 6, "warning_tier": ["none"] * 6})
        rep = build_group_report({P["wave"]: t}, ["g"])
        render = lambda: raw_env.get_template("group.html.j2").render(  # noqa: E731
            r=rep, v=view(rep, "zh"), charts={P["wave"]: None}, hidden=HIDDEN)
    page = tmp_path / f"raw-{template}.html"
    page.write_text(render(), encoding="utf-8")
    assert P["wave"] in page.read_text("utf-8")  # really unescaped
    dom = _Dom(_dump_dom(page, tmp_path / "profile"))
    assert dom.title == TITLES[template]
