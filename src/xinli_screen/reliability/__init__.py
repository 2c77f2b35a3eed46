"""Scale reliability: Cronbach's alpha, McDonald's omega, Guttman's lambda-6, split-half
reliability and item analysis.

Every function takes a response table (rows = respondents, columns = items, NaN = missing)
or an instrument, and three things that decide the numbers, always stated in the result:

- **keys**: ``keys=["A1"]`` (reverse-keyed columns) or ``{"A1": -1, "A2": 1}``; reversal is
  ``lo + hi - x`` with the declared response range (``scale_range=(1, 6)``, required when
  anything is reversed without an instrument), never the observed minimum and maximum. With
  ``instrument=`` the instrument's ``reverse_keyed`` flags and response scales are used
  (:func:`xinli_screen.reverse_key`). Keys are applied once, to the data, before any
  statistic, so alpha, omega, item statistics and split halves all see the same keyed items.
- **missing**: ``"pairwise"`` (each covariance from the respondents who answered both items,
  as R psych) or ``"listwise"`` (complete respondents only). Respondents with no answer at all
  on the scale are never counted.
- **grouping**: ``by="school"`` repeats the analysis per group; with an instrument the
  analysis runs per scale. Both return a :class:`ScaleResults` with a tidy ``table``.

Items whose keying looks wrong (negative item-rest correlation, negative alpha, negative
loading on the general factor) raise a :class:`MiskeyedItemsWarning` that names them.

The numbers reproduce R psych 2.2.9 (``alpha``, ``omega``, ``splitHalf``) on the bfi data; see
``tests/test_reliability.py`` and ``tests/oracles/README.md``. One deliberate difference:
psych's ``splitHalf`` enumerates only half of the splits when the number of items is odd;
:func:`split_half` enumerates all of them.
"""


from xinli_screen._analysis import (
    AnalysisError,
    ConstantItemWarning,
    InsufficientDataWarning,
    MiskeyedItemsWarning,
    SmallSampleWarning,
)
from xinli_screen._analysis_results import ScaleResults
from xinli_screen.reliability.alpha import AlphaResult, cronbach_alpha, item_analysis
from xinli_screen.reliability.frequencies import response_frequencies
from xinli_screen.reliability.keys import apply_keys
from xinli_screen.reliability.omega import OmegaResult, mcdonald_omega
from xinli_screen.reliability.polychoric import PolychoricResult, polychoric
from xinli_screen.reliability.splithalf import SplitHalfResult, split_half

__all__ = [
    "AlphaResult",
    "AnalysisError",
    "ConstantItemWarning",
    "InsufficientDataWarning",
    "MiskeyedItemsWarning",
    "OmegaResult",
    "PolychoricResult",
    "ScaleResults",
    "SmallSampleWarning",
    "SplitHalfResult",
    "apply_keys",
    "cronbach_alpha",
    "item_analysis",
    "mcdonald_omega",
    "polychoric",
    "response_frequencies",
    "split_half",
]
