"""Date text for Bases: Moment.js format strings (``date.format()``) and ``date.relative()``. Pure.

"Functions" > Date type: ``format`` "Returns the date formatted as specified by a Moment.js
format string"; ``relative`` "Returns a readable comparison of the date to the current datetime"
(``3 days ago``), which is Moment's ``fromNow`` with its English thresholds.
"""

from __future__ import annotations

import re
from datetime import datetime

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# longest tokens first, as Moment matches them; [text] is copied literally
_TOKEN = re.compile(r"\[[^\]]*\]|YYYY|YY|MMMM|MMM|MM|M|Do|DDDD|DD|D|dddd|ddd|dd|d|HH|H|hh|h|mm|m|ss|s|SSS|SS|S|A|a|X|x|ZZ|Z|E|Q")


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def format_date(dt: datetime, fmt: str) -> str:
    """``dt`` as Moment's ``format(fmt)`` writes it (English locale; local time, no offset tokens
    beyond ``Z``/``ZZ`` as ``+00:00``/``+0000`` of the local zone)."""

    def token(m: re.Match[str]) -> str:
        t = m.group()
        if t.startswith("["):
            return t[1:-1]
        h12 = dt.hour % 12 or 12
        offset = dt.astimezone().strftime("%z")
        table = {
            "YYYY": f"{dt.year:04d}", "YY": f"{dt.year % 100:02d}",
            "MMMM": _MONTHS[dt.month - 1], "MMM": _MONTHS[dt.month - 1][:3], "MM": f"{dt.month:02d}", "M": str(dt.month),
            "Do": _ordinal(dt.day), "DDDD": f"{dt.timetuple().tm_yday:03d}", "DD": f"{dt.day:02d}", "D": str(dt.day),
            "dddd": _DAYS[dt.weekday()], "ddd": _DAYS[dt.weekday()][:3], "dd": _DAYS[dt.weekday()][:2],
            "d": str((dt.weekday() + 1) % 7), "E": str(dt.weekday() + 1),
            "HH": f"{dt.hour:02d}", "H": str(dt.hour), "hh": f"{h12:02d}", "h": str(h12),
            "mm": f"{dt.minute:02d}", "m": str(dt.minute), "ss": f"{dt.second:02d}", "s": str(dt.second),
            "SSS": f"{dt.microsecond // 1000:03d}", "SS": f"{dt.microsecond // 10000:02d}", "S": str(dt.microsecond // 100000),
            "A": "AM" if dt.hour < 12 else "PM", "a": "am" if dt.hour < 12 else "pm",
            "X": str(int(dt.timestamp())), "x": str(int(dt.timestamp() * 1000)),
            "Z": f"{offset[:3]}:{offset[3:]}", "ZZ": offset, "Q": str((dt.month - 1) // 3 + 1),
        }  # fmt: skip
        return table[t]

    return _TOKEN.sub(token, fmt)


def relative(dt: datetime, now: datetime) -> str:
    """Moment's ``fromNow``: "a few seconds ago", "5 minutes ago", "in 3 days", "a year ago"..."""
    seconds = (now - dt).total_seconds()
    past = seconds >= 0
    s = abs(seconds)
    minutes, hours, days = s / 60, s / 3600, s / 86400
    if s < 45:
        text = "a few seconds"
    elif s < 90:
        text = "a minute"
    elif minutes < 45:
        text = f"{round(minutes)} minutes"
    elif minutes < 90:
        text = "an hour"
    elif hours < 22:
        text = f"{round(hours)} hours"
    elif hours < 36:
        text = "a day"
    elif days < 26:
        text = f"{round(days)} days"
    elif days < 45:
        text = "a month"
    elif days < 320:
        text = f"{round(days / 30.4)} months"
    elif days < 548:
        text = "a year"
    else:
        text = f"{round(days / 365.25)} years"
    return f"{text} ago" if past else f"in {text}"
