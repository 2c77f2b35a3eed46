"""Issue 14, point 9: policy defaults decided from named sources.

Hand-worked answer sheets; keys as declared in the instrument YAMLs (UPI: total = 'yes' on the
56 items other than 5, 20, 35, 50; MHT: content scales 1-15, 16-25, 26-35, 36-45, 46-55, 56-70,
71-80, 81-99 odd, lie 82-100 even; DSRSC: 0-2, items 1, 2, 4, 7, 8, 9, 11, 12, 13, 16 reversed).
"""

from __future__ import annotations

import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen.policy.loader import load_policy

UPI = [f"upi_{k:02d}" for k in range(1, 61)]
MHT = [f"mht_{k:03d}" for k in range(1, 101)]
DSRSC = [f"dsrsc_{k:02d}" for k in range(1, 19)]


def _upi(yes: set[int]) -> dict[str, int]:
    return {f"upi_{k:02d}": int(k in yes) for k in range(1, 61)}


def _tier(frame: pd.DataFrame, inst: str, policy: object = "default") -> list[str]:
    return xs.screen(frame, [inst], policy=policy).table["warning_tier"].astype(str).tolist()


def test_upi_class_ii_is_any_one_of_its_conditions():
    scored = [k for k in range(1, 61) if k not in (5, 20, 35, 50, 8, 16, 25, 26)]
    rows = [
        _upi(set(scored[:20])),     # total 20, no key item -> class II (OR reading)
        _upi({8}),                  # total 1, key item 8 -> class II (OR reading)
        _upi(set(scored[:19])),     # total 19, no key item -> none
        _upi(set(scored[:25])),     # total 25 -> class I (school)
    ]
    assert _tier(pd.DataFrame(rows), "upi") == ["class", "class", "none", "school"]


def _mht(yes: set[int]) -> pd.DataFrame:
    return pd.DataFrame([{f"mht_{k:03d}": int(k in yes) for k in range(1, 101)}])


CONTENT = [k for k in range(1, 101) if not (k >= 82 and k % 2 == 0)]  # 90 content items


def test_mht_one_high_content_scale_alone_raises_no_tier():
    # learning anxiety (items 1-15) at 8, total 8: the manual's '8' is a standard score
    assert _tier(_mht(set(range(1, 9))), "mht") == ["none"]


def test_primary_battery_reaches_district_with_death_items():
    high = set(CONTENT[:70]) - {85, 97}          # total 70 >= 65, items 85/97 'no'
    assert _tier(_mht(high), "mht") == ["school"]
    assert _tier(_mht(high | {85}), "mht") == ["district"]
    assert _tier(_mht(high | {97}), "mht") == ["district"]


def _dsrsc(item10: int) -> pd.DataFrame:
    reversed_items = {1, 2, 4, 7, 8, 9, 11, 12, 13, 16}
    # non-reversed items 'most of the time' (2 each), reversed items 'most of the time' (0)
    row = {f"dsrsc_{k:02d}": 2 for k in range(1, 19)}
    row["dsrsc_10"] = item10
    assert sum(v if int(k[-2:]) not in reversed_items else 2 - v
               for k, v in row.items()) == 14 + item10
    return pd.DataFrame([row])


def test_dsrsc_reaches_district_with_item10_often():
    assert _tier(_dsrsc(2), "dsrsc") == ["district"]     # total 16 >= 15, item 10 = 2
    assert _tier(_dsrsc(1), "dsrsc") == ["class"]        # total 15, item 10 'sometimes'


@pytest.mark.parametrize(("inst", "ref", "frame"), [
    ("mht", "mht.death_wish", _mht({85})),
    ("dsrsc", "dsrsc.life_not_worth_living", _dsrsc(1)),
])
def test_enabled_critical_item_reason_reflects_the_district_choice(inst, ref, frame):
    pol = load_policy("default").policy
    enabled = pol.model_copy(update={"enable_critical_items": (ref,)})
    r = xs.screen(frame, [inst], policy=enabled)
    assert r.table.loc[0, "critical_items"] == ref
    zh, en = r.reasons["reason_zh"].str.cat(sep=" "), r.reasons["reason_en"].str.cat(sep=" ")
    assert "关键题（本预警规则启用）" in zh and "enabled by this policy" in en
    for stale in ("默认不启用", "默认关闭", "opt-in", "off by default"):
        assert stale not in zh + en


def test_policy_doc_explains_enable_critical_items_with_an_example():
    with open("docs/policy.md", encoding="utf-8") as f:
        doc = f.read()
    assert "enable_critical_items:\n  - mht.death_wish" in doc


def test_default_policy_names_sources_for_the_decisions():
    with open("instruments/policies/default.yaml", encoding="utf-8") as f:
        text = f.read()
    assert "符合上述任意一条" in text and "周步成 1991" in text and "苏林雁 2003" in text
