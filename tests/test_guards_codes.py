"""Issue 14, point 2: answers that look like the declared codes shifted by one are a data
problem naming the instrument and the evidence, never a silent shift; ``answer_values``
decides.

Oracles are hand-worked: PHQ-9 codes 0-3 (Kroenke 2001), SCL-90 codes 1-5 (the Chinese form,
汪向东 1999); a total is the plain sum of the codes, so a file coded one too high scores every
pupil 9 too high on the nine PHQ-9 items.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

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
    assert ("phq9 (response scale 'frequency', 9 item(s)): code 0 never used in 1,200 answer "
            f"sheet(s) (10,800 answers) although code 1 was used {(x == 0).sum():,} times") in msg
    # item 10 ('not difficult at all', coded 1) is on its own scale: judged apart
    assert ("phq9 (response scale 'difficulty', 1 item(s)): code 0 never used in 1,200 answer "
            "sheet(s) (1,200 answers) although code 1 was used 1,200 times") in msg
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


def test_a_chosen_shift_records_the_evidence_it_answers():
    """``shift-down`` on a file coded 1-4: the evidence (judged on the numbers as they were
    in the file) is warned about and in the provenance, as docs/errors.md says."""
    x = _answers(300, 13, top=False)
    with pytest.warns(XinliScreenWarning, match=r"'frequency', 9 item\(s\)\): code 0 never "
                      r"used in 300 answer sheet.*read as 'shift-down' as chosen"):
        r = xs.screen(_phq(x, 1), ["phq9"], answer_values={"phq9": "shift-down"})
    got = {(o["scale"], o["direction"], o["strength"]) for o in r.provenance["code_offsets"]}
    assert got == {("frequency", "up", "large-n"), ("difficulty", "up", "large-n")}
    assert r.provenance["code_offsets"][0]["count_lo"] == 0
    # read as coded: the evidence (4s present: strong) is recorded too
    r = xs.screen(_phq(_answers(300, 14, top=True), 1), ["phq9"], answer_values="code")
    assert {o["strength"] for o in r.provenance["code_offsets"]} == {"strong", "large-n"}


# ---- small files: a warning, never a refusal -----------------------------------------------


def test_small_class_coded_one_to_four_without_a_four_is_warned_about():
    """8 answer sheets (one class) coded 1-4 with no 4: too few to refuse, but every pupil
    would be 9 points too high with an item-9 alarm; a warning names instrument and counts."""
    x = _answers(8, 15, top=False)
    with pytest.warns(XinliScreenWarning, match=r"possible code offset: phq9 \(response scale "
                      r"'frequency', 9 item\(s\)\): code 0 never used in 8 answer sheet\(s\) "
                      rf"\(72 answers; code 1 used {(x == 0).sum()} times\)"):
        r = xs.screen(_phq(x, 1), ["phq9"])
    possible = [o for o in r.provenance["code_offsets"] if o["strength"] == "possible"]
    # item 10 alone has 8 answers: fewer than MIN_ANSWERS, never judged
    assert [(o["instrument"], o["scale"], o["sheets"]) for o in possible] == [
        ("phq9", "frequency", 8)]
    # a correctly coded small class (with its zeros) is not warned about
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", XinliScreenWarning)
        r = xs.screen(_phq(x), ["phq9"])
    assert r.provenance["code_offsets"] == []
    # once the user has decided, no hint
    r = xs.screen(_phq(x, 1), ["phq9"], answer_values="code")
    assert r.provenance["code_offsets"] == []


def test_cli_small_class_prints_the_possible_offset(cli, tmp_path):
    x = _answers(12, 16, top=False)
    path = tmp_path / "a.csv"
    _phq(x, 1).assign(sid=[f"{i:04d}" for i in range(12)]).to_csv(path, index=False)
    run = cli("score", path, "-i", "phq9", "--id-column", "sid", "-o", tmp_path / "o.csv")
    assert run.code == 0, run.err
    assert "warning: possible code offset: phq9 (response scale 'frequency'" in run.err
    assert "code 0 never used in 12 answer sheet(s)" in run.err


def test_code_scores_as_coded_with_a_warning():
    x = _answers(300, 4, top=False)
    with pytest.warns(XinliScreenWarning,
                      match=r"phq9 \(response scale 'frequency', 9 item\(s\)\): code 0 never"):
        r = xs.screen(_phq(x, 1), ["phq9"], answer_values="code")
    assert r.table["phq9.total"].tolist() == (x.sum(axis=1) + 9).astype(float).tolist()
    assert r.provenance["code_offsets"][0]["direction"] == "up"


def test_scl90_entered_0_to_4_is_refused_and_shift_up_repairs_it():
    scl = load_instrument("scl90")
    items = [i.id for i in scl.items]
    rng = np.random.default_rng(5)
    x = rng.choice([1, 2, 3, 4], p=[0.6, 0.25, 0.1, 0.05], size=(60, len(items)))  # no 5
    frame = pd.DataFrame(x - 1, columns=items)  # entered 0-4 (0-3 here)
    with pytest.raises(CodeOffsetError, match=r"scl90 \(response scale '\w+', 90 item\(s\)\): "
                       r"0 \(one below the lowest code 1\) used .* highest code 5 never used"):
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
    assert run.code == 1 and "code 0 never used in 200" in run.err
    run = cli("score", path, "-i", "phq9", "--id-column", "sid", "-o", tmp_path / "o.csv",
              "--answer-values", "phq9=shift-down")
    assert run.code == 0, run.err
    assert "code 0 never used in 200" in run.err and "read as 'shift-down'" in run.err
    out = pd.read_csv(tmp_path / "o.csv")
    assert out["phq9.total"].tolist() == x.sum(axis=1).astype(float).tolist()
    assert cli("score", path, "-i", "phq9", "--answer-values", "phq9=sideways").code == 2


# ---- per response scale, robust to stray values (fresh-user check after issue 14) ------

SAMPLE = Path(str(files("xinli_screen") / "data" / "nhanes_dpq_j.csv"))
NHANES_COLUMNS = {f"phq9_0{k}": f"DPQ0{k}0" for k in range(1, 10)} | {"phq9_10": "DPQ100"}
SYMPTOMS = [f"DPQ0{k}0" for k in range(1, 10)]


def _nhanes_recoded() -> pd.DataFrame:
    """The bundled NHANES DPQ_J with items 1-9 recoded 1-4 (codes 0-3 + 1; 7 and 9 are the
    NHANES missing codes and stay) and item 10 left on its correct 0-3 coding."""
    raw = pd.read_csv(SAMPLE)
    sym = raw[SYMPTOMS]
    raw[SYMPTOMS] = sym.where(~sym.isin([0, 1, 2, 3]), sym + 1)
    return raw


def _screen_nhanes(raw: pd.DataFrame, **kw: object) -> xs.ScreeningResult:
    return xs.screen(raw, ["phq9"], id_column="SEQN", columns=NHANES_COLUMNS,
                     missing_codes=(7, 9), **kw)


def test_item_on_another_scale_does_not_hide_a_shifted_scale():
    """NHANES PHQ-9 recoded 1-4 on items 1-9, item 10 (difficulty scale) correctly 0-3: its
    zeros used to switch the check off for the whole instrument."""
    with pytest.raises(CodeOffsetError) as err:
        _screen_nhanes(_nhanes_recoded())
    msg = str(err.value)
    assert "phq9 (response scale 'frequency', 9 item(s)): code 0 never used" in msg
    assert "'difficulty'" not in msg  # item 10 is correctly coded: no evidence there


def test_a_stray_lowest_code_does_not_hide_a_shifted_scale():
    """One stray 0 in one cell of a recoded file (out of 9 x 5,000+ answers)."""
    raw = _nhanes_recoded()
    first = raw.index[raw["DPQ010"].isin([1, 2, 3, 4])][0]
    raw.loc[first, "DPQ010"] = 0
    with pytest.raises(CodeOffsetError, match=r"'frequency', 9 item\(s\)\): code 0 used only "
                       r"1 time\(s\) in"):
        _screen_nhanes(raw)
    # chosen: the shift scores the true codes (the stray 0 becomes an out-of-range -1)
    r = _screen_nhanes(raw, answer_values="shift-down")
    truth = _screen_nhanes(pd.read_csv(SAMPLE))
    assert (r.table["phq9.total"].notna().sum()
            == truth.table["phq9.total"].notna().sum() - 1)


def test_stray_values_with_the_value_above_the_top_code_are_strong_evidence():
    """1,200 sheets coded 1-4 (with 4s), two stray 0s and one stray 7 (out of range)."""
    x = _answers(1200, 11, top=True) + 1
    x[0, 0] = x[1, 1] = 0
    x[2, 2] = 7
    found = detect_code_offsets(*_prepared(pd.DataFrame(x, columns=PHQ)))
    assert [(f.scale, f.direction, f.strength, f.count_lo) for f in found] == [
        ("frequency", "up", "strong", 2)]


def test_a_stray_value_below_does_not_call_a_healthy_large_file_shifted_down():
    """A correct SCL-90 file (1-5) where 5 is rare and one cell holds a typo 0."""
    scl = load_instrument("scl90")
    items = [i.id for i in scl.items]
    rng = np.random.default_rng(12)
    x = rng.choice([1, 2, 3, 4, 5], p=[0.6, 0.25, 0.1, 0.0495, 0.0005], size=(300, 90))
    x[0, 0] = 0
    prepared = prepare_responses(pd.DataFrame(x, columns=items), [scl])
    assert detect_code_offsets(prepared.responses, prepared.failures, [scl]) == []


def _prepared(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[xs.Instrument]]:
    inst = load_instrument("phq9")
    p = prepare_responses(frame, [inst])
    return p.responses, p.failures, [inst]


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
