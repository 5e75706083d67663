"""Table-driven tests for vaultsync.text.scan (OBSIDIAN.md 1.1-1.3, 5.3-5.5).

Every found item is checked by the exact text its span covers (``text[span]``).
Rows marked ``fixed=`` are regression tests for library bugs these tests found.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vaultsync.model import LinkKind, TimestampForm
from vaultsync.text import tokens as tokens_module
from vaultsync.text.scan import parse_clock, parse_wikilink_inner, scan_body, youtube_time

W, E, M, ME = LinkKind.WIKI, LinkKind.EMBED, LinkKind.MARKDOWN, LinkKind.MARKDOWN_EMBED

BUG_BOM = (
    "BUG: a leading BOM is skipped as the scan start, but line-start / whitespace look-behinds "
    "still see U+FEFF as a preceding character"
)


def links_of(text, start=0):
    s = scan_body(text, start)
    out = []
    for link in s.links:
        a, b = link.span
        assert 0 <= a <= b <= len(text)
        out.append((link.kind, link.target, link.subpath, link.display, text[a:b]))
    return out


def tags_of(text):
    return [(t.name, text[t.span[0] : t.span[1]]) for t in scan_body(text).tags]


def heads_of(text):
    return [(h.level, h.text, text[h.span[0] : h.span[1]]) for h in scan_body(text).headings]


def blocks_of(text):
    return [(b.id, text[b.span[0] : b.span[1]]) for b in scan_body(text).blocks]


def stamps_of(text):
    return [
        (t.form, t.seconds, t.label, t.data_t, t.video_id, text[t.span[0] : t.span[1]])
        for t in scan_body(text).timestamps
    ]


def P(id_, *values, fixed=None):
    """A table row; ``fixed`` records the library bug the row once exposed (a regression test now)."""
    return pytest.param(*values, id=id_)


# --------------------------------------------------------------------------------------------
# Wikilinks and embeds (1.1, 1.2)

WIKI_CASES = [
    P("plain", "[[a]]", [(W, "a", "", None, "[[a]]")]),
    P("in-prose", "see [[a]].", [(W, "a", "", None, "[[a]]")]),
    P("alias", "[[a|b]]", [(W, "a", "", "b", "[[a|b]]")]),
    P("alias-trimmed", "[[ a | b ]]", [(W, "a", "", "b", "[[ a | b ]]")]),
    P("heading", "[[a#H]]", [(W, "a", "#H", None, "[[a#H]]")]),
    P("heading-alias", "[[a#H|Sec]]", [(W, "a", "#H", "Sec", "[[a#H|Sec]]")]),
    P("heading-chain", "[[a#H1#H2]]", [(W, "a", "#H1#H2", None, "[[a#H1#H2]]")]),
    P("block-ref", "[[a#^blk]]", [(W, "a", "#^blk", None, "[[a#^blk]]")]),
    P("same-note-heading", "[[#H]]", [(W, "", "#H", None, "[[#H]]")]),
    P("table-escaped-pipe", "| [[a\\|b]] |", [(W, "a", "", "b", "[[a\\|b]]")]),
    P("first-pipe-only", "[[a|b|c]]", [(W, "a", "", "b|c", "[[a|b|c]]")]),
    P("pipe-at-index-0-no-split", "[[|x]]", [(W, "|x", "", None, "[[|x]]")]),
    P("single-bracket-inside", "[[Sq]uare]]", [(W, "Sq]uare", "", None, "[[Sq]uare]]")]),
    P("nested-only-inner", "[[a [[b]] c]]", [(W, "b", "", None, "[[b]]")]),
    P("empty-not-link", "[[]]", []),
    P("blank-not-link", "[[ ]]", []),
    P("no-multiline", "[[a\nb]]", []),
    P("no-multiline-bracket", "[[a]\n]]", []),
    P("folder-path", "[[Projects/Note]]", [(W, "Projects/Note", "", None, "[[Projects/Note]]")]),
    P("with-extension", "[[Figure 1.png]]", [(W, "Figure 1.png", "", None, "[[Figure 1.png]]")]),
    P("nbsp-cleaned", "[[\u00a0a\u00a0]]", [(W, "a", "", None, "[[\u00a0a\u00a0]]")]),
    P("nfc", "[[e\u0301]]", [(W, "\u00e9", "", None, "[[e\u0301]]")]),
    P("url-is-note-name", "[[https://x.com]]", [(W, "https://x.com", "", None, "[[https://x.com]]")]),
    P("two", "[[x]] and [[y]]", [(W, "x", "", None, "[[x]]"), (W, "y", "", None, "[[y]]")]),
    P("embed", "![[x]]", [(E, "x", "", None, "![[x]]")]),
    P("embed-in-prose", "a ![[x]] b", [(E, "x", "", None, "![[x]]")]),
    P("embed-width", "![[img.png|100]]", [(E, "img.png", "", "100", "![[img.png|100]]")]),
    P("embed-size", "![[img.png|100x145]]", [(E, "img.png", "", "100x145", "![[img.png|100x145]]")]),
    P("embed-heading", "![[Note#Heading]]", [(E, "Note", "#Heading", None, "![[Note#Heading]]")]),
    P("embed-block", "![[Note#^37066d]]", [(E, "Note", "#^37066d", None, "![[Note#^37066d]]")]),
    P("embed-empty", "![[]]", []),
    P("adjacent-embeds", "![[x]]![[y]]", [(E, "x", "", None, "![[x]]"), (E, "y", "", None, "![[y]]")]),
]


@pytest.mark.parametrize("text, expected", WIKI_CASES)
def test_wikilinks(text, expected):
    assert links_of(text) == expected


@pytest.mark.parametrize(
    "inner, expected",
    [
        ("a", ("a", "", None)),
        (" a | b ", ("a", "", "b")),
        ("a#H|x", ("a", "#H", "x")),
        ("a\\|b", ("a", "", "b")),
        ("#H", ("", "#H", None)),
        ("", None),
        ("   ", None),
    ],
    ids=["plain", "trim", "sub-alias", "escaped-pipe", "self-heading", "empty", "blank"],
)
def test_parse_wikilink_inner(inner, expected):
    assert parse_wikilink_inner(inner) == expected


# --------------------------------------------------------------------------------------------
# Markdown links (1.3)

MD_CASES = [
    P("internal", "[t](Note.md)", [(M, "Note.md", "", "t", "[t](Note.md)")]),
    P("percent-20", "[t](My%20Note.md)", [(M, "My Note.md", "", "t", "[t](My%20Note.md)")]),
    P("subpath-decoded", "[t](a.md#Sec%20One)", [(M, "a.md", "#Sec One", "t", "[t](a.md#Sec%20One)")]),
    P("reserved-escape-kept", "[t](a%23b.md)", [(M, "a%23b.md", "", "t", "[t](a%23b.md)")]),
    P("self-heading", "[h](#Head)", [(M, "", "#Head", "h", "[h](#Head)")]),
    P("with-title", '[t](b.md "title")', [(M, "b.md", "", "t", '[t](b.md "title")')]),
    P("brackets-in-label", "[a [b] c](d.md)", [(M, "d.md", "", "a [b] c", "[a [b] c](d.md)")]),
    P("parens-in-dest", "[x](b(1).md)", [(M, "b(1).md", "", "x", "[x](b(1).md)")]),
    P("image-embed", "![alt](img.png)", [(ME, "img.png", "", "alt", "![alt](img.png)")]),
    P("image-no-alt", "![](b.png)", [(ME, "b.png", "", "", "![](b.png)")]),
    P("bad-escape-not-internal", "[bad](a%zz.md)", []),
    P("truncated-utf8-not-internal", "[x](a%E2%82.md)", []),
    P("external-https", "[g](https://google.com)", []),
    P("external-mailto", "[m](mailto:x@y.z)", []),
    P("external-image", "![p](https://ex.com/a.png)", []),
    P(
        "mixed-order",
        "[[a]] [b](c.md) [[d]]",
        [(W, "a", "", None, "[[a]]"), (M, "c.md", "", "b", "[b](c.md)"), (W, "d", "", None, "[[d]]")],
    ),
    P("escaped-bracket", "\\[a](b.md)", []),
    P(
        "angle-dest",
        "[t](<My Note.md>)",
        [(M, "My Note.md", "", "t", "[t](<My Note.md>)")],
    ),
    P(
        "multiline-label",
        "[some long\ntext](a.md)",
        [(M, "a.md", "", "some long\ntext", "[some long\ntext](a.md)")],
        fixed="FIXED: CommonMark link text may contain a line ending ('[foo\\nbar](/uri)'); _MDLINK "
        "excludes '\\n' from the label, so wrapped markdown links are lost",
    ),
    P(
        "space-around-dest",
        "[x]( b.md )",
        [(M, "b.md", "", "x", "[x]( b.md )")],
        fixed="FIXED: CommonMark allows spaces between '(' and the destination; _MDLINK rejects them",
    ),
    P(
        "backslash-escapes-in-dest",
        "[x](\\(a\\).md)",
        [(M, "(a).md", "", "x", "[x](\\(a\\).md)")],
        fixed="FIXED: backslash escapes in a markdown destination are not processed "
        "(CommonMark '\\(' -> '('); target keeps the backslashes",
    ),
]


@pytest.mark.parametrize("text, expected", MD_CASES)
def test_markdown_links(text, expected):
    assert links_of(text) == expected


# --------------------------------------------------------------------------------------------
# Tags (5.3)

TAG_CASES = [
    P("simple", "#tag", [("tag", "#tag")]),
    P("mid-line", "x #tag y", [("tag", "#tag")]),
    P("nested", "x #a/b y", [("a/b", "#a/b")]),
    P("deep", "#a/b/c d", [("a/b/c", "#a/b/c")]),
    P("punct-ends", "#tag, more", [("tag", "#tag")]),
    P("dash-underscore", "#a-b_c", [("a-b_c", "#a-b_c")]),
    P("unicode", "#caf\u00e9", [("caf\u00e9", "#caf\u00e9")]),
    P("emoji", "#\U0001f389", [("\U0001f389", "#\U0001f389")]),
    P("all-digits-rejected", "#1984", []),
    P("digit-then-letter", "#y1984", [("y1984", "#y1984")]),
    P("digits-with-slash", "#1984/x", [("1984/x", "#1984/x")]),
    P("no-preceding-space", "a#b", []),
    P("after-link", "[[a]]#tag", []),
    P("url-fragment", "https://ex.com/a#b", []),
    P("heading-marker", "# Heading", []),
    P("tag-at-line-start-not-heading", "#tag line", [("tag", "#tag")]),
    P("tag-in-heading", "# Title #tag", [("tag", "#tag")]),
    P("after-newline", "x\n#t", [("t", "#t")]),
    P("inline-code", "`#tag`", []),
    P("fenced-code", "```\n#tag\n```", []),
    P("math", "$#tag$ #t", [("t", "#t")]),
    P("inside-wikilink", "[[a #b]]", []),
    P("crlf", "#tag\r\n#b\r\n", [("tag", "#tag"), ("b", "#b")]),
    P(
        "arabic-indic-digits-are-not-js-digits",
        "#\u0661\u0669\u0668\u0664",
        [("\u0661\u0669\u0668\u0664", "#\u0661\u0669\u0668\u0664")],
        fixed="FIXED: the all-digit check uses str.isdigit() (Unicode digits, also '\u00b2'); "
        "Obsidian rejects only /^#\\d+$/ where JS \\d is [0-9]",
    ),
    P(
        "superscript-digit",
        "#x \u00b2 #\u00b2",
        [("x", "#x"), ("\u00b2", "#\u00b2")],
        fixed="FIXED: '#\u00b2' is dropped because '\u00b2'.isdigit() is True; JS /^#\\d+$/ does not match it",
    ),
    P("bom-start", "\ufeff#tag", [("tag", "#tag")], fixed=BUG_BOM + " ('\\ufeff#tag' gives no tag)"),
]


@pytest.mark.parametrize("text, expected", TAG_CASES)
def test_tags(text, expected):
    assert tags_of(text) == expected


# --------------------------------------------------------------------------------------------
# ATX headings

HEAD_CASES = [
    P("h1", "# H", [(1, "H", "# H")]),
    P(
        "levels",
        "# H1\n## H2 ##\n###### H6\n####### no",
        [(1, "H1", "# H1"), (2, "H2", "## H2 ##"), (6, "H6", "###### H6")],
    ),
    P("closing-hashes", "# H #", [(1, "H", "# H #")]),
    P("closing-hashes-trailing-space", "#### H ####   ", [(4, "H", "#### H ####   ")]),
    P("hash-glued-not-closing", "# C#", [(1, "C#", "# C#")]),
    P("tab-after-marker", "#\tH", [(1, "H", "#\tH")]),
    P("empty-heading", "#", [(1, "", "#")]),
    P("indent-3-ok", "   # H", [(1, "H", "   # H")]),
    P("indent-4-not", "    # H", []),
    P("mid-document", "para\n## H\nmore", [(2, "H", "## H")]),
    P("not-in-fence", "```\n# no\n```\n# yes", [(1, "yes", "# yes")]),
    P("not-in-tilde-fence", "~~~\n# no\n~~~", []),
    P("not-in-math-block", "$$\n# no\n$$", []),
    P("tag-not-heading", "#tag line", []),
    P("no-space-not-heading", "##tag", []),
    P("keeps-wikilink", "# H [[x]]", [(1, "H [[x]]", "# H [[x]]")]),
    P("crlf-span-without-cr", "# H\r\n## T\r\n", [(1, "H", "# H"), (2, "T", "## T")]),
    P("bom", "\ufeff# H", [(1, "H", "# H")]),
    P(
        "heading-interrupts-code-span",
        "`a\n# b [[x]]`",
        [(1, "b [[x]]`", "# b [[x]]`")],
        fixed="FIXED: an inline code span is matched across a line that starts an ATX heading "
        "(block structure comes first in CommonMark: '`a' is a paragraph, '# b [[x]]`' a heading)",
    ),
]


@pytest.mark.parametrize("text, expected", HEAD_CASES)
def test_headings(text, expected):
    assert heads_of(text) == expected


def test_heading_wikilink_is_found():
    text = "intro\n## See [[Target|T]] ##\n"
    assert links_of(text) == [(W, "Target", "", "T", "[[Target|T]]")]
    assert heads_of(text) == [(2, "See [[Target|T]]", "## See [[Target|T]] ##")]


# --------------------------------------------------------------------------------------------
# Block ids

BLOCK_CASES = [
    P("line-end", "text ^abc", [("abc", "^abc")]),
    P("alone", "^abc", [("abc", "^abc")]),
    P("alone-after-list", "- a\n- b\n\n^list-1", [("list-1", "^list-1")]),
    P("then-next-line", "text ^abc\nmore", [("abc", "^abc")]),
    P("trailing-space", "text ^abc  ", [("abc", "^abc")]),
    P("crlf", "text ^abc\r\nmore", [("abc", "^abc")]),
    P("dash-and-caps", "text ^ABC-12", [("ABC-12", "^ABC-12")]),
    P("after-link", "[[x]] ^abc", [("abc", "^abc")]),
    P("last-one-wins", "text ^abc ^def", [("def", "^def")]),
    P("in-wikilink", "see [[a#^b]]", []),
    P("in-wikilink-line-end", "[[a#^b]]", []),
    P("glued", "a^abc", []),
    P("not-line-end", "text ^abc more", []),
    P("bad-char", "text ^a_b", []),
    P("in-fence", "```\ntext ^abc\n```", []),
    P("in-code-span", "`x ^abc`", []),
    P("bom-alone", "\ufeff^abc", [("abc", "^abc")], fixed=BUG_BOM + " ('\\ufeff^abc' gives no block id)"),
]


@pytest.mark.parametrize("text, expected", BLOCK_CASES)
def test_block_ids(text, expected):
    assert blocks_of(text) == expected


# --------------------------------------------------------------------------------------------
# Timestamps

HTML, HREF, MDT = TimestampForm.HTML, TimestampForm.HTML_HREF, TimestampForm.MARKDOWN
A = '<a class="yt-timestamp" data-t="00:01:23">[00:01:23]</a>'
A_HREF = (
    '<a class="yt-timestamp" href="https://www.youtube.com/watch?v=VID&t=83s" '
    'data-t="00:01:23">[00:01:23]</a>'
)
A_ORDER = '<a data-t="00:01:23" class="yt-timestamp">[00:01:23]</a>'
A_SQ = "<a class='yt-timestamp' data-t='00:01:23'>[00:01:23]</a>"

STAMP_CASES = [
    P("html", A, [(HTML, 83, "[00:01:23]", "00:01:23", None, A)]),
    P("html-in-prose", "at " + A + " says", [(HTML, 83, "[00:01:23]", "00:01:23", None, A)]),
    P(
        "label-differs-seconds-from-data-t",
        '<a class="yt-timestamp" data-t="00:01:23">[99:59]</a>',
        [(HTML, 83, "[99:59]", "00:01:23", None, '<a class="yt-timestamp" data-t="00:01:23">[99:59]</a>')],
    ),
    P(
        "empty-label",
        '<a class="yt-timestamp" data-t="01:02:03"></a>',
        [(HTML, 3723, "", "01:02:03", None, '<a class="yt-timestamp" data-t="01:02:03"></a>')],
    ),
    P(
        "data-t-seconds",
        '<a class="yt-timestamp" data-t="75">x</a>',
        [(HTML, 75, "x", "75", None, '<a class="yt-timestamp" data-t="75">x</a>')],
    ),
    P(
        "bad-data-t-falls-back-to-label",
        '<a class="yt-timestamp" data-t="abc">[01:00]</a>',
        [(HTML, 60, "[01:00]", "abc", None, '<a class="yt-timestamp" data-t="abc">[01:00]</a>')],
    ),
    P(
        "no-time-anywhere",
        '<a class="yt-timestamp" data-t="xx">yy</a>',
        [(HTML, None, "yy", "xx", None, '<a class="yt-timestamp" data-t="xx">yy</a>')],
    ),
    P("html-href", A_HREF, [(HREF, 83, "[00:01:23]", "00:01:23", "VID", A_HREF)]),
    P("attrs-other-order", A_ORDER, [(HTML, 83, "[00:01:23]", "00:01:23", None, A_ORDER)]),
    P("single-quotes", A_SQ, [(HTML, 83, "[00:01:23]", "00:01:23", None, A_SQ)]),
    P(
        "html-href-youtu-be",
        '<a class="yt-timestamp" data-t="00:00:05" href="https://youtu.be/ID?t=5">[00:00:05]</a>',
        [
            (
                HREF, 5, "[00:00:05]", "00:00:05", "ID",
                '<a class="yt-timestamp" data-t="00:00:05" href="https://youtu.be/ID?t=5">[00:00:05]</a>',
            )
        ],
    ),
    P(
        "html-href-not-youtube",
        '<a class="yt-timestamp" href="https://example.com" data-t="5">x</a>',
        [(HREF, 5, "x", "5", None, '<a class="yt-timestamp" href="https://example.com" data-t="5">x</a>')],
    ),
    P(
        "two-adjacent",
        A + A.replace("01:23", "01:24"),
        [
            (HTML, 83, "[00:01:23]", "00:01:23", None, A),
            (HTML, 84, "[00:01:24]", "00:01:24", None, A.replace("01:23", "01:24")),
        ],
    ),
    P("anchor-label-holds-wikilink-not-a-link", '<a class="yt-timestamp" data-t="5">[[x]]</a>',
      [(HTML, 5, "[[x]]", "5", None, '<a class="yt-timestamp" data-t="5">[[x]]</a>')]),
    P(
        "class-and-href-only",
        '<a href="https://youtu.be/ID?t=7" class="yt-timestamp">[00:07]</a>',
        [(HREF, 7, "[00:07]", None, "ID", '<a href="https://youtu.be/ID?t=7" class="yt-timestamp">[00:07]</a>')],
        fixed="FIXED: an anchor marked only by class=\"yt-timestamp\" (time in href/label, no data-t) "
        "is dropped: the 'yt-timestamp' branch of _ANCHOR_ANY's look-ahead can never match inside "
        "a quoted attribute value, because the look-ahead consumes quoted strings whole",
    ),
    P(
        "md-watch",
        "[01:23](https://www.youtube.com/watch?v=ID&t=83s)",
        [(MDT, 83, "01:23", None, "ID", "[01:23](https://www.youtube.com/watch?v=ID&t=83s)")],
    ),
    P(
        "md-watch-no-www",
        "[x](https://youtube.com/watch?v=ID&t=5)",
        [(MDT, 5, "x", None, "ID", "[x](https://youtube.com/watch?v=ID&t=5)")],
    ),
    P(
        "md-youtu-be",
        "[1:35](https://youtu.be/ID?t=95)",
        [(MDT, 95, "1:35", None, "ID", "[1:35](https://youtu.be/ID?t=95)")],
    ),
    P(
        "md-t-1m5s",
        "[x](https://youtu.be/ID?t=1m5s)",
        [(MDT, 65, "x", None, "ID", "[x](https://youtu.be/ID?t=1m5s)")],
    ),
    P(
        "md-t-1h2m3s",
        "[x](https://youtu.be/ID?t=1h2m3s)",
        [(MDT, 3723, "x", None, "ID", "[x](https://youtu.be/ID?t=1h2m3s)")],
    ),
    P(
        "md-t-after-other-param",
        "[x](https://youtu.be/ID?si=abc&t=95)",
        [(MDT, 95, "x", None, "ID", "[x](https://youtu.be/ID?si=abc&t=95)")],
    ),
    P("md-youtube-without-t", "[x](https://www.youtube.com/watch?v=ID)", []),
    P("md-youtu-be-without-t", "[x](https://youtu.be/ID)", []),
    P("md-bad-t", "[x](https://youtu.be/ID?t=abc)", []),
    P("md-other-host", "[x](https://vimeo.com/1?t=5)", []),
    P("bare-url", "see https://youtu.be/ID?t=95 here", []),
    P("image-is-not-timestamp", "![x](https://youtu.be/ID?t=5)", []),
    P("in-code-span", "`" + A + "`", []),
    P("in-fence", "```\n" + A + "\n```", []),
]


@pytest.mark.parametrize("text, expected", STAMP_CASES)
def test_timestamps(text, expected):
    assert stamps_of(text) == expected
    # a YouTube link is a timestamp or nothing, never an internal link
    assert [x for x in links_of(text) if "youtu" in x[4]] == []


@pytest.mark.parametrize(
    "text, expected",
    [("01:02:03", 3723), ("[02:03]", 123), (" 75 ", 75), ("1:60", None), ("abc", None), ("", None)],
    ids=["hms", "bracketed", "seconds", "bad-seconds", "word", "empty"],
)
def test_parse_clock(text, expected):
    assert parse_clock(text) == expected


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://www.youtube.com/watch?v=ID&t=83s", ("ID", 83)),
        ("https://youtu.be/ID?t=1h2m3s", ("ID", 3723)),
        ("https://m.youtube.com/watch?v=ID&start=90", ("ID", 90)),
        ("https://www.youtube.com/watch?v=ID", None),
        ("https://www.youtube.com/watch?t=5", None),
        ("https://example.com/watch?v=ID&t=5", None),
    ],
    ids=["watch", "short-hms", "start-param", "no-t", "no-id", "other-host"],
)
def test_youtube_time(url, expected):
    assert youtube_time(url) == expected


# --------------------------------------------------------------------------------------------
# Skipped regions (5.5): which wikilinks/markdown links survive


def w(t):
    return (W, t, "", None, f"[[{t}]]")


SKIP_CASES = [
    # fenced code
    P("fence-backtick", "```\n[[x]]\n```\n[[y]]", [w("y")]),
    P("fence-tilde", "~~~\n[[x]]\n~~~\n[[y]]", [w("y")]),
    P("fence-info-string", "```js\n[[x]]\n```\n[[y]]", [w("y")]),
    P("fence-longer-nests", "````\n```\n[[x]]\n```\n````\n[[y]]", [w("y")]),
    P("fence-tilde-holds-backticks", "~~~\n```\n[[x]]\n~~~\n[[y]]", [w("y")]),
    P("fence-other-char-does-not-close", "```\n[[x]]\n~~~\n[[y]]", []),
    P("fence-longer-closer-closes", "```\n[[x]]\n````\n[[y]]", [w("y")]),
    P("fence-closer-with-text-does-not-close", "```\n[[x]]\n``` no\n[[y]]\n```\n[[z]]", [w("z")]),
    P("fence-blank-line-inside", "```\n[[x]]\n\n[[y]]\n```\n[[z]]", [w("z")]),
    P("fence-unclosed-to-eof", "[[a]]\n```\n[[x]]\n\n[[y]]", [w("a")]),
    P("fence-indented-1-3", "p\n  ```\n[[x]]\n\n[[y]]\n  ```\n[[z]]", [w("z")]),
    P("fence-crlf", "```\r\n[[x]]\r\n```\r\n[[y]]", [w("y")]),
    P(
        "fence-indented-at-doc-start",
        "  ```\n[[x]]\n\n[[y]]\n  ```\n[[z]]",
        [w("z")],
        fixed="FIXED: an indented (1-3 spaces) fence on the very first line is not a fence: "
        "_LINE_START's look-behinds need a preceding '\\n'; links inside are found and the "
        "closing fence opens an unclosed one that hides [[z]]",
    ),
    P(
        "fence-after-bom",
        "\ufeff```\n[[x]]\n\n[[y]]\n```\n[[z]]",
        [w("z")],
        fixed=BUG_BOM + " (a fence right after the BOM is not a fence; inverted result)",
    ),
    P(
        "fence-interrupts-code-span",
        "a `b\n```\nc`\n```\n[[y]]",
        [w("y")],
        fixed="FIXED: an inline code span is matched across a fence opener line; the real closing "
        "fence is then taken as an opener and hides the rest of the note",
    ),
    # indented code
    P("indented-after-blank", "para\n\n    [[x]]\n\n[[y]]", [w("y")]),
    P("indented-tab", "para\n\n\t[[x]]\n\n[[y]]", [w("y")]),
    P("indented-multi-line", "[[a]]\n\n    [[x]]\n    [[z]]\n\nnext [[y]]", [w("a"), w("y")]),
    P("indented-lazy-continuation", "para\n    [[x]]", [w("x")]),
    P("indented-list-continuation", "- item\n\n    [[x]]", [w("x")]),
    P("indented-ordered-list-continuation", "1. item\n\n    [[x]]", [w("x")]),
    P("indented-nested-list-continuation", "- a\n  - b\n\n    [[x]]", [w("x")]),
    P("indented-after-quote", "> quote\n\n    [[x]]", []),
    P("indented-after-fence", "p\n\n```\n[[x]]\n```\n\n    [[y]]\n\n[[z]]", [w("z")]),
    P("indented-crlf", "p\r\n\r\n    [[x]]\r\n\r\n[[y]]", [w("y")]),
    P(
        "indented-at-doc-start",
        "    [[x]]\n\n[[y]]",
        [w("y")],
        fixed="FIXED: an indented code block on the first line of the note is not skipped "
        "(_MAYBE_INDENTED_CODE requires a preceding blank line; CommonMark needs none at "
        "document start)",
    ),
    # inline code
    P("code-span", "`[[x]]` [[y]]", [w("y")]),
    P("code-span-double", "``a ` [[x]]`` [[y]]", [w("y")]),
    P("code-span-padded", "`` [[x]] `` [[y]]", [w("y")]),
    P("code-span-unclosed", "`[[x]]", [w("x")]),
    P("code-span-unequal-runs", "``[[x]]`", [w("x")]),
    P("code-span-no-blank-line", "a `b\n\nc` [[x]]", [w("x")]),
    P("code-span-over-newline", "a `b\n[[x]]` [[y]]", [w("y")]),
    # math
    P("inline-math", "$[[x]]$ [[y]]", [w("y")]),
    P("inline-math-wide", "$a [[x]] b$", []),
    P("math-opener-space", "$ [[x]]$", [w("x")]),
    P("math-closer-space", "$[[x]] $", [w("x")]),
    P("math-closer-digit", "$[[x]]$5", [w("x")]),
    P("math-escaped-dollar", "\\$[[x]]$", [w("x")]),
    P("math-block", "$$\n[[x]]\n$$\n[[y]]", [w("y")]),
    P("math-block-after-text", "text\n$$\n[[x]]\n$$\n[[y]]", [w("y")]),
    P("math-block-unclosed", "[[a]]\n$$\n[[x]]\n\n[[y]]", [w("a")]),
    P("math-display-inline", "a $$[[x]]$$ b [[y]]", [w("y")]),
    P("math-block-crlf", "$$\r\n[[x]]\r\n$$\r\n[[y]]", [w("y")]),
    P("dollar-amounts", "$140 million to $425 million [[x]]", [w("x")]),
    P("dollar-range", "between $5-$10 [[x]]", [w("x")]),
    P("dollar-pair", "a $5 and $6 [[x]]", [w("x")]),
    # HTML
    P("html-br-ok", "x <br> [[y]]", [w("y")]),
    P("html-comment", "<!-- [[x]] --> [[y]]", [w("y")]),
    P("html-comment-multiline", "<!--\n[[x]]\n-->\n[[y]]", [w("y")]),
    P("html-block-div", "<div>\n[[x]]\n</div>\n\n[[y]]", [w("y")]),
    P("html-inline-attr", '<span title="[[x]]">[[y]]</span>', [w("y")]),
    P("html-autolink", "<https://ex.com/[[x]]> [[y]]", [w("y")]),
    P("less-than-in-prose", "a < b [[x]]", [w("x")]),
    P("html-block-ends-at-blank-line", "<div>\n[[x]]\n\n[[y]]", [w("y")]),
    P("html-block-after-paragraph", "x\n<div>\n[[x]]\n</div>\n\n[[y]]", [w("y")]),
    P("html-pre-block-spans-blank-lines", "<pre>\n[[x]]\n\n[[y]]\n</pre>\n[[z]]", [w("z")]),
    P("html-comment-unclosed-to-eof", "[[a]] <!-- [[x]]\n\n[[y]]", [w("a")]),
    P("html-img-alt", '<img src="a.png" alt="[[x]]"> [[y]]', [w("y")]),
    P("html-inline-content-kept", "a <b>[[x]]</b>", [w("x")]),
    P(
        "html-block-uppercase",
        "<DIV>\n[[x]]\n\n[[y]]",
        [w("y")],
        fixed="FIXED: HTML block tag names are case-insensitive (CommonMark 4.6); _HTML_BLOCK6 is "
        "matched case-sensitively, so '<DIV>' does not start an HTML block",
    ),
    P(
        "html-block-indented-at-doc-start",
        "  <div>\n[[x]]\n\n[[y]]",
        [w("y")],
        fixed="FIXED: an HTML block indented 1-3 spaces on the first line is not recognised "
        "(_LINE_START needs a preceding '\\n')",
    ),
    P(
        "html-block-after-bom",
        "\ufeff<div>\n[[x]]\n\n[[y]]",
        [w("y")],
        fixed=BUG_BOM + " (an HTML block right after the BOM is not recognised)",
    ),
    # %% comments are not skipped
    P("percent-comment-inline", "%%[[x]]%%", [w("x")]),
    P("percent-comment-block", "%%\n[[x]]\n%%", [w("x")]),
    # escapes
    P("escaped-open", "\\[[x]]", []),
    P("escaped-backslash", "\\\\[[x]]", [w("x")]),
    # document order: first construct wins
    P("code-first", "`[[x]]`", []),
    P("link-first", "[[a `b` c]]", [(W, "a `b` c", "", None, "[[a `b` c]]")]),
    P("link-then-code", "[[a `b` c]] `[[d]]`", [(W, "a `b` c", "", None, "[[a `b` c]]")]),
    P("math-first", "$x [[a$ b]]", []),
]


@pytest.mark.parametrize("text, expected", SKIP_CASES)
def test_skipped_regions(text, expected):
    assert links_of(text) == expected


def test_skipped_regions_are_reported():
    text = "```\n[[x]]\n```\n`c` $m$\n\np\n\n    code\n"
    s = scan_body(text)
    assert [(r.kind, text[r.span[0] : r.span[1]]) for r in s.skipped] == [
        ("fence", "```\n[[x]]\n```"),
        ("code", "`c`"),
        ("math", "$m$"),
        ("indented_code", "    code\n"),
    ]


# --------------------------------------------------------------------------------------------
# CRLF, BOM, start offset

DOC = (
    "# Title [[h]]\n"
    "Intro [[a|A]] and ![[img.png|100]] #tag ^blk1\n"
    "\n"
    "```\n[[no]]\n```\n"
    "## Sub ##\n"
    "[m](My%20Note.md) [01:23](https://youtu.be/ID?t=83) $[[no2]]$\n"
    "end ^blk2\n"
)


def _summary(text):
    s = scan_body(text)

    def cut(span):
        return text[span[0] : span[1]]

    return (
        [(x.kind, x.target, x.subpath, x.display, cut(x.span)) for x in s.links],
        [(x.form, x.seconds, cut(x.span)) for x in s.timestamps],
        [(x.name, cut(x.span)) for x in s.tags],
        [(x.level, x.text, cut(x.span)) for x in s.headings],
        [(x.id, cut(x.span)) for x in s.blocks],
    )


def test_crlf_same_as_lf():
    lf = _summary(DOC)
    crlf = _summary(DOC.replace("\n", "\r\n"))
    assert crlf == lf
    assert [x[1] for x in lf[0]] == ["h", "a", "img.png", "My Note.md"]
    assert lf[2] == [("tag", "#tag")]
    assert lf[3] == [(1, "Title [[h]]", "# Title [[h]]"), (2, "Sub", "## Sub ##")]
    assert lf[4] == [("blk1", "^blk1"), ("blk2", "^blk2")]


def test_crlf_spans():
    text = "[[x]]\r\n[[y]]\r\n"
    s = scan_body(text)
    assert [link.span for link in s.links] == [(0, 5), (7, 12)]


def test_bom_link_span():
    text = "\ufeff[[x]] [[y]]"
    s = scan_body(text)
    assert [link.span for link in s.links] == [(1, 6), (7, 12)]
    assert [text[a:b] for a, b in (link.span for link in s.links)] == ["[[x]]", "[[y]]"]


def test_start_offset():
    text = "---\nrel: x\n---\n[[x]] #t"
    s = scan_body(text, len("---\nrel: x\n---\n"))
    assert [(x.target, text[x.span[0] : x.span[1]]) for x in s.links] == [("x", "[[x]]")]
    assert [x.name for x in s.tags] == ["t"]
    assert scan_body("[[x]] [[y]]", 6).links[0].target == "y"


def test_heading_right_after_start():
    text = "---\na: b\n---\n# H\n"
    assert [h.text for h in scan_body(text, 13).headings] == ["H"]


# --------------------------------------------------------------------------------------------
# Properties

MD_ATOMS = [
    "[[", "]]", "[", "]", "(", ")", "!", "#", "^", "`", "```", "~~~", "$", "$$", "%%", "|", "\\",
    "-", "*", " ", "    ", "\t", "\n", "\n\n", "\r\n", "a", "b", "1", ":", "/", ".", "md", "x.md",
    "%20", "https://", "youtu.be/ID?t=5", "\ufeff", "\u00a0", "\u00e9", "e\u0301", "> ", "- ", "1. ",
    '<a class="yt-timestamp" data-t="00:01:02">', "</a>", "<br>", "<div>", "<!--", "-->", "<", ">",
    "<pre>", "</pre>", '<a href="https://youtu.be/ID?t=5" data-t=\'7\'>', "<span title=\"",
]
markdownish = st.lists(st.sampled_from(MD_ATOMS), max_size=40).map("".join)
any_text = st.text()

PREFIX = {W: "[[", E: "![[", M: "[", ME: "!["}


def _check_invariants(text):
    s = scan_body(text)
    for kind in ("links", "timestamps", "tags", "headings", "blocks", "skipped"):
        prev_end = 0
        for item in getattr(s, kind):
            a, b = item.span
            assert 0 <= a <= b <= len(text), (kind, item)
            if kind != "skipped":
                assert a >= prev_end, (kind, item)  # in order and non-overlapping
                prev_end = b
    for link in s.links:
        assert text[link.span[0] : link.span[1]].startswith(PREFIX[link.kind]), link
    for ts in s.timestamps:
        assert text[ts.span[0] : ts.span[1]].startswith(("<a", "[")), ts
    for tag in s.tags:
        assert text[tag.span[0] : tag.span[1]] == "#" + tag.name
    for block in s.blocks:
        assert text[block.span[0] : block.span[1]] == "^" + block.id
    return s


@settings(max_examples=400, deadline=None)
@given(st.one_of(any_text, markdownish))
def test_property_invariants(text):
    _check_invariants(text)


@settings(max_examples=200, deadline=None)
@given(st.one_of(any_text, markdownish))
def test_property_deterministic(text):
    assert scan_body(text) == scan_body(text)


@settings(max_examples=300, deadline=None)
@given(st.text())
@example("a < b <div> <!-- x")
@example("\ufeff<a data-t='1'>x</a> [[y]]")
def test_property_never_raises_on_any_text(text):
    _check_invariants(text)


# _MDLINK as it was before its link-text repetitions became possessive; they must match the same.
_MDLINK_BACKTRACKING = re.compile(
    r"""\[((?:[^\[\]\n\\]|\\.|\n(?![ \t]*\r?\n)|\[[^\[\]\n]*\])*)\]"""
    r"""\([ \t]*(<[^<>\n]*>|(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))*)"""
    r"""(?:[ \t]+(?:"[^"\n]*"|'[^'\n]*'))?[ \t]*\)"""
)


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet="[]()\\\n\t <>\"'a!#", max_size=40))
def test_markdown_link_pattern_matches_as_before(text):
    def found(rx: re.Pattern[str]) -> list[tuple[object, ...]]:
        return [(m.span(), m.groups()) for m in rx.finditer(text)]

    assert found(tokens_module.MDLINK) == found(_MDLINK_BACKTRACKING)


@given(st.lists(st.sampled_from(["# ", "## ", "#", "h", " ", "\t", "#", "\r", "\n", "é", "\u00a0", "\u2028", "x #", " ##"]), max_size=14).map("".join))
def test_headings_fast_case_is_the_heading_rule(body):
    # _headings takes a shortcut for the usual heading line; it must give what _heading gives
    from vaultsync.text import scan as scan_module
    from vaultsync.text.tokens import Tokens, tokenize_python

    heads = Tokens(*tokenize_python(body, 0)).headings
    assert scan_module._headings(body, heads) == tuple(scan_module._heading(body, *h) for h in heads)
