"""The search query language, as Obsidian users write it: text -> a query tree. Pure.

========================  ==========================================================
``word other``            passages holding both words (in the title, a heading or the text)
``"exact phrase"``        the words in this order, side by side
``-word``, ``-"a b"``     passages without it; ``-(a b)`` without both
``a OR b``                either (``OR`` in capitals; it binds looser than the space)
``( ... )``               grouping
``deglobal*``             a prefix: any word starting so
``file:name``             notes whose file name holds ``name`` (case and accents ignored)
``path:folder/x``         notes whose vault path holds it
``tag:#topic``            notes with the tag or one under it (``#topic/sub``)
``section:(...)``         the words in the heading path of the passage
``line:(...)``            the words in the passage's own text (one paragraph or list item)
``video:ID``              passages whose governing timestamp points at that video
========================  ==========================================================

Operator values may be a word, a ``"phrase"`` or, for ``section:`` and ``line:``, a ``(group)``;
``file:``, ``path:``, ``tag:`` and ``video:`` may be negated (``-tag:x``) but only combine with
the rest by AND. Anything else that looks like ``name:value`` is plain text. A query that cannot
be read raises :class:`vaultsync.errors.QueryError` with a one-line message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from vaultsync.errors import QueryError

FilterKind = Literal["file", "path", "tag", "video"]
_FILTERS: tuple[FilterKind, ...] = ("file", "path", "tag", "video")
_FIELDS = {"section": "heading", "line": "body"}
_OPERATOR = re.compile(r"(file|path|tag|section|line|video):", re.IGNORECASE)
_HINT = 'put words with special characters in quotes, e.g. "C++"'


@dataclass(frozen=True, slots=True)
class Term:
    """A word (``prefix``: a word start) or a quoted phrase."""

    text: str
    prefix: bool = False
    phrase: bool = False


@dataclass(frozen=True, slots=True)
class All:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Any:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


@dataclass(frozen=True, slots=True)
class Field:
    """``item`` matched in one column: ``heading`` (``section:``) or ``body`` (``line:``)."""

    column: str
    item: Node


@dataclass(frozen=True, slots=True)
class Filter:
    """A condition on the note or passage rather than on words."""

    kind: FilterKind
    value: str


Node = Term | All | Any | Not | Field | Filter


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: the words to match (None when only filters are given) and the filters,
    each with whether it is negated."""

    text: Node | None
    filters: tuple[tuple[Filter, bool], ...] = ()


def parse_query(source: str) -> Query:
    """Read a query (see the table above); :class:`QueryError` when it cannot be read."""
    tokens = _lex(source)
    if not tokens:
        raise QueryError("the search query is empty", hint="type a word to find")
    parser = _Parser(tokens)
    tree = parser.any()
    if parser.at < len(tokens):
        raise QueryError("unbalanced ')' in the search query", hint="every ')' needs an opening '('")
    return _split(tree)


# -- lexing ------------------------------------------------------------------------------------------

Token = tuple[str, str]  # (kind, text): "(", ")", "-", "OR", "op", "word", "phrase"


def _lex(source: str) -> list[Token]:
    tokens: list[Token] = []
    at, size = 0, len(source)
    while at < size:
        c = source[at]
        if c.isspace():
            at += 1
        elif c in "()":
            tokens.append((c, c))
            at += 1
        elif c == '"':
            close = source.find('"', at + 1)
            if close < 0:
                raise QueryError("a quote is not closed in the search query", hint='close the phrase with "')
            tokens.append(("phrase", source[at + 1 : close]))
            at = close + 1
        elif c == "-" and at + 1 < size and not source[at + 1].isspace():
            tokens.append(("-", c))
            at += 1
        elif op := _OPERATOR.match(source, at):
            tokens.append(("op", op.group(1).lower()))
            at = op.end()
        else:
            end = at
            while end < size and not source[end].isspace() and source[end] not in '()"':
                end += 1
            word = source[at:end]
            tokens.append(("OR", word) if word == "OR" else ("word", word))
            at = end
    return tokens


# -- parsing -----------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at][0] if self.at < len(self.tokens) else None

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def any(self) -> Node:
        items = [self.all()]
        while self.peek() == "OR":
            self.take()
            if self.peek() in (None, ")", "OR"):
                raise QueryError("OR needs something on both sides in the search query", hint="write a OR b")
            items.append(self.all())
        return items[0] if len(items) == 1 else Any(tuple(items))

    def all(self) -> Node:
        items: list[Node] = []
        while self.peek() not in (None, ")", "OR"):
            items.append(self.unary())
        if not items:
            if self.peek() == "OR":
                raise QueryError("OR needs something on both sides in the search query", hint="write a OR b")
            raise QueryError("empty parentheses in the search query", hint="put words inside ( )")
        return items[0] if len(items) == 1 else All(tuple(items))

    def unary(self) -> Node:
        if self.peek() == "-":
            self.take()
            if self.peek() in (None, ")", "OR", "-"):
                raise QueryError("'-' must be followed by what to exclude in the search query", hint="write -word")
            return Not(self.atom())
        return self.atom()

    def atom(self) -> Node:
        kind, text = self.take()
        if kind == "(":
            inner = self.any()
            if self.peek() != ")":
                raise QueryError("a '(' is not closed in the search query", hint="add the missing ')'")
            self.take()
            return inner
        if kind == "phrase":
            return _phrase(text)
        if kind == "op":
            return self.operator(text)
        return _word(text)

    def operator(self, name: str) -> Node:
        kind = self.peek()
        if kind not in ("word", "phrase", "("):
            raise QueryError(f"{name}: needs a value in the search query", hint=f"write {name}:something")
        if name in _FIELDS:
            return Field(_FIELDS[name], self.atom())
        _, value = self.take()
        if kind == "(":
            raise QueryError(f"{name}: takes one value, not a group, in the search query", hint=f"write {name}:a {name}:b")
        value = value.strip()
        if name == "tag":
            value = value.lstrip("#")
        if not value:
            raise QueryError(f"{name}: needs a value in the search query", hint=f"write {name}:something")
        return Filter(name, value)  # type: ignore[arg-type]  # name is one of _FILTERS here


def _phrase(text: str) -> Term:
    if not text.strip():
        raise QueryError('an empty "" phrase in the search query', hint="put words between the quotes")
    return Term(text, phrase=True)


def _word(text: str) -> Term:
    prefix = text.endswith("*")
    stem = text.rstrip("*")
    if "*" in stem:
        raise QueryError(f"'*' only ends a word (a prefix), as in deglobal*; not in {text!r}", hint=_HINT)
    if not stem:
        raise QueryError("'*' needs the start of a word before it in the search query", hint="write deglobal*")
    return Term(stem, prefix=prefix)


def _split(tree: Node) -> Query:
    """Take the AND-ed (possibly negated) filters out of the top level; refuse them elsewhere."""
    items = tree.items if isinstance(tree, All) else (tree,)
    filters: list[tuple[Filter, bool]] = []
    rest: list[Node] = []
    for item in items:
        if isinstance(item, Filter):
            filters.append((item, False))
        elif isinstance(item, Not) and isinstance(item.item, Filter):
            filters.append((item.item, True))
        else:
            _refuse_nested_filters(item)
            rest.append(item)
    text = None if not rest else rest[0] if len(rest) == 1 else All(tuple(rest))
    return Query(text, tuple(filters))


def _refuse_nested_filters(node: Node) -> None:
    if isinstance(node, Filter):
        raise QueryError(
            f"{node.kind}: can only be combined with AND (not inside OR or a group) in the search query",
            hint=f"use one search per {node.kind}: value",
        )
    if isinstance(node, (All, Any)):
        for item in node.items:
            _refuse_nested_filters(item)
    elif isinstance(node, (Not, Field)):
        _refuse_nested_filters(node.item)


__all__ = ["All", "Any", "Field", "Filter", "Node", "Not", "Query", "Term", "parse_query"]
