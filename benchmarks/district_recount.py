"""Independent recount of a generated district wave (``xinli-screen example-data --district``).

This script deliberately does **not** import ``xinli_screen``: it is a second implementation of
what one wave of the district scenario should give, written from the documents (docs/policy.md,
the instrument YAML files and the wave format of issue 12), to be compared pupil by pupil with
the engine (``tests/test_demo_district.py``). Only YAML *keys* are read from the instrument and
policy files (``yaml.safe_load``); the arithmetic and the rules are this file's own:

* 问卷星 headers ``N、stem``: item k of an instrument whose block starts at question q is the
  column of question ``q + k - 1``; cells hold the option text (zh label or an alias);
  ``(跳过)`` / ``(空)`` / empty = unanswered;
* an item's score is its code, ``min + max - code`` when reverse keyed; a scale is scored only
  when all its items are answered (none of the four instruments prorates); a composite scale
  is the sum of its scales; the lowest and highest score a scale can still reach give the
  three-valued comparisons of docs/policy.md (true when every completion meets it, false when
  none can, unknown otherwise; ``all``/``any``/``at_least`` in Kleene logic); evidence of an
  instrument that was not screened is known false;
* tier = the highest tier of the rules that are true, at least ``critical_item_tier`` when a
  critical item (active in the instrument, or listed in ``enable_critical_items``) is met;
  order none < class < school < district;
* review status: ``pending_review`` when a critical item the policy uses is met, or is
  unanswered (unless ``unknown_critical_item: none``; docs/policy.md, critical-item states),
  whatever else; otherwise ``retest`` when a validity check fires (MHT lie >= 7) or the sheet
  was too fast (``所用时间`` under 2 s per item of the form), else ``pending_review`` above
  none, else ``not_required``;
* double submissions (rule ``first_complete``): among the rows of one 学号 in submission order
  (提交答卷时间, then 序号), the first row with every item of every non-optional scale answered
  is kept, else the first row; rows without a 学号 are not pupils.

Per-school counts use the export's own 学校 fill-in of the kept row, before any history or
review. Usage::

    python benchmarks/district_recount.py FOLDER [--wave wave1.yaml] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import operator
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

TIERS: tuple[str, ...] = ("none", "class", "school", "district")
SKIPPED = {"(跳过)", "(空)", "跳过", "-2", "-3", ""}
OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}
QUESTION = re.compile(r"^\s*(?:Q|第)?(\d+)(?:题)?\s*[、.:．：]\s*(.*)$")
REPO = Path(__file__).resolve().parents[1]


def load_yaml(path: Path) -> Any:
    """``yaml.safe_load`` of a UTF-8 file."""
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


# ------------------------------------------------------------------ instruments and scoring


@dataclass
class Scored:
    """Scores of one instrument: per scale the score (NaN unless complete), lowest and highest
    reachable score, and the item codes as answered."""

    codes: pd.DataFrame
    score: dict[str, np.ndarray]
    lo: dict[str, np.ndarray]
    hi: dict[str, np.ndarray]
    definition: dict[str, Any]


def _label_codes(definition: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Response scale id -> {option text -> code} (zh and en labels, aliases)."""
    out = {}
    for scale in definition["response_scales"]:
        table: dict[str, float] = {}
        for option in scale["options"]:
            code = float(option["code"])
            for text in [*option["label"].values(), *option.get("aliases", []),
                         str(option["code"])]:
                table[str(text).strip()] = code
        out[scale["id"]] = table
    return out


def item_codes(frame: pd.DataFrame, definition: Mapping[str, Any],
               first_question: int) -> pd.DataFrame:
    """Item codes (float, NaN = unanswered) of one instrument read from its question block.

    Raises
    ------
    ValueError
        A question of the block is missing, or a cell holds text that is no option.
    """
    by_number = {}
    for col in frame.columns:
        m = QUESTION.match(str(col))
        if m:
            by_number[int(m.group(1))] = col
    tables = _label_codes(definition)
    default = definition["response_scales"][0]["id"]
    out = {}
    for k, item in enumerate(definition["items"]):
        column = by_number.get(first_question + k)
        if column is None:
            raise ValueError(f"question {first_question + k} ({item['id']}) not in the header")
        table = tables[item.get("response_scale") or default]
        cells = frame[column].fillna("").astype(str).str.strip()
        bad = ~cells.isin(SKIPPED) & ~cells.isin(list(table))
        if bad.any():
            raise ValueError(f"{column}: not an option: {sorted(set(cells[bad]))[:3]}")
        out[item["id"]] = cells.map(lambda c, t=table: t.get(c, np.nan)).astype(float)
    return pd.DataFrame(out, index=frame.index)


def score(codes: pd.DataFrame, definition: Mapping[str, Any]) -> Scored:
    """Raw scale scores and reachable bounds (sum scales; composites are sums of scales)."""
    ranges = {}
    for scale in definition["response_scales"]:
        values = [float(o["code"]) for o in scale["options"]]
        ranges[scale["id"]] = (min(values), max(values))
    default = definition["response_scales"][0]["id"]
    items = {i["id"]: i for i in definition["items"]}
    result = Scored(codes, {}, {}, {}, dict(definition))
    for scale in definition["scales"]:
        name = scale["id"]
        if "scales" in scale:  # composite: after its parts (YAML order)
            parts = scale["scales"]
            result.score[name] = np.sum([result.score[p] for p in parts], axis=0)
            result.lo[name] = np.sum([result.lo[p] for p in parts], axis=0)
            result.hi[name] = np.sum([result.hi[p] for p in parts], axis=0)
            continue
        if scale.get("method", "sum") != "sum":
            raise ValueError(f"{definition['id']}.{name}: only sum scales are recounted")
        total = np.zeros(len(codes))
        lo = np.zeros(len(codes))
        hi = np.zeros(len(codes))
        complete = np.ones(len(codes), dtype=bool)
        for item_id in scale["items"]:
            low, high = ranges[items[item_id].get("response_scale") or default]
            x = codes[item_id].to_numpy()
            keyed = low + high - x if items[item_id].get("reverse_keyed") else x
            answered = ~np.isnan(x)
            complete &= answered
            total += np.where(answered, keyed, 0.0)
            lo += np.where(answered, keyed, low)
            hi += np.where(answered, keyed, high)
        result.score[name] = np.where(complete, total, np.nan)
        result.lo[name], result.hi[name] = lo, hi
    return result


def complete_rows(scored: Mapping[str, Scored]) -> np.ndarray:
    """Rows with every item of every non-optional scale answered."""
    out = None
    for s in scored.values():
        for scale in s.definition["scales"]:
            if scale.get("optional") or "scales" in scale:
                continue
            ok = s.codes[scale["items"]].notna().all(axis=1).to_numpy()
            out = ok if out is None else out & ok
    assert out is not None
    return out


# ------------------------------------------------------------------ policy


class Evaluator:
    """Three-valued evaluation of policy conditions: each gives (true, known) arrays."""

    def __init__(self, scored: Mapping[str, Scored], n: int) -> None:
        self.scored = scored
        self.n = n

    def _absent(self) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(self.n, dtype=bool), np.ones(self.n, dtype=bool)

    def _compare(self, x: np.ndarray, lo: np.ndarray, hi: np.ndarray, op: str,
                 value: float) -> tuple[np.ndarray, np.ndarray]:
        cmp = OPS[op]
        with np.errstate(invalid="ignore"):
            if op in (">=", ">"):
                sure_true, sure_false = cmp(lo, value), ~cmp(hi, value)
            elif op in ("<=", "<"):
                sure_true, sure_false = cmp(hi, value), ~cmp(lo, value)
            else:
                sure_true = (lo == value) & (hi == value)
                sure_false = (value < lo) | (value > hi)
            now = ~np.isnan(x) & cmp(x, value)
        return now | sure_true, sure_true | sure_false | ~np.isnan(x)

    def _scale(self, ref: str) -> tuple[Scored, str] | None:
        inst, scale = ref.split(".", 1)
        return (self.scored[inst], scale) if inst in self.scored else None

    def evaluate(self, cond: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """(true, known) of one condition for every row."""
        for key, need in (("all", None), ("any", 1), ("of", "at_least")):
            if key in cond:
                children = [self.evaluate(c) for c in cond[key]]
                count = (len(children) if need is None else 1 if need == 1
                         else int(cond["at_least"]))
                n_true = np.sum([t for t, _ in children], axis=0)
                n_unknown = np.sum([~k for _, k in children], axis=0)
                true = n_true >= count
                return true, true | (n_true + n_unknown < count)
        if "item" in cond:
            inst = cond["item"].split("_", 1)[0]
            if inst not in self.scored:
                return self._absent()
            x = self.scored[inst].codes[cond["item"]].to_numpy()
            with np.errstate(invalid="ignore"):
                return ~np.isnan(x) & OPS[cond["op"]](x, float(cond["value"])), ~np.isnan(x)
        if "scale" in cond:
            if cond.get("metric", "score") != "score":
                raise ValueError("standard-score conditions are not recounted")
            found = self._scale(cond["scale"])
            if found is None:
                return self._absent()
            s, name = found
            return self._compare(s.score[name], s.lo[name], s.hi[name], cond.get("op", ">="),
                                 float(cond["value"]))
        if "cutoff" in cond:
            ref, cut_id = cond["cutoff"].rsplit(".", 1)
            found = self._scale(ref)
            if found is None:
                return self._absent()
            s, name = found
            scale = next(x for x in s.definition["scales"] if x["id"] == name)
            cut = next(c for c in scale["cutoffs"] if c["id"] == cut_id)
            return self._compare(s.score[name], s.lo[name], s.hi[name], cut["op"],
                                 float(cut["value"]))
        if "band" in cond:
            found = self._scale(cond["band"])
            if found is None:
                return self._absent()
            s, name = found
            scale = next(x for x in s.definition["scales"] if x["id"] == name)
            mins = np.array([b["min"] for b in scale["bands"]], dtype=float)
            member = np.array([b["id"] in cond["in"] for b in scale["bands"]])

            def band(v: np.ndarray) -> np.ndarray:
                return np.clip(np.searchsorted(mins, v, side="right") - 1, 0, None)

            first, last = band(s.lo[name]), band(s.hi[name])
            inside = np.array([member[a:b + 1].sum() for a, b in zip(first, last, strict=True)])
            return inside == last - first + 1, (inside == 0) | (inside == last - first + 1)
        raise ValueError(f"condition not recounted: {cond}")


def _critical_answers(scored: Mapping[str, Scored], policy: Mapping[str, Any],
                      n: int) -> tuple[np.ndarray, np.ndarray]:
    """(met, unanswered) per row over the critical items the policy uses (active or
    enabled)."""
    met = np.zeros(n, dtype=bool)
    unanswered = np.zeros(n, dtype=bool)
    enabled = set(policy.get("enable_critical_items") or [])
    for inst, s in scored.items():
        for crit in s.definition.get("critical_items", []):
            if crit.get("active", True) or f"{inst}.{crit['id']}" in enabled:
                x = s.codes[crit["item"]].to_numpy(dtype=float)
                with np.errstate(invalid="ignore"):
                    met |= ~np.isnan(x) & OPS[crit["op"]](x, float(crit["value"]))
                unanswered |= np.isnan(x)
    return met, unanswered


def unknown_critical(scored: Mapping[str, Scored], policy: Mapping[str, Any],
                     n: int) -> np.ndarray:
    """Rows where a critical item the policy uses (active or enabled) has no answer."""
    return _critical_answers(scored, policy, n)[1]


def tiers(scored: Mapping[str, Scored], policy: Mapping[str, Any], n: int) -> np.ndarray:
    """Tier rank (0-3) per row: rules that are true, critical items at least their tier."""
    rank = np.zeros(n, dtype=int)
    met, _ = _critical_answers(scored, policy, n)
    crit_rank = TIERS.index(policy.get("critical_item_tier", "school"))
    rank[met] = np.maximum(rank[met], crit_rank)
    ev = Evaluator(scored, n)
    for rule in policy.get("rules", []):
        true, _known = ev.evaluate(rule["when"])
        rank[true] = np.maximum(rank[true], TIERS.index(rule["tier"]))
    return rank


def validity_fired(scored: Mapping[str, Scored]) -> np.ndarray:
    """A validity check (e.g. MHT lie >= 7) fires on a scored validity scale."""
    out = None
    for s in scored.values():
        for check in s.definition.get("validity_checks", []):
            x = s.score[check["scale"]]
            with np.errstate(invalid="ignore"):
                hit = ~np.isnan(x) & OPS[check["op"]](x, float(check["value"]))
            out = hit if out is None else out | hit
    return out if out is not None else np.zeros(0, dtype=bool)


def seconds(cells: pd.Series) -> np.ndarray:
    """``356秒`` / ``5分56秒`` / ``356`` -> seconds (NaN when unreadable)."""
    out = np.full(len(cells), np.nan)
    for k, cell in enumerate(cells.fillna("").astype(str)):
        m = re.fullmatch(r"\s*(?:(\d+)\s*分)?\s*(?:(\d+(?:\.\d+)?)\s*秒?)?\s*", cell)
        if m and (m.group(1) or m.group(2)):
            out[k] = 60 * float(m.group(1) or 0) + float(m.group(2) or 0)
    return out


# ------------------------------------------------------------------ a wave


def _column(frame: pd.DataFrame, stem: str) -> str:
    """The column named ``stem`` or a question ``N、stem``."""
    for col in frame.columns:
        m = QUESTION.match(str(col))
        if str(col).strip() == stem or (m and m.group(2).strip() == stem):
            return str(col)
    raise KeyError(f"no column {stem!r}")


def recount_part(path: Path, form: Mapping[str, Any], policy: Mapping[str, Any],
                 instruments_dir: Path) -> pd.DataFrame:
    """Per export row: id, school, complete, lie/too-fast, tier and review status."""
    frame = pd.read_excel(path, dtype=str, engine="openpyxl")
    blocks = form["columns"]["blocks"]
    scored = {}
    for inst in form["instruments"]:
        definition = load_yaml(instruments_dir / f"{inst}.yaml")
        codes = item_codes(frame, definition, int(blocks[inst]["first_question"]))
        scored[inst] = score(codes, definition)
    n = len(frame)
    n_items = sum(len(s.codes.columns) for s in scored.values())
    rank = tiers(scored, policy, n)
    lie = validity_fired(scored)
    with np.errstate(invalid="ignore"):
        fast = seconds(frame[form.get("time_column", "所用时间")]) < 2 * n_items
    unknown = (unknown_critical(scored, policy, n)
               if policy.get("unknown_critical_item", "pending_review") == "pending_review"
               else np.zeros(n, dtype=bool))
    met, _ = _critical_answers(scored, policy, n)
    # a positive or unanswered critical item is never hidden behind a retest
    review = np.where(met | unknown, "pending_review",
                      np.where(lie | fast, "retest",
                               np.where(rank > 0, "pending_review", "not_required")))
    ids = frame[_column(frame, form["id_column"])].fillna("").astype(str).str.strip()
    return pd.DataFrame({
        "row": np.arange(n),
        "序号": frame["序号"].astype(int).to_numpy(),
        "submitted": pd.to_datetime(frame["提交答卷时间"], format="%Y/%m/%d %H:%M:%S"),
        "id": ids.to_numpy(),
        "school": frame[_column(frame, form["attributes"]["school"])].to_numpy(),
        "complete": complete_rows(scored),
        "lie_high": lie,
        "too_fast": fast,
        "tier": np.array(TIERS, dtype=object)[rank],
        "review_status": review,
    })


def keep_first_complete(rows: pd.DataFrame) -> pd.Series:
    """True on the row kept for each id: the first complete row, else the first row."""
    order = rows.sort_values(["submitted", "序号"], kind="stable")
    with_id = order[order["id"] != ""]
    first_complete = with_id[with_id["complete"]].groupby("id").head(1)
    fallback = with_id[~with_id["id"].isin(first_complete["id"])].groupby("id").head(1)
    kept = pd.Series(False, index=rows.index)
    kept[first_complete.index] = True
    kept[fallback.index] = True
    return kept


@dataclass
class Recount:
    """Rows of every answers part, the kept row per pupil, and per-school tier counts."""

    rows: pd.DataFrame
    pupils: pd.DataFrame
    school_counts: pd.DataFrame


def recount_wave(wave_file: Path, instruments_dir: Path | None = None) -> Recount:
    """Recount the answers parts of a wave definition (retest parts are left out)."""
    wave_file = Path(wave_file)
    wave = load_yaml(wave_file)
    instruments_dir = instruments_dir or REPO / "instruments"
    ref = str(wave.get("policy", "default"))
    policy_path = wave_file.parent / ref
    if not policy_path.is_file():
        policy_path = instruments_dir / "policies" / f"{ref}.yaml"
    policy = load_yaml(policy_path)
    if wave.get("duplicates", "first_complete") != "first_complete":
        raise ValueError("only the first_complete rule is recounted")
    frames = []
    for part in wave["parts"]:
        if part.get("kind", "answers") != "answers":
            continue
        rows = recount_part(wave_file.parent / part["file"], wave["forms"][part["form"]],
                            policy, instruments_dir)
        rows.insert(0, "part", part["name"])
        rows["kept"] = keep_first_complete(rows).to_numpy()
        frames.append(rows)
    rows = pd.concat(frames, ignore_index=True)
    pupils = rows[rows["kept"]].reset_index(drop=True)
    counts = (pupils.groupby(["school", "tier"]).size().unstack(fill_value=0)
              .reindex(columns=list(TIERS), fill_value=0))
    counts["pupils"] = counts.sum(axis=1)
    return Recount(rows, pupils, counts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="folder written by example-data --district")
    parser.add_argument("--wave", default="wave1.yaml", help="wave definition in the folder")
    parser.add_argument("--json", type=Path, help="write the counts as JSON")
    args = parser.parse_args(argv)
    result = recount_wave(args.folder / args.wave)
    rows = result.rows
    print(f"rows {len(rows)}, pupils kept {len(result.pupils)}, dropped copies "
          f"{int((~rows['kept'] & (rows['id'] != '')).sum())}, rows without id "
          f"{int((rows['id'] == '').sum())}")
    print(result.school_counts.to_string())
    print("review status:", result.pupils["review_status"].value_counts().to_dict())
    if args.json:
        args.json.write_text(json.dumps({
            "school_counts": result.school_counts.to_dict(orient="index"),
            "review_status": result.pupils["review_status"].value_counts().to_dict(),
        }, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
