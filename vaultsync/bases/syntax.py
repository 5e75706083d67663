"""The Bases expression language: tokenizer and parser (text -> syntax tree). Pure; evaluates nothing.

Filters, formulas and summaries share one language (Obsidian's "Bases syntax" page: "The syntax
and available functions for filters and formulas are the same"). This module parses it with a
small recursive-descent parser of ours; nothing is ever handed to Python's ``eval``.

Grammar (lowest precedence first; ``{x}`` is zero or more, ``[x]`` optional)::

    expr        := or
    or          := and { "||" and }
    and         := equality { "&&" equality }
    equality    := comparison { ("==" | "!=") comparison }
    comparison  := additive { ("<" | "<=" | ">" | ">=") additive }
    additive    := term { ("+" | "-") term }
    term        := unary { ("*" | "/" | "%") unary }
    unary       := ("!" | "-") unary | postfix
    postfix     := primary { "." NAME [ "(" [ args ] ")" ] | "[" expr "]" }
    primary     := NUMBER | STRING | REGEX | "true" | "false" | "null"
                 | NAME [ "(" [ args ] ")" ]             # a property, or a global function call
                 | "(" expr ")" | "[" [ args ] "]" | "{" [ pair { "," pair } ] "}"
    args        := expr { "," expr }
    pair        := (STRING | NAME) ":" expr

    NUMBER      := digits [ "." digits ]                 # "1.isTruthy()" is 1 then .isTruthy()
    STRING      := '"' ... '"' | "'" ... "'"             # backslash escapes \\n \\t \\" \\' \\\\
    REGEX       := "/" ... "/" flags                     # only where an operand may start
    NAME        := letter or "_" or "$", then letters, digits, "_", "$"

Names are not resolved here: ``file``, ``note``, ``formula``, ``this``, ``value``/``index``/``acc``
(inside ``filter``/``map``/``reduce``) and ``values`` (summaries) are given meaning by
:mod:`vaultsync.bases.evaluate`. A syntax error is a :class:`ExprSyntaxError` carrying the column.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple


class ExprSyntaxError(ValueError):
    """An expression that does not parse; ``column`` is 1-based."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"{message} (column {column})")
        self.column = column


class Lit(NamedTuple):
    value: Any  # None, bool, int, float or str


class RegexLit(NamedTuple):
    pattern: str
    flags: str


class Name(NamedTuple):
    name: str


class Attr(NamedTuple):
    obj: Node
    name: str


class Subscript(NamedTuple):
    obj: Node
    key: Node


class Call(NamedTuple):
    """A global function call ``name(args)``."""

    name: str
    args: tuple[Node, ...]
    column: int


class Method(NamedTuple):
    """A method call ``obj.name(args)``."""

    obj: Node
    name: str
    args: tuple[Node, ...]
    column: int


class Unary(NamedTuple):
    op: str
    operand: Node


class Binary(NamedTuple):
    op: str
    left: Node
    right: Node


class ListLit(NamedTuple):
    items: tuple[Node, ...]


class ObjLit(NamedTuple):
    pairs: tuple[tuple[str, Node], ...]


Node = Lit | RegexLit | Name | Attr | Subscript | Call | Method | Unary | Binary | ListLit | ObjLit


class Token(NamedTuple):
    kind: str  # "num", "str", "regex", "name", "op", "end"
    text: str
    value: Any
    column: int


_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_NAME = re.compile(r"[A-Za-z_$\u00c0-\uffff][\w$\u00c0-\uffff]*")
_OPS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "+", "-", "*", "/", "%", "!", "(", ")", "[", "]", "{", "}", ",", ".", ":")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}
_KEYWORDS = {"true": True, "false": False, "null": None}


def tokenize(text: str) -> list[Token]:
    """The tokens of an expression, ending with an ``end`` token."""
    tokens: list[Token] = []
    i = 0
    while True:
        m = _SPACE.match(text, i)
        if m:
            i = m.end()
        if i >= len(text):
            tokens.append(Token("end", "", None, i + 1))
            return tokens
        ch = text[i]
        operand_expected = not tokens or (tokens[-1].kind == "op" and tokens[-1].text not in (")", "]", "}"))
        if ch in "\"'":
            value, end = _string(text, i)
            tokens.append(Token("str", text[i:end], value, i + 1))
            i = end
        elif ch == "/" and operand_expected:
            end = text.find("/", i + 1)
            while end > 0 and text[end - 1] == "\\":
                end = text.find("/", end + 1)
            if end < 0:
                raise ExprSyntaxError("unterminated regular expression", i + 1)
            flags = re.match(r"[a-z]*", text[end + 1 :])
            assert flags is not None
            tokens.append(Token("regex", text[i : end + 1 + flags.end()], (text[i + 1 : end], flags.group()), i + 1))
            i = end + 1 + flags.end()
        elif m := _NUMBER.match(text, i):
            literal = m.group()
            tokens.append(Token("num", literal, float(literal) if any(c in literal for c in ".eE") else int(literal), i + 1))
            i = m.end()
        elif m := _NAME.match(text, i):
            tokens.append(Token("name", m.group(), m.group(), i + 1))
            i = m.end()
        else:
            op = next((o for o in _OPS if text.startswith(o, i)), None)
            if op is None:
                raise ExprSyntaxError(f"unexpected character {ch!r}", i + 1)
            tokens.append(Token("op", op, op, i + 1))
            i += len(op)


def _string(text: str, start: int) -> tuple[str, int]:
    quote, out, i = text[start], [], start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(_ESCAPES.get(text[i + 1], text[i + 1]))
            i += 2
        elif ch == quote:
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise ExprSyntaxError("unterminated string", start + 1)


_BINARY_LEVELS = (("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "/", "%"))


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.at = 0

    def peek(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def accept(self, op: str) -> bool:
        token = self.peek()
        if token.kind == "op" and token.text == op:
            self.at += 1
            return True
        return False

    def expect(self, op: str) -> None:
        if not self.accept(op):
            token = self.peek()
            found = "the end" if token.kind == "end" else repr(token.text)
            raise ExprSyntaxError(f"expected {op!r}, found {found}", token.column)

    def binary(self, level: int) -> Node:
        if level == len(_BINARY_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek().kind == "op" and self.peek().text in _BINARY_LEVELS[level]:
            op = self.take().text
            left = Binary(op, left, self.binary(level + 1))
        return left

    def unary(self) -> Node:
        if self.accept("!"):
            return Unary("!", self.unary())
        if self.accept("-"):
            operand = self.unary()
            if isinstance(operand, Lit) and isinstance(operand.value, int | float) and not isinstance(operand.value, bool):
                return Lit(-operand.value)
            return Unary("-", operand)
        return self.postfix()

    def args(self, close: str) -> tuple[Node, ...]:
        items: list[Node] = []
        if not self.accept(close):
            items.append(self.binary(0))
            while self.accept(","):
                items.append(self.binary(0))
            self.expect(close)
        return tuple(items)

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            if self.accept("."):
                token = self.take()
                if token.kind != "name":
                    raise ExprSyntaxError("expected a name after '.'", token.column)
                if self.accept("("):
                    node = Method(node, token.text, self.args(")"), token.column)
                else:
                    node = Attr(node, token.text)
            elif self.accept("["):
                key = self.binary(0)
                self.expect("]")
                node = Subscript(node, key)
            else:
                return node

    def primary(self) -> Node:
        token = self.take()
        if token.kind in ("num", "str"):
            return Lit(token.value)
        if token.kind == "regex":
            return RegexLit(*token.value)
        if token.kind == "name":
            if token.text in _KEYWORDS:
                return Lit(_KEYWORDS[token.text])
            if self.accept("("):
                return Call(token.text, self.args(")"), token.column)
            return Name(token.text)
        if token.kind == "op":
            if token.text == "(":
                inner = self.binary(0)
                self.expect(")")
                return inner
            if token.text == "[":
                return ListLit(self.args("]"))
            if token.text == "{":
                return self.object()
        found = "the end of the expression" if token.kind == "end" else repr(token.text)
        raise ExprSyntaxError(f"unexpected {found}", token.column)

    def object(self) -> ObjLit:
        pairs: list[tuple[str, Node]] = []
        if not self.accept("}"):
            while True:
                key = self.take()
                if key.kind not in ("str", "name"):
                    raise ExprSyntaxError("expected a key", key.column)
                self.expect(":")
                pairs.append((str(key.value), self.binary(0)))
                if self.accept("}"):
                    break
                self.expect(",")
        return ObjLit(tuple(pairs))


def parse_expression(text: str) -> Node:
    """The syntax tree of one expression; :class:`ExprSyntaxError` when it does not parse."""
    parser = _Parser(text)
    node = parser.binary(0)
    token = parser.peek()
    if token.kind != "end":
        raise ExprSyntaxError(f"unexpected {token.text!r} after the expression", token.column)
    return node


def walk(node: Node) -> list[Node]:
    """Every node of a tree, the root first (for checks before evaluation)."""
    out: list[Node] = [node]
    children: tuple[Node, ...] = ()
    if isinstance(node, Attr):
        children = (node.obj,)
    elif isinstance(node, Subscript):
        children = (node.obj, node.key)
    elif isinstance(node, Call):
        children = node.args
    elif isinstance(node, Method):
        children = (node.obj, *node.args)
    elif isinstance(node, Unary):
        children = (node.operand,)
    elif isinstance(node, Binary):
        children = (node.left, node.right)
    elif isinstance(node, ListLit):
        children = node.items
    elif isinstance(node, ObjLit):
        children = tuple(v for _, v in node.pairs)
    for child in children:
        out.extend(walk(child))
    return out
