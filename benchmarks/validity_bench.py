"""Timing of the careless-responding indices on a large simulated answer matrix.

Simulates ``--n`` respondents x ``--items`` items (default 100,000 x 100): ``--scales`` scales
of equal length, each item loading 0.93 on its scale's latent trait, every second item of a
scale reverse keyed (so there are synonym *and* antonym pairs), answers cut into 1-5; 3 % of
the respondents straight-line, 5 % answer at random and 1 % of the cells are missing. Then
times every index of :mod:`xinli_screen.validity` and the combined :func:`careless_screen`,
and prints one line per function (best of ``--repeat`` runs, wall-clock seconds).

Usage::

    python benchmarks/validity_bench.py [--n 100000] [--items 100] [--scales 10] [--repeat 3]

Timings depend on the BLAS threads: on a machine shared with other jobs, multi-threaded
OpenBLAS can be several times slower than one thread; ``OPENBLAS_NUM_THREADS=1`` gives stable
numbers.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from xinli_screen import validity


def simulate(n: int, n_items: int, n_scales: int,
             seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Answers (float, NaN = missing), the same reverse keyed, and 问卷星-style time texts."""
    rng = np.random.default_rng(seed)
    per = n_items // n_scales
    trait = rng.standard_normal((n, n_scales))
    latent = np.repeat(trait, per, axis=1)
    sign = np.tile(np.where(np.arange(per) % 2 == 0, 1.0, -1.0), n_scales)
    raw = 0.93 * latent * sign + np.sqrt(1 - 0.93**2) * rng.standard_normal((n, per * n_scales))
    answers = np.digitize(raw, [-1.5, -0.5, 0.5, 1.5]).astype(float) + 1.0
    kind = rng.random(n)
    straight = kind < 0.03
    random_ = (kind >= 0.03) & (kind < 0.08)
    answers[straight] = rng.integers(1, 6, size=(int(straight.sum()), 1))
    answers[random_] = rng.integers(1, 6, size=(int(random_.sum()), per * n_scales))
    answers[rng.random(answers.shape) < 0.01] = np.nan
    seconds = np.where(straight | random_, rng.integers(60, 200, n), rng.integers(150, 1500, n))
    times = pd.Series([f"{s // 60}分{s % 60}秒" for s in seconds], dtype=object)
    columns = [f"q{j + 1:03d}" for j in range(per * n_scales)]
    items = pd.DataFrame(answers, columns=columns)
    keyed = pd.DataFrame(np.where(sign > 0, answers, 6.0 - answers), columns=columns)
    return items, keyed, times


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--scales", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20240501)
    args = parser.parse_args(argv)

    items, keyed, times = simulate(args.n, args.items, args.scales, args.seed)
    factors = [args.items // args.scales] * args.scales
    pairs = validity.psychsyn_critval(items)
    print(f"{args.n:,} respondents x {items.shape[1]} items; numpy {np.__version__}, "
          f"pandas {pd.__version__}, Python {platform.python_version()}, "
          f"{platform.machine()}")
    print(f"synonym pairs (r > .60): {int((pairs['cor'] > 0.6).sum())}, antonym pairs "
          f"(r < -.60): {int((pairs['cor'] < -0.6).sum())}")
    runs = {
        "longstring": lambda: validity.longstring(items),
        "longstring(average=True)": lambda: validity.longstring(items, average=True),
        "irv": lambda: validity.irv(items),
        "mahalanobis(confidence=.99)": lambda: validity.mahalanobis(items, 0.99),
        "even_odd (keyed items)": lambda: validity.even_odd(keyed, factors),
        "psychsyn": lambda: validity.psychsyn(items),
        "psychant": lambda: validity.psychant(items),
        "parse_duration (text)": lambda: validity.parse_duration(times),
        "careless_screen (all)": lambda: validity.careless_screen(
            items, factors=factors, keyed=keyed, response_times=times,
            thresholds={"even_odd_above": -0.30}),
    }
    total = 0.0
    for name, fn in runs.items():
        sec = best_of(args.repeat, fn)
        if not name.startswith("careless_screen"):
            total += sec
        print(f"{name:<30} {sec:8.3f} s")
    print(f"{'sum of the single indices':<30} {total:8.3f} s")
    screen = validity.careless_screen(items, factors=factors, keyed=keyed, response_times=times,
                                      thresholds={"even_odd_above": -0.30})
    counts = screen["protocol_valid"].astype(object).fillna("NA").value_counts().to_dict()
    print(f"protocol_valid: {counts}")
    codes = screen["validity_reason_codes"].str.split(";").explode()
    print(f"checks fired: {codes[codes != ''].value_counts().to_dict()}")


if __name__ == "__main__":
    main()
