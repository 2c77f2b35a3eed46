"""Issue 14, point 2: answers that look like the declared codes shifted by one are a data
problem naming the instrument and the evidence, never a silent shift; ``answer_values``
decides.

Oracles are hand-worked: PHQ-9 codes 0-3 (Kroenke 2001), SCL-90 codes 1-5 (the Chinese form,
汪向东 1999); a total is the plain sum of the codes, so a file coded one too high scores every
pupil 9 too high on the nine PHQ-9 items.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xinli_screen as xs
from xinli_screen.code_offsets import CodeOffsetError, detect_code_offsets
from xinli_screen.errors import XinliScreenWarning
from xinli_screen.instrument.registry import load_instrument
from xinli_screen.responses import prepare_responses

PHQ = [f"phq9_{i:02d}" for i in range(1, 10)]


def _phq(codes: np.ndarray, shift: int = 0) -> pd.DataFrame:
    """Items 1-9 and the difficulty item 10 ('not difficult at all'), all coded + ``shift``."""
    return pd.DataFrame(codes + shift, columns=PHQ).assign(phq9_10=shift)


def _answers(n: int, seed: int, top: bool) -> np.ndarray:
    """0-3 answers, mostly 0 as on a school screening; with or without any 3."""
    rng = np.random.default_rng(seed)
    p = [0.6, 0.25, 0.1, 0.05] if top else [0.65, 0.25, 0.1, 0.0]
    return rng.choice(4, p=p, size=(n, 9))


def test_shifted_file_without_its_top_code_is_refused_with_the_evidence():
    """The issue's case: coded 1-4, no 4 in the file (every answer 1-3)."""
    x = _answers(1200, 1, top=False)
    with pytest.raises(CodeOffsetError) as err:
        xs.screen(_phq(x, 1), ["phq9"])
    msg = str(err.value)
    assert "phq9: code 0 never used in 1,200 answer sheet(s)" in msg
    # item 10 ('not difficult at all', coded 1) shares the 0-3 scale: 1,200 more uses of 1
    assert f"code 1 was used {(x == 0).sum() + 1200:,} times" in msg
    assert "phq9=shift-down" in msg and "phq9=code" in msg


def test_shifted_file_with_its_top_code_names_the_value_above_the_scale():
    x = _answers(40, 2, top=True)
    with pytest.raises(CodeOffsetError, match=r"and 4 \(one above the highest code 3\) used "
                       f"{(x == 3).sum()} times"):
        xs.screen(_phq(x, 1), ["phq9"])


def test_shift_down_scores_the_true_codes_and_is_recorded():
    x = _answers(300, 3, top=True)
    r = xs.screen(_phq(x, 1), ["phq9"], answer_values={"phq9": "shift-down"})
    assert r.table["phq9.total"].tolist() == x.sum(axis=1).astype(float).tolist()
    assert (r.table["critical_items"] != "").sum() == (x[:, 8] >= 1).sum()
    assert r.provenance["answer_values"] == {"phq9": "shift-down"}
    assert r.failures.empty


def test_code_scores_as_coded_with_a_warning():
    x = _answers(300, 4, top=False)
    with pytest.warns(XinliScreenWarning, match="phq9: code 0 never used"):
        r = xs.screen(_phq(x, 1), ["phq9"], answer_values="code")
    assert r.table["phq9.total"].tolist() == (x.sum(axis=1) + 9).astype(float).tolist()
    assert r.provenance["code_offsets"][0]["direction"] == "up"


def test_scl90_entered_0_to_4_is_refused_and_shift_up_repairs_it():
    scl = load_instrument("scl90")
    items = [i.id for i in scl.items]
    rng = np.random.default_rng(5)
    x = rng.choice([1, 2, 3, 4], p=[0.6, 0.25, 0.1, 0.05], size=(60, len(items)))  # no 5
    frame = pd.DataFrame(x - 1, columns=items)  # entered 0-4 (0-3 here)
    with pytest.raises(CodeOffsetError, match=r"scl90: 0 \(one below the lowest code 1\) "
                       r"used .* highest code 5 never used"):
        xs.screen(frame, ["scl90"])
    r = xs.screen(frame, ["scl90"], answer_values={"scl90": "shift-up"})
    assert r.table["scl90.total"].tolist() == x.sum(axis=1).astype(float).tolist()


def test_small_files_and_correct_files_do_not_alarm():
    x = _answers(3, 6, top=False)  # 3 pupils: too few answers to judge
    xs.screen(_phq(x, 1), ["phq9"])
    xs.screen(_phq(_answers(2000, 7, top=True)), ["phq9"])


def test_cli_answer_values_per_instrument(cli, tmp_path):
    x = _answers(200, 8, top=False)
    path = tmp_path / "a.csv"
    _phq(x, 1).assign(sid=[f"{i:04d}" for i in range(200)]).to_csv(path, index=False)
    run = cli("score", path, "-i", "phq9", "--id-column", "sid", "-o", tmp_path / "o.csv")
    assert run.code == 1 and "phq9: code 0 never used in 200" in run.err
    run = cli("score", path, "-i", "phq9", "--id-column", "sid", "-o", tmp_path / "o.csv",
              "--answer-values", "phq9=shift-down")
    assert run.code == 0, run.err
    out = pd.read_csv(tmp_path / "o.csv")
    assert out["phq9.total"].tolist() == x.sum(axis=1).astype(float).tolist()
    assert cli("score", path, "-i", "phq9", "--answer-values", "phq9=sideways").code == 2


# ---- a correctly coded file never alarms for realistic n --------------------------------

INSTRUMENTS = {name: load_instrument(name) for name in
               ("phq9", "gad7", "scl90", "sds", "rses", "mht", "dsrsc", "who5")}


def _graded(inst: xs.Instrument, n: int, seed: int) -> pd.DataFrame:
    """Answers from a graded response model (Samejima 1969) with screening-like thresholds:
    theta ~ N(0, 1), discrimination 1-2.5, the first threshold between -1 and 1.5 (so the
    lowest option, "not at all", is common, as on symptom items in school samples); reverse
    keyed items answered in the reverse direction."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=n)
    out = {}
    for item in inst.items:
        codes = np.array(inst.response_scale_of(item).codes)
        k = len(codes)
        a = rng.uniform(1.0, 2.5)
        b = np.sort(rng.uniform(-1.0, 1.5, k - 1) + np.arange(k - 1) * 0.5)
        p_above = 1 / (1 + np.exp(-a * (theta[:, None] - b[None, :])))
        level = (rng.uniform(size=(n, 1)) < p_above).sum(axis=1)
        level = k - 1 - level if item.reverse_keyed else level
        out[item.id] = codes[level]
    return pd.DataFrame(out)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(INSTRUMENTS)), n=st.integers(20, 3000),
       seed=st.integers(0, 2**32 - 1))
def test_correctly_coded_files_never_alarm(name, n, seed):
    inst = INSTRUMENTS[name]
    frame = _graded(inst, n, seed)
    prepared = prepare_responses(frame, [inst])
    assert detect_code_offsets(prepared.responses, prepared.failures, [inst]) == []
