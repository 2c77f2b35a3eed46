"""Writers: CSV output is safe to open in a spreadsheet."""

from __future__ import annotations

import pandas as pd

from xinli_screen.io.writers import csv_safe


def test_formula_like_text_is_neutralised_numbers_untouched() -> None:
    frame = pd.DataFrame({
        "sid": ['=HYPERLINK("x")', "+1", "@SUM(1)", "-cmd", "-12", "007", None],
        "score": [1.0, -2.0, 3.0, 4.0, 5.0, 6.0, None],
    })
    out = csv_safe(frame)
    assert out["sid"].tolist()[:6] == ["'=HYPERLINK(\"x\")", "'+1", "'@SUM(1)", "'-cmd", "-12",
                                       "007"]
    assert pd.isna(out.loc[6, "sid"])
    pd.testing.assert_series_equal(out["score"], frame["score"])
