"""Turn what clinics actually type into cells into plain Python values.

Each reader returns ``(value, None)`` or ``(None, reason)``; the reason is a
phrase a billing clerk understands, which the engine turns into a Problem
naming the row and column. Nothing here raises on bad input.
"""
from __future__ import annotations

import datetime as dt
import math
import re

from .vocabulary import Vocabulary, default_vocabulary, fold

EXCEL_EPOCH = dt.datetime(1899, 12, 30)   # serial 0 in the 1900 date system
_MIN_SERIAL, _MAX_SERIAL = 1, 2958465     # 1900-01-01 .. 9999-12-31
MINUTE_DIGITS = 4                         # minutes are kept to 1/10,000 (well under a second)


def is_blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def text(value) -> str:
    """A cell as text: stripped, numbers typed for IDs without a trailing .0."""
    if value.__class__ is str:
        return " ".join(value.split())
    if is_blank(value):
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return " ".join(str(value).split())


def code(value) -> str:
    """A HCPCS code or modifier: upper case, no spaces ('g 9008 ' -> 'G9008')."""
    return "".join(text(value).split()).upper()


_US_DATE = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{2}|\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
# Month-name dates; the names come from the vocabulary (profiles/vocabulary.toml).
_NAME_DAY_YEAR = re.compile(r"^([^\W\d_]+)\.?\s*(\d{1,2})(?:st|nd|rd|th)?\s*,?\s*(\d{4})$")      # Nov 13, 2026
_DAY_NAME_YEAR = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?[\s-]*([^\W\d_]+)\.?[\s,-]*(\d{2}|\d{4})$")  # 3-Nov-2026


def from_serial(serial: float) -> dt.datetime:
    return EXCEL_EPOCH + dt.timedelta(days=serial)


def to_date(value, vocab: Vocabulary | None = None):
    """A date from a date, datetime, Excel serial, ISO or US text, or text with a
    month name ('Nov 13, 2026', '3-Nov-2026', 'November 3, 2026')."""
    if isinstance(value, dt.datetime):
        return value.date(), None
    if isinstance(value, dt.date):
        return value, None
    if isinstance(value, bool):
        return None, f"{text(value)!r} is not a date"
    if isinstance(value, (int, float)):
        if not _MIN_SERIAL <= value <= _MAX_SERIAL:
            return None, f"{text(value)!r} is not a date"
        return from_serial(float(value)).date(), None
    s = text(value)
    m = _ISO_DATE.match(s)
    try:
        if m:
            return _plausible(dt.date(int(m[1]), int(m[2]), int(m[3])), s)
        m = _US_DATE.match(s)
        if m:
            year = int(m[3])
            if len(m[3]) == 2:
                year += 2000
            return _plausible(dt.date(year, int(m[1]), int(m[2])), s)
        named = _named_date(s, vocab or default_vocabulary())
        if named is not None:
            return _plausible(named, s)
    except ValueError:
        pass
    if s.replace(".", "", 1).isdigit():  # a serial typed as text, e.g. "46296"
        d, _ = to_date(float(s))
        if d is not None:
            return d, None
    return None, f"{s!r} is not a date (type it as m/d/yyyy)"


def _named_date(s: str, vocab: Vocabulary):
    """The date of text with a month name, or None (ValueError for a day the month lacks)."""
    m = _NAME_DAY_YEAR.match(s)
    if m and fold(m[1]) in vocab.months:
        return dt.date(int(m[3]), vocab.months[fold(m[1])], int(m[2]))
    m = _DAY_NAME_YEAR.match(s)
    if m and fold(m[2]) in vocab.months:
        year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
        return dt.date(year, vocab.months[fold(m[2])], int(m[1]))
    return None


def _plausible(d: dt.date, s: str):
    if 1900 <= d.year <= 2199:
        return d, None
    return None, f"{s!r} is not a plausible date"


def to_month(value, vocab: Vocabulary | None = None):
    """The first day of a month, from a date or text like '2026-10' or 'Oct 2026'."""
    s = text(value)
    m = re.match(r"^(\d{4})-(\d{1,2})$", s) or re.match(r"^(\d{1,2})/(\d{4})$", s)
    if m:
        year, month = (int(m[1]), int(m[2])) if len(m[1]) == 4 else (int(m[2]), int(m[1]))
        if 1 <= month <= 12:
            return dt.date(year, month, 1), None
    months = (vocab or default_vocabulary()).months
    m = re.match(r"^([^\W\d_]+)\.?,?\s+(\d{4})$", s)
    if m and fold(m[1]) in months:
        return dt.date(int(m[2]), months[fold(m[1])], 1), None
    d, err = to_date(value, vocab)
    if d is None:
        return None, f"{s!r} is not a month (type it as 10/1/2026 or 2026-10)"
    return d.replace(day=1), None


_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*([ap])?\.?\s*m?\.?$", re.I)


def to_time(value):
    """A time of day from a time, datetime, day fraction, or text like '9:30 AM'."""
    if isinstance(value, dt.datetime):
        return value.time().replace(microsecond=0), None
    if isinstance(value, dt.time):
        return value.replace(microsecond=0), None
    if isinstance(value, dt.timedelta):
        value = value.total_seconds() / 86400
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        frac = float(value) % 1.0 if value >= 1 else float(value)
        if 0 <= frac < 1:
            secs = round(frac * 86400)
            if secs >= 86400:
                secs = 86399
            return dt.time(secs // 3600, secs % 3600 // 60, secs % 60), None
    s = text(value)
    m = _TIME.match(s)
    if m and (m[2] is not None or m[4]):
        hour, minute, second = int(m[1]), int(m[2] or 0), int(m[3] or 0)
        if m[4]:
            if not 1 <= hour <= 12:
                return None, f"{s!r} is not a time of day"
            hour = hour % 12 + (12 if m[4].lower() == "p" else 0)
        if hour < 24 and minute < 60 and second < 60:
            return dt.time(hour, minute, second), None
    return None, f"{s!r} is not a time of day (type it as 9:30 AM or 13:30)"


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*([^\W\d_]*)\.?")
_HMS = re.compile(r"^(\d+):(\d{2})(?::(\d{2}))?$")


def to_minutes(value, vocab: Vocabulary | None = None):
    """Minutes from a number, a duration (time value, timedelta), or text: '45',
    '45 min', '1 hr', '1.5 hrs', '1h 30m', '90 min.', or h:mm ('1:30', '0:45:00').
    The words of durations come from the vocabulary (profiles/vocabulary.toml)."""
    if isinstance(value, bool):
        return None, f"{text(value)!r} is not a number of minutes"
    if isinstance(value, (int, float)):
        x = float(value)
        if not math.isfinite(x):
            return None, "is not a finite number"
        return round(x, MINUTE_DIGITS), None      # 1e-300 is 0, not a sliver that bills a unit
    if isinstance(value, dt.timedelta):
        return round(value.total_seconds() / 60, MINUTE_DIGITS), None
    if isinstance(value, dt.datetime):
        # a duration cell handed over as a date-time on Excel's day 0 (1899-12-30,
        # '1:30' in an h:mm cell) or day 1 (a duration past 24 hours)
        if value.year < 1900:
            return round((value - EXCEL_EPOCH).total_seconds() / 60, MINUTE_DIGITS), None
        return None, f"{text(value)!r} is a date, not a number of minutes"
    if isinstance(value, dt.time):  # a duration typed into a time-formatted cell
        return value.hour * 60 + value.minute + value.second / 60, None
    s = text(value).lower()
    m = _HMS.match(s)
    if m:
        return int(m[1]) * 60 + int(m[2]) + int(m[3] or 0) / 60, None
    minutes = _duration_text(s, vocab or default_vocabulary())
    if minutes is not None:
        return minutes, None
    return None, f"{text(value)!r} is not a number of minutes"


def _duration_text(s: str, vocab: Vocabulary):
    """Minutes of text like '1 hr 30 min', '1h30m', '1.5 hrs' or '45'; None if it isn't one."""
    s = s.replace(",", " ").replace(" and ", " ").strip()
    total, pos, parts = 0.0, 0, 0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if not m:
            return None
        word = fold(m[2])
        if word in vocab.hour_words:
            total += float(m[1]) * 60
        elif word in vocab.minute_words or (not word and parts == 0):
            total += float(m[1])
        else:
            return None
        parts += 1
        pos = m.end()
        while pos < len(s) and s[pos] == " ":
            pos += 1
        if not word and pos < len(s):
            return None   # a bare number is minutes only when it is all there is
    return total if parts else None


_FORMAT_NOISE = re.compile(r'"[^"]*"|\\.|\[(?![hms]+\])[^\]]*\]|_.|\*.', re.I)


def is_duration_format(number_format) -> bool:
    """True for an Excel number format that shows a time or duration ('[h]:mm',
    'h:mm', 'mm:ss', '[mm]') and no date: a number under it is a fraction of a day."""
    f = _FORMAT_NOISE.sub("", str(number_format or "")).lower()
    return bool(re.search(r"[hs]|\[m+\]|m+:|:m+", f)) and not re.search(r"[dy]", f)


def to_number(value):
    """A plain number from a number or numeric text ('160', ' 95.5 ')."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), None
    s = text(value)
    if re.fullmatch(r"-?(?:\d+(?:\.\d*)?|\.\d+)", s):
        return float(s), None
    return None, f"{s!r} is not a number"


def to_int(value):
    n, err = to_number(value)
    if n is None or not float(n).is_integer():
        return None, f"{text(value)!r} is not a whole number"
    return int(n), None


def to_bool(value, yes=("yes", "y", "true", "1", "x"), no=("no", "n", "false", "0")):
    if isinstance(value, bool):
        return value, None
    key = text(value).casefold()
    if key in {v.casefold() for v in yes}:
        return True, None
    if key in {v.casefold() for v in no} or key == "":
        return False, None
    return None, f"{text(value)!r} is not Yes or No"


def npi_is_valid(npi: str) -> bool:
    """The NPI check digit: Luhn over the 80840 prefix and the first nine digits."""
    if not re.fullmatch(r"\d{10}", npi or ""):
        return False
    digits = [int(c) for c in "80840" + npi]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return total % 10 == 0


def minutes_between(start: dt.time, end: dt.time) -> float:
    return (_secs(end) - _secs(start)) / 60


def _secs(t: dt.time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def add_minutes(t: dt.time, minutes: float) -> float:
    """Seconds after midnight of `t` plus `minutes` (may pass midnight)."""
    return _secs(t) + minutes * 60


def seconds(t: dt.time) -> int:
    return _secs(t)


def month_end(d: dt.date) -> dt.date:
    nxt = d.replace(day=28) + dt.timedelta(days=4)
    return nxt - dt.timedelta(days=nxt.day)


def clock(t: dt.time) -> str:
    """A time as a clerk reads it: '1:05 PM'."""
    return f"{(t.hour - 1) % 12 + 1}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"


def us_date(d: dt.date | None) -> str:
    return f"{d.month}/{d.day}/{d.year}" if d else ""
