"""Option labels -> codes, with the same text normalisation as :mod:`xinli_screen.responses`.

Used by readers that meet labels outside a table cell: SPSS value labels, FHIR answer codings.
Text is folded with NFKC (full-width letters, digits and punctuation become ASCII), stripped and
case-folded; a leading option letter such as ``A.``, ``A、`` or ``B)`` is ignored.
"""

from __future__ import annotations

import re
import unicodedata

from xinli_screen.instrument.models import ResponseScale

__all__ = ["norm_text", "option_code", "option_labels"]

_PREFIX = re.compile(r"^[A-Za-z]\s*[.、:)\]]\s*")


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


def option_code(label: str, scale: ResponseScale) -> int | None:
    """The code of the option ``label`` names (letter prefix tolerated), else None."""
    labels = option_labels(scale)
    text = norm_text(label)
    for candidate in (text, _PREFIX.sub("", text)):
        if candidate in labels:
            return labels[candidate]
    return None
