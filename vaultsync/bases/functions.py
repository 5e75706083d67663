"""The Bases functions: global functions and the methods of each type, as Obsidian's "Functions"
page documents them, plus :data:`UNSUPPORTED`, the documented ones vaultsync does not evaluate.

A global function is ``f(env, args)``; a method is ``m(value, args)`` with its arguments already
evaluated. What needs more than that lives in :mod:`vaultsync.bases.evaluate`: ``if()`` (its
branches are evaluated lazily), the list methods that take an expression (``filter``, ``map``,
``reduce``), and ``asFile()`` and ``relative()``, which need the vault and the run's clock.
"""

from __future__ import annotations

import html
import math
import random
import re
import statistics
from collections.abc import Callable
from datetime import datetime
from typing import Any

from vaultsync.bases.dates import format_date
from vaultsync.bases.values import (
    Date,
    Duration,
    EvalError,
    FileValue,
    LinkValue,
    Regex,
    equal,
    is_empty,
    parse_date,
    parse_duration,
    target_of,
    to_text,
    truthy,
    type_name,
)

Global = Callable[[Any, list[Any]], Any]
MethodFn = Callable[[Any, list[Any]], Any]

#: Documented functions that only render inside Obsidian's own views; using one is a BaseError.
UNSUPPORTED: dict[str, str] = {
    "html": "html() renders an HTML snippet inside Obsidian; vaultsync prints values as text",
    "image": "image() renders an image inside Obsidian's views; vaultsync prints values as text",
    "icon": "icon() renders a Lucide icon inside Obsidian; vaultsync prints values as text",
}


def _arg(args: list[Any], i: int, default: Any = None) -> Any:
    return args[i] if i < len(args) else default


def _num(v: Any, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise EvalError(f"{what} needs a number, got {type_name(v)}")
    return v


def to_number(v: Any) -> Any:
    """``number()``: dates as epoch milliseconds, booleans 1/0, text parsed (an error if it is no number)."""
    if v is None:
        return None
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int | float):
        return v
    if isinstance(v, Date):
        return v.ms
    if isinstance(v, Duration):
        return v.months * 30 * 86_400_000 + v.ms
    if isinstance(v, str):
        try:
            f = float(v.strip())
        except ValueError:
            raise EvalError(f"not a number: {v!r}") from None
        return int(f) if f.is_integer() and "." not in v and "e" not in v.lower() else f
    raise EvalError(f"cannot make a number of a {type_name(v)}")


def to_date(v: Any) -> Any:
    if v is None or isinstance(v, Date):
        return v
    if isinstance(v, int | float) and not isinstance(v, bool):
        return Date(datetime.fromtimestamp(v / 1000))
    date = parse_date(to_text(v))
    if date is None:
        raise EvalError(f"not a date: {to_text(v)!r} (expected YYYY-MM-DD HH:mm:ss)")
    return date


def _link(env: Any, args: list[Any]) -> Any:
    target = _arg(args, 0)
    display = _arg(args, 1)
    if isinstance(target, FileValue):
        return LinkValue(target.uri, None if display is None else to_text(display), target.uri)
    if isinstance(target, LinkValue):
        return target if display is None else LinkValue(target.path, to_text(display), target.dest)
    return env.data.link(to_text(target), env.record.uri, display)


def _file(env: Any, args: list[Any]) -> Any:
    target = _arg(args, 0)
    uri = target_of(target) if isinstance(target, LinkValue | FileValue) else env.data.link(to_text(target), env.record.uri).dest
    return env.data.records[uri].file if uri in env.data.records else None


def _minmax(pick: Callable[..., Any]) -> Global:
    def fn(env: Any, args: list[Any]) -> Any:
        nums = [a for a in args if a is not None]
        return pick(_num(a, "max/min") for a in nums) if nums else None

    return fn


def _today(env: Any, args: list[Any]) -> Date:
    now: datetime = env.now
    return Date(now.replace(hour=0, minute=0, second=0, microsecond=0), False)


GLOBALS: dict[str, Global] = {
    "date": lambda env, a: to_date(_arg(a, 0)),
    "duration": lambda env, a: _arg(a, 0) if isinstance(_arg(a, 0), Duration) else parse_duration(to_text(_arg(a, 0))),
    "escapeHTML": lambda env, a: html.escape(to_text(_arg(a, 0))),
    "file": _file,
    "link": _link,
    "list": lambda env, a: _arg(a, 0) if isinstance(_arg(a, 0), list) else [_arg(a, 0)],
    "max": _minmax(max),
    "min": _minmax(min),
    "now": lambda env, a: Date(env.now),
    "number": lambda env, a: to_number(_arg(a, 0)),
    "random": lambda env, a: random.random(),  # noqa: S311 - not for secrets
    "today": _today,
}
LAZY_GLOBALS = ("if",)


# -- methods by type ---------------------------------------------------------------------------------


def _contains(v: Any, x: Any) -> bool:
    if isinstance(v, str):
        return to_text(x) in v
    if isinstance(v, list):
        return any(equal(item, x) for item in v)
    return False


def _replace(s: str, args: list[Any]) -> str:
    pattern, repl = _arg(args, 0), to_text(_arg(args, 1, ""))
    if isinstance(pattern, Regex):
        py_repl = re.sub(r"\$(\d)", r"\\\1", repl.replace("\\", "\\\\"))
        return pattern.pattern.sub(py_repl, s, count=0 if pattern.global_ else 1)
    return s.replace(to_text(pattern), repl)


def _split(s: str, args: list[Any]) -> list[str]:
    sep, n = _arg(args, 0, ""), _arg(args, 1)
    parts = sep.pattern.split(s) if isinstance(sep, Regex) else (list(s) if to_text(sep) == "" else s.split(to_text(sep)))
    return parts if n is None else parts[: int(_num(n, "split"))]


def _slice(v: Any, args: list[Any]) -> Any:
    start = int(_num(_arg(args, 0, 0), "slice"))
    end = _arg(args, 1)
    return v[start:] if end is None else v[start : int(_num(end, "slice"))]


def _round(n: Any, args: list[Any]) -> float:
    digits = int(_num(_arg(args, 0, 0), "round"))
    factor = 10**digits
    return float(math.floor(_num(n, "round") * factor + 0.5) / factor)  # JavaScript's Math.round: .5 goes up


def _to_fixed(n: Any, args: list[Any]) -> str:
    digits = int(_num(_arg(args, 0, 0), "toFixed"))
    return f"{_num(n, 'toFixed'):.{digits}f}"


def _flat(v: list[Any], args: list[Any]) -> list[Any]:
    return [y for x in v for y in (x if isinstance(x, list) else [x])]


def _sort(v: list[Any], args: list[Any]) -> list[Any]:
    from vaultsync.bases.values import order_key

    return sorted(v, key=order_key)


def _unique(v: list[Any], args: list[Any]) -> list[Any]:
    out: list[Any] = []
    for x in v:
        if not any(equal(x, y) for y in out):
            out.append(x)
    return out


def _has_tag(f: FileValue, args: list[Any]) -> bool:
    have = [t.lower() for t in f.record.tags]
    for want in args:
        w = to_text(want).lstrip("#").lower()
        if any(t == w or t.startswith(w + "/") for t in have):  # nested tags count ("Functions" > hasTag)
            return True
    return False


def _has_link(f: FileValue, args: list[Any]) -> bool:
    rec = f.record
    rec.data.need("links")
    other = _arg(args, 0)
    uri = target_of(other) if isinstance(other, LinkValue | FileValue) else rec.data.link(to_text(other), rec.uri).dest
    if uri is None:
        return False
    return any(link.dest == uri for link in (*rec.links, *rec.data.embeds.get(rec.uri, ())))


def _in_folder(f: FileValue, args: list[Any]) -> bool:
    folder = to_text(_arg(args, 0)).strip("/")
    return folder == "" or f.uri.startswith(folder + "/")


def _links_to(link: LinkValue, args: list[Any]) -> bool:
    data = _arg(args, 0)
    if link.dest is None or not isinstance(data, FileValue | LinkValue):
        return False
    records = data.record.data.records if isinstance(data, FileValue) else None
    if records is None or link.dest not in records:
        return False
    return _has_link(records[link.dest].file, [data])


ANY: dict[str, MethodFn] = {
    "isTruthy": lambda v, a: truthy(v),
    "isType": lambda v, a: type_name(v) == to_text(_arg(a, 0)).lower() or (type_name(v) == "list" and to_text(_arg(a, 0)) == "array"),
    "toString": lambda v, a: to_text(v),
    "isEmpty": lambda v, a: is_empty(v),
}
STRING: dict[str, MethodFn] = {
    "contains": lambda s, a: _contains(s, _arg(a, 0)),
    "containsAll": lambda s, a: all(_contains(s, x) for x in a),
    "containsAny": lambda s, a: any(_contains(s, x) for x in a),
    "endsWith": lambda s, a: s.endswith(to_text(_arg(a, 0))),
    "startsWith": lambda s, a: s.startswith(to_text(_arg(a, 0))),
    "lower": lambda s, a: s.lower(),
    "upper": lambda s, a: s.upper(),
    "replace": _replace,
    "repeat": lambda s, a: s * int(_num(_arg(a, 0, 0), "repeat")),
    "reverse": lambda s, a: s[::-1],
    "slice": _slice,
    "split": _split,
    "title": lambda s, a: re.sub(r"\S+", lambda m: m.group()[:1].upper() + m.group()[1:], s),
    "trim": lambda s, a: s.strip(),
}
NUMBER: dict[str, MethodFn] = {
    "abs": lambda n, a: abs(n),
    "ceil": lambda n, a: math.ceil(n),
    "floor": lambda n, a: math.floor(n),
    "round": _round,
    "toFixed": _to_fixed,
}
LIST: dict[str, MethodFn] = {
    "contains": lambda v, a: _contains(v, _arg(a, 0)),
    "containsAll": lambda v, a: all(_contains(v, x) for x in a),
    "containsAny": lambda v, a: any(_contains(v, x) for x in a),
    "flat": _flat,
    "join": lambda v, a: to_text(_arg(a, 0, ",")).join(to_text(x) for x in v),
    "reverse": lambda v, a: v[::-1],
    "slice": _slice,
    "sort": _sort,
    "unique": _unique,
    # summary helpers used by the default summaries ("Bases syntax" > Summaries: ``values.mean()``)
    "mean": lambda v, a: statistics.fmean(_nums(v)) if _nums(v) else None,
    "sum": lambda v, a: sum(_nums(v)),
    "median": lambda v, a: statistics.median(_nums(v)) if _nums(v) else None,
}
DATE: dict[str, MethodFn] = {
    "date": lambda d, a: Date(d.dt.replace(hour=0, minute=0, second=0, microsecond=0), False),
    "format": lambda d, a: format_date(d.dt, to_text(_arg(a, 0, "YYYY-MM-DD"))),
    "time": lambda d, a: d.dt.strftime("%H:%M:%S"),
    "isEmpty": lambda d, a: False,
}
LINK: dict[str, MethodFn] = {"linksTo": _links_to}  # asFile() needs the vault: see evaluate
FILE: dict[str, MethodFn] = {
    "asLink": lambda f, a: LinkValue(f.uri, None if _arg(a, 0) is None else to_text(_arg(a, 0)), f.uri),
    "hasLink": _has_link,
    "hasProperty": lambda f, a: to_text(_arg(a, 0)) in f.record.raw,
    "hasTag": _has_tag,
    "inFolder": _in_folder,
}
OBJECT: dict[str, MethodFn] = {
    "keys": lambda o, a: list(o),
    "values": lambda o, a: list(o.values()),
}
REGEXP: dict[str, MethodFn] = {"matches": lambda r, a: r.pattern.search(to_text(_arg(a, 0))) is not None}
LAZY_METHODS = ("filter", "map", "reduce", "asFile", "relative")  # need the row's Env: see evaluate

BY_TYPE: dict[str, dict[str, MethodFn]] = {
    "string": STRING, "number": NUMBER, "list": LIST, "date": DATE, "link": LINK, "file": FILE, "object": OBJECT, "regexp": REGEXP,
}  # fmt: skip
METHOD_NAMES = frozenset(n for table in (ANY, *BY_TYPE.values()) for n in table) | set(LAZY_METHODS)


def _nums(v: list[Any]) -> list[float]:
    return [x for x in v if isinstance(x, int | float) and not isinstance(x, bool)]


def call_method(value: Any, name: str, args: list[Any]) -> Any:
    """``value.name(args)``: the method of the value's type, else the any-type one. A method on
    null gives null (``isEmpty`` true, ``isTruthy`` false, ``toString`` "")."""
    kind = type_name(value)
    table = BY_TYPE.get(kind)
    fn = table.get(name) if table else None
    if fn is None:
        fn = ANY.get(name)
        if fn is None:
            if value is None:
                return None
            raise EvalError(f"{kind} has no method {name}()")
    elif value is None:
        return None
    return fn(value, args)


def method_table(name: str) -> dict[type, MethodFn]:
    """Python type -> the function of method ``name`` for values of that type (null and
    unknown pairs are left to :func:`call_method`): the dispatch of a method call, done once."""
    from vaultsync.bases.values import _TYPE_NAMES

    out: dict[type, MethodFn] = {}
    for py_type, kind in _TYPE_NAMES.items():
        fn = BY_TYPE.get(kind, {}).get(name) or ANY.get(name)
        if fn is not None and py_type is not type(None):
            out[py_type] = fn
    return out


def get_field(value: Any, name: str) -> Any:
    """``value.name``: a file's properties, a date's parts, ``length``, an object's key."""
    if isinstance(value, FileValue):
        return value.record.field(name)
    if isinstance(value, dict):
        return value.get(name)
    if isinstance(value, Date):
        dt = value.dt
        parts = {"year": dt.year, "month": dt.month, "day": dt.day, "hour": dt.hour, "minute": dt.minute,
                 "second": dt.second, "millisecond": dt.microsecond // 1000}  # fmt: skip
        return parts.get(name)
    if name == "length" and isinstance(value, str | list):
        return len(value)
    return None
