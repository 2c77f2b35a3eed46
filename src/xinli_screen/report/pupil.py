"""Pupil report (一生一策档案): one pupil's waves, scores, tiers, reviews and actions.

Two views:

- ``psychologist``: everything stored: scores against bands, cut-offs and norms, critical
  items, screen and history reasons, reviews with notes, actions with notes, audit trail, and
  small charts of scale scores over the waves (one per instrument).
- ``teacher`` (班主任): per wave only the tier, review status and advice, and the dates and
  kinds of actions; no scores, no answers, no reasons with values, no notes.

Both start with the record fields of the 一生一策 file (学校, 年级, 班级, 学号; 姓名 only with
``include_name=True`` and only when the archive stored one), in Chinese first (``lang="en"``
for English first). Scale, band and cut-off names come from the instrument YAML; scores are
shown by the scale's type (integer sums as integers, means and prorated scores with decimals);
times in the wave's time zone (:mod:`xinli_screen.report._format`). Screening is not
diagnosis: the file speaks of screen-positive results and warning tiers (预警级别).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np

from xinli_screen.archive.store import ArchiveError, ArchiveStore
from xinli_screen.policy.history import REVIEW_STATUS_LABELS
from xinli_screen.policy.models import TIER_ORDER
from xinli_screen.report._format import DEFAULT_TIMEZONE, format_local_time, format_number
from xinli_screen.report._pupil_labels import (
    FILE_STATUS,
    REVIEW_STATUS_EN,
    ScaleLabels,
    audit_detail,
    audit_event,
    both,
)

__all__ = ["ADVICE", "LANGS", "VIEWS", "build_pupil_report", "render_pupil_html",
           "write_pupil_report"]

VIEWS = ("psychologist", "teacher")
View = Literal["psychologist", "teacher"]
#: Languages of the report text (the other language stands beside the headings).
LANGS = ("zh", "en")
Lang = Literal["zh", "en"]

#: Advice shown per effective tier (zh, en); a starting point for a school to adapt.
ADVICE: dict[str, tuple[str, str]] = {
    "none": ("无需特别关注，保持日常关心。", "No particular attention needed; usual care."),
    "class": ("班主任日常关注：留意情绪、睡眠、出勤与同伴关系的变化，如有异常及时告知心理教师。",
              "Class teacher keeps an eye on mood, sleep, attendance and friendships; tells "
              "the school psychologist about any change."),
    "school": ("心理教师约谈复核；班主任配合关注，经心理教师同意后与家长沟通。",
               "The school psychologist interviews the pupil; the class teacher supports and "
               "contacts parents as agreed with the psychologist."),
    "district": ("按学校危机干预流程处理：配合心理教师与家长保持密切联系；"
                 "不要公开讨论或给学生贴标签。",
                 "Handled under the school's crisis procedure: stay in close contact with the "
                 "psychologist and parents; never discuss the pupil publicly or label them."),
}
_SCALE = re.compile(r"^(?!careless\.)([a-z][a-z0-9]*)\.([a-z][a-z0-9_]*)$")
_NORM = ("t", "percentile", "z")
_NOT_CUTOFF = {"n_answered", "prorated", "band", "t", "percentile", "z", "stanine", "sten",
               "norm_status"}
#: Default tier colours (a policy's own colours win when they are hex colours).
_COLOURS = {"none": "#2e7d32", "class": "#b26a00", "school": "#e65100", "district": "#c62828"}
_HEX = re.compile(r"^#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?$")
#: Roster attributes shown in the record header: field -> attribute names tried in order.
_RECORD = {"school": ("attr.school", "attr.学校"), "grade": ("attr.grade", "attr.年级"),
           "class": ("attr.class", "attr.班级")}
_SUBSCALES = {"zh": "分量表", "en": "subscales"}
_TOTALS = {"zh": "总分", "en": "totals"}
#: A wave section longer than this many table rows starts a new printed page.
_LONG_WAVE = 10


def _positive(value: Any) -> bool:
    """A cut-off flag as a results file may have stored it: True (Python, numpy or pandas),
    1 / 1.0 (a spreadsheet read as numbers) or the text ``true`` / ``1``; else False."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return bool(value == 1)
    if isinstance(value, str):
        return value.strip().casefold() in {"true", "1", "1.0"}
    return False


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def _text(value: Any) -> str:
    return "" if _missing(value) else str(value)


def _score_text(value: Any, decimals: int | None, prorated: bool) -> str:
    """A score by its scale's type: integers without ``.0``, means with 2 decimals, a
    prorated (or otherwise fractional) sum with 1."""
    if _missing(value) or isinstance(value, bool):
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if decimals is None:  # instrument unknown: show what the number is
        decimals = 0 if number.is_integer() else 2
    if decimals == 0 and (prorated or not number.is_integer()):
        decimals = 1
    return format_number(number, decimals)


def _scales(rec: dict[str, Any], labels: ScaleLabels) -> list[dict[str, Any]]:
    out = []
    for key, value in rec.items():
        m = _SCALE.match(key)
        if not m or isinstance(value, bool) or not isinstance(value, (int, float, type(None))):
            continue
        if f"{key}.n_answered" not in rec:
            continue
        positive = [k.rsplit(".", 1)[1] for k, v in rec.items()
                    if k.startswith(key + ".") and k.count(".") == 2 and _positive(v)
                    and k.rsplit(".", 1)[1] not in _NOT_CUTOFF]
        info = labels.scale(key)
        prorated = _positive(rec.get(f"{key}.prorated"))
        norms = {m_: rec.get(f"{key}.{m_}") for m_ in _NORM}
        n = rec.get(f"{key}.n_answered")
        out.append({
            "scale": key, "instrument": info["instrument"], "name": info["name"],
            "score": value, "score_text": _score_text(value, info["decimals"], prorated),
            "prorated": prorated, "validity": info["validity"],
            "composite": info["composite"],
            "n_answered": None if _missing(n) else int(n),
            "band": rec.get(f"{key}.band"), "band_name": labels.band(key, rec.get(f"{key}.band")),
            "screen_positive": positive,
            "screen_positive_names": [labels.cutoff(key, c) for c in positive],
            **norms,
            "t_text": format_number(norms["t"], 0) if not _missing(norms["t"]) else "",
            "percentile_text": format_number(norms["percentile"], 0)
            if not _missing(norms["percentile"]) else "",
        })
    return out


def _changes(rec: dict[str, Any], labels: ScaleLabels) -> list[dict[str, Any]]:
    """Reliable change since the previous wave (``change.{scale}.*``, policy.history)."""
    from xinli_screen.evaluation.change import CHANGE_STATUS_LABELS

    out = []
    for key, status in rec.items():
        if not (key.startswith("change.") and key.endswith(".status")) or _missing(status):
            continue
        scale = key[len("change."):-len(".status")]
        clinical = rec.get(f"change.{scale}.clinical")
        shown = clinical if not _missing(clinical) else status
        zh, en = CHANGE_STATUS_LABELS.get(shown, (shown, shown))
        num = {k: rec.get(f"change.{scale}.{k}") for k in ("previous", "rci", "reliability",
                                                              "sd")}
        inst = labels.instrument(scale.partition(".")[0])
        short = (inst.short_name or inst.id) if inst is not None else scale.partition(".")[0]
        name = labels.scale(scale)["name"]  # "PHQ-A 总分", not two rows both called 总分
        out.append({
            "scale": scale, "name": {k: f"{short} {v}" for k, v in name.items()},
            "status": status,
            "clinical": None if _missing(clinical) else clinical,
            "label": {"zh": zh, "en": en},
            "previous_text": "" if _missing(num["previous"]) else format_number(
                num["previous"], 1),
            "score_text": "" if _missing(rec.get(scale)) else format_number(rec[scale], 1),
            "rci_text": "" if _missing(num["rci"]) else format_number(num["rci"], 2),
            "basis": "r = {} · SD = {}".format(
                "" if _missing(num["reliability"]) else format_number(num["reliability"], 2),
                "" if _missing(num["sd"]) else format_number(num["sd"], 2)),
            "source": _text(rec.get(f"change.{scale}.source")),
        })
    return out


def _groups(scales: list[dict[str, Any]], labels: ScaleLabels) -> list[dict[str, Any]]:
    """Scales grouped by instrument, in the order the results list them."""
    groups: dict[str, dict[str, Any]] = {}
    for s in scales:
        g = groups.setdefault(s["instrument"], {
            "instrument": s["instrument"], "name": labels.instrument_name(s["instrument"]),
            "scales": []})
        g["scales"].append(s)
    return list(groups.values())


def _charts(waves: list[dict[str, Any]], labels: ScaleLabels) -> list[dict[str, Any]]:
    """Series for one small chart per instrument (totals apart from subscales when both exist),
    validity scales left out: no legend runs to 19 entries."""
    keys: dict[str, list[str]] = {}
    for w in waves:
        for s in w["scales"]:
            if not s["validity"] and s["scale"] not in keys.setdefault(s["instrument"], []):
                keys[s["instrument"]].append(s["scale"])
    charts = []
    for inst, scale_keys in keys.items():
        name = labels.instrument_name(inst)
        parts = [([k for k in scale_keys if not labels.scale(k)["composite"]], _SUBSCALES),
                 ([k for k in scale_keys if labels.scale(k)["composite"]], _TOTALS)]
        if not all(keys_ for keys_, _ in parts):
            parts = [(scale_keys, None)]
        for part, kind in parts:
            series = {k: [next((x["score"] for x in w["scales"] if x["scale"] == k), None)
                          for w in waves] for k in part}
            title = name if kind is None else {lg: f"{name[lg]} · {kind[lg]}" for lg in LANGS}
            charts.append({"instrument": inst, "title": title, "series": series,
                           "names": {k: labels.scale(k)["name"] for k in part}})
    return charts


def _tier_names(store: ArchiveStore, wave: str) -> tuple[dict[str, dict[str, str]],
                                                         dict[str, str]]:
    """Tier labels (zh, en) and colours of the policy frozen with ``wave``."""
    try:
        tiers = store.wave_policy(wave).tiers
    except ValueError:  # unknown wave or unreadable frozen policy: the store's labels
        return ({t: both(store.labels.get(t), store.labels_en.get(t)) for t in TIER_ORDER},
                dict(_COLOURS))
    names, colours = {}, {}
    for t in TIER_ORDER:
        spec = tiers.spec(t)
        names[t] = both(spec.label.get("zh"), spec.label.get("en"))
        colours[t] = spec.colour if spec.colour and _HEX.match(spec.colour) else _COLOURS[t]
    return names, colours


def _wave_meta(store: ArchiveStore, wave: str) -> dict[str, Any]:
    try:
        info = store.wave_info(wave)
    except ArchiveError:  # unknown wave
        info = {}
    definition = info.get("definition") or {}
    name = definition.get("name") if isinstance(definition.get("name"), dict) else {}
    title = both(name.get("zh") or info.get("title"), name.get("en") or info.get("title"))
    return {"timezone": info.get("timezone") or DEFAULT_TIMEZONE,
            "title": title if title["zh"] else None,
            "policy": (f"{info['policy_id']} {info.get('policy_version') or ''}".strip()
                       if info.get("policy_id") else None)}


def _review_name(status: str) -> dict[str, str]:
    return {"zh": REVIEW_STATUS_LABELS.get(status, status),
            "en": REVIEW_STATUS_EN.get(status, status)}


def _action(a: dict[str, Any], zone: str, *, full: bool) -> dict[str, Any]:
    out = {"kind": a["kind"], "kind_zh": a.get("kind_zh") or a["kind"],
           "kind_name": both(a.get("kind_zh"), str(a["kind"]).replace("_", " ")),
           "at": a["at"], "at_local": format_local_time(a["at"], zone),
           "on_date": a.get("on_date")}
    if full:
        out.update({"by": a.get("by"), "note": a.get("note") or ""})
    return out


def _reasons(rec: dict[str, Any]) -> list[str]:
    """The stored reasons, one per fired rule when the codes say how many there are."""
    text = _text(rec.get("reasons"))
    if not text:
        return []
    parts, depth, start = [], 0, 0
    for k, ch in enumerate(text):  # "; " between reasons, not inside a reason's brackets
        depth += (ch in "(（") - (ch in ")）")
        if depth == 0 and text.startswith("; ", k):
            parts.append(text[start:k])
            start = k + 2
    parts.append(text[start:])
    codes = [c for c in _text(rec.get("reason_codes")).split(";") if c]
    return parts if len(parts) == len(codes) else [text]


def _record(rec: dict[str, Any]) -> dict[str, str]:
    return {field: next((_text(rec.get(k)) for k in keys if _text(rec.get(k))), "")
            for field, keys in _RECORD.items()}


def build_pupil_report(store: ArchiveStore, pupil_id: str, *, view: View = "psychologist",
                       include_name: bool = False, by: str = "report",
                       lang: Lang = "zh") -> dict[str, Any]:
    """The pupil report as a JSON-ready dict (and an audit entry for the access).

    Parameters
    ----------
    store : ArchiveStore
    pupil_id : str
        School id (or pseudonym).
    view : {"psychologist", "teacher"}
    include_name : bool
        Show the stored name (never by default).
    by : str
        Who asked (audit trail).
    lang : {"zh", "en"}
        Language of the report text (labels carry both languages in the JSON).

    Returns
    -------
    dict
        ``view``, ``lang``, ``pupil`` (key, name or None, school, grade, class),
        ``generated_at`` (local time), ``waves`` (list, in order, each with its tier,
        review status, advice, actions and local times), and in the psychologist view per wave
        the scores with Chinese and English names, bands, cut-offs and formatted values,
        reasons, reviews, plus ``charts`` (series per instrument), ``other_actions`` and
        ``audit`` (entries in words).

    Raises
    ------
    ValueError
        Unknown view or language.
    PupilNotFoundError
        The pupil is not in the archive.
    """
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; use one of {', '.join(VIEWS)}")
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")
    file = store.pupil_file(pupil_id)
    store.log_access(pupil_id, "report_pupil", by=by, view=view)
    sources = {i["id"]: i.get("source") for rec in file["waves"]
               for i in (rec.get("provenance") or {}).get("instruments", []) if i.get("id")}
    labels = ScaleLabels(sources)
    full = view == "psychologist"
    waves = []
    zones: dict[str, str] = {}
    tier_names: dict[str, dict[str, str]] = {}
    for rec in file["waves"]:
        tier = rec["warning_tier"]
        meta = _wave_meta(store, rec["wave"])
        zone = zones[rec["wave"]] = meta["timezone"]
        tier_names, colours = _tier_names(store, rec["wave"])
        base = {
            "wave": rec["wave"],
            "title": meta["title"],
            "timezone": zone,
            **_record(rec),
            "tier": tier,
            "tier_label": tier_names[tier]["zh"],
            "tier_name": tier_names[tier],
            "tier_colour": colours[tier],
            "review_status": rec["review_status"],
            "review_status_label": REVIEW_STATUS_LABELS.get(rec["review_status"],
                                                            rec["review_status"]),
            "review_status_name": _review_name(rec["review_status"]),
            "file_status": rec["file_status"],
            "file_status_name": both(*FILE_STATUS.get(rec["file_status"],
                                                      (rec["file_status"],) * 2)),
            "advice_zh": ADVICE[tier][0],
            "advice_en": ADVICE[tier][1],
            "actions": [_action(a, zone, full=full) for a in rec["actions"]],
        }
        if full:
            scales = _scales(rec, labels)
            crit = [c for c in _text(rec.get("critical_items")).split(";") if c]
            screen = rec["screen_tier"]
            prev = _text(rec.get("previous_tier")) or None
            base.update({
                "imported_at": rec["imported_at"],
                "imported_at_local": format_local_time(rec["imported_at"], zone),
                "screen_tier": screen,
                "screen_tier_name": tier_names.get(screen, both(screen, screen)),
                "previous_tier": prev,
                "previous_tier_name": tier_names.get(prev) if prev else None,
                "status": rec.get("status"),
                "status_detail": _text(rec.get("status_detail")),
                "validity_reasons": _text(rec.get("validity_reasons")),
                "scales": scales,
                "scale_groups": _groups(scales, labels),
                "changes": _changes(rec, labels),
                "critical_items": rec["critical_items"],
                "critical_item_names": [labels.critical(c) for c in crit],
                "reasons": rec["reasons"],
                "reason_list": _reasons(rec),
                "reason_codes": rec["reason_codes"],
                "history_reasons_zh": rec["history_reasons_zh"],
                "history_reasons_en": rec["history_reasons_en"],
                "history_codes": rec["history_codes"],
                "reviews": [{**v, "outcome_name": _review_name(v["outcome"]),
                             "tier_name": tier_names.get(v.get("tier") or ""),
                             "at_local": format_local_time(v.get("at"), zone)}
                            for v in rec["reviews"]],
                "instruments": [f"{i['id']} {i['version']}" for i in
                                (rec.get("provenance") or {}).get("instruments", [])]
                or [labels.instrument_name(g["instrument"])[lang]
                    for g in _groups(scales, labels)],
                "policy": "{id} {version}".format(**rec["provenance"]["policy"])
                if (rec.get("provenance") or {}).get("policy") else meta["policy"],
            })
            rows = len(scales) + len(base["reviews"]) + len(base["actions"])
            base["page_break"] = rows > _LONG_WAVE
        waves.append(base)
    zone = waves[-1]["timezone"] if waves else DEFAULT_TIMEZONE
    last = next((w for w in reversed(waves) if w["school"] or w["class"]), waves[-1]
                if waves else {})
    report: dict[str, Any] = {
        "view": view,
        "lang": lang,
        "pupil": {"key": file["pupil_key"],
                  "name": file["name"] if include_name else None,
                  **{f: last.get(f, "") for f in _RECORD}},
        "timezone": zone,
        "generated_at": format_local_time(store.clock(), zone),
        "waves": waves,
        "other_actions": [_action(a, zone, full=full) for a in file["actions"]],
        "note_zh": "筛查结果不是诊断；预警须经心理教师复核。",
        "note_en": "Screening results are not a diagnosis; every warning needs a review.",
    }
    if full:
        report["charts"] = _charts(waves, labels) if len(waves) > 1 else []
        report["audit"] = [
            {**e, "at_local": format_local_time(e["at"], zones.get(e.get("wave") or "", zone)),
             "event_name": audit_event(e["event"]),
             "detail_text": {lg: audit_detail(e["detail"], lg, tier_names) for lg in LANGS}}
            for e in file["audit"]]
    return report


def render_pupil_html(report: dict[str, Any]) -> str:
    """One self-contained, printable (A4) HTML page of a report from :func:`build_pupil_report`.

    Charts (psychologist view, two waves or more) come from
    :func:`xinli_screen.report._charts.line_chart`, one per instrument.
    """
    from xinli_screen.report._charts import line_chart
    from xinli_screen.report._html import environment

    lang = report.get("lang", "zh")
    charts = []
    x = [w["wave"] for w in report["waves"]]
    for c in report.get("charts") or []:
        series = {c["names"][k][lang]: v for k, v in c["series"].items()}
        if any(v is not None for values in series.values() for v in values):
            charts.append({"title": c["title"],
                           "uri": line_chart(x, series, ylabel="分数" if lang == "zh"
                                             else "score")})
    return environment().get_template("pupil.html.j2").render(r=report, charts=charts)


def write_pupil_report(report: dict[str, Any], path: str | Path) -> Path:
    """Write ``report`` as ``.html`` or ``.json``, created readable by its owner only (0600:
    it holds the pupil's id), complete or not at all.

    Raises
    ------
    ValueError
        Another extension.
    OutputWriteError
        The file could not be written (a full disk ...); the message names the file.
    """
    from xinli_screen.io.private_files import write_private_text

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        text = json.dumps(report, ensure_ascii=False, indent=1, default=str)
    elif suffix in (".html", ".htm"):
        text = render_pupil_html(report)
    else:
        raise ValueError(f"unsupported report type {suffix!r}; use .html or .json")
    return write_private_text(path, text)
