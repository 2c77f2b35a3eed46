"""FHIR: a Bundle / NDJSON of QuestionnaireResponse in gives the same totals as the CSV; the
Observation output (LOINC totals 44261-6, 70274-6) validates against the FHIR R4B models."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from io_builders import CODES, IDS, ITEMS, PHQ9, frame_of_codes

import xinli_screen as xs
from xinli_screen.io.fhir import LOINC_ANSWERS, read_fhir, validate_fhir
from xinli_screen.io.source import load_answers

pytest.importorskip("fhir.resources")

GAD7 = xs.load_instrument("gad7")
LA = {v: k for k, v in LOINC_ANSWERS.items()}
FREQ_EN = [o.label.en for o in PHQ9.response_scales[0].options]
DIFF_EN = [o.label.en for o in PHQ9.response_scales[1].options]


def _answer(j: int, code: float, style: str) -> dict:
    label = (DIFF_EN if j == 9 else FREQ_EN)[int(code)]
    if style == "integer":
        return {"valueInteger": int(code)}
    if style == "ordinal":
        return {"valueCoding": {"system": "http://loinc.org", "code": f"X{int(code)}",
                                "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/"
                                               "ordinalValue", "valueDecimal": int(code)}]}}
    return {"valueCoding": {"system": "http://loinc.org", "code": LA[label],
                            "display": label}}


def _items(row: np.ndarray, link: str, style: str) -> list[dict]:
    out = []
    for j, (item, code) in enumerate(zip(PHQ9.items, row, strict=True)):
        if np.isnan(code):
            continue
        link_id = {"loinc-path": f"/44249-1/{item.loinc}", "loinc": item.loinc,
                   "id": item.id, "number": str(item.number)}[link]
        out.append({"linkId": link_id, "answer": [_answer(j, code, style)]})
    return out


def qr(k: int, link: str, style: str, gad: bool = False) -> dict:
    items = _items(CODES[k], link, style)
    if link == "number":
        items = [{"linkId": "/44249-1", "item": items}]
        if gad:
            items.append({"linkId": "69737-5",
                          "item": [{"linkId": str(n), "answer": [{"valueInteger": (k + n) % 4}]}
                                   for n in range(1, 8)]})
    res = {"resourceType": "QuestionnaireResponse", "id": f"qr-{k}", "status": "completed",
           "questionnaire": "http://loinc.org/q/phq9-gad7",
           "subject": {"reference": f"Patient/{IDS[k]}"}, "item": items}
    if not items:
        res.pop("item")
    return res


def bundle(link: str, style: str, gad: bool = False) -> dict:
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": qr(k, link, style, gad)} for k in range(len(IDS))]}


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    return xs.screen(frame_of_codes(), ["phq9"], id_column="sid").table


@pytest.mark.parametrize("link,style", [("loinc-path", "coding"), ("loinc", "integer"),
                                        ("id", "ordinal"), ("number", "coding")])
def test_bundle_gives_the_csv_totals(tmp_path, expected, link, style):
    path = tmp_path / "bundle.json"
    doc = bundle(link, style)
    validate_fhir(doc)  # the test input itself is valid FHIR
    path.write_text(json.dumps(doc), encoding="utf-8")
    loaded = load_answers(path, [PHQ9])
    assert loaded.plan.id_column == "subject"
    result = xs.screen(loaded.data, ["phq9"], id_column="subject",
                       columns=loaded.plan.columns)
    assert result.table["subject"].tolist() == IDS
    for col in ("phq9.total", "phq9.total.band", "warning_tier", "status"):
        pd.testing.assert_series_equal(result.table[col], expected[col], check_names=False)


def test_ndjson_via_cli_and_fhir_output_validates(cli, tmp_path, expected):
    src = tmp_path / "responses.ndjson"
    src.write_text("".join(json.dumps(qr(k, "number", "coding", gad=True)) + "\n"
                           for k in range(len(IDS))), encoding="utf-8")
    out, csv_out = tmp_path / "results.fhir.json", tmp_path / "results.csv"
    run = cli("score", src, "-i", "phq9", "-i", "gad7", "-o", out)
    assert run.code in (0, 1), run.err
    assert cli("score", src, "-i", "phq9", "-i", "gad7", "-o", csv_out).code in (0, 1)
    doc = json.loads(out.read_text(encoding="utf-8"))
    validate_fhir(doc)
    obs = [e["resource"] for e in doc["entry"]]
    phq = [o for o in obs if o["code"]["coding"][0]["code"] == "44261-6"]
    gad = [o for o in obs if o["code"]["coding"][0]["code"] == "70274-6"]
    assert len(phq) == len(gad) == len(IDS)  # every row once per LOINC-coded scale
    totals = [o.get("valueQuantity", {}).get("value") for o in phq]
    ref = [None if np.isnan(v) else v for v in expected["phq9.total"]]
    assert totals == ref
    assert [o["subject"]["identifier"]["value"] for o in phq] == IDS
    assert all("dataAbsentReason" in o for o in phq if "valueQuantity" not in o)
    gad_csv = pd.read_csv(csv_out, encoding="utf-8-sig")["gad7.total"].tolist()
    assert [o["valueQuantity"]["value"] for o in gad] == gad_csv
    for o in phq:
        validate_fhir(o)


def test_ndjson_output_and_derived_from(tmp_path):
    src = tmp_path / "b.json"
    src.write_text(json.dumps(bundle("loinc", "coding")), encoding="utf-8")
    loaded = load_answers(src, [PHQ9])
    result = xs.screen(loaded.data, ["phq9"], id_column="subject", columns=loaded.plan.columns)
    out = tmp_path / "obs.ndjson"
    xs.io.write_result(result, out, instruments=[PHQ9],
                       response_ids=loaded.data["questionnaire_response"].tolist())
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(IDS)  # one per row: only the total carries a LOINC code
    for o in lines:
        validate_fhir(o)
    assert lines[0]["derivedFrom"] == [{"reference": "QuestionnaireResponse/qr-0"}]


def test_bad_fhir_is_a_clean_error(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                "entry": [{"resource": {"resourceType": "Patient",
                                                        "id": "SECRET"}}]}), encoding="utf-8")
    with pytest.raises(xs.ResponseDataError, match="no QuestionnaireResponse"):
        read_fhir(path)
    path.write_text('{"resourceType": "Bundle", ', encoding="utf-8")
    with pytest.raises(xs.ResponseDataError, match="JSON"):
        read_fhir(path)


def test_two_answers_to_one_item_is_a_failure(tmp_path):
    res = qr(0, "id", "integer")
    res["item"][0]["answer"].append({"valueInteger": 1})
    path = tmp_path / "two.json"
    path.write_text(json.dumps(res), encoding="utf-8")
    loaded = load_answers(path, [PHQ9])
    result = xs.screen(loaded.data, ["phq9"], columns=loaded.plan.columns)
    assert result.failures["code"].tolist() == ["unrecognised-text"]
    assert result.table.loc[0, "status"] == "invalid"
    assert ITEMS[0] == result.failures.loc[0, "item"]


def test_streamed_fhir_ndjson_equals_in_memory(cli, tmp_path):
    src = tmp_path / "a.csv"
    frame_of_codes().to_csv(src, index=False)
    mem, streamed = tmp_path / "m.ndjson", tmp_path / "s.ndjson"
    a = cli("score", src, "-i", "phq9", "--id-column", "sid", "-o", mem, "--chunk-size", 0)
    b = cli("score", src, "-i", "phq9", "--id-column", "sid", "-o", streamed,
            "--chunk-size", 7)
    assert a.code == b.code
    assert mem.read_text(encoding="utf-8") == streamed.read_text(encoding="utf-8")
    assert (tmp_path / "s.ndjson.provenance.json").exists()
    for line in streamed.read_text(encoding="utf-8").splitlines():
        validate_fhir(json.loads(line))
