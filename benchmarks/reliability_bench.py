"""Timing of cronbach_alpha + item_analysis + mcdonald_omega on simulated responses.

Simulates ``n`` respondents x ``k`` items on a 1-5 scale from a three-factor model (one
general factor plus three group factors, every fourth item reverse-worded), with about 2 %
of the answers missing at random, and times each step with pairwise and listwise deletion.
Nothing is written; the timings are printed (and optionally saved as JSON).

Usage::

    python benchmarks/reliability_bench.py [--n 100000] [--k 100] [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen.reliability import cronbach_alpha, item_analysis, mcdonald_omega


def simulate(n: int, k: int, seed: int = 20261129, p_missing: float = 0.02) -> tuple[
        pd.DataFrame, list[str]]:
    """Likert answers 1-5 from a bifactor model; returns (answers, reverse-keyed columns)."""
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(n)
    groups = rng.standard_normal((n, 3))
    which = np.arange(k) % 3
    lg = rng.uniform(0.4, 0.7, k)
    ls = rng.uniform(0.2, 0.5, k)
    latent = g[:, None] * lg + groups[:, which] * ls
    latent += rng.standard_normal((n, k)) * np.sqrt(np.clip(1 - lg ** 2 - ls ** 2, 0.05, None))
    reverse = np.arange(k) % 4 == 3
    latent[:, reverse] *= -1
    answers = np.clip(np.round(3 + 1.2 * latent), 1, 5)
    answers[rng.random((n, k)) < p_missing] = np.nan
    cols = [f"q{j + 1:03d}" for j in range(k)]
    return pd.DataFrame(answers, columns=cols), [c for c, r in zip(cols, reverse, strict=True)
                                                  if r]


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    t0 = time.perf_counter()
    df, rev = simulate(args.n, args.k)
    print(f"simulated {args.n} x {args.k} in {time.perf_counter() - t0:.2f} s "
          f"({df.isna().to_numpy().mean():.1%} missing, {len(rev)} reverse-keyed items)")
    kw = {"keys": rev, "scale_range": (1, 5)}
    results: dict[str, Any] = {"n": args.n, "k": args.k, "python": platform.python_version(),
                               "machine": platform.machine(), "timings_s": {}}
    for missing in ("pairwise", "listwise"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_alpha, a = best_of(lambda m=missing: cronbach_alpha(df, missing=m, **kw),
                                 args.repeat)
            t_items, _ = best_of(lambda m=missing: item_analysis(df, missing=m, **kw),
                                 args.repeat)
            t_omega, o = best_of(lambda m=missing: mcdonald_omega(df, 3, missing=m, **kw),
                                 args.repeat)
        total = t_alpha + t_items + t_omega
        results["timings_s"][missing] = {"cronbach_alpha": t_alpha, "item_analysis": t_items,
                                         "mcdonald_omega": t_omega, "total": total}
        print(f"{missing:>8}: alpha {t_alpha:6.2f} s  item_analysis {t_items:6.2f} s  "
              f"omega {t_omega:6.2f} s  total {total:6.2f} s   "
              f"(n_obs {a.n_obs}, alpha {a.alpha:.4f}, omega_t {o.omega_total:.4f}, "
              f"omega_h {o.omega_hierarchical:.4f})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
