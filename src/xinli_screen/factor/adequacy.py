"""Sampling adequacy before a factor analysis: KMO (psych::KMO) and Bartlett's test
(psych::cortest.bartlett)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from xinli_screen._analysis import ItemSet, prepare
from xinli_screen._analysis_results import ResultMixin, ScaleResults, run_sets
from xinli_screen.factor._common import _correlation
from xinli_screen.instrument.models import Instrument


@dataclass(frozen=True, eq=False)
class KMOResult(ResultMixin):
    """Kaiser-Meyer-Olkin measure of sampling adequacy.

    Attributes
    ----------
    msa : float
        Overall MSA, 0-1 (Kaiser 1974: >= .9 marvellous, .8 meritorious, .7 middling,
        .6 mediocre, .5 miserable, < .5 unacceptable).
    n_obs, n_items : int
    missing : {"pairwise", "listwise"}
    group, scale : optional labels of a grouped / instrument analysis
    items : DataFrame
        One row per item: ``item`` (str), ``msa`` (float, per-item MSA).
    """

    msa: float
    n_obs: int
    n_items: int
    missing: str
    group: Any = None
    scale: str | None = None
    items: pd.DataFrame = field(default_factory=pd.DataFrame)

    _title = "Kaiser-Meyer-Olkin MSA"


@dataclass(frozen=True, eq=False)
class BartlettResult(ResultMixin):
    """Bartlett's test that the population correlation matrix is the identity.

    Attributes
    ----------
    chi_square : float
        :math:`-\\left(n - 1 - \\frac{2p + 5}{6}\\right) \\ln |R|`.
    df : int
        :math:`p(p - 1)/2`.
    p_value : float
    n_obs, n_items : int
    missing : {"pairwise", "listwise"}
    """

    chi_square: float
    df: int
    p_value: float
    n_obs: int
    n_items: int
    missing: str
    group: Any = None
    scale: str | None = None

    _title = "Bartlett's test of sphericity"


def kmo(items: Any, *, missing: str = "pairwise", instrument: str | Path | Instrument |
        None = None, scales: Sequence[str] | None = None, by: str | None = None
        ) -> KMOResult | ScaleResults:
    """Kaiser-Meyer-Olkin measure of sampling adequacy (overall and per item).

    Parameters
    ----------
    items : DataFrame, shape (n_respondents, n_items)
        Numeric codes, NaN = missing. Every column except ``by`` is an item (with an
        instrument: its item columns; other columns are ignored).
    missing : {"pairwise", "listwise"}
        Correlations from pair-complete respondents (as psych) or complete respondents only.
    instrument : str, Path or Instrument, optional
        Use the instrument's items (all of them, or those of ``scales``), reverse keyed as
        declared (the MSA itself does not depend on keying).
    scales : sequence of str, optional
        Scale ids of ``instrument`` whose items are analysed together.
    by : str, optional
        Column to group by; one row per group in the returned table.

    Returns
    -------
    KMOResult, or ScaleResults when ``by`` or ``instrument`` is given.

    Raises
    ------
    AnalysisError
        Fewer than 2 items or 3 respondents, an item without variance, a pair never answered
        together, or a singular / non-positive-definite correlation matrix (psych silently
        falls back to the correlation matrix itself; this function refuses instead).
    ResponseDataError
        Non-numeric item columns, answers outside an instrument's declared range.

    Notes
    -----
    With :math:`r_{ij}` the correlations and :math:`q_{ij}` the partial correlations (from
    :math:`R^{-1}`, scaled to unit diagonal),

    .. math:: \\mathrm{MSA} = \\frac{\\sum_{i \\ne j} r_{ij}^2}
              {\\sum_{i \\ne j} r_{ij}^2 + \\sum_{i \\ne j} q_{ij}^2},

    and the per-item MSA restricts both sums to column *j* (Kaiser 1970; psych::KMO).

    References
    ----------
    .. [1] Kaiser HF. A second generation little jiffy. Psychometrika. 1970;35(4):401-415.
       doi:10.1007/BF02291817
    .. [2] Kaiser HF. An index of factorial simplicity. Psychometrika. 1974;39(1):31-36.
       doi:10.1007/BF02291575

    Examples
    --------
    >>> # R: psych::KMO(cor(bfi[1:25], use = "pairwise"))$MSA  # 0.8459
    >>> # kmo(bfi[items]).msa                                 # 0.84590
    """
    prepared = prepare(items, instrument=instrument, scales=scales, by=by, missing=missing,
                       per_scale=False)

    def compute(s: ItemSet) -> KMOResult:
        r, _ = _correlation(s, "KMO")
        q = np.linalg.inv(r)
        d = 1 / np.sqrt(np.diag(q))
        q = q * np.outer(d, d)
        np.fill_diagonal(q, 0.0)
        r0 = r.copy()
        np.fill_diagonal(r0, 0.0)
        r2, q2 = r0 ** 2, q ** 2
        msa = float(r2.sum() / (r2.sum() + q2.sum()))
        per = r2.sum(axis=0) / (r2.sum(axis=0) + q2.sum(axis=0))
        return KMOResult(msa=msa, n_obs=s.n_obs, n_items=s.n_items, missing=s.missing,
                         group=s.group, scale=s.scale,
                         items=pd.DataFrame({"item": list(s.items), "msa": per}))

    return run_sets(prepared, compute, "kmo")


def bartlett_sphericity(items: Any, *, missing: str = "pairwise",
                        instrument: str | Path | Instrument | None = None,
                        scales: Sequence[str] | None = None, by: str | None = None
                        ) -> BartlettResult | ScaleResults:
    """Bartlett's test of sphericity (are the items correlated at all?).

    Parameters
    ----------
    items, missing, instrument, scales, by
        As :func:`kmo`.

    Returns
    -------
    BartlettResult, or ScaleResults when ``by`` or ``instrument`` is given.

    Raises
    ------
    AnalysisError
        As :func:`kmo` (a non-positive-definite pairwise matrix would make
        :math:`\\ln|R|` undefined; it is refused, never returned as NaN).

    Notes
    -----
    .. math:: \\chi^2 = -\\left(n - 1 - \\frac{2p + 5}{6}\\right) \\ln |R|, \\quad
              df = \\frac{p(p-1)}{2}

    with *p* items and *n* = ``n_obs`` respondents (Bartlett 1950; psych::cortest.bartlett).
    With pairwise correlations *n* is the number of respondents with any answer, so the test
    is approximate when many answers are missing.

    References
    ----------
    .. [1] Bartlett MS. Tests of significance in factor analysis. Br J Stat Psychol.
       1950;3(2):77-85. doi:10.1111/j.2044-8317.1950.tb00285.x
    """
    prepared = prepare(items, instrument=instrument, scales=scales, by=by, missing=missing,
                       per_scale=False)

    def compute(s: ItemSet) -> BartlettResult:
        r, _ = _correlation(s, "Bartlett's test")
        p = s.n_items
        _, logdet = np.linalg.slogdet(r)
        chi = float(-logdet * (s.n_obs - 1 - (2 * p + 5) / 6))
        df = p * (p - 1) // 2
        return BartlettResult(chi_square=chi, df=df, p_value=float(stats.chi2.sf(chi, df)),
                              n_obs=s.n_obs, n_items=p, missing=s.missing, group=s.group,
                              scale=s.scale)

    return run_sets(prepared, compute, "bartlett_sphericity")


