"""Streaming: ``score --chunk-size N`` gives the same files as the in-memory run.

The input mixes everything that could differ between a chunk and the whole file: ids with
leading zeros, duplicate ids far apart (in different chunks), missing ids, option text,
invalid cells, incomplete sheets. Output CSV must be byte-identical, Parquet equal, the
failures table identical (global row numbers), the summary lines identical, and the merged
statistics (counts, score moments, alpha from pairwise sufficient statistics) equal to the
in-memory ones and to :func:`xinli_screen.cronbach_alpha`.
"""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xinli_screen as xs
from xinli_screen.io.stream import iter_chunks
from xinli_screen.io.wjx import METADATA_COLUMNS
from xinli_screen.runstats import RunStatistics
from xinli_screen.streaming import duplicate_ids, merge_summaries

N = 3000
ITEMS = [f"phq9_{i:02d}" for i in range(1, 11)] + [f"gad7_{i:02d}" for i in range(1, 8)]
LABELS = ["完全不会", "好几天", "一半以上的天数", "几乎每天"]


def _rows(seed: int = 7) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(N):
        sid = f"{r:07d}"
        if r in (2900, 2950):
            sid = f"{10:07d}"  # duplicates of row 10, thousands of rows later
        if r % 997 == 0:
            sid = ""
        cells = []
        for _j in range(len(ITEMS)):
            u = rng.random()
            code = int(rng.integers(0, 4))
            cells.append("" if u < 0.03 else LABELS[code] if u < 0.2 else
                         "7" if u < 0.202 else str(code))
        rows.append([sid, f"学校{r % 3}", *cells])
    return rows


def write(path: Path, encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sid", "school", *ITEMS])
        writer.writerows(_rows())
    return path


@pytest.fixture(scope="module")
def answers(tmp_path_factory) -> Path:
    return write(tmp_path_factory.mktemp("stream") / "answers.csv")


def run(cli, path: Path, out: Path, *extra: object):
    result = cli("score", path, "-i", "phq9", "-i", "gad7", "--id-column", "sid", "-o", out,
                 "--failures", out.with_suffix(".failures.csv"), "--stats",
                 out.with_suffix(".stats.json"), "--stats-by", "school", *extra)
    assert result.code == 1, result.err  # the data have failures
    return result


def summary_lines(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.startswith(("rows read", "warning tier",
                                                             "data problems"))]


@pytest.fixture(scope="module")
def in_memory(answers, tmp_path_factory):
    from typer.testing import CliRunner

    from xinli_screen.cli.app import app

    folder = tmp_path_factory.mktemp("mem")
    out = folder / "mem.csv"
    res = CliRunner().invoke(app, ["score", str(answers), "-i", "phq9", "-i", "gad7",
                                   "--id-column", "sid", "-o", str(out), "--failures",
                                   str(out.with_suffix(".failures.csv")), "--stats",
                                   str(out.with_suffix(".stats.json")), "--stats-by", "school",
                                   "--chunk-size", "0"])
    assert res.exit_code == 1
    return out, res.stderr


@pytest.mark.parametrize("chunk", [1, 97, 1000, 5000])
def test_streamed_csv_is_byte_identical(cli, answers, in_memory, tmp_path, chunk):
    mem_out, mem_err = in_memory
    out = tmp_path / "streamed.csv"
    res = run(cli, answers, out, "--chunk-size", chunk)
    assert "streamed" in res.err
    assert out.read_bytes() == mem_out.read_bytes()
    assert out.with_suffix(".failures.csv").read_bytes() == \
        mem_out.with_suffix(".failures.csv").read_bytes()
    assert summary_lines(res.err) == summary_lines(mem_err)
    a = json.loads(out.with_suffix(".stats.json").read_text(encoding="utf-8"))
    b = json.loads(mem_out.with_suffix(".stats.json").read_text(encoding="utf-8"))
    assert a["groups"] == b["groups"]
    for x, y in zip(a["scales"], b["scales"], strict=True):
        assert x.keys() == y.keys()
        for k in x:
            if isinstance(x[k], float):
                assert x[k] == pytest.approx(y[k], rel=1e-9, abs=1e-12), k
            else:
                assert x[k] == y[k], k
    assert not list(tmp_path.glob("*.partial"))


def test_duplicates_across_chunks_are_flagged(cli, answers, tmp_path):
    out = tmp_path / "s.csv"
    run(cli, answers, out, "--chunk-size", 50)
    table = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(table) == N
    dup_rows = table.index[table["sid"] == "0000010"].tolist()
    assert dup_rows == [10, 2900, 2950]
    assert set(table.loc[dup_rows, "status"]) == {"duplicate_id"}
    assert duplicate_ids(answers, "sid") == {"0000010"}


def test_streamed_parquet_in_and_out_equal_in_memory(cli, answers, tmp_path):
    source = tmp_path / "answers.parquet"
    pd.read_csv(answers, dtype=str, keep_default_na=False, na_values=[""]).to_parquet(
        source, row_group_size=500)
    mem, streamed = tmp_path / "mem.parquet", tmp_path / "str.parquet"
    run(cli, source, mem, "--chunk-size", 0)
    res = run(cli, source, streamed, "--chunk-size", 333)
    assert "streamed 10 chunk(s)" in res.err
    pd.testing.assert_frame_equal(pd.read_parquet(streamed), pd.read_parquet(mem))
    side = json.loads((tmp_path / "str.parquet.provenance.json").read_text(encoding="utf-8"))
    assert side["rows_out"] == N and side["streamed"]["chunks"] == 10


def test_gbk_csv_streams(cli, tmp_path):
    path = write(tmp_path / "gbk.csv", "gbk")
    mem, streamed = tmp_path / "m.csv", tmp_path / "s.csv"
    run(cli, path, mem, "--chunk-size", 0)
    run(cli, path, streamed, "--chunk-size", 300)
    assert mem.read_bytes() == streamed.read_bytes()


def test_wjx_export_streams(cli, tmp_path):
    header = [*METADATA_COLUMNS, "1、学号", *[f"2、(x{k})" for k in range(1, 10)]]
    rows = [[str(r + 1), "2026/09/03 12:00:00", "60秒", "微信", "直接访问", "10.0.0.1",
             f"{r:05d}", *[str((r + k) % 4 + 1) if (r + k) % 11 else "-2"
                           for k in range(9)]] for r in range(400)]
    path = tmp_path / "wjx.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    mem, streamed = tmp_path / "m.csv", tmp_path / "s.csv"
    a = cli("score", path, "-i", "phq9", "-o", mem, "--chunk-size", 0)
    b = cli("score", path, "-i", "phq9", "-o", streamed, "--chunk-size", 64)
    assert a.code == b.code == 0, b.err
    assert mem.read_bytes() == streamed.read_bytes()
    assert b"10.0.0.1" not in streamed.read_bytes()


def test_stats_alpha_equals_cronbach_alpha(answers):
    frame = pd.read_csv(answers, dtype=str, keep_default_na=False, na_values=[""])
    result, prepared = xs.pipeline.screen_with_responses(frame, ["phq9", "gad7"],
                                                         id_column="sid")
    phq9, gad7 = xs.load_instrument("phq9"), xs.load_instrument("gad7")
    whole = RunStatistics([phq9, gad7])
    whole.update(result.table, prepared.responses)
    merged = RunStatistics([phq9, gad7])
    for lo in range(0, N, 701):
        part = RunStatistics([phq9, gad7])
        part.update(result.table.iloc[lo:lo + 701], prepared.responses.iloc[lo:lo + 701])
        merged.merge(part)
    scales = whole.to_frames()["scales"].set_index("scale")
    pd.testing.assert_frame_equal(merged.to_frames()["scales"].set_index("scale"), scales,
                                  rtol=1e-10)
    for inst, scale in (("phq9", "total"), ("gad7", "total")):
        ref = xs.cronbach_alpha(prepared.responses, instrument=inst, scales=[scale])
        ref = ref[scale] if not hasattr(ref, "alpha") else ref
        assert scales.loc[f"{inst}.{scale}", "alpha"] == pytest.approx(ref.alpha, rel=1e-10)
        assert scales.loc[f"{inst}.{scale}", "std_alpha"] == pytest.approx(ref.std_alpha,
                                                                           rel=1e-10)
        scores = result.table[f"{inst}.{scale}"]
        assert scales.loc[f"{inst}.{scale}", "mean"] == pytest.approx(scores.mean())
        assert scales.loc[f"{inst}.{scale}", "sd"] == pytest.approx(scores.std())


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 400), min_size=1, max_size=6))
def test_merge_summaries_is_the_sum(splits):
    frame = pd.DataFrame({"sid": [f"{i:04d}" for i in range(400)],
                          **{f"phq9_{k:02d}": [(i * k) % 5 for i in range(400)]
                             for k in range(1, 10)}})
    whole = xs.screen(frame, ["phq9"]).summary()
    cuts = sorted({0, *splits, 400})
    parts = [xs.screen(frame.iloc[a:b].reset_index(drop=True), ["phq9"]).summary()
             for a, b in itertools.pairwise(cuts) if b > a]
    merged = merge_summaries(parts)
    assert merged["rows"] == whole["rows"] and merged["status"] == whole["status"]
    assert merged["warning_tier"] == whole["warning_tier"]
    assert merged["failures"] == whole["failures"]


def test_chunks_concatenate_to_the_file(answers):
    chunks = list(iter_chunks(answers, 128))
    assert len(chunks) > 5
    whole = pd.read_csv(answers, dtype=str, keep_default_na=False, na_values=[""])
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole,
                                  check_dtype=False)


def test_streaming_refuses_what_it_cannot_do(cli, answers, tmp_path):
    res = cli("score", answers, "-i", "phq9", "-o", tmp_path / "r.xlsx", "--chunk-size", 10)
    assert res.code == 2 and "output must be" in res.err


def test_streamed_careless_equals_in_memory(cli, answers, tmp_path):
    """Two passes (merged pairwise item moments, then distances) give every row the D² and
    the synonym pairs of the whole file: D² equal to 1e-9, every other cell equal."""
    args = ("-i", "phq9", "-i", "gad7", "--id-column", "sid", "--careless")
    mem, streamed = tmp_path / "mem.parquet", tmp_path / "streamed.parquet"
    a = cli("score", answers, *args, "-o", mem, "--chunk-size", 0)
    b = cli("score", answers, *args, "-o", streamed, "--chunk-size", 700)
    assert a.code == b.code == 1 and "streamed 1 chunk" not in b.err and "streamed" in b.err
    expected, got = pd.read_parquet(mem), pd.read_parquet(streamed)
    d2 = "careless.mahalanobis_d2"
    assert expected[d2].notna().sum() > 2900
    np.testing.assert_allclose(got[d2], expected[d2], rtol=1e-9, atol=0)
    pd.testing.assert_frame_equal(got.drop(columns=[d2]), expected.drop(columns=[d2]))


def test_item_moments_merge_to_the_whole_sample():
    """ItemMoments of disjoint row sets add up to those of all rows (integer codes: exactly),
    and give the pairwise covariance matrix of pandas (R cov(use = "pairwise"))."""
    from xinli_screen.validity import ItemMoments

    rng = np.random.default_rng(5)
    x = pd.DataFrame(rng.integers(0, 4, (500, 6)).astype(float), columns=list("abcdef"))
    x = x.mask(rng.random(x.shape) < 0.1)
    centre = np.full(6, 2.0)
    whole = ItemMoments.of(x, centre)
    parts = [ItemMoments.of(x.iloc[lo:lo + 97], centre) for lo in range(0, 500, 97)]
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    for name in ("n", "sx", "sxx", "sxy"):
        np.testing.assert_array_equal(getattr(merged, name), getattr(whole, name))
    n = merged.n
    cov = (n * merged.sxy - merged.sx * merged.sx.T) / (n * (n - 1))
    np.testing.assert_allclose(cov, x.cov().to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(merged.mean()[0], x.mean().to_numpy(), rtol=1e-15)


def test_malformed_csv_stream_is_a_clean_error(cli, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("sid,phq9_01\nSECRET-1,1\nSECRET-2,1,3\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    res = cli("score", path, "-i", "phq9", "-o", out, "--chunk-size", 1)
    assert res.code == 1 and "malformed CSV" in res.err and "SECRET" not in res.err
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


def test_streamed_stdout_equals_in_memory_stdout(cli, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("sid,phq9_01,phq9_02\n=cmd,1,2\n002,好几天,3\n003,,\n", encoding="utf-8")
    a = cli("score", path, "-i", "phq9", "--id-column", "sid", "--chunk-size", 0)
    b = cli("score", path, "-i", "phq9", "--id-column", "sid", "--chunk-size", 1)
    assert a.out == b.out and a.out.count("\n") == 4
