"""The documentation site is bilingual (issue 18): every page in English and in Chinese.

The site uses mkdocs-static-i18n with the *suffix* structure: ``docs/page.md`` is the English
page (default language, served at ``/``) and ``docs/page.zh.md`` its Chinese version (served at
``/zh/``). The plugin silently falls back to English where a translation is missing, so these
tests are what make a one-language page fail.

From the sources: both languages of every page and nav entry, a Chinese title for every nav
entry, the same code blocks (commands, YAML, program output; comments may be translated) and no
line break between two Chinese characters. From the site built exactly as CI builds it
(``mkdocs build --strict``): both home pages, the Chinese one in Chinese with a language switch,
each Chinese page showing its own translation, the English heading anchors and inline code kept,
and every ``page.md#anchor`` that the docs link to present in both languages.
"""

from __future__ import annotations

import html
import itertools
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
ZH_SUFFIX = ".zh.md"
CJK = re.compile(r"[\u4e00-\u9fff]")
# A Markdown link to a heading of another page: [text](page.md#anchor)
PAGE_ANCHOR_LINK = re.compile(r"\]\(([\w./-]+\.md)#([\w-]+)\)")
FENCE = re.compile(r"^\s*(```+|~~~+)")
# A comment in a code block ("# ..." at the start of a line or after a space): translators may
# translate comments; everything else in a code block is a command, code or program output.
CODE_COMMENT = re.compile(r"(^|\s)#(\s.*)?$")
# Chinese characters and punctuation (incl. “” … —), for soft line breaks inside Chinese prose.
_HAN = "\u2014\u2018-\u201d\u2026\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
# Links and emphasis do not separate the characters; inline code may stand apart with a space.
ENDS_HAN = re.compile(f"[{_HAN}](\\]\\([^)]*\\)|[*_]+)?$")
STARTS_HAN = re.compile(f"^\\s*[\\[*_]*[{_HAN}]")
# Section headings (h2-h6); a page's title (h1) is reached by the page link itself.
HEADING_ID = re.compile(r'<h[2-6] id="([^"]+)"')


def _pages(language: str) -> set[str]:
    """Doc pages of one language as paths relative to docs/ without the language suffix."""
    pages = set()
    for path in DOCS.rglob("*.md"):
        rel = path.relative_to(DOCS).as_posix()
        if rel.endswith(ZH_SUFFIX) == (language == "zh"):
            pages.add(rel.removesuffix(ZH_SUFFIX).removesuffix(".md") + ".md")
    return pages


def _code_blocks(markdown: Path) -> list[list[str]]:
    """The fenced code blocks of a page, comments removed, blank lines dropped."""
    blocks: list[list[str]] = []
    fence = None
    for line in markdown.read_text(encoding="utf-8").splitlines():
        match = FENCE.match(line)
        if fence is None and match:
            fence, current = match.group(1), []
        elif fence is not None and match and match.group(1).startswith(fence):
            blocks.append(current)
            fence = None
        elif fence is not None:
            code = CODE_COMMENT.sub("", line).rstrip()
            if code.strip():
                current.append(code)
    return blocks


def _soft_breaks_between_han(markdown: Path) -> list[int]:
    """Line numbers of prose lines that continue a line across a break between Chinese text.

    Markdown keeps a soft line break as a newline, and Chromium-based browsers show a newline
    between two Chinese characters as a space ("预警 名单"); Chinese prose must not wrap there.
    """
    lines = markdown.read_text(encoding="utf-8").splitlines()
    found, fence = [], False
    for number, (line, following) in enumerate(itertools.pairwise(lines), start=2):
        if FENCE.match(line):
            fence = not fence
        block_start = following.lstrip().startswith(("|", "- ", "* ", "#", "!!!", "```", "~~~"))
        if fence or block_start or re.match(r"\s*\d+\. ", following):
            continue
        if line.lstrip().startswith(("|", "#", "![", "!!!")):
            continue
        if ENDS_HAN.search(line) and STARTS_HAN.match(following):
            found.append(number)
    return found


def _config() -> dict:
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def _nav_entries(nav: list) -> list[tuple[str, str | None]]:
    """Every (title, page) in the nav, sections included with page None."""
    entries: list[tuple[str, str | None]] = []
    for item in nav:
        for title, target in item.items():
            if isinstance(target, list):
                entries.append((title, None))
                entries.extend(_nav_entries(target))
            else:
                entries.append((title, target))
    return entries


def _plugin(config: dict, name: str) -> dict:
    for entry in config["plugins"]:
        if entry == name:
            return {}
        if isinstance(entry, dict) and name in entry:
            return entry[name] or {}
    raise AssertionError(f"plugin {name!r} is not configured in mkdocs.yml")


def _plugin_names(config: dict) -> list[str]:
    return [entry if isinstance(entry, str) else next(iter(entry)) for entry in config["plugins"]]


# --------------------------------------------------------------------------------------------- #
# Completeness of the two languages, from the sources alone                                      #
# --------------------------------------------------------------------------------------------- #


def test_every_english_page_has_a_chinese_version():
    missing = sorted(_pages("en") - _pages("zh"))
    assert not missing, f"pages without docs/<page>.zh.md: {missing}"


def test_every_chinese_page_has_an_english_original():
    orphans = sorted(_pages("zh") - _pages("en"))
    assert not orphans, f"Chinese pages without the English docs/<page>.md: {orphans}"


def test_nav_pages_exist_in_both_languages():
    nav_pages = [page for _, page in _nav_entries(_config()["nav"]) if page is not None]
    assert not [p for p in nav_pages if p.endswith(ZH_SUFFIX)], (
        "the nav names the English page only; the plugin maps it to page.zh.md"
    )
    absent = [p for p in nav_pages if not (DOCS / p).is_file()]
    assert not absent, f"nav pages not in docs/: {absent}"
    untranslated = [p for p in nav_pages if not (DOCS / p).with_suffix(ZH_SUFFIX).is_file()]
    assert not untranslated, f"nav pages without a Chinese version: {untranslated}"


def test_code_blocks_are_the_same_in_both_languages():
    """Commands, code, YAML and program output are not translated (comments may be)."""
    differ = []
    for page in sorted(_pages("en") & _pages("zh")):
        english, chinese = (
            _code_blocks(DOCS / page),
            _code_blocks((DOCS / page).with_suffix(ZH_SUFFIX)),
        )
        if english != chinese:
            first = next(
                (i for i, (a, b) in enumerate(zip(english, chinese, strict=False)) if a != b),
                min(len(english), len(chinese)),
            )
            differ.append(
                f"{page} ({len(english)} vs {len(chinese)} blocks, first difference: #{first + 1})"
            )
    assert not differ, f"code blocks differ between page.md and page.zh.md: {differ}"


def test_chinese_prose_has_no_line_break_between_chinese_characters():
    broken = {}
    for page in sorted(_pages("zh")):
        lines = _soft_breaks_between_han((DOCS / page).with_suffix(ZH_SUFFIX))
        if lines:
            broken[page.removesuffix(".md") + ZH_SUFFIX] = lines[:10]
    assert not broken, (
        f"a line break between two Chinese characters shows as a space; join the lines: {broken}"
    )


def test_i18n_plugin_configuration():
    config = _config()
    i18n = _plugin(config, "i18n")
    assert i18n["docs_structure"] == "suffix"
    assert i18n.get("reconfigure_material", True), "the language switch comes from this"
    languages = {lang["locale"]: lang for lang in i18n["languages"]}
    assert set(languages) == {"en", "zh"}
    assert languages["en"].get("default") is True
    assert languages["zh"]["name"] == "中文"
    assert languages["zh"].get("build", True) is True
    names = _plugin_names(config)
    assert names.index("search") < names.index("i18n")


def test_every_nav_title_has_a_chinese_translation():
    translations = _plugin(_config(), "i18n")["languages"]
    zh = next(lang for lang in translations if lang["locale"] == "zh")["nav_translations"]
    titles = [title for title, _ in _nav_entries(_config()["nav"])]
    untranslated = [t for t in titles if not CJK.search(zh.get(t, ""))]
    assert not untranslated, f"nav titles without a Chinese nav_translations entry: {untranslated}"


# --------------------------------------------------------------------------------------------- #
# The built site                                                                                 #
# --------------------------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Build the whole site strictly, as CI does, and return its directory."""
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install -e '.[docs]')")
    pytest.importorskip("mkdocs_static_i18n", reason="mkdocs-static-i18n is not installed")
    site_dir = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet"]
    run = subprocess.run(
        [*command, "--site-dir", str(site_dir)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stderr[-4000:]}"
    return site_dir


def _article(html_path: Path) -> str:
    document = html_path.read_text(encoding="utf-8")
    start, end = document.find("<article"), document.rfind("</article>")
    assert start != -1 and end != -1, f"no article in {html_path}"
    return document[start:end]


class _InlineCode(HTMLParser):
    """Collects the text of every <code> element outside <pre> (inline code) of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[str] = []
        self._pre = 0
        self._code: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "pre":
            self._pre += 1
        elif tag == "code" and not self._pre:
            self._code = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._pre -= 1
        elif tag == "code" and self._code is not None:
            self.spans.append(" ".join("".join(self._code).split()))
            self._code = None

    def handle_data(self, data: str) -> None:
        if self._code is not None:
            self._code.append(data)


def _inline_code(html_path: Path) -> list[str]:
    parser = _InlineCode()
    parser.feed(_article(html_path))
    return parser.spans


def _html_path(site: Path, page: str, language: str) -> Path:
    stem = page.removesuffix(".md")
    rel = "index.html" if stem == "index" else f"{stem.removesuffix('/index')}/index.html"
    return site / rel if language == "en" else site / "zh" / rel


def _first_heading(markdown: Path) -> str:
    """The text of a page's level-1 heading, without its {#id} and Markdown marks."""
    for line in markdown.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return re.sub(r"[`*_]", "", re.sub(r"\s*\{#[^}]*\}\s*$", "", line[2:])).strip()
    raise AssertionError(f"{markdown} has no level-1 heading")


def test_both_home_pages_are_built(site):
    assert (site / "index.html").is_file()
    assert (site / "zh" / "index.html").is_file()


def test_chinese_home_page_is_chinese_with_a_language_switch(site):
    document = (site / "zh" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="zh"' in document
    assert len(CJK.findall(_article(site / "zh" / "index.html"))) >= 100
    links = re.findall(r'<a href="([^"]*)" hreflang="(en|zh)"', document)
    switch = {language: href for href, language in links}
    assert set(switch) == {"en", "zh"}, "no language switch in the header"
    # the English entry leads to the English home page (root-absolute without site_url)
    english = switch["en"]
    target = site / english.lstrip("/") if english.startswith("/") else site / "zh" / english
    assert '<html lang="en"' in (target / "index.html").read_text(encoding="utf-8")


def test_each_chinese_page_is_its_translation_not_the_fallback(site):
    """zh/<page>/ carries the heading of docs/<page>.zh.md, so the fallback was not used."""
    wrong = []
    for page in sorted(_pages("zh") & _pages("en")):
        heading = _first_heading((DOCS / page).with_suffix(ZH_SUFFIX))
        text = html.unescape(re.sub(r"<[^>]+>", "", _article(_html_path(site, page, "zh"))))
        if heading not in text:
            wrong.append(page)
    assert not wrong, f"the Chinese site shows something else than page.zh.md for: {wrong}"


def test_chinese_pages_keep_the_english_heading_anchors(site):
    """Every section heading id of an English page exists in its Chinese page ({#id} there)."""
    missing = []
    for page in sorted(_pages("zh") & _pages("en")):
        english = HEADING_ID.findall(_html_path(site, page, "en").read_text(encoding="utf-8"))
        chinese = set(HEADING_ID.findall(_html_path(site, page, "zh").read_text(encoding="utf-8")))
        missing += [f"{page}#{anchor}" for anchor in english if anchor not in chinese]
    assert not missing, (
        f"heading anchors of the English page absent from the Chinese one: {missing}"
    )


def test_inline_code_is_kept_in_the_chinese_pages(site):
    """Option names, file names, column names and values in `code` are not translated."""
    missing = []
    for page in sorted(_pages("zh") & _pages("en")):
        chinese = set(_inline_code(_html_path(site, page, "zh")))
        english = dict.fromkeys(_inline_code(_html_path(site, page, "en")))
        missing += [f"{page}: `{code}`" for code in english if code not in chinese]
    assert not missing, f"inline code of the English page absent from the Chinese one: {missing}"


def test_linked_anchors_exist_in_both_languages(site):
    """An anchor any page links to (page.md#anchor) exists in the English and the Chinese page."""
    linked: set[tuple[str, str]] = set()
    for source in DOCS.rglob("*.md"):
        for target, anchor in PAGE_ANCHOR_LINK.findall(source.read_text(encoding="utf-8")):
            page = (source.parent / target).resolve().relative_to(DOCS).as_posix()
            linked.add((page.removesuffix(ZH_SUFFIX).removesuffix(".md") + ".md", anchor))
    assert linked, "the pattern found no page#anchor link at all"
    missing = []
    for page, anchor in sorted(linked):
        for language in ("en", "zh"):
            path = _html_path(site, page, language)
            if path.is_file() and f'id="{anchor}"' not in path.read_text(encoding="utf-8"):
                missing.append(f"{language}: {page}#{anchor}")
    assert not missing, f"anchors linked from the docs but absent: {missing}"
