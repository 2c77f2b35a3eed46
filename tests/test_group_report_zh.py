"""The group report a district office can read (issue 13, deliverable 3).

Grades in school order, subtotals that add up, suppression that no subtotal can undo (checked
by a hypothesis property against an independent attacker: a linear programme per hidden cell
over every table that agrees with what is published), Chinese headers, SVG charts whose text
is text (a ``$`` in a name is harmless), and an XLSX whose cells keep their types.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from xinli_screen.policy.models import TIER_ORDER
from xinli_screen.report._charts import SVG_PREFIX, bar_chart, line_chart, svg_text
from xinli_screen.report.group import (
    HIDDEN,
    UNMATCHED,
    build_group_report,
    group_counts,
    render_group_html,
    write_group_report,
)

BY = ["school", "grade", "class"]
CUT = "phqa.total.screen_positive"


def _pupils(spec: dict[tuple[str, str, str], list[int]], cut_rate: float = 0.3,
            seed: int = 0) -> pd.DataFrame:
    """One row per pupil from {(school, grade, class): [none, class, school, district]}."""
    rng = np.random.default_rng(seed)
    rows = []
    for (school, grade, klass), counts in spec.items():
        for tier, k in zip(TIER_ORDER, counts, strict=True):
            rows += [{"school": school, "grade": grade, "class": klass, "warning_tier": tier}
                     for _ in range(k)]
    frame = pd.DataFrame(rows)
    frame[CUT] = (rng.random(len(frame)) < cut_rate).tolist()
    return frame


def _district() -> pd.DataFrame:
    spec = {}
    for s, grades in (("阳光小学", ["五年级", "六年级", "四年级"]), ("实验中学", ["初三", "初一"])):
        for g in grades:
            for c in ("10班", "2班", "1班"):
                spec[(s, g, c)] = [25, 6, 3, 1]
    return _pupils(spec)


# -- order and subtotals ---------------------------------------------------------------------
def test_grades_in_school_order_and_classes_by_number() -> None:
    counts = group_counts(_district(), BY)
    groups = counts[counts["level"] == "group"]
    primary = groups[groups["school"] == "阳光小学"]
    assert list(dict.fromkeys(primary["grade"])) == ["四年级", "五年级", "六年级"]
    assert list(primary["class"][:3]) == ["1班", "2班", "10班"]
    junior = groups[groups["school"] == "实验中学"]
    assert list(dict.fromkeys(junior["grade"])) == ["初一", "初三"]
    grades = counts[counts["level"] == "grade_total"]["grade"].tolist()
    assert grades == ["四年级", "五年级", "六年级", "初一", "初三"]
    assert counts["level"].iloc[-1] == "total"
    # each subtotal comes right after its rows
    first_sub = counts.index[(counts["level"] == "subtotal") & (counts["depth"] == 2)][0]
    assert counts.loc[first_sub - 1, "class"] == "10班"
    assert counts.loc[first_sub, "grade"] == counts.loc[first_sub - 1, "grade"]


def test_subtotals_equal_the_sum_of_their_rows() -> None:
    t = _district()
    t.loc[:4, BY] = None  # five sheets with no school: the unmatched row
    counts = group_counts(t, BY)
    cols = ["n", *[c for c in counts.columns if c.startswith("count:")]]
    level = counts["level"]
    for _, sub in counts[level == "subtotal"].iterrows():
        d = int(sub["depth"])
        kids = counts[level.isin(["group", "subtotal"]) & (counts["depth"] == d + 1)]
        for c in BY[:d]:
            kids = kids[kids[c] == sub[c]]
        assert (kids[cols].sum() == sub[cols]).all()
    total = counts.iloc[-1]
    schools = counts[(level == "subtotal") & (counts["depth"] == 1)]
    unmatched = counts[level == "unmatched"]
    assert unmatched["school"].tolist() == [UNMATCHED] and unmatched["n"].tolist() == [5]
    assert ((schools[cols].sum() + unmatched[cols].sum()) == total[cols]).all()
    grades = counts[level == "grade_total"]
    assert ((grades[cols].sum() + unmatched[cols].sum()) == total[cols]).all()
    for _, g in grades.iterrows():
        parts = counts[(level == "subtotal") & (counts["depth"] == 2)
                       & (counts["grade"] == g["grade"])]
        assert (parts[cols].sum() == g[cols]).all()
    tiers = [f"count:{t}" for t in TIER_ORDER]
    assert (counts[tiers].sum(axis=1) == counts["n"]).all()
    assert total["n"] == len(t)


# -- suppression against an independent attacker --------------------------------------------
def _relations_from_labels(pub: pd.DataFrame) -> list[list[tuple[int, int]]]:
    """Additive relations of a published table, derived from its labels alone:
    [(row, +1), (row, -1) ...] meaning parent - sum(children) = 0."""
    rels = []
    level, depth = pub["level"].tolist(), pub["depth"].tolist()
    total = level.index("total")
    tops = [i for i in range(len(pub)) if (level[i] in ("group", "subtotal") and depth[i] == 1)
            or level[i] == "unmatched"]
    rels.append([(total, 1), *[(i, -1) for i in tops]])
    for p in range(len(pub)):
        if level[p] != "subtotal":
            continue
        d = depth[p]
        kids = [i for i in range(len(pub)) if level[i] in ("group", "subtotal")
                and depth[i] == d + 1 and all(pub.iloc[i][c] == pub.iloc[p][c]
                                                for c in BY[:d])]
        rels.append([(p, 1), *[(i, -1) for i in kids]])
    grade_rows = [i for i in range(len(pub)) if level[i] == "grade_total"]
    if grade_rows:
        rels.append([(total, 1), *[(i, -1) for i in grade_rows],
                     *[(i, -1) for i in range(len(pub)) if level[i] == "unmatched"]])
        for g in grade_rows:
            kids = [i for i in range(len(pub)) if level[i] in ("group", "subtotal")
                    and depth[i] == 2 and pub.iloc[i]["grade"] == pub.iloc[g]["grade"]]
            rels.append([(g, 1), *[(i, -1) for i in kids]])
    return rels


def _attack(pub: pd.DataFrame, truth: pd.DataFrame) -> list[str]:
    """Hidden cells holding one pupil or more whose value is the same in every table
    consistent with what is shown (shown cells, row and column relations, counts >= 0,
    cut-off <= its shown n:)."""
    cols = ["n", *[f"count:{t}" for t in TIER_ORDER], f"count:{CUT}"]
    unknown = [(r, c) for r in range(len(pub)) for c in cols if pub.iloc[r][c] == HIDDEN]
    if not unknown:
        return []
    index = {u: k for k, u in enumerate(unknown)}

    def term(r: int, c: str) -> tuple[int | None, float]:
        return (index[(r, c)], 0.0) if (r, c) in index else (None, float(pub.iloc[r][c]))

    a_eq, b_eq = [], []

    def add(items: list[tuple[int, str, int]]) -> None:
        row, const = np.zeros(len(unknown)), 0.0
        for r, c, sign in items:
            k, v = term(r, c)
            if k is None:
                const += sign * v
            else:
                row[k] += sign
        if row.any():
            a_eq.append(row)
            b_eq.append(-const)

    for r in range(len(pub)):
        add([(r, "n", 1), *[(r, f"count:{t}", -1) for t in TIER_ORDER]])
    for rel in _relations_from_labels(pub):
        for c in cols:
            add([(r, c, s) for r, s in rel])
    bounds = []
    for r, c in unknown:
        up = None
        den = pub.iloc[r].get(f"n:{CUT}")
        if c == f"count:{CUT}" and den not in (None, HIDDEN):
            up = float(den)
        bounds.append((0, up))
    leaks = []
    for k, (r, c) in enumerate(unknown):
        obj = np.zeros(len(unknown))
        obj[k] = 1.0
        lo = linprog(obj, A_eq=np.array(a_eq), b_eq=b_eq, bounds=bounds, method="highs")
        hi = linprog(-obj, A_eq=np.array(a_eq), b_eq=b_eq, bounds=bounds, method="highs")
        assert lo.status == 0 and hi.status in (0, 3)  # the true table is feasible
        if hi.status == 3:  # unbounded: nothing shown above it (the total hidden too)
            continue
        assert lo.fun - 1e-6 <= truth.iloc[r][c] <= -hi.fun + 1e-6
        if -hi.fun - lo.fun < 0.5 and truth.iloc[r][c] > 0:  # a forced 0 tells no pupil
            leaks.append(f"row {r} ({pub.iloc[r]['level']}) {c} = {truth.iloc[r][c]}")
    return leaks


_class = st.lists(st.integers(0, 9), min_size=4, max_size=4).filter(lambda v: sum(v) > 0)


@st.composite
def _tables(draw: st.DrawFn) -> pd.DataFrame:
    spec = {}
    for s in range(draw(st.integers(1, 3))):
        for g in draw(st.lists(st.sampled_from(["四年级", "五年级", "初一"]), min_size=1,
                               max_size=2, unique=True)):
            for c in range(draw(st.integers(1, 3))):
                spec[(f"学校{s}", g, f"{c + 1}班")] = draw(_class)
    frame = _pupils(spec, cut_rate=draw(st.sampled_from([0.0, 0.2, 0.6])),
                    seed=draw(st.integers(0, 9)))
    unmatched = draw(st.integers(0, 3))
    if unmatched:
        frame.loc[: unmatched - 1, BY] = None
    return frame


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(_tables())
def test_no_hidden_cell_can_be_recomputed(table: pd.DataFrame) -> None:
    rep = build_group_report({"w": table}, BY)
    pub = rep.waves["w"]
    truth = group_counts(table, BY)
    assert _attack(pub, truth) == []
    # every small count outside the total and the unmatched row is hidden
    body = ~truth["level"].isin(["total", "unmatched"])
    for c in ["n", *[f"count:{t}" for t in TIER_ORDER], f"count:{CUT}"]:
        small = body & (truth[c] > 0) & (truth[c] < 5)
        assert (pub.loc[small, c] == HIDDEN).all(), c
    # the unmatched row is shown in full
    unm = pub[pub["level"] == "unmatched"]
    assert not (unm == HIDDEN).any().any()


def test_a_small_school_cannot_be_recovered_from_the_district_total() -> None:
    spec = {("大校", "四年级", "1班"): [30, 8, 6, 5], ("大校", "四年级", "2班"): [30, 8, 6, 5],
            ("小校", "四年级", "1班"): [20, 6, 5, 2]}
    t = _pupils(spec)
    pub = build_group_report({"w": t}, BY).waves["w"]
    assert _attack(pub, group_counts(t, BY)) == []
    small = pub[(pub["school"] == "小校") & (pub["level"] == "subtotal") & (pub["depth"] == 1)]
    assert small["count:district"].tolist() == [HIDDEN]


def test_sampled_null_space_agrees_with_the_dense_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large systems are audited by sparse least squares: same verdict as the dense SVD."""
    import xinli_screen.report.group_counts as gc
    import xinli_screen.report.group_relations as gr

    rng = np.random.default_rng(3)
    spec = {(f"学校{s}", g, f"{c}班"): list(rng.integers(0, 9, 4) + np.array([20, 0, 0, 0]))
            for s in range(4) for g in ("四年级", "初一") for c in range(1, 5)}
    counts = group_counts(_pupils(spec), BY)
    rel = gc.relations(counts)
    values = counts[rel.columns].to_numpy(float)
    hidden = gc.suppress(counts).to_numpy().copy()
    shown_again = np.argwhere(hidden)[rng.choice(int(hidden.sum()), 15, replace=False)]
    hidden[tuple(shown_again.T)] = False  # a weakened pattern: some cells become pinned
    monkeypatch.setattr(gr, "_DENSE_LIMIT", 10**6)
    dense = gc.recomputable(values, hidden, rel)
    monkeypatch.setattr(gr, "_DENSE_LIMIT", 0)
    sampled = gc.recomputable(values, hidden, rel)
    assert dense.any() and (dense == sampled).all()


def test_a_zero_total_is_not_hidden_to_protect_zeros() -> None:
    """Hidden 0s that a shown 0 forces are no disclosure: the total stays shown."""
    t = pd.DataFrame({"grade": ["初一"] * 7 + ["四年级"] * 3, "class": ["1班"] * 10,
                      "warning_tier": ["none"] * 6 + ["school"] * 4})
    pub = build_group_report({"w": t}, ["grade", "class"]).waves["w"]
    assert pub.iloc[-1]["n"] == 10 and pub.iloc[-1]["count:district"] == 0
    assert pub.iloc[-1]["count:school"] == 4
    assert (pub.iloc[:-1]["count:school"] == HIDDEN).all()


# -- what a person reads ---------------------------------------------------------------------
def test_html_speaks_chinese_with_subtotals_and_notes(tmp_path: Path) -> None:
    rep = build_group_report({"2026秋": _district()}, BY,
                             labels={"class": "班级关注", "school": "校级预警",
                                     "district": "区级预警"})
    html = render_group_html(rep)
    for text in ("学校", "年级", "班级", "人数", "班级关注", "校级预警", "区级预警", "小计",
                 "全区合计", "全区各年级", "PHQ-A", "说明", "不是诊断", "@page"):
        assert text in html, text
    for code in ("count:", "rate:", "low:", "high:", "phqa.total"):
        assert code not in html.split("</style>")[1], code
    body = html.split("明细")[1]
    assert body.index("四年级") < body.index("五年级") < body.index("六年级")
    assert "A4" in html
    en = render_group_html(rep, lang="en")
    assert "Subtotal" in en and "District total" in en and "小计" not in en


def test_charts_are_svg_with_chinese_text_and_a_dollar_is_harmless(tmp_path: Path) -> None:
    t = _district()
    t.loc[t["school"] == "阳光小学", "school"] = "阳光$小学$ <b>"
    rep = build_group_report({"w": t}, BY)
    html = render_group_html(rep)
    uris = re.findall(r'src="([^"]+)"', html)
    assert uris and all(u.startswith(SVG_PREFIX) for u in uris)
    svg = svg_text(uris[0])
    assert "阳光$小学$ &lt;b&gt;</text>" in svg
    assert "Noto Sans CJK SC" in svg and "<path" in svg
    assert "<script" not in svg


def test_a_suppressed_rate_is_a_marked_gap_not_a_zero_bar() -> None:
    svg = svg_text(bar_chart(["甲校", "乙校"], {"区级预警": [2.5, None]}, "比例（%）"))
    assert "已隐藏" in svg  # legend note
    assert 'id="h' in svg or "hatch" in svg.lower() or "<pattern" in svg
    shown = svg_text(bar_chart(["甲校", "乙校"], {"区级预警": [2.5, 1.0]}, "比例（%）"))
    assert "已隐藏" not in shown


def test_line_chart_is_svg_with_text() -> None:
    svg = svg_text(line_chart(["2026秋", "2027春"], {f"量表{k} $x$": [k, k + 1]
                                                    for k in range(19)}))
    assert "2026秋" in svg and "量表18 $x$" in svg


def test_xlsx_keeps_types_and_layout(tmp_path: Path) -> None:
    t = _district()
    rep = build_group_report({"2026秋": t, "2027春": t}, BY)
    path = write_group_report(rep, tmp_path / "g.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["预警级别 2026秋", "量表阳性 2026秋", "预警级别 2027春",
                               "量表阳性 2027春", "批次比较", "说明"]
    ws = book["预警级别 2026秋"]
    header = [c.value for c in ws[2]]
    assert header[:4] == ["学校", "年级", "班级", "人数"]
    assert "区级预警 人数" in header and "区级预警 %" in header and "区级预警 95%CI下限" in header
    assert ws.freeze_panes == "E3"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage  # one page wide (1 = the default)
    assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0
    n_col = header.index("人数")
    count_col, rate_col = header.index("区级预警 人数"), header.index("区级预警 %")
    seen_hidden = seen_bold = False
    for row in ws.iter_rows(min_row=3):
        n, count, rate = row[n_col].value, row[count_col].value, row[rate_col].value
        assert isinstance(n, int)
        assert count == HIDDEN or isinstance(count, int)
        assert rate == HIDDEN or isinstance(rate, (int, float))
        seen_hidden |= count == HIDDEN
        if row[1].value == "小计" or row[2].value == "小计":
            assert row[0].font.b
            seen_bold = True
    assert seen_hidden and seen_bold
    notes = " ".join(str(c.value) for c in book["说明"]["A"] if c.value)
    assert "隐藏" in notes and "小计" in notes and "不是诊断" in notes
    comp = book["批次比较"]
    assert [c.value for c in comp[2]][:3] == ["学校", "测评批次", "人数"]


def test_json_keeps_english_keys_and_comparison(tmp_path: Path) -> None:
    t = _district()
    rep = build_group_report({"w1": t, "w2": t}, BY)
    doc = json.loads(write_group_report(rep, tmp_path / "g.json").read_text("utf-8"))
    row = doc["waves"]["w1"][0]
    assert {"school", "grade", "class", "level", "depth", "n", "count:district",
            "rate:district", f"count:{CUT}", f"n:{CUT}"} <= set(row)
    assert doc["tiers"]["district"]["zh"] == "区级预警"
    assert doc["indicators"][CUT]["zh"].startswith("PHQ-A")
    second = [r for r in doc["comparison"] if r["wave"] == "w2"]
    assert {r["school"] for r in second} >= {"阳光小学", "实验中学", "合计 total"}
    assert all(r["change:class"] in (0.0, HIDDEN) for r in second)


def test_cli_lang_option(cli, tmp_path: Path) -> None:
    assert cli("report", "group", tmp_path / "none.csv", "--by", "class", "--lang", "fr",
               "-o", tmp_path / "x.html").code == 2


def test_write_rejects_unknown_language(tmp_path: Path) -> None:
    rep = build_group_report({"w": _district()}, BY)
    with pytest.raises(ValueError, match="language"):
        write_group_report(rep, tmp_path / "g.html", lang="fr")
