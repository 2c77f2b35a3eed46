"""The class-teacher view's caption says what the page shows: it lists the review status the
page shows (复核状态 复核调整级别) and excludes nothing that is on the page (a Chinese-only
user check found "不含…复核记录" above a 复核状态 column)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen.archive import ArchiveStore
from xinli_screen.report.pupil import build_pupil_report, render_pupil_html

PHQ9 = [f"phq9_{i:02d}" for i in range(1, 10)]


class _Page(HTMLParser):
    """The caption (``p.note``) and the column headers (``th``, first language only)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.caption, self.headers = "", []
        self._in: str | None = None
        self._alt = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "p" and ("class", "note") in attrs and not self.caption:
            self._in = "caption"
        elif tag == "th":
            self._in, self.headers = "th", [*self.headers, ""]
        self._alt = self._alt or (tag == "span" and ("class", "alt") in attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "th"):
            self._in = None if self._in != "caption" or tag == "p" else self._in
        if tag == "span":
            self._alt = False

    def handle_data(self, data: str) -> None:
        if self._in == "caption":
            self.caption += data
        elif self._in == "th" and not self._alt:
            self.headers[-1] += data.strip()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArchiveStore]:
    rng = np.random.default_rng(3)
    answers = pd.DataFrame(rng.choice(4, size=(6, 9)).astype(str), columns=PHQ9)
    answers.insert(0, "sid", [f"P{k}" for k in range(6)])
    store = ArchiveStore(tmp_path_factory.mktemp("cap") / "a.db")
    r = xs.screen(answers, ["phq9"], id_column="sid")
    store.import_wave(r.table, r.provenance, "2026-autumn", by="王老师")
    store.add_review("P0", "2026-autumn", "tier_changed", tier="class", by="李老师",
                     note="面谈后调整")
    store.add_action("P0", "parent_contact", by="李老师", wave="2026-autumn", note="电话")
    yield store
    store.close()


@pytest.mark.parametrize(("lang", "shown", "excluded", "status"), [
    ("zh", ("预警级别", "复核状态", "建议", "措施"), "不含", "复核调整级别"),
    ("en", ("Warning tier", "Review", "Advice", "Action"), "; no ", "tier changed"),
])
def test_teacher_caption_agrees_with_the_page(store: ArchiveStore, lang: str,
                                              shown: tuple[str, ...], excluded: str,
                                              status: str) -> None:
    report = build_pupil_report(store, "P0", view="teacher", by="test", lang=lang)
    page = _Page(render_pupil_html(report))
    text = re.sub(r"<[^>]+>", " ", render_pupil_html(report))
    assert status in text  # the review status the user saw is on the page
    head, _, tail = page.caption.partition(excluded)
    assert tail, page.caption
    for header in shown:
        assert any(header in h for h in page.headers), (header, page.headers)
        assert header.lower() in head.lower(), (header, page.caption)
    for header in page.headers:  # whole words: "View" is not in "reviewers"
        word = rf"(?<![a-z]){re.escape(header)}(?![a-z])"
        assert not re.search(word, tail, re.IGNORECASE), (header, page.caption)
