"""Issue 14, point 3: in an SPSS file the stored codes are the truth by default; value labels
that disagree with the instrument's option labels are reported per variable;
``--spss-values codes|labels`` chooses and the choice is in the provenance.

Oracle, hand-worked: PHQ-9 options 0 完全不会, 1 好几天, 2 一半以上的天数, 3 几乎每天 (Kroenke
2001; phq9.yaml). A RECODE that reverses the values but leaves the labels (SPSS keeps value
labels attached to values, not to meanings) gives 0 = "几乎每天" ... 3 = "完全不会".
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen.errors import XinliScreenWarning
from xinli_screen.io import load_answers

pyreadstat = pytest.importorskip("pyreadstat")

PHQ9 = xs.load_instrument("phq9")
ITEMS = [f"phq9_{i:02d}" for i in range(1, 10)]
OPTIONS = ["完全不会", "好几天", "一半以上的天数", "几乎每天"]


def _sav(path, codes: np.ndarray, labels: dict[float, str]):
    frame = pd.DataFrame(codes.astype(float), columns=ITEMS)
    frame.insert(0, "sid", [f"{i:03d}" for i in range(len(codes))])
    pyreadstat.write_sav(frame, str(path), variable_value_labels={i: labels for i in ITEMS})
    return path


CODES = np.array([[0, 1, 2, 3, 0, 1, 2, 3, 0], [3, 3, 3, 3, 3, 3, 3, 3, 3],
                  [0, 0, 0, 0, 0, 0, 0, 0, 1]])
STALE = {float(k): OPTIONS[3 - k] for k in range(4)}  # labels reversed, codes correct


def test_stale_labels_do_not_override_the_codes(tmp_path):
    path = _sav(tmp_path / "recoded.sav", CODES, STALE)
    with pytest.warns(XinliScreenWarning, match=r"disagree .* in 9 variable\(s\)"):
        loaded = load_answers(path, [PHQ9], id_column="sid")
    r = xs.screen(loaded.data, ["phq9"], id_column="sid")
    assert r.table["phq9.total"].tolist() == CODES.sum(axis=1).astype(float).tolist()
    prov = loaded.plan.provenance
    assert prov["spss_values"] == "codes"
    assert prov["spss_label_disagreements"]["phq9_01"].startswith(
        "0 = '几乎每天' (option code 3), 1 = '一半以上的天数' (option code 2)")


def test_labels_mode_reads_through_the_labels(tmp_path):
    path = _sav(tmp_path / "wjx.sav", CODES + 1, {float(k + 1): OPTIONS[k] for k in range(4)})
    loaded = load_answers(path, [PHQ9], id_column="sid", spss_values="labels")
    assert loaded.plan.provenance["spss_values"] == "labels"
    r = xs.screen(loaded.data, ["phq9"], id_column="sid")
    assert r.table["phq9.total"].tolist() == CODES.sum(axis=1).astype(float).tolist()


def test_agreeing_labels_are_silent(tmp_path, recwarn):
    path = _sav(tmp_path / "ok.sav", CODES, {float(k): OPTIONS[k] for k in range(4)})
    loaded = load_answers(path, [PHQ9], id_column="sid")
    assert loaded.plan.provenance["spss_label_disagreements"] == {}
    assert not [w for w in recwarn if issubclass(w.category, XinliScreenWarning)]


def test_cli_reports_per_variable_and_records_the_choice(cli, tmp_path):
    path = _sav(tmp_path / "recoded.sav", CODES, STALE)
    out = tmp_path / "r.csv"
    run = cli("score", path, "-i", "phq9", "--id-column", "sid", "-o", out)
    assert run.code == 0, run.err
    assert "SPSS value labels disagree" in run.err and "phq9_01: 0 = '几乎每天'" in run.err
    assert pd.read_csv(out)["phq9.total"].tolist() == CODES.sum(axis=1).tolist()
    side = json.loads(out.with_name(out.name + ".provenance.json").read_text("utf-8"))
    assert side["input"]["spss_values"] == "codes"
    run = cli("score", path, "-i", "phq9", "--id-column", "sid", "-o", out,
              "--spss-values", "labels")
    assert run.code == 0, run.err
    side = json.loads(out.with_name(out.name + ".provenance.json").read_text("utf-8"))
    assert side["input"]["spss_values"] == "labels"
    assert pd.read_csv(out)["phq9.total"].tolist() == (27 - CODES.sum(axis=1)).tolist()
    assert cli("score", path, "-i", "phq9", "--spss-values", "both").code == 2
