"""Small matplotlib charts (Agg backend) returned as PNG data URIs."""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Mapping, Sequence

__all__ = ["bar_chart", "line_chart"]


def _figure(width: float = 5.5, height: float = 2.6):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), dpi=96)


def _uri(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    with warnings.catch_warnings():  # glyphs missing for CJK wave names in the default font
        warnings.simplefilter("ignore", UserWarning)
        fig.tight_layout()
        fig.savefig(buf, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def line_chart(x: Sequence[str], series: Mapping[str, Sequence[float | None]],
               ylabel: str = "score") -> str:
    """Scores over waves: one line per series; None values leave a gap.

    Parameters
    ----------
    x : sequence of str, length k
        Wave names.
    series : mapping name -> sequence of float or None, each length k

    Returns
    -------
    str
        ``data:image/png;base64,...``
    """
    fig, ax = _figure()
    for name, values in series.items():
        ax.plot(list(x), [float("nan") if v is None else v for v in values], marker="o",
                label=name)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if series:
        ax.legend(fontsize=8)
    return _uri(fig)


def bar_chart(groups: Sequence[str], series: Mapping[str, Sequence[float | None]],
              ylabel: str = "rate (%)") -> str:
    """Grouped bars (one group of bars per row label); None (suppressed) is left out.

    Returns
    -------
    str
        ``data:image/png;base64,...``
    """
    import numpy as np

    fig, ax = _figure(7, 3)
    k = max(len(series), 1)
    pos = np.arange(len(groups))
    for j, (name, values) in enumerate(series.items()):
        ax.bar(pos + j / (k + 1), [0 if v is None else v for v in values], width=1 / (k + 1),
               label=name)
    ax.set_xticks(pos + (k - 1) / (2 * (k + 1)))
    ax.set_xticklabels(list(groups), rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    if series:
        ax.legend(fontsize=8)
    return _uri(fig)
