"""Independent key checks for the small single-total instruments: K10, K6, WHO-5, PSS-10, RSES.

Each block names the source the YAML was typed from and the SECOND source typed here.

- k10: YAML from ABS 4817.0.55.001 (2012, 1-5 scoring, levels) and Kessler et al. 2002.
  Second source: the AMHOCN 'Mental Health Consumer Self Assessment' K10 form (ten items, each
  none of the time = 1 ... all of the time = 5, summed, no reversed item); level edges from the
  measurely.com.au K10 page (low 10, moderate 16, high 22, very high 30) and from the
  NovoPsych / CRUfAD guidance (under 20, 20-24, 25-29, 30+).
- k6: YAML from Kessler et al. 2003. Second source: IPUMS MEPS K6SUM documentation (0 none
  ... 4 all of the time, range 0-24, 13 or greater) and Prochaska et al. 2012 (>= 5 moderate).
- who5: YAML from Topp et al. 2015. Second source: the Valant WHO-5 scoring page (raw 0-25,
  raw x 4, raw below 13 = poor well-being) and the SMAAT scale library (<= 28 depressive).
- pss10: YAML from the Cohen lab scoring page. Second source: UW-Madison ARC PSS page (items
  4, 5, 7, 8 reverse coded) and Med Educ Online 2015 Table 2 (PMC4481047: for questions 4, 5,
  7, 8 'never' = 4 ... 'very often' = 0).
- rses: YAML from the Chinese manual (汪向东 1999) as reproduced on wtabcd.cn. Second source:
  MindSeed wiki (English key: strongly disagree 1 ... strongly agree 4, items 2, 5, 6, 8, 9
  reversed, English order) plus its Chinese item list, from which the Chinese -> English item
  mapping below was typed by matching content.
"""

from __future__ import annotations

import pandas as pd
import pytest
from keycheck import keyed_uniform, one_hot_changes, score_rows

import xinli_screen as xs


def raised_scales(inst: xs.Instrument) -> dict[int, set[str]]:
    """Item number -> the scales its one-hot protocol raises (see keycheck.one_hot_changes)."""
    changes = one_hot_changes(inst)
    return {item.number: changes[item.id][0] for item in inst.items}


def band_of(inst: xs.Instrument, scale: str, answers: list[int]) -> str:
    return score_rows(inst, [answers]).loc[0, f"{inst.id}.{scale}.band"]


# ---------------------------------------------------------------- K10
K10_SECOND = {n: {"total", "level_cn"} for n in range(1, 11)}


def test_k10_key() -> None:
    inst = xs.load_instrument("k10")
    assert inst.item_ids == tuple(f"k10_{k:02d}" for k in range(1, 11))
    assert raised_scales(inst) == K10_SECOND
    assert not any(i.reverse_keyed for i in inst.items)
    assert inst.response_scales[0].codes == (1, 2, 3, 4, 5)
    assert inst.scale_range(inst.scale("total")) == (10.0, 50.0)


@pytest.mark.parametrize(("total", "abs_level", "cn_level"), [
    (15, "low", "none"), (16, "moderate", "none"), (19, "moderate", "none"),
    (20, "moderate", "mild"), (21, "moderate", "mild"), (22, "high", "mild"),
    (24, "high", "mild"), (25, "high", "moderate"), (29, "high", "moderate"),
    (30, "very_high", "severe")])
def test_k10_levels(total: int, abs_level: str, cn_level: str) -> None:
    inst = xs.load_instrument("k10")
    answers = [1] * 10
    extra = total - 10
    for k in range(10):
        step = min(4, extra)
        answers[k] += step
        extra -= step
    assert band_of(inst, "total", answers) == abs_level
    assert band_of(inst, "level_cn", answers) == cn_level


# ---------------------------------------------------------------- K6
def test_k6_key() -> None:
    inst = xs.load_instrument("k6")
    assert inst.item_ids == tuple(f"k6_{k}" for k in range(1, 7))
    assert raised_scales(inst) == {n: {"total"} for n in range(1, 7)}
    assert not any(i.reverse_keyed for i in inst.items)
    assert inst.response_scales[0].codes == (0, 1, 2, 3, 4)
    assert inst.scale_range(inst.scale("total")) == (0.0, 24.0)
    cut = inst.scale("total").cutoffs[0]
    assert (cut.op, cut.value) == (">=", 13)
    assert band_of(inst, "total", [2, 2, 2, 2, 2, 2]) == "moderate"  # 12
    assert band_of(inst, "total", [3, 2, 2, 2, 2, 2]) == "serious"  # 13
    assert band_of(inst, "total", [1, 1, 1, 1, 0, 0]) == "low"  # 4
    assert band_of(inst, "total", [1, 1, 1, 1, 1, 0]) == "moderate"  # 5


# ---------------------------------------------------------------- WHO-5
def test_who5_key() -> None:
    inst = xs.load_instrument("who5")
    assert raised_scales(inst) == {n: {"raw", "percentage"} for n in range(1, 6)}
    assert not any(i.reverse_keyed for i in inst.items)
    assert inst.response_scales[0].codes == (0, 1, 2, 3, 4, 5)
    assert inst.scale("percentage").multiplier == 4
    assert inst.scale_range(inst.scale("percentage")) == (0.0, 100.0)
    for raw in range(26):
        answers = [min(5, max(0, raw - 5 * k)) for k in range(5)]
        assert sum(answers) == raw
        poor_raw = raw < 13  # Valant: raw score below 13 = poor well-being
        poor_pct = raw * 4 <= 50
        assert poor_raw == poor_pct, raw  # the two published rules agree on integer scores
        expected = ("very_low_wellbeing" if raw * 4 <= 28
                    else "poor" if poor_raw else "not_indicated")
        assert band_of(inst, "raw", answers) == expected, raw
        assert band_of(inst, "percentage", answers) == expected, raw


# ---------------------------------------------------------------- PSS-10
PSS_SECOND_REVERSED = {4, 5, 7, 8}


def test_pss10_key() -> None:
    inst = xs.load_instrument("pss10")
    assert raised_scales(inst) == {n: {"total"} for n in range(1, 11)}
    assert {i.number for i in inst.items if i.reverse_keyed} == PSS_SECOND_REVERSED
    # Table 2 of the second source: 'never' (0) on a reversed question scores 4
    keyed = keyed_uniform(inst, [0.0]).iloc[0]
    for item in inst.items:
        assert keyed[item.id] == (4 if item.number in PSS_SECOND_REVERSED else 0), item.id
    assert not inst.scale("total").bands and not inst.scale("total").cutoffs


# ---------------------------------------------------------------- RSES
# Chinese item number -> English original number (content match on the two MindSeed lists)
RSES_CN_TO_EN = {1: 7, 2: 3, 3: 9, 4: 4, 5: 5, 6: 10, 7: 1, 8: 8, 9: 6, 10: 2}
RSES_EN_NEGATIVE = {2, 5, 6, 8, 9}  # reversed in the English key (1 = strongly disagree)


def test_rses_key() -> None:
    inst = xs.load_instrument("rses")
    assert sorted(RSES_CN_TO_EN.values()) == list(range(1, 11))
    raised = raised_scales(inst)
    for number, scales in raised.items():
        expected = {"total"} if number == 8 else {"total", "total_without_item8"}
        assert scales == expected, number
    # 'strongly agree' (code 1 on the Chinese form) to every item: positive items must score
    # 4 and negative items 1, exactly as the English key scores strongly agree
    keyed = keyed_uniform(inst, [1.0]).iloc[0]
    for item in inst.items:
        negative = RSES_CN_TO_EN[item.number] in RSES_EN_NEGATIVE
        assert keyed[item.id] == (1 if negative else 4), item.id
        # this file keys the positively worded items (Chinese coding 1 = strongly agree)
        assert item.reverse_keyed == (not negative), item.id
    assert inst.scale_range(inst.scale("total")) == (10.0, 40.0)
    assert inst.scale_range(inst.scale("total_without_item8")) == (9.0, 36.0)


def test_rses_text_answers_map_by_meaning() -> None:
    """Labels on either printed order map to the same codes."""
    inst = xs.load_instrument("rses")
    labels = {o.label.zh: o.code for o in inst.response_scales[0].options}
    aliases = {a: o.code for o in inst.response_scales[0].options for a in o.aliases}
    assert labels["非常符合"] == aliases["完全符合"] == 1
    assert labels["很不符合"] == aliases["完全不符合"] == 4


# ---------------------------------------------------------------- answer labels (all eight files)
@pytest.mark.parametrize("instrument_id",
                         ["dass21", "sds", "sas", "k10", "k6", "who5", "pss10", "rses"])
def test_every_label_and_alias_parses_to_its_code(instrument_id: str) -> None:
    """问卷星 text exports ('A.label', 'B、label') map to the declared code of the option."""
    inst = xs.load_instrument(instrument_id)
    item = inst.items[0]
    rs = inst.response_scale_of(item)
    cells, codes = [], []
    for k, opt in enumerate(rs.options):
        for text in (opt.label.zh, opt.label.en, *opt.aliases):
            if text:
                cells.append(f"{'ABCDEF'[k]}{'.' if len(cells) % 2 else '、'}{text}")
                codes.append(opt.code)
    data = pd.DataFrame({i.id: cells for i in inst.items})
    prepared = xs.prepare_responses(data, [inst])
    assert prepared.failures.empty
    assert prepared.responses[item.id].tolist() == [float(c) for c in codes]


def test_dass21_ambiguous_hong_kong_label_is_rejected() -> None:
    """'常常' is 2 on the mainland form (常常符合) but 3 on the Hong Kong form: not guessed."""
    inst = xs.load_instrument("dass21")
    data = pd.DataFrame({i.id: ["常常"] for i in inst.items})
    prepared = xs.prepare_responses(data, [inst])
    assert len(prepared.failures) == 21
    assert prepared.responses.isna().all().all()
