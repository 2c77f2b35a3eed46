"""Run statistics that merge across chunks and partitions: counts, scale moments, alpha.

A streamed or distributed run sees its rows in pieces; every statistic here is kept as
sufficient statistics that add up exactly (counts, sums, sums of squares, cross-products), so
the merged result equals the one computed on the whole table, whatever the split:

* per group: rows, rows per status and per warning tier;
* per group and scale score: n, mean, SD (n - 1), min, max;
* per group and item scale: Cronbach's alpha and standardised alpha from pairwise-complete
  moments of the keyed items (counts ``M'M``, sums ``X'M``, squares ``(X*X)'M``, cross-products
  ``X'X`` over the answered mask ``M``, items centred at a fixed point, their declared
  midpoint), the same estimator as :func:`xinli_screen.reliability.cronbach_alpha` with
  ``missing="pairwise"`` (R psych ``alpha``; Cronbach 1951).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xinli_screen.instrument.models import Instrument
from xinli_screen.policy.models import TIER_ORDER
from xinli_screen.result import STATUSES
from xinli_screen.scoring import reverse_key

__all__ = ["RunStatistics"]

_ALL = "(all)"


@dataclass
class _Moments:
    n: float = 0.0
    total: float = 0.0
    squares: float = 0.0
    low: float = np.inf
    high: float = -np.inf

    def add(self, x: np.ndarray, centre: float) -> None:
        x = x[~np.isnan(x)]
        if len(x):
            d = x - centre
            self.n += len(x)
            self.total += float(d.sum())
            self.squares += float((d * d).sum())
            self.low = min(self.low, float(x.min()))
            self.high = max(self.high, float(x.max()))

    def merge(self, other: _Moments) -> None:
        self.n += other.n
        self.total += other.total
        self.squares += other.squares
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)


@dataclass
class _Pairwise:
    """Pairwise-complete sufficient statistics of k items (all k x k)."""

    k: int
    n: np.ndarray = field(init=False)
    sx: np.ndarray = field(init=False)
    sxx: np.ndarray = field(init=False)
    sxy: np.ndarray = field(init=False)
    rows: float = 0.0

    def __post_init__(self) -> None:
        z = np.zeros((self.k, self.k))
        self.n, self.sx, self.sxx, self.sxy = z.copy(), z.copy(), z.copy(), z.copy()

    def add(self, x: np.ndarray, centre: np.ndarray) -> None:
        answered = ~np.isnan(x)
        m = answered.astype(float)
        xc = np.where(answered, x - centre, 0.0)
        self.n += m.T @ m
        self.sx += xc.T @ m
        self.sxx += (xc * xc).T @ m
        self.sxy += xc.T @ xc
        self.rows += float(answered.any(axis=1).sum())

    def merge(self, other: _Pairwise) -> None:
        self.n += other.n
        self.sx += other.sx
        self.sxx += other.sxx
        self.sxy += other.sxy
        self.rows += other.rows

    def alpha(self) -> tuple[float, float]:
        """(raw alpha, standardised alpha) from the pairwise covariance matrix."""
        n, k = self.n, self.k
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = (self.sxy - self.sx * self.sx.T / n) / (n - 1)
            cov[n < 2] = np.nan
            sd = np.sqrt(np.diag(cov))
            r = cov / np.outer(sd, sd)
        np.fill_diagonal(r, 1.0)
        if k < 2 or not np.isfinite(cov).all() or cov.sum() <= 0:
            return float("nan"), float("nan")
        raw = k / (k - 1) * (1 - np.trace(cov) / cov.sum())
        std = k / (k - 1) * (1 - k / r.sum())
        return float(raw), float(std)


@dataclass
class _Group:
    rows: int = 0
    status: dict[str, int] = field(default_factory=dict)
    tiers: dict[str, int] = field(default_factory=dict)
    scores: dict[str, _Moments] = field(default_factory=dict)
    pairs: dict[str, _Pairwise] = field(default_factory=dict)


@dataclass
class RunStatistics:
    """Mergeable statistics of a screening run, overall and per group.

    Parameters
    ----------
    instruments : sequence of Instrument
        The screened instruments.
    by : str, optional
        Name of the grouping (an input column such as 学校); groups are its values.

    Examples
    --------
    >>> stats = RunStatistics(instruments)                     # doctest: +SKIP
    >>> for chunk in chunks: stats.update(table, responses)    # doctest: +SKIP
    >>> stats.to_frames()["scales"]                            # doctest: +SKIP
    """

    instruments: Sequence[Instrument]
    by: str | None = None
    groups: dict[str, _Group] = field(default_factory=dict)

    def _item_scales(self) -> list[tuple[Instrument, Any]]:
        return [(inst, s) for inst in self.instruments for s in inst.scales
                if not s.is_composite and len(s.items) >= 2 and s.role == "scale"]

    def update(self, table: pd.DataFrame, responses: pd.DataFrame | None = None,
               groups: pd.Series | np.ndarray | None = None) -> None:
        """Add one chunk.

        Parameters
        ----------
        table : DataFrame, shape (n, n_result_columns)
            The chunk's ``ScreeningResult.table``.
        responses : DataFrame, shape (n, n_items), optional
            The chunk's item codes before reverse keying (for alpha); None skips alpha.
        groups : array-like, shape (n,), optional
            Group label of each row (with ``by``); missing labels form group "(missing)".
        """
        labels = (np.full(len(table), _ALL, dtype=object) if groups is None else
                  pd.Series(np.asarray(groups, dtype=object)).fillna("(missing)")
                  .astype(str).to_numpy(dtype=object))
        keyed = None
        if responses is not None:
            keyed = pd.concat([reverse_key(responses[list(inst.item_ids)], inst)
                               for inst in self.instruments], axis=1)
        keys = [_ALL] if groups is None else [_ALL, *pd.unique(labels)]
        for key in keys:
            rows = np.ones(len(table), dtype=bool) if key == _ALL else labels == key
            self._add(self.groups.setdefault(str(key), _Group()), table, keyed, rows)

    def _add(self, g: _Group, table: pd.DataFrame, keyed: pd.DataFrame | None,
             rows: np.ndarray) -> None:
        part = table[rows]
        g.rows += len(part)
        for name, count in part["status"].value_counts().items():
            g.status[str(name)] = g.status.get(str(name), 0) + int(count)
        for name, count in part["warning_tier"].astype(str).value_counts().items():
            g.tiers[str(name)] = g.tiers.get(str(name), 0) + int(count)
        for inst in self.instruments:
            for scale in inst.scales:
                col = f"{inst.id}.{scale.id}"
                if col in part.columns:
                    lo, hi = inst.scale_range(scale)
                    centre = (lo + hi) / 2 if np.isfinite(lo + hi) else 0.0
                    g.scores.setdefault(col, _Moments()).add(
                        part[col].to_numpy(dtype=float, na_value=np.nan), centre)
        if keyed is None:
            return
        for inst, scale in self._item_scales():
            x = keyed.loc[rows, list(scale.items)].to_numpy(dtype=float, na_value=np.nan)
            lo, hi = inst.item_bounds
            ids = list(inst.item_ids)
            idx = [ids.index(i) for i in scale.items]
            centre = (lo[idx] + hi[idx]) / 2
            g.pairs.setdefault(f"{inst.id}.{scale.id}", _Pairwise(len(scale.items))).add(
                x, centre)

    def merge(self, other: RunStatistics) -> RunStatistics:
        """Add another run's statistics (another chunk or partition) into this one."""
        for key, og in other.groups.items():
            g = self.groups.setdefault(key, _Group())
            g.rows += og.rows
            for name, v in og.status.items():
                g.status[name] = g.status.get(name, 0) + v
            for name, v in og.tiers.items():
                g.tiers[name] = g.tiers.get(name, 0) + v
            for name, m in og.scores.items():
                g.scores.setdefault(name, _Moments()).merge(m)
            for name, p in og.pairs.items():
                if name in g.pairs:
                    g.pairs[name].merge(p)
                else:
                    g.pairs[name] = p
        return self

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """``groups`` (rows, statuses, tiers per group) and ``scales`` (score moments and alpha
        per group and scale); group "(all)" is the whole run."""
        group_rows, scale_rows = [], []
        for key, g in self.groups.items():
            group_rows.append({"group": key, "rows": g.rows,
                               **{f"status.{s}": g.status.get(s, 0) for s in STATUSES},
                               **{f"tier.{t}": g.tiers.get(t, 0) for t in TIER_ORDER}})
            for name, m in g.scores.items():
                inst_id, scale_id = name.split(".", 1)
                inst = next(i for i in self.instruments if i.id == inst_id)
                lo, hi = inst.scale_range(inst.scale(scale_id))
                centre = (lo + hi) / 2 if np.isfinite(lo + hi) else 0.0
                mean = centre + m.total / m.n if m.n else np.nan
                var = ((m.squares - m.total ** 2 / m.n) / (m.n - 1)) if m.n > 1 else np.nan
                raw, std = g.pairs[name].alpha() if name in g.pairs else (np.nan, np.nan)
                scale_rows.append({
                    "group": key, "scale": name, "n": int(m.n), "mean": mean,
                    "sd": float(np.sqrt(var)) if var == var and var >= 0 else np.nan,
                    "min": m.low if m.n else np.nan, "max": m.high if m.n else np.nan,
                    "alpha": raw, "std_alpha": std,
                    "alpha_n": int(g.pairs[name].rows) if name in g.pairs else 0})
        return {"groups": pd.DataFrame(group_rows), "scales": pd.DataFrame(scale_rows)}

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict of :meth:`to_frames` (NaN -> None)."""
        out = {}
        for name, frame in self.to_frames().items():
            out[name] = [{k: (None if isinstance(v, float) and np.isnan(v) else v)
                          for k, v in r.items()} for r in frame.to_dict(orient="records")]
        out["by"] = self.by
        return out
