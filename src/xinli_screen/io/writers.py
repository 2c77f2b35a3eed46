"""Write a :class:`~xinli_screen.result.ScreeningResult` as CSV, XLSX, Parquet, JSON or FHIR.

CSV is written as UTF-8 with BOM by default so that Excel on Chinese Windows shows Chinese text
correctly (``bom=False`` for tools that do not expect one). A name ending in ``.fhir.json`` or
``.fhir.ndjson`` (or plain ``.ndjson``) writes FHIR R4 Observations with the scales' LOINC codes
(:mod:`xinli_screen.io.fhir`).
Provenance goes into a ``provenance`` sheet (XLSX), into the JSON document, or into a sidecar
``<output>.provenance.json`` (CSV, Parquet). Text cells are never written as spreadsheet formulas.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xinli_screen.instrument.models import Instrument
from xinli_screen.io.fhir import result_observations, write_fhir
from xinli_screen.result import ScreeningResult

__all__ = [
    "FAILURE_FORMATS",
    "OUTPUT_FORMATS",
    "arrow_table",
    "csv_safe",
    "is_fhir_output",
    "sidecar_path",
    "write_failures",
    "write_result",
]

OUTPUT_FORMATS = (".csv", ".xlsx", ".parquet", ".json", ".ndjson")
FAILURE_FORMATS = (".csv", ".xlsx")
_FORMULA = r"^(?:[=+@\t\r]|-[^0-9.])"


def is_fhir_output(path: Path) -> bool:
    """True for ``*.fhir.json``, ``*.fhir.ndjson`` and ``*.ndjson`` output names."""
    name = path.name.lower()
    return name.endswith((".fhir.json", ".fhir.ndjson", ".ndjson"))


def sidecar_path(path: Path) -> Path:
    """``results.csv`` -> ``results.csv.provenance.json``."""
    return path.with_name(path.name + ".provenance.json")


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(object)
    return out


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe.

    Applies to text starting with ``=``, ``+``, ``@``, tab, carriage return, or ``-`` not
    followed by a digit (OWASP CSV-injection guidance); numbers are untouched. Only CSV output
    needs it: XLSX cells are written as text.
    """
    out = _plain(frame)
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            text = out[col]
            risky = text.astype(str).str.contains(_FORMULA, regex=True) & text.notna()
            if risky.any():
                out[col] = text.where(~risky, "'" + text.astype(str))
    return out


def _write_xlsx(sheets: dict[str, pd.DataFrame], path: Path) -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            _plain(frame).to_excel(writer, sheet_name=name, index=False)
            for row in writer.sheets[name].iter_rows():
                for cell in row:
                    if cell.data_type == "f":  # text such as "=..." must stay text
                        cell.data_type = "s"


def write_result(result: ScreeningResult, path: str | Path, *, bom: bool = True,
                 instruments: Sequence[Instrument] | None = None,
                 response_ids: Sequence[Any] | None = None) -> list[Path]:
    """Write the result table (and provenance) to ``path``; format from the extension.

    Parameters
    ----------
    result : ScreeningResult
    path : str or Path
        ``.csv``, ``.xlsx``, ``.parquet``, ``.json``; ``.fhir.json`` / ``.fhir.ndjson`` /
        ``.ndjson`` for FHIR Observations (needs ``instruments``).
    bom : bool, default True
        CSV only: start with a UTF-8 byte-order mark (Excel on Chinese Windows needs it).
    instruments : sequence of Instrument, optional
        The screened instruments (FHIR output: LOINC codes of the scales).
    response_ids : sequence, optional
        FHIR output: the input QuestionnaireResponse id of each row (``derivedFrom``).

    Returns
    -------
    list of Path
        Files written.

    Raises
    ------
    ValueError
        Unsupported extension (supported: :data:`OUTPUT_FORMATS`).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    provenance = json.dumps(result.provenance, ensure_ascii=False, indent=2)
    if is_fhir_output(path):
        if instruments is None:
            raise ValueError("FHIR output needs the screened instruments")
        write_fhir(result_observations(result.table, instruments,
                                       id_column=result.provenance.get("id_column"),
                                       response_ids=response_ids), path)
    elif suffix == ".csv":
        csv_safe(result.table).to_csv(path, index=False,
                                      encoding="utf-8-sig" if bom else "utf-8")
    elif suffix == ".xlsx":
        prov = pd.DataFrame({"key": list(result.provenance),
                             "value": [json.dumps(v, ensure_ascii=False)
                                       for v in result.provenance.values()]})
        _write_xlsx({"results": result.table, "failures": result.failures,
                     "reasons": result.reasons, "provenance": prov}, path)
        return [path]
    elif suffix == ".parquet":
        arrow_table(result.table).to_parquet(path, index=False)
    elif suffix == ".json":
        path.write_text(result.to_json(indent=1), encoding="utf-8")
        return [path]
    else:
        raise ValueError(f"unsupported output type {suffix!r}; use one of {OUTPUT_FORMATS}")
    side = sidecar_path(path)
    side.write_text(provenance, encoding="utf-8")
    return [path, side]


def write_failures(result: ScreeningResult, path: str | Path, *, bom: bool = True) -> Path:
    """Write the failures table as CSV (UTF-8, with BOM unless ``bom=False``) or XLSX."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        _write_xlsx({"failures": result.failures}, path)
    else:
        csv_safe(result.failures).to_csv(path, index=False,
                                         encoding="utf-8-sig" if bom else "utf-8")
    return path


def arrow_table(table: pd.DataFrame) -> pd.DataFrame:
    """The result table with the column types Parquet output uses.

    ``warning_tier`` as text, and every text column as nullable string, so that a column that
    happens to be all-empty in one chunk gets the same type as in the whole table (streamed
    Parquet output has one schema).
    """
    out = table.copy()
    out["warning_tier"] = out["warning_tier"].astype(str)
    for col in out.columns:
        dtype = out[col].dtype
        textual = pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)
        if textual and pd.api.types.infer_dtype(out[col], skipna=True) in {"string", "empty"}:
            out[col] = out[col].astype("string[pyarrow]")
    return out
