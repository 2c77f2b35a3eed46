"""``score`` in memory, batch by batch (cli/score_batched.py), against the whole-table run.

Each case runs the same command twice: once in batches of a few rows (``BATCH_ROWS``
monkeypatched, so every file is many batches and ids repeat across them) and once on the
whole table (``batchable`` monkeypatched to say no, today's path). The files must be the
same: CSV results and failures byte for byte, Parquet results as tables, the provenance
sidecar apart from ``batches`` (the batching itself) and ``created_utc``, and the run
statistics.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from io_builders import write_wjx

import xinli_screen.cli.score as score_cli
import xinli_screen.cli.score_batched as batched

PHQ9 = [f"phq9_{i:02d}" for i in range(1, 11)]
GAD7 = [f"gad7_{i:02d}" for i in range(1, 8)]
CESD = [f"cesd_{i:02d}" for i in range(1, 21)]


def _codes(rng: np.random.Generator, n: int, hi: int, p: tuple[float, ...]) -> np.ndarray:
    return rng.choice(np.arange(hi + 1), size=n, p=p).astype(float)


def _messy(n: int = 90, seed: int = 7, shift: int = 0) -> pd.DataFrame:
    """PHQ-9 and GAD-7 sheets with blanks, missing codes (7, 9), a number out of range, an
    option label, a fraction, ids repeated within and across batches, a missing id."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"sid": [f"{i:05d}" for i in range(n)]})
    for item in [*PHQ9, *GAD7]:
        frame[item] = _codes(rng, n, 3, (0.5, 0.25, 0.15, 0.1)) + shift
    frame.loc[rng.choice(n, 12, replace=False), "phq9_03"] = np.nan
    frame.loc[[5, 40], "phq9_09"] = np.nan  # a critical item left blank
    frame.loc[[8, 61], "gad7_02"] = 9.0
    frame.loc[[3, 70], "phq9_10"] = 7.0
    frame.loc[[11, 30, 50], "sid"] = ["00002", "00002", "00049"]
    frame.loc[20, "sid"] = None
    frame["性别"] = np.where(rng.random(n) < 0.5, "男", "女")
    frame["学校"] = np.where(rng.random(n) < 0.3, "一中", "二中")
    return frame


def _with_bad_cells(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.astype({c: object for c in [*PHQ9, *GAD7]})
    out.loc[17, "phq9_04"] = 5  # out of range
    out.loc[33, "gad7_05"] = "A.完全不会"  # an option label: the column is read as text
    out.loc[45, "phq9_02"] = 1.5  # not a whole number
    return out


def _csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False, float_format="%g")
    return path


def _run_both(cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, tmp: Path,
              args: list[Any], suffix: str = ".csv", rows: int = 7
              ) -> dict[str, dict[str, Any]]:
    """The command in batches of ``rows`` rows and on the whole table; what each wrote."""
    got: dict[str, dict[str, Any]] = {}
    for mode in ("batched", "whole"):
        folder = tmp / mode
        folder.mkdir(parents=True)
        out, fails, stats = folder / f"out{suffix}", folder / "fails.csv", folder / "st.json"
        with monkeypatch.context() as m:
            m.setattr(batched, "BATCH_ROWS", rows)
            if mode == "whole":
                m.setattr(score_cli, "batchable", lambda *a: False)
            run = cli(*args, "-o", out, "--failures", fails, "--stats", stats)
        side = out.with_name(out.name + ".provenance.json")
        got[mode] = {"code": run.code, "err": run.err, "out": out, "fails": fails,
                     "stats": stats, "side": side}
    return got


def _same_files(got: dict[str, dict[str, Any]]) -> None:
    a, b = got["batched"], got["whole"]
    assert a["code"] == b["code"], (a["err"], b["err"])
    for key in ("out", "fails", "stats", "side"):
        assert a[key].exists() == b[key].exists(), key
    if not b["out"].exists():
        return
    if b["out"].suffix == ".parquet":
        left, right = pq.read_table(a["out"]), pq.read_table(b["out"])
        assert left.schema.equals(right.schema, check_metadata=False)
        assert left.equals(right)
        pd.testing.assert_frame_equal(left.to_pandas(), right.to_pandas())
    else:
        assert a["out"].read_bytes() == b["out"].read_bytes()
    assert a["fails"].read_bytes() == b["fails"].read_bytes()
    assert json.loads(a["stats"].read_text()) == json.loads(b["stats"].read_text())
    side_a, side_b = json.loads(a["side"].read_text()), json.loads(b["side"].read_text())
    assert side_a.pop("batches")["batch_rows"] >= 1
    side_a.pop("created_utc"), side_b.pop("created_utc")  # the time of the run
    assert side_a == side_b
    assert list(side_a) == list(side_b)  # same keys in the same order


def _failure_codes(path: Path) -> set[str]:
    return set(pd.read_csv(path, dtype=str)["code"])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_example_data(cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
                      tmp_path: Path, example_dir: Path, suffix: str) -> None:
    got = _run_both(cli, monkeypatch, tmp_path, [
        "score", example_dir / "nhanes_dpq_j.csv", "-i", "phq9", "--columns",
        example_dir / "nhanes_columns.yaml", "--id-column", "SEQN"], suffix, rows=97)
    _same_files(got)
    assert pd.read_csv(got["whole"]["fails"]).shape[0] > 0  # the sample has notes


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_messy_answers_careless_stats(cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
                                      tmp_path: Path, fmt: str) -> None:
    frame = _with_bad_cells(_messy())
    path = tmp_path / f"in.{fmt}"
    if fmt == "csv":
        _csv(frame, path)
    else:  # numbers with nulls, one text column, as a Parquet export stores them
        frame.astype({c: float for c in [*PHQ9, *GAD7] if c != "gad7_05"}).astype(
            {"gad7_05": str}).to_parquet(path, index=False)
    got = _run_both(cli, monkeypatch, tmp_path, [
        "score", path, "-i", "phq9", "-i", "gad7", "--id-column", "sid", "--missing-code",
        "7", "--missing-code", "9", "--careless", "--stats-by", "学校"], f".{fmt}")
    _same_files(got)
    codes = _failure_codes(got["whole"]["fails"])
    assert {"duplicate-id", "missing-id", "out-of-range", "critical-blank"} <= codes
    table = (pd.read_csv(got["whole"]["out"]) if fmt == "csv"
             else pd.read_parquet(got["whole"]["out"]))
    assert table["careless.mahalanobis"].notna().any() if (
        "careless.mahalanobis" in table) else any(c.startswith("careless.") for c in table)


def test_parquet_int_codes_with_nulls(cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
                                      tmp_path: Path) -> None:
    """Integer item columns with nulls (pandas would make them float64): the failure values
    of the batched run read as the whole-table run shows them."""
    frame = _messy()
    frame.loc[[4, 77], "phq9_03"] = 7.0  # out of range, in a column with nulls
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for item in [*PHQ9, *GAD7]:
        at = table.schema.get_field_index(item)
        table = table.set_column(at, item, table.column(item).cast(pa.int8()))
    path = tmp_path / "in.parquet"
    pq.write_table(table, path)
    got = _run_both(cli, monkeypatch, tmp_path, [
        "score", path, "-i", "phq9", "-i", "gad7", "--id-column", "sid"], ".csv", rows=11)
    _same_files(got)
    assert (pd.read_csv(got["whole"]["fails"], dtype=str)["value"] == "7.0").any()


def test_norms(cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
               tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 60
    frame = pd.DataFrame({"学号": [f"S{i}" for i in range(n)],
                          **{c: _codes(rng, n, 3, (0.4, 0.3, 0.2, 0.1)) for c in CESD},
                          "性别": rng.choice(["男", "女"], n)})
    path = _csv(frame, tmp_path / "in.csv")
    got = _run_both(cli, monkeypatch, tmp_path, [
        "score", path, "-i", "cesd", "--id-column", "学号", "--norms",
        "cesd_zhang2010_urban_sex", "--group-column", "sex=性别"], ".parquet")
    _same_files(got)


@pytest.mark.parametrize("style", ["text", "sequence"])
def test_wjx_download(cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
                      tmp_path: Path, style: str) -> None:
    path = write_wjx(tmp_path / "wjx.csv", style)
    got = _run_both(cli, monkeypatch, tmp_path, ["score", path, "-i", "phq9"], rows=2)
    _same_files(got)
    assert got["whole"]["code"] in (0, 1)


def test_shifted_codes_refused_then_shifted(cli: Callable[..., Any],
                                            monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    """A file coded 1-4 for PHQ-9: auto refuses it whole (judged on every row, not per
    batch: no file is left behind); shift-down scores it, with the evidence recorded."""
    frame = _messy(n=400, seed=11, shift=1)
    frame[["phq9_10"]] = frame[["phq9_10"]].where(frame[["phq9_10"]] < 7)
    path = _csv(frame, tmp_path / "in.csv")
    args = ["score", path, "-i", "phq9", "-i", "gad7", "--id-column", "sid"]
    refused = _run_both(cli, monkeypatch, tmp_path / "auto", args, rows=9)
    assert refused["whole"]["code"] == 1 and "code" in refused["whole"]["err"].lower()
    _same_files(refused)
    assert not list((tmp_path / "auto" / "batched").iterdir())  # partial files removed
    chosen = _run_both(cli, monkeypatch, tmp_path / "shift",
                       [*args, "--answer-values", "shift-down"], rows=9)
    _same_files(chosen)
    side = json.loads(chosen["whole"]["side"].read_text())
    assert side["code_offsets"]


def test_prepare_responses_reads_arrow_int_codes_as_floats() -> None:
    """prepare_responses on Arrow int8 columns (``int_codes``) gives the codes and failures
    (cell texts included) of the same answers as float64 columns."""
    from xinli_screen.numeric_answers import float_codes
    from xinli_screen.responses import prepare_responses

    frame = _messy()
    frame.loc[[4, 9], "phq9_03"] = 7.0
    small = frame.copy()
    for item in [*PHQ9, *GAD7]:
        small[item] = pd.array(pa.array(frame[item], from_pandas=True).cast(pa.int8()),
                               dtype=pd.ArrowDtype(pa.int8()))
    want = prepare_responses(frame, ["phq9", "gad7"], id_column="sid", missing_codes=[9])
    got = prepare_responses(small, ["phq9", "gad7"], id_column="sid", missing_codes=[9])
    pd.testing.assert_frame_equal(got.responses, want.responses)
    pd.testing.assert_frame_equal(got.failures, want.failures)
    assert "7.0" in set(want.failures["value"])
    pd.testing.assert_frame_equal(float_codes(small), frame)
