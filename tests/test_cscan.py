"""The C fast path of the scanner must give exactly what the Python scanner gives.

It may decline any body (the Python scanner then runs); when it answers, ``scan_body`` must equal
``scan_body_python`` and ``scan_for_index`` must equal ``index_scan(scan_body_python(...))``; the
body then holds no tags, block ids or skipped regions (the fast path declines those).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vaultsync.fs.vault import FileStat, Vault
from vaultsync.store import indexing
from vaultsync.text import scan
from vaultsync.text.parse import split_frontmatter
from vaultsync.text.resolve import NameTable
from vaultsync.text.scan import index_scan, scan_body, scan_body_python, scan_for_index

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT.parent / "shared" / "fixtures" / "tubegraph-sample"

needs_c = pytest.mark.skipif(scan._cscan is None, reason="the C scanner is not built")


def test_extension_is_built_where_a_compiler_is():
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler: the pure-Python scanner is used")
    if os.environ.get("VAULTSYNC_NO_C") == "1":
        pytest.skip("switched off by VAULTSYNC_NO_C=1: this run tests the pure-Python path")
    assert scan._cscan is not None, "setup.py should have built vaultsync._cscan"


def _agrees(text: str, start: int = 0) -> bool:
    """Check the fast path against the Python scanner; True when the fast path answered."""
    fast = scan_for_index(text, start)
    objects = scan._cscan.scan_objects(text, start)
    assert (fast is None) == (objects is None), text
    full = scan_body_python(text, start)
    assert scan_body(text, start) == full, text
    if fast is None:
        return False
    assert fast == index_scan(full), text
    assert not full.tags and not full.blocks and not full.skipped, text
    return True


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
fast_bodies = st.lists(st.sampled_from(FAST_ATOMS), max_size=30).map("".join)


@needs_c
@settings(max_examples=1500, deadline=None)
@given(fast_bodies, st.sampled_from(["", "---\ntitle: t\n---\n", "---\na: b\n---", "\ufeff"]))
@example("x\n\n    code", "")
@example("x\n \t\n\tcode", "")
@example("    \n", "")
@example("a <br/>\n<br/>", "")
@example("# h\n", "---\na: b\n---")
def test_fast_path_agrees_with_python(body, prefix):
    text = prefix + body
    start = split_frontmatter(text).end
    _agrees(text, start)


@needs_c
@settings(max_examples=500, deadline=None)
@given(st.text())
def test_fast_path_agrees_on_any_text(text):
    _agrees(text)


@needs_c
def test_fast_path_takes_the_common_note():
    text = (
        "---\ntitle: T\nvideoId: abc\n---\n\nFrom: [[chan]] <br/> \n\n## Part [[x | X]]\n\nSaid "
        + ANCHOR.format("00:00:19", "[00:00:19]")
        + " and [[y]] ![[z#h]] "
        + STAMP.format("0:20", "abc", "20")
        + ".\n"
    )
    for body in (text, text.replace("Said", "Сказал"), text.replace("Said", "Said 🎉")):  # 1, 2, 4 bytes
        assert _agrees(body, split_frontmatter(body).end)


def _corpus() -> list[Path]:
    roots = [ROOT / "vault", ROOT / "tests" / "testdata"]
    if FIXTURES.is_dir():
        roots.append(FIXTURES)
    return [p for r in roots for p in sorted(r.rglob("*.md"))]


@needs_c
def test_fast_path_agrees_on_real_notes():
    answered = 0
    for path in _corpus():
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue
        answered += _agrees(text, split_frontmatter(text).end)
    assert answered > 20  # the fast path really is taken


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
    _python_only(monkeypatch)
    index, _ = indexing.rebuild_index(Vault(copies[1]), jobs=1)
    index.close()
    fast, slow = (_dump(c / ".vaultsync" / "index.sqlite") for c in copies)
    for table in fast:
        # stats (size, times, inode) differ between the copies; everything read from the notes must not
        strip = (lambda r: r[:3] + r[7:]) if table == "files" else (lambda r: r)
        assert [strip(r) for r in fast[table]] == [strip(r) for r in slow[table]], table


LINKED = ["a.md", "x/a.md", "e.md", "é.md", "ü.md", "z.md", "chan.md", "y.md", "n/note.md", "x/y.md"]


def _python_only(patcher) -> None:
    """Switch the indexer's C passes off (a monkeypatch or a mock.patch.object)."""
    set_ = patcher.setattr if hasattr(patcher, "setattr") else None
    for name, off in (("scan_for_index", lambda text, start: None), ("index_note", lambda *a: None), ("index_text", lambda *a: None)):
        set_(indexing, name, off)


def _rows_both_ways(text: str, uri: str) -> list[object]:
    """text_rows with the C passes and without them."""
    files = sorted({*LINKED, uri})
    rows = []
    for fast in (True, False):
        ids = {u: i for i, u in enumerate(files, 1)}
        resolver = indexing.LinkResolver(NameTable(files), ids.__getitem__)
        with pytest.MonkeyPatch.context() as mp:
            if not fast:
                _python_only(mp)
            rows.append(indexing.text_rows(resolver, ids[uri], uri, text, FileStat(1, 2, 3, 4), False))
    return rows


@needs_c
@settings(max_examples=800, deadline=None)
@given(fast_bodies, st.sampled_from(["n/note.md", "x/note.md", "note.md"]))
def test_index_rows_are_the_same_from_c_and_python(body, uri):
    """index_note (scan, resolution and the stored layout in one C pass) against the Python rows."""
    text = "---\ntitle: t\n---\n" + body
    fast, slow = _rows_both_ways(text, uri)
    assert fast == slow, text


FM_KEYS = ["title", "videoId", "tags", "TAGS", "aliases", "a", "_x-1", "true", "Null", "1a", "k", "vid_e-o"]
FM_VALUES = [
    "Plain title", "3kMgfWWinnd", "2020-01-01", "12", "1.5", "0x1F", "1_000", "1:20", "0o17", "1e3", ".5", "true",
    "NULL", "[[a]]", "x :", "x: y", "x:y", "x #c", "x#c", "a - b", "- a", "? q", "'q'", '"q"', "é clair", "\u00e9",
    "«guillemets»", "x\xa0", "\xa0x", "\u2028x", "x\x85", "😀 face", "tab\tin", "quote \" in", "back\\slash",
    "a ~b", "%x", "@x", "`x`", "x  ", "&a", "*a", "!a", "|", ">", "{a}", "a,b", "x\u200fy",
]
FM_CHARS = "ab1:#- é\t\"\\\xa0\u2028\x85€\r.'[%"
fm_value = st.one_of(
    st.sampled_from(FM_VALUES),
    st.text(alphabet=FM_CHARS, min_size=1, max_size=8),
    st.text(alphabet="ab1 :#-é€\"", min_size=1, max_size=8),
)
fm_plain = st.builds(
    "{}: {}".format, st.sampled_from(FM_KEYS[:2] + FM_KEYS[4:7] + FM_KEYS[10:]),
    st.sampled_from(["Plain title", "3kMgfWWinnd", "é clair", "x#c", "x:y", "😀 face", "a - b", 'quote " in']),
)
fm_line = st.one_of(
    fm_plain,
    fm_plain,
    st.builds("{}{}{}".format, st.sampled_from(FM_KEYS), st.sampled_from([": ", ":  ", ":", ":\t", " : "]), fm_value),
    st.sampled_from(["", "\r", "  ", "# comment", "- item", "key:", "a: [1, 2]", "a:\n  - x"]),
)


@needs_c
@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(FM_KEYS), st.sampled_from([": ", ":  ", ":", " : "]), fm_value, st.sampled_from(["\n", "\r\n"]))
def test_one_frontmatter_line_reads_the_same_in_c_and_python(key, sep, value, eol):
    """Each rule of parse._SIMPLE_LINE and parse._load_simple, one line at a time."""
    text = f"---{eol}{key}{sep}{value}{eol}---{eol}body"
    fast, slow = _rows_both_ways(text, "n/note.md")
    assert fast == slow, text


@needs_c
@settings(max_examples=1500, deadline=None)
@given(
    st.lists(fm_line, max_size=4),
    st.sampled_from(["\n", "\r\n"]),
    st.sampled_from(["---\n"] * 4 + ["---\r\n", "---", "--- \n", "----\n", "", "---\r"]),
    st.sampled_from([""] * 4 + ["\ufeff", "x"]),
    st.sampled_from(["", "From: [[chan]] <br/>\n", "# h\n[[e|E]]", "`code`"]),
)
@example(["title: T", "videoId: 3kMgfWWinnd"], "\n", "---\n", "", "")
@example(["title: T", "title: U"], "\n", "---\n", "", "")
@example(["Tags: a"], "\n", "---\n", "", "")
def test_whole_note_rows_are_the_same_from_c_and_python(lines, eol, close, lead, body):
    """index_text (the frontmatter too, in C) against split_frontmatter, note_head and the Python rows."""
    text = lead + "---" + eol + "".join(line + eol for line in lines) + close + body
    fast, slow = _rows_both_ways(text, "n/note.md")
    assert fast == slow, text


@needs_c
def test_whole_note_pass_takes_the_common_note():
    from vaultsync.text.parse import index_text

    text = "---\ntitle: Café chemistry, part 2\nvideoId: 3kMgfWWinnd\n---\nFrom: [[chan]] <br/>\n## Part\n"
    found = index_text(text, 1, {}, {}, lambda t, u, f: (None, 0, t), "n.md", "")
    assert found and found[:3] == (
        "Café chemistry, part 2", "3kMgfWWinnd", '{"title": "Café chemistry, part 2", "videoId": "3kMgfWWinnd"}'
    )
    assert index_text("---\nvideoId: 12345\n---\n", 1, {}, {}, None, "n.md", "") is None  # a number to YAML
    assert index_text("---\ntitle: t\n---\n`code`", 1, {}, {}, None, "n.md", "") is False  # the body needs Python


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=-(2**62), max_value=2**62), max_size=40), st.lists(st.sampled_from("abcde"), max_size=12))
def test_c_helpers_of_the_bulk_writer_agree_with_python(ids, keys):
    import json

    from vaultsync.store import index

    assert scan._cscan.json_ids(ids) == index._json_ids_python(ids) == json.dumps(ids)
    fast: dict[str, list[int]] = {"a": [0]}
    slow: dict[str, list[int]] = {"a": [0]}
    for value, some in enumerate([keys, keys[::-1], keys[1:]], 1):
        scan._cscan.group(fast, some, value)
        index._group_python(slow, some, value)
    assert fast == slow
