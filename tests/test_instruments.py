"""Instrument schema, loader (every problem with file/line/field) and bundled conformance."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen.instrument.registry import bundled_dir, validate_instrument_file
from xinli_screen.scoring import critical_item_flags, score_instrument, validity_flags

BUNDLED = xs.list_instruments()


def test_bundled_ids() -> None:
    assert {"phq9", "gad7", "cesd"} <= set(BUNDLED)


def test_public_item_contract() -> None:
    phq9 = xs.load_instrument("phq9")
    assert [i.id for i in phq9.items][:9] == [f"phq9_0{k}" for k in range(1, 10)]
    assert [i.number for i in phq9.items] == list(range(1, 11))
    assert phq9.items[8].loinc == "44260-8"
    assert phq9.critical_items[0].item == "phq9_09"
    assert "phq9_10" not in phq9.scale("total").items


def test_load_by_path_equals_bundled() -> None:
    assert xs.load_instrument(bundled_dir() / "phq9.yaml") == xs.load_instrument("phq9")


def test_unknown_id_lists_bundled() -> None:
    with pytest.raises(FileNotFoundError, match="phq9"):
        xs.load_instrument("no_such_scale")


def test_models_are_frozen() -> None:
    phq9 = xs.load_instrument("phq9")
    with pytest.raises(Exception, match="frozen"):
        phq9.version = "9"  # type: ignore[misc]


def test_json_schema_forbids_unknown_keys() -> None:
    schema = xs.instrument_json_schema()
    json.dumps(schema)
    assert schema["additionalProperties"] is False
    assert "scales" in schema["properties"]


@pytest.mark.parametrize("instrument_id", BUNDLED)
def test_bundled_loads_without_issues(instrument_id: str) -> None:
    model, issues, digest = validate_instrument_file(bundled_dir() / f"{instrument_id}.yaml")
    assert model is not None, [str(i) for i in issues]
    assert [i for i in issues if i.level == "error"] == []
    assert len(digest) == 64
    assert model.citation and model.licence.statement
    if not model.licence.item_text_allowed:
        assert all(item.text is None for item in model.items)


@pytest.mark.parametrize("instrument_id", BUNDLED)
def test_bundled_test_vectors(instrument_id: str) -> None:
    """Each instrument's worked examples (from its source) score as documented."""
    inst = xs.load_instrument(instrument_id)
    assert inst.test_vectors, "every bundled instrument carries test vectors from its source"
    for tv in inst.test_vectors:
        row = {i: tv.answers.get(i) for i in inst.item_ids}
        frame = pd.DataFrame([row], dtype=float)
        scores = score_instrument(frame, inst)
        for scale_id, expected in tv.expected_scores.items():
            got = scores.loc[0, f"{inst.id}.{scale_id}"]
            if expected is None:
                assert np.isnan(got), tv.description
            else:
                assert got == pytest.approx(expected, abs=1e-12), tv.description
        for scale_id, band in tv.expected_bands.items():
            got = scores.loc[0, f"{inst.id}.{scale_id}.band"]
            assert (got if isinstance(got, str) else None) == band, tv.description
        checks = validity_flags(scores, inst)
        fired_checks = [c.id for c in inst.validity_checks
                        if checks.loc[0, f"{inst.id}.{c.id}"] is not pd.NA
                        and bool(checks.loc[0, f"{inst.id}.{c.id}"])]
        assert fired_checks == list(tv.expected_validity), tv.description
        flags = critical_item_flags(frame, inst)
        values = {c.id: flags.loc[0, f"{inst.id}.{c.id}"] for c in inst.critical_items}
        fired = [k for k, v in values.items() if v is not pd.NA and bool(v)]
        assert fired == list(tv.expected_critical), tv.description


@pytest.mark.parametrize("instrument_id", BUNDLED)
def test_extreme_answers_hit_documented_range(instrument_id: str) -> None:
    """Lowest and highest keyed answers land on each scale's minimum and maximum."""
    inst = xs.load_instrument(instrument_id)
    lo_codes, hi_codes = inst.item_bounds
    rev = np.array([i.reverse_keyed for i in inst.items])
    low = np.where(rev, hi_codes, lo_codes)
    high = np.where(rev, lo_codes, hi_codes)
    frame = pd.DataFrame([low, high], columns=list(inst.item_ids))
    scores = score_instrument(frame, inst)
    for scale in inst.scales:
        lo, hi = inst.scale_range(scale)
        low_score = scores.loc[0, f"{inst.id}.{scale.id}"]
        high_score = scores.loc[1, f"{inst.id}.{scale.id}"]
        if scale.item_filter is None:
            assert (low_score, high_score) == (lo, hi), scale.id
        else:
            # a filtered scale need not rise with the answers (count of items == 1), and a
            # filtered mean is undefined when no item meets the filter; each defined extreme
            # lies in the declared range and one of them reaches an end of it
            defined = [v for v in (low_score, high_score) if not np.isnan(v)]
            assert defined and all(lo <= v <= hi for v in defined), scale.id
            assert {lo, hi} & set(defined), scale.id


def test_cesd_reverse_keys_match_radloff() -> None:
    cesd = xs.load_instrument("cesd")
    assert [i.number for i in cesd.items if i.reverse_keyed] == [4, 8, 12, 16]
    assert cesd.scale("total").cutoffs[0].value == 16


BROKEN = """\
id: demo
version: "1"
name: {en: Demo}
citation: [{text: "Nobody 2026"}]
licence: {name: x, item_text_allowed: false, statement: none}
colour: blue
response_scales:
  - id: yn
    options:
      - {code: 0, label: {en: "No"}}
      - {code: 1, label: {en: "Yes"}}
items:
  - {id: demo_01, number: 1}
  - {id: demo_02, number: 2, text: {en: "Words the licence forbids"}}
scales:
  - id: total
    name: {en: Total}
    items: [demo_01, demo_03]
    bands:
      - {id: high, min: 1, label: {en: High}}
      - {id: low, min: 0, label: {en: Low}}
"""


def test_every_structural_problem_reported_with_line(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(xs.InstrumentDefinitionError) as info:
        xs.load_instrument(path)
    issues = info.value.issues
    assert any(i.field == "colour" and i.line == 6 for i in issues)
    assert str(path) in str(info.value)


def test_every_semantic_problem_reported_with_line(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(BROKEN.replace("colour: blue\n", ""), encoding="utf-8")
    with pytest.raises(xs.InstrumentDefinitionError) as info:
        xs.load_instrument(path)
    by_code = {i.code: i for i in info.value.issues}
    assert by_code["unknown-item-in-scale"].line == 17
    assert by_code["text-not-licensed"].line == 13
    assert "bands-not-ascending" in by_code
    assert isinstance(info.value, ValueError)


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\nitems: [a, b\nscales: 3\n", encoding="utf-8")
    model, issues, _ = validate_instrument_file(path)
    assert model is None
    assert issues[0].code == "yaml-syntax" and issues[0].line is not None


def test_duplicate_keys_are_reported(tmp_path: Path) -> None:
    text = (bundled_dir() / "gad7.yaml").read_text(encoding="utf-8")
    path = tmp_path / "dup.yaml"
    path.write_text(text + 'version: "2"\n', encoding="utf-8")
    model, issues, _ = validate_instrument_file(path)
    assert model is None
    assert any(i.code == "duplicate-key" and i.field == "version" for i in issues)


def test_python_tags_are_not_constructed(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("id: !!python/object/apply:os.system ['echo pwned']\n", encoding="utf-8")
    model, issues, _ = validate_instrument_file(path)
    assert model is None and issues[0].code == "yaml-syntax"


def test_partial_sum_without_proration_is_refused(tmp_path: Path) -> None:
    text = (bundled_dir() / "gad7.yaml").read_text(encoding="utf-8")
    text = text.replace("    method: sum\n", "    method: sum\n    min_answered: 6\n", 1)
    path = tmp_path / "g.yaml"
    path.write_text(text, encoding="utf-8")
    model, issues, _ = validate_instrument_file(path)
    assert model is None
    assert any(i.code == "partial-sum" for i in issues)


def test_shipped_json_schemas_are_current() -> None:
    """docs/schema/*.json are what `xinli-screen instruments schema [--policy]` prints."""
    from xinli_screen.policy.models import policy_json_schema

    docs = Path(__file__).resolve().parents[1] / "docs" / "schema"
    for name, schema in (("instrument", xs.instrument_json_schema()),
                         ("policy", policy_json_schema())):
        shipped = json.loads((docs / f"{name}.schema.json").read_text(encoding="utf-8"))
        assert shipped == schema, f"regenerate docs/schema/{name}.schema.json"


def test_docs_catalogue_is_generated_from_yaml() -> None:
    """docs/instruments.md embeds exactly `xinli-screen instruments list --markdown`."""
    from xinli_screen.instrument.catalogue import BEGIN_MARK, END_MARK, catalogue_markdown

    text = (Path(__file__).resolve().parents[1] / "docs" / "instruments.md").read_text("utf-8")
    embedded = text.split(BEGIN_MARK, 1)[1].split(END_MARK, 1)[0].strip()
    assert embedded == catalogue_markdown(), (
        "regenerate the table in docs/instruments.md with: xinli-screen instruments list "
        "--markdown")


# 抑郁症 (depressive disorder) is a diagnosis; 抑郁症状 (depressive symptoms) is not
FORBIDDEN = re.compile(r"disorder|\bmdd\b|diagnos|likely depression|障碍|抑郁症(?!状)|诊断")


def test_outputs_speak_of_screening_not_diagnosis() -> None:
    """Band, cut-off and critical-item labels and policy reasons never name a diagnosis."""
    texts: list[str] = []
    for inst_id in BUNDLED:
        inst = xs.load_instrument(inst_id)
        for scale in inst.scales:
            texts += [t for b in scale.bands for t in (b.id, b.label.zh, b.label.en) if t]
            texts += [t for c in scale.cutoffs for t in (c.id, c.label.zh, c.label.en) if t]
        texts += [t for c in inst.critical_items for t in (c.meaning.zh, c.meaning.en) if t]
    policy = xs.load_policy("default").policy
    texts += [t for r in policy.rules for t in (r.id, r.reason.zh, r.reason.en) if t]
    offending = [t for t in texts if FORBIDDEN.search(t.lower())]
    assert offending == []
