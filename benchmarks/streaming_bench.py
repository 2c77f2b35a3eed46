"""Streamed ``xinli-screen score`` (CSV -> CSV, Parquet -> Parquet, with and without
``--careless``) beside its floor, measured in the same run; prints JSON.

The floor of each format is a fresh Python process that streams the same file with pyarrow
(``pyarrow.csv.open_csv`` with typed item columns / ``ParquetFile.iter_batches``) in batches
of the same size and scores every batch with numpy (keys-matrix sums and answered counts of
the 10 scales, :func:`synthetic.numpy_scores`): what reading and scoring the file costs
without anything of ours. Every command runs in a fresh process under ``/usr/bin/time``
(wall time from start to exit, interpreter start-up and imports included; peak RSS of the
process itself).

With ``--before-src DIR`` (a copy of ``src/`` with the change under test undone), every round
also runs the command with ``PYTHONPATH=DIR``, alternating floor, before and after, and checks
that the two output files are byte-identical.

Usage::

    python benchmarks/streaming_bench.py --n 1000000            # minutes
    python benchmarks/streaming_bench.py --n 10000000 --work /tmp/bench
    python benchmarks/streaming_bench.py --n 1000000 --formats csv --no-careless \
        --before-src /tmp/xs_before/src --rounds 2
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import synthetic

#: The floor: stream the file with pyarrow, score each batch with numpy (argv: path, chunk).
FLOOR = r"""
import sys
import numpy as np
import pyarrow as pa
sys.path.insert(0, sys.argv[3])
import synthetic  # numpy and PyYAML only
from synthetic import numpy_scores

path, chunk = sys.argv[1], int(sys.argv[2])
keys = np.zeros((synthetic.N_ITEMS, synthetic.N_SCALES))
for j in range(synthetic.N_ITEMS):
    keys[j, j // synthetic.PER_SCALE] = 1.0
reverse = np.array([i in synthetic.REVERSED for i in synthetic.ITEMS])
if path.endswith(".parquet"):
    import pyarrow.parquet as pq
    batches = pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=chunk)
else:
    import pyarrow.csv as pcsv
    types = {"sid": pa.string(), **{i: pa.float64() for i in synthetic.ITEMS}}
    batches = pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=chunk * 300),
                            convert_options=pcsv.ConvertOptions(column_types=types))
rows, total = 0, 0.0
for batch in batches:
    x = np.column_stack([batch.column(i).to_numpy(zero_copy_only=False)
                         for i in synthetic.ITEMS]).astype(float)
    sums, counts = numpy_scores(x, keys, reverse, 0.0, 4.0)
    rows += len(x)
    total += float(sums[:, 0].sum())
print(rows)
"""


def timed(cmd: list[str], rss_file: Path, src: str | None = None) -> dict:
    """Run ``cmd`` under /usr/bin/time: wall seconds, peak RSS (MiB), exit code, stderr tail
    (``src``: a source tree put first on ``PYTHONPATH``)."""
    env = None if src is None else {**os.environ, "PYTHONPATH": src}
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *cmd],
                          capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    return {"seconds": round(wall, 2),
            "peak_rss_mib": round(int(rss_file.read_text().split()[-1]) / 1024, 1),
            "exit_code": proc.returncode,
            "stderr_tail": proc.stderr.strip().splitlines()[-2:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=100_000,
                        help="rows per chunk (the CLI's default)")
    parser.add_argument("--formats", nargs="*", default=["parquet", "csv"])
    parser.add_argument("--no-careless", action="store_true", help="skip the --careless runs")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--before-src", default=None,
                        help="a src/ tree without the change: also time the command with it")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="xinli_stream_"))
    work.mkdir(parents=True, exist_ok=True)
    inst, pol = synthetic.write_definitions(work)
    here = str(Path(__file__).resolve().parent)
    rss = work / "rss.txt"
    report: dict = {"n": args.n, "chunk_rows": args.chunk, "items": synthetic.N_ITEMS,
                    "formats": {}}
    for fmt in args.formats:
        path = work / f"stream_{args.n}.{fmt}"
        if not path.exists():
            (synthetic.write_parquet if fmt == "parquet" else synthetic.write_csv)(path, args.n)
        score = [sys.executable, "-m", "xinli_screen", "score", str(path), "-i", str(inst),
                 "--policy", str(pol), "--id-column", "sid", "-o", str(work / f"out.{fmt}"),
                 "--chunk-size", str(args.chunk), "--no-progress"]
        before = [*score[:-4], str(work / f"before.{fmt}"), *score[-3:]]
        rounds = []
        for _ in range(max(args.rounds, 1)):
            floor = timed([sys.executable, "-c", FLOOR, str(path), str(args.chunk), here], rss)
            one = {"floor": floor}
            if args.before_src:
                one["before"] = timed(before, rss, args.before_src)
            plain = one["score"] = timed(score, rss)
            one["ratio_to_floor"] = round(plain["seconds"] / floor["seconds"], 2)
            if args.before_src:
                one["before_ratio_to_floor"] = round(
                    one["before"]["seconds"] / floor["seconds"], 2)
                one["outputs_identical"] = filecmp.cmp(work / f"out.{fmt}",
                                                       work / f"before.{fmt}", shallow=False)
            rounds.append(one)
            print(json.dumps({fmt: one}), file=sys.stderr, flush=True)
        entry = {"file_mib": round(path.stat().st_size / 2**20, 1), **rounds[-1],
                 "rounds": rounds}
        if not args.no_careless:
            careless = timed([*score, "--careless"], rss)
            entry["score_careless"] = careless
            entry["careless_ratio_to_plain"] = round(careless["seconds"] / plain["seconds"], 2)
        report["formats"][fmt] = entry
        print(json.dumps({fmt: entry}), file=sys.stderr, flush=True)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
