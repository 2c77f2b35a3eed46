"""Archive at scale: import, no-op re-import and group report of a large wave (run on demand;
never part of the unit tests; no figure is asserted).

Usage::

    python benchmarks/archive_scale.py                          # 10^5 and 10^6 rows, SQLite
    python benchmarks/archive_scale.py --n 100000 --pg "$XINLI_TEST_PG_URL"
    eval "$(bash .ci/postgres.sh)"; python benchmarks/archive_scale.py --pg "$XINLI_TEST_PG_URL"

For each N a scored wave is generated once (PHQ-9 + GAD-7 answers scored with
:func:`xinli_screen.screen` in chunks of 10^5 rows, with school, grade and class columns) and
written as a Parquet results file with its provenance sidecar. Then, on each database, every
step runs as its own fresh process through the CLI, and its wall time and peak RSS are read
from ``os.wait4`` (the child's own rusage):

- ``import``: ``xinli-screen archive import results.parquet --wave W --archive DB``;
- ``reimport``: the same command again (must change nothing);
- ``wave_table``: ``ArchiveStore(DB).wave_table(W)``, the archive's part of a report (every
  counted sheet of the wave with effective tiers);
- ``report``: ``xinli-screen report group --archive DB --wave W --by school,grade,class``
  (the wave's needed columns read in blocks of pupils,
  :func:`xinli_screen.archive.wave_blocks.wave_columns`, then the suppression and the XLSX
  writing of :mod:`xinli_screen.report`).

``--keep`` leaves the archive in place; ``--report-only`` then measures only ``wave_table``
and ``report`` on it (``--n`` as before, the results file is not read again).

``--waves 2`` imports, after the re-import, a second wave (``import_w2``): the same pupils
with the same school, grade and class, each answer redrawn with probability 0.3 and the
sheets scored again, so that the bundled ``default`` policy's reliable-change rules apply
(r and SD estimated over all pupils). ``wave_table`` and ``report`` then read that second
wave (with ``--report-only`` too: the last wave of the kept archive).

Floors from the same run, each a fresh process too:

- ``read``: reading the results file in typed chunks of 5 x 10^4 rows
  (``open_result_chunks``, as the import reads it) and nothing else: the part of every import
  that is the input, not the archive;
- ``bare write``: reading it and writing the same rows with pandas ``to_sql``
  (``executemany``, chunks of 10^4) into one plain table of the same database;
- ``bare read``: reading that plain table back with ``pandas.read_sql`` and counting tiers per
  school, grade and class;
- the largest chunk's own memory (``DataFrame.memory_usage(deep=True)``) and the Parquet
  size.

Database size: the SQLite file, or ``pg_total_relation_size`` of the archive's tables on
PostgreSQL (the database is emptied of the archive's tables first). Results are printed as a
Markdown table and written to ``benchmarks/archive_scale.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ARCHIVE_TABLES = ("results", "reviews", "actions", "audit", "parts", "waves", "archive_meta",
                  "alembic_version", "bare_results")
CHUNK = 100_000
WAVE = "bench-wave"


# -- data -------------------------------------------------------------------------------------
def generate(n: int, folder: Path, wave: int = 1) -> Path:
    """Write a scored wave of ``n`` sheets as ``results.parquet`` (and its provenance).

    Parameters
    ----------
    n : int
        Number of answer sheets.
    folder : Path
        Where to write.
    wave : {1, 2}
        2: the same pupils, schools, grades and classes as wave 1, each answer redrawn
        (same distribution) with probability 0.3, scored again.

    Returns
    -------
    Path
        The Parquet results file.
    """
    import warnings

    import pyarrow as pa
    import pyarrow.parquet as pq

    import xinli_screen as xs

    path = folder / (f"results_{n}.parquet" if wave == 1 else f"results_{n}_w{wave}.parquet")
    if path.exists():
        return path
    rng = np.random.default_rng(20250901)
    writer = None
    provenance: dict[str, Any] = {}
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        ids = np.char.add("S", np.char.zfill(np.arange(start, start + m).astype(str), 8))
        cols: dict[str, Any] = {"id": ids.astype(object)}
        for inst, k in (("phq9", 9), ("gad7", 7)):
            for i in range(1, k + 1):
                cols[f"{inst}_{i:02d}"] = rng.choice(4, m, p=[0.5, 0.3, 0.15, 0.05])
        if wave > 1:
            redraw = np.random.default_rng([wave, start])
            for col in list(cols)[1:]:
                fresh = redraw.choice(4, m, p=[0.5, 0.3, 0.15, 0.05])
                cols[col] = np.where(redraw.random(m) < 0.3, fresh, cols[col])
        frame = pd.DataFrame(cols)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = xs.screen(frame, instruments=["phq9", "gad7"], id_column="id")
        table = result.table
        school = rng.integers(1, 201, m)
        table.insert(1, "school", [f"第{s:03d}中学" for s in school])
        table.insert(2, "grade", [f"{g}年级" for g in rng.integers(7, 10, m)])
        table.insert(3, "class", [f"{c}班" for c in rng.integers(1, 13, m)])
        provenance = result.provenance
        arrow = pa.Table.from_pandas(table, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path.with_suffix(".tmp"), arrow.schema)
        writer.write_table(arrow.cast(writer.schema))
    assert writer is not None
    writer.close()
    provenance = {**provenance, "rows_in": n, "rows_out": n}
    Path(str(path) + ".provenance.json").write_text(
        json.dumps(provenance, ensure_ascii=False, default=str), encoding="utf-8")
    path.with_suffix(".tmp").rename(path)
    return path


# -- measuring --------------------------------------------------------------------------------
def run(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one command as a fresh process: wall seconds and its own peak RSS (MB)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{args[:4]} failed ({proc.returncode}):\n{err[-3000:]}")
    return {"seconds": round(seconds, 2), "rss_mb": round(usage.ru_maxrss / 1024, 1),
            "stdout": out.strip(), "stderr": err.strip()[-300:]}


def _engine(url: str) -> Any:
    from sqlalchemy import create_engine

    return create_engine(url)


def reset(db: str) -> None:
    """An empty database: remove the SQLite file, or drop the archive's tables."""
    if "://" not in db:
        Path(db).unlink(missing_ok=True)
        return
    from sqlalchemy import text

    eng = _engine(db)
    with eng.begin() as conn:
        for t in ARCHIVE_TABLES:
            conn.execute(text(f"DROP TABLE IF EXISTS {t} CASCADE"))
    eng.dispose()


def db_size_mb(db: str, tables: tuple[str, ...]) -> float:
    """Size on disk: the SQLite file, or the PostgreSQL tables with indexes and TOAST."""
    if "://" not in db:
        return round(Path(db).stat().st_size / 2**20, 1)
    from sqlalchemy import text

    eng = _engine(db)
    with eng.connect() as conn:
        total = sum(int(conn.execute(text(
            "SELECT COALESCE(pg_total_relation_size(to_regclass(:t)), 0)"), {"t": t}).scalar()
            or 0) for t in tables)
    eng.dispose()
    return round(total / 2**20, 1)


_FLOOR_READ = """
import sys
from xinli_screen.archive.result_chunks import open_result_chunks
mb = 0.0
for _, chunk in open_result_chunks(sys.argv[1]).read():
    mb = max(mb, chunk.memory_usage(deep=True).sum() / 2**20)
print(round(mb, 1))
"""

_FLOOR_WRITE = """
import sys
from sqlalchemy import create_engine
from xinli_screen.archive import read_results_file
from xinli_screen.archive.base import archive_url
table, _ = read_results_file(sys.argv[1])
table["warning_tier"] = table["warning_tier"].astype(str)
eng = create_engine(archive_url(sys.argv[2]))
table.to_sql("bare_results", eng, if_exists="replace", index=False, chunksize=10000)
eng.dispose()
"""

_WAVE_TABLE = """
import sys
from xinli_screen.archive import ArchiveStore
store = ArchiveStore(sys.argv[1])
print(len(store.wave_table(sys.argv[2])))
store.close()
"""

_FLOOR_REPORT = """
import sys
import pandas as pd
from sqlalchemy import create_engine
from xinli_screen.archive.base import archive_url
eng = create_engine(archive_url(sys.argv[1]))
frame = pd.read_sql("SELECT * FROM bare_results", eng)
counts = frame.groupby(["school", "grade", "class", "warning_tier"]).size()
print(len(counts))
eng.dispose()
"""


def _current_policy(results: Path) -> None:
    """Record the bundled policy as it is now in the provenance (the policy file may change
    between the scoring of the kept data and this run; the import checks the hash)."""
    from xinli_screen.policy.loader import load_policy

    side = Path(str(results) + ".provenance.json")
    prov = json.loads(side.read_text(encoding="utf-8"))
    prov.setdefault("policy", {})["sha256"] = load_policy("default").sha256
    side.write_text(json.dumps(prov, ensure_ascii=False), encoding="utf-8")


def _last_wave(db: str) -> str:
    """The name of the archive's last wave."""
    from xinli_screen.archive import ArchiveStore

    store = ArchiveStore(db)
    name = str(store.waves()["name"].iloc[-1])
    store.close()
    return name


def report_only(n: int, db: str, label: str, work: Path) -> dict[str, Any]:
    """``wave_table`` and ``report group`` of the last wave alone, on an archive kept by
    ``--keep``."""
    py = sys.executable
    wave = _last_wave(db)
    row: dict[str, Any] = {"n": n, "database": label, "wave": wave}
    row["wave_table"] = run([py, "-c", _WAVE_TABLE, db, wave])
    row["report"] = run([py, "-m", "xinli_screen", "report", "group", "--archive", db,
                         "--wave", wave, "--by", "school,grade,class",
                         "-o", str(work / f"group_{n}_{label}.xlsx")])
    for step in ("wave_table", "report"):
        row[step].pop("stdout", None)
        row[step].pop("stderr", None)
    return row


def bench(n: int, results: Path, db: str, label: str, work: Path, *,
          keep: bool = False, second: Path | None = None) -> dict[str, Any]:
    """Every step and floor on one database (``keep``: leave the archive in place;
    ``second``: a second wave's results file, imported after the re-import and read by
    ``wave_table`` and ``report``)."""
    py = sys.executable
    cli = [py, "-m", "xinli_screen"]
    wave = WAVE
    row: dict[str, Any] = {"n": n, "database": label}
    _current_policy(results)
    reset(db)
    row["read"] = run([py, "-c", _FLOOR_READ, str(results)])
    row["chunk_mb"] = float(row["read"].pop("stdout"))
    row["bare_write"] = run([py, "-c", _FLOOR_WRITE, str(results), db])
    row["bare_db_mb"] = db_size_mb(db, ("bare_results",))
    row["bare_read"] = run([py, "-c", _FLOOR_REPORT, db])
    reset(db)
    imp = [*cli, "archive", "import", str(results), "--wave", wave, "--archive", db,
           "--by", "bench"]
    row["import"] = run(imp)
    row["db_mb"] = db_size_mb(db, ARCHIVE_TABLES[:-1])
    row["reimport"] = run(imp)
    if "nothing changed" not in row["reimport"]["stderr"]:
        raise RuntimeError(f"the re-import changed the archive: {row['reimport']['stderr']}")
    steps = ["read", "bare_write", "bare_read", "import", "reimport", "wave_table", "report"]
    if second is not None:
        wave = f"{WAVE}-2"
        _current_policy(second)
        row["import_w2"] = run([*cli, "archive", "import", str(second), "--wave", wave,
                                "--archive", db, "--by", "bench"])
        steps.append("import_w2")
    row["wave"] = wave
    row["wave_table"] = run([py, "-c", _WAVE_TABLE, db, wave])
    out = work / f"group_{n}_{label}.xlsx"
    row["report"] = run([*cli, "report", "group", "--archive", db, "--wave", wave,
                         "--by", "school,grade,class", "-o", str(out)])
    if not keep:
        reset(db)
    for step in steps:
        row[step].pop("stdout", None)
        row[step].pop("stderr", None)
    return row


def markdown(rows: list[dict[str, Any]]) -> str:
    """The table of docs/performance.md."""
    head = ("| rows | database | import s (bare write s) | import peak RSS MB (read RSS MB) | "
            "no-op re-import s / MB | wave_table s / MB (bare read s / MB) | "
            "report group s / MB | database MB (bare table MB) | chunk MB |\n"
            "|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r['database']}, {r.get('wave', WAVE)} | {r['import']['seconds']} "
            f"({r['bare_write']['seconds']}) | {r['import']['rss_mb']:.0f} "
            f"({r['read']['rss_mb']:.0f}) | {r['reimport']['seconds']} / "
            f"{r['reimport']['rss_mb']:.0f} | {r['wave_table']['seconds']} / "
            f"{r['wave_table']['rss_mb']:.0f} ({r['bare_read']['seconds']} / "
            f"{r['bare_read']['rss_mb']:.0f}) | {r['report']['seconds']} / "
            f"{r['report']['rss_mb']:.0f} | {r['db_mb']} ({r['bare_db_mb']}) | "
            f"{r['chunk_mb']} |")
    return "\n".join(lines)


def main() -> None:
    """Command line: sizes, databases, where the data is kept."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--pg", default=os.environ.get("XINLI_TEST_PG_URL"),
                        help="PostgreSQL URL (default: XINLI_TEST_PG_URL; none: SQLite only)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "xinli-scale",
                        help="where the generated results files are kept (reused)")
    parser.add_argument("--out", type=Path, default=HERE / "archive_scale.json")
    parser.add_argument("--keep", action="store_true",
                        help="leave the archive in place after the run (for --report-only)")
    parser.add_argument("--report-only", action="store_true",
                        help="measure only wave_table and report group on the archive a "
                             "run with --keep left")
    parser.add_argument("--waves", type=int, choices=(1, 2), default=1,
                        help="2: import a second wave (same pupils, answers perturbed) and "
                             "read that one (reliable-change rules apply)")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.n:
        t0 = time.perf_counter()
        results = generate(n, args.data)
        print(f"{n:,} rows: results file {results.stat().st_size / 2**20:.1f} MB "
              f"({time.perf_counter() - t0:.0f} s to make or find)", file=sys.stderr)
        second = generate(n, args.data, wave=2) if args.waves == 2 and not args.report_only \
            else None
        targets = [] if args.no_sqlite else [(str(args.data / f"archive_{n}.db"), "SQLite")]
        if args.pg:
            targets.append((args.pg, "PostgreSQL"))
        for db, label in targets:
            if args.report_only:
                print(json.dumps(report_only(n, db, label, args.data)))
                continue
            row = bench(n, results, db, label, args.data, keep=args.keep, second=second)
            row["parquet_mb"] = round(results.stat().st_size / 2**20, 1)
            print(json.dumps(row), file=sys.stderr)
            rows.append(row)
    if rows:
        args.out.write_text(json.dumps(rows, indent=1), encoding="utf-8")
        print(markdown(rows))


if __name__ == "__main__":
    main()
