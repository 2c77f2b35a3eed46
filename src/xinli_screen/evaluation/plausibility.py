"""Plausibility panel of one wave: are the screen's positive rates believable here?

Four tables, each with its n and what was left out, and a list of flags:

1. **rates**: per cut-off (screen-positive column) and per tier (screen tier and effective
   tier, "at or above" each tier) the count, rate and Wilson 95% CI, against the rate
   expected: a declared range (``expected={"school": (0.06, 0.09)}``) or else the previous
   wave's rate with its CI. Flag ``over_identification`` when the whole CI lies above the
   expected range and the rate is at least ``ratio`` (1.25) times its upper end (and the
   mirror ``under_identification``), e.g. "校级 14.0% vs 6-9% expected".
2. **rules**: for each rule id in ``reason_codes`` the share of all pupils it fires for,
   the share of the warning list (tier above none) it is among the reasons for, and the
   share of the list it is the *only* reason for. Flag ``rule_fires_often`` when a rule
   fires for more than ``max_rule_rate`` (20%) of the pupils and ``single_rule_list`` when
   one rule is the only reason for more than ``max_single_rule_share`` (50%) of the list.
3. **validity by school**: too-fast (``careless.too_fast``) and invalid-protocol (validity
   scale or another check, ``protocol_valid`` false) rates per school with Wilson CIs;
   flag a school whose CI lies wholly above ``school_factor`` (2) times the rate of the
   other schools.
4. **missingness**: per scale the share of pupils with fewer items answered than the most
   any pupil answered (the archive keeps ``n_answered`` per scale, not the answers); flag
   above ``max_missing`` (5%). :func:`item_missingness` does the same per item when the
   answers are at hand.

Rates use the pupils with a result in the wave (one row per pupil); a cut-off's n is the
pupils with a score on that scale. Wilson (1927) interval, as the group report
(R: ``binom::binom.confint(x, n, methods = "wilson")`` or ``prop.test(x, n, correct =
FALSE)$conf.int``). The flags are prompts to look again at a rule or a cut-off, not
findings: a district with a real rise in distress also shows a higher rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen.policy.models import TIER_ORDER

__all__ = ["PlausibilityPanel", "item_missingness", "plausibility_panel", "wilson"]

_TIER_ZH = {"class": "班级关注", "school": "校级预警", "district": "区级预警"}
_NOT_CUTOFF = {"n_answered", "prorated", "band", "lo", "hi", "t", "z", "percentile",
               "norm_group"}


def wilson(count: np.ndarray | float, n: np.ndarray | float, z: float = 1.959964
           ) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of ``count / n`` (vectorised; n = 0 gives NaN).

    Returns
    -------
    (low, high) : ndarray of float, in [0, 1]

    Notes
    -----
    Wilson, E. B. (1927), JASA 22, 209-212. R: ``prop.test(count, n, correct = FALSE)``.
    """
    c = np.asarray(count, dtype=float)
    m = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = c / m
        den = 1 + z**2 / m
        centre = (p + z**2 / (2 * m)) / den
        half = z * np.sqrt(p * (1 - p) / m + z**2 / (4 * m**2)) / den
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def _bool(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(true, known) of a column of booleans with missing values."""
    known = col.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
    true = col.map(lambda v: v is True or v is np.True_).to_numpy(dtype=bool)
    return true, known


def _cutoffs(table: pd.DataFrame) -> list[str]:
    out = []
    for col in table.columns:
        parts = str(col).split(".")
        if len(parts) != 3 or parts[0] in ("careless", "attr", "change") or (
                parts[2] in _NOT_CUTOFF):
            continue
        vals = table[col].dropna()
        if len(vals) and vals.map(lambda v: isinstance(v, (bool, np.bool_))).all():
            out.append(str(col))
    return out


def _indicators(table: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray, str]]:
    """indicator -> (positive, counted, label)."""
    out: dict[str, tuple[np.ndarray, np.ndarray, str]] = {}
    n = len(table)
    for col in ("screen_tier", "warning_tier"):
        if col not in table.columns:
            continue
        # the tier of the list before any 复核, in this wave and the previous one alike: a
        # wave whose reviews are recorded is not compared with one whose reviews are not yet
        source = ("tier_before_review" if col == "warning_tier"
                  and "tier_before_review" in table.columns else col)
        rank = table[source].astype(object).map({t: k for k, t in enumerate(TIER_ORDER)})
        known = rank.notna().to_numpy()
        r = rank.fillna(-1).to_numpy(dtype=int)
        what = ("筛查级别" if col == "screen_tier" else
                "预警级别（复核前）" if source == "tier_before_review" else "最终级别")
        for k, tier in enumerate(TIER_ORDER[1:], start=1):
            out[f"{col}>={tier}"] = (r >= k, known, f"{what} {_TIER_ZH[tier]}及以上")
    for col in _cutoffs(table):
        true, known = _bool(table[col])
        out[col] = (true, known, col)
    del n
    return out


@dataclass
class PlausibilityPanel:
    """The plausibility panel of one wave (see the module docstring).

    ``rates``, ``rules``, ``validity``, ``missingness``: DataFrames; ``flags``: list of dicts
    (``code``, ``what``, ``text_zh``, ``text_en``); ``n``: pupils with a result in the wave;
    ``exclusions``: reason -> count; ``settings``: thresholds and the expected-rate source.
    """

    wave: str
    n: int
    rates: pd.DataFrame
    rules: pd.DataFrame
    validity: pd.DataFrame
    missingness: pd.DataFrame
    flags: list[dict[str, str]]
    exclusions: dict[str, int]
    settings: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (tables as lists of records, NaN as None)."""
        def rec(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: (None if isinstance(v, float) and np.isnan(v) else v)
                     for k, v in r.items()} for r in df.to_dict("records")]
        return {"panel": "plausibility", "wave": self.wave, "n": self.n,
                "exclusions": self.exclusions, "settings": self.settings,
                "flags": self.flags, "rates": rec(self.rates), "rules": rec(self.rules),
                "validity": rec(self.validity), "missingness": rec(self.missingness),
                "note": "Flags are prompts to review rules and cut-offs; screening is not "
                        "diagnosis."}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _rng(lo: float, hi: float) -> str:
    return f"{100 * lo:.0f}-{100 * hi:.0f}%" if abs(hi - lo) > 1e-9 else f"{100 * lo:.1f}%"


def plausibility_panel(
    table: pd.DataFrame,
    previous: pd.DataFrame | None = None,
    *,
    wave: str = "",
    expected: Mapping[str, tuple[float, float]] | None = None,
    ratio: float = 1.25,
    max_rule_rate: float = 0.20,
    max_single_rule_share: float = 0.50,
    school_factor: float = 2.0,
    max_missing: float = 0.05,
    school_column: str = "attr.school",
) -> PlausibilityPanel:
    """Build the plausibility panel of one wave.

    Parameters
    ----------
    table : DataFrame, shape (n, ...)
        The wave's results, one row per pupil (:meth:`ArchiveStore.wave_table` or
        :attr:`ScreeningResult.table`).
    previous : DataFrame, optional
        The previous wave's results (expected rates where none are declared).
    wave : str
        Name shown in the output.
    expected : mapping indicator -> (low, high), optional
        Declared expected rates (fractions): an indicator is a cut-off column
        (``phqa.total.screen_positive``) or a tier (``class``, ``school``, ``district``:
        the effective tier at or above it; ``screen_tier>=school`` for the screen tier).
    ratio, max_rule_rate, max_single_rule_share, school_factor, max_missing : float
        Flag thresholds (see the module docstring).
    school_column : str

    Returns
    -------
    PlausibilityPanel
    """
    expected = dict(expected or {})
    for tier in TIER_ORDER[1:]:
        if tier in expected:
            expected[f"warning_tier>={tier}"] = expected.pop(tier)
    n = len(table)
    flags: list[dict[str, str]] = []
    prev_ind = _indicators(previous) if previous is not None and len(previous) else {}
    rows = []
    for key, (pos, known, label) in _indicators(table).items():
        m = int(known.sum())
        c = int((pos & known).sum())
        lo, hi = wilson(c, m)
        row: dict[str, Any] = {"indicator": key, "label": label, "n": m, "count": c,
                               "rate": c / m if m else np.nan, "ci_low": float(lo),
                               "ci_high": float(hi), "expected_low": np.nan,
                               "expected_high": np.nan, "expected_source": "", "flag": ""}
        if key in expected:
            row["expected_low"], row["expected_high"] = map(float, expected[key])
            row["expected_source"] = "declared"
        elif key in prev_ind:
            ppos, pknown, _ = prev_ind[key]
            pm, pc = int(pknown.sum()), int((ppos & pknown).sum())
            if pm:
                plo, phi = wilson(pc, pm)
                row["expected_low"], row["expected_high"] = float(plo), float(phi)
                row["expected_source"] = f"previous wave ({_pct(pc / pm)}, n = {pm})"
        if m and not np.isnan(row["expected_high"]):
            e_lo, e_hi = row["expected_low"], row["expected_high"]
            if lo > e_hi and row["rate"] >= ratio * e_hi:
                row["flag"] = "over_identification"
            elif hi < e_lo and row["rate"] * ratio <= e_lo:
                row["flag"] = "under_identification"
            if row["flag"]:
                word = "高于" if row["flag"] == "over_identification" else "低于"
                flags.append({
                    "code": row["flag"], "what": key,
                    "text_zh": f"{label} {_pct(row['rate'])}（95%CI {_pct(lo)}-{_pct(hi)}，"
                               f"n = {m}）{word}预期 {_rng(e_lo, e_hi)}"
                               f"（{row['expected_source']}）",
                    "text_en": f"{key} {_pct(row['rate'])} (95% CI {_pct(lo)}-{_pct(hi)}, "
                               f"n = {m}) vs {_rng(e_lo, e_hi)} expected "
                               f"({row['expected_source']})"})
        rows.append(row)
    rates = pd.DataFrame(rows)

    # rules: who each rule fires for, and whether it alone puts pupils on the list
    codes = (table["reason_codes"].fillna("").astype(str) if "reason_codes" in table.columns
             else pd.Series([""] * n, index=table.index))
    hist = (table["history_codes"].fillna("").astype(str) if "history_codes" in table.columns
            else pd.Series([""] * n, index=table.index))
    sets = [frozenset(x for x in (a + ";" + b).split(";") if x)
            for a, b in zip(codes, hist, strict=True)]
    listed = (table["warning_tier"].astype(object) != "none").to_numpy() if (
        "warning_tier" in table.columns) else np.zeros(n, bool)
    n_list = int(listed.sum())
    rule_rows = []
    for rule in sorted(set().union(*sets) if sets else set()):
        fires = np.array([rule in s for s in sets])
        alone = np.array([s == frozenset([rule]) for s in sets]) & listed
        r: dict[str, Any] = {"rule": rule, "fires": int(fires.sum()),
                             "rate": fires.mean() if n else np.nan,
                             "on_list": int((fires & listed).sum()),
                             "share_of_list": (fires & listed).sum() / n_list if n_list
                             else np.nan,
                             "only_reason": int(alone.sum()),
                             "only_reason_share": alone.sum() / n_list if n_list else np.nan,
                             "flag": ""}
        if n and r["rate"] > max_rule_rate:
            r["flag"] = "rule_fires_often"
            flags.append({"code": "rule_fires_often", "what": rule,
                          "text_zh": f"规则 {rule} 对 {_pct(r['rate'])} 的学生成立"
                                     f"（{r['fires']}/{n}），超过 {_pct(max_rule_rate)}："
                                     "请核对阈值",
                          "text_en": f"rule {rule} fires for {_pct(r['rate'])} of pupils "
                                     f"({r['fires']}/{n}), above {_pct(max_rule_rate)}"})
        if n_list and r["only_reason_share"] > max_single_rule_share:
            r["flag"] = (r["flag"] + ";" if r["flag"] else "") + "single_rule_list"
            flags.append({"code": "single_rule_list", "what": rule,
                          "text_zh": f"预警名单中 {_pct(r['only_reason_share'])} 的学生仅因规则 "
                                     f"{rule} 入选（{r['only_reason']}/{n_list}）",
                          "text_en": f"{_pct(r['only_reason_share'])} of the warning list "
                                     f"({r['only_reason']}/{n_list}) is there by rule {rule} "
                                     "alone"})
        rule_rows.append(r)
    rules = pd.DataFrame(rule_rows, columns=["rule", "fires", "rate", "on_list",
                                             "share_of_list", "only_reason",
                                             "only_reason_share", "flag"])

    # validity by school
    fast = (_bool(table["careless.too_fast"])[0] if "careless.too_fast" in table.columns
            else np.zeros(n, bool))
    invalid = (~_bool(table["protocol_valid"])[0] & _bool(table["protocol_valid"])[1]
               if "protocol_valid" in table.columns else np.zeros(n, bool))
    school = (table[school_column].astype(object).fillna("（未知）").astype(str).to_numpy()
              if school_column in table.columns else np.full(n, "（全部）", dtype=object))
    v_rows = []
    for s in sorted(set(school.tolist())):
        sel = school == s
        m = int(sel.sum())
        cf, ci = int(fast[sel].sum()), int(invalid[sel].sum())
        flo, fhi = wilson(cf, m)
        ilo, ihi = wilson(ci, m)
        row = {"school": s, "n": m, "too_fast": cf, "too_fast_rate": cf / m,
               "too_fast_ci_low": float(flo), "too_fast_ci_high": float(fhi),
               "invalid": ci, "invalid_rate": ci / m, "invalid_ci_low": float(ilo),
               "invalid_ci_high": float(ihi), "flag": ""}
        rest = max(n - m, 1)
        for what, lo_, rate, overall, zh in (
                ("too_fast", flo, cf / m, (fast.sum() - cf) / rest, "作答过快"),
                ("invalid", ilo, ci / m, (invalid.sum() - ci) / rest, "无效答卷")):
            if n > m and lo_ > school_factor * max(overall, 0.005):
                row["flag"] = (row["flag"] + ";" if row["flag"] else "") + f"{what}_school"
                flags.append({"code": f"{what}_school", "what": s,
                              "text_zh": f"{s}：{zh} {_pct(rate)}（n = {m}），其他学校 "
                                         f"{_pct(overall)}",
                              "text_en": f"{s}: {what.replace('_', ' ')} {_pct(rate)} (n = "
                                         f"{m}) vs {_pct(overall)} in the other schools"})
        v_rows.append(row)
    validity = pd.DataFrame(v_rows)

    # scale missingness from n_answered
    m_rows = []
    for col in table.columns:
        if not str(col).endswith(".n_answered") or str(col).count(".") != 2:
            continue
        scale = str(col)[: -len(".n_answered")]
        ans = pd.to_numeric(table[col], errors="coerce")
        given = ans.notna() & (ans > 0)
        if not given.any():
            continue
        full = float(ans[given].max())
        short = int((ans[given] < full).sum())
        m = int(given.sum())
        row = {"scale": scale, "n": m, "items": int(full), "incomplete": short,
               "rate": short / m, "flag": ""}
        if short / m > max_missing:
            row["flag"] = "unusual_missingness"
            flags.append({"code": "unusual_missingness", "what": scale,
                          "text_zh": f"{scale}：{_pct(short / m)} 的学生有漏答（{short}/{m}）",
                          "text_en": f"{scale}: {_pct(short / m)} of pupils left items "
                                     f"unanswered ({short}/{m})"})
        m_rows.append(row)
    missingness = pd.DataFrame(m_rows, columns=["scale", "n", "items", "incomplete", "rate",
                                                "flag"])
    exclusions = {"pupils without a result in this wave (absent)": 0}
    if "status" in table.columns:
        st = table["status"].astype(object).value_counts().to_dict()
        exclusions = {f"status {k} (kept in tier rates; not in the scale's n when "
                      "unscored)": int(v) for k, v in st.items() if k != "scored"}
    return PlausibilityPanel(
        wave=wave, n=n, rates=rates, rules=rules, validity=validity,
        missingness=missingness, flags=flags, exclusions=exclusions,
        settings={"ratio": ratio, "max_rule_rate": max_rule_rate,
                  "max_single_rule_share": max_single_rule_share,
                  "school_factor": school_factor, "max_missing": max_missing,
                  "expected": {k: list(v) for k, v in expected.items()},
                  "previous_wave": previous is not None and len(previous) > 0,
                  "interval": "Wilson 95%"})


def item_missingness(responses: pd.DataFrame, *, factor: float = 3.0, floor: float = 0.02
                     ) -> pd.DataFrame:
    """Items left unanswered unusually often (needs the answers, not kept in the archive).

    Parameters
    ----------
    responses : DataFrame, shape (n, m)
        Item answers (NaN = unanswered), rows = pupils.
    factor, floor : float
        Flag an item whose missing rate exceeds ``max(floor, factor * median rate)``.

    Returns
    -------
    DataFrame, one row per item
        ``item``, ``n``, ``missing``, ``rate``, ``flag`` (bool).
    """
    miss = responses.isna()
    rate = miss.mean(axis=0)
    limit = max(floor, factor * float(rate.median()))
    return pd.DataFrame({"item": responses.columns, "n": len(responses),
                         "missing": miss.sum(axis=0).to_numpy(),
                         "rate": rate.to_numpy(), "flag": (rate > limit).to_numpy()})
