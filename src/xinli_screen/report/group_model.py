"""The group report as data (:class:`GroupReport`), below its builder and its renderers.

:mod:`xinli_screen.report.group` builds it; :mod:`~xinli_screen.report.group_render` (HTML)
and :mod:`~xinli_screen.report.group_xlsx` (XLSX) read it. It imports none of them, so the
three form no import circle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["DEFAULT_TIER_LABELS", "LANGS", "GroupReport"]

#: Report languages: Chinese (with English beside the headers) or English.
LANGS = ("zh", "en")
#: Tier labels of the default policy, used when no policy labels are given.
DEFAULT_TIER_LABELS = {
    "zh": {"none": "无预警", "class": "班级关注", "school": "校级预警", "district": "区级预警"},
    "en": {"none": "No warning", "class": "Class-level attention",
           "school": "School-level warning", "district": "District-level warning"},
}


@dataclass(frozen=True)
class GroupReport:
    """A group report of one or more waves.

    Attributes
    ----------
    by : list of str
    waves : dict wave name -> DataFrame
        Published tables (hidden cells show :data:`HIDDEN`), rows as in
        :func:`~xinli_screen.report.group_counts.group_counts` (``level``, ``depth``).
    hidden : dict wave name -> DataFrame of bool
        Which count cells were hidden.
    comparison : DataFrame
        Per wave and per first-level group (school) and the total: ``n``, tier counts and
        rates, ``change:{tier}`` (percentage points since the previous wave).
    min_cell : int
    weight : str or None
    labels : dict tier -> Chinese label (from the policy)
    labels_en : dict tier -> English label
    indicators : dict cut-off column -> names (:func:`indicator_labels`)
    unsafe_min_cell : bool
        ``min_cell`` is below 3 (``allow_unsafe_min_cell``): every page says so.
    """

    by: list[str]
    waves: dict[str, pd.DataFrame]
    hidden: dict[str, pd.DataFrame]
    comparison: pd.DataFrame
    min_cell: int = 5
    weight: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    labels_en: dict[str, str] = field(default_factory=dict)
    indicators: dict[str, dict[str, str]] = field(default_factory=dict)
    unsafe_min_cell: bool = False

    def tier_label(self, tier: str, lang: str = "zh") -> str:
        """The policy's label of a tier in ``lang`` (``"zh"`` or ``"en"``)."""
        own = self.labels if lang == "zh" else self.labels_en
        return own.get(tier) or DEFAULT_TIER_LABELS[lang].get(tier, tier)
