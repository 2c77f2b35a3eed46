"""``xinli-screen reliability`` analyses the instrument objects it loaded (issue 14, point 6)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen.instrument.registry import bundled_dir
from xinli_screen.io import read_column_map, read_table
from xinli_screen.responses import prepare_responses


def _phq9_copy(tmp_path: Path, new_id: str | None = None) -> Path:
    """phq9.yaml with item 1 reverse-keyed (and optionally another id).

    Its worked examples no longer hold for the changed key (loading would refuse the file:
    test-vector-score), so they are left out, as a user's own draft might.
    """
    text = (bundled_dir() / "phq9.yaml").read_text(encoding="utf-8")
    assert text.count("\ntest_vectors:") == 1 and text.rstrip().endswith("]")
    text = text.split("\ntest_vectors:")[0] + "\n"
    old = "  - id: phq9_01\n"
    assert text.count(old) == 1
    text = text.replace(old, old + "    reverse_keyed: true\n")
    if new_id is not None:
        text = text.replace("id: phq9\n", f"id: {new_id}\n", 1).replace("phq9_", f"{new_id}_")
    path = tmp_path / f"{new_id or 'phq9_rev'}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _api_alpha(example_dir: Path, definition: Path) -> float:
    inst = xs.load_instrument(definition)
    cmap = read_column_map(example_dir / "nhanes_columns.yaml")
    data, _ = read_table(example_dir / "nhanes_dpq_j.csv")
    prepared = prepare_responses(data, [inst], columns=cmap.columns,
                                 missing_codes=cmap.missing_codes)
    with pytest.warns(xs.XinliScreenWarning):  # item 1 now correlates negatively
        table = xs.cronbach_alpha(prepared.responses, instrument=inst).table
    return float(table.loc[table["scale"] == "total", "alpha"].iloc[0])


def test_reliability_uses_the_loaded_yaml_not_the_bundled_id(cli, example_dir, tmp_path):
    definition = _phq9_copy(tmp_path)
    expected = _api_alpha(example_dir, definition)
    assert expected == pytest.approx(0.6606, abs=5e-4)
    out = tmp_path / "rel.json"
    run = cli("reliability", example_dir / "nhanes_dpq_j.csv", "-i", definition, "--columns",
              example_dir / "nhanes_columns.yaml", "-o", out)
    assert run.code == 0, run.err
    rows = json.loads(out.read_text(encoding="utf-8"))["reliability"]
    total = next(r for r in rows if r["scale"] == "total")
    assert total["instrument"] == "phq9"
    assert total["alpha"] == pytest.approx(expected, abs=1e-9)  # not the bundled 0.8312


@pytest.mark.filterwarnings("ignore::xinli_screen.XinliScreenWarning")
def test_reliability_accepts_a_new_instrument_id(cli, tmp_path):
    definition = _phq9_copy(tmp_path, "myphq")
    inst = xs.load_instrument(definition)
    rng = np.random.default_rng(3)
    data = pd.DataFrame(rng.integers(0, 4, size=(60, 10)), columns=list(inst.item_ids))
    path = tmp_path / "answers.csv"
    data.to_csv(path, index=False)
    run = cli("reliability", path, "-i", definition, "-o", tmp_path / "r.csv")
    assert run.code == 0, run.err
    assert set(pd.read_csv(tmp_path / "r.csv")["instrument"]) == {"myphq"}


@pytest.mark.filterwarnings("ignore::xinli_screen.XinliScreenWarning")
def test_reliability_analyses_every_instrument_given(cli, tmp_path):
    phq9, gad7 = xs.load_instrument("phq9"), xs.load_instrument("gad7")
    rng = np.random.default_rng(4)
    cols = [*phq9.item_ids, *gad7.item_ids]
    data = pd.DataFrame(rng.integers(0, 4, size=(80, len(cols))), columns=cols)
    path = tmp_path / "answers.csv"
    data.to_csv(path, index=False)
    out = tmp_path / "r.xlsx"
    run = cli("reliability", path, "-i", "phq9", "-i", "gad7", "-o", out)
    assert run.code == 0, run.err
    sheets = pd.read_excel(out, sheet_name=None)
    assert set(sheets["reliability"]["instrument"]) == {"phq9", "gad7"}
    assert set(sheets["items"]["instrument"]) == {"phq9", "gad7"}
    alone = xs.cronbach_alpha(data[list(gad7.item_ids)], instrument=gad7).table
    got = sheets["reliability"].query("instrument == 'gad7'")["alpha"].iloc[0]
    assert got == pytest.approx(alone["alpha"].iloc[0], abs=1e-9)


def test_reliability_refuses_one_id_twice(cli, example_dir, tmp_path):
    definition = _phq9_copy(tmp_path)
    run = cli("reliability", example_dir / "nhanes_dpq_j.csv", "-i", "phq9", "-i", definition,
              "--columns", example_dir / "nhanes_columns.yaml")
    assert run.code == 2
    assert "both define instrument 'phq9'" in run.err
