"""Evaluating one view of a base over the vault: filters, columns, sort, limit, groups, summaries.

Order of work, as the "Bases syntax" and "Views" pages describe a view: every file of the vault
is a candidate ("By default a base includes every file in the vault"); the base's ``filters``
and the view's are joined with AND; the view's ``order`` gives the columns (``file.name`` when
it has none); ``sort`` orders the rows (several keys, the first one first; without one, rows are
in path order); ``limit`` keeps the first rows; ``groupBy`` puts them in groups ordered by the
group's value; ``summaries`` aggregate a column over the rows shown, for the whole view and for
each group. Empty values sort last in either direction.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from vaultsync.bases.basefile import Base, Filter, display_name
from vaultsync.bases.evaluate import RUNTIME_ERRORS, Env, Fn
from vaultsync.bases.records import Record, VaultData
from vaultsync.bases.values import Date, Duration, FileValue, LinkValue, equal, is_empty, order_key, to_text, truthy


class CellError(NamedTuple):
    """A value that could not be computed for a row; shown as ``Error: message``."""

    message: str


@dataclass(slots=True)
class Row:
    uri: str
    cells: list[Any]  # one value per column


@dataclass(slots=True)
class Group:
    key: Any  # the groupBy value (None: the rows without one, or no groupBy)
    rows: list[Row]
    summaries: dict[str, Any] = field(default_factory=dict)  # column key -> summary value


@dataclass(slots=True)
class BaseTable:
    """The evaluated view: columns (key, header), rows in groups, summaries, and counts."""

    base: str
    view: str
    type: str  # table, cards, list, map...
    columns: list[tuple[str, str]]
    groups: list[Group]
    summaries: dict[str, tuple[str, Any]]  # column key -> (summary name, value), over every row shown
    matched: int  # rows that passed the filters (before the limit)
    grouped: bool = False

    @property
    def rows(self) -> list[Row]:
        return [r for g in self.groups for r in g.rows]


def filter_fn(f: Filter | None) -> Callable[[Env], bool]:
    """A filter as one function of a row (statements that cannot be computed do not hold)."""
    if f is None:
        return lambda env: True
    if f.op == "expr":
        expr = f.expr
        assert expr is not None

        def statement(env: Env) -> bool:
            try:
                return truthy(expr(env))
            except RUNTIME_ERRORS:
                return False

        return statement
    parts = [filter_fn(p) for p in f.parts]
    if f.op == "and":
        return lambda env: all(p(env) for p in parts)
    if f.op == "or":
        return lambda env: any(p(env) for p in parts)
    return lambda env: not any(p(env) for p in parts)  # "None of the following are true"


def _cell(fn: Fn, env: Env) -> Any:
    try:
        return fn(env)
    except RUNTIME_ERRORS as exc:
        return CellError(str(exc))


def _sort_key(v: Any) -> tuple[int, Any]:
    return (1, (0, 0)) if is_empty(v) or isinstance(v, CellError) else (0, order_key(v))


def evaluate_base(base: Base, data: VaultData, view: str | None = None, this: str | None = None, now: datetime | None = None) -> BaseTable:
    """One view of ``base`` over ``data``. ``this`` is the file the base is shown for: the note
    embedding it, else the base file itself ("Bases syntax" > Access properties with this)."""
    v = base.view(view)
    now = now or datetime.now()
    this_record = data.record_for(this or base.uri)
    keys = list(dict.fromkeys([*v.order, *(k for k, _ in v.sort), *([v.group_by[0]] if v.group_by else []), *v.summaries]))
    fns = [base.columns[k] for k in keys]
    env = Env(this_record, this_record, data, base.formulas, now)
    rows: list[Row] = []
    glob, local = filter_fn(base.filters), filter_fn(v.filters)
    fresh = bool(base.formulas)  # formula results are kept per row
    for uri, record in data.records.items():  # in path order
        env.record = record
        if fresh:
            env.cache = {}
        if glob(env) and local(env):
            rows.append(Row(uri, [_cell(fn, env) for fn in fns]))
    matched = len(rows)
    for key, descending in reversed(v.sort):
        i = keys.index(key)
        rows.sort(key=lambda r: _sort_key(r.cells[i]), reverse=descending)
        if descending:  # empty values stay last
            rows.sort(key=lambda r: _sort_key(r.cells[i])[0])
    if v.limit is not None:
        rows = rows[: v.limit]
    groups = [Group(None, rows)]
    if v.group_by is not None:
        groups = _group(rows, keys.index(v.group_by[0]), v.group_by[1])
    shown = len(v.order)
    summaries: dict[str, tuple[str, Any]] = {}
    for key, name in v.summaries.items():
        i = keys.index(key)
        summaries[key] = (name, summarize(name, [r.cells[i] for r in rows], base, env, this_record))
        if v.group_by is not None:
            for g in groups:
                g.summaries[key] = summarize(name, [r.cells[i] for r in g.rows], base, env, this_record)
    for row in rows:
        del row.cells[shown:]
    columns = [(k, display_name(base, k)) for k in v.order]
    return BaseTable(base.uri, v.name, v.type, columns, groups, summaries, matched, v.group_by is not None)


def _group(rows: list[Row], i: int, descending: bool) -> list[Group]:
    groups: list[Group] = []
    for row in rows:
        key = row.cells[i]
        for g in groups:
            if equal(g.key, key):
                g.rows.append(row)
                break
        else:
            groups.append(Group(key, [row]))
    groups.sort(key=lambda g: _sort_key(g.key), reverse=descending)
    if descending:
        groups.sort(key=lambda g: _sort_key(g.key)[0])
    return groups


def _numbers(values: list[Any]) -> list[float]:
    return [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


def _dates(values: list[Any]) -> list[Date]:
    return [v for v in values if isinstance(v, Date)]


def _range(values: list[Any]) -> Any:
    dates = _dates(values)
    if dates:  # "Range | Date | The difference between Latest and Earliest"
        return Duration(0, max(d.ms for d in dates) - min(d.ms for d in dates))
    nums = _numbers(values)
    return max(nums) - min(nums) if nums else None


def _filled(values: list[Any]) -> list[Any]:
    return [v for v in values if not is_empty(v) and not isinstance(v, CellError)]


def _unique(values: list[Any]) -> int:
    seen: list[Any] = []
    for v in _filled(values):
        if not any(equal(v, s) for s in seen):
            seen.append(v)
    return len(seen)


def _stddev(values: list[Any]) -> float | None:
    nums = _numbers(values)
    return statistics.pstdev(nums) if nums else None  # population: the rows are the whole set


def _avg(values: list[Any]) -> float | None:
    nums = _numbers(values)
    return statistics.fmean(nums) if nums else None


def _pick(fn: Callable[..., Any], of: Callable[[list[Any]], list[Any]]) -> Callable[[list[Any]], Any]:
    return lambda values: fn(of(values)) if of(values) else None


# "Bases syntax" > Default Summary Formulas
DEFAULT_SUMMARIES: dict[str, Callable[[list[Any]], Any]] = {
    "Average": _avg,
    "Min": _pick(min, _numbers),
    "Max": _pick(max, _numbers),
    "Sum": lambda values: sum(_numbers(values)),
    "Range": _range,
    "Median": _pick(statistics.median, _numbers),
    "Stddev": _stddev,
    "Earliest": lambda values: min(_dates(values), key=lambda d: d.dt, default=None),
    "Latest": lambda values: max(_dates(values), key=lambda d: d.dt, default=None),
    "Checked": lambda values: sum(v is True for v in values),
    "Unchecked": lambda values: sum(v is False for v in values),
    "Empty": lambda values: sum(is_empty(v) for v in values),
    "Filled": lambda values: len(_filled(values)),
    "Unique": _unique,
}


def summarize(name: str, values: list[Any], base: Base, env: Env, this: Record) -> Any:
    """A named summary of a column's values: a base's own ``summaries`` formula (over
    ``values``), else one of the default summaries."""
    custom = base.summaries.get(name)
    if custom is None:
        return DEFAULT_SUMMARIES[name](values)
    env.record, env.cache, env.vars = this, {}, {"values": values}
    try:
        return _cell(custom, env)
    finally:
        env.vars = {}


def plain(v: Any) -> Any:
    """A value as JSON (dates as ISO text, links and files as objects, errors as ``{"error"}``)."""
    if v is None or isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else (int(v) if v.is_integer() and abs(v) < 2**53 else v)
    if isinstance(v, Date):
        return v.dt.isoformat(timespec="seconds") if v.has_time else v.dt.date().isoformat()
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, LinkValue):
        return {"link": v.path, "display": v.display, "path": v.dest}
    if isinstance(v, FileValue):
        return {"file": v.uri}
    if isinstance(v, CellError):
        return {"error": v.message}
    return to_text(v)


def cell_text(v: Any) -> str:
    """A value as the text a table cell shows."""
    if isinstance(v, CellError):
        return f"Error: {v.message}"
    if isinstance(v, float) and v.is_integer():
        return to_text(int(v))
    if isinstance(v, float):
        return f"{v:.6g}" if abs(v) < 1e15 else to_text(v)
    return to_text(v)


def table_json(table: BaseTable) -> dict[str, Any]:
    """The table as one JSON object (the CLI's ``--json`` and the API's answer)."""
    names = [k for k, _ in table.columns]
    return {
        "base": table.base,
        "view": table.view,
        "type": table.type,
        "columns": [{"key": k, "name": n} for k, n in table.columns],
        "matched": table.matched,
        "groups": [
            {"key": plain(g.key), "rows": [{"path": r.uri, "cells": dict(zip(names, map(plain, r.cells)))} for r in g.rows],
             "summaries": {k: plain(s) for k, s in g.summaries.items()}}
            for g in table.groups
        ] if table.grouped else [],
        "rows": [{"path": r.uri, "cells": dict(zip(names, map(plain, r.cells)))} for r in table.rows],
        "summaries": {k: {"summary": n, "value": plain(s)} for k, (n, s) in table.summaries.items()},
    }  # fmt: skip
