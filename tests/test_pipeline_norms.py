"""screen() with norm tables: standard-score columns, provenance, policies on T scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import xinli_screen as xs
from xinli_screen.instrument.registry import bundled_dir

CESD = [f"cesd_{k:02d}" for k in range(1, 21)]


def sheets(values: list[int], sexes: list[str | None]) -> pd.DataFrame:
    rows = []
    for k, (v, sex) in enumerate(zip(values, sexes, strict=True)):
        row = dict.fromkeys(CESD, v)
        row.update({"cesd_04": 3 - v, "cesd_08": 3 - v, "cesd_12": 3 - v, "cesd_16": 3 - v})
        rows.append({"sid": f"p{k}", "性别": sex, **row})
    return pd.DataFrame(rows)


def test_norm_columns_and_provenance() -> None:
    data = sheets([1, 1, 0], ["男", "女", None])
    result = xs.screen(data, ["cesd"], id_column="sid", norms=["cesd_zhang2010_urban_sex"],
                       group_columns={"sex": "性别"})
    table = result.table
    # 章婕 2010: men 13.08 +/- 10.18, women 13.38 +/- 10.47; total 20 for the first two rows
    assert table.loc[0, "cesd.total"] == 20
    assert table.loc[0, "cesd.total.t"] == pytest.approx(50 + 10 * (20 - 13.08) / 10.18)
    assert table.loc[1, "cesd.total.t"] == pytest.approx(50 + 10 * (20 - 13.38) / 10.47)
    assert np.isnan(table.loc[2, "cesd.total.t"])
    assert table["cesd.norm_status"].tolist() == ["ok", "ok", "no_norm_group"]
    assert result.provenance["norms"][0]["id"] == "cesd_zhang2010_urban_sex"


def test_policy_on_t_scores(tmp_path: Path) -> None:
    policy = yaml.safe_load((bundled_dir() / "policies" / "default.yaml").read_text("utf-8"))
    policy["rules"] = [{"id": "cesd_t70", "tier": "school", "reason": {"en": "T {evidence}"},
                        "when": {"scale": "cesd.total", "metric": "t", "op": ">=", "value": 70}}]
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    data = sheets([2, 1], ["女", "女"])  # totals 40 and 20
    result = xs.screen(data, ["cesd"], policy=path, norms=["cesd_zhang2010_urban"],
                       lang="en")
    assert result.table["warning_tier"].astype(str).tolist() == ["school", "none"]
    # 章婕 2010: 50 + 10 * (40 - 13.24) / 10.33 = 75.905
    assert "cesd.total T = 75.91 ≥ 70" in result.table.loc[0, "reasons"]
    with pytest.raises(xs.PolicyDefinitionError, match="no norm table was chosen"):
        xs.screen(data, ["cesd"], policy=path)


def test_norm_for_unscreened_instrument_is_refused() -> None:
    with pytest.raises(ValueError, match="not among the screened"):
        xs.screen(sheets([1], ["男"]), ["cesd"], norms=["scl90_jin1986_adult"])


def test_missing_group_column_is_a_clear_error() -> None:
    with pytest.raises(xs.ResponseDataError, match="--group-column"):
        xs.screen(sheets([1], ["男"]), ["cesd"], norms=["cesd_zhang2010_urban_sex"])


def test_cli_score_with_norms(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from xinli_screen.cli.app import app

    data = sheets([1, 2], ["男", "女"])
    path = tmp_path / "in.csv"
    data.to_csv(path, index=False)
    out = tmp_path / "out.csv"
    run = CliRunner().invoke(app, ["score", str(path), "-i", "cesd", "--norms",
                                   "cesd_zhang2010_urban_sex", "--group-column", "sex=性别",
                                   "-o", str(out)])
    assert run.exit_code == 0, run.output
    table = pd.read_csv(out)
    assert {"cesd.total.t", "cesd.total.percentile"} <= set(table.columns)
    run = CliRunner().invoke(app, ["score", str(path), "-i", "cesd", "--group-column", "sex"])
    assert run.exit_code == 2
