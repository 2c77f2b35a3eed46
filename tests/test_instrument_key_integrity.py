"""Key integrity at load time and in ``instruments validate`` (issue 14, point 5).

Partitions (an item in two scales of one partition, an item in none of a complete one), unused
items, and the file's own ``test_vectors`` scored on every load, not only for bundled files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import xinli_screen as xs
from xinli_screen.errors import InstrumentDefinitionError
from xinli_screen.instrument.registry import bundled_dir, validate_instrument_file

DEMO = """\
id: demo
version: "1"
name: {en: Demo}
citation: [{text: "Nobody 2026"}]
licence: {name: x, item_text_allowed: false, statement: none}
response_scales:
  - id: f4
    options:
      - {code: 0, label: {en: "never"}}
      - {code: 1, label: {en: "sometimes"}}
      - {code: 2, label: {en: "often"}}
      - {code: 3, label: {en: "always"}}
items:
  - {id: demo_01, number: 1}
  - {id: demo_02, number: 2}
  - {id: demo_03, number: 3}
  - {id: demo_04, number: 4}
  - {id: demo_05, number: 5}
  - {id: demo_06, number: 6}
scales:
  - {id: mood, name: {en: Mood}, items: [MOOD]}
  - {id: worry, name: {en: Worry}, items: [WORRY]}
  - {id: total, name: {en: Total}, scales: [mood, worry]}
PARTITIONS
test_vectors:
  - description: one of each
    source: hand-worked
    answers: {demo_01: 1, demo_02: 2, demo_03: 3, demo_04: 0, demo_05: 1, demo_06: 2}
    expected_scores: {mood: MOOD_SUM, worry: WORRY_SUM, total: TOTAL}
"""


def _write(tmp_path: Path, mood: str = "demo_01, demo_02, demo_03",
           worry: str = "demo_04, demo_05, demo_06", partitions: str = "",
           sums: tuple[str, str, str] = ("6", "3", "9")) -> Path:
    text = (DEMO.replace("MOOD]", mood + "]").replace("WORRY]", worry + "]")
            .replace("PARTITIONS\n", partitions)
            .replace("MOOD_SUM", sums[0]).replace("WORRY_SUM", sums[1])
            .replace("TOTAL", sums[2]))
    path = tmp_path / "demo.yaml"
    path.write_text(text, encoding="utf-8")
    return path


PARTITION = """\
partitions:
  - id: factors
    scales: [mood, worry]
"""


def _codes(path: Path) -> dict[str, str]:
    """Issue code -> every message with that code, one a line."""
    _, issues, _ = validate_instrument_file(path)
    found: dict[str, str] = {}
    for issue in issues:
        found[issue.code] = (found.get(issue.code, "") + "\n" + str(issue)).strip()
    return found


def test_a_consistent_file_loads(tmp_path):
    model, issues, _ = validate_instrument_file(_write(tmp_path, partitions=PARTITION))
    assert model is not None and issues == []


def test_item_in_two_scales_of_a_partition_is_an_error(tmp_path, cli):
    path = _write(tmp_path, worry="demo_03, demo_04, demo_05, demo_06", partitions=PARTITION,
                  sums=("6", "6", "12"))
    codes = _codes(path)
    assert "item-in-two-scales" in codes
    assert "'demo_03'" in codes["item-in-two-scales"] and "mood, worry" in codes[
        "item-in-two-scales"]
    assert "demo.yaml" in codes["item-in-two-scales"]  # file (and line) are named
    run = cli("instruments", "validate", path)
    assert run.code == 3 and "item-in-two-scales" in run.err
    with pytest.raises(InstrumentDefinitionError, match="item-in-two-scales"):
        xs.load_instrument(path)


def test_item_in_no_scale_of_a_complete_partition_is_an_error(tmp_path, cli):
    path = _write(tmp_path, worry="demo_04, demo_05", partitions=PARTITION,
                  sums=("6", "1", "7"))
    codes = _codes(path)
    assert "item-in-no-scale" in codes and "demo_06" in codes["item-in-no-scale"]
    assert cli("instruments", "validate", path).code == 3
    left_out = PARTITION + "    outside: [demo_06]\n"
    path = _write(tmp_path, worry="demo_04, demo_05", partitions=left_out, sums=("6", "1", "7"))
    assert _codes(path) == {}  # declared as left out on purpose


def test_an_item_no_scale_keys_is_a_warning_without_a_partition(tmp_path):
    path = _write(tmp_path, worry="demo_04, demo_05", sums=("6", "1", "7"))
    codes = _codes(path)
    assert list(codes) == ["item-unused"] and "'demo_06'" in codes["item-unused"]
    assert validate_instrument_file(path)[0] is not None  # a warning, the file loads


def test_incomplete_partition_only_forbids_overlap(tmp_path):
    part = PARTITION + "    complete: false\n"
    path = _write(tmp_path, worry="demo_04, demo_05", partitions=part, sums=("6", "1", "7"))
    assert "item-in-no-scale" not in _codes(path)


def test_partition_naming_an_unknown_scale(tmp_path):
    part = "partitions:\n  - id: factors\n    scales: [mood, anger]\n"
    assert "unknown-scale-in-partition" in _codes(_write(tmp_path, partitions=part))


def test_a_key_shifted_by_one_fails_its_test_vector(tmp_path, cli):
    # the worked example was computed with the right key; shifting the mood key by one item
    # changes both subscales, and loading says which scale and by how much
    path = _write(tmp_path, mood="demo_02, demo_03, demo_04", worry="demo_05, demo_06")
    codes = _codes(path)
    assert "test-vector-score" in codes
    assert "scale 'mood' expected 6, the key scores 5" in codes["test-vector-score"]
    run = cli("instruments", "validate", path)
    assert run.code == 3 and "test-vector-score" in run.err


def test_a_wrong_expected_total_in_a_test_vector(tmp_path, cli):
    path = _write(tmp_path, sums=("6", "3", "99"))
    run = cli("instruments", "validate", path)
    assert run.code == 3
    assert "expected 99, the key scores 9" in run.err


def test_phq9_copy_with_shifted_key_and_impossible_answer(tmp_path):
    text = (bundled_dir() / "phq9.yaml").read_text(encoding="utf-8")
    key = "items: [phq9_01, phq9_02, phq9_03, phq9_04, phq9_05, phq9_06, phq9_07, phq9_08, phq9_09]"
    assert text.count(key) == 1
    shifted = key.replace("phq9_01, ", "").replace("phq9_09]", "phq9_09, phq9_10]")
    path = tmp_path / "phq9_shifted.yaml"
    path.write_text(text.replace(key, shifted), encoding="utf-8")
    assert "test-vector-score" in _codes(path)


def test_test_vector_answer_outside_the_codes(tmp_path):
    path = _write(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace("demo_06: 2}", "demo_06: 7}"),
                    encoding="utf-8")
    codes = _codes(path)
    assert "test-vector-answer-out-of-range" in codes
    assert "test-vector-score" not in codes  # not scored on an inconsistent definition


def test_bundled_definitions_pass_their_own_vectors_at_load():
    for instrument_id in xs.list_instruments():
        model, issues, _ = validate_instrument_file(bundled_dir() / f"{instrument_id}.yaml")
        assert model is not None, instrument_id
        assert [str(i) for i in issues] == [], instrument_id


BUNDLED_PARTITIONS = {
    "mht": "learning_anxiety, social_anxiety, loneliness, self_blame, sensitivity, somatic, "
           "phobic, impulsivity, lie",
    "sdq": "emotional, conduct, hyperactivity, peer, prosocial",
    "scl90": "somatization, obsessive_compulsive, interpersonal_sensitivity, depression, anxiety, "
             "hostility, phobic_anxiety, paranoid_ideation, psychoticism, additional",
    "scared": "panic_somatic, generalized_anxiety, separation_anxiety, social_anxiety, "
              "school_avoidance",
    "dass21": "depression, anxiety, stress",
    "mssmhs": "obsessive_compulsive, paranoid, hostility, interpersonal_sensitivity, depression, "
              "anxiety, academic_stress, maladjustment, emotional_instability, "
              "psychological_imbalance",
    "cesd": "depressed_affect, positive_affect, somatic, interpersonal",
}


@pytest.mark.parametrize("instrument_id", sorted(BUNDLED_PARTITIONS))
def test_bundled_subscales_form_complete_partitions(instrument_id, tmp_path):
    """The published subscales of each bundled instrument split its items exactly."""
    text = (bundled_dir() / f"{instrument_id}.yaml").read_text(encoding="utf-8")
    assert text.count("\ntest_vectors:") == 1
    block = (f"\npartitions:\n  - id: factors\n    scales: [{BUNDLED_PARTITIONS[instrument_id]}]"
             "\ntest_vectors:")
    path = tmp_path / f"{instrument_id}.yaml"
    path.write_text(text.replace("\ntest_vectors:", block), encoding="utf-8")
    model, issues, _ = validate_instrument_file(path)
    assert model is not None and len(model.partitions) == 1
    assert [str(i) for i in issues] == []


def test_stated_critical_expectation_is_checked(tmp_path):
    crit = ("critical_items:\n  - {id: worst, item: demo_03, op: \">=\", value: 3, "
            "meaning: {en: Worst}, source: fixture}\n")
    path = _write(tmp_path, partitions=crit)
    assert _codes(path) == {}  # not stated: not compared
    path.write_text(path.read_text(encoding="utf-8") + "    expected_critical: []\n",
                    encoding="utf-8")
    assert "fired ['worst']" in _codes(path)["test-vector-critical"]
