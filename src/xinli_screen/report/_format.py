"""Display formats shared by the HTML reports: local times and numbers.

Times are stored in UTC as ISO 8601 text (``2026-09-15T06:03:11+00:00``); reports show them in
the wave's time zone as ``2026-09-15 14:03`` (the calendar date and 24-hour time of ISO 8601 /
GB/T 7408-2005, with a space for the ``T`` as ISO 8601-1:2019 permits by agreement and as
Chinese school forms write it).

Numbers are rounded half up (the rule the scoring engine uses for ``rounding: nearest``), never
with Python's ``round`` (half to even), so that a printed 2.5 reads 3 everywhere.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

__all__ = ["DEFAULT_TIMEZONE", "format_local_time", "format_number", "local_zone"]

#: Time zone of a wave stored without one (and of events of no wave).
DEFAULT_TIMEZONE = "Asia/Shanghai"

#: Zones that keep UTC+8 all year (no daylight saving since 1991), used when the system has
#: no time-zone database (a Windows Python without the ``tzdata`` package).
_UTC8 = {"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "Asia/Urumqi",
         "PRC", "Asia/Hong_Kong", "Hongkong", "Asia/Macau", "Asia/Taipei", "ROC"}


@lru_cache(maxsize=64)
def local_zone(name: str | None) -> tzinfo:
    """The ``tzinfo`` of an IANA zone name (``None`` or empty: :data:`DEFAULT_TIMEZONE`).

    Parameters
    ----------
    name : str or None
        IANA time-zone name, e.g. ``Asia/Shanghai``.

    Returns
    -------
    tzinfo
        The zone; a fixed UTC+08:00 for the Chinese zones when the system has no time-zone
        database; UTC for an unknown name.
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = name or DEFAULT_TIMEZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name in _UTC8:
            return timezone(timedelta(hours=8), "CST")
        return timezone.utc


def format_local_time(value: Any, zone: str | None = None, *, seconds: bool = False) -> str:
    """A stored time as local text: ``2026-09-15 14:03``.

    Parameters
    ----------
    value : str, datetime or None
        ISO 8601 text or a datetime. A time without an offset is taken as UTC (the archive
        stores UTC).
    zone : str, optional
        IANA zone (default :data:`DEFAULT_TIMEZONE`).
    seconds : bool
        Add ``:ss``.

    Returns
    -------
    str
        ``YYYY-MM-DD HH:MM`` in ``zone``; ``""`` for None or empty text; text that is not a
        time comes back unchanged.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, datetime):
        when = value
    else:
        text = str(value).strip()
        if not text:
            return ""
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    local = when.astimezone(local_zone(zone))
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def format_number(value: Any, decimals: int) -> str:
    """``value`` rounded half up to ``decimals`` places; ``""`` for None / NaN.

    Parameters
    ----------
    value : float, int, str or None
    decimals : int
        Places after the point (0: an integer, never ``15.0``).

    Returns
    -------
    str
        ``"15"``, ``"1.85"``, ``"-0.5"``; text that is not a number comes back unchanged.
    """
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite():
        return ""
    text = f"{number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP):f}"
    return text[1:] if text.startswith("-") and Decimal(text) == 0 else text
