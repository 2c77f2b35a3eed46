"""The combined protocol-validity screen (:func:`careless_screen`), thresholds and reasons."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from xinli_screen.errors import XinliScreenWarning
from xinli_screen.validity._common import (
    CarelessIndexError,
    _matrix,
)
from xinli_screen.validity.consistency import even_odd, psychant, psychsyn
from xinli_screen.validity.distance import mahalanobis
from xinli_screen.validity.moments import ItemMoments
from xinli_screen.validity.sequences import irv, longstring
from xinli_screen.validity.timing import parse_duration

# --------------------------------------------------------------------------- combined screen

#: Default thresholds of :func:`careless_screen`. ``None`` switches a check off (the index is
#: still reported). See :data:`THRESHOLD_SOURCES` for where each value comes from.
DEFAULT_THRESHOLDS: dict[str, float | None] = {
    "longstring_fraction": 0.5,
    "longstring_run": None,
    "irv_below": None,
    "irv_above": None,
    "mahalanobis_confidence": 0.99,
    "even_odd_above": None,
    "psychsyn_critval": 0.60,
    "psychsyn_below": None,
    "psychant_critval": -0.60,
    "psychant_above": None,
    "seconds_per_item": 2.0,
    "min_seconds": None,
}

#: Where each default comes from, and whether it is a published value or a choice of ours.
THRESHOLD_SOURCES: dict[str, str] = {
    "longstring_fraction": "invalid when longstring >= fraction x n_items; 0.5 follows the rule "
    "of thumb attributed to Curran (2016): a run of identical answers at least half as long "
    "as the questionnaire. A convention, not a validated cut-off: review it for your "
    "questionnaire.",
    "longstring_run": "invalid when longstring >= this many items (overrides the fraction). "
    "No default: Johnson (2005) derived run cut-offs from the distribution in his own sample.",
    "irv_below": "invalid when IRV < value (straight-lining; Dunn et al. 2018). No default: no "
    "published general cut-off.",
    "irv_above": "invalid when IRV > value (random answering; Marjanovic et al. 2015). No "
    "default: no published general cut-off.",
    "mahalanobis_confidence": "invalid when D² > chi-square(df = n_items) quantile at this "
    "confidence; 0.99 = R careless mahad default (Meade & Craig 2012 recommend D² among the "
    "indices to use).",
    "even_odd_above": "invalid when even_odd > value (higher = more careless, careless >= "
    "1.2.1). No default; the often-quoted consistency < .30 (Johnson 2005) is even_odd_above "
    "= -0.30.",
    "psychsyn_critval": "item pairs with r > critval are synonyms; 0.60 = R careless default "
    "(Meade & Craig 2012).",
    "psychsyn_below": "invalid when psychsyn < value. No default: no published general "
    "cut-off.",
    "psychant_critval": "item pairs with r < critval are antonyms; -0.60 = R careless default.",
    "psychant_above": "invalid when psychant > value. No default: no published general "
    "cut-off.",
    "seconds_per_item": "too fast when the completion time < seconds_per_item x n_items; 2 s "
    "per item after Huang et al. (2012). Used only when response times are given.",
    "min_seconds": "too fast when the completion time < this many seconds (overrides "
    "seconds_per_item).",
}

_TEXT = {
    "longstring": {
        "zh": "最长连续相同作答 {v} 题，达到阈值 {t} 题",
        "en": "longest run of identical answers {v} >= {t} items"},
    "irv_below": {"zh": "作答变异度 IRV {v} 低于 {t}", "en": "IRV {v} < {t}"},
    "irv_above": {"zh": "作答变异度 IRV {v} 高于 {t}", "en": "IRV {v} > {t}"},
    "mahalanobis": {
        "zh": "马氏距离 D²={v} 超过卡方({df}) 的 {c} 分位数 {t}",
        "en": "Mahalanobis D² {v} > chi-square({df}) {c} quantile {t}"},
    "even_odd": {"zh": "奇偶一致性指标 {v} 高于 {t}（越高越可能随意作答）",
                 "en": "even-odd index {v} > {t} (higher = more careless)"},
    "psychsyn": {"zh": "心理同义题一致性 {v} 低于 {t}", "en": "psychometric synonyms r {v} < {t}"},
    "psychant": {"zh": "心理反义题一致性 {v} 高于 {t}", "en": "psychometric antonyms r {v} > {t}"},
    "too_fast": {"zh": "作答用时 {v} 秒，少于 {t} 秒", "en": "completion time {v} s < {t} s"},
    "missing": {"zh": "无法计算{name}", "en": "{name} not computable"},
}
_NAMES = {
    "longstring": {"zh": "最长连续相同作答", "en": "longstring"},
    "irv_below": {"zh": "作答变异度 IRV", "en": "IRV"},
    "irv_above": {"zh": "作答变异度 IRV", "en": "IRV"},
    "mahalanobis": {"zh": "马氏距离", "en": "Mahalanobis D²"},
    "even_odd": {"zh": "奇偶一致性指标", "en": "even-odd index"},
    "psychsyn": {"zh": "心理同义题一致性", "en": "psychometric synonyms"},
    "psychant": {"zh": "心理反义题一致性", "en": "psychometric antonyms"},
    "too_fast": {"zh": "作答用时", "en": "completion time"},
}
_CODES = {
    "longstring": "careless-longstring", "irv_below": "careless-irv-low",
    "irv_above": "careless-irv-high", "mahalanobis": "careless-mahalanobis",
    "even_odd": "careless-even-odd", "psychsyn": "careless-psychsyn",
    "psychant": "careless-psychant", "too_fast": "careless-too-fast",
}


def _resolve_thresholds(thresholds: Mapping[str, Any] | None) -> dict[str, float | None]:
    given = dict(thresholds or {})
    unknown = sorted(set(given) - set(DEFAULT_THRESHOLDS))
    if unknown:
        raise ValueError(f"careless_screen: unknown threshold(s) {unknown}; known: "
                         f"{sorted(DEFAULT_THRESHOLDS)}")
    out = {**DEFAULT_THRESHOLDS, **given}
    for key, value in out.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise ValueError(f"careless_screen: threshold {key!r} must be a number or None; "
                             f"got {value!r}")
    fraction, confidence = out["longstring_fraction"], out["mahalanobis_confidence"]
    if fraction is not None and not 0.0 < fraction <= 1.0:
        raise ValueError("careless_screen: threshold 'longstring_fraction' must be in (0, 1]; "
                         f"got {fraction!r}")
    if confidence is not None and not 0.0 < confidence < 1.0:
        raise ValueError("careless_screen: threshold 'mahalanobis_confidence' must be in "
                         f"(0, 1); got {confidence!r}")
    for key in ("psychsyn_critval", "psychant_critval"):
        if out[key] is None:
            raise ValueError(f"careless_screen: {key!r} is a parameter of the index, not a "
                             "check, and cannot be None; switch the check off with "
                             f"{key.replace('critval', 'below' if 'syn' in key else 'above')!r}"
                             " = None")
    for key in ("seconds_per_item", "min_seconds", "longstring_run"):
        if out[key] is not None and not out[key] > 0:
            raise ValueError(f"careless_screen: threshold {key!r} must be positive; "
                             f"got {out[key]!r}")
    return out


def _fmt(values: np.ndarray, digits: int) -> np.ndarray:
    return np.array([f"{v:.{digits}f}" for v in values], dtype=object)


def careless_screen(
    items: pd.DataFrame,
    thresholds: Mapping[str, float | None] | None = None,
    *,
    factors: Sequence[int] | None = None,
    keyed: pd.DataFrame | None = None,
    response_times: pd.Series | None = None,
    lang: str = "zh",
    moments: ItemMoments | None = None,
) -> pd.DataFrame:
    """Careless-responding indices, per-check decisions and a protocol-validity verdict.

    Parameters
    ----------
    items : DataFrame, shape (n_respondents, n_items)
        Numeric codes in presentation order, NaN = missing, not reverse keyed.
    thresholds : mapping, optional
        Overrides of :data:`DEFAULT_THRESHOLDS` (unknown keys are an error); ``None``
        switches a check off. Defaults and their sources: :data:`THRESHOLD_SOURCES`.
    factors : sequence of int, optional
        Scale lengths for :func:`even_odd`; without it even-odd is not computed.
    keyed : DataFrame, optional
        The same answers after reverse keying (e.g. :func:`xinli_screen.reverse_key`), same
        index and columns as ``items``; used for even-odd only, which needs every scale keyed
        in one direction. Default: ``items`` (right only when no item is reverse keyed).
        The other indices use the answers as given: antonym pairs exist only before keying,
        and runs of identical answers are runs of identical marks on the form.
    response_times : Series, optional
        Completion times aligned to ``items.index`` (numbers in seconds or text such as
        ``"2分3秒"``, see :func:`parse_duration`); without it no time check is made.
    lang : {"zh", "en"}, default "zh"
        Language of ``validity_reasons``.
    moments : ItemMoments, optional
        Moments of the whole sample when ``items`` is one batch of it (a streamed run: pass 1
        merges :meth:`ItemMoments.of` over the batches, pass 2 screens each batch with the
        merged moments). D², the synonym and antonym pairs then come from the whole sample,
        so every row gets what it gets in one run; longstring, IRV, even-odd and the time
        check are per row anyway.

    Returns
    -------
    DataFrame, one row per respondent, same index as ``items``
        ``longstring`` (Int64), ``avgstr``, ``irv``, ``mahalanobis_d2`` (float), and when
        computable ``even_odd`` (with ``factors``), ``psychsyn``, ``psychant`` (float, all NaN
        when the data set has no synonym/antonym pairs); with response times
        ``response_seconds`` (float) and, unless the time check is off, ``too_fast``
        (boolean); then

        - ``protocol_valid`` (pandas ``boolean``): False when any active check fires; True
          when every active check was computed and none fired; NA when none fired but at
          least one active check could not be computed for the respondent (e.g. no answers,
          unparseable time).
        - ``validity_reasons`` (str): each fired check with its value and threshold, and each
          active check that could not be computed, joined with "; " ("" when none).
        - ``validity_reason_codes`` (str): ";"-joined stable codes (``careless-longstring``,
          ``careless-irv-low``, ``careless-irv-high``, ``careless-mahalanobis``,
          ``careless-even-odd``, ``careless-psychsyn``, ``careless-psychant``,
          ``careless-too-fast``; ``…:not-computable`` for an undecided check).

        ``result.attrs["thresholds"]`` holds the thresholds used and ``result.attrs["notes"]``
        the indices that could not be computed for the data set as a whole.

    Warns
    -----
    XinliScreenWarning
        An active check cannot be computed for the data set (no synonym pairs, singular
        covariance matrix); it is skipped and named in ``attrs["notes"]``.

    Notes
    -----
    Decisions (value compared with threshold *t*): longstring >= *t* (``longstring_run``,
    else ``longstring_fraction`` x n_items); IRV < ``irv_below``; IRV > ``irv_above``;
    D² > :math:`\\chi^2_{conf}(n_{items})`; even_odd > ``even_odd_above``; psychsyn <
    ``psychsyn_below``; psychant > ``psychant_above``; time < ``min_seconds`` (else
    ``seconds_per_item`` x n_items).

    A failed check means the protocol should be looked at or retaken, not that the pupil is
    well: critical items (self-harm) must still be acted on. The indices assume a long
    questionnaire with several scales; on a short one-directional symptom scale, all-equal
    answers are plausible and longstring/D² must not be used to discard protocols.

    References
    ----------
    .. [1] Curran, P. G. (2016). Methods for the detection of carelessly invalid responses in
       survey data. *Journal of Experimental Social Psychology, 66*, 4-19.
       https://doi.org/10.1016/j.jesp.2015.07.006
    .. [2] Meade, A. W., & Craig, S. B. (2012). Identifying careless responses in survey data.
       *Psychological Methods, 17*(3), 437-455. https://doi.org/10.1037/a0028085
    .. [3] Huang, J. L., Curran, P. G., Keeney, J., Poposki, E. M., & DeShon, R. P. (2012).
       Detecting and deterring insufficient effort responding to surveys. *Journal of
       Business and Psychology, 27*(1), 99-114. https://doi.org/10.1007/s10869-011-9231-8
    """
    if lang not in ("zh", "en"):
        raise ValueError(f"the lang parameter of careless_screen must be 'zh' or 'en'; "
                         f"got {lang!r}")
    t = _resolve_thresholds(thresholds)
    if t["even_odd_above"] is not None and factors is None:
        raise ValueError("careless_screen: threshold 'even_odd_above' is set but factors is "
                         "not given; pass the scale lengths (factors=[...]) or drop the "
                         "threshold")
    x = _matrix(items, "careless_screen")
    n, p = x.shape
    idx = items.index
    notes: list[str] = []
    out = pd.DataFrame(index=idx)
    out["longstring"] = longstring(items)
    out["avgstr"] = longstring(items, average=True)
    out["irv"] = irv(items)

    def attempt(name: str, active: bool, compute: Any) -> Any:
        try:
            return compute()
        except CarelessIndexError as exc:
            notes.append(str(exc))
            if active:
                warnings.warn(f"careless_screen: check {name!r} skipped: {exc}",
                              XinliScreenWarning, stacklevel=3)
            return None

    maha = attempt("mahalanobis", t["mahalanobis_confidence"] is not None,
                   lambda: mahalanobis(items, moments=moments))
    out["mahalanobis_d2"] = np.nan if maha is None else maha["mahalanobis_d2"]
    if factors is not None:
        if keyed is not None and not (isinstance(keyed, pd.DataFrame)
                                      and keyed.index.equals(idx)
                                      and list(keyed.columns) == list(items.columns)):
            raise ValueError("careless_screen: keyed must be a DataFrame with the same index "
                             "and columns as items")
        out["even_odd"] = even_odd(items if keyed is None else keyed, factors)
    syn = attempt("psychsyn", t["psychsyn_below"] is not None,
                  lambda: psychsyn(items, t["psychsyn_critval"], moments=moments))
    out["psychsyn"] = np.nan if syn is None else syn
    ant = attempt("psychant", t["psychant_above"] is not None,
                  lambda: psychant(items, t["psychant_critval"], moments=moments))
    out["psychant"] = np.nan if ant is None else ant
    times = None
    limit = t["min_seconds"] if t["min_seconds"] is not None else (
        t["seconds_per_item"] * p if t["seconds_per_item"] is not None else None)
    if response_times is not None:
        if not isinstance(response_times, pd.Series) or not response_times.index.equals(idx):
            raise ValueError("careless_screen: response_times must be a Series with the same "
                             "index as items")
        times = parse_duration(response_times)
        out["response_seconds"] = times["seconds"].to_numpy()
        if limit is not None:
            sec = out["response_seconds"].to_numpy()
            with np.errstate(invalid="ignore"):
                fast = sec < limit
            out["too_fast"] = pd.array(np.where(np.isnan(sec), None, fast), dtype="boolean")

    # (check, values, fired mask, threshold as shown, digits of the value, extra text fields)
    checks: list[tuple[str, np.ndarray, np.ndarray, str, int, dict[str, str]]] = []
    ls = out["longstring"].to_numpy(dtype=float, na_value=np.nan)
    run = t["longstring_run"] if t["longstring_run"] is not None else (
        t["longstring_fraction"] * p if t["longstring_fraction"] is not None else None)
    with np.errstate(invalid="ignore"):
        if run is not None:
            checks.append(("longstring", ls, ls >= run, f"{run:g}", 0, {}))
        v = out["irv"].to_numpy()
        if t["irv_below"] is not None:
            checks.append(("irv_below", v, v < t["irv_below"], f"{t['irv_below']:g}", 3, {}))
        if t["irv_above"] is not None:
            checks.append(("irv_above", v, v > t["irv_above"], f"{t['irv_above']:g}", 3, {}))
        if t["mahalanobis_confidence"] is not None and maha is not None:
            v = out["mahalanobis_d2"].to_numpy()
            cut = stats.chi2.ppf(t["mahalanobis_confidence"], df=p)
            checks.append(("mahalanobis", v, v > cut, f"{cut:.1f}", 1,
                           {"df": str(p), "c": f"{t['mahalanobis_confidence']:g}"}))
        if t["even_odd_above"] is not None and "even_odd" in out:
            v = out["even_odd"].to_numpy()
            checks.append(("even_odd", v, v > t["even_odd_above"], f"{t['even_odd_above']:g}",
                           2, {}))
        if t["psychsyn_below"] is not None and syn is not None:
            v = out["psychsyn"].to_numpy()
            checks.append(("psychsyn", v, v < t["psychsyn_below"], f"{t['psychsyn_below']:g}",
                           2, {}))
        if t["psychant_above"] is not None and ant is not None:
            v = out["psychant"].to_numpy()
            checks.append(("psychant", v, v > t["psychant_above"], f"{t['psychant_above']:g}",
                           2, {}))
        if times is not None and limit is not None:
            v = out["response_seconds"].to_numpy()
            checks.append(("too_fast", v, v < limit, f"{limit:g}", 0, {}))

    fired_any = np.zeros(n, dtype=bool)
    undecided = np.zeros(n, dtype=bool)
    reasons = np.full(n, "", dtype=object)
    codes = np.full(n, "", dtype=object)

    def append(target: np.ndarray, mask: np.ndarray, text: np.ndarray | str, sep: str) -> None:
        joined = np.where(target[mask] == "", text, target[mask] + sep + text)
        target[mask] = joined

    for key, value, fired, shown, digits, extra in checks:
        fired = np.asarray(fired, dtype=bool) & ~np.isnan(value)
        unknown = np.isnan(value)
        fired_any |= fired
        undecided |= unknown
        if fired.any():
            template = _TEXT[key][lang]
            vals = _fmt(value[fired], digits)
            text = np.array([template.format(v=v, t=shown, **extra) for v in vals], dtype=object)
            append(reasons, fired, text, "; ")
            append(codes, fired, _CODES[key], ";")
        if unknown.any():
            text = _TEXT["missing"][lang].format(name=_NAMES[key][lang])
            append(reasons, unknown, text, "; ")
            append(codes, unknown, _CODES[key] + ":not-computable", ";")
    valid = np.where(fired_any, False, np.where(undecided, None, True))
    out["protocol_valid"] = pd.array(valid, dtype="boolean")
    out["validity_reasons"] = reasons
    out["validity_reason_codes"] = codes
    out.attrs["thresholds"] = t
    out.attrs["notes"] = notes
    return out
