"""Words of the pupil file: scale, band and cut-off names from the instrument YAML, the number
of decimals a scale's score is shown with, and readable audit entries.

Everything here is looked up, never evaluated: an instrument that cannot be loaded (a local
YAML no longer at hand) leaves the ids in place rather than failing the report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xinli_screen.instrument.models import Instrument, Scale

__all__ = ["AUDIT_EVENTS", "FILE_STATUS", "REVIEW_STATUS_EN", "ScaleLabels", "audit_detail",
           "audit_event", "both", "instrument", "scale_decimals"]

#: English beside :data:`xinli_screen.policy.history.REVIEW_STATUS_LABELS`.
REVIEW_STATUS_EN: dict[str, str] = {
    "not_required": "no review needed", "pending_review": "pending review",
    "retest": "retest needed", "confirmed": "review confirmed",
    "not_confirmed": "review: not confirmed", "tier_changed": "review: tier changed",
    "closed": "closed",
}

#: The pupil file's status over the waves (history rules).
FILE_STATUS: dict[str, tuple[str, str]] = {
    "open": ("跟进中", "open"),
    "reopened": ("重新开启", "reopened"),
    "closed": ("已结案", "closed"),
}

#: Audit event ids of the archive (and of the CLI) in words.
AUDIT_EVENTS: dict[str, tuple[str, str]] = {
    "create_wave": ("建立测评批次", "wave created"),
    "update_wave_definition": ("更新批次定义", "wave definition updated"),
    "import_wave": ("导入测评结果", "results imported"),
    "import_part": ("导入答卷", "answer file imported"),
    "supersede_part": ("答卷被更正版本取代", "answer file superseded"),
    "review": ("记录复核", "review recorded"),
    "import_reviews": ("批量导入复核", "reviews imported"),
    "review_import": ("批量导入复核", "reviews imported"),
    "action": ("记录跟进措施", "action recorded"),
    "report_pupil": ("查看一生一策档案", "pupil file viewed"),
    "report_group": ("生成群体报告", "group report"),
    "warning_list": ("导出预警名单", "warning list exported"),
    "what_if": ("假设分析", "what-if run"),
    "follow_up_list": ("导出跟进名单", "follow-up list exported"),
    "export": ("导出个人档案", "pupil file exported"),
    "delete_pupil": ("删除个人档案", "pupil file deleted"),
}

#: Audit detail keys in words.
_DETAIL_KEYS: dict[str, tuple[str, str]] = {
    "view": ("视图", "view"), "outcome": ("结果", "outcome"), "tier": ("级别", "tier"),
    "kind": ("措施", "kind"), "part": ("答卷", "part"), "version": ("版本", "version"),
    "by_version": ("新版本", "new version"), "rows": ("行数", "rows"),
    "source": ("文件", "file"), "content_sha256": ("内容校验值", "content sha256"),
    "policy_id": ("预警规则", "policy"), "policy_version": ("规则版本", "policy version"),
    "policy_sha256": ("规则校验值", "policy sha256"),
    "definition_sha256": ("定义校验值", "definition sha256"), "names": ("含姓名", "names"),
    "group_by": ("分组", "grouped by"), "sheet": ("表", "sheet"), "row": ("行", "row"),
    "on_date": ("日期", "date"), "via": ("方式", "via"), "as_of": ("截至", "as of"),
    "reviews": ("复核条数", "reviews"), "actions": ("措施条数", "actions"),
    "already_imported": ("已导入过", "already imported"), "files": ("文件", "files"),
}

_VIEWS = {"psychologist": ("心理教师", "psychologist"), "teacher": ("班主任", "class teacher")}
_VIA = {"return_sheet": ("复核回执导入", "return sheet")}
_HASHES = {"content_sha256", "policy_sha256", "definition_sha256", "sha256"}


def both(zh: str | None, en: str | None) -> dict[str, str]:
    """``{"zh": ..., "en": ...}``, each falling back on the other (then on ``""``)."""
    return {"zh": zh or en or "", "en": en or zh or ""}


@lru_cache(maxsize=64)
def instrument(instrument_id: str, source: str | None = None) -> Instrument | None:
    """The instrument definition by id (bundled) or by the source path a result recorded.

    Returns
    -------
    Instrument or None
        None when neither can be loaded.
    """
    from xinli_screen.instrument.registry import load_instrument

    for ref in (source, instrument_id):
        if not ref:
            continue
        try:
            inst = load_instrument(ref)
        except (OSError, ValueError):  # missing or invalid YAML: the ids are shown
            continue
        if inst.id == instrument_id:
            return inst
    return None


def _scale(inst: Instrument, scale_id: str) -> Scale | None:
    return next((s for s in inst.scales if s.id == scale_id), None)


def scale_decimals(inst: Instrument, scale: Scale) -> int:
    """Decimals a score of ``scale`` is shown with (before any proration).

    0 for a sum or count of integer option codes with an integer multiplier, a rounded score
    and a sum of such scales; 2 for a mean, a fractional multiplier (Zung index x1.25) or a
    composite of means. A prorated score gets one decimal at display time.
    """
    if scale.rounding != "none":
        return 0
    if scale.method == "mean":
        return 2
    if not float(scale.multiplier).is_integer():
        return 2
    if scale.is_composite:
        parts = [_scale(inst, s) for s in scale.scales]
        if any(p is None or scale_decimals(inst, p) for p in parts):
            return 2
    return 0


class ScaleLabels:
    """Names, bands, cut-offs and score decimals of the scales in a pupil's results.

    Parameters
    ----------
    sources : mapping of str to str, optional
        Instrument id -> source file as the provenance recorded it (tried before the bundled
        instrument of that id).
    """

    def __init__(self, sources: Mapping[str, str] | None = None) -> None:
        self._sources = dict(sources or {})

    def instrument(self, instrument_id: str) -> Instrument | None:
        """The instrument of that id (or None)."""
        return instrument(instrument_id, self._sources.get(instrument_id))

    def instrument_name(self, instrument_id: str) -> dict[str, str]:
        """``{"zh": "MHT 心理健康诊断测验", "en": ...}`` (short name and name)."""
        inst = self.instrument(instrument_id)
        if inst is None:
            return both(instrument_id, instrument_id)
        short = inst.short_name or inst.id
        return {lang: f"{short} {inst.name.get(lang) or ''}".strip() for lang in ("zh", "en")}

    def scale(self, key: str) -> dict[str, Any]:
        """What the report needs of scale ``{instrument}.{scale}``.

        Returns
        -------
        dict
            ``instrument``, ``name`` (zh / en, the id when unknown), ``decimals``,
            ``validity`` (a lie / validity scale), ``composite`` and ``order`` (position in
            the instrument's YAML).
        """
        inst_id, _, scale_id = key.partition(".")
        inst = self.instrument(inst_id)
        scale = None if inst is None else _scale(inst, scale_id)
        if inst is None or scale is None:
            return {"instrument": inst_id, "name": both(key, key), "decimals": None,
                    "validity": False, "composite": False, "order": 10**6}
        return {"instrument": inst_id,
                "name": both(scale.name.get("zh"), scale.name.get("en")),
                "decimals": scale_decimals(inst, scale), "validity": scale.role == "validity",
                "composite": scale.is_composite or scale.id == "total",
                "order": [s.id for s in inst.scales].index(scale_id)}

    def band(self, key: str, band_id: Any) -> dict[str, str] | None:
        """Label of band ``band_id`` of scale ``key`` (the id when undeclared); None: no band."""
        if band_id is None or (isinstance(band_id, float) and math.isnan(band_id)) \
                or band_id == "":
            return None
        inst_id, _, scale_id = key.partition(".")
        inst = self.instrument(inst_id)
        scale = None if inst is None else _scale(inst, scale_id)
        for b in () if scale is None else scale.bands:
            if b.id == band_id:
                return both(b.label.get("zh"), b.label.get("en"))
        return both(str(band_id), str(band_id))

    def cutoff(self, key: str, cutoff_id: str) -> dict[str, str]:
        """Label of cut-off ``cutoff_id`` of scale ``key`` (the id when undeclared)."""
        inst_id, _, scale_id = key.partition(".")
        inst = self.instrument(inst_id)
        scale = None if inst is None else _scale(inst, scale_id)
        for c in () if scale is None else scale.cutoffs:
            if c.id == cutoff_id:
                return both(c.label.get("zh"), c.label.get("en"))
        return both(cutoff_id, cutoff_id)

    def critical(self, key: str) -> dict[str, str]:
        """``DSRSC 第10题`` for critical item ``dsrsc.life_not_worth_living`` (the meaning is in
        the reasons, worded as the policy configured it)."""
        inst_id, _, crit_id = key.partition(".")
        inst = self.instrument(inst_id)
        crit = None if inst is None else next(
            (c for c in inst.critical_items if c.id == crit_id), None)
        if inst is None or crit is None:
            return both(key, key)
        number = next((i.number for i in inst.items if i.id == crit.item), None)
        short = inst.short_name or inst.id
        if number is None:
            return both(f"{short} {crit.item}", f"{short} {crit.item}")
        return {"zh": f"{short} 第{number}题", "en": f"{short} item {number}"}


def audit_event(event: str) -> dict[str, str]:
    """An audit event id in words (the id itself when unknown)."""
    zh, en = AUDIT_EVENTS.get(event, (event, event))
    return {"zh": zh, "en": en}


def _value(key: str, value: Any, lang: str, tier_labels: Mapping[str, Mapping[str, str]]
           ) -> str:
    from xinli_screen.archive.models import ACTION_KINDS
    from xinli_screen.policy.history import REVIEW_OUTCOMES

    zh = lang == "zh"
    if value is None:
        return "—"
    if isinstance(value, bool):
        return ("是" if value else "否") if zh else ("yes" if value else "no")
    if isinstance(value, Mapping):
        return "，".join(f"{k}={_value(str(k), v, lang, tier_labels)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "、".join(_value(key, v, lang, tier_labels) for v in value)
    text = str(value)
    if key in _HASHES:
        return text[:12]
    if key == "outcome" and text in REVIEW_OUTCOMES:
        return REVIEW_OUTCOMES[text] if zh else REVIEW_STATUS_EN.get(text, text)
    if key == "tier" and text in tier_labels:
        return tier_labels[text][lang]
    if key == "kind" and text in ACTION_KINDS:
        return ACTION_KINDS[text] if zh else text.replace("_", " ")
    if key == "view" and text in _VIEWS:
        return _VIEWS[text][0 if zh else 1]
    if key == "via" and text in _VIA:
        return _VIA[text][0 if zh else 1]
    return text


def audit_detail(detail: Any, lang: str = "zh",
                 tier_labels: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """An audit entry's detail as ``键: 值；键: 值`` text, never a dict's repr.

    Parameters
    ----------
    detail : dict, str or None
        As stored (a JSON object; older rows may hold JSON text).
    lang : {"zh", "en"}
    tier_labels : mapping, optional
        Tier id -> ``{"zh", "en"}`` labels, for a review's new tier.

    Returns
    -------
    str
        Keys and values in words; ``None`` values are left out, hashes shortened to 12
        characters.
    """
    import json

    if detail is None or detail == "":
        return ""
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except ValueError:
            return detail
    if not isinstance(detail, Mapping):
        return _value("", detail, lang, tier_labels or {})
    sep, colon = ("；", ": ") if lang == "zh" else ("; ", ": ")
    out = []
    for key, value in detail.items():
        if value is None:
            continue
        name = _DETAIL_KEYS.get(str(key), (str(key), str(key)))[0 if lang == "zh" else 1]
        out.append(f"{name}{colon}{_value(str(key), value, lang, tier_labels or {})}")
    return sep.join(out)
