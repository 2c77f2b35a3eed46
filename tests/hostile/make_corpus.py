"""Generate the hostile-input corpus of issue 15 into a folder (no binary blobs committed).

Every answer file holds PHQ-9 answers with the id column ``sid``, a name column ``姓名`` and a
free-text column ``备注``; the ids, names and free text carry sentinels (:data:`SENTINEL`) that
must never appear in stdout, stderr or an exception's text. Each :class:`Case` says how many
data rows the file has (None when the file is malformed on purpose and a named error is the
right outcome) and which option the file is given as (``input`` for answer files, ``--columns``,
``-i`` or ``--policy`` for YAML definitions).

Run ``python tests/hostile/make_corpus.py DIR`` to write the files and print the list.
"""

from __future__ import annotations

import io
import json
import random
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: Marks every id, name and free-text answer: never to be printed.
SENTINEL = "ZZSENT"
ITEMS = [f"phq9_{k:02d}" for k in range(1, 10)]
HEADER = ["sid", "姓名", "备注", *ITEMS]
N_ROWS = 12


@dataclass(frozen=True)
class Case:
    """One corpus file.

    Attributes
    ----------
    name : str
        File name (the extension decides the reader).
    kind : str
        Which hostility (for the results table).
    rows : int or None
        Data rows in the file; None when a named error is the expected outcome.
    role : {"input", "--columns", "-i", "--policy"}
        How the file is given to ``xinli-screen score``.
    """

    name: str
    kind: str
    rows: int | None
    role: str = "input"


def _rows(n: int = N_ROWS) -> list[list[str]]:
    out = []
    for r in range(n):
        answers = [str((r + k) % 4) for k in range(9)]
        out.append([f"{SENTINEL}ID{r:03d}", f"{SENTINEL}名{r}", f"{SENTINEL}答{r}", *answers])
    return out


def _csv_text(rows: list[list[str]], header: list[str] = HEADER, sep: str = ",",
              newline: str = "\n") -> str:
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _xlsx(rows: list[list[object]], header: list[str] = HEADER) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _parquet(frame_rows: list[list[object]], columns: list[str] = HEADER,
             **extra: list[object]) -> bytes:
    import pandas as pd

    frame = pd.DataFrame(frame_rows, columns=columns)
    for key, values in extra.items():
        frame[key] = values
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def _laughs() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
        prev = name
    return "\n".join(lines) + "\n"


def _garbage(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def _cases() -> list[tuple[Case, Callable[[], bytes]]]:
    rows = _rows()
    good = _csv_text(rows)
    utf8 = good.encode("utf-8")
    out: list[tuple[Case, Callable[[], bytes]]] = []

    def add(case: Case, make: Callable[[], bytes]) -> None:
        out.append((case, make))

    # --- CSV -------------------------------------------------------------------------
    add(Case("good.csv", "well-formed", N_ROWS), lambda: utf8)
    add(Case("bom.csv", "UTF-8 BOM", N_ROWS), lambda: good.encode("utf-8-sig"))
    add(Case("gbk.csv", "GB18030", N_ROWS), lambda: good.encode("gb18030"))
    add(Case("utf16_bom.csv", "UTF-16 with BOM", N_ROWS), lambda: good.encode("utf-16"))
    add(Case("utf16_nobom.csv", "UTF-16 without BOM", None), lambda: good.encode("utf-16-le"))
    add(Case("big5.csv", "Big5", N_ROWS),
        lambda: _csv_text([[r[0], "陳大文", "無", *r[3:]] for r in rows],
                          ["sid", "姓名", "備註", *ITEMS]).encode("big5"))
    add(Case("truncated.csv", "truncated mid-row", N_ROWS), lambda: utf8[: utf8.rfind(b",") - 3])
    add(Case("empty.csv", "empty file", None), lambda: b"")
    add(Case("whitespace.csv", "blank lines only", None), lambda: b"\n\n  \n")
    add(Case("only_header.csv", "header only", 0), lambda: (",".join(HEADER) + "\n").encode())
    add(Case("blank_lines.csv", "blank lines between rows", N_ROWS),
        lambda: utf8.replace(b"\n", b"\n\n"))
    add(Case("crlf_mixed.csv", "CRLF and LF mixed", N_ROWS),
        lambda: utf8.replace(b"\n", b"\r\n", 5))
    add(Case("semicolon.csv", "semicolon delimiter", N_ROWS),
        lambda: _csv_text(rows, sep=";").encode())
    add(Case("ragged_more.csv", "a row with an extra cell", None),
        lambda: _csv_text([*rows[:5], [*rows[5], "9"], *rows[6:]]).encode())
    add(Case("ragged_fewer.csv", "a row with fewer cells", N_ROWS),
        lambda: _csv_text([*rows[:5], rows[5][:6], *rows[6:]]).encode())
    add(Case("stray_quote.csv", "stray quote merging rows", None),
        lambda: good.encode().replace(
            f"{SENTINEL}答3,".encode(), f'"{SENTINEL}答3,'.encode()).replace(
            f"{SENTINEL}答6,".encode(), f'{SENTINEL}答6",'.encode()))
    add(Case("unclosed_quote.csv", "quote never closed", None),
        lambda: utf8.replace(f"{SENTINEL}答9,".encode(), f'"{SENTINEL}答9,'.encode()))
    add(Case("dup_header.csv", "duplicated item header", None),
        lambda: _csv_text([[*r, "3"] for r in rows], [*HEADER, "phq9_09"]).encode())
    add(Case("dup_other_header.csv", "duplicated free-text header", N_ROWS),
        lambda: _csv_text([[*r, "x"] for r in rows], [*HEADER, "备注"]).encode())
    add(Case("control_chars.csv", "control characters", N_ROWS),
        lambda: _csv_text([[r[0] + "\x01\x1b[31m", r[1] + "\x07", r[2] + "\x00\x0b",
                            *r[3:8], "1\x02", r[-1]] for r in rows]).encode())
    add(Case("formula.csv", "formula text", N_ROWS),
        lambda: _csv_text([[f"={r[0]}", f"-2+3+cmd|' /C calc'!A0{r[1]}", f"@SUM({r[2]})",
                            "+1", *r[4:]] for r in rows]).encode())
    add(Case("huge_field.csv", "a 2 MB cell", N_ROWS),
        lambda: _csv_text([[r[0], r[1], r[2] * (2_000_000 // len(r[2])) if k == 4 else r[2],
                            *r[3:]] for k, r in enumerate(rows)]).encode())
    add(Case("long_id.csv", "a 300-character id", N_ROWS),
        lambda: _csv_text([[r[0] * 30 if k == 2 else r[0], *r[1:]]
                           for k, r in enumerate(rows)]).encode())
    add(Case("dup_ids.csv", "duplicated ids", N_ROWS),
        lambda: _csv_text([[rows[0][0], *r[1:]] for r in rows]).encode())
    add(Case("no_id_column.csv", "id column absent", None),
        lambda: _csv_text([r[1:] for r in rows], HEADER[1:]).encode())
    add(Case("odd_numbers.csv", "NaN, inf, 1e309, full-width and 5,000-digit answers", N_ROWS),
        lambda: _csv_text([[*r[:3], ["NaN", "inf", "1e309", "-0", "３", "9" * 5000, "٣",
                                     " 2 ", "0x1"][k % 9], *r[4:]]
                           for k, r in enumerate(rows)]).encode())
    add(Case("headerless.csv", "no header row", None),
        lambda: _csv_text(rows[1:], rows[0]).encode())
    add(Case("garbage.csv", "binary garbage", None), lambda: _garbage(4096, 1))
    add(Case("nul_bytes.csv", "NUL bytes", None), lambda: b"\x00" * 2048)
    # --- XLSX ------------------------------------------------------------------------
    add(Case("good.xlsx", "well-formed", N_ROWS), lambda: _xlsx(rows))
    add(Case("dup_header.xlsx", "duplicated item header", None),
        lambda: _xlsx([[*r, "3"] for r in rows], [*HEADER, "phq9_09"]))
    add(Case("formula.xlsx", "live formulas", N_ROWS),
        lambda: _xlsx([[r[0], "=HYPERLINK(\"http://x\",\"y\")", "=1+1", "=2-2", *r[4:]]
                       for r in rows]))
    add(Case("numbers.xlsx", "numeric ids and answers", N_ROWS),
        lambda: _xlsx([[10_000 + k, r[1], r[2], *[int(a) for a in r[3:]]]
                       for k, r in enumerate(rows)]))
    add(Case("only_header.xlsx", "header only", 0), lambda: _xlsx([]))
    add(Case("truncated.xlsx", "truncated workbook", None), lambda: _xlsx(rows)[:1500])
    add(Case("csv_as.xlsx", "CSV text named .xlsx", None), lambda: utf8)
    add(Case("empty_zip.xlsx", "an empty zip", None), lambda: _empty_zip())
    # --- JSON ------------------------------------------------------------------------
    records = [dict(zip(HEADER, r, strict=True)) for r in rows]
    add(Case("good.json", "array of objects", N_ROWS),
        lambda: json.dumps(records, ensure_ascii=False).encode())
    add(Case("good.jsonl", "JSON lines with BOM", N_ROWS),
        lambda: ("\n".join(json.dumps(r, ensure_ascii=False) for r in records)
                 + "\n").encode("utf-8-sig"))
    add(Case("deep.json", "100,000-deep nesting", None),
        lambda: ("[" * 100_000 + "]" * 100_000).encode())
    add(Case("bigint.json", "a 5,000-digit integer", None),
        lambda: json.dumps([{**records[0], "phq9_01": 1}]).replace(
            '"phq9_01": 1', '"phq9_01": ' + "9" * 5000).encode())
    add(Case("nested.json", "a nested value", None),
        lambda: json.dumps([{**records[0], "phq9_01": [1, 2]}], ensure_ascii=False).encode())
    add(Case("object.json", "an object, not an array", None),
        lambda: json.dumps({"sid": rows[0][0]}).encode())
    add(Case("truncated.json", "truncated JSON", None),
        lambda: json.dumps(records, ensure_ascii=False).encode()[:700])
    add(Case("bad_line.jsonl", "a bad JSON line", None),
        lambda: (json.dumps(records[0], ensure_ascii=False) + "\n{" + rows[1][0] + "\n"
                 ).encode())
    add(Case("dup_key.json", "a key given twice in an object", None),
        lambda: json.dumps(records, ensure_ascii=False).replace(
            '"phq9_09"', '"phq9_09": "3", "phq9_09"').encode())
    # --- Parquet ---------------------------------------------------------------------
    add(Case("good.parquet", "well-formed", N_ROWS), lambda: _parquet(rows))
    add(Case("numeric.parquet", "numeric columns", N_ROWS),
        lambda: _parquet([[r[0], r[1], r[2], *[int(a) for a in r[3:]]] for r in rows]))
    add(Case("list.parquet", "a list-typed column", None),
        lambda: _parquet([r[:3] + r[4:] for r in rows], [*HEADER[:3], *HEADER[4:]],
                         phq9_01=[[1, 2]] * N_ROWS))
    add(Case("truncated.parquet", "truncated file", None), lambda: _parquet(rows)[:600])
    add(Case("garbage.parquet", "binary garbage", None), lambda: _garbage(2048, 2))
    # --- YAML definitions ------------------------------------------------------------
    add(Case("laughs.yaml", "billion laughs (column map)", None, "--columns"),
        lambda: _laughs().encode())
    add(Case("deep.yaml", "100,000-deep flow nesting (instrument)", None, "-i"),
        lambda: ("a: " + "[" * 100_000 + "]" * 100_000 + "\n").encode())
    add(Case("bigint.yaml", "a 5,000-digit integer (policy)", None, "--policy"),
        lambda: ("id: x\nversion: " + "9" * 5000 + "\n").encode())
    add(Case("python_tag.yaml", "a python tag (column map)", None, "--columns"),
        lambda: b"columns: !!python/object/apply:os.system ['echo hi']\n")
    add(Case("garbage.yaml", "binary garbage (instrument)", None, "-i"),
        lambda: _garbage(1024, 3))
    add(Case("compact.yaml", "5,000-deep block nesting (policy)", None, "--policy"),
        lambda: ("a:\n" + "- " * 5000 + "x\n").encode())
    return out


def _empty_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w"):
        pass
    return buf.getvalue()


def make_corpus(folder: Path) -> list[tuple[Case, Path]]:
    """Write every corpus file into ``folder``; returns (case, path) in corpus order."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for case, make in _cases():
        path = folder / case.name
        path.write_bytes(make())
        written.append((case, path))
    return written


if __name__ == "__main__":
    for case, path in make_corpus(Path(sys.argv[1] if len(sys.argv) > 1 else "corpus")):
        print(f"{path.name}\t{case.kind}\t{case.rows}\t{case.role}")
