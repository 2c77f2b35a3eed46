"""``xs.screen`` and ``xinli-screen score`` give the same result on the same 问卷星 table.

The CLI applies the 问卷星 conventions when it reads the file (``(跳过)``/-2/-3 unanswered,
option letters stripped, 按序号 positions as codes, item and id columns guessed from the
header); ``xs.screen`` recognises a 问卷星 frame read with pandas (:func:`is_wjx`) and applies
the same plan, but never twice: a table ``load_answers`` prepared is screened as it is.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import pandas as pd
import pytest
from io_builders import IDS, write_wjx

import xinli_screen as xs
from xinli_screen.archive import read_results_file
from xinli_screen.errors import XinliScreenWarning
from xinli_screen.io import load_answers
from xinli_screen.responses import NOTE_CODES

ITEMS = [f"phq9_{i:02d}" for i in range(1, 11)]


def _cli_table(cli, src: Path, tmp_path: Path, *extra: object) -> pd.DataFrame:
    out = tmp_path / f"{src.stem}.out.csv"
    run = cli("score", src, "-i", "phq9", "-o", out, "--chunk-size", "0", *extra)
    assert run.code in (0, 1), run.err
    return read_results_file(out)[0]


def _api(frame: pd.DataFrame, **kwargs: object) -> xs.ScreeningResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XinliScreenWarning)
        return xs.screen(frame, ["phq9"], **kwargs)


@pytest.mark.parametrize("style", ["text", "sequence"])
@pytest.mark.parametrize("id_mode", ["fill-in", "link"])
def test_cli_and_api_agree_on_a_wjx_csv(cli, tmp_path: Path, style: str, id_mode: str) -> None:
    src = write_wjx(tmp_path / f"wjx_{style}_{id_mode}.csv", style, id_mode)
    from_cli = _cli_table(cli, src, tmp_path)
    frame = pd.read_csv(src, encoding="gb18030", dtype=str)  # as the README reads answers
    api = _api(frame)
    pd.testing.assert_frame_equal(api.table, from_cli, check_exact=True)
    assert api.table.iloc[:, 0].tolist() == IDS
    # no bad cell; only notes on why a critical answer is missing (-2 / -3)
    assert set(api.failures["code"]) <= NOTE_CODES
    assert api.provenance["input"]["wjx"] is True


def test_read_with_default_pandas_types_only_the_ids_differ(cli, tmp_path: Path) -> None:
    """pandas without dtype=str reads ids as numbers (leading zeros lost); every score, tier
    and reason still agrees, and the -2/-3 numbers still mean 'skipped'."""
    src = write_wjx(tmp_path / "wjx.csv", "sequence")
    from_cli = _cli_table(cli, src, tmp_path)
    api = _api(pd.read_csv(src, encoding="gb18030"))
    pd.testing.assert_frame_equal(api.table.iloc[:, 1:], from_cli.iloc[:, 1:], check_exact=True)


def test_skipped_answers_are_unanswered_not_invalid(tmp_path: Path) -> None:
    frame = pd.DataFrame({"序号": ["1", "2"], "提交答卷时间": ["2026/09/03", "2026/09/03"],
                          "所用时间": ["100秒", "90秒"], "学号": ["001", "002"],
                          **{i: ["A.完全不会", "(跳过)"] for i in ITEMS[:9]},
                          "phq9_10": ["-3", "(空)"]})
    r = _api(frame, id_column="学号")
    # the skipped critical item 9 is a note (why it is missing), not a bad cell
    assert r.failures["code"].tolist() == ["critical-skipped"]
    assert r.failures["row"].tolist() == [1]
    assert r.table["critical_unknown"].tolist() == ["", "phq9.self_harm_thoughts"]
    assert r.table["status"].tolist() == ["scored", "no_answers"]
    assert r.table["phq9.total.n_answered"].tolist() == [9, 0]


def test_explicit_columns_and_id_are_kept(tmp_path: Path) -> None:
    header = ["序号", "提交答卷时间", "所用时间", "sid", *[f"Q{k}" for k in range(1, 11)]]
    rows = [["1", "t", "1", "007", *(["B.好几天"] * 9), "(跳过)"]]
    frame = pd.DataFrame(rows, columns=header)
    r = _api(frame, id_column="sid", columns={i: f"Q{k}" for k, i in enumerate(ITEMS, 1)})
    assert r.table["sid"].tolist() == ["007"]
    assert r.table["phq9.total"].tolist() == [9.0]
    assert r.failures.empty


def test_a_table_prepared_by_load_answers_is_not_normalised_twice(cli, tmp_path: Path) -> None:
    """按序号 positions 2..4 become codes 1..3; read again as positions they would shift."""
    src = tmp_path / "one.csv"
    with src.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["序号", "提交答卷时间", "所用时间", "学号", *ITEMS])
        writer.writerow(["1", "2026/09/03", "100秒", "0042", *["2", "3", "4"] * 3, "2"])
    loaded = load_answers(src, [xs.load_instrument("phq9")], id_column="学号")
    assert loaded.plan.answer_values == "sequence"
    twice = _api(loaded.data, id_column=loaded.plan.id_column,
                 columns=loaded.plan.columns or None)
    from_cli = _cli_table(cli, src, tmp_path, "--id-column", "学号")
    pd.testing.assert_frame_equal(twice.table, from_cli, check_exact=True)
    assert twice.table["phq9.total"].tolist() == [18.0]
