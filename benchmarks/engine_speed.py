"""Engine speed where users feel it (issue 17): whole commands beside their floors, one run.

Builds the files once (kept in ``--work``):

* synthetic 10^6 x 100 answers (``benchmarks/synthetic.py``: codes 0-4, 10 scales, 1% missing)
  as CSV and Parquet;
* 问卷星-style XLSX downloads of 1,500 x 171 and 100,000 x 171 (the primary-school form of the
  generated district scenario, ``xinli_screen.demo.district``: option text in every item cell,
  ids with leading zeros, written like the demo's downloads with openpyxl), and the same rows
  as UTF-8 CSV (with BOM, as Excel saves "CSV UTF-8").

Then runs, each as a fresh process (wall time from start to exit, interpreter start-up and
imports included; peak RSS of that process from ``os.wait4``):

* ``xinli-screen score`` XLSX -> XLSX and the same data CSV -> CSV, at both sizes;
* ``score`` 10^6 x 100 CSV -> CSV and Parquet -> Parquet (in memory, ``--chunk-size 0``);
* ``python -m xinli_screen --help`` and ``python -c pass`` (start-up);

and the floors, each in its own fresh process, timed inside it after its imports: pyarrow's
typed CSV read (item columns int8) + numpy scoring (:func:`bench_scoring.numpy_scores`, the
keys-matrix sums and answered counts of the 10 scales, on the answers as one float64 matrix,
in blocks of 4,096 rows with one BLAS thread, as the engine scores), Parquet read + numpy
scoring,
python-calamine's raw read of each XLSX (``CalamineWorkbook.to_python``), and R
``psych::scoreFast`` when ``Rscript`` is installed (:func:`bench_scoring.run_r`; skipped
otherwise). ``benchmarks/streaming_bench.py`` and ``benchmarks/spark_bench.py`` are run too when
they exist (they print JSON), so one run fills the whole table of issue 17.

Usage::

    python benchmarks/engine_speed.py                 # full sizes (about 15-30 minutes)
    python benchmarks/engine_speed.py --quick         # small sizes, a minute or two
    python benchmarks/engine_speed.py --only xlsx csv --json run.json

Prints a Markdown table (figure, floor, ratio, target) and the JSON of every measurement.
Nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

#: The floors, run as ``python -c FLOOR kind path ...``; print one JSON object.
FLOOR = r"""
import json, sys, time
sys.path.insert(0, sys.argv[3])
kind, path = sys.argv[1], sys.argv[2]
import numpy as np
import pyarrow as pa
if kind in ("csv", "parquet"):
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq
    import synthetic
    from bench_scoring import numpy_scores
    keys = np.zeros((synthetic.N_ITEMS, synthetic.N_SCALES))
    for s in range(synthetic.N_SCALES):
        keys[s * synthetic.PER_SCALE:(s + 1) * synthetic.PER_SCALE, s] = 1.0
    reverse = np.array([i in synthetic.REVERSED for i in synthetic.ITEMS])
    t0 = time.perf_counter()
    if kind == "csv":
        types = {"sid": pa.string(), **{i: pa.int8() for i in synthetic.ITEMS}}
        table = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(column_types=types))
    else:
        table = pq.read_table(path)
    t1 = time.perf_counter()
    x = np.empty((table.num_rows, synthetic.N_ITEMS), order="F")
    for j, item in enumerate(synthetic.ITEMS):
        x[:, j] = table.column(item).to_numpy(zero_copy_only=False)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):  # one BLAS thread, as the engine scores
        for r in range(0, len(x), 4096):  # blocks of 4,096 rows, as the engine scores
            sums, counts = numpy_scores(x[r:r + 4096], keys, reverse, 0.0, 4.0)
    t2 = time.perf_counter()
    print(json.dumps({"read": t1 - t0, "score": t2 - t1, "seconds": t2 - t0,
                      "rows": table.num_rows}))
else:
    import python_calamine
    t0 = time.perf_counter()
    rows = python_calamine.CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python()
    print(json.dumps({"seconds": time.perf_counter() - t0, "rows": len(rows) - 1}))
"""


#: ``/usr/bin/time`` reports the peak RSS of the command alone; ``os.wait4`` on a child of
#: this (large) process would also count the pages the child shared before ``exec``.
TIME = shutil.which("time", path="/usr/bin")


def run(args: list[str], cwd: Path) -> dict[str, Any]:
    """One fresh process: wall seconds, its own peak RSS (MiB), exit code, stdout."""
    out, err, rss = cwd / "last.out", cwd / "last.err", cwd / "last.rss"
    wrapped = [TIME, "-q", "-f", "%M", "-o", str(rss), *args] if TIME else args
    with out.open("wb") as fo, err.open("wb") as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdout=fo, stderr=fe, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # 1: data problems reported (the 问卷星 data has some)
        raise RuntimeError(f"{args[:6]} exit {code}:\n{err.read_text()[-3000:]}")
    kib = int(rss.read_text().split()[-1]) if TIME else usage.ru_maxrss
    return {"seconds": round(seconds, 3), "rss_mib": round(kib / 1024, 1),
            "exit": code, "stdout": out.read_text(errors="replace")}


def floor(kind: str, path: Path, work: Path) -> dict[str, Any]:
    """A floor in a fresh process, timed inside it (its imports excluded)."""
    done = run([sys.executable, "-c", FLOOR, kind, str(path), str(HERE)], work)
    inside = json.loads(done.pop("stdout").strip().splitlines()[-1])
    return {**inside, "process_seconds": done["seconds"], "rss_mib": done["rss_mib"]}


# -- building the files ------------------------------------------------------------------------
def build_synthetic(work: Path, n: int) -> dict[str, Path]:
    import synthetic

    inst, pol = synthetic.write_definitions(work)
    files = {"instrument": inst, "policy": pol}
    for fmt, write in (("csv", synthetic.write_csv), ("parquet", synthetic.write_parquet)):
        path = work / f"answers_{n}.{fmt}"
        if not path.exists():
            write(path, n)
        files[fmt] = path
    return files


def build_wjx(work: Path, sizes: list[int]) -> dict[str, Any]:
    """问卷星-style XLSX (and the same rows as CSV) of the primary form at each size."""
    from openpyxl import load_workbook

    from xinli_screen.demo._xlsx import write_xlsx
    from xinli_screen.demo.district import write_district_scenario

    scenario = work / "district"
    if not (scenario / "policy.yaml").exists():
        write_district_scenario(scenario, n_pupils=3000)
    source = scenario / "exports" / "w1_小学版.xlsx"
    book = load_workbook(source, read_only=True)
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    book.close()
    header, body = rows[0], rows[1:]
    column_map = work / "wjx_map.yaml"
    column_map.write_text("id_column: 1、学号\nblocks:\n  mht: {first_question: 7}\n"
                          "  dsrsc: {first_question: 107}\n  scared: {first_question: 125}\n",
                          encoding="utf-8")
    out: dict[str, Any] = {"policy": scenario / "policy.yaml", "map": column_map,
                           "columns": len(header)}
    for n in sizes:
        xlsx, text = work / f"wjx_{n}.xlsx", work / f"wjx_{n}.csv"
        if not (xlsx.exists() and text.exists()):
            tiled = [list(body[k % len(body)]) for k in range(n)]
            for k, row in enumerate(tiled):  # one sheet per pupil: 序号 and 学号 unique
                row[0], row[6] = k + 1, f"{k:08d}"
            write_xlsx(xlsx, header, tiled)
            with text.open("w", encoding="utf-8-sig", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(header)
                writer.writerows(tiled)
        out[n] = {"xlsx": xlsx, "csv": text}
    return out


# -- measuring ---------------------------------------------------------------------------------
def score(work: Path, source: Path, target: Path, *options: str) -> dict[str, Any]:
    result = run([sys.executable, "-m", "xinli_screen", "score", str(source), *options,
                  "-o", str(target), "--no-progress"], work)
    result.pop("stdout")
    return result


def bench_wjx(work: Path, wjx: dict[str, Any], sizes: list[int]) -> dict[str, Any]:
    options = ("-i", "mht", "-i", "dsrsc", "-i", "scared", "--policy", str(wjx["policy"]),
               "--columns", str(wjx["map"]))
    out = {}
    for n in sizes:
        files = wjx[n]
        out[n] = {
            "xlsx_to_xlsx": score(work, files["xlsx"], work / "out_wjx.xlsx", *options),
            "csv_to_csv": score(work, files["csv"], work / "out_wjx.csv", *options),
            "calamine_raw_read": floor("calamine", files["xlsx"], work),
        }
        print(json.dumps({f"wjx {n}": out[n]}), file=sys.stderr, flush=True)
    return out


def bench_synthetic(work: Path, files: dict[str, Path], n: int) -> dict[str, Any]:
    options = ("-i", str(files["instrument"]), "--policy", str(files["policy"]),
               "--id-column", "sid", "--chunk-size", "0")
    out = {
        "csv_to_csv": score(work, files["csv"], work / "out_b.csv", *options),
        "csv_floor": floor("csv", files["csv"], work),
        "parquet_to_parquet": score(work, files["parquet"], work / "out_b.parquet", *options),
        "parquet_floor": floor("parquet", files["parquet"], work),
    }
    from bench_scoring import run_r

    out["r_scorefast"] = run_r(files["csv"], work, False) if shutil.which("Rscript") else None
    print(json.dumps({f"synthetic {n}": out}), file=sys.stderr, flush=True)
    return out


#: Top-level packages whose import time is reported (cumulative, seconds).
HEAVY = ("numpy", "pandas", "pyarrow", "scipy", "matplotlib", "sqlalchemy", "jinja2",
         "pydantic", "rich", "typer", "yaml", "openpyxl", "xlsxwriter", "xinli_screen")


def bench_startup(work: Path) -> dict[str, Any]:
    """``--help`` and bare Python as processes; which packages ``xinli-screen`` imports."""
    help_run = run([sys.executable, "-m", "xinli_screen", "--help"], work)
    bare = run([sys.executable, "-c", "pass"], work)
    run([sys.executable, "-X", "importtime", "-m", "xinli_screen", "--help"], work)
    imported = {}
    for line in (work / "last.err").read_text().splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] in HEAVY:
            imported[parts[2]] = int(parts[1]) / 1e6
    probe = run([sys.executable, "-c", "import time, pandas, pydantic; t = time.perf_counter(); "
                 "import scipy.special; print(time.perf_counter() - t)"], work)
    return {"help": help_run["seconds"], "python_bare": bare["seconds"],
            "imports_s": imported, "scipy_special_s": float(probe["stdout"].split()[-1])}


def others(work: Path, n: int, quick: bool) -> dict[str, Any]:
    """The streaming and Spark benchmarks of the other parts of issue 17, when present."""
    out: dict[str, Any] = {}
    for name in ("streaming_bench.py", "spark_bench.py"):
        script = HERE / name
        if not script.exists():
            continue
        size = n if name == "spark_bench.py" else (10 * n if not quick else n)
        args = [sys.executable, str(script), "--n", str(size)]
        if name == "streaming_bench.py":
            args += ["--work", str(work / "stream")]
        try:
            done = subprocess.run(args, capture_output=True, text=True, check=True,
                                  cwd=work, timeout=7200)
            out[name] = json.loads(done.stdout[done.stdout.index("{"):])
        except (subprocess.SubprocessError, ValueError, OSError) as exc:
            out[name] = {"error": f"{type(exc).__name__}"}
    return out


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def _other_rows(others: dict[str, Any]) -> list[str]:
    """Table rows of streaming_bench.py and spark_bench.py output (when they ran)."""
    rows = []
    stream = others.get("streaming_bench.py", {})
    for fmt, e in stream.get("formats", {}).items():
        run_, fl = e["score"], e["floor"]
        rows.append(f"| {stream['n']:,} x 100 streamed, {fmt} -> {fmt} | {run_['seconds']:.1f} "
                    f"({run_['peak_rss_mib']:.0f}) | {fl['seconds']:.1f} | "
                    f"{e['ratio_to_floor']:.2f}x | <= {3 if fmt == 'csv' else 2}x; <= 1 GiB |")
        if "score_careless" in e:
            c = e["score_careless"]
            rows.append(f"| same with `--careless` | {c['seconds']:.1f} "
                        f"({c['peak_rss_mib']:.0f}) | plain run {run_['seconds']:.1f} | "
                        f"{e['careless_ratio_to_plain']:.2f}x | <= 2x |")
    spark = others.get("spark_bench.py", {})
    if "spark_screen_s" in spark:
        pandas_s = spark["pandas_read_s"] + spark["pandas_screen_s"]
        rows.append(f"| Spark local[{spark['cores']}] vs pandas, {spark['n']:,} x 100 | "
                    f"{spark['spark_screen_s']:.1f} | pandas read + screen {pandas_s:.1f} | "
                    f"{ratio(spark['spark_screen_s'], pandas_s)} | equal output: "
                    f"{spark.get('equal')} |")
    for name, value in others.items():
        if "error" in value:
            rows.append(f"| {name} | failed ({value['error']}) | - | - | - |")
    return rows


def markdown(report: dict[str, Any]) -> str:
    rows = ["| what | now (s, peak MiB) | floor / reference (s) | ratio | target |",
            "|---|---|---|---|---|"]
    for n, r in report.get("wjx", {}).items():
        x, c, raw = r["xlsx_to_xlsx"], r["csv_to_csv"], r["calamine_raw_read"]
        target = "<= 2x" if int(n) <= 1500 else "<= 3x"
        rows.append(f"| 问卷星-style XLSX {n} x {report['wjx_columns']} -> XLSX vs CSV -> CSV "
                    f"| {x['seconds']:.2f} ({x['rss_mib']:.0f}) vs {c['seconds']:.2f} "
                    f"({c['rss_mib']:.0f}) | calamine raw read {raw['seconds']:.2f} "
                    f"| {ratio(x['seconds'], c['seconds'])} | {target} |")
    s = report.get("synthetic")
    if s:
        n = report["n"]
        for fmt, cmd, lim in (("csv", "csv_to_csv", "<= 2.5x; <= 1.2 GiB"),
                              ("parquet", "parquet_to_parquet", "<= 2x; <= 1 GiB")):
            fl, run_ = s[f"{fmt}_floor"], s[cmd]
            rows.append(f"| `score` {n:,} x 100 {fmt} -> {fmt}, fresh process | "
                        f"{run_['seconds']:.2f} ({run_['rss_mib']:.0f}) | read "
                        f"{fl['read']:.2f} + numpy {fl['score']:.2f} = {fl['seconds']:.2f} | "
                        f"{ratio(run_['seconds'], fl['seconds'])} | {lim} |")
        if s.get("r_scorefast"):
            rows.append(f"| R psych::scoreFast {n:,} x 100 (scoring call) | - | "
                        f"{s['r_scorefast']['scoreFast']:.2f} | - | - |")
    rows += _other_rows(report.get("others", {}))
    st = report.get("startup")
    if st:
        rows.append(f"| `xinli-screen --help` | {st['help']:.2f} | `python -c pass` "
                    f"{st['python_bare']:.2f} | {ratio(st['help'], st['python_bare'])} | - |")
        rows.append(f"| importing scipy.special (no longer done by `--help` or `score` "
                    f"without norms) | - | {st['scipy_special_s']:.2f} | - | - |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/xinli_engine_speed"))
    parser.add_argument("--only", nargs="*", default=["xlsx", "csv", "startup", "others"],
                        choices=["xlsx", "csv", "startup", "others"])
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    work = args.work / ("quick" if args.quick else "full")
    work.mkdir(parents=True, exist_ok=True)
    n = 20_000 if args.quick else 1_000_000
    sizes = [300, 3_000] if args.quick else [1_500, 100_000]
    report: dict[str, Any] = {"n": n, "machine": f"{platform.machine()}, {os.cpu_count()} cpu",
                              "python": platform.python_version(),
                              "load_before": os.getloadavg()[0]}
    if "xlsx" in args.only:
        wjx = build_wjx(work, sizes)
        report["wjx_columns"] = wjx["columns"]
        report["wjx"] = bench_wjx(work, wjx, sizes)
    if "csv" in args.only:
        report["synthetic"] = bench_synthetic(work, build_synthetic(work, n), n)
    if "startup" in args.only:
        report["startup"] = bench_startup(work)
    if "others" in args.only:
        report["others"] = others(work, n, args.quick)
    report["load_after"] = os.getloadavg()[0]
    text = json.dumps(report, indent=1, ensure_ascii=False, default=str)
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    print(markdown(report))
    print(text)


if __name__ == "__main__":
    main()
