"""Small matplotlib charts for the HTML reports, returned as SVG data URIs.

Text stays text (``svg.fonttype = "none"``): school, class and wave names are written as
``<text>`` with a font-family list that names the usual Chinese fonts (:data:`FONT_FAMILY`),
so the browser that shows or prints the report draws them with its own CJK font instead of
boxes. For the layout matplotlib measures the text with the first of those fonts it can find;
when its font cache predates the system's CJK fonts they are registered for this process
(nothing is written to the cache). ``text.parse_math`` is off, so a ``$`` in a name is a
dollar sign, not mathtext. Legends sit below the axes, outside the plot, and never cover data.

The reports embed the charts as ``data:image/svg+xml;base64,...`` images, which the reports'
Content-Security-Policy allows (``img-src data:``); an SVG shown as an image runs no script
and loads nothing.
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FONT_FAMILY", "HIDDEN_NOTE", "SVG_PREFIX", "bar_chart", "line_chart", "svg_text"]

#: Fonts named in the SVG, first installed one wins (in the browser and in matplotlib).
FONT_FAMILY = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Serif CJK SC", "Microsoft YaHei",
               "PingFang SC", "Heiti SC", "SimHei", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
               "Noto Sans CJK JP", "DejaVu Sans")
#: Prefix of every chart this module returns.
SVG_PREFIX = "data:image/svg+xml;base64,"
#: Legend text of a suppressed value (zh, en).
HIDDEN_NOTE = {"zh": "* 人数过少，已隐藏（不是 0）", "en": "* suppressed (small count, not zero)"}
_SYSTEM_CJK = ("NotoSansCJK", "NotoSerifCJK", "SourceHanSans", "msyh", "PingFang", "wqy",
               "simhei", "Hiragino")


@lru_cache(maxsize=1)
def _register_cjk_fonts() -> None:
    """Make the system's CJK fonts known to matplotlib in this process if its cache lacks them
    (the cache is built once, maybe before ``fonts-noto-cjk`` was installed)."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    if any(name in known for name in FONT_FAMILY[:-2]):
        return
    for path in font_manager.findSystemFonts():
        if any(tag.lower() in path.lower() for tag in _SYSTEM_CJK):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # pragma: no cover - broken font file
                continue


@contextmanager
def _style() -> Iterator[None]:
    """rcParams of every chart: SVG with text as text, CJK font list, no mathtext."""
    import matplotlib

    _register_cjk_fonts()
    rc = {"svg.fonttype": "none", "svg.hashsalt": "xinli-screen", "text.parse_math": False,
          "font.family": ["sans-serif"], "font.sans-serif": list(FONT_FAMILY),
          "axes.unicode_minus": False, "font.size": 9, "hatch.linewidth": 0.6}
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a glyph missing in a fallback font
        yield


def _uri(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.05,
                metadata={"Date": None, "Creator": None})
    return SVG_PREFIX + base64.b64encode(buf.getvalue().encode("utf-8")).decode("ascii")


def svg_text(uri: str) -> str:
    """The SVG document of a chart returned by this module.

    Parameters
    ----------
    uri : str
        ``data:image/svg+xml;base64,...``

    Returns
    -------
    str
        The SVG text (UTF-8 decoded).

    Raises
    ------
    ValueError
        Not a chart of this module.
    """
    if not uri.startswith(SVG_PREFIX):
        raise ValueError("not an SVG data URI")
    return base64.b64decode(uri[len(SVG_PREFIX):]).decode("utf-8")


def _legend(fig: Figure, handles: Sequence[Any], ncols: int = 4) -> None:
    """Legend below the axes, outside the plotting area (constrained layout makes room)."""
    fig.legend(handles=list(handles), loc="outside lower center", ncols=ncols, fontsize=8,
               frameon=False, handlelength=1.4, columnspacing=1.2)


def line_chart(x: Sequence[str], series: Mapping[str, Sequence[float | None]],
               ylabel: str = "score") -> str:
    """Scores over waves: one line per series; None values leave a gap.

    Parameters
    ----------
    x : sequence of str, length k
        Wave names (drawn as text).
    series : mapping name -> sequence of float or None, each length k
    ylabel : str
        Y-axis label.

    Returns
    -------
    str
        ``data:image/svg+xml;base64,...``; the legend (one entry per series, three to a
        row) sits below the axes.
    """
    from matplotlib.figure import Figure

    with _style():
        rows = -(-len(series) // 3)
        fig = Figure(figsize=(6.0, 2.6 + 0.2 * rows), layout="constrained")
        ax = fig.add_subplot()
        positions = list(range(len(x)))
        for j, (name, values) in enumerate(series.items()):
            # ten colours, then the same colours dashed with square markers
            ax.plot(positions, [float("nan") if v is None else v for v in values],
                    marker="os^"[j // 10 % 3], linestyle=("-", "--", ":")[j // 10 % 3],
                    label=str(name))
        ax.set_xticks(positions, [str(v) for v in x])
        ax.margins(x=0.08)  # markers and wave names clear of the frame
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if series:
            _legend(fig, ax.get_legend_handles_labels()[0], ncols=3)
        return _uri(fig)


def bar_chart(groups: Sequence[str], series: Mapping[str, Sequence[float | None]],
              ylabel: str = "rate (%)", *, colours: Mapping[str, str] | None = None,
              hidden_note: str = HIDDEN_NOTE["zh"], title: str | None = None) -> str:
    """Horizontal grouped bars, one group per row label; a suppressed value is not a bar.

    Parameters
    ----------
    groups : sequence of str, length k
        Row labels (school, grade ... names), top to bottom.
    series : mapping name -> sequence of float or None, each length k
        One bar per series in each group; ``None`` means suppressed: the slot gets a hatched
        band across the axis and a ``*``, never a zero-length bar, and the legend explains it.
    ylabel : str
        Label of the value axis.
    colours : mapping series name -> colour, optional
    hidden_note : str
        Legend text of the suppressed marker (:data:`HIDDEN_NOTE`).
    title : str, optional

    Returns
    -------
    str
        ``data:image/svg+xml;base64,...``; values are printed at the bar ends.
    """
    import numpy as np
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    with _style():
        k = max(len(series), 1)
        height = 0.8 / k
        fig = Figure(figsize=(6.4, 1.1 + 0.15 * k * max(len(groups), 1)), layout="constrained")
        ax = fig.add_subplot()
        pos = np.arange(len(groups))
        top = max([float(v) for vals in series.values() for v in vals if v is not None],
                  default=1.0) or 1.0
        any_hidden = False
        for j, (name, values) in enumerate(series.items()):
            y = pos - 0.4 + height * (j + 0.5)
            shown = [v is not None for v in values]
            colour = (colours or {}).get(name)
            bars = ax.barh(y[shown], [float(v) for v in values if v is not None],
                           height=height * 0.9, color=colour, label=str(name))
            ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=2)
            for yy, ok in zip(y, shown, strict=True):
                if not ok:
                    any_hidden = True
                    ax.barh(yy, top * 1.15, height=height * 0.9, color="none",
                            edgecolor="#9e9e9e", hatch="////", linewidth=0)
                    ax.text(top * 0.01, yy, "*", va="center", ha="left", fontsize=9,
                            color="#424242")
        ax.set_yticks(pos, [str(g) for g in groups])
        ax.invert_yaxis()
        ax.set_xlim(0, top * 1.15)
        ax.set_xlabel(ylabel)
        ax.grid(axis="x", alpha=0.3)
        if title:
            ax.set_title(title, fontsize=9, loc="left")
        handles, _ = ax.get_legend_handles_labels()
        if any_hidden:
            handles.append(Patch(facecolor="none", edgecolor="#9e9e9e", hatch="////",
                                 label=hidden_note))
        if handles:
            _legend(fig, handles, ncols=min(len(handles), 4))
        return _uri(fig)
