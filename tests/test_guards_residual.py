"""Residual problems from a fresh-user check after issue 14 (point 6 of the follow-up):
messages and documentation that must agree with what the program does.

Oracles are the program's own messages (read from the CLI) and the bundled instrument
definitions (PHQ-9 item 9 critical on by default, Kroenke 2001; MHT items 85 and 97 opt-in,
周步成 1991 / docs/policy.md).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen._analysis import AnalysisError

DOCS = Path(__file__).resolve().parents[1] / "docs"
PHQ = [f"phq9_{i:02d}" for i in range(1, 10)]


def _phq_file(tmp_path: Path, n: int = 30) -> Path:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.choice(4, p=[0.6, 0.25, 0.1, 0.05], size=(n, 9)), columns=PHQ)
    frame.loc[0, "phq9_09"] = 7  # out of range on the critical item
    path = tmp_path / "a.csv"
    frame.assign(sid=[f"{i:04d}" for i in range(n)]).to_csv(path, index=False)
    return path


def test_summary_has_no_empty_breakdown_when_the_unknown_is_an_unreadable_cell(cli, tmp_path):
    run = cli("score", _phq_file(tmp_path), "-i", "phq9", "--id-column", "sid",
              "-o", tmp_path / "o.csv")
    assert run.code == 1, run.err
    line = next(x for x in run.err.splitlines() if x.startswith("critical item unknown"))
    assert "in 1 rows (critical_unknown column" in line, line
    assert ":  (" not in line and ": (" not in line


def test_item_analysis_names_itself_for_an_empty_column():
    rng = np.random.default_rng(2)
    data = pd.DataFrame(rng.integers(0, 4, size=(30, 3)).astype(float), columns=["a", "b", "c"])
    data["c"] = np.nan
    with pytest.raises(AnalysisError, match=r"^item_analysis for .*\['c'\] have no answers"):
        xs.item_analysis(data)
    with pytest.raises(AnalysisError, match=r"^cronbach_alpha for "):
        xs.cronbach_alpha(data)


def test_score_help_points_to_existing_docs_and_the_dask_extra():
    from typer.testing import CliRunner

    from xinli_screen.cli.app import app
    run = CliRunner().invoke(app, ["score", "--help"], env={"COLUMNS": "300"})
    text = re.sub(r"[\s│]+", " ", run.stdout)
    assert "docs/validity.md" not in text
    for ref in re.findall(r"docs/([\w.]+\.md)", text):
        assert (DOCS / ref).is_file(), ref
    assert "pip install 'xinli-screen[dask]'" in text


def test_instruments_show_lists_critical_items_with_id_and_state(cli):
    mht = cli("instruments", "show", "mht").out
    assert ("critical item mht.death_wish (opt-in: off unless a policy lists mht.death_wish "
            "under enable_critical_items): mht_085 (#85)") in mht
    assert "critical item mht.jump_from_height (opt-in" in mht
    phq = cli("instruments", "show", "phq9").out
    assert "critical item phq9.self_harm_thoughts (on by default): phq9_09 (#9) >= 1" in phq


def test_usage_messages_are_documented(cli, tmp_path):
    errors = (DOCS / "errors.md").read_text(encoding="utf-8")
    path = _phq_file(tmp_path)
    run = cli("score", path, "-i", "phq9", "--answer-values", "phq9=sideways")
    assert run.code == 2 and "a mode must be one of" in run.err
    assert "a mode must be one of auto, code, shift-down, shift-up, text, sequence" in errors
    run = cli("score", path, "-i", "phq9", "--id-column", "sid", "--answer-values",
              "gad9=code", "-o", tmp_path / "o.csv")
    assert run.code == 2 and "answer_values names instrument(s) not screened: gad9" in run.err
    assert "answer_values names instrument(s) not screened" in errors
    run = cli("score", path, "-i", "phq9", "--spss-values", "numbers")
    assert run.code == 2 and "--spss-values must be codes or labels" in run.err
    assert "--spss-values must be codes or labels" in errors


def test_cli_output_columns_are_documented():
    cli_md = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert "| `critical_unknown` |" in cli_md
    row = next(x for x in cli_md.splitlines() if x.startswith("| `review_status` |"))
    assert "critical item is unknown or unreadable" in row and "not_required" in row
    r = xs.screen(pd.DataFrame({i: [0] for i in PHQ}), ["phq9"])
    documented = {name for first in re.findall(r"^\| (`[^|]+)\|", cli_md, flags=re.M)
                  for name in re.findall(r"`([a-z_]+)`", first)}
    fixed = [c for c in r.table.columns if "." not in c]
    assert set(fixed) <= documented | {"row"}, set(fixed) - documented
