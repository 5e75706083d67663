"""Evaluation of Bases expressions: a syntax tree is compiled once into Python closures, which
then run per row (a tree walk per row would be several times slower over 20,000 notes).

Names ("Bases syntax" > Formulas, Properties): ``file`` is the row's file, ``note.x`` / ``note["x"]``
/ bare ``x`` a note property, ``formula.x`` another formula of the base (circular references are
an error), ``this`` the file the base is shown for. Inside ``filter``/``map``/``reduce`` the names
``value``, ``index`` and ``acc`` are the element, its position and the accumulator
("Functions" > List type); in a summary formula ``values`` is the column's values.
Unknown or unsupported functions are refused when the expression is compiled
(:class:`ExprError`); a value that cannot be computed for one row is an :class:`EvalError`,
which the caller shows in that cell (and which makes a filter false).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from vaultsync.bases.dates import relative
from vaultsync.bases.functions import BY_TYPE, GLOBALS, LAZY_GLOBALS, METHOD_NAMES, UNSUPPORTED, call_method, get_field, method_table
from vaultsync.bases.records import Record, VaultData
from vaultsync.bases.syntax import Attr, Binary, Call, ListLit, Lit, Method, Name, Node, RegexLit, Subscript, Unary
from vaultsync.bases.values import Date, EvalError, LinkValue, Regex, arithmetic, compare, equal, parse_date, truthy

Fn = Callable[["Env"], Any]
_SCOPE_NAMES = ("value", "index", "acc", "values")
_FILE_FIELDS = ("name", "basename", "path", "folder", "ext", "size", "ctime", "mtime", "tags", "links", "backlinks", "embeds", "properties", "file")
RUNTIME_ERRORS = (EvalError, TypeError, ValueError, re.error, OverflowError, ZeroDivisionError, AttributeError, IndexError, KeyError)


class ExprError(ValueError):
    """An expression that parses but refers to an unknown function, method or formula."""


class Env:
    """The state of evaluating one row: its record, ``this``, scope variables, formula results."""

    __slots__ = ("record", "this", "data", "vars", "cache", "busy", "now", "formulas")

    def __init__(self, record: Record, this: Record, data: VaultData, formulas: Mapping[str, Fn], now: datetime) -> None:
        self.record, self.this, self.data, self.formulas, self.now = record, this, data, formulas, now
        self.vars: dict[str, Any] = {}
        self.cache: dict[str, Any] = {}
        self.busy: set[str] = set()

    def formula(self, name: str) -> Any:
        """The value of ``formula.name`` for this row, computed once."""
        if name in self.cache:
            return self.cache[name]
        if name in self.busy:
            raise EvalError(f"formula {name!r} refers to itself")
        self.busy.add(name)
        try:
            value = self.formulas[name](self)
        finally:
            self.busy.discard(name)
        self.cache[name] = value
        return value


class Compiler:
    """Compiles expressions of one base; ``formula_names`` are the formulas it defines."""

    def __init__(self, formula_names: set[str]) -> None:
        self.formula_names = formula_names

    def compile(self, node: Node) -> Fn:
        if isinstance(node, Lit):
            value = node.value
            return lambda env: value
        if isinstance(node, RegexLit):
            flags = re.IGNORECASE if "i" in node.flags else 0
            regex = Regex(re.compile(node.pattern, flags | (re.MULTILINE if "m" in node.flags else 0)), "g" in node.flags)
            return lambda env: regex
        if isinstance(node, Name):
            return self._name(node.name)
        if isinstance(node, Attr):
            return self._attr(node)
        if isinstance(node, Subscript):
            return self._subscript(node)
        if isinstance(node, Call):
            return self._call(node)
        if isinstance(node, Method):
            return self._method(node)
        if isinstance(node, Unary):
            operand = self.compile(node.operand)
            if node.op == "!":
                return lambda env: not truthy(operand(env))
            return lambda env: arithmetic("-", 0, operand(env))
        if isinstance(node, Binary):
            return self._binary(node)
        if isinstance(node, ListLit):
            items = [self.compile(i) for i in node.items]
            return lambda env: [i(env) for i in items]
        pairs = [(k, self.compile(v)) for k, v in node.pairs]
        return lambda env: {k: v(env) for k, v in pairs}

    def _name(self, name: str) -> Fn:
        if name == "file":
            return lambda env: env.record.file
        if name == "this":
            return lambda env: env.this.file
        if name == "note":
            return lambda env: env.record.properties()
        if name == "formula":
            raise ExprError("'formula' needs a formula name: formula.NAME")
        if name in _SCOPE_NAMES:
            return lambda env: env.vars[name] if name in env.vars else env.record.prop(name)
        return lambda env: env.record.prop(name)

    def _attr(self, node: Attr) -> Fn:
        name = node.name
        if isinstance(node.obj, Name):
            base = node.obj.name
            if base == "file":
                return lambda env: env.record.field(name)
            if base == "note":
                return lambda env: env.record.prop(name)
            if base == "formula":
                return self._formula(name)
            if base == "this":
                if name == "note":
                    return lambda env: env.this.properties()
                if name in _FILE_FIELDS:
                    return lambda env: env.this.field(name)
                return lambda env: env.this.prop(name)
        obj = self.compile(node.obj)
        return lambda env: get_field(obj(env), name)

    def _formula(self, name: str) -> Fn:
        if name not in self.formula_names:
            raise ExprError(f"no formula named {name!r} in this base")
        return lambda env: env.formula(name)

    def _subscript(self, node: Subscript) -> Fn:
        if isinstance(node.obj, Name) and isinstance(node.key, Lit) and isinstance(node.key.value, str):
            if node.obj.name == "formula":
                return self._formula(node.key.value)
            if node.obj.name == "note":
                return self._attr(Attr(node.obj, node.key.value))
        obj, key = self.compile(node.obj), self.compile(node.key)

        def index(env: Env) -> Any:
            v, k = obj(env), key(env)
            if isinstance(v, list | str) and isinstance(k, int | float) and not isinstance(k, bool):
                i = int(k)
                return v[i] if 0 <= i < len(v) else None
            if isinstance(k, str):
                return get_field(v, k)
            return None

        return index

    def _call(self, node: Call) -> Fn:
        name = node.name
        args = [self.compile(a) for a in node.args]
        if name == "if":
            if len(args) < 2:
                raise ExprError("if() needs a condition and a result")
            cond, yes, no = args[0], args[1], args[2] if len(args) > 2 else (lambda env: None)
            return lambda env: yes(env) if truthy(cond(env)) else no(env)
        if name in UNSUPPORTED:
            raise ExprError(f"{name}() is not supported: {UNSUPPORTED[name]}")
        fn = GLOBALS.get(name)
        if fn is None:
            raise ExprError(f"unknown function {name}()")
        assert name not in LAZY_GLOBALS
        return lambda env: fn(env, [a(env) for a in args])

    def _method(self, node: Method) -> Fn:
        name = node.name
        if name in UNSUPPORTED:
            raise ExprError(f"{name}() is not supported: {UNSUPPORTED[name]}")
        if name not in METHOD_NAMES:
            raise ExprError(f"unknown method {name}()")
        obj = self.compile(node.obj)
        args = [self.compile(a) for a in node.args]
        if name in ("filter", "map", "reduce"):
            return self._list_lambda(name, obj, args)
        if name == "asFile":
            return lambda env: _as_file(env, obj(env))
        if name == "relative":  # "a readable comparison of the date to the current datetime": the run's now
            return lambda env: relative(d.dt, env.now) if isinstance(d := obj(env), Date) else None
        if isinstance(node.obj, Name) and node.obj.name == "file" and name in BY_TYPE["file"]:
            direct = BY_TYPE["file"][name]  # the common filter: file.hasTag("x"), file.inFolder("y")
            if all(isinstance(a, Lit) for a in node.args):
                consts = [a.value for a in node.args if isinstance(a, Lit)]
                return lambda env: direct(env.record.file, consts)
            return lambda env: direct(env.record.file, [a(env) for a in args])
        table = method_table(name)
        if all(isinstance(a, Lit) for a in node.args):  # "x".contains("y"): arguments known now
            values = [a.value for a in node.args if isinstance(a, Lit)]

            def constant(env: Env) -> Any:
                v = obj(env)
                fn = table.get(type(v))
                return fn(v, values) if fn is not None else call_method(v, name, values)

            return constant

        def call(env: Env) -> Any:
            v = obj(env)
            fn = table.get(type(v))
            values = [a(env) for a in args]
            return fn(v, values) if fn is not None else call_method(v, name, values)

        return call

    def _list_lambda(self, name: str, obj: Fn, args: list[Fn]) -> Fn:
        if not args:
            raise ExprError(f"{name}() needs an expression")
        body = args[0]
        start = args[1] if len(args) > 1 else (lambda env: None)

        def run(env: Env) -> Any:
            items = obj(env)
            if items is None:
                return None
            if not isinstance(items, list):
                raise EvalError(f"{name}() works on a list")
            saved = env.vars
            acc = start(env) if name == "reduce" else None
            out: list[Any] = []
            try:
                for i, item in enumerate(items):
                    env.vars = {**saved, "value": item, "index": i, "acc": acc}
                    result = body(env)
                    if name == "filter":
                        if truthy(result):
                            out.append(item)
                    elif name == "map":
                        out.append(result)
                    else:
                        acc = result
            finally:
                env.vars = saved
            return acc if name == "reduce" else out

        return run

    def _binary(self, node: Binary) -> Fn:
        op = node.op
        left, right = self.compile(node.left), self.compile(node.right)
        if op == "&&":
            return lambda env: r if truthy(r := left(env)) is False else right(env)
        if op == "||":
            return lambda env: r if truthy(r := left(env)) else right(env)
        if op == "==":
            return lambda env: equal(left(env), right(env))
        if op == "!=":
            return lambda env: not equal(left(env), right(env))
        if op in ("<", "<=", ">", ">="):
            return lambda env: compare(op, *_dates(left(env), right(env)))
        return lambda env: arithmetic(op, left(env), right(env))


def _dates(a: Any, b: Any) -> tuple[Any, Any]:
    """A date compared with date text: the text read as a date (``file.mtime > "2025-01-01"``)."""
    if isinstance(a, Date) and isinstance(b, str):
        return a, parse_date(b) or b
    if isinstance(b, Date) and isinstance(a, str):
        return parse_date(a) or a, b
    return a, b


def _as_file(env: Env, link: Any) -> Any:
    """``link.asFile()``: the file a link opens, or null ("Functions" > Link type)."""
    if isinstance(link, LinkValue) and link.dest in env.data.records:
        return env.data.records[link.dest].file
    return None
