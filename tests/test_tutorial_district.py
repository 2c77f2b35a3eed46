"""The Chinese district notebook (docs/tutorial_district.ipynb) runs from top to bottom.

It generates the 绿园区 scenario, scores wave 1, builds the warning list through the archive,
and checks the tier counts against those ``xinli-screen wave run wave1.yaml`` prints in the
handbook (a cell asserts them). Skipped when the docs extra (nbclient, ipykernel, matplotlib)
is not installed. When a Chinese font is installed, no figure may fall back to a font without
Chinese glyphs (matplotlib's "Glyph ... missing" warning in a cell's output).
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "tutorial_district.ipynb"


def _cjk_font_installed() -> bool:
    from matplotlib import font_manager

    from xinli_screen.plotting import CJK_FONTS

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return any(name in installed for name in CJK_FONTS)


def test_notebook_is_committed_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_district_notebook_runs(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()   # raises CellExecutionError, naming the cell, on any failure
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 4, "the plot cells should display figures"
    if _cjk_font_installed():
        stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
        assert "missing from font" not in stderr, "a figure drew Chinese without a CJK font"
