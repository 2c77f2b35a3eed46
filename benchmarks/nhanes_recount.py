"""Independent recount of the NHANES 2015-2018 PHQ-9 files (DPQ_I, DPQ_J) with plain pandas.

This script deliberately does **not** import ``xinli_screen``: it is the second, independent
implementation that ``benchmarks/nhanes_run.py`` and ``docs/validation.md`` compare the engine
against. Everything here follows the NCHS codebook as reproduced in the shared ``SOURCE.md``:

* items ``DPQ010``-``DPQ090`` are coded 0-3; 7 = refused, 9 = don't know, empty = missing;
* the total (0-27) exists only when all nine items are coded 0-3;
* severity bands 0-4 / 5-9 / 10-14 / 15-19 / 20-27, "depression" = total >= 10;
* weighted estimates join DEMO on ``SEQN``, keep adults 20+ (``RIDAGEYR >= 20``) with a complete
  PHQ-9 and weight by ``WTMEC2YR`` (one cycle) or ``WTMEC2YR / 2`` (pooled 2015-2018).

Row categories (mutually exclusive, checked in this order): *complete* (all nine items 0-3),
*any 7/9* (at least one of the nine items is 7 or 9), *all missing* (all nine items empty),
*other partial* (everything else: some items empty, none 7/9). Codes other than 0-3/7/9 are
counted separately (``other_codes``) and must be zero for the NCHS files.

Only aggregated counts are printed; no respondent-level values are written.

Usage::

    python benchmarks/nhanes_recount.py [--shared PATH] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: The nine scored PHQ-9 symptom items (DPQ100 is the functional item, not in the total).
ITEMS: tuple[str, ...] = tuple(f"DPQ0{k}0" for k in range(1, 10))
#: Every DPQ item column, including the functional item.
ALL_ITEMS: tuple[str, ...] = (*ITEMS, "DPQ100")
#: Severity bands (Kroenke 2001): label -> (lowest, highest) total, inclusive.
BANDS: dict[str, tuple[int, int]] = {
    "0-4": (0, 4),
    "5-9": (5, 9),
    "10-14": (10, 14),
    "15-19": (15, 19),
    "20-27": (20, 27),
}
#: Cycle letter -> years.
CYCLES: dict[str, str] = {"I": "2015-2016", "J": "2017-2018"}
#: Sub-directory of the shared folder that holds the NHANES files.
DATA_SUBDIR = Path("data") / "nhanes_phq9_2015_2018"


def default_shared() -> Path:
    """``../shared`` next to the repository root (the repository is this file's grandparent)."""
    return Path(__file__).resolve().parents[1].parent / "shared"


def data_dir(shared: Path) -> Path:
    """Folder with ``DPQ_*.csv`` / ``DEMO_*.csv`` inside a shared folder."""
    return shared / DATA_SUBDIR


def load_dpq(path: Path) -> pd.DataFrame:
    """Read a DPQ CSV and cast ``SEQN`` and the item codes (written as floats) to ``Int64``.

    Raises
    ------
    ValueError
        A value is not a whole number (the cast would lose information).
    """
    raw = pd.read_csv(path)
    cols = ["SEQN", *ALL_ITEMS]
    missing = [c for c in cols if c not in raw.columns]
    if missing:
        raise ValueError(f"{path.name}: columns missing: {missing}")
    out = pd.DataFrame(index=raw.index)
    for col in cols:
        values = raw[col].astype(float)
        frac = values.dropna() % 1
        if (frac != 0).any():
            raise ValueError(f"{path.name}: column {col} has non-integer values")
        out[col] = values.astype("Int64")
    return out


def load_demo(path: Path) -> pd.DataFrame:
    """Read a DEMO CSV: ``SEQN`` (Int64), sex, age and the design variables (float)."""
    cols = ["SEQN", "RIAGENDR", "RIDAGEYR", "WTMEC2YR", "SDMVPSU", "SDMVSTRA"]
    demo = pd.read_csv(path, usecols=cols)
    demo["SEQN"] = demo["SEQN"].astype(float).astype("Int64")
    return demo


def classify(dpq: pd.DataFrame) -> pd.Series:
    """Row category: ``complete``, ``any_7_9``, ``all_missing``, ``other_partial``.

    See the module docstring for the order of precedence.
    """
    x = dpq[list(ITEMS)]
    valid = x.isin([0, 1, 2, 3]).fillna(False).to_numpy(dtype=bool)
    refused = x.isin([7, 9]).fillna(False).to_numpy(dtype=bool)
    empty = x.isna().to_numpy()
    cat = np.full(len(dpq), "other_partial", dtype=object)
    cat[empty.all(axis=1)] = "all_missing"
    cat[refused.any(axis=1)] = "any_7_9"
    cat[valid.all(axis=1)] = "complete"
    return pd.Series(cat, index=dpq.index, name="category")


def totals(dpq: pd.DataFrame) -> pd.Series:
    """PHQ-9 total per row (float), NaN unless all nine items are coded 0-3."""
    x = dpq[list(ITEMS)].astype("float64")
    complete = (classify(dpq) == "complete").to_numpy()
    total = x.sum(axis=1, skipna=False).to_numpy(dtype=float, copy=True)
    total[~complete] = np.nan
    return pd.Series(total, index=dpq.index, name="total")


def band_of(total: pd.Series) -> pd.Series:
    """Severity band label (``"0-4"`` ... ``"20-27"``) per total; None when the total is NaN."""
    out = pd.Series([None] * len(total), index=total.index, dtype=object)
    for label, (lo, hi) in BANDS.items():
        out[(total >= lo) & (total <= hi)] = label
    return out


def respondent_table(dpq: pd.DataFrame) -> pd.DataFrame:
    """Per-row recount (input order): ``SEQN``, ``category``, ``total``, ``band``, ``item9``.

    ``item9`` is ``DPQ090`` as coded (Int64; 7/9 kept as they are). Used by ``nhanes_run.py``
    for the per-respondent comparison; never printed.
    """
    tot = totals(dpq)
    return pd.DataFrame({
        "SEQN": dpq["SEQN"],
        "category": classify(dpq),
        "total": tot,
        "band": band_of(tot),
        "item9": dpq["DPQ090"],
    })


#: Order of the codebook frequency columns.
CODEBOOK_CODES: tuple[str, ...] = ("0", "1", "2", "3", "7", "9", "missing")

#: NCHS codebook frequency counts (unweighted) for codes 0/1/2/3/7/9/missing, from the NCHS
#: documentation pages "Mental Health - Depression Screener" DPQ_I (Dec 2017) and DPQ_J
#: (Feb 2020), section "Codebook and Frequencies", as reproduced in the shared SOURCE.md.
PUBLISHED_CODEBOOK: dict[str, dict[str, tuple[int, ...]]] = {
    "I": {
        "DPQ010": (3805, 852, 255, 239, 7, 6, 571),
        "DPQ020": (3920, 872, 210, 159, 3, 0, 571),
        "DPQ030": (3192, 1195, 355, 419, 1, 2, 571),
        "DPQ040": (2464, 1794, 465, 438, 1, 0, 573),
        "DPQ050": (3810, 867, 243, 238, 0, 4, 573),
        "DPQ060": (4319, 557, 147, 136, 1, 2, 573),
        "DPQ070": (4322, 523, 147, 167, 0, 2, 574),
        "DPQ080": (4612, 348, 100, 98, 0, 3, 574),
        "DPQ090": (4964, 126, 37, 30, 1, 3, 574),
        "DPQ100": (2751, 676, 105, 45, 0, 2, 2156),
    },
    "J": {
        "DPQ010": (3792, 816, 280, 198, 4, 4, 439),
        "DPQ020": (3865, 831, 224, 167, 2, 4, 440),
        "DPQ030": (3119, 1141, 383, 443, 3, 4, 440),
        "DPQ040": (2584, 1612, 457, 432, 3, 4, 441),
        "DPQ050": (3812, 778, 276, 221, 2, 3, 441),
        "DPQ060": (4237, 575, 147, 124, 3, 5, 442),
        "DPQ070": (4241, 517, 156, 172, 2, 3, 442),
        "DPQ080": (4541, 328, 120, 95, 2, 5, 442),
        "DPQ090": (4893, 136, 32, 24, 2, 3, 443),
        "DPQ100": (2480, 714, 132, 33, 1, 2, 2171),
    },
}


def codebook_check(result: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """Per cycle and item, the codes whose recounted frequency differs from the codebook."""
    out: dict[str, dict[str, list[str]]] = {}
    for cycle, items in PUBLISHED_CODEBOOK.items():
        freq = result["cycles"][cycle]["item_frequencies"]
        out[cycle] = {
            item: [f"code {c}: {freq[item][c]} vs {want}"
                   for c, want in zip(CODEBOOK_CODES, published, strict=True)
                   if freq[item][c] != want]
            + ([f"{freq[item]['other']} other codes"] if freq[item]["other"] else [])
            for item, published in items.items()
        }
    return out


def item_frequencies(dpq: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Codebook-style counts per item: codes 0/1/2/3/7/9, ``missing`` and ``other``."""
    out: dict[str, dict[str, int]] = {}
    for col in ALL_ITEMS:
        s = dpq[col]
        counts = {str(c): int((s == c).sum()) for c in (0, 1, 2, 3, 7, 9)}
        counts["missing"] = int(s.isna().sum())
        counts["other"] = int(len(s) - sum(counts.values()))
        out[col] = counts
    return out


def unweighted(dpq: pd.DataFrame) -> dict[str, Any]:
    """Unweighted counts for one DPQ table (or several concatenated)."""
    table = respondent_table(dpq)
    cat = table["category"].value_counts()
    x = dpq[list(ITEMS)]
    other_codes = int((x.notna() & ~x.isin([0, 1, 2, 3, 7, 9]).fillna(False)).sum().sum())
    complete = table[table["category"] == "complete"]
    tot = complete["total"]
    n_pos = int((tot >= 10).sum())
    item9 = dpq["DPQ090"]
    return {
        "rows_in": len(dpq),
        "complete": int(cat.get("complete", 0)),
        "any_7_9": int(cat.get("any_7_9", 0)),
        "all_missing": int(cat.get("all_missing", 0)),
        "other_partial": int(cat.get("other_partial", 0)),
        "other_codes": other_codes,
        "mean_total": round(float(tot.mean()), 4) if len(tot) else None,
        "sd_total": round(float(tot.std(ddof=1)), 4) if len(tot) > 1 else None,
        "total_ge10": n_pos,
        "total_ge10_pct": round(100.0 * n_pos / len(tot), 2) if len(tot) else None,
        "bands": {label: int((complete["band"] == label).sum()) for label in BANDS},
        "item9_1to3": int(item9.isin([1, 2, 3]).fillna(False).sum()),
        "item9_1to3_complete": int(
            (item9.isin([1, 2, 3]).fillna(False) & (table["category"] == "complete")).sum()),
        "item_frequencies": item_frequencies(dpq),
    }


def analytic_frame(dpq: pd.DataFrame, demo: pd.DataFrame, divisor: float) -> pd.DataFrame:
    """DEMO rows with MEC weight > 0, joined with the PHQ-9 recount; ``w = WTMEC2YR/divisor``.

    Every examined participant is kept (so that variance estimation sees the full design);
    ``in_domain`` marks adults 20+ with a complete PHQ-9 (the analytic domain).

    Raises
    ------
    ValueError
        A DPQ ``SEQN`` has no DEMO row.
    """
    table = respondent_table(dpq)
    unmatched = int((~table["SEQN"].isin(demo["SEQN"])).sum())
    if unmatched:
        raise ValueError(f"{unmatched} DPQ row(s) have no DEMO row")
    frame = demo[demo["WTMEC2YR"] > 0].merge(table, on="SEQN", how="left", validate="1:1")
    frame["w"] = frame["WTMEC2YR"] / divisor
    frame["in_domain"] = (frame["RIDAGEYR"] >= 20) & (frame["category"] == "complete")
    return frame


def weighted_mean_ci(frame: pd.DataFrame, y: pd.Series, domain: pd.Series) -> dict[str, float]:
    """Weighted domain proportion with a Taylor-linearised 95% CI (with-replacement PSUs).

    ``y`` is 0/1 on the domain rows. The variance uses the masked design variables
    ``SDMVSTRA``/``SDMVPSU`` over all rows of ``frame`` (rows outside the domain contribute 0),
    the usual approximation for NHANES (as ``survey::svymean`` on a subset design). The CI uses
    a normal quantile (1.96), not the design degrees of freedom, so it is indicative only.
    """
    w = frame["w"].to_numpy(dtype=float)
    d = domain.to_numpy(dtype=bool)
    yy = np.where(d, y.to_numpy(dtype=float, na_value=0.0), 0.0)
    wd = np.where(d, w, 0.0)
    total_w = wd.sum()
    est = float((wd * yy).sum() / total_w)
    z = wd * (yy - est) / total_w
    psu_tot = pd.DataFrame({"h": frame["SDMVSTRA"].to_numpy(), "p": frame["SDMVPSU"].to_numpy(),
                            "z": z}).groupby(["h", "p"])["z"].sum().reset_index()
    var = 0.0
    for _, grp in psu_tot.groupby("h"):
        n_h = len(grp)
        if n_h > 1:
            dev = grp["z"] - grp["z"].mean()
            var += n_h / (n_h - 1) * float((dev**2).sum())
    se = float(np.sqrt(var))
    return {"pct": round(100 * est, 3), "se_pct": round(100 * se, 3),
            "ci95_low": round(100 * (est - 1.96 * se), 2),
            "ci95_high": round(100 * (est + 1.96 * se), 2)}


def weighted(dpq: pd.DataFrame, demo: pd.DataFrame, divisor: float) -> dict[str, Any]:
    """Weighted prevalence of total >= 10 (20+, 18+, men/women 20+) and band distribution."""
    frame = analytic_frame(dpq, demo, divisor)
    pos = (frame["total"] >= 10).astype(float)
    dom20 = frame["in_domain"]
    dom18 = (frame["RIDAGEYR"] >= 18) & (frame["category"] == "complete")
    w20 = frame.loc[dom20, "w"]
    bands = {label: round(100 * float(w20[frame.loc[dom20, "band"] == label].sum() / w20.sum()), 2)
             for label in BANDS}
    return {
        "n_20plus": int(dom20.sum()),
        "prev_20plus": weighted_mean_ci(frame, pos, dom20),
        "n_18plus": int(dom18.sum()),
        "prev_18plus": weighted_mean_ci(frame, pos, dom18),
        "prev_20plus_men": weighted_mean_ci(frame, pos, dom20 & (frame["RIAGENDR"] == 1)),
        "prev_20plus_women": weighted_mean_ci(frame, pos, dom20 & (frame["RIAGENDR"] == 2)),
        "bands_20plus_pct": bands,
        "sum_weights_20plus": round(float(w20.sum()), 1),
    }


def recount(shared: Path) -> dict[str, Any]:
    """Full recount: per cycle I, J and pooled I+J (unweighted and weighted)."""
    folder = data_dir(shared)
    dpq = {c: load_dpq(folder / f"DPQ_{c}.csv") for c in CYCLES}
    demo = {c: load_demo(folder / f"DEMO_{c}.csv") for c in CYCLES}
    out: dict[str, Any] = {"data_dir": str(folder), "cycles": {}}
    for c, years in CYCLES.items():
        out["cycles"][c] = {"years": years, **unweighted(dpq[c]),
                            "weighted": weighted(dpq[c], demo[c], divisor=1.0)}
    pooled_dpq = pd.concat([dpq[c] for c in CYCLES], ignore_index=True)
    pooled_demo = pd.concat([demo[c] for c in CYCLES], ignore_index=True)
    out["cycles"]["pooled"] = {"years": "2015-2018", **unweighted(pooled_dpq),
                               "weighted": weighted(pooled_dpq, pooled_demo, divisor=2.0)}
    return out


def format_table(result: dict[str, Any]) -> str:
    """Human-readable table of the recount (aggregated counts only)."""
    cyc = result["cycles"]
    keys = list(cyc)
    lines = [f"NHANES PHQ-9 recount (plain pandas) from {result['data_dir']}", ""]

    def row(label: str, values: list[Any]) -> None:
        lines.append(f"{label:<38}" + "".join(f"{v!s:>14}" for v in values))

    row("quantity", [f"{k} ({cyc[k]['years']})" if k != "pooled" else "pooled I+J" for k in keys])
    for key, label in [("rows_in", "rows in"), ("complete", "complete (all 9 items 0-3)"),
                       ("any_7_9", "any 7/9 among the 9 items"),
                       ("all_missing", "all 9 items missing"),
                       ("other_partial", "other partial"), ("other_codes", "codes not 0-3/7/9"),
                       ("mean_total", "mean total (complete)"), ("sd_total", "SD total"),
                       ("total_ge10", "total >= 10 (n)"), ("total_ge10_pct", "total >= 10 (%)")]:
        row(label, [cyc[k][key] for k in keys])
    for band in BANDS:
        row(f"band {band}", [cyc[k]["bands"][band] for k in keys])
    row("DPQ090 in 1-3 (any row)", [cyc[k]["item9_1to3"] for k in keys])
    row("DPQ090 in 1-3 (complete rows)", [cyc[k]["item9_1to3_complete"] for k in keys])
    lines.append("")
    lines.append("weighted (WTMEC2YR per cycle; WTMEC2YR/2 pooled), complete PHQ-9:")
    row("n adults 20+", [cyc[k]["weighted"]["n_20plus"] for k in keys])
    for key, label in [("prev_20plus", "% >= 10, 20+"), ("prev_18plus", "% >= 10, 18+"),
                       ("prev_20plus_men", "% >= 10, men 20+"),
                       ("prev_20plus_women", "% >= 10, women 20+")]:
        row(label, [f"{cyc[k]['weighted'][key]['pct']:.2f}" for k in keys])
    p = cyc["pooled"]["weighted"]["prev_20plus"]
    lines.append(f"  pooled 20+: {p['pct']:.3f}% (SE {p['se_pct']:.2f}, indicative 95% CI "
                 f"{p['ci95_low']:.2f}-{p['ci95_high']:.2f}, Taylor linearisation, normal q)")
    for band in BANDS:
        row(f"weighted % band {band}, 20+", [cyc[k]["weighted"]["bands_20plus_pct"][band]
                                             for k in keys])
    lines.append("")
    lines.append("item frequencies, codes 0 / 1 / 2 / 3 / 7 / 9 / missing "
                 "(= published NCHS codebook?):")
    check = codebook_check(result)
    for k in ("I", "J"):
        for item in ALL_ITEMS:
            got = " / ".join(str(cyc[k]["item_frequencies"][item][c]) for c in CODEBOOK_CODES)
            same = "yes" if not check[k][item] else "NO: " + ", ".join(check[k][item])
            lines.append(f"  DPQ_{k} {item}: {got:<44} {same}")
    n_bad = sum(bool(v) for k in check for v in check[k].values())
    lines.append(f"items differing from the published codebook: {n_bad} of {2 * len(ALL_ITEMS)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=default_shared(),
                        help="shared folder holding data/nhanes_phq9_2015_2018 "
                             "(default: %(default)s)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    folder = data_dir(args.shared)
    if not (folder / "DPQ_J.csv").is_file():
        print(f"NHANES data not found in {folder}", file=sys.stderr)
        return 2
    result = recount(args.shared)
    check = codebook_check(result)
    result["codebook_mismatches"] = {k: {i: v for i, v in items.items() if v}
                                     for k, items in check.items()}
    print(format_table(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
