"""The result of a screening run: per-respondent table, failures, reasons and provenance."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen.policy.models import TIER_ORDER

__all__ = ["STATUSES", "ScreeningResult"]

#: Row statuses, from worst to best; each row gets the first that applies.
STATUSES = {
    "missing_id": "the id column is empty on this row",
    "duplicate_id": "the same id occurs on several rows; every copy is scored and flagged",
    "invalid": "at least one cell is not a valid answer (see failures); it was left unscored",
    "invalid_protocol": "a validity check fired (e.g. lie scale): retest; critical items still "
    "count",
    "no_answers": "no item of any selected instrument was answered",
    "incomplete": "at least one scale has too few answers to be scored",
    "scored": "every scale was scored",
}


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


@dataclass(frozen=True)
class ScreeningResult:
    """Everything one screening run produced.

    Attributes
    ----------
    table : DataFrame, one row per input row, in input order
        Columns: the id column (when given); ``status`` (see :data:`STATUSES`) and
        ``status_detail``; per scale ``{instrument}.{scale}`` (score), ``.n_answered``,
        ``.prorated``, ``.band`` and one boolean column per cut-off; ``critical_items``
        (``;``-joined ids of triggered critical items); ``protocol_valid`` (False when a
        validity check such as a lie scale fired, NA when undecided); ``warning_tier``
        (ordered categorical none < class < school < district); ``warning_label`` (the
        policy's display label);
        ``review_status`` (``pending_review`` when the tier is above none: screening results
        await a psychologist's review, 待复核); ``tier_settled`` (False when a missing answer
        could still raise the tier); ``reasons`` (fired rules with values and thresholds);
        ``reason_codes`` (``;``-joined rule ids).
    failures : DataFrame
        One row per bad cell or id problem: ``row`` (0-based position in ``table``), ``id``,
        ``item``, ``column``, ``code``, ``value``.
    reasons : DataFrame
        Long form of the reasons: ``row``, ``id``, ``rule``, ``kind``, ``tier``, ``reason_zh``,
        ``reason_en``.
    provenance : dict
        Instrument ids, versions and SHA-256 content hashes; policy id, version and hash;
        package version; time (UTC); inputs and options. JSON-serialisable.
    """

    table: pd.DataFrame
    failures: pd.DataFrame
    reasons: pd.DataFrame
    provenance: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        """Counts for a short report: rows, per status, per tier, failures by code.

        ``failures`` counts bad cells and ids by code; ``notes`` the notes on unanswered
        critical items (``critical-blank`` ...; :data:`~xinli_screen.responses.NOTE_CODES`),
        which are not data problems; ``critical_unknown`` the rows with a critical item
        whose answer is unknown.
        """
        from xinli_screen.responses import NOTE_CODES

        tiers = self.table["warning_tier"].value_counts()
        codes = self.failures["code"].value_counts()
        unknown = (self.table["critical_unknown"].fillna("").astype(str) != ""
                   if "critical_unknown" in self.table.columns else pd.Series([], dtype=bool))
        return {
            "rows": len(self.table),
            "status": {s: int((self.table["status"] == s).sum()) for s in STATUSES},
            "warning_tier": {t: int(tiers.get(t, 0)) for t in TIER_ORDER},
            "failures": {str(k): int(v) for k, v in codes.items() if k not in NOTE_CODES},
            "notes": {str(k): int(v) for k, v in codes.items() if k in NOTE_CODES},
            "critical_unknown": int(unknown.sum()),
            "tier_not_settled": int((~self.table["tier_settled"]).sum()),
        }

    def to_records(self) -> list[dict[str, Any]]:
        """The table as a list of JSON-ready dicts (NaN/NA -> None)."""
        records = self.table.astype(object).to_dict(orient="records")
        return [{k: _json_value(v) for k, v in r.items()} for r in records]

    def to_json(self, **kwargs: Any) -> str:
        """JSON text with ``table``, ``failures``, ``reasons`` and ``provenance``."""
        def frame(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: _json_value(v) for k, v in r.items()}
                    for r in df.astype(object).to_dict(orient="records")]
        payload = {"table": self.to_records(), "failures": frame(self.failures),
                   "reasons": frame(self.reasons), "provenance": self.provenance}
        return json.dumps(payload, ensure_ascii=False, **kwargs)

    def _repr_html_(self) -> str:
        s = self.summary()
        head = ", ".join(f"{k}: {v}" for k, v in s["warning_tier"].items())
        return (f"<p><b>ScreeningResult</b>: {s['rows']} rows; tiers {head}; "
                f"{len(self.failures)} failures</p>" + self.table.head(20).to_html())

    @property
    def plot(self) -> Any:
        """Plots of this result (:class:`xinli_screen.plotting.ResultPlots`; needs matplotlib).

        ``result.plot.distribution(by="phq9.functioning.band")`` draws the score distribution
        per group, ``result.plot.tiers(by=...)`` the warning tiers; both return a matplotlib
        Figure.
        """
        from xinli_screen.plotting import ResultPlots

        return ResultPlots(self)
