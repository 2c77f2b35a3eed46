"""Option labels -> codes: the text matching shared by every reader of answers.

Text is folded with NFKC (full-width letters, digits and punctuation become ASCII), stripped and
case-folded. Besides the exact label (zh, en or an alias), two decorations that 问卷星 and paper
transcriptions add are tolerated: a leading option letter (``A.``, ``A、``, ``(B)``, ``B)``, or a
letter directly before a Chinese label, ``B好几天``) and a trailing note in brackets
(``好几天（3-6天）``, ``好几天(1分)``). The letter itself is never trusted to give the code (forms
print options in different orders); a bare letter is not an answer.
"""

from __future__ import annotations

import re
import unicodedata

from xinli_screen.instrument.models import ResponseScale

__all__ = ["label_candidates", "norm_text", "option_code", "option_labels"]

_PREFIX = re.compile(r"^[(\[]?[a-z][)\]]?\s*[.、:)\]]?\s*(?=\S)")
_LETTER_BEFORE_CJK = re.compile(r"^[a-z](?=[^\x00-\x7f])")
_TRAILING_NOTE = re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*$")


def norm_text(value: str) -> str:
    """NFKC-folded, stripped, case-folded text."""
    return unicodedata.normalize("NFKC", value).strip().casefold()


def option_labels(scale: ResponseScale) -> dict[str, int]:
    """Normalised label (zh, en and aliases of every option) -> option code."""
    out: dict[str, int] = {}
    for opt in scale.options:
        for text in (opt.label.zh, opt.label.en, *opt.aliases):
            if text:
                out[norm_text(text)] = opt.code
    return out


def label_candidates(text: str) -> list[str]:
    """Normalised ``text`` and its forms without an option letter and/or a trailing note."""
    base = norm_text(text)
    out = [base]
    for form in (_PREFIX.sub("", base), _LETTER_BEFORE_CJK.sub("", base)):
        out += [form, _TRAILING_NOTE.sub("", form)]
    out.append(_TRAILING_NOTE.sub("", base))
    return [c for c in dict.fromkeys(out) if c]


def option_code(label: str, labels: dict[str, int]) -> int | None:
    """The code of the option ``label`` names (see the module notes), else None.

    Parameters
    ----------
    label : str
        Answer text as exported.
    labels : dict
        Output of :func:`option_labels` for the item's response scale.
    """
    for candidate in label_candidates(label):
        if candidate in labels:
            return labels[candidate]
    return None
