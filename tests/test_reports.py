"""Pupil reports (two views) and group reports (CIs, weights, suppression)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen.archive import ArchiveStore
from xinli_screen.io import write_result
from xinli_screen.report._charts import svg_text
from xinli_screen.report.group import (
    HIDDEN,
    build_group_report,
    group_counts,
    suppress,
    wilson_interval,
    write_group_report,
)
from xinli_screen.report.group_counts import recomputable, relations
from xinli_screen.report.pupil import build_pupil_report, write_pupil_report

ITEMS = [f"phq9_{i:02d}" for i in range(1, 11)]


def _answers(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    codes = rng.choice(4, size=(n, 10), p=[0.5, 0.3, 0.12, 0.08])
    frame = pd.DataFrame(codes.astype(str), columns=ITEMS)
    frame.insert(0, "sid", [f"{k:04d}" for k in range(n)])
    return frame


def test_wilson_interval_known_value() -> None:
    lo, hi = wilson_interval(np.array([10.0]), np.array([100.0]))
    assert lo[0] == pytest.approx(0.0552, abs=1e-4) and hi[0] == pytest.approx(0.1744, abs=1e-4)


def test_group_counts_rates_and_weights() -> None:
    t = pd.DataFrame({"class": ["a"] * 4 + ["b"] * 6,
                      "warning_tier": ["none", "none", "school", "class"] + ["none"] * 6,
                      "phq9.total.screen_positive": [True, False, True, False] + [False] * 6,
                      "w": [1, 1, 3, 1] + [1] * 6})
    c = group_counts(t, ["class"])
    assert c["n"].tolist() == [4, 6, 10]
    assert c["count:school"].tolist() == [1, 0, 1]
    assert c.loc[2, "rate:phq9.total.screen_positive"] == pytest.approx(20.0)
    cw = group_counts(t, ["class"], weight="w")
    assert cw.loc[0, "rate:school"] == pytest.approx(50.0)
    assert cw.loc[0, "count:school"] == 1


def _leaks(published: pd.DataFrame) -> list[str]:
    """Cells that could be recomputed: a column or a tier row with exactly one hidden cell."""
    rows = published.iloc[:-1]
    bad = [c for c in published.columns if (c == "n" or c.startswith("count:"))
           and (rows[c] == HIDDEN).sum() == 1]
    tiers = [f"count:{t}" for t in xs.TIER_ORDER]
    bad += [f"row {i}" for i, r in rows.iterrows()
            if r["n"] != HIDDEN and sum(r[t] == HIDDEN for t in tiers) == 1]
    return bad


def _pinned(counts: pd.DataFrame, hidden: pd.DataFrame) -> int:
    """Hidden cells a reader could pin from the shown cells, relations and bounds."""
    rel = relations(counts)
    return int(recomputable(counts[rel.columns].to_numpy(float), hidden.to_numpy(), rel).sum())


@pytest.mark.parametrize("seed", range(20))
def test_suppression_leaves_nothing_recomputable(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 30, size=rng.integers(2, 7))
    groups = np.repeat([f"g{k}" for k in range(len(sizes))], sizes)
    t = pd.DataFrame({"g": groups,
                      "warning_tier": rng.choice(xs.TIER_ORDER, size=len(groups),
                                                 p=[0.7, 0.15, 0.1, 0.05]),
                      "x.total.pos": rng.random(len(groups)) < 0.15})
    rep = build_group_report({"w": t}, ["g"])
    pub = rep.waves["w"]
    assert _leaks(pub) == []
    counts = group_counts(t, ["g"])
    assert _pinned(counts, rep.hidden["w"]) == 0
    for col in rep.hidden["w"].columns:  # every small cell is hidden
        small = (counts[col] > 0) & (counts[col] < 5)
        assert rep.hidden["w"].loc[small.index[:-1], col][small.iloc[:-1]].all()


def test_class_of_three_is_fully_hidden() -> None:
    t = pd.DataFrame({"class": ["tiny"] * 3 + ["big"] * 20 + ["mid"] * 12,
                      "warning_tier": ["school", "none", "none"] + ["none"] * 15 + ["class"] * 5
                      + ["none"] * 12})
    hidden = suppress(group_counts(t, ["class"]))
    assert hidden.loc[2].all()  # rows sort by name: big, mid, tiny
    pub = build_group_report({"w": t}, ["class"]).waves["w"]
    assert set(pub.iloc[2][[c for c in pub.columns if ":" in c or c == "n"]]) == {HIDDEN}
    assert _leaks(pub) == []


def test_group_report_files(tmp_path: Path) -> None:
    t = pd.DataFrame({"class": ["a"] * 10 + ["b"] * 10,
                      "warning_tier": ["none"] * 8 + ["school"] * 12})
    rep = build_group_report({"w1": t, "w2": t}, ["class"])
    for suffix in (".html", ".xlsx", ".json"):
        write_group_report(rep, tmp_path / f"g{suffix}")
    html = (tmp_path / "g.html").read_text("utf-8")
    uri = html.split('src="', 1)[1].split('"', 1)[0]
    assert "<text" in svg_text(uri)  # SVG charts, text kept as text
    sheets = pd.read_excel(tmp_path / "g.xlsx", sheet_name=None, engine="openpyxl")
    assert set(sheets) == {"预警级别 w1", "预警级别 w2", "批次比较", "说明"}
    comparison = json.loads((tmp_path / "g.json").read_text("utf-8"))["comparison"]
    assert len(comparison) == 6  # (a, b, total) x 2 waves
    assert comparison[-1]["change:school"] == 0.0
    with pytest.raises(ValueError, match="unsupported"):
        write_group_report(rep, tmp_path / "g.pdf")


def test_group_report_from_results_file_with_roster(cli, tmp_path: Path) -> None:
    res = tmp_path / "r.csv"
    write_result(xs.screen(_answers(30), ["phq9"], id_column="sid"), res)
    roster = pd.DataFrame({"sid": [f"{k:04d}" for k in range(30)],
                           "class": ["c1"] * 3 + ["c2"] * 27})
    roster.to_csv(tmp_path / "roster.csv", index=False)
    run = cli("report", "group", res, "--roster", tmp_path / "roster.csv", "--by", "class",
              "-o", tmp_path / "g.json")
    assert run.code == 0, run.err
    rows = next(iter(json.loads((tmp_path / "g.json").read_text("utf-8"))["waves"].values()))
    assert set(v for k, v in rows[0].items() if k == "n" or ":" in k) == {HIDDEN}
    assert cli("report", "group", res, "--by", "nope", "-o", tmp_path / "x.json").code == 2
    assert cli("report", "group", "--by", "class", "-o", tmp_path / "x.json").code == 2


def test_pupil_report_views(tmp_path: Path) -> None:
    r = xs.screen(_answers(5, seed=3), ["phq9"], id_column="sid")
    with ArchiveStore(tmp_path / "a.db") as store:
        store.import_wave(r.table, r.provenance, "w1", by="me")
        store.add_review("0000", "w1", "confirmed", by="psy", note="PRIVATE-NOTE")
        psy = build_pupil_report(store, "0000", view="psychologist", by="psy")
        teacher = build_pupil_report(store, "0000", view="teacher", by="teacher")
        assert psy["waves"][0]["scales"][0]["scale"] == "phq9.total"
        assert "PRIVATE-NOTE" in json.dumps(psy, ensure_ascii=False)
        text = json.dumps(teacher, ensure_ascii=False)
        assert "PRIVATE-NOTE" not in text and "phq9" not in text
        assert teacher["waves"][0]["advice_zh"]
        assert store.audit()["event"].tolist()[-2:] == ["report_pupil", "report_pupil"]
        with pytest.raises(ValueError, match="unknown view"):
            build_pupil_report(store, "0000", view="parent")  # type: ignore[arg-type]
    write_pupil_report(psy, tmp_path / "p.html")
    html = (tmp_path / "p.html").read_text("utf-8")
    # the scale by its YAML name (issue 13: ids such as phq9.total are not shown)
    assert "PHQ-9" in html and "总分" in html and "phq9.total" not in html
    with pytest.raises(ValueError, match="unsupported"):
        write_pupil_report(psy, tmp_path / "p.pdf")
