"""Plot helpers and Jupyter displays: figures are built (Agg), have axes, labels and one
artist per group; no image comparison."""

from __future__ import annotations

import importlib.resources
import subprocess
import sys

import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen.io import read_column_map

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

from xinli_screen import plotting  # noqa: E402

DATA = importlib.resources.files("xinli_screen") / "data"


@pytest.fixture(scope="module")
def nhanes() -> pd.DataFrame:
    return pd.read_csv(DATA / "nhanes_dpq_j.csv", dtype=str).head(1500)


@pytest.fixture(scope="module")
def column_map() -> object:
    return read_column_map(DATA / "nhanes_columns.yaml")


@pytest.fixture(scope="module")
def result(nhanes: pd.DataFrame, column_map: object) -> xs.ScreeningResult:
    return xs.screen(nhanes, ["phq9"], id_column="SEQN", columns=column_map.columns,
                     missing_codes=column_map.missing_codes)


@pytest.fixture(scope="module")
def items(nhanes: pd.DataFrame, column_map: object) -> pd.DataFrame:
    prepared = xs.prepare_responses(nhanes, [xs.load_instrument("phq9")], id_column="SEQN",
                                    columns=column_map.columns,
                                    missing_codes=column_map.missing_codes)
    return prepared.responses


def test_distribution_overall(result: xs.ScreeningResult) -> None:
    fig = result.plot.distribution()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "phq9.total (score)"
    assert ax.get_ylabel() == "respondents"
    assert "phq9.total" in ax.get_title()
    # one bar per integer score 0..max, counts sum to the scored rows
    scored = result.table["phq9.total"].notna().sum()
    assert sum(p.get_height() for p in ax.patches) == pytest.approx(scored)
    # the declared cut-off (>= 10) is drawn at 9.5
    assert any(list(line.get_xdata()) == [9.5, 9.5] for line in ax.get_lines())


def test_distribution_by_band_is_ordered_and_in_percent(result: xs.ScreeningResult) -> None:
    fig = result.plot.distribution(by="phq9.functioning.band")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "share of group (%)"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    observed = result.table.dropna(subset=["phq9.total", "phq9.functioning.band"])
    assert len(labels) == observed["phq9.functioning.band"].nunique()
    assert labels[0].startswith("not_difficult")   # band order, not alphabetical
    assert ax.get_legend().get_title().get_text() == "phq9.functioning.band"


def test_distribution_by_values_and_errors(result: xs.ScreeningResult) -> None:
    half = ["A" if i % 2 else "B" for i in range(len(result.table))]
    fig = plotting.distribution(result.table, "phq9.total", by=pd.Series(half, name="school"))
    assert fig.axes[0].get_legend().get_title().get_text() == "school"
    with pytest.raises(KeyError, match="not a column"):
        result.plot.distribution(scale="phq9.nope")
    with pytest.raises(KeyError, match="not a column"):
        result.plot.distribution(by="school")
    with pytest.raises(ValueError, match="values"):
        result.plot.distribution(by=["x"])


def test_tiers(result: xs.ScreeningResult) -> None:
    fig = result.plot.tiers(by="phq9.functioning.band", percent=True)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "share of group (%)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(xs.TIER_ORDER)


def test_alpha_plot_single_scale(items: pd.DataFrame) -> None:
    res = xs.cronbach_alpha(items[[f"phq9_0{i}" for i in range(1, 10)]])
    fig = res.plot()
    assert isinstance(fig, Figure)
    left, right = fig.axes
    assert left.get_xlabel() == "corrected item-rest r"
    assert len(left.patches) == 9
    assert right.get_xlabel() == "Cronbach's alpha"
    assert right.get_yticklabels()[0].get_text() == "phq9_01"
    assert any(f"{res.alpha:.3f}" in t.get_text() for t in right.get_legend().get_texts())


def test_alpha_forest_by_group(items: pd.DataFrame) -> None:
    grouped = items.assign(half=["a" if i % 2 else "b" for i in range(len(items))])
    res = xs.cronbach_alpha(grouped, instrument="phq9", by="half")
    fig = res.plot()
    ax = fig.axes[0]
    assert "Cronbach's alpha" in ax.get_xlabel()
    assert len(ax.get_yticklabels()) == len(res.table)
    with pytest.raises(TypeError, match="cronbach_alpha"):
        plotting.reliability(object())


def test_instrument_card() -> None:
    card = xs.load_instrument("phq9")._repr_html_()
    assert "<table>" in card and "phq9_09 &gt;= 1" in card and "not a diagnosis" in card
    assert "moderately_severe ≥ 15" in card


def test_result_html(result: xs.ScreeningResult) -> None:
    assert "<table" in result._repr_html_()


def test_import_does_not_load_matplotlib() -> None:
    code = ("import sys, xinli_screen; r = xinli_screen.ScreeningResult; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"
