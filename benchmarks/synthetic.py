"""Synthetic benchmark data: 100 items (0-4) across 10 scales with reverse keys, 1% missing.

``write_definitions(folder)`` writes the instrument (``bench100.yaml``) and a warning policy
(``bench_policy.yaml``) whose rules use every scale's cut-off and band, and returns their paths;
``make_codes(n)`` draws answers; ``write_parquet`` / ``write_csv`` write them in row groups so
that 10^7 rows never sit in memory at once; ``numpy_scores`` is the numpy floor the
benchmarks set beside the engine's scoring (numpy only, so a floor process imports nothing
else).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

N_ITEMS, N_SCALES, PER_SCALE = 100, 10, 10
ITEMS = [f"bench100_{i:03d}" for i in range(1, N_ITEMS + 1)]
#: Items 3, 6 and 9 of every scale are reverse keyed.
REVERSED = {ITEMS[s * PER_SCALE + k] for s in range(N_SCALES) for k in (2, 5, 8)}


def _instrument() -> dict:
    options = [{"code": c, "label": {"zh": f"选项{c}", "en": f"option {c}"}} for c in range(5)]
    items = [{"id": item, "number": j + 1, "reverse_keyed": item in REVERSED}
             for j, item in enumerate(ITEMS)]
    scales = []
    for s in range(N_SCALES):
        scales.append({
            "id": f"s{s + 1:02d}", "name": {"zh": f"分量表{s + 1}", "en": f"Scale {s + 1}"},
            "items": ITEMS[s * PER_SCALE:(s + 1) * PER_SCALE], "method": "sum",
            "min_answered": 8, "prorate": True,
            "bands": [{"id": "low", "min": 0, "label": {"zh": "低", "en": "low"}},
                      {"id": "mid", "min": 20, "label": {"zh": "中", "en": "mid"}},
                      {"id": "high", "min": 30, "label": {"zh": "高", "en": "high"}}],
            "cutoffs": [{"id": "positive", "op": ">=", "value": 32,
                         "label": {"zh": "阳性", "en": "positive"}, "source": "synthetic"}],
            "source": "synthetic benchmark scale"})
    return {
        "id": "bench100", "version": "1.0.0", "short_name": "BENCH-100",
        "name": {"zh": "基准测试量表", "en": "Benchmark instrument"},
        "description": {"zh": "合成数据，仅用于性能测试。", "en": "Synthetic; benchmarks only."},
        "population": "synthetic",
        "citation": [{"text": "xinli-screen benchmarks (synthetic).", "used_for": "all"}],
        "licence": {"name": "synthetic", "item_text_allowed": False,
                    "statement": "Synthetic benchmark definition.", "source": "benchmarks/"},
        "response_scales": [{"id": "five", "options": options}],
        "items": items, "scales": scales,
    }


def _policy(default: dict) -> dict:
    policy = dict(default)
    policy.update({"id": "bench_policy", "version": "1.0.0"})
    policy.pop("history", None)
    rules = []
    for s in range(N_SCALES):
        sid = f"bench100.s{s + 1:02d}"
        rules.append({"id": f"s{s + 1:02d}_positive", "tier": "class",
                      "when": {"cutoff": f"{sid}.positive"},
                      "reason": {"zh": "阳性（{evidence}）", "en": "positive ({evidence})"},
                      "source": "synthetic"})
        rules.append({"id": f"s{s + 1:02d}_high", "tier": "school",
                      "when": {"scale": sid, "op": ">=", "value": 37},
                      "reason": {"zh": "高（{evidence}）", "en": "high ({evidence})"},
                      "source": "synthetic"})
    rules.append({"id": "item1_max", "tier": "district",
                  "when": {"all": [{"item": ITEMS[0], "op": ">=", "value": 4},
                                   {"scale": "bench100.s01", "op": ">=", "value": 36}]},
                  "reason": {"zh": "组合（{evidence}）", "en": "combined ({evidence})"},
                  "source": "synthetic"})
    policy["rules"] = rules
    return policy


def write_definitions(folder: Path) -> tuple[Path, Path]:
    """Write ``bench100.yaml`` and ``bench_policy.yaml``; return their paths."""
    from xinli_screen.policy.loader import load_policy

    folder.mkdir(parents=True, exist_ok=True)
    inst = folder / "bench100.yaml"
    inst.write_text(yaml.safe_dump(_instrument(), allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    default_path = Path(load_policy("default").path)
    default = yaml.safe_load(default_path.read_text(encoding="utf-8"))
    pol = folder / "bench_policy.yaml"
    pol.write_text(yaml.safe_dump(_policy(default), allow_unicode=True, sort_keys=False),
                   encoding="utf-8")
    return inst, pol


def make_codes(n: int, seed: int = 0) -> np.ndarray:
    """Answers, shape (n, 100), float64 codes 0-4 with 1% NaN; correlated within scales."""
    rng = np.random.default_rng(seed)
    trait = rng.normal(size=(n, N_SCALES)).repeat(PER_SCALE, axis=1)
    noise = rng.normal(size=(n, N_ITEMS))
    sign = np.array([-1.0 if i in REVERSED else 1.0 for i in ITEMS])
    x = np.clip(np.rint(2 + 0.9 * trait * sign + 0.8 * noise), 0, 4)
    x[rng.random((n, N_ITEMS)) < 0.01] = np.nan
    return x


def ids(start: int, n: int) -> np.ndarray:
    return np.array([f"S{k:09d}" for k in range(start, start + n)], dtype=object)


def _table(start: int, codes: np.ndarray):
    import pyarrow as pa

    cols = {"sid": pa.array(ids(start, len(codes)), type=pa.string())}
    for j, item in enumerate(ITEMS):
        cols[item] = pa.array(codes[:, j], mask=np.isnan(codes[:, j]), type=pa.float64())
    return pa.table(cols)


def write_parquet(path: Path, n: int, block: int = 1_000_000, seed: int = 0) -> Path:
    """``n`` respondents as Parquet (row groups of ``block`` rows)."""
    import pyarrow.parquet as pq

    writer = None
    for k, start in enumerate(range(0, n, block)):
        table = _table(start, make_codes(min(block, n - start), seed + k))
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=min(block, 200_000))
    if writer is not None:
        writer.close()
    return path


def write_csv(path: Path, n: int, block: int = 1_000_000, seed: int = 0) -> Path:
    """``n`` respondents as CSV (UTF-8, empty cells for missing answers)."""
    import pyarrow.csv as pcsv

    with path.open("wb") as fh:
        for k, start in enumerate(range(0, n, block)):
            table = _table(start, make_codes(min(block, n - start), seed + k))
            pcsv.write_csv(table, fh, pcsv.WriteOptions(include_header=start == 0))
    return path


def numpy_scores(x: np.ndarray, keys: np.ndarray, reverse: np.ndarray, lo: float, hi: float):
    """Keys-matrix scoring: keyed sums and answered counts per scale (NaN-aware).

    Reverse keying is folded into the keys: for a reversed item, ``lo + hi - x`` summed over
    the answered cells is ``(lo + hi) * answered - x``, so two matrix products give the keyed
    sums and one gives the counts. R equivalent: ``psych::scoreFast`` (sums).

    Parameters
    ----------
    x : ndarray, shape (n_rows, n_items)
        Answer codes, NaN = missing.
    keys : ndarray, shape (n_items, n_scales)
        1 where an item belongs to a scale, else 0.
    reverse : ndarray of bool, shape (n_items,)
        Reverse-keyed items.
    lo, hi : float
        Lowest and highest answer code.

    Returns
    -------
    sums, counts : ndarray, shape (n_rows, n_scales)
        Keyed sums over the answered items and the number of answered items.
    """
    answered = ~np.isnan(x)
    x0 = np.where(answered, x, 0.0)
    m = answered.astype(np.float64)
    signed = keys * np.where(reverse, -1.0, 1.0)[:, None]
    offset = keys * np.where(reverse, lo + hi, 0.0)[:, None]
    return x0 @ signed + m @ offset, m @ keys
