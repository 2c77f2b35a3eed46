"""End-to-end scoring benchmark (run on demand; never part of the unit tests).

Usage::

    python benchmarks/bench_scoring.py                     # N = 1e4, 1e5, 1e6; Parquet and CSV
    python benchmarks/bench_scoring.py --n 1000000 --formats parquet --r-max 1000000
    python benchmarks/bench_scoring.py --stream 10000000   # 1e7 rows through `score` (subprocess)

For each N and input format it reports, per stage (read, validate, score, norms,
validity = longstring + IRV + Mahalanobis D2, tiers, write), the wall time and the peak RSS
reached during the stage (sampled every 2 ms from /proc/self/statm); the end-to-end
``screen()`` time (scores, norms, tiers) after the read; the ratio of the scoring stage to a
minimal numpy implementation of the same arithmetic (keys-matrix product with NaN-aware
counts) and of the validity stage to a numpy implementation of the same indices, both run in
this process; and, when ``Rscript`` with psych is available, psych::scoreItems and
psych::scoreFast on the same data (scoring call only). Results are printed as a Markdown
table and written to ``benchmarks/results.json``. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic
from synthetic import numpy_scores

import xinli_screen as xs

PAGE = os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Sample the resident set size every 2 ms; ``peak`` in MiB since the last reset."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def current() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * PAGE

    def _run(self) -> None:
        while not self._stop:
            self.peak = max(self.peak, self.current())
            time.sleep(0.002)

    def reset(self) -> None:
        self.peak = self.current()

    def mib(self) -> float:
        return self.peak / 2**20

    def stop(self) -> None:
        self._stop = True


def timed(rss: PeakRSS, fn, *args, repeat: int = 1, **kwargs):
    """Best of ``repeat`` wall times; peak RSS over all runs."""
    gc.collect()
    rss.reset()
    best, out = np.inf, None
    for _ in range(repeat):
        out = None  # the previous result is not kept alive during the next run
        gc.collect()
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t)
    return out, best, rss.mib()


# ------------------------------------------------------------- numpy reference implementations


def numpy_validity(x: np.ndarray):
    """Longstring (max run of identical consecutive answers), IRV (row SD), Mahalanobis D2."""
    same = x[:, 1:] == x[:, :-1]
    run = np.ones(x.shape[0])
    best = np.ones(x.shape[0])
    for j in range(same.shape[1]):
        run = np.where(same[:, j], run + 1, 1)
        np.maximum(best, run, out=best)
    irv = np.nanstd(x, axis=1, ddof=1)
    complete = ~np.isnan(x).any(axis=1)
    xc = x[complete] - x[complete].mean(axis=0)
    cov = xc.T @ xc / (len(xc) - 1)
    d2 = np.einsum("ij,ij->i", xc @ np.linalg.pinv(cov), xc)
    return best, irv, d2


# ------------------------------------------------------------- R

R_SCRIPT = r"""
suppressMessages({library(psych); library(data.table)})
args <- commandArgs(TRUE)
d <- as.data.frame(fread(args[1]))
items <- d[, -1]
rev <- scan(args[2], what = character(), quiet = TRUE)
keys <- list()
for (s in 1:10) {
  cols <- colnames(items)[((s - 1) * 10 + 1):(s * 10)]
  keys[[sprintf("s%02d", s)]] <- ifelse(cols %in% rev, paste0("-", cols), cols)
}
t1 <- system.time(f <- scoreFast(keys, items, totals = TRUE, min = 0, max = 4))[["elapsed"]]
t2 <- if (args[3] == "1") system.time(s <- scoreItems(keys, items, totals = TRUE, min = 0,
        max = 4, impute = "none"))[["elapsed"]] else NA
cat(sprintf('{"scoreFast": %f, "scoreItems": %s}\n', t1, ifelse(is.na(t2), "null", t2)))
"""


def run_r(csv_path: Path, work: Path, with_score_items: bool) -> dict | None:
    if shutil.which("Rscript") is None:
        return None
    script, rev = work / "score.R", work / "reversed.txt"
    script.write_text(R_SCRIPT, encoding="utf-8")
    rev.write_text("\n".join(sorted(synthetic.REVERSED)), encoding="utf-8")
    try:
        out = subprocess.run(["Rscript", str(script), str(csv_path), str(rev),
                              "1" if with_score_items else "0"], capture_output=True,
                             text=True, check=True, timeout=3600)
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"R failed: {exc}", file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------- one benchmark


def bench(n: int, fmt: str, work: Path, inst_path: Path, pol_path: Path, r_max: int,
          r_items_max: int, rss: PeakRSS) -> dict:
    from xinli_screen.io import load_answers, write_result
    from xinli_screen.norms import apply_norms, map_groups
    from xinli_screen.pipeline import screen_with_responses
    from xinli_screen.policy.engine import bind_policy, evaluate_policy
    from xinli_screen.scoring import critical_item_flags

    inst = xs.load_instrument(inst_path)
    pol = xs.load_policy(pol_path)
    data_path = work / f"bench_{n}.{fmt}"
    if not data_path.exists():
        (synthetic.write_parquet if fmt == "parquet" else synthetic.write_csv)(data_path, n)
    norm_path = work / "bench_norms.yaml"
    if not norm_path.exists():
        ref = synthetic.make_codes(20_000, seed=99)
        ref_scores = xs.score_instrument(pd.DataFrame(ref, columns=synthetic.ITEMS), inst)
        xs.norms.to_yaml(xs.norms.fit(ref_scores, instrument=inst, table_id="bench_norms",
                                      min_cell=2), norm_path)
    table = xs.norms.load_norms(norm_path)
    row: dict = {"n": n, "format": fmt, "stages": {}}
    def reader(path: Path) -> pd.DataFrame:
        """What ``xinli-screen score`` does: read, then apply the input plan (for CSV this
        turns item columns holding only valid codes into numbers)."""
        return load_answers(path, [inst], id_column="sid").data

    data, t, m = timed(rss, reader, data_path)
    row["stages"]["read"] = (t, m)
    if fmt == "csv":
        import pyarrow.csv as pcsv

        _, t_ref, _ = timed(rss, pcsv.read_csv, data_path)
        row["pyarrow_csv_read"] = t_ref
    prepared, t, m = timed(rss, xs.prepare_responses, data, [inst], id_column="sid")
    row["stages"]["validate"] = (t, m)
    scores, t, m = timed(rss, xs.score_instrument, prepared.responses, inst, repeat=3)
    row["stages"]["score"] = (t, m)
    groups = map_groups(data, table.table if hasattr(table, "table") else table, None)
    norm_table = table.table if hasattr(table, "table") else table
    _, t, m = timed(rss, apply_norms, scores, inst, norm_table, groups)
    row["stages"]["norms"] = (t, m)
    from xinli_screen import validity

    def careless(items: pd.DataFrame) -> tuple:
        return (validity.longstring(items), validity.irv(items),
                validity.mahalanobis(items))

    _, t, m = timed(rss, careless, prepared.responses, repeat=3)
    row["stages"]["validity"] = (t, m)
    rules, _inactive, _ = bind_policy(pol.policy, [inst], pol.lines, pol.path)
    critical = critical_item_flags(prepared.responses, inst)
    _, t, m = timed(rss, evaluate_policy, pol.policy, rules, scores, prepared.responses,
                    critical, [inst], prepared.ids)
    row["stages"]["tiers"] = (t, m)
    (result, _), t_e2e, m_e2e = timed(rss, screen_with_responses, data, [inst_path],
                                      id_column="sid", policy=pol_path, norms=[norm_path],
                                      repeat=2)
    row["end_to_end_screen"] = (t_e2e, m_e2e)

    t_file, m_file = from_file(data_path, inst_path, pol_path, norm_path)
    row["end_to_end_file"] = (t_file, m_file)
    out = work / f"out_{n}.parquet"
    _, t, m = timed(rss, write_result, result, out)
    row["stages"]["write"] = (t, m)
    # numpy floors
    x = prepared.responses.to_numpy()
    keys = xs.keys_matrix(inst).to_numpy(dtype=float)
    keys = np.abs(keys)
    reverse = np.array([i.reverse_keyed for i in inst.items])
    _, t_np, _ = timed(rss, numpy_scores, x, keys, reverse, 0.0, 4.0, repeat=3)
    row["numpy_score"] = t_np
    _, t_npv, _ = timed(rss, numpy_validity, x, repeat=3)
    row["numpy_validity"] = t_npv
    if n <= r_max:
        csv_path = work / f"bench_{n}.csv"
        if not csv_path.exists():
            synthetic.write_csv(csv_path, n)
        row["r"] = run_r(csv_path, work, n <= r_items_max)
    del data, prepared, scores, result
    gc.collect()
    return row


FROM_FILE = r"""
import json, resource, sys, time
import xinli_screen as xs
from xinli_screen.io import load_answers
from xinli_screen.pipeline import screen_with_responses
path, inst, pol, norms = sys.argv[1:5]
instrument = xs.load_instrument(inst)
t = time.perf_counter()
data = load_answers(path, [instrument], id_column="sid").data
screen_with_responses(data, [inst], id_column="sid", policy=pol, norms=[norms])
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def from_file(path: Path, inst_path: Path, pol_path: Path, norm_path: Path,
              repeat: int = 3) -> tuple[float, float]:
    """Read the file as ``score`` does, then scores, norms and tiers, in a fresh process
    (as a user's run is; interpreter start-up and imports not counted): best of ``repeat``
    wall times, and the largest peak RSS."""
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", FROM_FILE, str(path), str(inst_path),
                              str(pol_path), str(norm_path)], capture_output=True, text=True,
                             check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return min(r["seconds"] for r in runs), max(r["peak_rss_mib"] for r in runs)


def stream_run(n: int, work: Path, inst_path: Path, pol_path: Path, chunk: int) -> dict:
    """``xinli-screen score`` on n rows of Parquet, streamed; wall time and peak RSS."""
    path = work / f"bench_{n}.parquet"
    if not path.exists():
        synthetic.write_parquet(path, n)
    out = work / f"stream_{n}.parquet"
    # /usr/bin/time reports the child's own peak RSS; getrusage(RUSAGE_CHILDREN) would not
    # (a forked child starts with its parent's maximum, here the data generation)
    measure = Path("/usr/bin/time").exists()
    rss_file = work / "stream_rss.txt"
    prefix = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file)] if measure else []
    t = time.perf_counter()
    proc = subprocess.run([*prefix, sys.executable, "-m", "xinli_screen", "score", str(path),
                           "-i", str(inst_path), "--policy", str(pol_path), "--id-column",
                           "sid", "-o", str(out), "--chunk-size", str(chunk), "--no-progress"],
                          capture_output=True, text=True)
    wall = time.perf_counter() - t
    peak = (int(rss_file.read_text().split()[-1]) / 1024 if measure
            else resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    rows = len(pd.read_parquet(out, columns=["sid"])) if out.exists() else 0
    return {"n": n, "chunk_rows": chunk, "exit_code": proc.returncode, "seconds": wall,
            "rows_per_s": n / wall, "peak_rss_mib": peak,
            "rows_out": rows, "stderr_tail": proc.stderr.strip().splitlines()[-4:]}


def markdown(rows: list[dict]) -> str:
    stages = ["read", "validate", "score", "norms", "validity", "tiers", "write"]
    head = ("| N | format | " + " | ".join(f"{s} s (MiB)" for s in stages)
            + " | screen() s | read + screen() s | rows/s | score / numpy | validity / numpy | "
            "R scoreFast s | R scoreItems s | R scoreFast / ours |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        cells = [f"{r['n']:.0e}", r["format"]]
        cells += [f"{r['stages'][s][0]:.3f} ({r['stages'][s][1]:.0f})" for s in stages]
        e2e, whole = r["end_to_end_screen"][0], r["end_to_end_file"][0]
        cells += [f"{e2e:.3f}", f"{whole:.3f}", f"{r['n'] / whole:,.0f}",
                  f"{r['stages']['score'][0] / r['numpy_score']:.2f}",
                  f"{r['stages']['validity'][0] / r['numpy_validity']:.2f}"]
        rr = r.get("r") or {}
        fast, items = rr.get("scoreFast"), rr.get("scoreItems")
        cells += [f"{fast:.2f}" if fast else "-", f"{items:.2f}" if items else "-",
                  f"{fast / r['stages']['score'][0]:.0f}x" if fast else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--formats", nargs="*", default=["parquet", "csv"])
    parser.add_argument("--r-max", type=int, default=1_000_000,
                        help="largest N for R scoreFast")
    parser.add_argument("--r-items-max", type=int, default=100_000,
                        help="largest N for R scoreItems (slow: ~1 min at 1e6)")
    parser.add_argument("--stream", type=int, default=0, help="also stream N rows via the CLI")
    parser.add_argument("--chunk", type=int, default=200_000)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"))
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="xs-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    inst_path, pol_path = synthetic.write_definitions(work)
    rss = PeakRSS()
    rows = []
    for n in args.n:
        for fmt in args.formats:
            rows.append(bench(n, fmt, work, inst_path, pol_path, args.r_max,
                              args.r_items_max, rss))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    rss.stop()
    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "numpy": np.__version__, "pandas": pd.__version__,
                          "xinli_screen": xs.__version__}, "runs": rows}
    if args.stream:
        report["stream"] = stream_run(args.stream, work, inst_path, pol_path, args.chunk)
        print(json.dumps(report["stream"]), file=sys.stderr)
    args.out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(markdown(rows))
    if args.stream:
        s = report["stream"]
        print(f"\nstreamed {s['n']:,} rows (chunks of {s['chunk_rows']:,}): {s['seconds']:.1f} s, "
              f"{s['rows_per_s']:,.0f} rows/s, peak RSS {s['peak_rss_mib']:,.0f} MiB, "
              f"rows out {s['rows_out']:,}, exit {s['exit_code']}")


if __name__ == "__main__":
    main()
