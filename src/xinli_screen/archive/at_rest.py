"""What the pupil file may keep at rest: an allow-list of attributes, a refusal of identity
numbers, phone numbers and IP addresses, and only the engine's own result columns.

Mental-health data of minors is sensitive personal information (PIPL art. 28; see
shared/research/china_practice.md 1.6): the archive keeps what the screening needs and nothing
an input file happened to carry.

- **Attributes** (roster fields stored with each sheet): ``school``, ``grade``, ``class``,
  ``sex`` (and their Chinese headers 学校, 年级, 班级, 性别) by default; a district adds its own
  (e.g. 留守, 走读) by naming them. Names are stored only with ``keep_names``.
- **Refused**, even when named: a column whose header says identity number, phone, IP address,
  address, e-mail, WeChat or QQ, or whose cells look like a Chinese resident identity number
  (GB 11643-1999: 17 digits and a check character), a mainland mobile number or an IPv4
  address. The message names the column, never a value.
- **Result rows** keep the columns the engine produces (``{instrument}.*``, ``careless.*``,
  status, tiers, reasons ...); any other column of a results file (passed through from the
  answers: IP, 来源, free text) is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from xinli_screen.archive.base import ArchiveError

__all__ = ["DEFAULT_ATTRIBUTES", "ENGINE_COLUMNS", "allowed_attributes", "engine_columns",
           "refuse_sensitive", "refuse_sensitive_names"]

#: Roster fields stored by default.
DEFAULT_ATTRIBUTES: tuple[str, ...] = ("school", "grade", "class", "sex", "学校", "年级", "班级",
                                       "性别")
#: Result columns the engine writes besides the ``{instrument}.*`` and ``careless.*`` ones.
ENGINE_COLUMNS: frozenset[str] = frozenset({
    "status", "status_detail", "critical_items", "critical_unknown", "protocol_valid",
    "validity_reasons", "warning_tier", "warning_label", "review_status", "tier_settled",
    "reasons", "reason_codes", "row", "file_row", "source_ref"})
_ENGINE = re.compile(r"^[a-z][a-z0-9_]*\.[A-Za-z0-9_.]+$")
_SENSITIVE_HEADER = re.compile(
    r"身份证|证件|id_?card|identity|护照|passport|phone|手机|电话|mobile|tel\b|联系方式|"
    r"(^|[^a-z])ip($|[^a-z])|ip地址|来源ip|住址|地址|address|e-?mail|邮箱|微信|wechat|qq",
    re.IGNORECASE)
_ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")
_MOBILE = re.compile(r"^(\+?86[- ]?)?1[3-9]\d{9}$")
_IPV4 = re.compile(r"^(\d{1,3}\.){3}\d{1,3}$")


def allowed_attributes(columns: Iterable[str], extra: Sequence[str] | None = None) -> list[str]:
    """The columns of ``columns`` that may be stored as attributes.

    Parameters
    ----------
    columns : iterable of str
        Columns available (roster or results).
    extra : sequence of str, optional
        Columns the district names in addition to :data:`DEFAULT_ATTRIBUTES`; when given,
        these and the defaults are stored.

    Returns
    -------
    list of str
        In the order of ``columns``.
    """
    allowed = {*DEFAULT_ATTRIBUTES, *(extra or ())}
    return [str(c) for c in columns if str(c).strip() in allowed or str(c) in allowed]


def refuse_sensitive(frame: pd.DataFrame, columns: Iterable[str], *, where: str) -> None:
    """Refuse to store a column that holds identity numbers, phone numbers or IP addresses.

    Parameters
    ----------
    frame : DataFrame
    columns : iterable of str
        The columns about to be stored.
    where : str
        What is being imported (the file or part name), for the message.

    Raises
    ------
    ArchiveError
        Naming the column and why (its header, or the share of cells that look like an
        identity number, a mobile number or an IPv4 address); never a value.
    """
    for col in columns:
        if col not in frame.columns:
            continue
        refuse_sensitive_names([str(col)], where=where)
        cells = frame[col].dropna().astype(str).str.strip()
        counts = cells[cells.ne("")].value_counts()  # each distinct value matched once
        if not len(counts):
            continue
        values = pd.Series(counts.index, dtype=object)
        weights = counts.to_numpy()
        for label, pattern in (("resident identity numbers", _ID_NUMBER),
                               ("mobile phone numbers", _MOBILE), ("IP addresses", _IPV4)):
            share = float((values.str.match(pattern).to_numpy() * weights).sum()
                          / weights.sum())
            if share >= 0.2:
                raise ArchiveError(f"{where}: {share:.0%} of the cells of column {col!r} look "
                                   f"like {label}; the pupil file does not store them")


def refuse_sensitive_names(names: Mapping[str, str] | Iterable[str], *, where: str) -> None:
    """Refuse attributes whose name, or the name of the column they are taken from, says
    identity number, phone, IP address, address, e-mail, WeChat or QQ.

    A renamed attribute (``idno`` taken from ``身份证号``, as ``--attributes idno=身份证号`` or
    ``roster.attributes: {idno: 身份证号}`` in a wave definition) is judged by both names: an
    alias does not let an identity column in.

    Parameters
    ----------
    names : mapping attribute -> source column, or iterable of str
        Attribute names; in an iterable, ``ALIAS=SOURCE`` names both.
    where : str
        What is being imported, for the message.

    Raises
    ------
    ArchiveError
        Naming the column (a header, never a value) and why.
    """
    if isinstance(names, Mapping):
        pairs = [(str(alias), str(source)) for alias, source in names.items()]
    else:
        pairs = [(alias, source or alias) for alias, _, source in
                 (str(n).partition("=") for n in names)]
    for alias, source in pairs:
        for col in dict.fromkeys((source.strip(), alias.strip())):
            if _SENSITIVE_HEADER.search(col):
                raise ArchiveError(f"{where}: column {col!r} looks like personal contact or "
                                   "identity data by its name; the pupil file does not store "
                                   "it, under any attribute name (leave it out of the "
                                   "attributes)")


def engine_columns(columns: Iterable[str]) -> list[str]:
    """The result columns produced by the engine (the others are not stored)."""
    return [str(c) for c in columns if str(c) in ENGINE_COLUMNS or _ENGINE.match(str(c))]
