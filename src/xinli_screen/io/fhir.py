"""FHIR (R4) in and out: QuestionnaireResponse -> answer table; scores -> Observation.

Reading
    A Bundle (``.json``) of QuestionnaireResponse resources, a single QuestionnaireResponse, or
    NDJSON (``.ndjson``/``.jsonl``, one resource per line, the FHIR bulk-data format). Each
    QuestionnaireResponse becomes one row: ``subject`` (the reference's id, or the subject
    identifier's value), ``questionnaire_response`` (the resource id) and one column per
    answered ``linkId`` (nested groups are flattened). An answer becomes text: a number as
    is; a coding by its ordinal value (``ordinalValue``/``itemWeight`` extension), else its
    LOINC answer code's meaning (``LA6568-5`` = "Not at all" ...), else its display, else
    its code. :func:`fhir_item_columns` then matches the instrument's items to the columns
    by ``linkId``: the item id, the item's LOINC code (``44250-9`` or a path such as
    ``/44249-1/44250-9``), or the item number inside a group whose linkId is the
    instrument's panel code (PHQ-9 44249-1, GAD-7 69737-5) or in a response whose
    ``questionnaire`` ends in it; an item ``code`` (written by some exporters) also counts.

Writing
    :func:`result_observations` turns a screening table into one Observation per row and
    scale with a LOINC code (PHQ-9 total 44261-6, GAD-7 total 70274-6): ``valueQuantity``
    with the score, ``interpretation`` with the severity band, ``dataAbsentReason`` when the
    scale could not be scored (so every row appears once per scale), ``identifier`` with the
    input row, ``subject`` by identifier (the pupil id) and ``derivedFrom`` the input
    QuestionnaireResponse when known. :func:`write_fhir` writes them as a ``collection``
    Bundle (``.json``) or NDJSON. :func:`validate_fhir` checks resources with the
    ``fhir.resources`` models (optional dependency: ``pip install 'xinli-screen[fhir]'``).

Sources: HL7 FHIR R4 QuestionnaireResponse, Observation and Bundle
(https://hl7.org/fhir/R4/); LOINC 44249-1 (PHQ-9 panel), 44261-6 (PHQ-9 total), 69737-5
(GAD-7 panel), 70274-6 (GAD-7 total) and answer list LL358-3.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen.errors import ResponseDataError
from xinli_screen.instrument.models import Instrument
from xinli_screen.io.jsonl import cell_text, iter_json_lines, loads_bounded

__all__ = [
    "LOINC_ANSWERS",
    "LOINC_SYSTEM",
    "fhir_item_columns",
    "is_fhir_json",
    "read_fhir",
    "result_observations",
    "validate_fhir",
    "write_fhir",
]

LOINC_SYSTEM = "http://loinc.org"

#: LOINC answer codes of the PHQ/GAD answer lists (LL358-3 frequency, LL359-1 difficulty),
#: mapped to their English meaning, which the instrument's option labels resolve to a code.
LOINC_ANSWERS = {
    "LA6568-5": "Not at all",
    "LA6569-3": "Several days",
    "LA6570-1": "More than half the days",
    "LA6571-9": "Nearly every day",
    "LA6572-7": "Not difficult at all",
    "LA6573-5": "Somewhat difficult",
    "LA6575-0": "Very difficult",
    "LA6574-3": "Extremely difficult",
}

_ORDINAL_URLS = (
    "http://hl7.org/fhir/StructureDefinition/ordinalValue",
    "http://hl7.org/fhir/StructureDefinition/itemWeight",
    "http://hl7.org/fhir/StructureDefinition/iso21090-CO-value",
)
_FHIR_ID = re.compile(r"[^A-Za-z0-9\-.]")

#: Columns the reader adds before the item columns.
SUBJECT_COLUMN = "subject"
RESPONSE_COLUMN = "questionnaire_response"


# ---------------------------------------------------------------- reading


def is_fhir_json(obj: Any) -> bool:
    """True when ``obj`` (parsed JSON) is a FHIR resource (has ``resourceType``)."""
    return isinstance(obj, dict) and isinstance(obj.get("resourceType"), str)


def _codes(node: Mapping[str, Any]) -> list[str]:
    return [str(c.get("code")) for c in node.get("code", []) or []
            if isinstance(c, dict) and c.get("code")]


def _coding_text(coding: Mapping[str, Any]) -> Any:
    for ext in coding.get("extension", []) or []:
        if isinstance(ext, dict) and ext.get("url") in _ORDINAL_URLS:
            for key in ("valueDecimal", "valueInteger"):
                if key in ext:
                    return cell_text(ext[key])
    code = coding.get("code")
    if isinstance(code, str) and code in LOINC_ANSWERS:
        return LOINC_ANSWERS[code]
    if coding.get("display"):
        return str(coding["display"])
    return cell_text(code)


def _answer_text(answers: Sequence[Any]) -> Any:
    values = []
    for ans in answers:
        if not isinstance(ans, dict):
            continue
        for key, value in ans.items():
            if not key.startswith("value"):
                continue
            if key == "valueCoding" and isinstance(value, dict):
                values.append(_coding_text(value))
            elif isinstance(value, (dict, list)):
                values.append(f"({key})")  # a type that is not an answer code: a failure
            else:
                values.append(cell_text(value))
    if not values:
        return np.nan
    if len(values) > 1:
        return "(several answers)"  # a single-choice item answered twice: a failure
    return values[0]


def _walk(items: Iterable[Any], prefix: tuple[str, ...], cells: dict[str, Any],
          codes: dict[str, list[str]], groups: dict[str, list[str]], parent: str = "") -> None:
    """Collect answers; a nested item's column is ``group/linkId`` (linkIds repeat across
    groups, e.g. numbered items of two panels)."""
    for node in items or []:
        if not isinstance(node, dict) or "linkId" not in node:
            continue
        link = str(node["linkId"])
        key = f"{parent}/{link.strip('/')}" if parent else link
        path = (*prefix, *_codes(node), link.rstrip("/").rsplit("/", 1)[-1])
        if node.get("answer"):
            cells[key] = _answer_text(node["answer"])
            codes.setdefault(key, _codes(node))
            groups.setdefault(key, list(path))
            for ans in node["answer"]:
                if isinstance(ans, dict) and ans.get("item"):
                    _walk(ans["item"], path, cells, codes, groups, key)
        if node.get("item"):
            _walk(node["item"], path, cells, codes, groups, key.strip("/"))


def _subject(resource: Mapping[str, Any]) -> Any:
    subject = resource.get("subject")
    if not isinstance(subject, dict):
        return np.nan
    ref = subject.get("reference")
    if isinstance(ref, str) and ref:
        return ref.rstrip("/").rsplit("/", 1)[-1]
    ident = subject.get("identifier")
    if isinstance(ident, dict) and ident.get("value") is not None:
        return str(ident["value"])
    return np.nan


def _resources(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(where, resource)`` for every QuestionnaireResponse in the file."""
    if path.suffix.lower() in {".ndjson", ".jsonl"}:
        for number, obj in iter_json_lines(path):
            yield f"line {number}", obj
        return
    try:
        doc = loads_bounded(path.read_text(encoding="utf-8-sig"), str(path))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResponseDataError(f"{path}: cannot read as JSON ({type(exc).__name__}) "
                                "(see docs/cli.md#input-formats)") from None
    if not is_fhir_json(doc):
        raise ResponseDataError(f"{path}: not a FHIR resource (no resourceType) "
                                "(see docs/cli.md#fhir)")
    if doc["resourceType"] == "Bundle":
        for k, entry in enumerate(doc.get("entry", []) or []):
            res = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(res, dict):
                yield f"entry {k}", res
    else:
        yield "resource", doc


def read_fhir(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read QuestionnaireResponse resources into an answer table.

    Parameters
    ----------
    path : Path
        Bundle or single resource (``.json``), or NDJSON (``.ndjson``/``.jsonl``).

    Returns
    -------
    frame : DataFrame, shape (n_responses, 2 + n_linkIds)
        ``subject``, ``questionnaire_response``, then one text column per answered linkId
        (nested items: ``group/linkId``; first-seen order); one row per
        QuestionnaireResponse in file order.
    info : dict
        ``format`` ("fhir"), ``item_codes`` (linkId -> item codes), ``item_groups`` (linkId
        -> codes of the enclosing groups, outermost first), ``questionnaires`` (distinct
        canonical URLs), ``skipped_resources`` (count of non-QuestionnaireResponse entries).

    Raises
    ------
    ResponseDataError
        Unreadable JSON, no resourceType, or no QuestionnaireResponse at all.
    """
    rows: list[dict[str, Any]] = []
    columns: dict[str, None] = {}
    codes: dict[str, list[str]] = {}
    groups: dict[str, list[str]] = {}
    questionnaires: dict[str, None] = {}
    skipped = 0
    for _where, res in _resources(path):
        if res.get("resourceType") != "QuestionnaireResponse":
            skipped += 1
            continue
        cells: dict[str, Any] = {}
        q = res.get("questionnaire")
        panel = [] if not isinstance(q, str) else [q.rstrip("/").rsplit("/", 1)[-1]]
        if isinstance(q, str):
            questionnaires.setdefault(q, None)
        _walk(res.get("item", []), tuple(panel), cells, codes, groups)
        row = {SUBJECT_COLUMN: _subject(res),
               RESPONSE_COLUMN: cell_text(res.get("id")),
               **cells}
        for key in cells:
            columns.setdefault(key, None)
        rows.append(row)
    if not rows:
        raise ResponseDataError(f"{path}: no QuestionnaireResponse found "
                                "(see docs/cli.md#fhir)")
    names = [SUBJECT_COLUMN, RESPONSE_COLUMN, *[c for c in columns
                                                 if c not in {SUBJECT_COLUMN, RESPONSE_COLUMN}]]
    frame = pd.DataFrame.from_records(rows, columns=names).astype(object)
    frame = frame.where(frame.notna(), np.nan)
    info = {"format": "fhir", "item_codes": codes, "item_groups": groups,
            "questionnaires": list(questionnaires), "skipped_resources": skipped}
    return frame, info


def fhir_item_columns(columns: Sequence[str], info: Mapping[str, Any],
                      instruments: Sequence[Instrument]) -> dict[str, str]:
    """Match instrument items to the linkId columns of :func:`read_fhir`.

    An item matches a column when the linkId equals the item id, when the linkId's last
    ``/`` segment (or a ``code`` on the answer item) equals the item's LOINC code, or when
    the linkId's last segment is the item number and an enclosing group's linkId (or code,
    or the questionnaire URL) is the instrument's panel LOINC code.

    Returns
    -------
    dict item id -> column
    """
    codes: Mapping[str, list[str]] = info.get("item_codes", {})
    groups: Mapping[str, list[str]] = info.get("item_groups", {})
    out: dict[str, str] = {}
    for inst in instruments:
        for item in inst.items:
            for col in columns:
                tail = str(col).rstrip("/").rsplit("/", 1)[-1]
                by_id = col == item.id or tail == item.id
                by_code = item.loinc is not None and (
                    tail == item.loinc or item.loinc in codes.get(col, []))
                by_number = (inst.loinc is not None and inst.loinc in groups.get(col, [])
                             and tail == str(item.number))
                if by_id or by_code or by_number:
                    out.setdefault(item.id, col)
                    break
    return out


# ---------------------------------------------------------------- writing


def _fhir_id(text: str) -> str:
    return _FHIR_ID.sub("-", text)[:64]


def result_observations(
    table: pd.DataFrame,
    instruments: Sequence[Instrument],
    *,
    id_column: str | None = None,
    response_ids: Sequence[Any] | None = None,
    row_offset: int = 0,
    lang: str = "en",
) -> Iterator[dict[str, Any]]:
    """Yield one Observation (dict) per row and LOINC-coded scale of the screening table.

    Parameters
    ----------
    table : DataFrame, shape (n_rows, n_columns)
        ``ScreeningResult.table`` (or one chunk of it).
    instruments : sequence of Instrument
        The screened instruments; scales without a ``loinc`` code are not written.
    id_column : str, optional
        Pupil id column: written as ``subject.identifier.value``.
    response_ids : sequence, optional
        Input QuestionnaireResponse ids, one per row, for ``derivedFrom``.
    row_offset : int
        Row number of the first row (for chunks).
    lang : {"en", "zh"}
        Language of the band label in ``interpretation.text``.

    Yields
    ------
    dict
        A FHIR R4 Observation.
    """
    n = len(table)
    ids = table[id_column].to_numpy(dtype=object) if id_column else None
    status = table["status"].to_numpy(dtype=object)
    for inst in instruments:
        for scale in inst.scales:
            if not scale.loinc:
                continue
            name = f"{inst.id}.{scale.id}"
            if name not in table.columns:
                continue
            scores = table[name].to_numpy(dtype=float, na_value=np.nan)
            bands = (table[f"{name}.band"].to_numpy(dtype=object)
                     if f"{name}.band" in table.columns else np.full(n, None, dtype=object))
            band_labels = {b.id: b.label.get(lang) for b in scale.bands}
            code = {"coding": [{"system": LOINC_SYSTEM, "code": scale.loinc,
                                "display": scale.name.get("en")}],
                    "text": scale.name.get(lang)}
            for i in range(n):
                row = row_offset + i
                obs: dict[str, Any] = {
                    "resourceType": "Observation",
                    "id": _fhir_id(f"xs-{row}-{inst.id}-{scale.id}"),
                    "identifier": [{"system": "urn:xinli-screen:row",
                                    "value": f"{row}/{name}"}],
                    "status": "final",
                    "category": [{"coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "survey", "display": "Survey"}]}],
                    "code": code,
                }
                if ids is not None and ids[i] is not None and not pd.isna(ids[i]):
                    obs["subject"] = {"identifier": {"value": str(ids[i])}}
                if response_ids is not None:
                    ref = response_ids[i]
                    if ref is not None and not pd.isna(ref) and str(ref):
                        obs["derivedFrom"] = [{"reference":
                                               f"QuestionnaireResponse/{_fhir_id(str(ref))}"}]
                if np.isnan(scores[i]):
                    obs["dataAbsentReason"] = {
                        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                    "data-absent-reason", "code": "not-performed"}],
                        "text": f"not scored: {status[i]}"}
                else:
                    value = float(scores[i])
                    obs["valueQuantity"] = {
                        "value": int(value) if value == int(value) else round(value, 4),
                        "unit": "{score}", "system": "http://unitsofmeasure.org",
                        "code": "{score}"}
                    band = bands[i]
                    if band is not None and not pd.isna(band) and str(band) in band_labels:
                        obs["interpretation"] = [{"text": band_labels[str(band)]}]
                yield obs


def write_fhir(observations: Iterable[dict[str, Any]], path: Path, *, append: bool = False
               ) -> None:
    """Write Observations as NDJSON (``.ndjson``/``.jsonl``) or a collection Bundle.

    ``append`` (NDJSON only) adds to an existing file: used when writing chunk by chunk.
    """
    if path.suffix.lower() in {".ndjson", ".jsonl"}:
        with path.open("a" if append else "w", encoding="utf-8") as fh:
            for obs in observations:
                fh.write(json.dumps(obs, ensure_ascii=False) + "\n")
        return
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"fullUrl": f"urn:uuid:{_uuid(obs['id'])}", "resource": obs}
                        for obs in observations]}
    path.write_text(json.dumps(bundle, ensure_ascii=False, indent=1), encoding="utf-8")


def _uuid(text: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, "xinli-screen:" + text))


def validate_fhir(resource: Mapping[str, Any]) -> None:
    """Validate one resource (Bundle, Observation, QuestionnaireResponse) against FHIR R4B.

    Raises
    ------
    ImportError
        ``fhir.resources`` is not installed (``pip install 'xinli-screen[fhir]'``).
    pydantic.ValidationError
        The structure is not valid FHIR.
    """
    import importlib

    kind = str(resource.get("resourceType"))
    module = importlib.import_module(f"fhir.resources.R4B.{kind.lower()}")
    model = getattr(module, kind)
    model.model_validate(dict(resource))
