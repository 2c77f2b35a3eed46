"""Start-up time of the command line (issue 17 item 8), each figure beside its floor.

Runs, as fresh processes, best of ``--repeat`` rounds (wall time from start to exit; the
commands alternate within each round so that load changes touch all of them alike):

* ``python -c pass`` (the floor: the interpreter alone);
* ``python -c "import pandas"`` (the floor of any command that reads answers);
* ``xinli-screen --help`` (as ``python -m xinli_screen --help``);
* ``xinli-screen score`` of a tiny CSV (5 pupils, PHQ-9) to CSV;

with ``--before-src DIR`` also the two ``xinli-screen`` commands with ``PYTHONPATH=DIR`` (a
copy of an earlier ``src/``, e.g. ``git archive HEAD~1 src | tar -x -C /tmp/old``), and then
``python -X importtime -m xinli_screen --help`` once, printing the heaviest top-level imports.
Nothing is asserted about time.

Usage::

    python benchmarks/startup_bench.py            # best of 5
    python benchmarks/startup_bench.py --repeat 9 --json startup.json
    python benchmarks/startup_bench.py --before-src /tmp/old/src
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


def best_of(commands: dict[str, tuple[list[str], dict[str, str]]], repeat: int,
            cwd: Path) -> dict[str, float]:
    """Best wall time (s) of each named ``(args, env)`` over ``repeat`` rounds (each exits 0)."""
    best = dict.fromkeys(commands, float("inf"))
    for _ in range(repeat):
        for name, (args, env) in commands.items():
            start = time.perf_counter()
            subprocess.run(args, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def tiny_answers(folder: Path) -> Path:
    """Write a 5-pupil PHQ-9 answer file (codes 0-3, item 10 the difficulty item)."""
    path = folder / "tiny.csv"
    header = "student_id," + ",".join(f"phq9_{k:02d}" for k in range(1, 11))
    rows = [f"s{r}," + ",".join(str((r + k) % 4) for k in range(10)) for r in range(5)]
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def heaviest_imports(cwd: Path, top: int = 12) -> list[tuple[str, float]]:
    """Top-level packages by cumulative import time (s) under ``-X importtime`` of ``--help``."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "xinli_screen", "--help"],
                          cwd=cwd, capture_output=True, text=True, check=True)
    cumulative: dict[str, float] = {}
    for line in done.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[1].isdigit() and "." not in parts[2]:
            cumulative[parts[2]] = int(parts[1]) / 1e6
    return sorted(cumulative.items(), key=lambda kv: -kv[1])[:top]


def main() -> None:
    """Parse the options, run the processes and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--before-src", type=Path, help="an earlier src/ to compare with")
    args = parser.parse_args()
    py = sys.executable
    env = dict(os.environ)
    variants = {"": env}
    if args.before_src:
        variants["before_"] = {**env, "PYTHONPATH": str(args.before_src.resolve())}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        answers = tiny_answers(work)
        score = ["score", str(answers), "-i", "phq9", "--id-column", "student_id",
                 "-o", str(work / "out.csv")]
        commands = {"python_bare": ([py, "-c", "pass"], env),
                    "import_pandas": ([py, "-c", "import pandas"], env)}
        for prefix, variant_env in variants.items():
            commands[f"{prefix}help"] = ([py, "-m", "xinli_screen", "--help"], variant_env)
            commands[f"{prefix}score_tiny"] = ([py, "-m", "xinli_screen", *score], variant_env)
        load_before = os.getloadavg()[0]
        seconds = best_of(commands, args.repeat, work)
        report = {"load_before": load_before, "load_after": os.getloadavg()[0],
                  "repeat": args.repeat, "seconds": seconds,
                  "help_imports_s": heaviest_imports(work)}
    text = json.dumps(report, indent=1)
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
