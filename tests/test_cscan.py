"""The C tokenizer must give exactly the tokens of the Python one, the reference.

``vaultsync._cscan.tokenize`` (behind ``vaultsync.text._native``) and
``vaultsync.text.tokens.tokenize_python`` are compared token for token on the fixtures, the bundled
vault and hypothesis-made text that mixes every construct real notes use (code, math, HTML and
its comments, timestamp anchors of every shape, markdown links, wikilinks and embeds, tags, block
ids, headings); and the index built with either is the same, table by table.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vaultsync.fs.vault import Vault
from vaultsync.store import indexing
from vaultsync.text import _native, scan
from vaultsync.text.parse import split_frontmatter
from vaultsync.text.scan import scan_body, scan_body_python
from vaultsync.text.tokens import Tokens, tokenize_python

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT.parent / "shared" / "fixtures"

needs_c = pytest.mark.skipif(_native.tokenize is None, reason="the C tokenizer is not built (or VAULTSYNC_NO_C=1)")


def test_extension_is_built_where_a_compiler_is():
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler: the pure-Python tokenizer is used")
    if os.environ.get("VAULTSYNC_NO_C") == "1":
        pytest.skip("switched off by VAULTSYNC_NO_C=1: this run tests the pure-Python path")
    assert _native.tokenize is not None, "setup.py should have built vaultsync._cscan"


def test_the_extension_has_one_entry_point():
    if _native.cscan is None:
        pytest.skip("the C tokenizer is not built (or VAULTSYNC_NO_C=1)")
    assert sorted(n for n in dir(_native.cscan) if not n.startswith("_")) == ["tokenize"]


def _agrees(text: str, start: int = 0) -> None:
    """The C tokens against the Python ones, and so the scans."""
    assert _native.tokenize is not None
    body, at = ("\n" + text[1:], 1) if start == 0 and text.startswith("\ufeff") else (text, start)
    assert Tokens(*_native.tokenize(body, at)) == tokenize_python(body, at), text
    assert scan_body(text, start) == scan_body_python(text, start), text


ANCHOR = '<a class="yt-timestamp" data-t="{}">{}</a>'
STAMP = "[{}](https://www.youtube.com/watch?v={}&t={}s)"
FAST_ATOMS = [
    ANCHOR.format("00:01:02", "[00:01:02]"), ANCHOR.format("", ""), ANCHOR.format("75", "[1:15]"),
    ANCHOR.format("1:02", "x"), ANCHOR.format("1:60", "[0:05]"), ANCHOR.format(" 1:02 ", "[1:02]"),
    ANCHOR.format("123:45", "no time"), ANCHOR.format("1:2:3", "[1:02:03]"), ANCHOR.format("٣:٠٢", "[3:02]"),
    ANCHOR.format("0001:02:03", "["), ANCHOR.format("[[x]]", "y"), ANCHOR.format("99999999999999", "[9]"),
    ANCHOR.format("00:00:07", 'quote " back\\slash'), ANCHOR.format("00:01", "new\nline\ttab\x01"),
    STAMP.format("1:02", "abc_-9", "62"), STAMP.format("01:02:03", "ID", "3723"), "!" + STAMP.format("1:02", "a", "1"),
    STAMP.format("1234:02", "a", "1"), STAMP.format("1:02", "a", "99999999999999999999"),
    "[[", "]]", "[[a]]", "[[a|b]]", "[[ a | b ]]", "[[a#h|b]]", "[[#h]]", "[[|x]]", "[[ ]]", "![[e]]",
    "[[é|ü]]", "[[a\u00a0b]]", "[[e\u0301]]", "[[🎉]]", "[[a]b]]", "[[a[b]]", "[[[a]]", "[x]", "](", "(",
    "# ", "## h", "####### h", "   # h", "    # h", "# h #", "# h ##", "#\th", "#", "#tag", "a#b", " #1",
    "# x #\r", "\u3000#x", "\n", "\r\n", "\n\n", "    ", "\t", "   \t", " ", "a", "Z", "1", ":", "|", "!",
    "é", "Ж", "中", "🎉", "\u00a0", "\u2028", "<br>", "<br/>", "<br />", "</a>", "<", "<b>", "<!--", "~", "~~~",
    "`", "$", "\\", "^", "^id", "*", "- ", "> ",
]
OTHER_ATOMS = [
    "`code [[x]]`", "``a ` b``", "```\nfenced [[x]]\n```\n", "~~~ py\n#tag\n~~~", "```a`b\n", "````\n```\n````",
    "$x$", "$ x$", "$x $", "$5$3", "$$a$$", "$$\n[[m]]\n$$", "\\[[x]]", "\\`", "\\$", "\\\n", "\\#t",
    "<!-- [[c]] -->", "<!--", "-->", "<div>\n[[d]]\n</div>\n\n", "<pre>\n[[p]]\n</pre>", "<DIV class=x>", "</p>",
    "<span>s</span>", "<b class=\"x\">", "<http://x.y/[[z]]>", "<img src='a.png'/>", "<x a=b/>", "<a href=x>",
    '<a class="yt-timestamp" data-t="01:02" href="https://youtu.be/abc?t=62">[01:02]</a>',
    '<a data-t="1:02">[1:02]</a>', "<a class='yt-timestamp' data-t='3'>x</a>", '<a data-05:08">[05:08]</a>',
    '<a yt x>t</a>', "<a\ttimestamp>z</a >", "<a>", "<A HREF=x>", "<a class=\"yt-timestamp\" data-t=\"[[w]]\">l</a>",
    "[md](n.md)", "[md](<a b.md>)", "[md](a%20b.md \"t\")", "![img](i.png)", "[t](https://youtu.be/abc?t=1m2s)",
    "[x]( \"t t\")", "[a\\]b](c)", "[[[a]](b)", "[a](b(c)d)", "[a](b\\)c)", "[]()", "[a]\n(b)",
    "#tag", "#t/a-g_1", "#123", "#é", " #x", "a#x", "#\u2000", "^blk", " ^b-1 ", "x ^id\r", "a^b", "^",
    "\n    indented [[i]]\n", "\n\tcode\n", "- item\n\n    more", "1. x\n\n    y", "> quote", "---",
    "%%[[c]]%%", "ſcript", "<ſcript>", "<\u0130frame>", "\u212a", "٣", "\u0660", "\u00a0", "\u2028", "\x85",
]
bodies = st.lists(st.sampled_from(FAST_ATOMS + OTHER_ATOMS), max_size=30).map("".join)
chars = st.lists(st.sampled_from("[]()<>!#^`$~\\/=\"' \t\n\r-:|*_aAzy0\u00a0\u2028é中"), max_size=60).map("".join)


@needs_c
@settings(max_examples=2500, deadline=None)
@given(bodies, st.sampled_from(["", "---\ntitle: t\n---\n", "---\na: b\n---", "\ufeff", "x", "  "]))
@example("x\n\n    code", "")
@example("x\n \t\n\tcode", "")
@example("a <br/>\n<br/>", "")
@example("# h\n", "---\na: b\n---")
def test_c_tokens_agree_with_python(body, prefix):
    text = prefix + body
    _agrees(text, split_frontmatter(text).end)


@needs_c
@settings(max_examples=1500, deadline=None)
@given(chars, st.integers(min_value=0, max_value=5))
def test_c_tokens_agree_on_punctuation_soup(text, start):
    _agrees(text, min(start, len(text)))


@needs_c
@settings(max_examples=500, deadline=None)
@given(st.text())
def test_c_tokens_agree_on_any_text(text):
    _agrees(text)


def _corpus() -> list[Path]:
    roots = [ROOT / "vault", ROOT / "tests" / "testdata"]
    roots += [FIXTURES / name for name in ("tubegraph-sample", "tubegraph-more") if (FIXTURES / name).is_dir()]
    return [p for r in roots for p in sorted(r.rglob("*.md"))]


@needs_c
def test_c_tokens_agree_on_real_notes():
    checked = 0
    for path in _corpus():
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue
        _agrees(text, split_frontmatter(text).end)
        _agrees(text)
        checked += 1
    assert checked > 20


def _dump(db: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(db)
    try:
        return {
            t: sorted(conn.execute(f"SELECT * FROM {t}"), key=repr)  # noqa: S608 - fixed names
            for t in ("files", "occurrences", "backrefs", "linkkeys", "tags", "diagnostics")
        }
    finally:
        conn.close()


@needs_c
def test_index_is_the_same_with_and_without_the_c_scanner(tmp_path, monkeypatch):
    copies = []
    for name in ("c", "python"):
        dest = tmp_path / name
        shutil.copytree(ROOT / "vault", dest, ignore=shutil.ignore_patterns(".vaultsync"))
        copies.append(dest)
    index, _ = indexing.rebuild_index(Vault(copies[0]), jobs=1)
    index.close()
    monkeypatch.setattr(scan, "_tokenize", tokenize_python)
    index, _ = indexing.rebuild_index(Vault(copies[1]), jobs=1)
    index.close()
    fast, slow = (_dump(c / ".vaultsync" / "index.sqlite") for c in copies)
    for table in fast:
        # stats (size, times, inode) differ between the copies; everything read from the notes must not
        strip = (lambda r: r[:3] + r[7:]) if table == "files" else (lambda r: r)
        assert [strip(r) for r in fast[table]] == [strip(r) for r in slow[table]], table


