"""Write 问卷星-style XLSX downloads with openpyxl, byte for byte reproducibly.

openpyxl stamps the current time into ``docProps/core.xml`` and into every zip entry; the
written file is therefore repacked with a fixed time, so the same seed gives the same bytes.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import openpyxl

__all__ = ["replace_text", "write_xlsx"]

_STAMP = (2026, 9, 30, 0, 0, 0)
_ISO = b"2026-09-30T00:00:00Z"
_DCTERMS = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def _repack(path: Path, replace: Mapping[str, tuple[bytes, bytes]] | None = None) -> None:
    """Rewrite the zip at ``path`` with fixed times; ``replace`` maps entry -> (old, new)."""
    with zipfile.ZipFile(path) as archive:
        entries = [(info.filename, archive.read(info)) for info in archive.infolist()]
    absent = set(replace or {}) - {name for name, _ in entries}
    if absent:
        raise ValueError(f"{path.name}: no entry {sorted(absent)}")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = _DCTERMS.sub(rb"\g<1>" + _ISO + rb"\g<2>", data)
            if replace and name in replace:
                old, new = replace[name]
                if data.count(old) != 1:
                    raise ValueError(f"{path.name}:{name}: {old!r} occurs "
                                     f"{data.count(old)} times, expected once")
                data = data.replace(old, new)
            info = zipfile.ZipInfo(name, date_time=_STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            archive.writestr(info, data)


def write_xlsx(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]],
               sheet: str = "Sheet1") -> None:
    """Write one sheet (header row, then ``rows``) with openpyxl's write-only workbook."""
    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet(sheet)
    ws.append(list(header))
    for row in rows:
        ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    _repack(path)


def replace_text(source: Path, target: Path, old: str, new: str) -> None:
    """Copy ``source`` to ``target`` with the one cell holding ``old`` set to ``new``.

    Used for a corrected re-download: the same export with one cell (a mistyped 学号, a text
    that occurs nowhere else in the file) changed. openpyxl's write-only sheets hold their
    text inline, so the cell is replaced in the sheet itself.

    Raises
    ------
    ValueError
        ``old`` is not exactly one cell of the sheet.
    """
    target.write_bytes(source.read_bytes())
    _repack(target, {"xl/worksheets/sheet1.xml": (f"<t>{old}</t>".encode(),
                                                  f"<t>{new}</t>".encode())})
