"""McDonald's omega from a Schmid-Leiman solution (psych::omega)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen._analysis import ItemSet, MiskeyedItemsWarning, check_missing, prepare
from xinli_screen._analysis_results import ResultMixin, ScaleResults, run_sets
from xinli_screen._moments import smc
from xinli_screen.factor._common import FactorFitWarning, _correlation
from xinli_screen.factor.extraction import _check_factors, degrees_of_freedom
from xinli_screen.factor.schmid import schmid_leiman
from xinli_screen.reliability.alpha import _keyed_label
from xinli_screen.reliability.keys import InstrumentArg
from xinli_screen.reliability.polychoric import ordinal_categories, polychoric_of


@dataclass(frozen=True, eq=False)
class OmegaResult(ResultMixin):
    """McDonald's omega (total and hierarchical) from a Schmid-Leiman solution.

    Attributes
    ----------
    omega_total : float
        :math:`1 - \\sum u_j^2 / V_t`, :math:`V_t = \\mathbf{1}'R\\mathbf{1}` (psych
        ``omega.tot``).
    omega_hierarchical : float
        :math:`(\\sum_j g_j)^2 / V_t` (psych ``omega_h``). With one factor it equals the
        one-factor omega and is not a hierarchical coefficient.
    omega_limit : float
        :math:`(\\sum g_j)^2 / (V_t - \\sum u_j^2)`, omega_h of an infinitely long test
        (psych ``omega.lim``).
    alpha : float
        Standardised alpha from the same correlation matrix (psych ``alpha`` in omega).
    lambda6 : float
        Guttman's lambda-6 from the same matrix.
    ecv : float
        Explained common variance of the general factor (psych ``ECV``).
    n_factors : int
        Number of group factors.
    method : str
        First-order extraction ("minres").
    rotation : str
        "oblimin" (first-order factors before the Schmid-Leiman transformation).
    n_obs, n_rows, n_items : int
    missing : {"pairwise", "listwise"}
    items, reversed_items : tuple of str
    group, scale : optional labels
    warnings : tuple of str
    correlation : {"pearson", "polychoric"}
        ``"polychoric"`` with ``ordinal=True`` (R ``omega(x, poly = TRUE)``).
    loadings : DataFrame
        Schmid-Leiman loadings, one row per item: ``item``, ``g``, ``F1`` ... ``Fm`` (group
        factors, general factor removed), ``h2``, ``u2``, ``p2`` (= g^2 / h2).
    factor_correlations : DataFrame
        Correlations of the oblimin first-order factors: ``factor``, ``F1`` ... ``Fm``, and
        ``g_loading`` (loading of each first-order factor on the general factor).
    """

    omega_total: float
    omega_hierarchical: float
    omega_limit: float
    alpha: float
    lambda6: float
    ecv: float
    n_factors: int
    method: str
    rotation: str
    n_obs: int
    n_rows: int
    n_items: int
    missing: str
    items: tuple[str, ...]
    reversed_items: tuple[str, ...]
    group: Any = None
    scale: str | None = None
    warnings: tuple[str, ...] = ()
    correlation: str = "pearson"
    loadings: pd.DataFrame = field(default_factory=pd.DataFrame)
    factor_correlations: pd.DataFrame = field(default_factory=pd.DataFrame)

    _title = "McDonald's omega"
    _not_scalars = ("items",)


def _warn_heywood(s: ItemSet, sl: dict[str, np.ndarray]) -> tuple[str, ...]:
    """Warn on an improper (ultra-Heywood) solution, as psych::fa does ("An ultra-Heywood case
    was detected"): a first-order factor loading above 1 on the general factor, or an item
    communality above 1. Schmid-Leiman then sets ``1 - gload^2`` below zero, the group
    loadings of that factor are clipped to 0 and omega_h is inflated."""
    out = []
    gload = np.abs(sl["gload"])
    over = [(f"F{j + 1}", float(gload[j])) for j in np.flatnonzero(gload > 1)]
    if over:
        listed = ", ".join(f"{f} loads {v:.3f}" for f, v in over)
        out.append(f"mcdonald_omega for {s.label}: the higher-order solution is degenerate "
                   f"(ultra-Heywood case, as R psych warns): on the general factor {listed}, "
                   "above 1, so its group loadings were set to 0 and omega_hierarchical is "
                   "not trustworthy; try fewer group factors (n_factors) or check the items")
    h2 = sl["h2"]
    high = [(s.items[j], float(h2[j])) for j in np.flatnonzero(h2 > 1)]
    if high:
        listed = ", ".join(f"{i} (h2 {v:.3f})" for i, v in high)
        out.append(f"mcdonald_omega for {s.label}: ultra-Heywood case, communality above 1 "
                   f"for {listed}; the first-order solution is improper")
    for msg in out:
        warnings.warn(FactorFitWarning(msg), stacklevel=5)
    return tuple(out)


def _omega_one(s: ItemSet, n_factors: int, categories: Sequence[float] | None = None
               ) -> OmegaResult:
    _check_factors(n_factors, s.n_items, "mcdonald_omega")
    poly_msgs: tuple[str, ...] = ()
    if categories is not None:  # ordinal omega: psych::omega(x, poly = TRUE)
        poly = polychoric_of(s, categories, "mcdonald_omega")
        r, poly_msgs = poly["rho"], poly["warnings"]
    else:
        r, _ = _correlation(s, "mcdonald_omega")
    k = s.n_items
    if degrees_of_freedom(k, n_factors) < 0:
        warnings.warn(FactorFitWarning(
            f"mcdonald_omega for {s.label}: {n_factors} factors for {k} items leave negative "
            "degrees of freedom; the first-order solution is not identified (use fewer "
            "factors, e.g. n_factors=1 for a short unidimensional scale)"), stacklevel=4)
    sl = schmid_leiman(r, n_factors)
    g, u2 = sl["g"], sl["u2"]
    vt = float(r.sum())
    gsq = float(g.sum()) ** 2
    msgs: tuple[str, ...] = ()
    neg = [(s.items[j], float(g[j])) for j in np.flatnonzero(g < 0)]
    if neg:
        listed = ", ".join(f"{i} (g {v:.3f}, {_keyed_label(s, i)})" for i, v in neg)
        msg = (f"{s.label}: item(s) load negatively on the general factor: {listed}; omega_h "
               "adds loadings, so a miskeyed item lowers it. Check the keys (keys=[...] or "
               "reverse_keyed in the instrument)")
        warnings.warn(MiskeyedItemsWarning(msg, [i for i, _ in neg]), stacklevel=4)
        msgs = (msg,)
    msgs = (*poly_msgs, *msgs, *_warn_heywood(s, sl))
    names = [f"F{j + 1}" for j in range(n_factors)]
    table = pd.DataFrame({"item": list(s.items), "g": g})
    for j, name in enumerate(names):
        table[name] = sl["group"][:, j]
    table["h2"] = sl["h2"]
    table["u2"] = u2
    with np.errstate(invalid="ignore", divide="ignore"):
        table["p2"] = g ** 2 / sl["h2"]
    fc = pd.DataFrame(sl["phi"], columns=names)
    fc.insert(0, "factor", names)
    fc["g_loading"] = sl["gload"]
    ev = (g ** 2).sum() + (sl["group"] ** 2).sum()
    return OmegaResult(
        omega_total=(vt - float(u2.sum())) / vt, omega_hierarchical=gsq / vt,
        omega_limit=gsq / (vt - float(u2.sum())),
        alpha=(vt - k) / vt * k / (k - 1),
        lambda6=(vt + float(smc(r).sum()) - k) / vt,
        ecv=float((g ** 2).sum() / ev), n_factors=n_factors, method="minres",
        rotation="oblimin", n_obs=s.n_obs, n_rows=s.n_rows, n_items=k, missing=s.missing,
        items=s.items,
        reversed_items=tuple(i for i, kk in zip(s.items, s.keys, strict=True) if kk < 0),
        group=s.group, scale=s.scale, warnings=msgs,
        correlation="pearson" if categories is None else "polychoric", loadings=table,
        factor_correlations=fc)


def mcdonald_omega(items: Any, n_factors: int = 3, keys: Any = None,
                   missing: str = "pairwise", *,
                   scale_range: tuple[float, float] | None = None,
                   instrument: InstrumentArg = None, scales: Sequence[str] | None = None,
                   by: str | None = None, ordinal: bool = False) -> OmegaResult | ScaleResults:
    """McDonald's omega total and hierarchical (Schmid-Leiman), as psych::omega.

    Parameters
    ----------
    items : DataFrame, shape (n_respondents, n_items)
        As :func:`cronbach_alpha`.
    n_factors : int
        Number of group factors of the first-order solution (psych's default 3). Use 1 for
        a short unidimensional scale; then ``omega_hierarchical`` is the one-factor omega.
    keys, missing, scale_range, instrument, scales, by
        As :func:`cronbach_alpha`. Keys are applied to the data before the correlations,
        so omega and alpha use identical keying (unlike psych's automatic ``flip``, which is
        not reproduced: nothing is reversed unless declared).
    ordinal : bool
        Ordinal omega from the polychoric matrix (R ``psych::omega(x, poly = TRUE)``), for
        items declared ordinal; non-category answers are refused as in
        :func:`xinli_screen.reliability.polychoric`.

    Returns
    -------
    OmegaResult, or ScaleResults when ``by`` or ``instrument`` is given.

    Raises
    ------
    AnalysisError
        ``n_factors`` not below the number of items, an unusable correlation matrix (see
        :func:`xinli_screen.factor.kmo`), and the errors of :func:`cronbach_alpha`.

    Warns
    -----
    MiskeyedItemsWarning
        Items with a negative general-factor loading.
    FactorFitWarning
        Negative degrees of freedom or a non-converged first-order solution.

    Notes
    -----
    Correlations are Pearson correlations, pairwise (each from the respondents answering
    both items, as R ``cor(use = "pairwise")``) or listwise. First-order factors: minres,
    oblimin; second order and Schmid-Leiman transformation as psych::schmid (see
    :func:`xinli_screen.factor.schmid_leiman`). With :math:`V_t` the sum of all correlations,

    .. math:: \\omega_t = 1 - \\frac{\\sum_j u_j^2}{V_t},\\qquad
              \\omega_h = \\frac{(\\sum_j g_j)^2}{V_t}.

    References
    ----------
    .. [1] McDonald RP. Test Theory: A Unified Treatment. Lawrence Erlbaum; 1999.
    .. [2] Schmid J, Leiman JM. The development of hierarchical factor solutions.
       Psychometrika. 1957;22(1):53-61. doi:10.1007/BF02289209
    .. [3] Zinbarg RE, Revelle W, Yovel I, Li W. Cronbach's alpha, Revelle's beta, and
       McDonald's omega_H. Psychometrika. 2005;70(1):123-133. doi:10.1007/s11336-003-0974-7

    Examples
    --------
    >>> # R: psych::omega(bfi[1:5], nfactors = 1, key = c(-1, 1, 1, 1, 1))$omega.tot  # 0.7229
    >>> # mcdonald_omega(bfi[["A1", ..., "A5"]], 1, keys=["A1"], scale_range=(1, 6))
    """
    check_missing(missing)
    categories = ordinal_categories(items, instrument, by) if ordinal else None
    prepared = prepare(items, keys=keys, scale_range=scale_range, instrument=instrument,
                       scales=scales, by=by, missing=missing)
    return run_sets(prepared, lambda s: _omega_one(s, n_factors, categories),
                    "mcdonald_omega")


