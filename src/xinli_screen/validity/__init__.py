"""Careless-responding (insufficient-effort) indices and a protocol-validity screen.

Every index is computed for all respondents at once (no loop over respondents) and matches
R ``careless`` 1.2.2 (Yentes & Wilhelm) on every row of its simulated data sets; see
``tests/oracles/README.md`` ("R careless oracles") for the recorded R values and the few
documented differences (all-missing rows, the random re-sampling of ``psychsyn``).

Inputs are item responses as a DataFrame: rows = respondents, columns = items **in the order
they were presented**, numeric codes, NaN = missing. Every index returns one value per
respondent, aligned to the input index.

========================  =====================================  ===========================
function                  index                                  R careless
========================  =====================================  ===========================
:func:`longstring`        longest run of identical answers       ``longstring(x, avg)``
:func:`irv`               intra-individual response variability  ``irv(x)``
:func:`mahalanobis`       Mahalanobis D² (+ chi-square flag)     ``mahad(x, flag, confidence)``
:func:`even_odd`          even-odd consistency (higher = worse)  ``evenodd(x, factors)``
:func:`psychsyn`          psychometric synonyms                  ``psychsyn(x, critval)``
:func:`psychant`          psychometric antonyms                  ``psychant(x, critval)``
:func:`response_time`     completion time below a minimum        (not in careless)
:func:`careless_screen`   all of the above, thresholds, reasons  (not in careless)
========================  =====================================  ===========================

The indices are meant for long questionnaires with several scales and mixed content (e.g. a
100-item battery). On a short symptom scale where every item points the same way (PHQ-9),
identical answers ("0" nine times) and extreme profiles are plausible honest answers: do not
use these indices to invalidate such protocols.
"""

from __future__ import annotations

from xinli_screen.validity._common import CarelessIndexError
from xinli_screen.validity.consistency import even_odd, psychant, psychsyn, psychsyn_critval
from xinli_screen.validity.distance import mahalanobis
from xinli_screen.validity.moments import ItemMoments
from xinli_screen.validity.screen import DEFAULT_THRESHOLDS, THRESHOLD_SOURCES, careless_screen
from xinli_screen.validity.sequences import irv, longstring
from xinli_screen.validity.timing import parse_duration, response_time

__all__ = [
    "DEFAULT_THRESHOLDS",
    "THRESHOLD_SOURCES",
    "CarelessIndexError",
    "ItemMoments",
    "careless_screen",
    "even_odd",
    "irv",
    "longstring",
    "mahalanobis",
    "parse_duration",
    "psychant",
    "psychsyn",
    "psychsyn_critval",
    "response_time",
]
