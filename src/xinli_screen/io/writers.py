"""Write a :class:`~xinli_screen.result.ScreeningResult` as CSV, XLSX, Parquet or JSON.

CSV is written as UTF-8 with BOM so that Excel on Chinese Windows shows Chinese text correctly.
Provenance goes into a ``provenance`` sheet (XLSX), into the JSON document, or into a sidecar
``<output>.provenance.json`` (CSV, Parquet). Text cells are never written as spreadsheet formulas.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from xinli_screen.result import ScreeningResult

__all__ = [
    "FAILURE_FORMATS",
    "OUTPUT_FORMATS",
    "csv_safe",
    "sidecar_path",
    "write_failures",
    "write_result",
]

OUTPUT_FORMATS = (".csv", ".xlsx", ".parquet", ".json")
FAILURE_FORMATS = (".csv", ".xlsx")
_FORMULA = r"^(?:[=+@\t\r]|-[^0-9.])"


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


def write_result(result: ScreeningResult, path: str | Path) -> list[Path]:
    """Write the result table (and provenance) to ``path``; format from the extension.

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
    if suffix == ".csv":
        csv_safe(result.table).to_csv(path, index=False, encoding="utf-8-sig")
    elif suffix == ".xlsx":
        prov = pd.DataFrame({"key": list(result.provenance),
                             "value": [json.dumps(v, ensure_ascii=False)
                                       for v in result.provenance.values()]})
        _write_xlsx({"results": result.table, "failures": result.failures,
                     "reasons": result.reasons, "provenance": prov}, path)
        return [path]
    elif suffix == ".parquet":
        table = result.table.copy()
        table["warning_tier"] = table["warning_tier"].astype(str)
        table.to_parquet(path, index=False)
    elif suffix == ".json":
        path.write_text(result.to_json(indent=1), encoding="utf-8")
        return [path]
    else:
        raise ValueError(f"unsupported output type {suffix!r}; use one of {OUTPUT_FORMATS}")
    side = sidecar_path(path)
    side.write_text(provenance, encoding="utf-8")
    return [path, side]


def write_failures(result: ScreeningResult, path: str | Path) -> Path:
    """Write the failures table as CSV (UTF-8 with BOM) or XLSX, by extension."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        _write_xlsx({"failures": result.failures}, path)
    else:
        csv_safe(result.failures).to_csv(path, index=False, encoding="utf-8-sig")
    return path
