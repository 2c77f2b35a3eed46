"""Pupil report (一生一策档案): one pupil's waves, scores, tiers, reviews and actions.

Two views:

- ``psychologist``: everything stored: scores against bands, cut-offs and norms, critical
  items, screen and history reasons, reviews with notes, actions with notes, audit trail, and a
  chart of scale scores over the waves.
- ``teacher`` (班主任): per wave only the tier, review status and advice, and the dates and
  kinds of actions; no scores, no answers, no reasons with values, no notes.

Names appear only with ``include_name=True`` (and only when the archive stored one).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np

from xinli_screen.archive.store import ArchiveStore
from xinli_screen.policy.history import REVIEW_STATUS_LABELS
from xinli_screen.policy.models import TIER_ORDER

__all__ = ["ADVICE", "VIEWS", "build_pupil_report", "render_pupil_html", "write_pupil_report"]

VIEWS = ("psychologist", "teacher")
View = Literal["psychologist", "teacher"]

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
_TEMPLATES = Path(__file__).with_name("templates")


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


def _scales(rec: dict[str, Any]) -> list[dict[str, Any]]:
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
        out.append({"scale": key, "score": value, "n_answered": rec.get(f"{key}.n_answered"),
                    "band": rec.get(f"{key}.band"), "screen_positive": positive,
                    **{m_: rec.get(f"{key}.{m_}") for m_ in _NORM}})
    return out


def build_pupil_report(store: ArchiveStore, pupil_id: str, *, view: View = "psychologist",
                       include_name: bool = False, by: str = "report") -> dict[str, Any]:
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

    Returns
    -------
    dict
        ``view``, ``pupil`` (key, name or None), ``waves`` (list, in order), and in the
        psychologist view ``audit`` and ``chart`` data (scale -> scores per wave).

    Raises
    ------
    ValueError
        Unknown view.
    PupilNotFoundError
        The pupil is not in the archive.
    """
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; use one of {', '.join(VIEWS)}")
    file = store.pupil_file(pupil_id)
    store.log_access(pupil_id, "report_pupil", by=by, view=view)
    labels = store.labels
    waves = []
    for rec in file["waves"]:
        tier = rec["warning_tier"]
        base = {
            "wave": rec["wave"],
            "tier": tier,
            "tier_label": labels.get(tier, tier),
            "review_status": rec["review_status"],
            "review_status_label": REVIEW_STATUS_LABELS.get(rec["review_status"],
                                                            rec["review_status"]),
            "file_status": rec["file_status"],
            "advice_zh": ADVICE[tier][0],
            "advice_en": ADVICE[tier][1],
            "actions": [{"kind": a["kind"], "kind_zh": a["kind_zh"], "at": a["at"]}
                        for a in rec["actions"]],
        }
        if view == "psychologist":
            base.update({
                "imported_at": rec["imported_at"],
                "screen_tier": rec["screen_tier"],
                "previous_tier": rec["previous_tier"],
                "status": rec.get("status"),
                "scales": _scales(rec),
                "critical_items": rec["critical_items"],
                "reasons": rec["reasons"],
                "reason_codes": rec["reason_codes"],
                "history_reasons_zh": rec["history_reasons_zh"],
                "history_reasons_en": rec["history_reasons_en"],
                "history_codes": rec["history_codes"],
                "reviews": rec["reviews"],
                "actions": rec["actions"],
                "instruments": [f"{i['id']} {i['version']}" for i in
                                rec["provenance"].get("instruments", [])],
                "policy": "{id} {version}".format(**rec["provenance"]["policy"])
                if rec["provenance"].get("policy") else None,
            })
            for a in base["actions"]:
                a.pop("wave_id", None)
        waves.append(base)
    report: dict[str, Any] = {
        "view": view,
        "pupil": {"key": file["pupil_key"],
                  "name": file["name"] if include_name else None},
        "waves": waves,
        "note_zh": "筛查结果不是诊断；预警须经心理教师复核。",
        "note_en": "Screening results are not a diagnosis; every warning needs a review.",
    }
    if view == "psychologist":
        scales = sorted({s["scale"] for w in waves for s in w["scales"]})
        report["chart"] = {s: [next((x["score"] for x in w["scales"] if x["scale"] == s), None)
                               for w in waves] for s in scales}
        report["other_actions"] = file["actions"]
        report["audit"] = file["audit"]
    return report


def render_pupil_html(report: dict[str, Any]) -> str:
    """One self-contained HTML page of a report from :func:`build_pupil_report`."""
    from xinli_screen.report._charts import line_chart
    from xinli_screen.report._html import environment

    env = environment()
    chart = None
    if report.get("chart"):
        chart = line_chart([w["wave"] for w in report["waves"]], report["chart"])
    colours = {"none": "#2e7d32", "class": "#f9a825", "school": "#ef6c00",
               "district": "#c62828"}
    return env.get_template("pupil.html.j2").render(r=report, chart=chart, colours=colours,
                                                    tiers=TIER_ORDER)


def write_pupil_report(report: dict[str, Any], path: str | Path) -> Path:
    """Write ``report`` as ``.html`` or ``.json``.

    Raises
    ------
    ValueError
        Another extension.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        path.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str),
                        encoding="utf-8")
    elif suffix in (".html", ".htm"):
        path.write_text(render_pupil_html(report), encoding="utf-8")
    else:
        raise ValueError(f"unsupported report type {suffix!r}; use .html or .json")
    return path
