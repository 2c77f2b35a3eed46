"""Sample-level evaluation of a screen in a district's own data (issue 16).

Accuracy against 复核 outcomes with verification-bias correction:
:mod:`~xinli_screen.evaluation.accuracy` (2x2 figures), :mod:`~xinli_screen.evaluation.roc`
(ROC, AUC/DeLong, optimal cut-offs), :mod:`~xinli_screen.evaluation.verification`
(Begg-Greenes), :mod:`~xinli_screen.evaluation.accuracy_report` (a wave's screen against its
复核 outcomes) and :mod:`~xinli_screen.evaluation.accuracy_render` (HTML/XLSX/JSON).
"""

from xinli_screen.evaluation.accuracy import (
    TwoByTwo,
    clopper_pearson,
    two_by_two,
    two_by_two_measures,
    wilson,
)
from xinli_screen.evaluation.accuracy_render import write_accuracy
from xinli_screen.evaluation.accuracy_report import (
    AccuracyReport,
    reference_standard,
    screen_accuracy,
)
from xinli_screen.evaluation.roc import auc_delong, optimal_cutoff, roc_curve
from xinli_screen.evaluation.verification import begg_greenes

__all__ = [
    "AccuracyReport",
    "TwoByTwo",
    "auc_delong",
    "begg_greenes",
    "clopper_pearson",
    "optimal_cutoff",
    "reference_standard",
    "roc_curve",
    "screen_accuracy",
    "two_by_two",
    "two_by_two_measures",
    "wilson",
    "write_accuracy",
]
