"""Standard group variables and the matching of raw group values to level codes.

Answer exports spell the same group in many ways: ``男``, ``男生``, ``M``, ``1`` for male;
``初一``, ``七年级``, ``7`` for grade 7. :func:`standard_variable` gives the project's standard
levels (sex, grade 1-12, urban/rural) with these aliases; :func:`level_lookup` builds the
text -> code map of any :class:`~xinli_screen.norms.models.GroupVariable`; :func:`normalise_text`
is the one normalisation used on both sides (NFKC, so full-width digits and letters match,
trimmed, case-folded, inner spaces removed).

The sex aliases ``1`` = male and ``2`` = female follow the usual Chinese export convention and
the psych ``bfi`` data; a data set coded the other way round needs its own table or a recode.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen.instrument.models import LocalText
from xinli_screen.norms.models import GroupVariable, Level, code_key

__all__ = [
    "STANDARD_VARIABLES",
    "level_lookup",
    "match_levels",
    "normalise_text",
    "standard_variable",
]

_CN_NUM = "一二三四五六七八九十"


def normalise_text(value: Any) -> str | None:
    """Normalised text key of a raw cell (None for missing / empty).

    Numbers become their shortest text (``7.0`` -> ``"7"``), text is NFKC-normalised, trimmed,
    case-folded and stripped of inner spaces.
    """
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(value).casefold()
    if isinstance(value, (int, float, np.integer, np.floating)):
        f = float(value)
        if math.isnan(f):
            return None
        return code_key(f) if f.is_integer() else repr(f)
    text = unicodedata.normalize("NFKC", str(value)).strip().casefold().replace(" ", "")
    if text in {"", "nan", "nat", "na", "<na>", "none"}:
        return None
    try:
        f = float(text)
    except ValueError:
        return text
    return code_key(f) if math.isfinite(f) and f.is_integer() else text


def _grade_level(g: int) -> Level:
    cn = _CN_NUM[g - 1] if g <= 10 else "十" + _CN_NUM[g - 11]
    aliases: list[str | int] = [f"{g}年级", f"{cn}年级"]
    if g <= 6:
        aliases += [f"小学{cn}年级", f"小{cn}"]
        zh = f"小学{cn}年级"
    elif g <= 9:
        j = _CN_NUM[g - 7]
        aliases += [f"初{j}", f"初中{j}年级", f"初中{j}"]
        zh = f"初{j}（{cn}年级）"
    else:
        s = _CN_NUM[g - 10]
        aliases += [f"高{s}", f"高中{s}年级", f"高中{s}"]
        zh = f"高{s}（{cn}年级）"
    return Level(code=g, label=LocalText(zh=zh, en=f"grade {g}"), aliases=tuple(aliases))


def _standard() -> dict[str, GroupVariable]:
    sex = GroupVariable(id="sex", name=LocalText(zh="性别", en="sex"), levels=(
        Level(code="male", label=LocalText(zh="男", en="male"),
              aliases=("男", "男生", "男性", "m", "boy", "1")),
        Level(code="female", label=LocalText(zh="女", en="female"),
              aliases=("女", "女生", "女性", "f", "girl", "2")),
    ))
    grade = GroupVariable(id="grade", name=LocalText(zh="年级", en="grade"),
                          levels=tuple(_grade_level(g) for g in range(1, 13)))
    urban = GroupVariable(id="urban_rural", name=LocalText(zh="城乡", en="urban/rural"), levels=(
        Level(code="urban", label=LocalText(zh="城市", en="urban"),
              aliases=("城市", "城镇", "城区", "市区", "城")),
        Level(code="rural", label=LocalText(zh="农村", en="rural"),
              aliases=("农村", "乡村", "乡镇", "村", "乡")),
    ))
    return {v.id: v for v in (sex, grade, urban)}


#: Standard group variables with their levels and aliases (sex, grade 1-12, urban_rural).
STANDARD_VARIABLES: dict[str, GroupVariable] = _standard()


def standard_variable(var_id: str) -> GroupVariable | None:
    """The standard definition of ``sex``, ``grade`` or ``urban_rural`` (None otherwise)."""
    return STANDARD_VARIABLES.get(var_id)


def level_lookup(variable: GroupVariable) -> dict[str, str]:
    """Normalised text -> level key for every code, label and alias of ``variable``.

    Raises
    ------
    ValueError
        One spelling points to two different levels.
    """
    out: dict[str, str] = {}
    for lev in variable.levels:
        texts = [lev.code, *lev.aliases]
        if lev.label is not None:
            texts += [t for t in (lev.label.zh, lev.label.en) if t]
        for t in texts:
            k = normalise_text(t)
            if k is None:
                continue
            if out.get(k, lev.key) != lev.key:
                raise ValueError(f"group variable {variable.id!r}: {t!r} is a spelling of both "
                                 f"{out[k]!r} and {lev.key!r}")
            out[k] = lev.key
    return out


def match_levels(values: Any, variable: GroupVariable,
                 lookup: Mapping[str, str] | None = None) -> np.ndarray:
    """Map raw group values to level keys (object array; None where unmapped or missing).

    Exact spellings (code, labels, aliases) win; a number that matches none of them is put
    in the level whose numeric band ``min <= x < max`` contains it.
    """
    lookup = level_lookup(variable) if lookup is None else lookup
    codes, uniques = pd.factorize(pd.Series(np.asarray(values, dtype=object).ravel()),
                                  use_na_sentinel=True)
    bands = [(lev.min, lev.max, lev.key) for lev in variable.levels
             if lev.min is not None or lev.max is not None]
    mapped: list[str | None] = []
    for v in uniques:
        key = normalise_text(v)
        hit = None if key is None else lookup.get(key)
        if hit is None and key is not None and bands:
            try:
                x = float(key)
            except ValueError:
                x = math.nan
            for lo, hi, k in bands:
                if (lo is None or x >= lo) and (hi is None or x < hi):
                    hit = k
                    break
        mapped.append(hit)
    table = np.array([*mapped, None], dtype=object)
    return table[codes]
