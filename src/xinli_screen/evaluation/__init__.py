"""Sample-level evaluation of a screen in a district's own data (issue 16).

Accuracy against 复核 outcomes with verification-bias correction lives in
:mod:`~xinli_screen.evaluation.accuracy`, :mod:`~xinli_screen.evaluation.roc`,
:mod:`~xinli_screen.evaluation.verification` and :mod:`~xinli_screen.evaluation.screen`.
"""
