"""Conformance of Bases expressions with Obsidian's documentation, one case per documented rule.

Each case cites the obsidian-help page and section it comes from (obsidianmd/obsidian-help
``en/Bases/Functions.md``, ``Bases syntax.md``, ``Formulas.md`` at fa179e91): the expression and
the result are the page's own example wherever it gives one. Expressions run against one note of
a real index (``notes/book.md`` below), with ``now`` fixed at 2025-06-15 12:00:00.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from vaultsync.bases.evaluate import Compiler, Env, ExprError
from vaultsync.bases.records import VaultData
from vaultsync.bases.syntax import ExprSyntaxError, parse_expression
from vaultsync.bases.values import EvalError
from vaultsync.bases.views import plain
from vaultsync.fs.vault import Vault
from vaultsync.store.indexing import update_index

NOW = datetime(2025, 6, 15, 12, 0, 0)
BOOK = """---
price: 10
age: 4
status: done
isModified: false
author: "[[other]]"
authors: ["[[other]]", "[[Nobody]]"]
tags: [tag1/a]
---
See [[other]] and #inline.
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("expr")
    (root / "notes/sub").mkdir(parents=True)
    (root / "notes/book.md").write_text(BOOK)
    (root / "notes/other.md").write_text("---\nprice: 2\n---\nNo links.\n")
    (root / "notes/sub/deep.md").write_text("[[book]]\n")
    index, _ = update_index(Vault(root), jobs=1)
    yield VaultData(index, Vault(root))
    index.close()


def run(data: VaultData, expr: str, uri: str = "notes/book.md", this: str = "notes/other.md"):
    fn = Compiler(set()).compile(parse_expression(expr))
    return fn(Env(data.records[uri], data.records[this], data, {}, NOW))


FUNCTIONS = "Functions.md"
SYNTAX = "Bases syntax.md"
CASES = [
    # -- Functions > String type (the page's examples) --
    ('"hello".contains("ell")', True, f"{FUNCTIONS} String contains()"),
    ('"hello".containsAll("h", "e")', True, f"{FUNCTIONS} String containsAll()"),
    ('"hello".containsAny("x", "y", "e")', True, f"{FUNCTIONS} String containsAny()"),
    ('"hello".endsWith("lo")', True, f"{FUNCTIONS} String endsWith()"),
    ('"Hello world".isEmpty()', False, f"{FUNCTIONS} String isEmpty()"),
    ('"".isEmpty()', True, f"{FUNCTIONS} String isEmpty()"),
    ("missing_property.isEmpty()", True, f"{FUNCTIONS} String isEmpty(): 'or is not present'"),
    ('"HeLLo".lower()', "hello", f"{FUNCTIONS} String lower()"),
    ('"a:b:c:d".replace(/:/, "-")', "a-b:c:d", f"{FUNCTIONS} String replace(): a Regexp without g replaces the first"),
    ('"a:b:c:d".replace(/:/g, "-")', "a-b-c-d", f"{FUNCTIONS} String replace(): the g flag replaces all"),
    ('"a:b:c:d".replace(":", "-")', "a-b-c-d", f"{FUNCTIONS} String replace(): a string pattern replaces all"),
    (r'"John Smith".replace(/(\w+) (\w+)/, "$2, $1")', "Smith, John", f"{FUNCTIONS} String replace(): capture groups"),
    ('"123".repeat(2)', "123123", f"{FUNCTIONS} String repeat()"),
    ('"hello".reverse()', "olleh", f"{FUNCTIONS} String reverse()"),
    ('"hello".slice(1, 4)', "ell", f"{FUNCTIONS} String slice()"),
    ('"hello".slice(1)', "ello", f"{FUNCTIONS} String slice(): end omitted"),
    ('"a,b,c,d".split(",", 3)', ["a", "b", "c"], f"{FUNCTIONS} String split()"),
    ('"a,b,c,d".split(/,/, 3)', ["a", "b", "c"], f"{FUNCTIONS} String split(): a Regexp separator"),
    ('"hello".startsWith("he")', True, f"{FUNCTIONS} String startsWith()"),
    ('"hello world".title()', "Hello World", f"{FUNCTIONS} String title()"),
    ('"  hi  ".trim()', "hi", f"{FUNCTIONS} String trim()"),
    ('"hello".length', 5, f"{FUNCTIONS} String fields: length"),
    # -- Functions > Number type --
    ("(-5).abs()", 5, f"{FUNCTIONS} Number abs()"),
    ("(2.1).ceil()", 3, f"{FUNCTIONS} Number ceil()"),
    ("(2.9).floor()", 2, f"{FUNCTIONS} Number floor()"),
    ("5.isEmpty()", False, f"{FUNCTIONS} Number isEmpty()"),
    ("(2.5).round()", 3, f"{FUNCTIONS} Number round()"),
    ("(2.3333).round(2)", 2.33, f"{FUNCTIONS} Number round(digits)"),
    ("(3.14159).toFixed(2)", "3.14", f"{FUNCTIONS} Number toFixed()"),
    # -- Functions > List type --
    ("[1,2,3].contains(2)", True, f"{FUNCTIONS} List contains()"),
    ("[1,2,3].containsAll(2,3)", True, f"{FUNCTIONS} List containsAll()"),
    ("[1,2,3].containsAny(3,4)", True, f"{FUNCTIONS} List containsAny()"),
    ("[1,2,3,4].filter(value > 2)", [3, 4], f"{FUNCTIONS} List filter()"),
    ("[10,20,30].filter(index > 0)", [20, 30], f"{FUNCTIONS} List filter(): index"),
    ("[1,[2,3]].flat()", [1, 2, 3], f"{FUNCTIONS} List flat()"),
    ("[1,2,3].isEmpty()", False, f"{FUNCTIONS} List isEmpty()"),
    ('[1,2,3].join(",")', "1,2,3", f"{FUNCTIONS} List join()"),
    ("[1,2,3,4].map(value + 1)", [2, 3, 4, 5], f"{FUNCTIONS} List map()"),
    ("[1,2,3].reduce(acc + value, 0)", 6, f"{FUNCTIONS} List reduce() (sum)"),
    ('[4, "x", 9, 2].filter(value.isType("number")).reduce(if(acc == null || value > acc, value, acc), null)', 9, f"{FUNCTIONS} List reduce() (max)"),
    ("[1,2,3].reverse()", [3, 2, 1], f"{FUNCTIONS} List reverse()"),
    ("[1,2,3,4].slice(1,3)", [2, 3], f"{FUNCTIONS} List slice()"),
    ("[3, 1, 2].sort()", [1, 2, 3], f"{FUNCTIONS} List sort()"),
    ('["c", "a", "b"].sort()', ["a", "b", "c"], f"{FUNCTIONS} List sort()"),
    ("[1,2,2,3].unique()", [1, 2, 3], f"{FUNCTIONS} List unique()"),
    ("[1,2].length", 2, f"{FUNCTIONS} List fields: length"),
    ("[5,6,7][0]", 5, f"{SYNTAX} Objects and lists: 0-based index"),
    # -- Functions > Any type, Object type, Regular expression type --
    ("1.isTruthy()", True, f"{FUNCTIONS} Any isTruthy()"),
    ('"example".isType("string")', True, f"{FUNCTIONS} Any isType()"),
    ('true.isType("boolean")', True, f"{FUNCTIONS} Any isType()"),
    ("123.toString()", "123", f"{FUNCTIONS} Any toString()"),
    ("{}.isEmpty()", True, f"{FUNCTIONS} Object isEmpty()"),
    ('{"a": 1, "b": 2}.keys()', ["a", "b"], f"{FUNCTIONS} Object keys()"),
    ('{"a": 1, "b": 2}.values()', [1, 2], f"{FUNCTIONS} Object values()"),
    ('{"a": {"b": 3}}["a"].b', 3, f"{SYNTAX} Objects and lists: brackets or dot notation"),
    ('/abc/.matches("abcde")', True, f"{FUNCTIONS} Regular expression matches()"),
    # -- Functions > Global --
    ('escapeHTML("<b>&</b>")', "&lt;b&gt;&amp;&lt;/b&gt;", f"{FUNCTIONS} Global escapeHTML()"),
    ('if(isModified, "Modified", "Unmodified")', "Unmodified", f"{FUNCTIONS} Global if()"),
    ('if(false, "yes")', None, f"{FUNCTIONS} Global if(): falseResult defaults to null"),
    ('list("value")', ["value"], f"{FUNCTIONS} Global list()"),
    ("list([1, 2])", [1, 2], f"{FUNCTIONS} Global list(): a list is returned unmodified"),
    ("max(1, 7, 3)", 7, f"{FUNCTIONS} Global max()"),
    ("min(4, 2, 8)", 2, f"{FUNCTIONS} Global min()"),
    ('number("3.4")', 3.4, f"{FUNCTIONS} Global number()"),
    ("number(true)", 1, f"{FUNCTIONS} Global number(): booleans as 1 or 0"),
    (
        'number(date("1970-01-02"))',
        (datetime(1970, 1, 2) - datetime.fromtimestamp(0)).total_seconds() * 1000,
        f"{FUNCTIONS} Global number(): dates as milliseconds since the Unix epoch",
    ),
    ("today()", "2025-06-15", f"{FUNCTIONS} Global today(): the time portion set to midnight"),
    ("now()", "2025-06-15T12:00:00", f"{FUNCTIONS} Global now()"),
    ('date("2025-01-01 12:00:00")', "2025-01-01T12:00:00", f"{FUNCTIONS} Global date(): YYYY-MM-DD HH:mm:ss"),
    ('link("other") == link("notes/other.md")', True, f"{SYNTAX} Files and links: equal when they point to the same file"),
    ('link("Nope") == link("Nope")', True, f"{SYNTAX} Files and links: unresolved links equal by link text"),
    # -- Functions > Date type --
    ('date("2025-05-27").format("YYYY-MM-DD")', "2025-05-27", f"{FUNCTIONS} Date format()"),
    ('date("2025-12-31 23:10:00").date().format("YYYY-MM-DD HH:mm:ss")', "2025-12-31 00:00:00", f"{FUNCTIONS} Date date()"),
    ('date("2025-05-27 23:59:59").time()', "23:59:59", f"{FUNCTIONS} Date time()"),
    ('date("2025-06-12 12:00:00").relative()', "3 days ago", f"{FUNCTIONS} Date relative()"),
    ('date("2025-05-27").isEmpty()', False, f"{FUNCTIONS} Date isEmpty(): returns false"),
    ('date("2025-05-27 08:09:10").year', 2025, f"{FUNCTIONS} Date fields"),
    ('date("2025-05-27 08:09:10").month', 5, f"{FUNCTIONS} Date fields: month 1-12"),
    ('date("2025-05-27 08:09:10").hour', 8, f"{FUNCTIONS} Date fields"),
    # -- Bases syntax > Date arithmetic --
    ('date("2024-12-01") + "1M" + "4h" + "3m"', "2025-01-01T04:03:00", f"{SYNTAX} Date arithmetic: the page's example"),
    ('now() + "1 day"', "2025-06-16T12:00:00", f"{SYNTAX} Date arithmetic: 24 hours from now"),
    ('(now() + "1d") - now()', 86400000, f"{SYNTAX} Types > Dates: returns 86400000 milliseconds"),
    ('today() + "7d"', "2025-06-22", f"{SYNTAX} Types > Dates: today() + '7d'"),
    ('date("2025-03-10") - "2w"', "2025-02-24", f"{SYNTAX} Date arithmetic: w is a week"),
    ('date("2025-03-10 10:00:00") - "2h"', "2025-03-10T08:00:00", f"{SYNTAX} Date arithmetic: date - '2h'"),
    ("now() + (duration('1d') * 2)", "2025-06-17T12:00:00", f"{FUNCTIONS} Global duration(): arithmetic on durations"),
    ('date("2025-01-01") > date("2024-12-31")', True, f"{SYNTAX} Comparison operators: compare Date objects"),
    # -- Bases syntax > Operators --
    ("radius * (2 * 3.14)", None, f"{SYNTAX} Arithmetic operators (a missing property is null)"),
    ("price * (2 + 3)", 50, f"{SYNTAX} Arithmetic operators"),
    ("price % 3", 1, f"{SYNTAX} Arithmetic operators: modulo"),
    ("price / age", 2.5, f"{SYNTAX} Arithmetic operators: divide"),
    ("price > 2.1", True, f"{SYNTAX} example view filter 'price > 2.1'"),
    ('status != "done"', False, f"{SYNTAX} example view filter"),
    ("!isModified && price >= 10", True, f"{SYNTAX} Boolean operators"),
    ("isModified || age", 4, f"{FUNCTIONS} 'Bases functions follow JavaScript behavior': || gives an operand"),
    ('"a" + 1', "a1", f"{FUNCTIONS} JavaScript behavior: + joins text"),
    ("(price / age).toFixed(2)", "2.50", f"{SYNTAX} example formula ppu"),
    ('if(price, price.toFixed(2) + " dollars")', "10.00 dollars", f"{SYNTAX} example formula formatted_price"),
    # -- Bases syntax > Formulas and Properties: ways to reference a note property --
    ("note.price", 10, f"{SYNTAX} Formulas: note.price"),
    ('note["price"]', 10, f'{SYNTAX} Formulas: note["price"]'),
    ("price", 10, f"{SYNTAX} Formulas: no prefix is a note property"),
    ('file.properties["status"]', "done", f"{SYNTAX} File properties: file.properties"),
    # -- Bases syntax > File properties; Functions > File type --
    ('file.ext == "md"', True, f'{SYNTAX} File properties: file.ext == "md"'),
    ("file.name", "book.md", f"{FUNCTIONS} File fields: name"),
    ("file.basename", "book", f"{FUNCTIONS} File fields: basename without the extension"),
    ("file.path", "notes/book.md", f"{FUNCTIONS} File fields: path"),
    ("file.folder", "notes", f"{FUNCTIONS} File fields: folder"),
    ("file.tags.sort()", ["#inline", "#tag1/a"], f"{SYNTAX} File properties: tags in content and frontmatter"),
    ('file.hasTag("tag1")', True, f"{FUNCTIONS} File hasTag(): nested tags count"),
    ('file.hasTag("tag2", "inline")', True, f"{FUNCTIONS} File hasTag(): any of the values"),
    ('file.hasTag("tag")', False, f"{FUNCTIONS} File hasTag(): a prefix of a name is no tag"),
    ('file.inFolder("notes")', True, f"{FUNCTIONS} File inFolder()"),
    ('file.inFolder("note")', False, f"{FUNCTIONS} File inFolder(): a folder, not a prefix"),
    ('file.hasProperty("price")', True, f"{FUNCTIONS} File hasProperty()"),
    ('file.hasProperty("nope")', False, f"{FUNCTIONS} File hasProperty()"),
    ('file.hasLink("other")', True, f"{FUNCTIONS} File hasLink(): a string path"),
    ("file.hasLink(this)", True, f"{SYNTAX} Access properties with this: file.hasLink(this.file)"),
    ("file.links.length", 4, f"{SYNTAX} File properties: links, including frontmatter (author, authors, body)"),
    ("file.backlinks.map(value.name)", ["deep.md"], f"{SYNTAX} File properties: backlinks"),
    ('file.asLink("Book") == link("book")', True, f"{FUNCTIONS} File asLink()"),
    ("this.file.name", "other.md", f"{SYNTAX} Access properties with this: this.file"),
    ("this.price", 2, f"{SYNTAX} Access properties with this (a property of the embedding file)"),
    ("author == this", True, f"{SYNTAX} Files and links: a link equals the file it resolves to"),
    ("authors.contains(this)", True, f"{SYNTAX} Files and links: authors.contains(this)"),
    ("author.asFile().properties.price", 2, f"{FUNCTIONS} Link asFile()"),
    ('link("deep").asFile().name', "deep.md", f"{FUNCTIONS} Link asFile()"),
    ("author.linksTo(file)", False, f"{FUNCTIONS} Link linksTo(): other.md links nowhere"),
    ('link("deep").linksTo(file)', True, f"{FUNCTIONS} Link linksTo()"),
]


@pytest.mark.parametrize(("expr", "expected", "rule"), CASES, ids=[c[0] for c in CASES])
def test_documented_expression(data, expr, expected, rule):
    assert plain(run(data, expr)) == expected, rule


ERRORS = [
    ('html("<b>x</b>")', ExprError, "Functions > html(): renders only in Obsidian: UNSUPPORTED"),
    ('image("a.png")', ExprError, "Functions > image(): UNSUPPORTED"),
    ('icon("plus")', ExprError, "Functions > icon(): UNSUPPORTED"),
    ("nosuchfunction(1)", ExprError, "an unknown function is refused when the base is read"),
    ('"x".nosuchmethod()', ExprError, "an unknown method is refused when the base is read"),
    ("formula.missing", ExprError, "a formula the base does not define"),
    ("price >", ExprSyntaxError, "syntax"),
    ('"unterminated', ExprSyntaxError, "syntax"),
]


@pytest.mark.parametrize(("expr", "error", "why"), ERRORS, ids=[e[0] for e in ERRORS])
def test_refused_when_compiled(data, expr, error, why):
    with pytest.raises(error):
        run(data, expr)


def test_number_of_text_that_is_no_number_is_an_error(data):
    # "Parses strings as numbers, and returns an error if the string is not a valid number."
    with pytest.raises(EvalError):
        run(data, 'number("abc")')
