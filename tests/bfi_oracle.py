"""The psych bfi data and the R oracle tables used by test_factor.py and test_reliability.py.

The bfi items are GPL (psychTools) and are read from ../shared/data/psych_bfi, never shipped;
tests that need them carry ``needs_bfi`` and are skipped when the file is absent. The oracle
tables are long CSVs (family, case, missing, statistic, row, col, value) written once by
tests/oracles/make_reliability_oracles.R.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

__all__ = ["BFI_CSV", "BFI_SHA256", "ITEMS25", "NO_BFI", "SCALES", "needs_bfi", "r_value",
           "read_bfi", "read_oracle"]

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
BFI_CSV = SHARED / "data" / "psych_bfi" / "bfi.csv"
BFI_SHA256 = "bd121f22bf9cc1c9cfede86f476a47140fe13e49efbb023f3d1169491790697a"

ITEMS25 = [f"{d}{k}" for d in "ACENO" for k in range(1, 6)]
SCALES = {"agree": "A", "conscientious": "C", "extraversion": "E", "neuroticism": "N",
          "openness": "O"}

NO_BFI = (f"bfi data not available at {BFI_CSV} (psychTools bfi, GPL: not shipped with the "
          "project; see tests/oracles/README.md)")
needs_bfi = [pytest.mark.shared_data, pytest.mark.skipif(not BFI_CSV.is_file(), reason=NO_BFI)]


def read_bfi() -> pd.DataFrame:
    """The bfi table, after checking it is the file the R oracles were computed from."""
    digest = hashlib.sha256(BFI_CSV.read_bytes()).hexdigest()
    assert digest == BFI_SHA256, (
        f"{BFI_CSV} is not the file the R oracles were computed from (sha256 {digest})")
    return pd.read_csv(BFI_CSV, dtype={"id": str})


def read_oracle(path: Path) -> pd.DataFrame:
    """An oracle table, with empty ``row`` / ``col`` cells kept as ``""``."""
    return pd.read_csv(path, keep_default_na=False, dtype={"row": str, "col": str})


def r_value(oracle: pd.DataFrame, family: str, case: str, missing: str, statistic: str,
            row: str = "", col: str = "") -> float:
    """The one R value recorded for (family, case, missing, statistic, row, col)."""
    hit = oracle[(oracle.family == family) & (oracle.case == case)
                 & (oracle.missing == missing) & (oracle.statistic == statistic)
                 & (oracle.row == row) & (oracle.col == col)]
    assert len(hit) == 1, (family, case, missing, statistic, row, col)
    return float(hit.value.iloc[0])
