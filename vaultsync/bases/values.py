"""Bases values: the types Obsidian's Bases have, and the operators on them. Pure.

Types ("Bases syntax" > Types; "Functions"): null is ``None``; text ``str``; number ``int`` or
``float``; checkbox (boolean) ``bool``; list ``list``; object ``dict``; and the classes here: a
:class:`Date` (a date, or a date and time), a :class:`Duration`, a :class:`LinkValue`, a
:class:`FileValue` (a row's file) and a :class:`Regex`. "Bases functions follow JavaScript
behavior", so truthiness, ``+`` on text and number formatting follow JavaScript.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vaultsync.bases.records import Record


class EvalError(ValueError):
    """An expression that cannot be computed for one row (a bad argument, an unknown method)."""


@dataclass(frozen=True, slots=True)
class Date:
    """A date (``has_time`` False: midnight, shown without a time) or a date and time (local, naive)."""

    dt: datetime
    has_time: bool = True

    @property
    def ms(self) -> float:
        """Milliseconds since the Unix epoch, as ``number(date)`` gives them."""
        return self.dt.timestamp() * 1000.0


@dataclass(frozen=True, slots=True)
class Duration:
    """A span of calendar months plus milliseconds ("Bases syntax" > Date arithmetic)."""

    months: int = 0
    ms: float = 0.0


@dataclass(frozen=True, slots=True)
class LinkValue:
    """A link: its path as written, display text, and the vault file it resolves to (or None)."""

    path: str
    display: str | None = None
    dest: str | None = None


@dataclass(frozen=True, slots=True)
class Regex:
    pattern: re.Pattern[str]
    global_: bool


@dataclass(frozen=True, slots=True)
class FileValue:
    """A vault file as a value: ``file`` of a row, ``this``, an element of ``file.backlinks``."""

    record: Record = field(compare=False)
    uri: str = ""


_UNITS = {
    "y": (12, 0), "year": (12, 0), "years": (12, 0),
    "M": (1, 0), "month": (1, 0), "months": (1, 0),
    "w": (0, 7 * 86_400_000), "week": (0, 7 * 86_400_000), "weeks": (0, 7 * 86_400_000),
    "d": (0, 86_400_000), "day": (0, 86_400_000), "days": (0, 86_400_000),
    "h": (0, 3_600_000), "hour": (0, 3_600_000), "hours": (0, 3_600_000),
    "m": (0, 60_000), "minute": (0, 60_000), "minutes": (0, 60_000),
    "s": (0, 1000), "second": (0, 1000), "seconds": (0, 1000),
}  # fmt: skip
_DURATION_PART = re.compile(r"\s*([-+]?\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*")


def parse_duration(text: str) -> Duration:
    """ "1M", "4h", "1 day", "2w 3d": the units of "Bases syntax" > Date arithmetic (``M`` is a
    month, ``m`` a minute). EvalError for anything else."""
    months, ms, at = 0, 0.0, 0
    text = text.strip()
    while at < len(text):
        m = _DURATION_PART.match(text, at)
        unit = _UNITS.get(m.group(2)) if m else None
        if unit is None:
            unit = _UNITS.get(m.group(2).lower()) if m and len(m.group(2)) > 1 else None
        if m is None or unit is None:
            raise EvalError(f"not a duration: {text!r}")
        amount = float(m.group(1))
        months += int(amount) * unit[0]
        ms += amount * unit[1]
        at = m.end()
    if not text:
        raise EvalError("not a duration: ''")
    return Duration(months, ms)


def shift(date: Date, d: Duration, sign: int = 1) -> Date:
    """A date moved by a duration: months on the calendar (day clamped to the month's end), then time."""
    dt = date.dt
    if d.months:
        total = dt.year * 12 + dt.month - 1 + sign * d.months
        year, month = divmod(total, 12)
        day = min(dt.day, calendar.monthrange(year, month + 1)[1])
        dt = dt.replace(year=year, month=month + 1, day=day)
    dt = dt + timedelta(milliseconds=sign * d.ms)
    return Date(dt, date.has_time or bool(d.ms % 86_400_000))


_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?(Z|[+-]\d{2}:?\d{2})?$")


def parse_date(text: str) -> Date | None:
    """``YYYY-MM-DD``, optionally with `` HH:mm[:ss[.SSS]]`` or ``T`` between (the form of
    ``date()`` and of date/datetime properties); None when it is not one. An offset is converted
    to local time."""
    m = _DATE.match(text.strip())
    if m is None:
        return None
    y, mo, d, h, mi, s, frac, tz = m.groups()
    try:
        dt = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), int((frac or "0").ljust(6, "0")))
    except ValueError:
        return None
    if tz:
        iso = datetime.fromisoformat(text.strip().replace(" ", "T").replace("Z", "+00:00"))
        dt = iso.astimezone().replace(tzinfo=None)
    return Date(dt, h is not None)


def type_name(v: Any) -> str:
    """The type name ``isType`` compares with."""
    return _TYPE_NAMES.get(type(v), "object")


_TYPE_NAMES: dict[type, str] = {
    type(None): "null", bool: "boolean", int: "number", float: "number", str: "string", list: "list", dict: "object",
    Date: "date", Duration: "duration", LinkValue: "link", FileValue: "file", Regex: "regexp",
}  # fmt: skip


def truthy(v: Any) -> bool:
    """JavaScript truthiness: null, false, 0, NaN and "" are false; lists and objects are true."""
    if v is None or v is False:
        return False
    if isinstance(v, int | float):
        return v != 0 and not (isinstance(v, float) and math.isnan(v))
    if isinstance(v, str):
        return v != ""
    return True


def is_empty(v: Any) -> bool:
    """``isEmpty()``: null, "", an empty list or object ("Functions": "or is not present")."""
    if v is None:
        return True
    if isinstance(v, str | list | dict):
        return len(v) == 0
    return False


def number_text(n: float) -> str:
    """A number as JavaScript prints it: ``3`` not ``3.0``."""
    if isinstance(n, bool):
        return "true" if n else "false"
    if isinstance(n, int):
        return str(n)
    if math.isnan(n):
        return "NaN"
    if math.isinf(n):
        return "Infinity" if n > 0 else "-Infinity"
    if n == int(n) and abs(n) < 1e21:
        return str(int(n))
    return repr(n)


def to_text(v: Any) -> str:
    """``toString()``: the text a value shows as (a date as ``YYYY-MM-DD`` or ``YYYY-MM-DD HH:mm:ss``)."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool | int | float):
        return number_text(v)
    if isinstance(v, Date):
        return v.dt.strftime("%Y-%m-%d %H:%M:%S" if v.has_time else "%Y-%m-%d")
    if isinstance(v, list):
        return ", ".join(to_text(x) for x in v)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {to_text(x)}" for k, x in v.items()) + "}"
    if isinstance(v, LinkValue):
        return v.display or v.path
    if isinstance(v, FileValue):
        return v.uri
    if isinstance(v, Duration):
        return duration_text(v)
    if isinstance(v, Regex):
        return "/" + v.pattern.pattern + "/"
    return str(v)


def duration_text(d: Duration) -> str:
    parts = [f"{d.months}M"] if d.months else []
    rest = d.ms
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if abs(rest) >= size:
            parts.append(f"{int(rest // size)}{unit}")
            rest %= size
    return " ".join(parts) or "0s"


def target_of(v: Any) -> str | None:
    """The vault file a link, file or ``this`` stands for (None for anything else or unresolved)."""
    if isinstance(v, FileValue):
        return v.uri
    if isinstance(v, LinkValue):
        return v.dest
    return None


def equal(a: Any, b: Any) -> bool:
    """``==``: same type and value; links equal when they open the same file (or, unresolved, have
    the same text), and a link equals the file it resolves to ("Bases syntax" > Files and links)."""
    if isinstance(a, LinkValue | FileValue) and isinstance(b, LinkValue | FileValue):
        ta, tb = target_of(a), target_of(b)
        if ta is not None or tb is not None:
            return ta == tb
        return isinstance(a, LinkValue) and isinstance(b, LinkValue) and a.path == b.path
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, Date) and isinstance(b, Date):
        return a.dt == b.dt
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    return bool(a == b)


def order_key(v: Any) -> tuple[int, Any]:
    """A sort key: numbers, then dates, then text (case-insensitive), then the rest as text."""
    if isinstance(v, bool):
        return (0, int(v))
    if isinstance(v, int | float):
        return (0, v)
    if isinstance(v, Date):
        return (1, v.dt)
    if isinstance(v, Duration):
        return (0, v.months * 30 * 86_400_000 + v.ms)
    return (2, to_text(v).casefold())


def compare(op: str, a: Any, b: Any) -> bool:
    """``<``, ``<=``, ``>``, ``>=``: numbers with numbers, dates with dates, text with text; any
    other pair (null included) is false."""
    x: Any
    y: Any
    if isinstance(a, Date) and isinstance(b, Date):
        x, y = a.dt, b.dt
    elif isinstance(a, int | float) and isinstance(b, int | float):
        x, y = a, b
    elif isinstance(a, str) and isinstance(b, str):
        x, y = a, b
    else:
        return False
    if op == "<":
        return bool(x < y)
    if op == "<=":
        return bool(x <= y)
    if op == ">":
        return bool(x > y)
    return bool(x >= y)


def arithmetic(op: str, a: Any, b: Any) -> Any:
    """``+ - * / %``: numbers; ``+`` joins when either side is text; a date plus or minus a
    duration (or duration text) is a date; a date minus a date is milliseconds; null in, null out."""
    if a is None or b is None:
        return None
    if isinstance(a, Date):
        if isinstance(b, Date) and op == "-":
            return a.ms - b.ms
        if op in "+-" and isinstance(b, str | Duration):
            return shift(a, b if isinstance(b, Duration) else parse_duration(b), 1 if op == "+" else -1)
    if isinstance(a, Duration):
        if isinstance(b, int | float) and op in "*/":
            f = b if op == "*" else 1 / b
            return Duration(round(a.months * f), a.ms * f)
        if isinstance(b, Duration | str) and op in "+-":
            d = b if isinstance(b, Duration) else parse_duration(b)
            s = 1 if op == "+" else -1
            return Duration(a.months + s * d.months, a.ms + s * d.ms)
    if op == "+" and (isinstance(a, str) or isinstance(b, str)):
        return to_text(a) + to_text(b)
    if isinstance(a, list) and isinstance(b, list) and op == "+":
        return a + b
    if isinstance(a, int | float) and isinstance(b, int | float):
        x, y = float(a) if isinstance(a, bool) else a, float(b) if isinstance(b, bool) else b
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op == "*":
            return x * y
        if op == "/":
            return (x / y) if y else (math.nan if x == 0 else math.copysign(math.inf, x) * (1 if y >= 0 else -1))
        if op == "%":
            return math.fmod(x, y) if y else math.nan
    raise EvalError(f"cannot apply {op!r} to {type_name(a)} and {type_name(b)}")
