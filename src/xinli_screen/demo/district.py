"""A realistic generated district screening (issue 12): roster, 问卷星 exports, waves, truth.

:func:`write_district_scenario` writes the 绿园区 scenario into a folder: four schools (two
primary with the MHT, DSRSC and SCARED; two junior middle with the MHT, PHQ-A and SCARED),
about 3,000 synthetic pupils, a roster saved in GBK as Excel on Chinese Windows does, 问卷星
"按选项文本" XLSX downloads of two waves with the usual mess (double submissions, a mistyped and
an empty 学号, absent pupils, lie-scale and too-fast protocols, skipped questions), a corrected
re-download and a retest, the district policy, the wave definitions and a ``truth/`` folder
with every generating fact. The data are synthetic: no real pupil, answer or item wording.

Truth files (UTF-8 CSV):

* ``truth/pupils_w1.csv``, ``truth/pupils_w2.csv``: one row per roster pupil and wave: school,
  grade, class, sex, form, latent severity, absent, copies submitted and their 序号, the copy
  kept by the ``first_complete`` rule (the first complete copy in submission order, else the
  first copy) and by ``latest``, critical answers in any copy / in the kept copy / only in a
  dropped copy, lie-scale high and too fast (kept copy), the designed careless behaviour,
  skipped items, the 学号 typed when it differs from the roster (mistyped or empty), the
  retest (wave 1) and the designed change (wave 2);
* ``truth/submissions.csv``: one row per export row of every file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from xinli_screen.demo._answers import (
    FORMS,
    N_DOMAINS,
    SKIP,
    FormItems,
    careless_answers,
    draw_answers,
    form_items,
    set_lie,
)
from xinli_screen.demo._files import FORM_LABELS, policy_text, wave_text
from xinli_screen.demo._roster import SCHOOLS, make_roster, write_roster
from xinli_screen.demo._truth import Plan, Sheet, pupil_truth, submission_truth
from xinli_screen.demo._xlsx import replace_text, write_xlsx
from xinli_screen.instrument.registry import load_instrument

__all__ = ["FILL_INS", "WJX_METADATA", "DistrictScenario", "export_header",
           "write_district_scenario"]

#: Metadata columns of a 问卷星 download.
WJX_METADATA = ("序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP")
#: Fill-in questions 1-6 of both forms.
FILL_INS = ("学号", "姓名", "学校", "年级", "班级", "性别")
_PERIODS = ((8, 0), (8, 55), (9, 50), (10, 45), (13, 30), (14, 25), (15, 20))
_SOURCES = np.array(["微信", "手机提交", "链接"])


@dataclass(frozen=True)
class DistrictScenario:
    """The files written by :func:`write_district_scenario` (absolute paths).

    Attributes
    ----------
    folder, roster, policy : Path
    wave1, wave1_retest, wave1_corrected, wave2 : Path
        Wave definitions: wave 1 (parts 小学版, 初中版); the same with the retest part
        (``kind: retest``); the same with 初中版 pointing to the corrected download; wave 2.
    exports : mapping name -> Path
        ``w1_小学版``, ``w1_初中版``, ``w1_初中版_更正``, ``w1_重测``, ``w2_小学版``,
        ``w2_初中版`` (XLSX files under ``exports/``).
    truth : mapping name -> Path
        ``pupils_w1``, ``pupils_w2``, ``submissions`` (CSV files under ``truth/``).
    seed, n_pupils : int
    """

    folder: Path
    roster: Path
    policy: Path
    wave1: Path
    wave1_retest: Path
    wave1_corrected: Path
    wave2: Path
    exports: Mapping[str, Path] = field(default_factory=dict)
    truth: Mapping[str, Path] = field(default_factory=dict)
    seed: int = 2026
    n_pupils: int = 3000

    @property
    def files(self) -> list[Path]:
        """Every file written."""
        return [self.roster, self.policy, self.wave1, self.wave1_retest, self.wave1_corrected,
                self.wave2, *self.exports.values(), *self.truth.values()]


@dataclass(frozen=True)
class _Settings:
    key: str
    first_day: dt.date
    absent: float
    lie: float
    fast: float
    skips: float
    duplicates: tuple[int, int, int]  # per 3,000 pupils: incomplete first, both, incomplete 2nd
    mistyped_form: str
    empty_form: str


_W1 = _Settings("w1", dt.date(2026, 9, 14), 0.03, 0.02, 0.02, 0.006, (7, 8, 2), "junior",
                "primary")
_W2 = _Settings("w2", dt.date(2027, 3, 8), 0.02, 0.01, 0.01, 0.004, (3, 4, 1), "primary",
                "junior")


def _count(rate_or_n: float, n: int, per: int = 3000) -> int:
    """A count scaled to ``n`` pupils: a rate (< 1) of ``n`` or a number per ``per`` pupils."""
    value = rate_or_n * n if rate_or_n < 1 else rate_or_n * n / per
    return max(1, round(value))


def _pick(rng: np.random.Generator, free: np.ndarray, k: int,
          weight: np.ndarray | None = None) -> np.ndarray:
    """``k`` distinct indices where ``free`` is True (weighted when ``weight`` is given)."""
    pool = np.flatnonzero(free)
    k = min(k, len(pool))
    p = None if weight is None else weight[pool] / weight[pool].sum()
    return np.sort(rng.choice(pool, size=k, replace=False, p=p))


def _plan(rng: np.random.Generator, roster: pd.DataFrame, s: _Settings, z: np.ndarray,
          critical_pairs: bool) -> Plan:
    """Absent pupils, double submissions, careless and skipping pupils of one wave."""
    n = len(roster)
    form = roster["form"].to_numpy()
    free = np.ones(n, dtype=bool)
    absent = np.zeros(n, dtype=bool)
    absent[_pick(rng, free, _count(s.absent, n))] = True
    free &= ~absent
    mistyped = int(_pick(rng, free & (form == s.mistyped_form), 1)[0])
    free[mistyped] = False
    empty = int(_pick(rng, free & (form == s.empty_form), 1)[0])
    free[empty] = False
    dups: dict[int, tuple[str, dict[str, int], dict[str, int]]] = {}
    if critical_pairs:  # a critical answer only in the copy first_complete drops
        for f, kind, first, second in (
                ("junior", "critical_incomplete_first", {"phqa_09": 1}, {}),
                ("primary", "critical_incomplete_first", {"mht_097": 1}, {}),
                ("junior", "critical_second", {}, {"mht_085": 1})):
            p = int(_pick(rng, free & (form == f), 1)[0])
            dups[p] = (kind, first, second)
            free[p] = False
    for kind, k in zip(("incomplete_first", "both_complete", "incomplete_second"),
                       s.duplicates, strict=True):
        for p in _pick(rng, free, _count(k, n)):
            dups[int(p)] = (kind, {}, {})
            free[p] = False
    careless = np.full(n, "", dtype=object)
    for kind, rate in (("lie", s.lie), ("fast", s.fast)):
        chosen = _pick(rng, free, _count(rate, n))
        careless[chosen] = kind
        free[chosen] = False
    skips = np.zeros(n, dtype=int)
    chosen = _pick(rng, free, _count(s.skips, n), np.exp(z))  # more often when distressed
    skips[chosen] = rng.integers(1, 4, size=len(chosen))
    return Plan(absent, careless, skips, dups, mistyped, empty)


def _designate(rng: np.random.Generator, roster: pd.DataFrame, eligible: np.ndarray,
               z: np.ndarray, scale: float = 1.0) -> dict[int, dict[str, int]]:
    """Critical answers, more likely with a higher latent severity."""
    form = roster["form"].to_numpy()
    weight = np.exp(1.6 * z)
    out: dict[int, dict[str, int]] = {}
    junior, primary = eligible & (form == "junior"), eligible & (form == "primary")
    n_j, n_p = int((form == "junior").sum()), int((form == "primary").sum())
    for p in _pick(rng, junior, _count(0.03 * scale, n_j), weight):
        out[int(p)] = {"phqa_09": int(rng.choice([1, 2, 3], p=[0.3, 0.45, 0.25]))}
        if rng.random() < 0.35:
            out[int(p)]["phqa_12"] = 1
        if rng.random() < 0.15:
            out[int(p)]["phqa_13"] = 1
    for p in _pick(rng, junior & ~np.isin(np.arange(len(form)), list(out)),
                   _count(0.003 * scale, n_j), weight):
        out[int(p)] = {str(rng.choice(["phqa_12", "phqa_13"])): 1}
    for group, n_form in ((junior, n_j), (primary, n_p)):
        for p in _pick(rng, group, _count(0.006 * scale, n_form), weight):
            which = rng.choice(3, p=[0.5, 0.3, 0.2])
            items = (["mht_085"], ["mht_097"], ["mht_085", "mht_097"])[which]
            out.setdefault(int(p), {}).update(dict.fromkeys(items, 1))
    for p in _pick(rng, primary, _count(0.01 * scale, n_p), weight):
        out.setdefault(int(p), {})["dsrsc_10"] = 1 if rng.random() < 0.55 else 2
    return out


def _set_critical(items: FormItems, codes: np.ndarray, answers: Mapping[str, int]) -> None:
    """In place: every critical item (PHQ-A 9, 12, 13; MHT 85, 97; DSRSC 10) 0 except the
    designated answers."""
    for item, pos in items.critical.items():
        codes[pos] = answers.get(item, 0)


def _durations(rng: np.random.Generator, n_items: int, k: int) -> np.ndarray:
    per_item = np.clip(rng.lognormal(np.log(3.6), 0.35, size=k), 2.3, 12.0)
    return np.round(per_item * n_items).astype(int)


def _sessions(rng: np.random.Generator, roster: pd.DataFrame, first_day: dt.date,
              ) -> dict[tuple[str, str, str], dt.datetime]:
    """Each class takes the test in one lesson on one of the first ten school days."""
    days = [first_day + dt.timedelta(days=d) for d in range(14)
            if (first_day + dt.timedelta(days=d)).weekday() < 5][:10]
    out = {}
    for key in roster[["学校", "年级", "班级"]].drop_duplicates().itertuples(index=False):
        day = days[int(rng.integers(len(days)))]
        hour, minute = _PERIODS[int(rng.integers(len(_PERIODS)))]
        out[tuple(key)] = dt.datetime.combine(day, dt.time(hour, minute))
    return out


def _cut(rng: np.random.Generator, items: FormItems, answers: Mapping[str, int]) -> int:
    """Where an abandoned copy stops: after any designated critical item it holds."""
    n = len(items.ids)
    low = max([int(0.3 * n), *[items.position(i) + 5 for i in answers]])
    return int(rng.integers(low, max(low + 1, int(0.85 * n))))


def _form_sheets(rng: np.random.Generator, roster: pd.DataFrame, items: FormItems,
                 plan: Plan, theta: np.ndarray, lie_theta: np.ndarray, form: str,
                 sessions: Mapping[tuple[str, str, str], dt.datetime]) -> list[Sheet]:
    """Every submission of one form in one wave, in submission order."""
    idx = np.flatnonzero(~plan.absent & (roster["form"].to_numpy() == form))
    careless = plan.careless[idx]
    level = theta[idx] - 0.8 * (careless == "lie")[:, None]  # faking good
    codes = draw_answers(rng, items, level, lie_theta[idx])
    fast = careless == "fast"
    codes[fast] = careless_answers(rng, items, int(fast.sum()))
    n_items = len(items.ids)
    skippable = np.setdiff1d(items.scored, [*items.critical.values(), *items.lie])
    for r, p in enumerate(idx):
        _set_critical(items, codes[r], plan.critical.get(p, {}))
        if plan.skips[p]:
            codes[r, rng.choice(skippable, size=plan.skips[p], replace=False)] = np.nan
    set_lie(rng, items, codes, careless == "lie")
    seconds = _durations(rng, n_items, len(idx))
    seconds[fast] = np.round(rng.uniform(0.6, 1.85, int(fast.sum())) * n_items)
    ids = roster["学号"].to_numpy()
    keys = list(roster[["学校", "年级", "班级"]].itertuples(index=False, name=None))
    sheets = []
    for r, p in enumerate(idx):
        start = sessions[keys[p]] + dt.timedelta(seconds=int(rng.integers(60, 300)))
        typed = None if p == plan.empty else ids[p]
        if p == plan.mistyped:
            typed = f"{ids[p][:6]}{int(rng.integers(8, 10))}{ids[p][7]}"
        sheets.append(Sheet(int(p), 1, codes[r], start + dt.timedelta(seconds=int(
            seconds[r])), int(seconds[r]), typed))
    dup_rows = [r for r, p in enumerate(idx) if p in plan.dups]
    second = draw_answers(rng, items, theta[idx[dup_rows]], lie_theta[idx[dup_rows]])
    set_lie(rng, items, second, np.zeros(len(dup_rows), dtype=bool))
    for k, r in enumerate(dup_rows):
        first = sheets[r]
        kind, crit1, crit2 = plan.dups[first.pupil]
        designated = plan.critical.get(first.pupil, {})
        _set_critical(items, first.codes, {**designated, **crit1})
        copy2 = second[k]
        _set_critical(items, copy2, {**designated, **crit2})
        if kind.endswith("incomplete_first"):
            cut = _cut(rng, items, crit1)
            first.codes[cut:] = np.nan
            first.seconds = max(30, round(first.seconds * cut / n_items))
            first.when = first.when - dt.timedelta(seconds=int(first.seconds * 0.5))
        gap = dt.timedelta(seconds=int(rng.integers(120, 2400)))
        if rng.random() < 0.2:
            gap += dt.timedelta(days=1)
        secs = int(_durations(rng, n_items, 1)[0])
        when = first.when + gap + dt.timedelta(seconds=secs)
        if kind == "incomplete_second":
            cut = _cut(rng, items, crit2)
            copy2[cut:] = np.nan
            secs = max(30, round(secs * cut / n_items))
        sheets.append(Sheet(first.pupil, 2, copy2, when, secs, first.typed_id))
    sheets.sort(key=lambda s: (s.when, s.pupil, s.copy))
    return sheets


def _retest_sheets(rng: np.random.Generator, roster: pd.DataFrame, items: FormItems,
                   plan: Plan, theta: np.ndarray, lie_theta: np.ndarray) -> list[Sheet]:
    """Wave 1 retest of the junior lie-scale-high and too-fast pupils, answered carefully."""
    idx = np.flatnonzero(~plan.absent & (plan.careless != "")
                         & (roster["form"].to_numpy() == "junior"))
    codes = draw_answers(rng, items, theta[idx], lie_theta[idx])
    for r, p in enumerate(idx):
        _set_critical(items, codes[r], plan.critical.get(p, {}))
    set_lie(rng, items, codes, np.zeros(len(idx), dtype=bool))
    seconds = _durations(rng, len(items.ids), len(idx))
    ids = roster["学号"].to_numpy()
    sheets = []
    for r, p in enumerate(idx):
        day = dt.date(2026, 9, 28) + dt.timedelta(days=int(rng.integers(0, 2)))
        start = dt.datetime.combine(day, dt.time(15, 20)) + dt.timedelta(
            seconds=int(rng.integers(60, 600)) + int(seconds[r]))
        sheets.append(Sheet(int(p), 1, codes[r], start, int(seconds[r]), ids[p]))
    sheets.sort(key=lambda s: (s.when, s.pupil))
    return sheets


def _export_rows(sheets: list[Sheet], roster: pd.DataFrame, items: FormItems,
                 rng: np.random.Generator) -> list[list[object]]:
    """问卷星 rows: metadata, fill-ins 1-6, then the option text of every item."""
    codes = np.vstack([s.codes for s in sheets]) if sheets else np.zeros((0, len(items.ids)))
    text = np.empty(codes.shape, dtype=object)
    for j, labels in enumerate(items.labels):
        table = np.array([*labels, SKIP], dtype=object)
        col = codes[:, j]
        text[:, j] = table[np.where(np.isnan(col), len(labels), np.nan_to_num(col)).astype(int)]
    school_ip = {s.name: f"203.0.113.{20 + s.number}(吉林-长春)" for s in SCHOOLS}
    source = _SOURCES[rng.choice(3, size=len(sheets), p=[0.55, 0.3, 0.15])]
    home = rng.random(len(sheets)) < 0.15
    rows = []
    info = roster[["姓名", "学校", "年级", "班级", "性别"]].to_numpy()
    for k, s in enumerate(sheets):
        name, school, grade, klass, sex = info[s.pupil]
        ip = f"198.51.100.{int(rng.integers(2, 250))}(吉林-长春)" if home[k] \
            else school_ip[school]
        when = f"{s.when.year}/{s.when.month}/{s.when.day} {s.when:%H:%M:%S}"
        rows.append([k + 1, when, f"{s.seconds}秒", source[k], "直接访问", ip, s.typed_id,
                     name, school, grade, klass, sex, *text[k]])
    return rows


def export_header(form: str) -> list[str]:
    """The header of a 问卷星 download of ``form``: metadata, fill-ins, numbered items."""
    header = [*WJX_METADATA, *(f"{k}、{q}" for k, q in enumerate(FILL_INS, start=1))]
    question = len(FILL_INS) + 1
    short = {"mht": "MHT", "dsrsc": "DSRSC", "scared": "SCARED", "phqa": "PHQ-A"}
    for name in FORMS[form]:
        for item in load_instrument(name).items:
            header.append(f"{question}、{short[name]}第{item.number}题")
            question += 1
    return header


def write_district_scenario(folder: Path, *, seed: int = 2026,
                            n_pupils: int = 3000) -> DistrictScenario:
    """Write the 绿园区 district scenario (synthetic) into ``folder``.

    Parameters
    ----------
    folder : Path
        Created if needed; existing files of the scenario are overwritten.
    seed : int
        Same seed, same bytes in every file.
    n_pupils : int
        Pupils on the roster (about 3,000 for the full scenario; fewer for quick tests).

    Returns
    -------
    DistrictScenario
        The files written.

    Examples
    --------
    >>> from pathlib import Path; import tempfile
    >>> s = write_district_scenario(Path(tempfile.mkdtemp()), n_pupils=300)
    >>> s.wave1.name, sorted(s.exports)[0]
    ('wave1.yaml', 'w1_初中版')
    """
    folder = Path(folder).resolve()
    for sub in ("exports", "truth"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    roster = make_roster(streams[0], n_pupils)
    n = len(roster)
    items = {f: form_items(f, streams[1]) for f in FORMS}
    latent = streams[2]
    z = latent.standard_normal(n) + np.where(latent.random(n) < 0.05, 1.0, 0.0)
    noise = latent.standard_normal((n, N_DOMAINS))
    lie_theta = latent.standard_normal(n)

    # ---- wave 1
    rng = streams[3]
    plan1 = _plan(rng, roster, _W1, z, critical_pairs=True)
    special = np.isin(np.arange(n), [plan1.mistyped, plan1.empty, *(
        p for p, d in plan1.dups.items() if d[0].startswith("critical"))])
    plan1.critical = _designate(rng, roster, ~plan1.absent & ~special, z)
    theta1 = 0.8 * z[:, None] + 0.6 * noise
    sessions = _sessions(rng, roster, _W1.first_day)
    sheets = {("w1", f): _form_sheets(rng, roster, items[f], plan1, theta1, lie_theta, f,
                                      sessions) for f in FORMS}
    retest = _retest_sheets(rng, roster, items["junior"], plan1, theta1, lie_theta)

    # ---- wave 2, a semester later
    rng = streams[4]
    plan2 = _plan(rng, roster, _W2, z, critical_pairs=False)
    change = np.full(n, "", dtype=object)
    z2 = z + 0.35 * rng.standard_normal(n)
    was_district = [p for p, c in plan1.critical.items() if c.get("phqa_09", 0) >= 2
                    and not plan2.absent[p] and plan2.careless[p] == ""
                    and p not in plan2.dups and p not in (plan2.mistyped, plan2.empty)]
    recovered = [int(p) for p in rng.choice(was_district, size=min(2, len(was_district)),
                                            replace=False)]
    free = np.ones(n, dtype=bool)
    free[recovered] = False
    improve = _pick(rng, free & (z > 0.8), _count(0.05, n))
    free[improve] = False
    worse = _pick(rng, free & (z < 1.0), _count(0.04, n))
    change[improve], change[worse], change[recovered] = "improved", "deteriorated", "recovered"
    z2[improve] -= 1.2
    z2[worse] += 1.4
    z2[recovered] = -1.2
    change[(change == "") & (z > 1.6) & (z2 > 1.3)] = "stays_high"
    kept = {p: c for p, c in plan1.critical.items()
            if p not in recovered and not plan2.absent[p] and rng.random() < 0.5}
    special2 = np.isin(np.arange(n), [plan2.mistyped, plan2.empty, *recovered, *plan1.critical])
    new = _designate(rng, roster, ~plan2.absent & ~special2, z2, scale=0.15)
    change[list(new)] = np.where(change[list(new)] == "", "new_critical", change[list(new)])
    plan2.critical = {**kept, **new}
    plan2.change = change
    noise2 = 0.8 * noise + 0.6 * rng.standard_normal((n, N_DOMAINS))
    theta2 = 0.8 * z2[:, None] + 0.6 * noise2
    theta2[recovered] = -1.5
    sessions = _sessions(rng, roster, _W2.first_day)
    for f in FORMS:
        sheets[("w2", f)] = _form_sheets(rng, roster, items[f], plan2, theta2, lie_theta, f,
                                         sessions)

    # ---- files
    rng = streams[5]
    write_roster(roster, folder / "roster.csv")
    exports: dict[str, Path] = {}
    for (wave, f), rows in sheets.items():
        name = f"{wave}_{FORM_LABELS[f]}"
        exports[name] = folder / "exports" / f"{name}.xlsx"
        write_xlsx(exports[name], export_header(f), _export_rows(rows, roster, items[f], rng))
    exports["w1_初中版_更正"] = folder / "exports" / "w1_初中版_更正.xlsx"
    typed = next(s.typed_id for s in sheets[("w1", "junior")] if s.pupil == plan1.mistyped)
    replace_text(exports["w1_初中版"], exports["w1_初中版_更正"], str(typed),
                 str(roster["学号"].iloc[plan1.mistyped]))
    exports["w1_重测"] = folder / "exports" / "w1_重测.xlsx"
    write_xlsx(exports["w1_重测"], export_header("junior"),
               _export_rows(retest, roster, items["junior"], rng))
    (folder / "policy.yaml").write_text(policy_text(), encoding="utf-8")
    waves = _write_waves(folder)
    truth = {"pupils_w1": folder / "truth" / "pupils_w1.csv",
             "pupils_w2": folder / "truth" / "pupils_w2.csv",
             "submissions": folder / "truth" / "submissions.csv"}
    files = {("w1", f): exports[f"w1_{FORM_LABELS[f]}"] for f in FORMS}
    files.update({("w2", f): exports[f"w2_{FORM_LABELS[f]}"] for f in FORMS})
    retested = np.isin(np.arange(n), [s.pupil for s in retest])
    for wave, plan, latent_z in (("w1", plan1, z), ("w2", plan2, z2)):
        by_form = {f: sheets[(wave, f)] for f in FORMS}
        table = pupil_truth(roster, items, by_form, plan, latent_z,
                            retested if wave == "w1" else None)
        table.to_csv(truth[f"pupils_{wave}"], index=False, encoding="utf-8")
    parts = [(files[key], key[0], key[1], sheets[key]) for key in sheets]
    parts.append((exports["w1_重测"], "w1", "junior", retest))
    corrected = [s if s.pupil != plan1.mistyped else Sheet(
        s.pupil, s.copy, s.codes, s.when, s.seconds, roster["学号"].iloc[s.pupil])
        for s in sheets[("w1", "junior")]]
    parts.append((exports["w1_初中版_更正"], "w1", "junior", corrected))
    submission_truth(roster, items, parts, folder).to_csv(
        truth["submissions"], index=False, encoding="utf-8")
    return DistrictScenario(folder=folder, roster=folder / "roster.csv",
                            policy=folder / "policy.yaml", **waves, exports=exports,
                            truth=truth, seed=seed, n_pupils=n)


def _write_waves(folder: Path) -> dict[str, Path]:
    w1_parts = [("小学版", "exports/w1_小学版.xlsx", "primary", "answers"),
                ("初中版", "exports/w1_初中版.xlsx", "junior", "answers")]
    name1 = ("绿园区2026年秋季心理健康测评", "Lüyuan district autumn 2026 screening")
    dates1 = ("2026-09-14", "2026-09-30")
    corrected = [w1_parts[0], ("初中版", "exports/w1_初中版_更正.xlsx", "junior", "answers")]
    variants = {
        "wave1": (w1_parts, "wave 1 as first imported (the retest is added later)"),
        "wave1_corrected": (corrected,
                            "wave 1 with the corrected 初中版 download (one 学号 fixed)"),
        "wave1_retest": ([*corrected, ("重测", "exports/w1_重测.xlsx", "junior", "retest")],
                         "wave 1 after the correction, with the retest of the lie-scale-high "
                         "and too-fast pupils"),
    }
    out = {}
    for key, (parts, comment) in variants.items():
        out[key] = folder / f"{key}.yaml"
        out[key].write_text(wave_text("2026-autumn", name1, dates1, parts, comment),
                            encoding="utf-8")
    out["wave2"] = folder / "wave2.yaml"
    out["wave2"].write_text(wave_text(
        "2027-spring", ("绿园区2027年春季心理健康测评", "Lüyuan district spring 2027 screening"),
        ("2027-03-08", "2027-03-19"),
        [("小学版", "exports/w2_小学版.xlsx", "primary", "answers"),
         ("初中版", "exports/w2_初中版.xlsx", "junior", "answers")],
        "wave 2, a semester later"), encoding="utf-8")
    return out
