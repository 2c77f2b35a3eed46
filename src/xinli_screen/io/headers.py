"""Repeated header names: finding them, renaming the repeats as pandas does, the message.

Shared by the whole-file readers (:mod:`xinli_screen.io.readers`), the Excel reader
(:mod:`xinli_screen.io.excel`) and the streamed reader, and importing none of them.
"""

from __future__ import annotations

__all__ = ["DUPLICATES", "dedupe_names", "duplicate_headers", "duplicate_message"]

#: Key in ``DataFrame.attrs`` and in ``info``: header names given more than once,
#: name -> 1-based column positions (the repeats are renamed ``name.1`` ... as pandas does).
DUPLICATES = "duplicate_columns"


def duplicate_headers(header: list[object]) -> dict[str, list[int]]:
    """Header names (blanks stripped) given more than once, with their 1-based positions.

    Parameters
    ----------
    header : list
        The header cells in file order; ``None``, NaN, blank and pandas' ``Unnamed: j``
        placeholders count as no name.

    Returns
    -------
    dict of str -> list of int
        Each repeated name and the 1-based columns that carry it (empty when none repeats).
    """
    seen: dict[str, list[int]] = {}
    for j, name in enumerate(header, start=1):
        text = "" if name is None or (isinstance(name, float) and name != name) else str(name)
        text = text.strip()
        if text and not text.startswith("Unnamed: "):
            seen.setdefault(text, []).append(j)
    return {name: where for name, where in seen.items() if len(where) > 1}


def dedupe_names(names: list[str]) -> list[str]:
    """pandas' rule for repeated header names: ``a``, ``a.1``, ``a.2``.

    Parameters
    ----------
    names : list of str
        Header names in file order.

    Returns
    -------
    list of str
        Same length and order; a repeat gets the next free ``name.k`` (as
        ``pandas.read_csv`` names it), so every name is unique.
    """
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            new = f"{name}.{seen[name]}"
            while new in seen:
                seen[name] += 1
                new = f"{name}.{seen[name]}"
            seen[new] = 0
            out.append(new)
        else:
            seen[name] = 0
            out.append(name)
    return out


def duplicate_message(dups: dict[str, list[int]]) -> str:
    """The data problem for duplicated header names that scoring would read (no cells).

    Parameters
    ----------
    dups : dict of str -> list of int
        From :func:`duplicate_headers`; the first five are listed.

    Returns
    -------
    str
        The message (header names and column positions only, never a cell value).
    """
    listed = "; ".join(f"{name!r} in columns {', '.join(map(str, where))}"
                       for name, where in list(dups.items())[:5])
    return (f"the header names a column more than once ({listed}); an answer read from one "
            "would silently ignore the other: rename or delete the extra column "
            "(see docs/errors.md#duplicate-columns)")
