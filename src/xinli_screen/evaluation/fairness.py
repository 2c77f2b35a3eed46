"""Fairness panel of one wave: do the tiers fall on some groups more than on others?

For each roster attribute (sex, grade, school, and special-group flags such as 留守, 流动,
单亲 where the roster has them) and each group of it: pupils ``n``, the number at or above
each tier (班级关注+, 校级+, 区级+), the rate with its Wilson 95% CI, and the rate ratio
against the other pupils (the rest of the wave) with its 95% CI on the log scale::

    RR = (a / n1) / (c / n2),   SE(ln RR) = sqrt(1/a - 1/n1 + 1/c - 1/n2)

(Katz et al. 1978, Biometrics 34:469-474; R: ``epitools::riskratio(..., method = "wald")``
or ``fmsb::riskratio``). A ratio whose CI excludes 1 and that is at least ``ratio`` (1.5)
or at most 1 / ``ratio`` is flagged ``disparity``.

Small cells are suppressed as in the group report
(:func:`xinli_screen.report.group_counts.suppress`: counts 1-4 and groups under 5 hidden,
with secondary suppression so that no hidden count can be recomputed from the total); a
rate or ratio resting on a hidden count is not shown.

A disparity is a question, not an answer: groups can differ in distress (left-behind
children often do); :mod:`xinli_screen.evaluation.dif` asks whether an *item* behaves
differently at the same trait level. Screening is not diagnosis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen.evaluation.plausibility import wilson
from xinli_screen.policy.models import TIER_ORDER

__all__ = ["FairnessPanel", "add_dif", "default_attributes", "fairness_panel", "rate_ratio"]

_SKIP = {"attr.class", "attr.entered_id", "attr.name"}
_TIER_ZH = {"class": "班级关注及以上", "school": "校级预警及以上", "district": "区级预警"}


def rate_ratio(a: np.ndarray | float, n1: np.ndarray | float, c: np.ndarray | float,
               n2: np.ndarray | float, z: float = 1.959964
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rate ratio ``(a/n1) / (c/n2)`` with a Katz log-scale CI (vectorised).

    Parameters
    ----------
    a, n1 : counts and sizes of the group
    c, n2 : counts and sizes of the comparison
    z : float

    Returns
    -------
    (rr, low, high) : ndarrays of float
        NaN where a count is 0 or a size is 0 (no finite log-scale interval).
    """
    a, n1, c, n2 = (np.asarray(v, dtype=float) for v in (a, n1, c, n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (a > 0) & (c > 0) & (n1 > 0) & (n2 > 0)
        rr = np.where(ok, (a / n1) / (c / n2), np.nan)
        se = np.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)
        low = np.where(ok, np.exp(np.log(rr) - z * se), np.nan)
        high = np.where(ok, np.exp(np.log(rr) + z * se), np.nan)
    return rr, low, high


def default_attributes(table: pd.DataFrame, max_groups: int = 30) -> list[str]:
    """Roster attributes to compare: every ``attr.*`` column but class and ids, with 2 to
    ``max_groups`` distinct values (sex, grade, school, special-group flags)."""
    out = []
    for col in table.columns:
        if not str(col).startswith("attr.") or col in _SKIP:
            continue
        k = table[col].dropna().astype(str).nunique()
        if 2 <= k <= max_groups:
            out.append(str(col))
    return out


@dataclass
class FairnessPanel:
    """Tier rates by group with rate ratios (``rates``), flags, DIF results (``dif``: list
    of dicts per scale and grouping), ``n``, ``exclusions`` and ``settings``."""

    wave: str
    n: int
    rates: pd.DataFrame
    flags: list[dict[str, str]]
    exclusions: dict[str, int]
    dif: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    #: ``"fairness"`` (a wave's panel) or ``"dif"`` (DIF of a file of answers only).
    kind: str = "fairness"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict; hidden cells are None."""
        recs = [{k: (None if isinstance(v, float) and np.isnan(v) else v)
                 for k, v in r.items()} for r in self.rates.to_dict("records")]
        return {"panel": self.kind, "wave": self.wave, "n": self.n,
                "exclusions": self.exclusions, "settings": self.settings,
                "flags": self.flags, "rates": recs, "dif": self.dif,
                "note": "A disparity is a question for review, not a finding about pupils; "
                        "screening is not diagnosis."}


def fairness_panel(
    table: pd.DataFrame,
    attributes: Sequence[str] | None = None,
    *,
    wave: str = "",
    tier_column: str = "warning_tier",
    min_cell: int = 5,
    ratio: float = 1.5,
) -> FairnessPanel:
    """Tier rates per group of each roster attribute, with rate ratios, suppressed.

    Parameters
    ----------
    table : DataFrame, shape (n, ...)
        The wave's results, one row per pupil, with ``attr.*`` columns and ``tier_column``.
    attributes : sequence of str, optional
        Columns to compare (default :func:`default_attributes`).
    wave : str
    tier_column : str
        ``warning_tier`` (effective, default) or ``screen_tier``.
    min_cell : int
        Suppression threshold (group report: 5).
    ratio : float
        Flag threshold on the rate ratio.

    Returns
    -------
    FairnessPanel
        ``rates`` has one row per attribute, group and tier (``class``, ``school``,
        ``district``: at or above): ``attribute``, ``group``, ``n``, ``count``, ``rate``,
        ``ci_low``, ``ci_high``, ``rest_n``, ``rest_count``, ``rr``, ``rr_low``,
        ``rr_high``, ``hidden`` (True: counts, rate and ratio withheld), ``flag``.

    Raises
    ------
    KeyError
        ``tier_column`` or an attribute is absent.
    """
    from xinli_screen.report.group_counts import group_counts, suppress
    from xinli_screen.report.group_protect import HIERARCHY, protected_counts

    if tier_column not in table.columns:
        raise KeyError(f"fairness panel: no column {tier_column!r}")
    attrs = list(attributes) if attributes is not None else default_attributes(table)
    missing = [a for a in attrs if a not in table.columns]
    if missing:
        raise KeyError(f"fairness panel: no column(s) {missing}")
    n = len(table)
    rank = table[tier_column].astype(object).map({t: k for k, t in enumerate(TIER_ORDER)})
    rows: list[dict[str, Any]] = []
    flags: list[dict[str, str]] = []
    exclusions: dict[str, int] = {}
    for attr in attrs:
        values = table[attr].astype(object).where(table[attr].notna(), None)
        blank = values.isna() | (values.astype(str).str.strip() == "")
        if blank.any():
            exclusions[f"{attr}: value missing"] = int(blank.sum())
        plain = attr.removeprefix("attr.")
        sub = table.loc[~blank, [attr, tier_column]].copy()
        sub[attr] = sub[attr].astype(str)
        if plain in HIERARCHY:
            # a view of the wave's one protected school x grade x class table, so that this
            # panel and every group report of the wave together hide the same cells
            cube_cols = {f"attr.{c}": c for c in HIERARCHY if f"attr.{c}" in table.columns}
            frame = table.rename(columns=cube_cols) if attr.startswith("attr.") else table
            counts, hidden = protected_counts(frame, [plain], min_cell=min_cell,
                                              subtotals=False, tier_column=tier_column)
            counts = counts.rename(columns={plain: attr})
            keep = counts[attr].astype(str).isin(set(values[~blank].astype(str))) | \
                counts["level"].eq("total")
            counts, hidden = counts[keep], hidden[keep]
        else:
            counts = group_counts(sub, [attr], tier_column=tier_column, subtotals=False)
            hidden = suppress(counts, min_cell=min_cell)
        body = counts["level"] != "total"
        r_all = rank[~blank].fillna(0).to_numpy(dtype=int)
        g_all = sub[attr].to_numpy()
        for idx in counts.index[body]:
            group = str(counts.at[idx, attr])
            sel = g_all == group
            m = int(sel.sum())
            for k, tier in enumerate(TIER_ORDER[1:], start=1):
                a = int((r_all[sel] >= k).sum())
                rest_n = int((~sel).sum())
                c = int((r_all[~sel] >= k).sum())
                comp = [f"count:{t}" for t in TIER_ORDER[k:] if f"count:{t}" in hidden]
                hide = bool(hidden.at[idx, "n"] or hidden.loc[idx, comp].any())
                lo, hi = wilson(a, m)
                rr, rlo, rhi = rate_ratio(a, m, c, rest_n)
                row = {"attribute": attr.removeprefix("attr."), "group": group,
                       "tier": tier, "n": m, "count": a, "rate": a / m if m else np.nan,
                       "ci_low": float(lo), "ci_high": float(hi), "rest_n": rest_n,
                       "rest_count": c, "rr": float(rr), "rr_low": float(rlo),
                       "rr_high": float(rhi), "hidden": hide, "flag": ""}
                if hide:
                    for key in ("count", "rate", "ci_low", "ci_high", "rest_count", "rr",
                                "rr_low", "rr_high"):
                        row[key] = np.nan
                    if bool(hidden.at[idx, "n"]):
                        row["n"] = np.nan
                elif not np.isnan(rr) and ((rlo > 1 and rr >= ratio)
                                           or (rhi < 1 and rr <= 1 / ratio)):
                    row["flag"] = "disparity"
                    word = "高于" if rr > 1 else "低于"
                    flags.append({
                        "code": "disparity", "what": f"{row['attribute']}={group}:{tier}",
                        "text_zh": f"{row['attribute']} = {group}：{_TIER_ZH[tier]} "
                                   f"{100 * a / m:.1f}%（n = {m}），{word}其他学生 "
                                   f"{100 * c / rest_n:.1f}%，率比 {rr:.2f}"
                                   f"（95%CI {rlo:.2f}-{rhi:.2f}）",
                        "text_en": f"{row['attribute']} = {group}: {tier} tier or above "
                                   f"{100 * a / m:.1f}% (n = {m}) vs {100 * c / rest_n:.1f}% "
                                   f"of the other pupils, RR {rr:.2f} (95% CI {rlo:.2f}-"
                                   f"{rhi:.2f})"})
                rows.append(row)
    rates = pd.DataFrame(rows, columns=["attribute", "group", "tier", "n", "count", "rate",
                                        "ci_low", "ci_high", "rest_n", "rest_count", "rr",
                                        "rr_low", "rr_high", "hidden", "flag"])
    return FairnessPanel(wave=wave, n=n, rates=rates, flags=flags, exclusions=exclusions,
                         settings={"tier_column": tier_column, "min_cell": min_cell,
                                   "ratio": ratio, "attributes": attrs,
                                   "comparison": "each group vs the other pupils",
                                   "interval": "Wilson 95% (rates), Katz log 95% (ratios)"})


def add_dif(panel: FairnessPanel, result: Any, *, scale: str, attribute: str) -> None:
    """Add a DIF result (:class:`xinli_screen.evaluation.dif.DifResult`) to the panel.

    Each flagged item becomes a ``dif_item`` flag stating the criterion, the 1-vs-3 chi-square
    and its McFadden R² change.

    Parameters
    ----------
    panel : FairnessPanel
        Changed in place.
    result : DifResult
    scale, attribute : str
        What was analysed (e.g. ``phqa.total``, ``sex``).
    """
    table = result.table
    keep = [c for c in ("item", "n", "ncat", "chi12", "chi13", "chi23", "p12", "p13", "p23",
                        "r2_mcfadden_12", "r2_mcfadden_13", "r2_mcfadden_23",
                        "r2_nagelkerke_13", "beta12", "flagged", "note") if c in table]
    recs = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
            for r in table[keep].to_dict("records")]
    panel.dif.append({"scale": scale, "attribute": attribute, "n": result.n,
                      "excluded": result.excluded, "iterations": result.iterations,
                      "settings": result.settings, "flagged": list(result.flagged),
                      "items": recs})
    by_item = table.set_index("item")
    for item in result.flagged:
        row = by_item.loc[item]
        panel.flags.append({
            "code": "dif_item", "what": f"{scale}:{item}:{attribute}",
            "text_zh": f"{scale} 的题目 {item} 按 {attribute} 存在项目功能差异（DIF）："
                       f"χ²(1 vs 3) = {row['chi13']:.2f}，p = {row['p13']:.4f}，"
                       f"McFadden R² 变化 {row['r2_mcfadden_13']:.4f}（n = {result.n}）",
            "text_en": f"{scale} item {item} shows DIF by {attribute}: chi2(1 vs 3) = "
                       f"{row['chi13']:.2f}, p = {row['p13']:.4f}, McFadden R2 change "
                       f"{row['r2_mcfadden_13']:.4f} (n = {result.n})"})
