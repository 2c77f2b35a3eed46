"""Reliable change between consecutive waves (Jacobson & Truax 1991).

For one scale and one pupil with scores ``x1`` (previous wave) and ``x2`` (this wave)::

    SE    = SD * sqrt(1 - r)             standard error of measurement
    Sdiff = sqrt(2 * SE**2)              standard error of the difference
    RCI   = (x2 - x1) / Sdiff            reliable change index

``|RCI| > z`` (1.96: 95%, two-sided) is *reliable* change; its sign says whether the pupil
got worse or better (higher = worse unless the scale is declared ``higher_is_better``).
Source: Jacobson, N. S. & Truax, P. (1991). Clinical significance: a statistical approach to
defining meaningful change in psychotherapy research. J Consult Clin Psychol 59(1), 12-19
(the RC formula with Christensen & Mendoza's (1986) correction, ``Sdiff``). R equivalent:
``clinicalsignificance::cs_distribution(data, id, time, outcome, reliability = r,
rci_method = "JT")`` (which takes the SD of the pre scores), or by hand as above.

*Clinically significant* change (J&T criterion on a declared cut-off): reliable change that
also crosses the scale's cut-off, i.e. screen-positive before and negative now
(``clinically_significant_improvement``) or the reverse
(``clinically_significant_deterioration``). The J&T cut-off points ``a``, ``b`` and ``c``
from a dysfunctional and a functional population are in :func:`jacobson_truax_cutoffs`.

Reliability ``r`` and ``SD`` come from, in order: the value declared in the policy
(``history.change.reliability`` / ``sd``), the instrument's declared test-retest value
(``retest:`` on the scale), the correlation of the scale between the two waves (pupils with
both scores; a test-retest estimate that is conservative when pupils truly change), and the
SD of the first wave in which the scale was scored (J&T use the pre-treatment SD). The
source of each is stated in the output. Screening is not diagnosis: a reliable change says
the difference is larger than measurement error, not why.

Pure functions of DataFrames; no pupil id is logged or put in a message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

__all__ = [
    "CHANGE_STATUS_LABELS",
    "NOT_CUTOFF_TAILS",
    "ChangeParameters",
    "change_parameters",
    "change_scales",
    "jacobson_truax_cutoffs",
    "reliable_change",
    "reliable_change_index",
    "se_difference",
]

#: Statuses and their Chinese / English wording.
CHANGE_STATUS_LABELS: dict[str, tuple[str, str]] = {
    "reliable_improvement": ("可靠好转", "reliable improvement"),
    "no_reliable_change": ("无可靠变化", "no reliable change"),
    "reliable_deterioration": ("可靠恶化", "reliable deterioration"),
    "clinically_significant_improvement": ("有临床意义的好转（跨过划界分）",
                                           "clinically significant improvement (crossed the "
                                           "cut-off)"),
    "clinically_significant_deterioration": ("有临床意义的恶化（跨过划界分）",
                                             "clinically significant deterioration (crossed "
                                             "the cut-off)"),
}

#: Last parts of a ``{scale}.{score}.{tail}`` result column that are not a cut-off flag (the
#: score's answered-item count, proration, band, interval, norm-referenced scores and the
#: two-sided ``high``/``low`` flags); every other tail of a score with ``.n_answered`` is a
#: cut-off. Read by :func:`change_scales` and by the archive's reliable-change population
#: (:mod:`xinli_screen.archive.frames`), which must pick the same columns.
NOT_CUTOFF_TAILS: frozenset[str] = frozenset({"n_answered", "prorated", "band", "lo", "hi",
                                              "t", "z", "percentile", "norm_group", "high",
                                              "low"})
_MIN_PAIRS = 30


def se_difference(sd: float | np.ndarray, reliability: float | np.ndarray) -> np.ndarray:
    """Standard error of the difference of two scores, ``sqrt(2) * SD * sqrt(1 - r)``.

    Parameters
    ----------
    sd : float or array
        Standard deviation of the scale (score units), > 0.
    reliability : float or array
        Reliability in (0, 1).

    Returns
    -------
    ndarray
        ``Sdiff`` in score units; NaN where ``sd`` or ``reliability`` is missing or out of
        range.

    Notes
    -----
    Jacobson & Truax (1991): ``SE = s1 * sqrt(1 - rxx)``, ``Sdiff = sqrt(2 * SE**2)``.
    """
    sd_ = np.asarray(sd, dtype=float)
    r = np.asarray(reliability, dtype=float)
    ok = (sd_ > 0) & (r > 0) & (r < 1)
    with np.errstate(invalid="ignore"):
        return np.where(ok, np.sqrt(2.0) * sd_ * np.sqrt(np.where(ok, 1 - r, np.nan)), np.nan)


def reliable_change_index(x1: np.ndarray | float, x2: np.ndarray | float, sd: float,
                          reliability: float) -> np.ndarray:
    """Jacobson-Truax reliable change index ``(x2 - x1) / Sdiff``.

    Parameters
    ----------
    x1, x2 : array, shape (n,) or float
        Scores at the previous and the current wave (NaN: missing).
    sd, reliability : float
        See :func:`se_difference`.

    Returns
    -------
    ndarray, shape (n,)
        RCI (unitless); NaN where a score, ``sd`` or ``reliability`` is missing.

    Notes
    -----
    R: ``(x2 - x1) / (sqrt(2) * sd * sqrt(1 - r))``.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.asarray(x2, dtype=float) - np.asarray(x1, dtype=float)) / se_difference(
            sd, reliability)


def jacobson_truax_cutoffs(m_dysfunctional: float, sd_dysfunctional: float,
                           m_functional: float, sd_functional: float, *,
                           higher_is_better: bool = False) -> dict[str, float]:
    """The J&T cut-off points between a dysfunctional and a functional population.

    Parameters
    ----------
    m_dysfunctional, sd_dysfunctional : float
        Mean and SD of the dysfunctional (clinical) population.
    m_functional, sd_functional : float
        Mean and SD of the functional (normal) population.
    higher_is_better : bool
        False (default) when a higher score is worse.

    Returns
    -------
    dict
        ``a``: two SDs beyond the dysfunctional mean toward the functional one; ``b``: two SDs
        of the functional population beyond its mean toward the dysfunctional one; ``c``:
        ``(s0 * M1 + s1 * M0) / (s0 + s1)``, the point equally likely under both (J&T 1991,
        criteria a, b, c). R: ``clinicalsignificance`` ``cutoff_type = "a" | "b" | "c"``.
    """
    sign = 1.0 if higher_is_better else -1.0
    a = m_dysfunctional + sign * 2 * sd_dysfunctional
    b = m_functional - sign * 2 * sd_functional
    c = ((sd_functional * m_dysfunctional + sd_dysfunctional * m_functional)
         / (sd_functional + sd_dysfunctional))
    return {"a": float(a), "b": float(b), "c": float(c)}


@dataclass(frozen=True)
class ChangeParameters:
    """What the RCI of one scale used: r and SD with their sources, direction, cut-off."""

    scale: str
    reliability: float | None
    reliability_source: str
    sd: float | None
    sd_source: str
    higher_is_better: bool = False
    cutoff: str | None = None
    n_pairs: int = 0

    @property
    def se_difference(self) -> float | None:
        """``Sdiff`` (score units), or None when r or SD is unknown."""
        if self.reliability is None or self.sd is None:
            return None
        v = float(se_difference(self.sd, self.reliability))
        return None if np.isnan(v) else v

    def as_dict(self) -> dict[str, object]:
        """JSON-ready dict, with ``se_difference``."""
        return {**asdict(self), "se_difference": self.se_difference}


def _is_score(table: pd.DataFrame, col: str) -> bool:
    return f"{col}.n_answered" in table.columns and col.count(".") == 1


def _cutoff_columns(table: pd.DataFrame, scale: str) -> list[str]:
    out = []
    for col in table.columns:
        if col.startswith(scale + ".") and col.count(".") == 2:
            tail = col.rsplit(".", 1)[1]
            if tail in NOT_CUTOFF_TAILS:
                continue
            vals = table[col].dropna()
            if len(vals) and vals.map(lambda v: isinstance(v, (bool, np.bool_))).all():
                out.append(col)
    return out


def change_scales(table: pd.DataFrame, named: Sequence[str] = ()) -> list[str]:
    """Scales followed by default: every scored scale with a cut-off column, plus ``named``.

    Parameters
    ----------
    table : DataFrame
        Stored results (``{instrument}.{scale}`` score columns with ``.n_answered``).
    named : sequence of str
        Scales named by the policy (``history.change.scales``, change conditions).

    Returns
    -------
    list of str
        ``{instrument}.{scale}`` ids present in ``table``, in column order, then ``named``.
    """
    found = [c for c in table.columns if _is_score(table, c) and _cutoff_columns(table, c)]
    return list(dict.fromkeys([*found, *[s for s in named if s in table.columns]]))


def _declared(scale: str) -> tuple[float | None, bool | None, str]:
    """Declared test-retest r and direction from the bundled instrument, if loadable."""
    inst_id, _, scale_id = scale.partition(".")
    try:
        from xinli_screen.instrument.registry import load_instrument

        inst = load_instrument(inst_id)
        spec = inst.scale(scale_id)
    except Exception:
        return None, None, ""
    better = None
    if spec.cutoffs:
        better = all(c.op in ("<", "<=") for c in spec.cutoffs)
    if spec.retest is not None:
        return spec.retest.r, better, f"instrument {inst_id} retest: {spec.retest.source}"
    return None, better, ""


def change_parameters(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    scales: Sequence[str],
    *,
    first_wave: pd.DataFrame | None = None,
    reliability: Mapping[str, float] | None = None,
    sd: Mapping[str, float] | None = None,
    higher_is_better: Sequence[str] = (),
    id_column: str = "pupil_id",
    declared: bool = True,
) -> dict[str, ChangeParameters]:
    """Reliability and SD per scale, each with where it came from.

    Parameters
    ----------
    previous, current : DataFrame
        One row per pupil: ``id_column`` and the ``{instrument}.{scale}`` score columns of the
        previous and the current wave.
    scales : sequence of str
        Scales to describe.
    first_wave : DataFrame, optional
        The first wave in which the scales were scored (for the SD); default ``previous``.
    reliability, sd : mapping scale -> float, optional
        Declared values (policy ``history.change``); they win.
    higher_is_better : sequence of str
        Scales on which a higher score is better (else taken from the instrument's cut-off
        direction, else higher = worse).
    id_column : str
    declared : bool
        Look for a declared ``retest`` in the bundled instrument.

    Returns
    -------
    dict scale -> :class:`ChangeParameters`
        Reliability None when nothing is declared and fewer than 30 pupils have both scores
        (or the between-wave correlation is not in (0, 1)).
    """
    reliability = reliability or {}
    sd = sd or {}
    base = previous if first_wave is None else first_wave
    pairs = (previous[[id_column]].drop_duplicates(id_column)
             .merge(current[[id_column]].drop_duplicates(id_column), on=id_column))
    out: dict[str, ChangeParameters] = {}
    for scale in scales:
        r_decl, better, r_src = _declared(scale) if declared else (None, None, "")
        n_pairs = 0
        if scale in reliability:
            r: float | None = float(reliability[scale])
            r_src = "declared in the policy (history.change.reliability)"
        elif r_decl is not None:
            r = r_decl
        else:
            r, r_src = None, "unknown: no declared value and too few pupils in both waves"
            if scale in previous.columns and scale in current.columns:
                both = (pairs.merge(previous[[id_column, scale]].drop_duplicates(id_column),
                                    on=id_column)
                        .merge(current[[id_column, scale]].drop_duplicates(id_column),
                               on=id_column, suffixes=("_1", "_2")).dropna())
                n_pairs = len(both)
                if n_pairs >= _MIN_PAIRS:
                    rho = float(np.corrcoef(both[f"{scale}_1"].astype(float),
                                            both[f"{scale}_2"].astype(float))[0, 1])
                    if 0 < rho < 1:
                        r = rho
                        r_src = (f"between-wave correlation (test-retest estimate, n = "
                                 f"{n_pairs} pupils in both waves)")
        if scale in sd:
            s: float | None = float(sd[scale])
            s_src = "declared in the policy (history.change.sd)"
        elif scale in base.columns and base[scale].notna().sum() >= 2:
            vals = base[scale].dropna().astype(float)
            s = float(vals.std(ddof=1))
            s_src = f"SD of the first wave (n = {len(vals)})"
        else:
            s, s_src = None, "unknown: no scores"
        cuts = _cutoff_columns(current, scale) if scale in current.columns else []
        cut = (f"{scale}.screen_positive" if f"{scale}.screen_positive" in cuts
               else (cuts[0] if cuts else None))
        hib = scale in higher_is_better or bool(better)
        out[scale] = ChangeParameters(scale, r, r_src, s, s_src, hib, cut, n_pairs)
    return out


def reliable_change(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    parameters: Mapping[str, ChangeParameters],
    *,
    id_column: str = "pupil_id",
    z: float = 1.96,
) -> pd.DataFrame:
    """Reliable change of each pupil of ``current`` since ``previous``.

    Parameters
    ----------
    previous : DataFrame, shape (m, ...)
        The previous wave, one row per pupil: ``id_column``, the score columns and the cut-off
        columns (booleans ``{scale}.{cutoff}``).
    current : DataFrame, shape (n, ...)
        This wave, likewise.
    parameters : mapping scale -> :class:`ChangeParameters`
        From :func:`change_parameters`.
    id_column : str
    z : float
        Criterion for ``|RCI|`` (1.96: two-sided 95%).

    Returns
    -------
    DataFrame, shape (n, 5 * k)
        Aligned with ``current`` (same index), per scale ``s``: ``change.s.previous`` (score
        at the previous wave), ``change.s.diff`` (x2 - x1), ``change.s.rci``,
        ``change.s.status`` (``reliable_improvement`` / ``no_reliable_change`` /
        ``reliable_deterioration``; None when not computable: no previous score, no r or
        SD) and ``change.s.clinical`` (``clinically_significant_improvement`` /
        ``clinically_significant_deterioration`` / None).
    """
    cols: dict[str, np.ndarray | pd.Series] = {}
    ids = current[id_column].astype(object)
    prev = previous.drop_duplicates(id_column).set_index(previous.drop_duplicates(
        id_column)[id_column].astype(object))
    for scale, p in parameters.items():
        key = f"change.{scale}"
        x2 = (pd.to_numeric(current[scale], errors="coerce").to_numpy(dtype=float)
              if scale in current.columns else np.full(len(current), np.nan))
        x1 = (pd.to_numeric(ids.map(prev[scale]), errors="coerce").to_numpy(dtype=float)
              if scale in prev.columns else np.full(len(current), np.nan))
        if p.reliability is None or p.sd is None:
            rci = np.full(len(current), np.nan)
        else:
            rci = reliable_change_index(x1, x2, p.sd, p.reliability)
        worse = -rci if p.higher_is_better else rci
        status = np.full(len(current), None, dtype=object)
        known = ~np.isnan(rci)
        status[known] = "no_reliable_change"
        status[known & (worse > z)] = "reliable_deterioration"
        status[known & (worse < -z)] = "reliable_improvement"
        clinical = np.full(len(current), None, dtype=object)
        if p.cutoff and p.cutoff in current.columns and p.cutoff in prev.columns:
            now = current[p.cutoff].map(lambda v: v is True or v is np.True_).to_numpy()
            before_raw = ids.map(prev[p.cutoff])
            before = before_raw.map(lambda v: v is True or v is np.True_).to_numpy()
            known_before = before_raw.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy()
            clinical[(status == "reliable_improvement") & before & ~now & known_before] = (
                "clinically_significant_improvement")
            clinical[(status == "reliable_deterioration") & ~before & now & known_before] = (
                "clinically_significant_deterioration")
        cols[f"{key}.previous"] = x1
        cols[f"{key}.diff"] = x2 - x1
        cols[f"{key}.rci"] = rci
        cols[f"{key}.status"] = pd.Series(status, index=current.index, dtype=object)
        cols[f"{key}.clinical"] = pd.Series(clinical, index=current.index, dtype=object)
    return pd.DataFrame(cols, index=current.index)
