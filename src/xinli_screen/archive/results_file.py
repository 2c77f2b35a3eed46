"""Read a results file written by ``xinli-screen score`` back into a table and its provenance.

Supported: ``.json`` (the document of :meth:`ScreeningResult.to_json`), ``.xlsx`` (sheets
``results`` and ``provenance``), ``.csv`` and ``.parquet`` (with the sidecar
``<file>.provenance.json`` when present). The pupil id column is read as text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from xinli_screen.errors import ResponseDataError

__all__ = ["RESULT_FILE_TYPES", "read_results_file"]

RESULT_FILE_TYPES = (".json", ".xlsx", ".csv", ".parquet")


def _sidecar(path: Path) -> dict[str, Any]:
    side = path.with_name(path.name + ".provenance.json")
    if side.exists():
        return json.loads(side.read_text(encoding="utf-8"))
    return {}


def read_results_file(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a scored results file.

    Parameters
    ----------
    path : str or Path
        ``.json``, ``.xlsx``, ``.csv`` or ``.parquet`` written by ``xinli-screen score``.

    Returns
    -------
    (table, provenance)
        ``table``: DataFrame, one row per scored answer sheet (columns as in
        :class:`~xinli_screen.result.ScreeningResult`); the id column as text.
        ``provenance``: dict (empty when the file carries none).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ResponseDataError
        Unsupported type, or the file is not a results table (no ``warning_tier`` column).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"results file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".json":
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or "table" not in doc:
            raise ResponseDataError(f"{path.name}: not a results document (no 'table')")
        provenance = doc.get("provenance") or {}
        table = pd.DataFrame.from_records(doc["table"])
    elif suffix == ".xlsx":
        sheets = pd.ExcelFile(path).sheet_names
        if "results" not in sheets:
            raise ResponseDataError(f"{path.name}: no sheet named 'results'")
        provenance = {}
        if "provenance" in sheets:
            prov = pd.read_excel(path, sheet_name="provenance", dtype=str,
                                 keep_default_na=False)
            provenance = {str(k): json.loads(v) if v else None
                          for k, v in zip(prov["key"], prov["value"], strict=True)}
        id_col = provenance.get("id_column")
        table = pd.read_excel(path, sheet_name="results",
                              dtype={id_col: str} if id_col else None)
    elif suffix == ".csv":
        provenance = _sidecar(path)
        id_col = provenance.get("id_column")
        table = pd.read_csv(path, encoding="utf-8-sig", dtype={id_col: str} if id_col else None,
                            keep_default_na=True)
    elif suffix == ".parquet":
        provenance = _sidecar(path)
        table = pd.read_parquet(path)
    else:
        raise ResponseDataError(f"unsupported results file type {suffix!r}; use one of "
                                f"{', '.join(RESULT_FILE_TYPES)}")
    if "warning_tier" not in table.columns:
        raise ResponseDataError(f"{path.name}: not a results table (no 'warning_tier' column); "
                                "write one with `xinli-screen score ... -o FILE`")
    id_col = provenance.get("id_column")
    if id_col and id_col in table.columns:
        table[id_col] = table[id_col].astype(object).where(table[id_col].notna(), None)
        table[id_col] = table[id_col].map(lambda v: v if v is None else str(v))
    for col in ("critical_items", "reasons", "reason_codes"):
        if col in table.columns:
            table[col] = table[col].astype(object).where(table[col].notna(), "")
    return table, provenance
