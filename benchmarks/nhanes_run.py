"""Run the real ``xinli-screen score`` CLI on the full NHANES 2015-2018 PHQ-9 files and check it.

For each of ``DPQ_I.csv`` and ``DPQ_J.csv`` this script

1. runs ``xinli-screen score <file> -i phq9 --columns <bundled nhanes_columns.yaml>
   --id-column SEQN -o <tmp>/results_<cycle>.csv`` as a subprocess, three times, and keeps the
   best wall time (``time.perf_counter``; includes interpreter start-up and imports);
2. reads the output CSV and compares it, respondent by respondent, with the independent
   plain-pandas recount in ``benchmarks/nhanes_recount.py``: rows out == rows in, same SEQN
   order, ``phq9.total`` equal to the recount total on every complete protocol and NaN on every
   other row, ``phq9.total.band`` equal to the recount band (and the counts per band), the
   screen-positive flag, ``status == "scored"`` exactly on the complete protocols, and for
   every row with DPQ090 in 1-3 a ``warning_tier`` above ``none`` and
   ``phq9.self_harm_thoughts`` in ``reason_codes`` (and nowhere else);
3. recomputes the warning tier and ``tier_settled`` of every row from the PHQ-9 rules of the
   bundled default policy (see :func:`expected_tiers`) and compares them.

From both output files it computes the weighted prevalence of PHQ-9 >= 10 among adults 20+
(DEMO joined on SEQN; WTMEC2YR per cycle, WTMEC2YR/2 pooled) and compares it with the recount.

It then times the Python API ``xs.screen`` on DPQ_J replicated 100 times (553,300 rows; ids
made unique) and reports rows/second and peak memory (``tracemalloc`` peak of traced
allocations, and the peak resident set size ``VmHWM``, each in a fresh process).

Only aggregated counts are printed. Exit code 0 when every check passes, 1 on any mismatch,
2 when the data are absent.

Usage::

    python benchmarks/nhanes_run.py [--shared PATH] [--repeat 3] [--replicate 100]
        [--json out.json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
COLUMN_MAP = REPO / "src" / "xinli_screen" / "data" / "nhanes_columns.yaml"
#: Engine band ids in the order of the recount's band labels.
BAND_IDS: dict[str, str] = {
    "0-4": "minimal",
    "5-9": "mild",
    "10-14": "moderate",
    "15-19": "moderately_severe",
    "20-27": "severe",
}
CRITICAL_CODE = "phq9.self_harm_thoughts"
TIERS = ("none", "class", "school", "district")


def expected_tiers(dpq: pd.DataFrame) -> pd.DataFrame:
    """Warning tier and ``tier_settled`` expected from the bundled default policy, recounted.

    Only the PHQ-9 rules of ``instruments/policies/default.yaml`` are active when PHQ-9 alone is
    screened (the GAD-7 / CES-D evidence counts as known false):

    * critical item ``phq9_09 >= 1`` -> school; ``phq9_09 >= 2`` -> district;
    * total >= 10 -> class; total >= 15 -> school; total >= 20 and ``phq9_09 >= 1`` -> district.

    On incomplete protocols a total condition is decided from the reachable bounds
    (``docs/policy.md``, "Missing answers"): ``lo`` = sum of the answered items (missing as 0),
    ``hi`` = ``lo`` + 3 per missing item; ``>= v`` is true when ``lo >= v``, false when
    ``hi < v``, else unknown. 7/9 count as missing. ``settled`` is False when an unknown
    condition could raise the tier.
    """
    items = [f"DPQ0{k}0" for k in range(1, 10)]
    x = dpq[items].astype("float64").to_numpy(copy=True)
    x[~np.isin(x, [0, 1, 2, 3])] = np.nan
    lo = np.nansum(x, axis=1)
    hi = lo + 3 * np.isnan(x).sum(axis=1)
    q9 = x[:, 8]
    q9_known = ~np.isnan(q9)
    with np.errstate(invalid="ignore"):
        # (rank, true, known) per condition
        conds = [
            (2, q9_known & (q9 >= 1), q9_known),                      # critical item
            (1, lo >= 10, (lo >= 10) | (hi < 10)),                    # phq9_moderate
            (2, lo >= 15, (lo >= 15) | (hi < 15)),                    # phq9_moderately_severe
            (3, q9_known & (q9 >= 2), q9_known),                      # phq9_item9_frequent
            (3, (lo >= 20) & q9_known & (q9 >= 1),                    # phq9_severe_with_item9
             ((lo >= 20) & q9_known & (q9 >= 1)) | (hi < 20) | (q9_known & (q9 < 1))),
        ]
    tier = np.zeros(len(dpq), dtype=int)
    for rank, true, _ in conds:
        tier = np.where(true, np.maximum(tier, rank), tier)
    settled = np.ones(len(dpq), dtype=bool)
    for rank, _, known in conds:
        settled &= ~(~known & (rank > tier))
    return pd.DataFrame({"tier": np.array(TIERS, dtype=object)[tier], "settled": settled})


def load_recount() -> ModuleType:
    """Import ``nhanes_recount.py`` (next to this file) without making benchmarks a package."""
    path = Path(__file__).resolve().with_name("nhanes_recount.py")
    spec = importlib.util.spec_from_file_location("nhanes_recount", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def cli_command() -> list[str]:
    """The ``xinli-screen`` executable of this environment (else ``python -m xinli_screen``)."""
    exe = Path(sys.executable).with_name("xinli-screen")
    if exe.is_file():
        return [str(exe)]
    found = shutil.which("xinli-screen")
    return [found] if found else [sys.executable, "-m", "xinli_screen"]


def best_of(repeat: int, run: Callable[[], Any]) -> tuple[float, list[float], Any]:
    """Call ``run`` ``repeat`` times; (best seconds, all seconds, last return value)."""
    times: list[float] = []
    value: Any = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = run()
        times.append(time.perf_counter() - t0)
    return min(times), times, value


class Checker:
    """Collects named pass/fail checks; prints one line each (counts only)."""

    def __init__(self) -> None:
        self.failed: list[str] = []
        self.n = 0

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        """Record one check and print it."""
        self.n += 1
        if not ok:
            self.failed.append(name)
        print(f"  [{'ok' if ok else 'MISMATCH'}] {name}" + (f": {detail}" if detail else ""))


def compare(out: pd.DataFrame, ref: pd.DataFrame, expect: pd.DataFrame,
            ck: Checker) -> dict[str, Any]:
    """Compare one CLI result table with the recount's respondent table and expected tiers."""
    figures: dict[str, Any] = {"rows_in": len(ref), "rows_out": len(out)}
    ck.check("rows out == rows in", len(out) == len(ref), f"{len(out)} vs {len(ref)}")
    if len(out) != len(ref):
        return figures
    seqn_ref = ref["SEQN"].astype("int64").astype(str).to_numpy()
    seqn_out = out["SEQN"].astype(str).to_numpy()
    n_order = int((seqn_ref != seqn_out).sum())
    ck.check("same SEQN in the same order", n_order == 0, f"{n_order} rows differ")

    complete = (ref["category"] == "complete").to_numpy()
    tot_ref = ref["total"].to_numpy(dtype=float)
    tot_out = pd.to_numeric(out["phq9.total"], errors="coerce").to_numpy(dtype=float)
    figures["complete_recount"] = int(complete.sum())
    figures["scored_engine"] = int((~np.isnan(tot_out)).sum())
    n_diff = int((tot_out[complete] != tot_ref[complete]).sum())
    ck.check("phq9.total == recount total on every complete protocol", n_diff == 0,
             f"{int(complete.sum())} complete, {n_diff} differ")
    n_not_nan = int((~np.isnan(tot_out[~complete])).sum())
    ck.check("phq9.total is NaN on every non-complete row", n_not_nan == 0,
             f"{int((~complete).sum())} non-complete, {n_not_nan} have a total")

    band_ref = ref["band"].map(BAND_IDS).to_numpy(dtype=object)
    band_out = out["phq9.total.band"].to_numpy(dtype=object)
    band_ref_s = pd.Series(band_ref).fillna("<none>")
    band_out_s = pd.Series(band_out).fillna("<none>")
    n_band = int((band_ref_s != band_out_s).sum())
    ck.check("phq9.total.band == recount band, row by row", n_band == 0, f"{n_band} differ")
    counts_out = {b: int((band_out_s == b).sum()) for b in BAND_IDS.values()}
    counts_ref = {b: int((band_ref_s == b).sum()) for b in BAND_IDS.values()}
    figures["bands_engine"] = counts_out
    ck.check("counts per band", counts_out == counts_ref,
             " / ".join(f"{counts_out[b]}|{counts_ref[b]}" for b in BAND_IDS.values())
             + " (engine|recount)")

    pos_out = out["phq9.total.screen_positive"].astype(str).str.lower().eq("true").to_numpy()
    pos_ref = complete & (tot_ref >= 10)
    figures["total_ge10_engine"] = int(pos_out.sum())
    figures["total_ge10_recount"] = int(pos_ref.sum())
    ck.check("screen_positive (>= 10) row by row", bool((pos_out == pos_ref).all()),
             f"engine {int(pos_out.sum())}, recount {int(pos_ref.sum())}")

    item9 = ref["item9"].isin([1, 2, 3]).fillna(False).to_numpy(dtype=bool)
    tier = out["warning_tier"].astype(str).to_numpy()
    codes = out["reason_codes"].fillna("").astype(str)
    has_code = codes.str.split(";").map(lambda c: CRITICAL_CODE in c).to_numpy(dtype=bool)
    figures["item9_1to3"] = int(item9.sum())
    n_tier = int((item9 & (tier == "none")).sum())
    n_code = int((item9 & ~has_code).sum())
    ck.check("DPQ090 in 1-3 -> warning_tier != none", n_tier == 0,
             f"{int(item9.sum())} rows, {n_tier} at none")
    ck.check(f"DPQ090 in 1-3 -> reason_codes has {CRITICAL_CODE}", n_code == 0,
             f"{int(item9.sum())} rows, {n_code} without")
    n_extra = int((~item9 & has_code).sum())
    ck.check(f"{CRITICAL_CODE} only where DPQ090 in 1-3", n_extra == 0, f"{n_extra} extra")

    exp_tier = expect["tier"].to_numpy(dtype=object)
    n_tier_c = int((complete & (tier != exp_tier)).sum())
    n_tier_i = int((~complete & (tier != exp_tier)).sum())
    ck.check("warning_tier == default-policy recount, complete protocols", n_tier_c == 0,
             f"{int(complete.sum())} rows, {n_tier_c} differ")
    ck.check("warning_tier == default-policy recount (bounds), other rows", n_tier_i == 0,
             f"{int((~complete).sum())} rows, {n_tier_i} differ")
    figures["tier_raised_on_incomplete_by_total_bounds"] = int(
        (~complete & (tier != "none") & ~item9
         & (pd.Series(exp_tier) != "none").to_numpy()).sum())
    settled_out = out["tier_settled"].astype(str).str.lower().eq("true").to_numpy()
    n_settled = int((settled_out != expect["settled"].to_numpy()).sum())
    ck.check("tier_settled == recount", n_settled == 0,
             f"{int((~settled_out).sum())} not settled, {n_settled} differ")
    figures["tier_not_settled"] = int((~settled_out).sum())
    figures["status"] = {str(k): int(v) for k, v in out["status"].value_counts().items()}
    cross = pd.crosstab(ref["category"].to_numpy(), out["status"].to_numpy())
    figures["status_by_recount_category"] = {
        str(cat): {str(st): int(n) for st, n in row.items() if n}
        for cat, row in cross.iterrows()}
    n_bad_status = int((complete != (out["status"] == "scored").to_numpy()).sum())
    ck.check("status == scored exactly on the complete protocols", n_bad_status == 0,
             f"{n_bad_status} differ")
    figures["warning_tier"] = {str(k): int(v)
                               for k, v in out["warning_tier"].value_counts().items()}
    return figures


def weighted_from_outputs(rc: ModuleType, data: Path,
                          outputs: dict[str, Path]) -> dict[str, dict[str, float]]:
    """Weighted % with ``phq9.total >= 10`` among adults 20+ scored by the CLI.

    Per cycle with ``WTMEC2YR``, pooled with ``WTMEC2YR / 2`` (NCHS rule for combining two
    2-year cycles).
    """
    parts = {}
    for cycle, path in outputs.items():
        out = pd.read_csv(path, usecols=["SEQN", "phq9.total"], dtype={"SEQN": "int64"},
                          encoding="utf-8-sig")
        demo = rc.load_demo(data / f"DEMO_{cycle}.csv")
        demo["SEQN"] = demo["SEQN"].astype("int64")
        parts[cycle] = out.merge(demo, on="SEQN", how="left", validate="1:1")

    def prevalence(frame: pd.DataFrame, divisor: float) -> dict[str, float]:
        adults = frame[(frame["RIDAGEYR"] >= 20) & frame["phq9.total"].notna()]
        w = adults["WTMEC2YR"] / divisor
        pct = 100 * float((w * (adults["phq9.total"] >= 10)).sum() / w.sum())
        return {"n": len(adults), "pct": round(pct, 3)}

    result = {cycle: prevalence(frame, 1.0) for cycle, frame in parts.items()}
    result["pooled"] = prevalence(pd.concat(parts.values(), ignore_index=True), 2.0)
    return result


def run_cli(cycle: str, data: Path, outdir: Path, repeat: int) -> tuple[dict[str, Any], Path]:
    """Run the CLI ``repeat`` times on ``DPQ_<cycle>.csv``; timings and the output path."""
    src = data / f"DPQ_{cycle}.csv"
    out = outdir / f"results_{cycle}.csv"
    cmd = [*cli_command(), "score", str(src), "-i", "phq9", "--columns", str(COLUMN_MAP),
           "--id-column", "SEQN", "-o", str(out)]
    env = {**os.environ, "COLUMNS": "120"}
    results: list[subprocess.CompletedProcess[str]] = []

    def once() -> None:
        results.append(subprocess.run(cmd, capture_output=True, text=True, env=env, check=False))

    best, times, _ = best_of(repeat, once)
    last = results[-1]
    info = {"command": " ".join(["xinli-screen", *cmd[len(cli_command()):]]),
            "returncode": last.returncode, "wall_s_best": round(best, 3),
            "wall_s_all": [round(t, 3) for t in times],
            "cli_summary": [ln for ln in last.stderr.splitlines()
                            if ln.startswith(("rows read", "warning tier", "data problems"))]}
    return info, out


def time_startup(repeat: int) -> float:
    """Best wall time of ``xinli-screen --help`` (interpreter start-up + CLI imports)."""
    cmd = [*cli_command(), "--help"]
    best, _, _ = best_of(repeat, lambda: subprocess.run(cmd, capture_output=True, check=False))
    return round(best, 3)


def replicated(dpq_j: Path, replicate: int) -> pd.DataFrame:
    """DPQ_J as ``pd.read_csv`` gives it, stacked ``replicate`` times with unique ids.

    Ids: ``SEQN + 1,000,000 x copy number`` (every SEQN is below 10^6), so no row is flagged
    as a duplicate id.
    """
    base = pd.read_csv(dpq_j)
    big = pd.concat([base] * replicate, ignore_index=True)
    big["SEQN"] = big["SEQN"] + 1_000_000.0 * np.repeat(np.arange(replicate), len(base))
    return big


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as text (``"0.0"``, missing = NA), like the CLI's CSV reader delivers it."""
    text = frame.astype(object).where(frame.notna(), None).astype(str)
    return text.where(frame.notna(), None)


def memory_probe(dpq_j: Path, replicate: int, traced: bool) -> dict[str, float]:
    """One ``xs.screen`` call in a fresh interpreter; peak resident memory in MiB.

    The peak is ``VmHWM`` from ``/proc/self/status`` (Linux; reset by ``exec``, unlike
    ``ru_maxrss``, which a child inherits from the parent at ``fork``), read after loading the
    data and after the call. With ``traced``, the ``tracemalloc`` peak of the allocations made
    during the call instead (a slower run).
    """
    code = f"""
import json, resource, sys, tracemalloc
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
import nhanes_run as nr
import xinli_screen as xs
from xinli_screen.io import read_column_map

def hwm():
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

cmap = read_column_map(nr.COLUMN_MAP)
big = nr.replicated(nr.Path({str(dpq_j)!r}), {replicate})
base = hwm()
if {traced!r}:
    tracemalloc.start()
xs.screen(big, ["phq9"], id_column="SEQN", columns=cmap.columns,
          missing_codes=cmap.missing_codes)
peak = tracemalloc.get_traced_memory()[1] if {traced!r} else 0
print(json.dumps({{"peak_rss_data_mib": base, "peak_rss_after_mib": hwm(),
                  "traced_peak_mib": peak / 2**20}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return {k: round(v, 1) for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}


def api_benchmark(dpq_j: Path, replicate: int, repeat: int) -> dict[str, Any]:
    """Time ``xs.screen`` on DPQ_J replicated ``replicate`` times; memory in fresh processes."""
    import xinli_screen as xs
    from xinli_screen.io import read_column_map

    cmap = read_column_map(COLUMN_MAP)
    big = replicated(dpq_j, replicate)
    stages: dict[str, float] = {}

    def run(frame: pd.DataFrame, record: bool = False) -> Any:
        t0 = time.perf_counter()

        def progress(stage: str) -> None:
            if record:
                stages[stage] = time.perf_counter() - t0

        result = xs.screen(frame, ["phq9"], id_column="SEQN", columns=cmap.columns,
                           missing_codes=cmap.missing_codes, progress=progress)
        if record:
            stages["done"] = time.perf_counter() - t0
        return result

    best, times, result = best_of(repeat, lambda: run(big))
    summary = result.summary()
    del result
    run(big, record=True)
    names = [*stages]
    stage_s = {"load definitions": round(stages[names[0]], 3)} | {
        name: round(stages[nxt] - stages[name], 3) for name, nxt in itertools.pairwise(names)}
    text_frame = as_text(big)
    best_text, times_text, _ = best_of(repeat, functools.partial(run, text_frame))
    del text_frame
    plain = memory_probe(dpq_j, replicate, traced=False)
    traced = memory_probe(dpq_j, replicate, traced=True)
    return {
        "rows": len(big),
        "replicate": replicate,
        "numeric_input": {"best_s": round(best, 3), "all_s": [round(t, 3) for t in times],
                          "rows_per_s": round(len(big) / best)},
        "stage_s_one_run": stage_s,
        "text_input": {"best_s": round(best_text, 3),
                       "all_s": [round(t, 3) for t in times_text],
                       "rows_per_s": round(len(big) / best_text)},
        "peak_rss_mib_data_loaded": plain["peak_rss_data_mib"],
        "peak_rss_mib_after_screen": plain["peak_rss_after_mib"],
        "tracemalloc_peak_mib": traced["traced_peak_mib"],
        "status": summary["status"],
        "warning_tier": summary["warning_tier"],
    }


def machine() -> dict[str, Any]:
    """Short description of the machine and software versions."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": cpu, "memory": mem,
            "python": platform.python_version(), "pandas": pd.__version__,
            "numpy": np.__version__, "platform": platform.platform()}


def engine_revision() -> dict[str, Any]:
    """Git commit of the repository and whether ``src/``/``instruments/`` have local edits."""
    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True,
                                  text=True, check=False)
        except OSError:
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    dirty = git("status", "--porcelain", "--", "src", "instruments")
    import xinli_screen

    return {"commit": git("rev-parse", "--short", "HEAD") or "unknown",
            "engine_files_modified": len(dirty.splitlines()) if dirty else 0,
            "package_version": xinli_screen.__version__}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    rc = load_recount()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=rc.default_shared(),
                        help="shared folder holding data/nhanes_phq9_2015_2018 "
                             "(default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="timing repeats (best is kept)")
    parser.add_argument("--replicate", type=int, default=100,
                        help="copies of DPQ_J for the API throughput run (0 skips it)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    parser.add_argument("--keep", type=Path, default=None,
                        help="write the CLI outputs here instead of a temporary folder")
    args = parser.parse_args(argv)
    data = rc.data_dir(args.shared)
    if not (data / "DPQ_J.csv").is_file():
        print(f"NHANES data not found in {data}", file=sys.stderr)
        return 2

    report: dict[str, Any] = {"machine": machine(), "engine": engine_revision(), "cycles": {}}
    print("machine: " + ", ".join(f"{k} {v}" for k, v in report["machine"].items()))
    print("engine: " + ", ".join(f"{k} {v}" for k, v in report["engine"].items()))
    report["loadavg_start"] = [round(x, 2) for x in os.getloadavg()]
    print(f"load average at start (1/5/15 min): {report['loadavg_start']} "
          "(timings are only comparable on an otherwise idle machine)")
    ck = Checker()
    with tempfile.TemporaryDirectory(prefix="xs_nhanes_") as tmp:
        outdir = args.keep or Path(tmp)
        outdir.mkdir(parents=True, exist_ok=True)
        report["cli_startup_s_best"] = time_startup(args.repeat)
        print(f"CLI start-up (xinli-screen --help), best of {args.repeat}: "
              f"{report['cli_startup_s_best']:.3f} s")
        for cycle in ("I", "J"):
            print(f"\nDPQ_{cycle}:")
            info, out_path = run_cli(cycle, data, outdir, args.repeat)
            print(f"  $ {info['command']}")
            print(f"  exit code {info['returncode']}; wall time best of {args.repeat}: "
                  f"{info['wall_s_best']:.3f} s (all: {info['wall_s_all']})")
            for line in info["cli_summary"]:
                print(f"  cli: {line}")
            ck.check("CLI exit code 0", info["returncode"] == 0, str(info["returncode"]))
            dpq = rc.load_dpq(data / f"DPQ_{cycle}.csv")
            ref = rc.respondent_table(dpq)
            out = pd.read_csv(out_path, dtype={"SEQN": str}, encoding="utf-8-sig")
            figures = compare(out, ref, expected_tiers(dpq), ck)
            info.update(figures)
            report["cycles"][cycle] = info
            print("  figures: complete {c}, total>=10 {p}, bands {b}, DPQ090 1-3 {n}".format(
                c=figures.get("scored_engine"), p=figures.get("total_ge10_engine"),
                b=figures.get("bands_engine"), n=figures.get("item9_1to3")))
            print(f"  status {figures.get('status')}; tiers {figures.get('warning_tier')}")
            print(f"  recount category -> engine status: "
                  f"{figures.get('status_by_recount_category')}")
            print(f"  tier raised on an incomplete protocol by the total's bounds (item 9 "
                  f"not positive): {figures.get('tier_raised_on_incomplete_by_total_bounds')}; "
                  f"tier not settled: {figures.get('tier_not_settled')}")
        report["weighted_from_cli_output"] = weighted_from_outputs(
            rc, data, {c: outdir / f"results_{c}.csv" for c in ("I", "J")})
        w = report["weighted_from_cli_output"]
        ref_w = rc.recount(args.shared)["cycles"]
        print("\nweighted % with PHQ-9 >= 10, adults 20+, from the CLI output vs the recount:")
        for key, label in (("I", "DPQ_I, WTMEC2YR"), ("J", "DPQ_J, WTMEC2YR"),
                           ("pooled", "pooled I+J, WTMEC2YR/2")):
            want = ref_w[key]["weighted"]
            print(f"  {label}: engine n {w[key]['n']} {w[key]['pct']:.3f}% | recount n "
                  f"{want['n_20plus']} {want['prev_20plus']['pct']:.3f}%")
            ck.check(f"weighted prevalence {key} == recount",
                     w[key]["n"] == want["n_20plus"]
                     and abs(w[key]["pct"] - want["prev_20plus"]["pct"]) < 5e-4)
    if args.replicate > 0:
        print(f"\nPython API xs.screen on DPQ_J x {args.replicate}:")
        api = api_benchmark(data / "DPQ_J.csv", args.replicate, args.repeat)
        report["api"] = api
        n = api["rows"]
        print(f"  rows {n}; numeric DataFrame (pd.read_csv): best {api['numeric_input']['best_s']}"
              f" s = {api['numeric_input']['rows_per_s']:,} rows/s "
              f"(all {api['numeric_input']['all_s']})")
        print(f"  text DataFrame (as the CLI reads): best {api['text_input']['best_s']} s = "
              f"{api['text_input']['rows_per_s']:,} rows/s (all {api['text_input']['all_s']})")
        print(f"  stages of one numeric run (s): {api['stage_s_one_run']}")
        print(f"  memory (fresh process, one call): peak RSS {api['peak_rss_mib_data_loaded']} MiB"
              f" with the data loaded, {api['peak_rss_mib_after_screen']} MiB after xs.screen; "
              f"tracemalloc peak during xs.screen {api['tracemalloc_peak_mib']} MiB")
        ck.check(f"API x{args.replicate}: scored rows = {args.replicate} x 5068 (DPQ_J complete)",
                 api["status"]["scored"] == args.replicate * 5068,
                 f"scored {api['status']['scored']}")
    report["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"load average at end: {report['loadavg_end']}")
    print(f"\n{ck.n - len(ck.failed)} of {ck.n} checks passed"
          + (f"; MISMATCHES: {ck.failed}" if ck.failed else ""))
    report["checks"] = {"total": ck.n, "failed": ck.failed}
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
        print(f"wrote {args.json}")
    return 1 if ck.failed else 0


if __name__ == "__main__":
    sys.exit(main())
