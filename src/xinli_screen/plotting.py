"""Plots for notebooks and reports: score distributions and reliability.

Every function returns a :class:`matplotlib.figure.Figure`. Figures are created with
``matplotlib.figure.Figure`` directly, not through pyplot's global state, so they work with
the Agg backend on a server or in CI, never pop up a window, and are not kept alive by pyplot.
matplotlib is imported only when a plot is made, so ``import xinli_screen`` stays fast.
Install it with ``pip install matplotlib`` (or the ``docs`` extra).

The plots describe a sample; a screening score is not a diagnosis.

Examples
--------
>>> result = xs.screen(answers, ["phq9"], id_column="SEQN")        # doctest: +SKIP
>>> result.plot.distribution(by="phq9.functioning.band")            # doctest: +SKIP
>>> xs.cronbach_alpha(items, instrument="phq9").plot()              # doctest: +SKIP
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "ResultPlots",
    "distribution",
    "reliability",
    "score_columns",
    "tiers",
]

#: Colours of the warning tiers (none, class, school, district), as in the default policy.
TIER_COLOURS = {"none": "#4caf50", "class": "#fbc02d", "school": "#fb8c00",
                "district": "#e53935"}

_NOTE = "Screening scores, not a diagnosis"


#: Fonts with Chinese glyphs, tried in this order (first installed one wins).
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei",
             "SimHei", "PingFang SC", "Heiti SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
             "Arial Unicode MS")


def _cjk_font() -> str | None:
    """The first installed font of :data:`CJK_FONTS`, or None."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((f for f in CJK_FONTS if f in installed), None)


def _register_png_display() -> None:
    """In IPython/Jupyter, show a returned Figure as a PNG (what the inline backend does for
    pyplot figures), whatever the backend."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    png = shell.display_formatter.formatters["image/png"]
    if Figure in png.type_printers:
        return
    from IPython.core.pylabtools import print_figure

    png.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))


def _figure(width: float = 7.0, height: float = 4.0, ncols: int = 1) -> tuple[Figure, Any]:
    """A new Figure outside pyplot's state, with ``ncols`` axes."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - matplotlib is an optional dependency
        raise ImportError("plotting needs matplotlib: pip install matplotlib") from exc
    if "IPython" in sys.modules:
        _register_png_display()
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, ncols)
    return fig, axes


def _note(fig: Figure) -> None:
    fig.text(0.995, 0.005, _NOTE, ha="right", va="bottom", fontsize=7, color="0.45")


def _with_fonts(func: Any) -> Any:
    """Draw every text of the returned figure with an installed Chinese font first, so that
    labels such as 男/女 or school names are not empty boxes (matplotlib's default DejaVu
    Sans has no Chinese glyphs). Without such a font nothing changes."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        fig = func(*args, **kwargs)
        font = _cjk_font()
        if font is not None:
            from matplotlib.text import Text

            for text in fig.findobj(Text):
                text.set_fontfamily([font, "sans-serif"])
        return fig
    return wrapper


class _WithTable(Protocol):
    """What the plots read of a :class:`~xinli_screen.ScreeningResult`: its ``table``.

    A structural type, so that this module does not import :mod:`xinli_screen.result` (which
    imports this one for ``result.plot``): no import circle.

    Attributes
    ----------
    table : DataFrame, shape (n_respondents, n_columns)
        The per-respondent result table.
    """

    table: pd.DataFrame


def score_columns(table: pd.DataFrame) -> list[str]:
    """Score columns of a result table (``{instrument}.{scale}``), in table order.

    A score column is one that has an ``.n_answered`` companion column.
    """
    return [c for c in table.columns if f"{c}.n_answered" in table.columns]


def _table(data: Any) -> pd.DataFrame:
    table = getattr(data, "table", data)
    if not isinstance(table, pd.DataFrame):
        raise TypeError("expected a ScreeningResult or a DataFrame of scores, got "
                        f"{type(data).__name__}")
    return table


def _groups(table: pd.DataFrame, by: Any) -> pd.Series:
    if isinstance(by, str):
        if by not in table.columns:
            raise KeyError(f"by={by!r} is not a column of the result table")
        return table[by]
    values = pd.Series(by)
    if len(values) != len(table):
        raise ValueError(f"by has {len(values)} values; the table has {len(table)} rows")
    return pd.Series(values.to_numpy(), index=table.index, name=getattr(by, "name", "group"))


def _levels(table: pd.DataFrame, by: Any, g: pd.Series) -> list[Any]:
    """Group order: categorical order; a band column in the order of its scale's scores;
    else sorted."""
    if isinstance(g.dtype, pd.CategoricalDtype):
        return list(g.cat.categories)
    if isinstance(by, str) and by.endswith(".band") and by[:-5] in table.columns:
        score = pd.to_numeric(table[by[:-5]], errors="coerce")
        order = score.groupby(table[by]).min().sort_values(kind="stable")
        return [v for v in order.index if v in set(g.unique())]
    return sorted(g.unique(), key=str)


@_with_fonts
def distribution(data: _WithTable | pd.DataFrame, scale: str | None = None,
                 by: str | Sequence[Any] | pd.Series | None = None, *,
                 bins: int | Sequence[float] | None = None, percent: bool | None = None,
                 cutoffs: bool = True, ax: Axes | None = None) -> Figure:
    """Histogram of one scale's scores, overall or one outline per group.

    Parameters
    ----------
    data : ScreeningResult or DataFrame
        A screening result, or a table with the score column.
    scale : str, optional
        Score column, e.g. ``"phq9.total"``; default: the first score column of the table.
    by : str or array-like, optional
        A column of the table (``"phq9.functioning.band"``, ``"warning_tier"``) or one
        value per row (e.g. a school column taken from the input file). Rows with a missing
        group are left out; each group is drawn as an outline with its n in the legend.
    bins : int or sequence of float, optional
        Default: one bin per integer score when the scores are whole numbers, else 30.
    percent : bool, optional
        Plot the share of each group (%) instead of counts; default True when ``by`` is given
        (groups of different sizes stay comparable).
    cutoffs : bool
        Draw the instrument's cut-offs found in the table as dashed vertical lines.
    ax : matplotlib Axes, optional
        Draw into this axes (its figure is returned) instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    KeyError
        ``scale`` or ``by`` is not a column of the table.
    ValueError
        No score to plot.
    """
    table = _table(data)
    names = score_columns(table)
    if scale is None:
        if not names:
            raise ValueError("the table has no score column ({instrument}.{scale})")
        scale = names[0]
    if scale not in table.columns:
        raise KeyError(f"scale={scale!r} is not a column of the table; score columns: "
                       f"{', '.join(names) or 'none'}")
    scores = pd.to_numeric(table[scale], errors="coerce").astype(float)
    finite = scores[np.isfinite(scores)]
    if finite.empty:
        raise ValueError(f"{scale}: no scored rows to plot")
    if bins is None:
        if np.allclose(finite, np.round(finite)):
            lo, hi = float(finite.min()), float(finite.max())
            bins = np.arange(lo - 0.5, hi + 1.5, 1.0)
        else:
            bins = 30
    if ax is None:
        fig, ax = _figure()
        _note(fig)
    else:
        fig = ax.figure
    percent = by is not None if percent is None else percent
    if by is None:
        weights = np.full(len(finite), 100 / len(finite)) if percent else None
        ax.hist(finite, bins=bins, weights=weights, color="#1f77b4", alpha=0.8,
                label=f"all (n = {len(finite):,})")
    else:
        groups = _groups(table, by)
        ok = np.isfinite(scores) & groups.notna()
        g = groups[ok]
        levels = _levels(table, by, g)
        for level in levels:
            s = scores[ok][g == level]
            if s.empty:
                continue
            weights = np.full(len(s), 100 / len(s)) if percent else None
            ax.hist(s, bins=bins, weights=weights, histtype="step", linewidth=1.8,
                    label=f"{level} (n = {len(s):,})")
        ax.legend(title=groups.name if isinstance(groups.name, str) else "group", fontsize=8)
    if by is None:
        ax.legend(fontsize=8)
    if cutoffs:
        prefix = f"{scale}."
        for col in table.columns:
            rest = col[len(prefix):]
            if (not col.startswith(prefix) or "." in rest or rest == "prorated"
                    or table[col].dtype.kind == "f"):
                continue
            flag = table[col]
            if str(flag.dtype) not in ("boolean", "bool"):
                continue
            pos = scores[flag.fillna(False).astype(bool)]
            if pos.empty:
                continue
            ax.axvline(float(pos.min()) - 0.5 if isinstance(bins, np.ndarray) else pos.min(),
                       color="0.3", linestyle="--", linewidth=1)
            ax.annotate(rest, (float(pos.min()), 1), xycoords=("data", "axes fraction"),
                        xytext=(3, -12), textcoords="offset points", fontsize=8,
                        color="0.3")
    ax.set_xlabel(f"{scale} (score)")
    ax.set_ylabel("share of group (%)" if percent else "respondents")
    ax.set_title(f"Distribution of {scale}")
    return fig


@_with_fonts
def tiers(data: _WithTable | pd.DataFrame,
          by: str | Sequence[Any] | pd.Series | None = None, *,
          percent: bool = False, ax: Axes | None = None) -> Figure:
    """Bar chart of the warning tiers (none / class / school / district), optionally by group.

    Parameters
    ----------
    data : ScreeningResult or DataFrame
        Needs a ``warning_tier`` column.
    by : str or array-like, optional
        Stack the tiers per group (a column of the table or one value per row).
    percent : bool
        Shares within each group instead of counts.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from xinli_screen.policy.models import TIER_ORDER

    table = _table(data)
    tier = table["warning_tier"].astype(str)
    group = (pd.Series("all", index=table.index, name="group") if by is None
             else _groups(table, by))
    counts = pd.crosstab(group, tier).reindex(columns=list(TIER_ORDER), fill_value=0)
    if by is not None:
        counts = counts.reindex(_levels(table, by, group.dropna()))
    if percent:
        counts = counts.div(counts.sum(axis=1), axis=0) * 100
    if ax is None:
        fig, ax = _figure()
        _note(fig)
    else:
        fig = ax.figure
    left = np.zeros(len(counts))
    labels = [str(i) for i in counts.index]
    for t in TIER_ORDER:
        ax.barh(labels, counts[t].to_numpy(), left=left, color=TIER_COLOURS[t], label=t)
        left += counts[t].to_numpy()
    ax.invert_yaxis()
    ax.set_xlabel("share of group (%)" if percent else "respondents")
    ax.set_ylabel(str(group.name) if by is not None else "")
    ax.set_title("Warning tiers (every tier above none is pending review)")
    ax.legend(ncols=4, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.08))
    return fig


@_with_fonts
def reliability(result: Any, *, ax: Axes | None = None) -> Figure:
    """Plot a Cronbach's alpha result.

    Parameters
    ----------
    result : AlphaResult or ScaleResults
        One scale (:class:`xinli_screen.reliability.AlphaResult`): two panels, the corrected
        item-rest correlation of each item, and alpha if the item is deleted against the
        scale's alpha with its confidence interval (shaded). Several scales or groups
        (a :class:`~xinli_screen.reliability.ScaleResults` of ``cronbach_alpha``): alpha with
        its confidence interval per row (a forest plot).
    ax : matplotlib Axes, optional
        Only for the forest plot.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if hasattr(result, "item_stats") and hasattr(result, "alpha"):
        return _alpha_items(result)
    table = getattr(result, "table", None)
    if table is None or "alpha" not in getattr(table, "columns", ()):
        raise TypeError("reliability() plots the result of cronbach_alpha (AlphaResult or "
                        "ScaleResults); got " + type(result).__name__)
    return _alpha_forest(result, ax)


def _ci_label(result: Any) -> str:
    return f"{result.ci_level:.0%} CI ({result.ci_method})"


def _alpha_items(result: Any) -> Figure:
    items = result.item_stats
    fig, (left, right) = _figure(9.0, max(3.0, 0.35 * len(items) + 1.5), ncols=2)
    y = np.arange(len(items))
    labels = items["item"].astype(str).tolist()
    rest = items["item_rest_r"].to_numpy(dtype=float)
    left.barh(y, rest, color=np.where(rest < 0, "#e53935", "#1f77b4"))
    left.axvline(0, color="0.3", linewidth=0.8)
    left.set_yticks(y, labels)
    left.invert_yaxis()
    left.set_xlabel("corrected item-rest r")
    left.set_title("Item discrimination")
    lo, hi = result.ci
    right.axvspan(lo, hi, color="#1f77b4", alpha=0.15, label=_ci_label(result))
    right.axvline(result.alpha, color="#1f77b4", label=f"alpha = {result.alpha:.3f}")
    right.plot(items["alpha_if_deleted"].to_numpy(dtype=float), y, "o", color="0.2",
               label="alpha if item deleted")
    right.set_yticks(y, labels)
    right.invert_yaxis()
    right.set_xlabel("Cronbach's alpha")
    right.set_title("Alpha if item deleted")
    right.legend(fontsize=8, loc="lower left")
    name = " / ".join(str(p) for p in (result.scale, result.group) if p is not None)
    fig.suptitle(f"Cronbach's alpha{': ' + name if name else ''} "
                 f"(n = {result.n_obs:,}, {result.missing})")
    return fig


def _alpha_forest(result: Any, ax: Axes | None) -> Figure:
    table = result.table
    keys = [c for c in ("scale", getattr(result, "by", None)) if c and c in table.columns]
    labels = [" / ".join(str(v) for v in row) for row in table[keys].itertuples(index=False)]
    if not keys:
        labels = [str(i) for i in table.index]
    if ax is None:
        fig, ax = _figure(7.0, max(2.5, 0.4 * len(table) + 1.5))
    else:
        fig = ax.figure
    y = np.arange(len(table))
    alpha = table["alpha"].to_numpy(dtype=float)
    ci = np.array([c if isinstance(c, (tuple, list)) and len(c) == 2 else (np.nan, np.nan)
                   for c in table.get("ci", pd.Series([None] * len(table)))], dtype=float)
    err = np.vstack([alpha - ci[:, 0], ci[:, 1] - alpha])
    ax.errorbar(alpha, y, xerr=np.where(np.isfinite(err), err, 0), fmt="o", capsize=3,
                color="#1f77b4")
    if "n_obs" in table.columns:
        for yi, (a, n) in enumerate(zip(alpha, table["n_obs"], strict=True)):
            if np.isfinite(a) and pd.notna(n):
                ax.annotate(f"n = {int(n):,}", (a, yi), xytext=(0, 7),
                            textcoords="offset points", ha="center", fontsize=7, color="0.4")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("Cronbach's alpha with confidence interval")
    ax.set_title("Reliability by " + (" and ".join(keys) if keys else "row"))
    return fig


class ResultPlots:
    """``result.plot``: plots of a :class:`~xinli_screen.ScreeningResult`.

    Examples
    --------
    >>> result.plot.distribution(by="phq9.functioning.band")     # doctest: +SKIP
    >>> result.plot.tiers(by=schools)                              # doctest: +SKIP
    """

    def __init__(self, result: _WithTable) -> None:
        self._result = result

    def distribution(self, by: str | Sequence[Any] | pd.Series | None = None,
                     scale: str | None = None, **kwargs: Any) -> Figure:
        """Histogram of a scale's scores, overall or by group; see :func:`distribution`."""
        return distribution(self._result, scale=scale, by=by, **kwargs)

    def tiers(self, by: str | Sequence[Any] | pd.Series | None = None,
              **kwargs: Any) -> Figure:
        """Warning tiers, overall or by group; see :func:`tiers`."""
        return tiers(self._result, by=by, **kwargs)
