"""Reading a base: a ``.base`` file's YAML, or a ```` ```base ```` block in a note, into a
:class:`Base` whose expressions are parsed and compiled. Pure (text in, objects out).

The schema is Obsidian's "Bases syntax" page: top-level ``filters`` (a statement, or an object
with one of ``and``/``or``/``not`` holding a list of statements and objects), ``formulas``
(name -> expression), ``properties`` (key -> ``displayName``), ``summaries`` (name -> formula over
``values``) and ``views`` (``type``, ``name``, ``filters``, ``order``, ``sort``, ``groupBy``,
``limit``, ``summaries``). A property key without a prefix is a note property (``status`` is
``note.status``). Every problem is a :class:`~vaultsync.errors.BaseError` naming the file and,
from the YAML's own positions, the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml  # type: ignore[import-untyped]

from vaultsync.bases.evaluate import Compiler, ExprError, Fn
from vaultsync.bases.syntax import ExprSyntaxError, parse_expression
from vaultsync.errors import BaseError
from vaultsync.text.parse import YamlLoader, load_yaml

Path_ = tuple[Any, ...]
_FENCE = re.compile(r"^([ \t]{0,3})(`{3,}|~{3,})[ \t]*base[ \t]*$", re.M)


@dataclass(slots=True)
class Filter:
    """A filter statement (``expr``) or a conjunction (``op`` and/or/not over ``parts``)."""

    op: str  # "expr", "and", "or", "not"
    expr: Fn | None = None
    text: str = ""
    parts: list[Filter] = field(default_factory=list)


@dataclass(slots=True)
class View:
    type: str
    name: str
    filters: Filter | None
    order: list[str]
    sort: list[tuple[str, bool]]  # (property key, descending)
    group_by: tuple[str, bool] | None
    limit: int | None
    summaries: dict[str, str]  # property key -> summary name
    options: dict[str, Any]  # every key of the view as written (image, markers...)


@dataclass(slots=True)
class Base:
    """A parsed base: compiled formulas, filters, columns and views."""

    uri: str
    filters: Filter | None
    formulas: dict[str, Fn]
    display_names: dict[str, str]  # canonical property key -> display name
    summaries: dict[str, Fn]  # custom summary formulas over ``values``
    views: list[View]
    columns: dict[str, Fn] = field(default_factory=dict)  # canonical property key -> its value

    def view(self, name: str | None) -> View:
        """The named view, or the first ("The first view in your list of views will load by default")."""
        if not self.views:
            return View("table", "", None, [], [], None, None, {}, {})
        if name is None:
            return self.views[0]
        for view in self.views:
            if view.name == name:
                return view
        known = ", ".join(repr(v.name) for v in self.views)
        raise BaseError(self.uri, None, f"no view named {name!r}", hint=f"the views are {known}")


def canonical(key: str) -> str:
    """A property key with its kind: ``status`` -> ``note.status``; ``file.x``/``formula.x`` unchanged."""
    key = key.strip()
    return key if key.startswith(("note.", "file.", "formula.", "this.")) else f"note.{key}"


def display_name(base: Base, key: str) -> str:
    """The column header of a property: its ``displayName``, else its name (``file.name`` -> ``file name``)."""
    key = canonical(key)
    if key in base.display_names:
        return base.display_names[key]
    kind, _, name = key.partition(".")
    return f"file {name}" if kind == "file" else name


class _Reader:
    def __init__(self, uri: str, text: str, first_line: int) -> None:
        self.uri, self.first_line = uri, first_line
        self.lines: dict[Path_, int] = {}
        try:
            self.data = load_yaml(text) if text.strip() else {}
            _lines(yaml.compose(text, Loader=YamlLoader), (), self.lines)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = first_line + mark.line if mark is not None else None
            raise BaseError(uri, line, f"invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
        if self.data is None:
            self.data = {}
        if not isinstance(self.data, dict):
            raise BaseError(uri, first_line, "a base must be a YAML mapping (filters, formulas, properties, views)")
        formulas = self.data.get("formulas") or {}
        self.mapping(formulas, ("formulas",))
        self.compiler = Compiler({str(k) for k in formulas})

    def fail(self, path: Path_, reason: str) -> BaseError:
        while path and path not in self.lines:
            path = path[:-1]
        line = self.lines.get(path)
        return BaseError(self.uri, None if line is None else self.first_line + line - 1, reason)

    def mapping(self, value: Any, path: Path_) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"{'.'.join(map(str, path))} must be a mapping")
        return value

    def expr(self, text: Any, path: Path_) -> Fn:
        if isinstance(text, bool | int | float):
            text = str(text).lower() if isinstance(text, bool) else str(text)
        if not isinstance(text, str):
            raise self.fail(path, f"expected an expression (text), got {type(text).__name__}")
        try:
            return self.compiler.compile(parse_expression(text))
        except ExprSyntaxError as exc:
            raise self.fail(path, f"cannot parse {text!r}: {exc}") from None
        except ExprError as exc:
            raise self.fail(path, f"{exc} in {text!r}") from None

    def filter(self, value: Any, path: Path_) -> Filter | None:
        if value is None:
            return None
        if isinstance(value, str | bool):
            return Filter("expr", self.expr(value, path), str(value))
        if isinstance(value, dict) and len(value) == 1:
            op, parts = next(iter(value.items()))
            if op in ("and", "or", "not"):
                if not isinstance(parts, list):
                    parts = [parts]
                subs = [self.filter(p, (*path, op, i)) for i, p in enumerate(parts)]
                return Filter(op, parts=[s for s in subs if s is not None])
        raise self.fail(path, "a filter is a statement or an object with one of and, or, not")

    def column(self, key: str, path: Path_) -> Fn:
        key = canonical(key)
        kind, _, name = key.partition(".")
        try:
            return self.compiler.compile(parse_expression(key))
        except ExprSyntaxError:  # a property name an expression cannot spell ("note.my prop")
            if kind == "note":
                return lambda env: env.record.prop(name)
            raise self.fail(path, f"not a property: {key!r}") from None
        except ExprError as exc:
            raise self.fail(path, str(exc)) from None

    def view(self, raw: Any, i: int, base: Base) -> View:
        path: Path_ = ("views", i)
        raw = self.mapping(raw, path)
        order = list(dict.fromkeys(canonical(str(k)) for k in raw.get("order") or []))  # a column once
        sort = []
        for j, s in enumerate(raw.get("sort") or []):
            s = self.mapping(s, (*path, "sort", j))
            sort.append((canonical(str(s.get("property", ""))), str(s.get("direction", "ASC")).upper() == "DESC"))
        group = raw.get("groupBy")
        group_by = None
        if group is not None:
            group = self.mapping(group, (*path, "groupBy"))
            group_by = (canonical(str(group.get("property", ""))), str(group.get("direction", "ASC")).upper() == "DESC")
        limit = raw.get("limit")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
            raise self.fail((*path, "limit"), f"limit must be a whole number, got {limit!r}")
        summaries = {canonical(str(k)): str(v) for k, v in self.mapping(raw.get("summaries") or {}, (*path, "summaries")).items()}
        wanted = [(k, (*path, "order", j)) for j, k in enumerate(order)] + [(k, (*path, "sort", j)) for j, (k, _) in enumerate(sort)]
        wanted += [(group_by[0], (*path, "groupBy"))] if group_by else []
        wanted += [(k, (*path, "summaries", k)) for k in summaries]
        for key, where in wanted:
            if key not in base.columns:
                base.columns[key] = self.column(key, where)
        for key, name in summaries.items():
            if name not in base.summaries and name not in DEFAULT_SUMMARY_NAMES:
                raise self.fail((*path, "summaries", key), f"unknown summary {name!r}")
        filters = self.filter(raw.get("filters"), (*path, "filters"))
        name = str(raw.get("name", f"View {i + 1}"))
        return View(str(raw.get("type", "table")), name, filters, order, sort, group_by, limit, summaries, dict(raw))


DEFAULT_SUMMARY_NAMES = ("Average", "Min", "Max", "Sum", "Range", "Median", "Stddev", "Earliest", "Latest",
                         "Checked", "Unchecked", "Empty", "Filled", "Unique")  # fmt: skip


def _lines(node: Any, path: Path_, out: dict[Path_, int]) -> None:
    """The 1-based line of every mapping value and list item, by its path of keys and indexes."""
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _lines(value, (*path, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), out)


def load_base(text: str, uri: str, first_line: int = 1) -> Base:
    """Parse a base. ``first_line`` is where ``text`` starts in ``uri`` (a block inside a note)."""
    reader = _Reader(uri, text, first_line)
    data = reader.data
    formulas = {str(k): reader.expr(v, ("formulas", k)) for k, v in reader.mapping(data.get("formulas") or {}, ("formulas",)).items()}
    names: dict[str, str] = {}
    for key, conf in reader.mapping(data.get("properties") or {}, ("properties",)).items():
        if isinstance(conf, dict) and conf.get("displayName") is not None:
            names[canonical(str(key))] = str(conf["displayName"])
    summaries = {str(k): reader.expr(v, ("summaries", k)) for k, v in reader.mapping(data.get("summaries") or {}, ("summaries",)).items()}
    base = Base(uri, reader.filter(data.get("filters"), ("filters",)), formulas, names, summaries, [])
    views = data.get("views") or []
    if not isinstance(views, list):
        raise reader.fail(("views",), "views must be a list")
    base.views = [reader.view(v, i, base) for i, v in enumerate(views)]
    for view in base.views:
        if not view.order:
            view.order = ["file.name"]
            base.columns.setdefault("file.name", reader.column("file.name", ()))
    return base


def base_blocks(text: str) -> list[tuple[int, int, int, str]]:
    """The ```` ```base ```` blocks of a note: (start offset, end offset, first YAML line, YAML)."""
    out = []
    for m in _FENCE.finditer(text):
        fence = m.group(2)
        close = re.compile(rf"^[ \t]{{0,3}}{fence[0]}{{{len(fence)},}}[ \t]*$", re.M).search(text, m.end())
        body_start = m.end() + 1
        end = close.start() if close else len(text)
        out.append((m.start(), close.end() if close else len(text), text.count("\n", 0, body_start) + 1, text[body_start:end]))
    return out
